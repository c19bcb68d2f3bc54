package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/dns"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var (
	_ resource.ResourceWithConfigure   = (*domainResource)(nil)
	_ resource.ResourceWithImportState = (*domainResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*domainResource)(nil)
)

// NewDomainResource is the m365_domain resource.
func NewDomainResource() resource.Resource { return &domainResource{} }

type domainResource struct{ clients *Clients }

// settableServices are the only supportedServices values Graph accepts in a PATCH
// (https://learn.microsoft.com/graph/api/resources/domain).
var settableServices = []string{"Email", "OfficeCommunicationsOnline", "Yammer"}

var domainPermissions = diagtext.Permissions{Graph: []string{"Domain.ReadWrite.All"}}

type domainModel struct {
	ID                  types.String   `tfsdk:"id"`
	Name                types.String   `tfsdk:"name"`
	SupportedServices   types.Set      `tfsdk:"supported_services"`
	IsDefault           types.Bool     `tfsdk:"is_default"`
	ForceDelete         types.Bool     `tfsdk:"force_delete"`
	IsVerified          types.Bool     `tfsdk:"is_verified"`
	IsRoot              types.Bool     `tfsdk:"is_root"`
	IsInitial           types.Bool     `tfsdk:"is_initial"`
	IsAdminManaged      types.Bool     `tfsdk:"is_admin_managed"`
	AuthenticationType  types.String   `tfsdk:"authentication_type"`
	ActiveServices      types.Set      `tfsdk:"active_supported_services"`
	SettingsPending     types.Bool     `tfsdk:"settings_pending"`
	VerificationRecords types.Map      `tfsdk:"verification_records"`
	VerificationTXT     types.String   `tfsdk:"verification_txt"`
	Timeouts            timeouts.Value `tfsdk:"timeouts"`
}

var verificationRecordAttrTypes = map[string]attr.Type{
	"type": types.StringType, "name": types.StringType, "fqdn": types.StringType, "value": types.StringType,
	"priority": types.Int64Type, "ttl": types.Int64Type,
}

func (r *domainResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_domain"
}

func (r *domainResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A custom domain of the tenant (Microsoft Graph `/domains`). Adding a domain makes Microsoft issue a verification TXT record (`verification_txt`); " +
			"publish it at your DNS host and verify with `m365_domain_verification`. `supported_services` and `is_default` can only be set on a verified domain: until then the plan shows them as pending, " +
			"and the first apply after verification sets them.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The domain name.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{
				Required: true, MarkdownDescription: "The fully qualified domain name, e.g. `contoso.com`. Changing it replaces the domain.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{validators.DomainName()},
			},
			"supported_services": schema.SetAttribute{
				ElementType: types.StringType, Optional: true, Computed: true,
				MarkdownDescription: "Services the domain is used for. Graph lets only `Email`, `OfficeCommunicationsOnline` and `Yammer` be set. Applied once the domain is verified.",
				Validators:          []validator.Set{setvalidator.ValueStringsAre(stringvalidator.OneOf(settableServices...))},
			},
			"is_default": schema.BoolAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Make this the tenant's default domain for new users. Only one domain is the default; setting it here moves the flag. Applied once the domain is verified.",
			},
			"force_delete": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "On destroy, use Graph `forceDelete` when users, groups or applications still use the domain: they are renamed to the initial `onmicrosoft.com` domain and the renamed users are disabled. Default `false`: destroy refuses and lists what still uses the domain.",
			},
			"is_verified":         schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether ownership has been verified.", PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()}},
			"is_root":             schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether this is a verified root domain (not a subdomain)."},
			"is_initial":          schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether this is the initial `*.onmicrosoft.com` domain."},
			"is_admin_managed":    schema.BoolAttribute{Computed: true, MarkdownDescription: "False when DNS record management is delegated to Microsoft 365."},
			"authentication_type": schema.StringAttribute{Computed: true, MarkdownDescription: "`Managed` or `Federated`.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"active_supported_services": schema.SetAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "The services the domain has now, as Graph reports them.",
			},
			"settings_pending": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "True while `supported_services` or `is_default` wait for the domain to be verified.",
			},
			"verification_records": schema.MapNestedAttribute{
				Computed:      true,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The records that prove ownership, keyed `verification_txt` and `verification_mx`, with `name` relative to the zone (`@`). Publish one of them; " +
					"the TXT is the one DNSPod can hold (its MX priorities stop at 20). The keys are known at plan time, so `for_each` over this map works in the same configuration that adds the domain.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"type":     schema.StringAttribute{Computed: true, MarkdownDescription: "`TXT` or `MX`."},
					"name":     schema.StringAttribute{Computed: true, MarkdownDescription: "Name relative to the zone: `@`."},
					"fqdn":     schema.StringAttribute{Computed: true, MarkdownDescription: "Fully qualified name."},
					"value":    schema.StringAttribute{Computed: true, MarkdownDescription: "TXT text (`MS=ms12345678`) or MX host."},
					"priority": schema.Int64Attribute{Computed: true, MarkdownDescription: "MX preference (32767); 0 for TXT."},
					"ttl":      schema.Int64Attribute{Computed: true, MarkdownDescription: "TTL in seconds."},
				}},
			},
			"verification_txt": schema.StringAttribute{Computed: true, MarkdownDescription: "The TXT value to publish at the zone apex, e.g. `MS=ms12345678`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"timeouts": timeoutsAttribute(ctx, domainTimeouts),
		},
	}
}

