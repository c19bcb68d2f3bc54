package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var (
	_ resource.ResourceWithConfigure      = (*userResource)(nil)
	_ resource.ResourceWithImportState    = (*userResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*userResource)(nil)
	_ resource.ResourceWithValidateConfig = (*userResource)(nil)
)

// NewUserResource is the m365_user resource.
func NewUserResource() resource.Resource { return &userResource{} }

type userResource struct{ clients *Clients }

// userResourceModel is m365_user's model. The catalogue's attributes are in User, read and
// written by getUserModel and setUserModel.
type userResourceModel struct {
	ID                      types.String   `tfsdk:"id"`
	User                    users.User     `tfsdk:"-"`
	AccountEnabled          types.Bool     `tfsdk:"account_enabled"`
	Licenses                types.Set      `tfsdk:"licenses"`
	PasswordWO              types.String   `tfsdk:"password_wo"`
	PasswordWOVersion       types.Int64    `tfsdk:"password_wo_version"`
	GenerateInitialPassword types.Bool     `tfsdk:"generate_initial_password"`
	InitialPassword         types.String   `tfsdk:"initial_password"`
	ForceChangePassword     types.Bool     `tfsdk:"force_change_password_next_sign_in"`
	PendingDomains          types.Set      `tfsdk:"pending_domains"`
	Aliases                 types.Set      `tfsdk:"aliases"`
	Timeouts                timeouts.Value `tfsdk:"timeouts"`
}

func (r *userResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_user"
}

// userAttributeSchemas are the catalogue's Graph attributes as resource attributes: each
// Optional+Computed (null means "not managed": Graph's value is kept and shown, never changed),
// user_principal_name and display_name required.
func userAttributeSchemas() map[string]schema.Attribute {
	out := map[string]schema.Attribute{}
	for _, a := range userattr.All() {
		if a.Graph == "" {
			continue // the aliases, written through Exchange: each resource has its own
		}
		if a.Kind == userattr.List {
			out[a.Name] = schema.ListAttribute{ElementType: types.StringType, Optional: true, Computed: true,
				MarkdownDescription: a.Doc + " Leave it unset to leave it alone; `[]` clears it."}
			continue
		}
		sa := schema.StringAttribute{Optional: true, Computed: true,
			MarkdownDescription: a.Doc + " Leave it unset to leave it alone (Graph's value is shown); set `\"\"` to clear it."}
		switch a.Check {
		case userattr.CheckCountryCode:
			sa.Validators = []validator.String{validators.CountryCode()}
		case userattr.CheckMailNickname:
			sa.MarkdownDescription = a.Doc
			sa.Validators = []validator.String{stringvalidator.LengthBetween(1, a.Limit)}
		}
		switch a.Name {
		case userattr.UPN:
			sa = schema.StringAttribute{Required: true, MarkdownDescription: a.Doc + " Changing it renames the user.",
				Validators: []validator.String{validators.UserPrincipalName()}}
		case userattr.DisplayName:
			sa = schema.StringAttribute{Required: true, MarkdownDescription: a.Doc,
				Validators: []validator.String{stringvalidator.LengthBetween(1, a.Limit)}}
		}
		out[a.Name] = sa
	}
	return out
}

// licensesSchema is the `licenses` attribute of m365_user and m365_users.
func licensesSchema(computed bool, doc string) schema.SetNestedAttribute {
	return schema.SetNestedAttribute{
		Optional: true, Computed: computed,
		MarkdownDescription: doc,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"sku": schema.StringAttribute{Required: true,
				MarkdownDescription: "The SKU's part number (e.g. `O365_BUSINESS_PREMIUM`, as `m365_subscribed_skus` lists them) or its GUID.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)}},
			"disabled_plans": schema.SetAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Service plans of the SKU to switch off, by name (e.g. `TEAMS1`) or GUID."},
		}},
	}
}

