package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/dns"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var (
	_ resource.ResourceWithConfigure   = (*domainVerificationResource)(nil)
	_ resource.ResourceWithImportState = (*domainVerificationResource)(nil)
)

// NewDomainVerificationResource is the m365_domain_verification resource.
func NewDomainVerificationResource() resource.Resource { return &domainVerificationResource{} }

type domainVerificationResource struct{ clients *Clients }

type domainVerificationModel struct {
	ID          types.String   `tfsdk:"id"`
	Domain      types.String   `tfsdk:"domain"`
	DNSResolver types.String   `tfsdk:"dns_resolver"`
	ExpectedTXT types.String   `tfsdk:"expected_txt"`
	IsVerified  types.Bool     `tfsdk:"is_verified"`
	Attempts    types.Int64    `tfsdk:"attempts"`
	Timeouts    timeouts.Value `tfsdk:"timeouts"`
}

func (r *domainVerificationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_domain_verification"
}

func (r *domainVerificationResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Verifies ownership of a tenant domain (Microsoft Graph `POST /domains/{id}/verify`). Create retries until Microsoft sees the verification TXT record or `timeouts.create` (default 30 minutes) runs out, " +
			"checking DNS itself meanwhile so that a failure says exactly which value is expected at which name and what DNS answers now. A subdomain of a verified root domain is verified at once. " +
			"Destroying this resource only forgets it: a verification cannot be undone.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The domain name.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"domain": schema.StringAttribute{
				Required: true, MarkdownDescription: "The domain to verify, usually `m365_domain.x.name`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{validators.DomainName()},
			},
			"dns_resolver": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The DNS server (`host:port`) the provider asks for the TXT record while it waits, to explain a failure. Defaults to the first nameserver of `/etc/resolv.conf`. It does not influence Microsoft's own check.",
			},
			"expected_txt": schema.StringAttribute{Computed: true, MarkdownDescription: "The TXT value Microsoft looks for at the zone apex.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"is_verified":  schema.BoolAttribute{Computed: true, MarkdownDescription: "True once verified."},
			"attempts":     schema.Int64Attribute{Computed: true, MarkdownDescription: "How many verify calls the create needed."},
			"timeouts":     timeoutsAttribute(ctx, domainVerificationTimeouts),
		},
	}
}

func (r *domainVerificationResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *domainVerificationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m domainVerificationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Create(ctx, domainVerificationTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := strings.ToLower(m.Domain.ValueString())
	m.ID = types.StringValue(name)

	var dom *graph.Domain
	err := graph.WaitUntil(ctx, "domain "+name+" to be readable", func(ctx context.Context) (bool, error) {
		var err error
		dom, err = r.clients.Graph.GetDomain(ctx, name)
		return err == nil, err
	})
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Domain", "reading "+name+" before verifying it", err, domainPermissions, "Add the domain first (m365_domain).")
		return
	}
	expected := ""
	if recs, err := r.clients.Graph.VerificationRecords(ctx, name); err == nil {
		if built, _, err := dns.Build(recs, nil, dns.Options{Zone: name, Stage: dns.StageVerification}); err == nil && len(built) > 0 {
			expected = built[0].Value
		}
	}
	m.ExpectedTXT = types.StringValue(expected)
	if dom.IsVerified {
		m.IsVerified, m.Attempts = types.BoolValue(true), types.Int64Value(0)
		resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
		return
	}

	resolver := dns.Resolver{Server: m.DNSResolver.ValueString(), Timeout: 5 * time.Second}
	var lastErr error
	attempts := 0
	// The one wait primitive: verify, and between attempts look at what DNS answers, until
	// Microsoft sees the record or the timeout ends.
	err = httpx.PollUpTo(ctx, "Microsoft to see the verification record of "+name, 30*time.Second, func(error) bool { return false },
		func(ctx context.Context) (bool, error) {
			attempts++
			v, err := r.clients.Graph.VerifyDomain(ctx, name)
			if err == nil && v.IsVerified {
				return true, nil
			}
			if err != nil && (graph.IsForbidden(err) || graph.IsAuth(err)) {
				return false, err
			}
			if err == nil {
				err = fmt.Errorf("verify answered but the domain is still unverified")
			}
			lastErr = err
			seen, lerr := resolver.LookupTXT(ctx, name)
			tflog.Info(ctx, "domain not verified yet; waiting for DNS", map[string]any{
				"domain": name, "attempt": attempts, "expected_txt": expected, "dns_answer": describeTXT(seen, lerr), "graph": err.Error(),
			})
			return false, nil
		})
	if err != nil && (graph.IsForbidden(err) || graph.IsAuth(err)) {
		diagtext.APIError(&resp.Diagnostics, "Domain Verification Failed", "verifying "+name, err, domainPermissions, "")
		return
	}
	if err != nil {
		seen, lerr := resolver.LookupTXT(context.Background(), name)
		resp.Diagnostics.AddAttributeError(path.Root("domain"), "Domain Verification Failed", diagtext.Detail(
			fmt.Sprintf("verifying %s (%d attempts over %s)", name, attempts, timeout),
			fmt.Sprintf("Microsoft did not find the verification record. Last answer from Graph: %s", lastErr),
			fmt.Sprintf("Publish this record at your DNS host, then apply again:\n\n  name:  %s (DNSPod sub_domain \"@\", record_type \"TXT\", record_line \"默认\")\n  type:  TXT\n  value: %s\n\n"+
				"DNS server %s answers now: %s.\n\nDNS changes can take up to 72 hours to be seen by Microsoft; raise timeouts.create to wait longer.",
				name, firstNonEmpty(expected, "(see m365_domain.verification_txt)"), resolverName(resolver), describeTXT(seen, lerr))))
		return
	}
	m.IsVerified, m.Attempts = types.BoolValue(true), types.Int64Value(int64(attempts))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func resolverName(r dns.Resolver) string {
	if r.Server != "" {
		return r.Server
	}
	return "(system resolver)"
}

func describeTXT(values []string, err error) string {
	if err != nil {
		return "no answer (" + err.Error() + ")"
	}
	if len(values) == 0 {
		return "no TXT records"
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "TXT " + strings.Join(q, ", ")
}

func (r *domainVerificationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m domainVerificationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, domainVerificationTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dom, err := r.clients.Graph.GetDomain(ctx, m.ID.ValueString())
	if graph.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Domain", "reading "+m.ID.ValueString(), err, domainPermissions, "")
		return
	}
	if !dom.IsVerified {
		// No longer verified (removed and re-added): verify again.
		resp.State.RemoveResource(ctx)
		return
	}
	m.Domain = types.StringValue(dom.ID)
	m.IsVerified = types.BoolValue(true)
	if m.Attempts.IsNull() {
		m.Attempts = types.Int64Value(0)
	}
	if m.ExpectedTXT.IsNull() {
		m.ExpectedTXT = types.StringValue("")
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *domainVerificationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	// Only dns_resolver and timeouts can change in place; nothing to call.
	var m domainVerificationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *domainVerificationResource) Delete(ctx context.Context, _ resource.DeleteRequest, _ *resource.DeleteResponse) {
	tflog.Info(ctx, "m365_domain_verification removed from state; the domain stays verified")
}

func (r *domainVerificationResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.ToLower(strings.TrimSpace(req.ID))
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("domain"), name)...)
}