func (r *domainResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan catches, at plan time, a domain that already exists in the tenant (it must be
// imported), keeps the verification map's keys known, and tells when settings are pending.
func (r *domainResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan domainModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if req.State.Raw.IsNull() {
		// Create: the two verification keys are known now, their values after apply.
		unknownRec := types.ObjectUnknown(verificationRecordAttrTypes)
		plan.VerificationRecords = types.MapValueMust(types.ObjectType{AttrTypes: verificationRecordAttrTypes}, map[string]attr.Value{
			dns.KeyVerificationTXT: unknownRec, dns.KeyVerificationMX: unknownRec,
		})
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		if r.clients != nil && !plan.Name.IsUnknown() {
			d, err := r.clients.Graph.GetDomain(ctx, plan.Name.ValueString())
			switch {
			case err == nil:
				resp.Diagnostics.AddAttributeError(path.Root("name"), "Domain Already In Tenant",
					diagtext.Detail("planning to add the domain "+d.ID,
						fmt.Sprintf("the tenant already has it (verified: %t, default: %t)", d.IsVerified, d.IsDefault),
						fmt.Sprintf("Import it instead of creating it:\n\n  terraform import <address of this m365_domain> %s\n\nor add an import block with id = %q.", d.ID, d.ID)))
			case graph.IsNotFound(err):
			default:
				tflog.Warn(ctx, "could not check whether the domain exists at plan time", map[string]any{"error": err.Error()})
			}
		}
		return
	}
	var state domainModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !state.IsVerified.ValueBool() && wantsSettings(plan) {
		resp.Diagnostics.AddAttributeWarning(path.Root("supported_services"), "Domain Settings Pending Verification",
			fmt.Sprintf("The domain %s is not verified yet, and Microsoft Graph accepts supported_services and is_default only on verified domains. "+
				"They stay pending; the first apply after m365_domain_verification succeeds sets them.", state.Name.ValueString()))
	}
}

func wantsSettings(m domainModel) bool {
	return (!m.SupportedServices.IsNull() && !m.SupportedServices.IsUnknown() && len(m.SupportedServices.Elements()) > 0) || m.IsDefault.ValueBool()
}

func (r *domainResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan domainModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, domainTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := strings.ToLower(plan.Name.ValueString())

	created, err := r.clients.Graph.CreateDomain(ctx, name)
	if err != nil {
		if _, gerr := r.clients.Graph.GetDomain(ctx, name); gerr == nil {
			diagtext.Error(&resp.Diagnostics, "Domain Already In Tenant", "adding the domain "+name, err.Error(),
				"Import it instead: terraform import <address of this m365_domain> "+name)
			return
		}
		diagtext.APIError(&resp.Diagnostics, "Cannot Add Domain", "adding the domain "+name+" (POST /domains)", err, domainPermissions,
			"If the domain is verified in another Microsoft 365 organisation, remove it there first.")
		return
	}
	// The id is ours now: keep it in state even if the rest fails, so a re-apply converges.
	plan.ID = types.StringValue(created.ID)
	r.applySettings(ctx, &plan, created, &resp.Diagnostics)
	r.refresh(ctx, &plan, &resp.Diagnostics, true)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// applySettings PATCHes supported_services / is_default when the domain is verified and they
// differ; otherwise it records them as pending.
func (r *domainResource) applySettings(ctx context.Context, plan *domainModel, current *graph.Domain, diags *diagList) {
	want := setStrings(plan.SupportedServices)
	if !current.IsVerified {
		plan.SettingsPending = types.BoolValue(wantsSettings(*plan))
		return
	}
	var u graph.DomainUpdate
	if plan.SupportedServices.IsUnknown() || plan.SupportedServices.IsNull() {
		want = nil
	} else if !sameStrings(want, settableOnly(current.SupportedServices)) {
		// Keep the services Graph manages by itself (e.g. OrgIdAuthentication) and set ours.
		u.SupportedServices = mergeServices(current.SupportedServices, want)
	}
	if !plan.IsDefault.IsUnknown() && !plan.IsDefault.IsNull() && plan.IsDefault.ValueBool() && !current.IsDefault {
		t := true
		u.IsDefault = &t
	}
	if u.SupportedServices != nil || u.IsDefault != nil {
		if err := r.clients.Graph.UpdateDomain(ctx, current.ID, u); err != nil {
			diagtext.APIError(diags, "Cannot Update Domain", "setting supported_services/is_default on "+current.ID+" (PATCH /domains)", err, domainPermissions, "")
			return
		}
		// Read back until Graph agrees (read-after-write consistency).
		err := graph.WaitUntil(ctx, "domain "+current.ID+" settings", func(ctx context.Context) (bool, error) {
			d, err := r.clients.Graph.GetDomain(ctx, current.ID)
			if err != nil {
				return false, err
			}
			ok := (u.SupportedServices == nil || sameStrings(settableOnly(d.SupportedServices), want)) && (u.IsDefault == nil || d.IsDefault)
			return ok, nil
		})
		if err != nil {
			diagtext.APIError(diags, "Domain Settings Not Applied", "waiting for "+current.ID+" to show the new settings", err, domainPermissions, "Retry the apply.")
			return
		}
	}
	plan.SettingsPending = types.BoolValue(false)
}

// refresh reads the domain and its verification records into m. With create set, a 404 is read-
// after-write lag and is waited out.
func (r *domainResource) refresh(ctx context.Context, m *domainModel, diags *diagList, create bool) (gone bool) {
	name := m.ID.ValueString()
	var d *graph.Domain
	err := graph.WaitUntil(ctx, "domain "+name+" to be readable", func(ctx context.Context) (bool, error) {
		var err error
		d, err = r.clients.Graph.GetDomain(ctx, name)
		if err != nil && graph.IsNotFound(err) && !create {
			return true, nil
		}
		return err == nil, err
	})
	if err != nil {
		diagtext.APIError(diags, "Cannot Read Domain", "reading the domain "+name, err, domainPermissions, "")
		return false
	}
	if d == nil {
		return true
	}
	m.Name = types.StringValue(d.ID)
	m.IsVerified = types.BoolValue(d.IsVerified)
	m.IsRoot = types.BoolValue(d.IsRoot)
	m.IsInitial = types.BoolValue(d.IsInitial)
	m.IsAdminManaged = types.BoolValue(d.IsAdminManaged)
	m.AuthenticationType = types.StringValue(d.AuthenticationType)
	m.ActiveServices = stringSet(d.SupportedServices)
	if d.IsVerified {
		// Verified: the desired settings are compared with what Graph has, so drift (or
		// settings pending since before verification) shows in the next plan.
		m.SupportedServices = stringSet(settableOnly(d.SupportedServices))
		m.IsDefault = types.BoolValue(d.IsDefault)
		m.SettingsPending = types.BoolValue(false)
	} else {
		if m.SupportedServices.IsUnknown() || m.SupportedServices.IsNull() {
			m.SupportedServices = stringSet(nil)
		}
		if m.IsDefault.IsUnknown() || m.IsDefault.IsNull() {
			m.IsDefault = types.BoolValue(false)
		}
		m.SettingsPending = types.BoolValue(wantsSettings(*m))
	}
	var recs []dns.ServiceRecord
	err = graph.WaitUntil(ctx, "verification records of "+name, func(ctx context.Context) (bool, error) {
		var err error
		recs, err = r.clients.Graph.VerificationRecords(ctx, name)
		return err == nil, err
	})
	if err != nil {
		diagtext.APIError(diags, "Cannot Read Verification Records", "reading the verification records of "+name, err, domainPermissions, "")
		return false
	}
	m.VerificationRecords, m.VerificationTXT = verificationMap(name, recs)
	return false
}

func verificationMap(zone string, recs []dns.ServiceRecord) (types.Map, types.String) {
	objType := types.ObjectType{AttrTypes: verificationRecordAttrTypes}
	out := map[string]attr.Value{}
	txt := ""
	built, _, err := dns.Build(recs, nil, dns.Options{Zone: zone, Stage: dns.StageAll, Services: []string{"Email"}})
	if err == nil {
		for _, rec := range built {
			if rec.Purpose != dns.PurposeVerification {
				continue
			}
			out[rec.Key] = types.ObjectValueMust(verificationRecordAttrTypes, map[string]attr.Value{
				"type": types.StringValue(rec.Type), "name": types.StringValue(rec.Name), "fqdn": types.StringValue(rec.FQDN),
				"value": types.StringValue(rec.Value), "priority": types.Int64Value(int64(rec.Priority)), "ttl": types.Int64Value(int64(rec.TTL)),
			})
			if rec.Key == dns.KeyVerificationTXT {
				txt = rec.Value
			}
		}
	}
	// Both keys are always present (they were promised at plan time); a record Graph did not
	// return has empty values.
	for _, k := range []string{dns.KeyVerificationTXT, dns.KeyVerificationMX} {
		if _, ok := out[k]; !ok {
			out[k] = types.ObjectValueMust(verificationRecordAttrTypes, map[string]attr.Value{
				"type": types.StringValue(""), "name": types.StringValue("@"), "fqdn": types.StringValue(zone),
				"value": types.StringValue(""), "priority": types.Int64Value(0), "ttl": types.Int64Value(0),
			})
		}
	}
	return types.MapValueMust(objType, out), types.StringValue(txt)
}

func (r *domainResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m domainModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, domainTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if m.ForceDelete.IsNull() {
		m.ForceDelete = types.BoolValue(false) // after import
	}
	if gone := r.refresh(ctx, &m, &resp.Diagnostics, false); gone {
		tflog.Info(ctx, "domain no longer exists; removing it from state", map[string]any{"domain": m.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *domainResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state domainModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, domainTimeouts.Update)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plan.ID = state.ID
	current, err := r.clients.Graph.GetDomain(ctx, state.ID.ValueString())
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Domain", "reading the domain "+state.ID.ValueString(), err, domainPermissions, "")
		return
	}
	desiredServices, desiredDefault := plan.SupportedServices, plan.IsDefault
	r.applySettings(ctx, &plan, current, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	r.refresh(ctx, &plan, &resp.Diagnostics, false)
	if !current.IsVerified {
		// Pending: state keeps what the configuration asks for, so the plan is stable until
		// verification, after which Read reports Graph's values and the next apply sets them.
		if !desiredServices.IsUnknown() {
			plan.SupportedServices = desiredServices
		}
		if !desiredDefault.IsUnknown() {
			plan.IsDefault = desiredDefault
		}
		plan.SettingsPending = types.BoolValue(wantsSettings(plan))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *domainResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m domainModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, domainTimeouts.Delete)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := m.ID.ValueString()
	refs, err := r.clients.Graph.DomainReferences(ctx, name, 10)
	if err != nil && !graph.IsNotFound(err) {
		diagtext.APIError(&resp.Diagnostics, "Cannot Check Domain References", "listing what still uses "+name+" (GET /domains/{id}/domainNameReferences)", err, domainPermissions, "")
		return
	}
	if graph.IsNotFound(err) {
		return
	}
	if len(refs) > 0 && !m.ForceDelete.ValueBool() {
		var lines []string
		for _, ref := range refs {
			lines = append(lines, fmt.Sprintf("  - %s %s (%s, id %s)", ref.Type, firstNonEmpty(ref.Name, ref.DisplayName), ref.DisplayName, ref.ID))
		}
		diagtext.Error(&resp.Diagnostics, "Domain Still In Use", "deleting the domain "+name,
			fmt.Sprintf("these objects still use it (up to 10 shown):\n%s", strings.Join(lines, "\n")),
			"Move or delete them first (for example destroy the m365_users that use the domain), or set force_delete = true and apply before destroying: "+
				"forceDelete renames them to the initial onmicrosoft.com domain and disables the renamed users.")
		return
	}
	if len(refs) > 0 {
		if err := r.clients.Graph.ForceDeleteDomain(ctx, name, true); err != nil && !graph.IsNotFound(err) {
			diagtext.APIError(&resp.Diagnostics, "Cannot Force-Delete Domain", "force-deleting "+name+" (POST /domains/{id}/forceDelete)", err, domainPermissions,
				"forceDelete needs the Global Administrator or Domain Name Administrator role and fails for federated domains or more than 1,000 references.")
			return
		}
	} else if err := r.clients.Graph.DeleteDomain(ctx, name); err != nil && !graph.IsNotFound(err) {
		diagtext.APIError(&resp.Diagnostics, "Cannot Delete Domain", "deleting "+name+" (DELETE /domains/{id})", err, domainPermissions,
			"A domain cannot be deleted while it is the default domain: make another verified domain the default first.")
		return
	}
	// Both deletions finish asynchronously: wait until Graph no longer knows the domain.
	err = graph.WaitUntil(ctx, "domain "+name+" to be deleted", func(ctx context.Context) (bool, error) {
		_, err := r.clients.Graph.GetDomain(ctx, name)
		if graph.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Domain Deletion Not Finished", "waiting for "+name+" to disappear", err, domainPermissions, "Raise timeouts.delete, then destroy again.")
	}
}

func (r *domainResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.ToLower(strings.TrimSpace(req.ID))
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("force_delete"), false)...)
}

func settableOnly(in []string) []string {
	var out []string
	for _, s := range in {
		for _, ok := range settableServices {
			if strings.EqualFold(s, ok) {
				out = append(out, ok)
			}
		}
	}
	sort.Strings(out)
	return out
}

func mergeServices(current, want []string) []string {
	out := append([]string{}, want...)
	for _, s := range current {
		if len(settableOnly([]string{s})) == 0 {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