func (r *userResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := userAttributeSchemas()
	attrs["id"] = schema.StringAttribute{Computed: true, MarkdownDescription: "The user's object id (GUID).",
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}}
	attrs["account_enabled"] = schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
		MarkdownDescription: "Whether the user can sign in. Defaults to `true`."}
	attrs["licenses"] = licensesSchema(true, "Licences to assign. Changes go through `assignLicense`, one call per user at a time. "+
		"Only the SKUs listed here are managed: a licence assigned otherwise (by hand or by a group) is left alone. Leave it unset to leave licences alone; "+
		"`[]` removes the licences this resource assigned. The plan stops when a SKU has fewer free seats than this configuration newly assigns, "+
		"when a SKU or plan is not in the tenant, and when the user has no `usage_location`.")
	attrs["password_wo"] = schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true,
		MarkdownDescription: "The password, write-only (Terraform 1.11+): sent to Microsoft Graph, never stored in the state or the plan. " +
			"Used when the user is created and whenever `password_wo_version` changes. It must meet the tenant's password rules " +
			"(8–256 characters, three of upper case, lower case, digits and symbols). Conflicts with `generate_initial_password`."}
	attrs["password_wo_version"] = schema.Int64Attribute{Optional: true,
		MarkdownDescription: "Change it (e.g. increment it) to send `password_wo` again, which resets the user's password."}
	attrs["generate_initial_password"] = schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
		MarkdownDescription: "Generate a 16-character temporary password when the user is created and expose it in `initial_password`. " +
			"Only applies at creation. See the security notice."}
	attrs["initial_password"] = schema.StringAttribute{Computed: true, Sensitive: true,
		MarkdownDescription: "The generated temporary password, only with `generate_initial_password = true`. **It is stored in the state** (like the admin centre's result mail): " +
			"hand it over and keep `force_change_password_next_sign_in = true`."}
	attrs["force_change_password_next_sign_in"] = schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
		MarkdownDescription: "Make the user choose a new password at the next sign-in. Sent with every password this resource sets. Defaults to `true`."}
	attrs["pending_domains"] = schema.SetAttribute{ElementType: types.StringType, Optional: true,
		MarkdownDescription: "Domains that the same apply adds and verifies (with `m365_domain_verification`, which this resource must then depend on). " +
			"The plan-time check that the user name's domain is a verified domain of the tenant accepts them.",
		Validators: []validator.Set{setvalidator.ValueStringsAre(validators.DomainName())}}
	attrs["aliases"] = schema.SetAttribute{ElementType: types.StringType, Optional: true,
		MarkdownDescription: docAliases + " Leave it unset to leave the aliases alone; `[]` removes them all.",
		Validators:          []validator.Set{setvalidator.SizeAtMost(maxAliases)}}
	attrs["timeouts"] = timeoutsAttribute(ctx, userTimeouts)
	resp.Schema = schema.Schema{
		MarkdownDescription: "One Microsoft 365 user (Microsoft Graph `/users`) with its licences, made for `for_each` over `m365_users_csv.users`. " +
			"For hundreds or thousands of users `m365_users` is much faster: it writes through `$batch` at the tenant's write quota and refreshes with a few list calls.",
		Attributes: attrs,
	}
}

