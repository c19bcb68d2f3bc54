package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/dns"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var (
	_ resource.ResourceWithConfigure   = (*dkimResource)(nil)
	_ resource.ResourceWithImportState = (*dkimResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*dkimResource)(nil)
)

// NewDKIMResource is the m365_dkim resource.
func NewDKIMResource() resource.Resource { return &dkimResource{} }

type dkimResource struct{ clients *Clients }

type dkimModel struct {
	ID             types.String   `tfsdk:"id"`
	Domain         types.String   `tfsdk:"domain"`
	KeySize        types.Int64    `tfsdk:"key_size"`
	Enabled        types.Bool     `tfsdk:"enabled"`
	Status         types.String   `tfsdk:"status"`
	Selector1CNAME types.String   `tfsdk:"selector1_cname"`
	Selector2CNAME types.String   `tfsdk:"selector2_cname"`
	TTL            types.Int64    `tfsdk:"ttl"`
	DNSResolver    types.String   `tfsdk:"dns_resolver"`
	DNSPodRecords  types.Map      `tfsdk:"dnspod_records"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

// dkimPermissions: the DKIM cmdlets are in the Security Admin / Organization Management roles
// (https://learn.microsoft.com/powershell/module/exchange/set-dkimsigningconfig).
var dkimPermissions = diagtext.Permissions{Exchange: diagtext.ExchangeRole + " (or Security Administrator: the DKIM cmdlets need Organization Management or Security Admin)"}

func dnspodResourceSchema() schema.NestedAttributeObject {
	attrs := map[string]schema.Attribute{}
	for name, typ := range dnspodAttrTypes {
		if typ.Equal(types.Int64Type) {
			attrs[name] = schema.Int64Attribute{Computed: true, MarkdownDescription: dnspodAttrDocs[name]}
		} else {
			attrs[name] = schema.StringAttribute{Computed: true, MarkdownDescription: dnspodAttrDocs[name]}
		}
	}
	return schema.NestedAttributeObject{Attributes: attrs}
}

func (r *dkimResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dkim"
}

func (r *dkimResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "DKIM signing for a custom domain (Exchange `New/Get/Set-DkimSigningConfig`). Creating it makes Exchange issue the two selector CNAMEs (`selector1_cname`, `selector2_cname`, " +
			"exactly as the service returns them; their format changed in May 2025, so they are never built by hand) and `dnspod_records` for `tencentcloud_dnspod_record`. " +
			"Signing is switched on once Microsoft sees both CNAMEs: if they already resolve when the configuration is created, the create waits for that (within `timeouts.create`); " +
			"otherwise publish `dnspod_records` and apply again, and the update retries until Microsoft sees them or `timeouts.update` runs out, saying which record is missing and what DNS answers now. " +
			"Destroy switches signing off (Exchange has no cmdlet to delete the configuration).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The domain name.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"domain": schema.StringAttribute{Required: true, MarkdownDescription: "A verified custom domain of the tenant (an accepted domain in Exchange).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}, Validators: []validator.String{validators.DomainName()}},
			"key_size": schema.Int64Attribute{Optional: true, Computed: true,
				MarkdownDescription: "RSA key size of a new configuration: 1024 or 2048 (default here; the service's own default is 1024). An existing configuration keeps its keys; changing the size later needs a key rotation, which this resource does not do.",
				Validators:          []validator.Int64{int64validator.OneOf(1024, 2048)},
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown(), int64planmodifier.RequiresReplaceIfConfigured()}},
			"enabled": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Whether DKIM signing is on. After a create whose CNAMEs were not published yet it reads `false` until an apply enables it."},
			"status": schema.StringAttribute{Computed: true, MarkdownDescription: "The service's status: `CnameMissing`, `Valid`, …"},
			"selector1_cname": schema.StringAttribute{Computed: true, MarkdownDescription: "Target of the `selector1._domainkey` CNAME, as Exchange returns it.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"selector2_cname": schema.StringAttribute{Computed: true, MarkdownDescription: "Target of the `selector2._domainkey` CNAME, as Exchange returns it.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"ttl": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(dns.DefaultTTL),
				MarkdownDescription: "TTL of `dnspod_records` (default 3600, Microsoft's recommendation; raised to DNSPod's minimum of 600).",
				Validators:          []validator.Int64{int64validator.Between(1, 604800)}},
			"dns_resolver": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The DNS server (`host:port`) the provider asks for the CNAMEs, to decide whether to wait at create and to explain a failure. Defaults to the first nameserver of `/etc/resolv.conf`. It does not influence Microsoft's own check."},
			"dnspod_records": schema.MapNestedAttribute{Computed: true, NestedObject: dnspodResourceSchema(),
				MarkdownDescription: "The two CNAMEs keyed `dkim_selector1` and `dkim_selector2`, each with exactly the arguments of `tencentcloud_dnspod_record` (the shape of `m365_dns_records.dnspod_records`). The keys are known at plan time, so `for_each` over this map works in the configuration that creates the resource."},
			"timeouts": timeoutsAttribute(ctx, dkimTimeouts),
		},
	}
}

func (r *dkimResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// dkimPodRecords renders the selector CNAMEs for DNSPod with the chosen TTL.
func dkimPodRecords(zone, s1, s2 string, ttl int64) types.Map {
	recs := dns.DKIMRecords(zone, dns.DKIM{Selector1CNAME: s1, Selector2CNAME: s2})
	for i := range recs {
		recs[i].TTL = int(ttl)
	}
	return dnspodMap(dns.DNSPod(zone, recs, dns.DNSPodOptions{}))
}

// ModifyPlan keeps the dnspod_records keys known at plan time and recomputes the values when the
// TTL changes.
func (r *dkimResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan dkimModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if req.State.Raw.IsNull() {
		unknown := types.ObjectUnknown(dnspodAttrTypes)
		plan.DNSPodRecords = types.MapValueMust(types.ObjectType{AttrTypes: dnspodAttrTypes}, map[string]attr.Value{
			dns.KeyDKIMSelector1: unknown, dns.KeyDKIMSelector2: unknown})
		plan.Status = types.StringUnknown()
	} else if isSet(plan.Selector1CNAME) && isSet(plan.TTL) && isSet(plan.Domain) {
		plan.DNSPodRecords = dkimPodRecords(plan.Domain.ValueString(), plan.Selector1CNAME.ValueString(), plan.Selector2CNAME.ValueString(), plan.TTL.ValueInt64())
		var state dkimModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if plan.Enabled.ValueBool() == state.Enabled.ValueBool() {
			plan.Status = state.Status
		} else {
			plan.Status = types.StringUnknown()
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *dkimResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m dkimModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Create(ctx, dkimTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	exo := r.clients.Exchange
	domain := strings.ToLower(m.Domain.ValueString())
	m.ID = types.StringValue(domain)

	cfg, err := exo.GetDkimSigningConfig(ctx, domain)
	if exchange.IsNotFound(err) {
		// Microsoft's documented first step: create it disabled; enabling needs the CNAMEs.
		keySize := m.KeySize.ValueInt64()
		if !isSet(m.KeySize) {
			keySize = 2048
		}
		cfg, err = exo.NewDkimSigningConfig(ctx, domain, keySize)
	}
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Create DKIM Signing Configuration", "creating the DKIM signing configuration of "+domain, err, dkimPermissions,
			"The domain must be a verified domain of the tenant (m365_domain_verification).")
		return
	}
	want := m.Enabled.ValueBool()
	r.fill(&m, cfg)
	if want && !cfg.Enabled {
		if missing := r.unpublished(ctx, &m); len(missing) == 0 {
			if !r.enable(ctx, &m, &resp.Diagnostics, timeout) {
				m.Enabled = types.BoolValue(true)
				resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
				return
			}
		} else {
			resp.Diagnostics.AddAttributeWarning(path.Root("enabled"), "DKIM Signing Not Enabled Yet", diagtext.Detail(
				"creating the DKIM signing configuration of "+domain,
				"the selector CNAMEs are not published yet ("+strings.Join(missing, "; ")+"), and Microsoft enables signing only once it sees both",
				"Publish dnspod_records (or the two CNAMEs selector1._domainkey and selector2._domainkey with the values selector1_cname and selector2_cname) at your DNS host, then apply again: the next apply enables signing.")+
				"\n\n(The next plan shows enabled changing from false to true.)")
			// The state holds what was asked for; the next refresh reads the service's false,
			// and the plan shows the update that enables signing.
			m.Enabled = types.BoolValue(true)
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *dkimResource) fill(m *dkimModel, cfg *exchange.DkimSigningConfig) {
	domain := strings.ToLower(m.Domain.ValueString())
	m.Enabled = types.BoolValue(cfg.Enabled)
	m.Status = types.StringValue(cfg.Status)
	m.Selector1CNAME = types.StringValue(cfg.Selector1CNAME)
	m.Selector2CNAME = types.StringValue(cfg.Selector2CNAME)
	if !isSet(m.KeySize) {
		size := cfg.Selector1KeySize
		if size == 0 {
			size = 2048 // the size this resource asks for; the service did not say
		}
		m.KeySize = types.Int64Value(size)
	}
	ttl := m.TTL.ValueInt64()
	if ttl == 0 {
		ttl = dns.DefaultTTL
		m.TTL = types.Int64Value(ttl)
	}
	m.DNSPodRecords = dkimPodRecords(domain, cfg.Selector1CNAME, cfg.Selector2CNAME, ttl)
}

// selectorStatus says, per selector, what DNS answers for it now.
type selectorStatus struct {
	name, want, seen string
	ok               bool
}

func (r *dkimResource) lookup(ctx context.Context, m *dkimModel) []selectorStatus {
	res := dns.Resolver{Server: m.DNSResolver.ValueString(), Timeout: 5 * time.Second}
	domain := strings.ToLower(m.Domain.ValueString())
	var out []selectorStatus
	for i, want := range []string{m.Selector1CNAME.ValueString(), m.Selector2CNAME.ValueString()} {
		name := fmt.Sprintf("selector%d._domainkey.%s", i+1, domain)
		got, err := res.LookupCNAME(ctx, name)
		s := selectorStatus{name: name, want: want}
		switch {
		case err != nil:
			s.seen = "no answer (" + err.Error() + ")"
		case got == "":
			s.seen = "no CNAME record"
		default:
			s.seen = "CNAME " + got
			s.ok = strings.EqualFold(strings.TrimSuffix(got, "."), strings.TrimSuffix(want, "."))
		}
		out = append(out, s)
	}
	return out
}

// unpublished names the selector CNAMEs DNS does not answer as expected.
func (r *dkimResource) unpublished(ctx context.Context, m *dkimModel) []string {
	var out []string
	for _, s := range r.lookup(ctx, m) {
		if !s.ok {
			out = append(out, s.name+": "+s.seen)
		}
	}
	return out
}

// enable switches signing on, retrying while the service says the CNAMEs are missing, until ctx
// ends. On failure it adds the diagnostic and returns false.
func (r *dkimResource) enable(ctx context.Context, m *dkimModel, diags *diagList, timeout time.Duration) bool {
	domain := strings.ToLower(m.Domain.ValueString())
	exo := r.clients.Exchange
	attempts := 0
	var last error
	err := httpx.Poll(ctx, "Microsoft to see the DKIM CNAMEs of "+domain,
		func(err error) bool { return exchange.IsKind(err, exchange.KindDKIMCNAMEMissing) },
		func(ctx context.Context) (bool, error) {
			attempts++
			err := exo.SetDkimSigningConfig(ctx, domain, true)
			if err != nil {
				last = err
				tflog.Info(ctx, "DKIM signing not enabled yet; waiting for DNS", map[string]any{"domain": domain, "attempt": attempts, "exchange": err.Error()})
			}
			return err == nil, err
		})
	if err == nil {
		if cfg, err := exo.GetDkimSigningConfig(ctx, domain); err == nil {
			r.fill(m, cfg)
		} else {
			m.Enabled, m.Status = types.BoolValue(true), types.StringValue("Valid")
		}
		return true
	}
	if !exchange.IsKind(last, exchange.KindDKIMCNAMEMissing) || (!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)) {
		diagtext.APIError(diags, "Cannot Enable DKIM Signing", "enabling DKIM signing for "+domain, err, dkimPermissions, "")
		return false
	}
	lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	b.WriteString("Publish these records at your DNS host (or apply tencentcloud_dnspod_record over dnspod_records), then apply again:\n")
	resolver := resolverName(dns.Resolver{Server: m.DNSResolver.ValueString()})
	for i, s := range r.lookup(lctx, m) {
		state := "MISSING"
		if s.ok {
			state = "published"
		}
		fmt.Fprintf(&b, "\n  [%s] name:  %s (DNSPod sub_domain \"selector%d._domainkey\", record_type \"CNAME\")\n          value: %s\n          DNS server %s answers now: %s\n",
			state, s.name, i+1, s.want, resolver, s.seen)
	}
	b.WriteString("\nMicrosoft can take from a few minutes to as many as 4 days to see new CNAMEs; raise the timeouts to wait longer.")
	var exoErr *exchange.Error
	cause := last.Error()
	if errors.As(last, &exoErr) {
		cause = exoErr.Message
	}
	diags.AddAttributeError(path.Root("enabled"), "DKIM Signing Not Enabled", diagtext.Detail(
		fmt.Sprintf("enabling DKIM signing for %s (%d attempts over %s)", domain, attempts, timeout.Round(time.Second)),
		"Exchange did not find the selector CNAMEs. Its last answer: "+cause, b.String()))
	return false
}

func (r *dkimResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m dkimModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, dkimTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	domain := strings.ToLower(m.ID.ValueString())
	cfg, err := r.clients.Exchange.GetDkimSigningConfig(ctx, domain)
	if exchange.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read DKIM Signing Configuration", "reading the DKIM signing configuration of "+domain, err, dkimPermissions, "")
		return
	}
	m.Domain = types.StringValue(domain)
	r.fill(&m, cfg)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *dkimResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state dkimModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, dkimTimeouts.Update)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	domain := strings.ToLower(state.ID.ValueString())
	plan.ID = state.ID
	plan.Selector1CNAME, plan.Selector2CNAME = state.Selector1CNAME, state.Selector2CNAME
	switch want := plan.Enabled.ValueBool(); {
	case want && !state.Enabled.ValueBool():
		if !r.enable(ctx, &plan, &resp.Diagnostics, timeout) {
			return // the state keeps enabled = false; the next apply tries again
		}
	case !want && state.Enabled.ValueBool():
		if err := r.clients.Exchange.SetDkimSigningConfig(ctx, domain, false); err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Disable DKIM Signing", "disabling DKIM signing for "+domain, err, dkimPermissions, "")
			return
		}
	}
	cfg, err := r.clients.Exchange.GetDkimSigningConfig(ctx, domain)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read DKIM Signing Configuration", "reading the DKIM signing configuration of "+domain, err, dkimPermissions, "")
		return
	}
	r.fill(&plan, cfg)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete switches signing off; the configuration itself stays (there is no cmdlet to delete it).
func (r *dkimResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m dkimModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, dkimTimeouts.Delete)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	domain := m.ID.ValueString()
	err := r.clients.Exchange.SetDkimSigningConfig(ctx, domain, false)
	if err != nil && !exchange.IsNotFound(err) {
		diagtext.APIError(&resp.Diagnostics, "Cannot Disable DKIM Signing", "disabling DKIM signing for "+domain, err, dkimPermissions, "")
		return
	}
	tflog.Info(ctx, "DKIM signing disabled; the signing configuration stays in Exchange", map[string]any{"domain": domain})
}

func (r *dkimResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.ToLower(strings.TrimSpace(req.ID))
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("domain"), name)...)
}