func (r *userResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the password settings on the configuration alone.
func (r *userResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m userResourceModel
	resp.Diagnostics.Append(getUserModel(ctx, req.Config.Get, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validatePasswordSettings(m.PasswordWO, m.PasswordWOVersion, m.GenerateInitialPassword, "generate_initial_password", &resp.Diagnostics)
}

// validatePasswordSettings is shared by m365_user and m365_users.
func validatePasswordSettings(pw types.String, version types.Int64, generate types.Bool, generateName string, d *diagList) {
	if !pw.IsNull() && generate.ValueBool() {
		d.AddAttributeError(path.Root("password_wo"), "Conflicting Password Settings",
			diagtext.Detail("checking the password settings", "password_wo and "+generateName+" = true are both set",
				"Keep one: password_wo to give the password yourself, or "+generateName+" to have one generated."))
	}
	if !version.IsNull() && pw.IsNull() {
		d.AddAttributeError(path.Root("password_wo_version"), "Password Version Without Password",
			diagtext.Detail("checking the password settings", "password_wo_version is set but password_wo is not",
				"Set password_wo (for example from an ephemeral resource or a variable marked ephemeral), or remove password_wo_version."))
	}
}

func (r *userResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config userResourceModel
	resp.Diagnostics.Append(getUserModel(ctx, req.Plan.Get, &plan)...)
	resp.Diagnostics.Append(getUserModel(ctx, req.Config.Get, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, userTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	upn := plan.User.UPN()
	tc := r.clients.cache()
	tc.release(upn)

	var want []resolvedLicense
	ls, _ := licensesFromSet(ctx, plan.Licenses)
	if len(ls) > 0 {
		var ok bool
		if want, ok = r.resolve(ctx, ls, "creating the user "+upn, &resp.Diagnostics); !ok {
			return
		}
	}
	password := config.PasswordWO.ValueString()
	if plan.GenerateInitialPassword.ValueBool() {
		p, err := generatePassword()
		if err != nil {
			diagtext.Error(&resp.Diagnostics, "Cannot Generate Password", "creating the user "+upn, err.Error(), "Retry the apply.")
			return
		}
		password = p
		plan.InitialPassword = types.StringValue(p)
	} else {
		plan.InitialPassword = types.StringNull()
	}
	nu := graph.NewUser{User: users.ToGraph(plan.User), Password: password, ForceChangePasswordNextSignIn: plan.ForceChangePassword.ValueBool()}
	nu.AccountEnabled = plan.AccountEnabled.ValueBool()
	created, err := r.clients.Graph.CreateUser(ctx, nu)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Create User", "creating the user "+upn+" (POST /users)", err, userPermissions, createAdvice(err, upn))
		return
	}
	tflog.Info(ctx, "created user", map[string]any{"user_principal_name": upn, "id": created.ID})
	// From here on the user exists: keep it in state whatever fails next.
	plan.ID = types.StringValue(created.ID)
	if len(want) > 0 {
		unlock := r.clients.lockUser(created.ID)
		err := r.clients.Graph.AssignLicenses(ctx, created.ID, assignedOf(want), nil)
		unlock()
		tc.forgetSKUs()
		if err != nil {
			plan.Licenses = licensesToSet(nil)
			diagtext.APIError(&resp.Diagnostics, "Cannot Assign Licences", "assigning licences to the new user "+upn+" (POST /users/{id}/assignLicense)", err,
				diagtext.Permissions{Graph: []string{"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All"}},
				"The user was created and is kept in the state. Fix the cause (free seats, usage location) and apply again.")
			resp.Diagnostics.Append(setUserModel(ctx, resp.State.Set, &plan)...)
			return
		}
	}
	// Evidence that the user (and its licences) can be read back before dependents use it.
	err = graph.WaitUntil(ctx, "user "+upn+" to be readable", func(ctx context.Context) (bool, error) {
		g, err := r.clients.Graph.GetUser(ctx, created.ID)
		if err != nil {
			return false, err
		}
		for _, w := range want {
			if !hasLicense(g.AssignedLicenses, w) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "User Not Readable", "waiting for the new user "+upn+" to be readable", err, userPermissions,
			"The user was created and is kept in the state; apply again, or raise timeouts.create.")
		if isSet(plan.Aliases) {
			plan.Aliases = types.SetNull(types.StringType) // not written
		}
	} else {
		plan.Aliases = r.writeAliases(ctx, upn, plan.Aliases, types.SetNull(types.StringType), &resp.Diagnostics)
	}
	resp.Diagnostics.Append(setUserModel(ctx, resp.State.Set, &plan)...)
}

// createAdvice is the next step for a failed create.
func createAdvice(err error, upn string) string {
	switch graph.ProblemOf(err) {
	case graph.ProblemNameTaken:
		return "A user (possibly a deleted one, kept in the recycle bin for 30 days) already has this name. Import it with terraform import, restore or permanently delete the deleted user, or choose another user_principal_name."
	case graph.ProblemPassword:
		return "Choose a password of 8–256 characters with three of: upper case, lower case, digits, symbols; or set generate_initial_password = true."
	case graph.ProblemDomain:
		return "Use a verified domain of the tenant in user_principal_name (" + upnDomain(upn) + " is not one)."
	}
	return ""
}

// resolve reads the SKUs and maps the configured licences.
func (r *userResource) resolve(ctx context.Context, ls []licenseModel, attempt string, d *diagList) ([]resolvedLicense, bool) {
	skus, err := r.clients.cache().SKUs(ctx, r.clients.Graph, false)
	if err != nil {
		diagtext.APIError(d, "Cannot Read SKUs", attempt+" (GET /subscribedSkus)", err, skuPermissions, "")
		return nil, false
	}
	want, probs := resolveLicenses(newSkuIndex(skus), ls)
	for _, p := range probs {
		diagtext.AttributeError(d, path.Root("licenses"), p.summary, attempt, p.cause, p.fix)
	}
	return want, len(probs) == 0
}

func assignedOf(ls []resolvedLicense) []graph.AssignedLicense {
	out := make([]graph.AssignedLicense, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.assigned())
	}
	return out
}

func (r *userResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m userResourceModel
	resp.Diagnostics.Append(getUserModel(ctx, req.State.Get, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, userTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := m.ID.ValueString()
	// A 404 may be replication lag (a user created seconds ago, maybe by another process): the
	// user leaves the state only on evidence that it is gone (graph.ReadUsersByID).
	found, gone, err := r.clients.Graph.ReadUsersByID(ctx, []string{id})
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read User", "reading the user "+id+" (GET /users/{id})", err, userCheckPermissions,
			"The state is unchanged. Plan again; if it persists, raise timeouts.read.")
		return
	}
	if len(gone) > 0 {
		ev := gone[0].Evidence()
		tflog.Info(ctx, "user is gone from the tenant; removing it from state", map[string]any{"id": id, "evidence": ev})
		resp.Diagnostics.AddWarning("User No Longer In The Tenant",
			fmt.Sprintf("The user %s (%s) was deleted outside Terraform and leaves the state: %s.", firstNonEmpty(m.User.UPN(), id), id, ev))
		resp.State.RemoveResource(ctx)
		return
	}
	one := found[id]
	g := &one
	m.ID = types.StringValue(g.ID)
	m.User.Values = users.FromGraph(m.User.Values, g)
	m.AccountEnabled = types.BoolValue(g.AccountEnabled)
	if m.GenerateInitialPassword.IsNull() {
		m.GenerateInitialPassword = types.BoolValue(false) // after import
	}
	if m.ForceChangePassword.IsNull() {
		m.ForceChangePassword = types.BoolValue(true)
	}
	prior, _ := licensesFromSet(ctx, m.Licenses)
	if len(g.AssignedLicenses) == 0 && (m.Licenses.IsNull() || len(prior) == 0) {
		if m.Licenses.IsNull() {
			m.Licenses = types.SetNull(licenseObjectType)
		}
	} else {
		skus, err := r.clients.cache().SKUs(ctx, r.clients.Graph, false)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read SKUs", "mapping the licences of "+id+" to SKU part numbers (GET /subscribedSkus)", err, skuPermissions, "")
			return
		}
		m.Licenses = licensesFromGraph(newSkuIndex(skus), m.Licenses.IsNull(), prior, g.AssignedLicenses)
	}
	if isSet(m.Aliases) {
		upn := strings.ToLower(g.UPN())
		had := setStrings(m.Aliases)
		read, err := readAliases(ctx, r.clients.Exchange, map[string][]string{upn: users.NormaliseAliases(had)})
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read Aliases", "refreshing the email aliases of "+g.UPN()+" (Get-Mailbox)", err, aliasPermissions,
				"The state is unchanged. Plan again; if it persists, raise timeouts.read.")
			return
		}
		if v, ok := read[upn]; ok {
			// Keep the configuration's spelling of an address that is still there.
			for i, a := range v {
				for _, h := range had {
					if strings.EqualFold(h, a) {
						v[i] = h
					}
				}
			}
			m.Aliases = stringSet(v)
		}
	}
	resp.Diagnostics.Append(setUserModel(ctx, resp.State.Set, &m)...)
}

// licensesFromGraph is the state of `licenses` after a refresh. Without a prior value (after
// import, or while unmanaged) it reports every licence the user has, by part number and plan
// name. Otherwise it reports the prior SKUs the user still has, keeping the configured spelling
// when the disabled plans agree.
func licensesFromGraph(ix skuIndex, priorNull bool, prior []licenseModel, assigned []graph.AssignedLicense) types.Set {
	planNames := func(skuID string, ids []string) types.Set {
		if len(ids) == 0 {
			return types.SetNull(types.StringType)
		}
		sku, _ := ix.find(skuID)
		var names []string
		for _, id := range ids {
			name := id
			for _, sp := range sku.ServicePlans {
				if strings.EqualFold(sp.ID, id) && sp.Name != "" {
					name = sp.Name
				}
			}
			names = append(names, name)
		}
		return stringSet(names)
	}
	var out []licenseModel
	if priorNull {
		for _, a := range assigned {
			out = append(out, licenseModel{Sku: types.StringValue(ix.name(a.SkuID)), DisabledPlans: planNames(a.SkuID, a.DisabledPlans)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Sku.ValueString() < out[j].Sku.ValueString() })
		return licensesToSet(out)
	}
	for _, p := range prior {
		res, probs := resolveLicenses(ix, []licenseModel{p})
		if len(probs) > 0 || len(res) == 0 {
			continue // the SKU left the tenant: the user cannot have it
		}
		if hasLicense(assigned, res[0]) {
			out = append(out, p)
			continue
		}
		for _, a := range assigned {
			if strings.EqualFold(a.SkuID, res[0].SkuID) {
				out = append(out, licenseModel{Sku: p.Sku, DisabledPlans: planNames(a.SkuID, a.DisabledPlans)})
			}
		}
	}
	return licensesToSet(out)
}

func (r *userResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m userResourceModel
	resp.Diagnostics.Append(getUserModel(ctx, req.State.Get, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, userTimeouts.Delete)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := m.ID.ValueString()
	if err := r.clients.Graph.DeleteUser(ctx, id); err != nil && !graph.IsNotFound(err) {
		diagtext.APIError(&resp.Diagnostics, "Cannot Delete User", "deleting the user "+m.User.UPN()+" (DELETE /users/{id})", err, userPermissions, "")
		return
	}
	r.clients.cache().forgetSKUs()
	tflog.Info(ctx, "deleted user (kept in the recycle bin for 30 days)", map[string]any{"id": id})
}

// ImportState takes a user's object id or user principal name.
func (r *userResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := strings.TrimSpace(req.ID)
	if id == "" {
		resp.Diagnostics.AddError("Invalid Import ID", "Give the user's object id (GUID) or user principal name, e.g. terraform import m365_user.x zhang.san@contoso.com.")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("generate_initial_password"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("force_change_password_next_sign_in"), true)...)
}
