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

type userResourceModel struct {
	ID types.String `tfsdk:"id"`
	userFields
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

// userAttributeSchemas are the user attributes as resource attributes: every CSV attribute
// Optional+Computed (null means "not managed": Graph's value is kept and shown, never changed),
// user_principal_name and display_name required.
func userAttributeSchemas() map[string]schema.Attribute {
	out := map[string]schema.Attribute{}
	for _, a := range userStringAttrs {
		sa := schema.StringAttribute{Optional: true, Computed: true,
			MarkdownDescription: a.doc + " Leave it unset to leave it alone (Graph's value is shown); set `\"\"` to clear it."}
		switch a.name {
		case "user_principal_name":
			sa = schema.StringAttribute{Required: true, MarkdownDescription: a.doc + " Changing it renames the user.",
				Validators: []validator.String{validators.UserPrincipalName()}}
		case "display_name":
			sa = schema.StringAttribute{Required: true, MarkdownDescription: a.doc,
				Validators: []validator.String{stringvalidator.LengthBetween(1, 256)}}
		case "mail_nickname":
			sa.MarkdownDescription = a.doc
			sa.Validators = []validator.String{stringvalidator.LengthBetween(1, 64)}
		case "usage_location":
			sa.Validators = []validator.String{validators.CountryCode()}
		}
		out[a.name] = sa
	}
	out["business_phones"] = schema.ListAttribute{ElementType: types.StringType, Optional: true, Computed: true,
		MarkdownDescription: docBusinessPhones + " Leave it unset to leave it alone; `[]` clears it."}
	out["other_mails"] = schema.ListAttribute{ElementType: types.StringType, Optional: true, Computed: true,
		MarkdownDescription: docOtherMails + " Leave it unset to leave it alone; `[]` clears it."}
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
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
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

// ModifyPlan keeps unmanaged attributes as they are, fills the defaults that are known at plan
// time, and runs the checks that need the tenant: the user name's domain, a user that already
// exists, licence SKUs and plans, free seats, and the usage location licences need. It writes
// nothing.
func (r *userResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan, config userResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	create := req.State.Raw.IsNull()
	var state *userResourceModel
	if !create {
		state = &userResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}

	// Unmanaged attributes (null in the configuration) keep their value.
	var prior *userFields
	if state != nil {
		prior = &state.userFields
	}
	keepUnmanaged(&plan.userFields, config.userFields, prior)
	if config.MailNickname.IsNull() && create && isSet(plan.UserPrincipalName) {
		plan.MailNickname = types.StringValue(upnLocal(plan.UserPrincipalName.ValueString()))
	}
	if config.Licenses.IsNull() {
		if state != nil {
			plan.Licenses = state.Licenses
		} else {
			plan.Licenses = types.SetNull(licenseObjectType)
		}
	}
	switch {
	case !plan.GenerateInitialPassword.ValueBool():
		plan.InitialPassword = types.StringNull()
	case create:
		plan.InitialPassword = types.StringUnknown()
	default:
		plan.InitialPassword = state.InitialPassword
		if !state.GenerateInitialPassword.ValueBool() {
			resp.Diagnostics.AddAttributeWarning(path.Root("generate_initial_password"), "Initial Password Not Generated",
				"generate_initial_password only applies when the user is created; this user exists, so no password is generated. "+
					"To reset its password, set password_wo and change password_wo_version.")
		}
	}
	if create {
		markReplacing(ctx, resp.Private)
		if config.PasswordWO.IsNull() && !plan.GenerateInitialPassword.ValueBool() {
			resp.Diagnostics.AddAttributeError(path.Root("password_wo"), "Password Required",
				diagtext.Detail("planning to create the user "+plan.UserPrincipalName.ValueString(), "Microsoft Graph needs a password to create a user",
					"Set password_wo (write-only, never stored) or generate_initial_password = true."))
		}
	} else if !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && config.PasswordWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("password_wo_version"), "Password Required",
			diagtext.Detail("planning to reset the password of "+state.UserPrincipalName.ValueString(), "password_wo_version changed but password_wo is not set",
				"Set password_wo to the new password."))
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state != nil && !plan.Licenses.Equal(state.Licenses) {
		if newLic, ok := licensesFromSet(ctx, plan.Licenses); ok {
			upn := state.UserPrincipalName.ValueString()
			var held []string
			for _, l := range mustLicenses(ctx, state.Licenses) {
				held = append(held, l.Sku.ValueString())
			}
			warnLicenceLosses(ctx, r.clients, mustLicenses(ctx, state.Licenses), newLic, map[string][]string{upn: held}, map[string]usersElem{upn: {}}, &resp.Diagnostics)
		}
	}
	if r.clients == nil {
		return
	}
	if isSet(plan.Aliases) && isSet(plan.UserPrincipalName) {
		u := aliasUser{upn: plan.UserPrincipalName.ValueString(), want: setStrings(plan.Aliases), where: path.Root("aliases")}
		if state != nil {
			u.id = state.ID.ValueString()
			if isSet(state.Aliases) {
				u.have = setStrings(state.Aliases)
			}
		}
		if ls, ok := licensesFromSet(ctx, plan.Licenses); state == nil && ok && len(ls) == 0 && len(u.want) > 0 {
			warnAliasesWithoutLicence(&resp.Diagnostics, path.Root("licenses"), []string{u.upn})
		}
		checkAliases(ctx, r.clients, []aliasUser{u}, setStrings(plan.PendingDomains), &resp.Diagnostics)
	}
	r.checkTenant(ctx, &plan, state, resp)
}

// checkTenant runs the plan-time checks that read the tenant.
func (r *userResource) checkTenant(ctx context.Context, plan, state *userResourceModel, resp *resource.ModifyPlanResponse) {
	if !isSet(plan.UserPrincipalName) {
		return
	}
	upn := plan.UserPrincipalName.ValueString()
	tc := r.clients.cache()
	renamed := state != nil && !strings.EqualFold(state.UserPrincipalName.ValueString(), upn)

	if state == nil || renamed {
		if ds, err := tc.Domains(ctx, r.clients.Graph); err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Check User Domain", "checking that the domain of "+upn+" is verified (GET /domains)", err, userCheckPermissions, "")
		} else if bad, status, verified := domainCheck(ds, []string{upn}, setStrings(plan.PendingDomains)); len(bad) > 0 {
			dom := upnDomain(upn)
			diagtext.AttributeError(&resp.Diagnostics, path.Root("user_principal_name"), "Domain Not Verified",
				"planning the user "+upn,
				fmt.Sprintf("the domain %s %s; the tenant's verified domains are: %s", dom, status[dom], verified), domainFix)
		}
		existing, err := r.clients.Graph.GetUser(ctx, upn)
		switch {
		case err == nil && (state == nil || !strings.EqualFold(existing.ID, state.ID.ValueString())):
			diagtext.AttributeError(&resp.Diagnostics, path.Root("user_principal_name"), "User Already Exists",
				"planning to create the user "+upn,
				fmt.Sprintf("the tenant already has a user %s (id %s) that this resource does not manage", existing.UserPrincipalName, existing.ID),
				fmt.Sprintf("Import it instead of creating it:\n\n  terraform import <address of this m365_user> %s\n\nor add an import block with id = %q. "+
					"If an earlier apply created it and then failed (Terraform then marks the resource tainted), run terraform untaint on the resource and apply again.", upn, upn))
		case err != nil && !graph.IsNotFound(err):
			diagtext.APIError(&resp.Diagnostics, "Cannot Check User", "checking whether "+upn+" exists (GET /users/{upn})", err, userCheckPermissions, "")
		}
	}

	ls, ok := licensesFromSet(ctx, plan.Licenses)
	if !ok || len(ls) == 0 {
		if ok {
			tc.reserve(upn, nil)
		}
		return
	}
	var prior []licenseModel
	if state != nil {
		prior, _ = licensesFromSet(ctx, state.Licenses)
	}
	if state != nil && plan.Licenses.Equal(state.Licenses) && plan.UsageLocation.Equal(state.UsageLocation) {
		return // nothing new to check
	}
	if plan.UsageLocation.IsNull() || (isSet(plan.UsageLocation) && plan.UsageLocation.ValueString() == "") {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("usage_location"), "Usage Location Required",
			"planning the licences of "+upn, "Microsoft Graph assigns licences only to users with a usage location",
			"Set usage_location to the ISO 3166 code of the country where the user works, e.g. \"CN\".")
	}
	skus, err := tc.SKUs(ctx, r.clients.Graph, false)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Check Licences", "reading the tenant's SKUs and free seats (GET /subscribedSkus)", err, skuPermissions, "")
		return
	}
	ix := newSkuIndex(skus)
	want, probs := resolveLicenses(ix, ls)
	for _, p := range probs {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("licenses"), p.summary, "planning the licences of "+upn, p.cause, p.fix)
	}
	had := map[string]bool{}
	if prior != nil {
		old, _ := resolveLicenses(ix, prior)
		for _, o := range old {
			had[o.SkuID] = true
		}
	}
	var newSkus []string
	for _, w := range want {
		if !had[w.SkuID] {
			newSkus = append(newSkus, w.SkuID)
		}
	}
	need := tc.reserve(upn, newSkus)
	for _, id := range newSkus {
		sku, _ := ix.find(id)
		if free := sku.Available(); need[id] > free {
			what := "users"
			if need[id] == 1 {
				what = "this user's licence"
			}
			diagtext.AttributeError(&resp.Diagnostics, path.Root("licenses"), "Not Enough Licences",
				"planning the licences of "+upn,
				seatShortfall(sku.SkuPartNumber, need[id], free, what)+" (counted over the m365_user resources of this plan that newly take it)",
				"Buy more seats (the admin centre's Billing > Your products), free seats by removing licences from other users, or assign another SKU.")
		}
	}
}

func (r *userResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config userResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, userTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	upn := plan.UserPrincipalName.ValueString()
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
	nu := graph.NewUser{User: plan.toGraphUser(), Password: password, ForceChangePasswordNextSignIn: plan.ForceChangePassword.ValueBool()}
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
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
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
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
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
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
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
			fmt.Sprintf("The user %s (%s) was deleted outside Terraform and leaves the state: %s.", firstNonEmpty(m.UserPrincipalName.ValueString(), id), id, ev))
		resp.State.RemoveResource(ctx)
		return
	}
	one := found[id]
	g := &one
	m.ID = types.StringValue(g.ID)
	m.userFields = fieldsFromGraph(m.userFields, g)
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
		upn := strings.ToLower(g.UserPrincipalName)
		had := setStrings(m.Aliases)
		read, err := readAliases(ctx, r.clients.Exchange, map[string][]string{upn: normaliseAliases(had)})
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read Aliases", "refreshing the email aliases of "+g.UserPrincipalName+" (Get-Mailbox)", err, aliasPermissions,
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
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
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

func (r *userResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state, config userResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, userTimeouts.Update)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := state.ID.ValueString()
	upn := plan.UserPrincipalName.ValueString()
	plan.ID = state.ID
	tc := r.clients.cache()
	tc.release(upn)

	ch := plan.changesTo(state.userFields)
	if !plan.AccountEnabled.Equal(state.AccountEnabled) && isSet(plan.AccountEnabled) {
		v := plan.AccountEnabled.ValueBool()
		ch.AccountEnabled = &v
	}
	if !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && !config.PasswordWO.IsNull() {
		pw := config.PasswordWO.ValueString()
		force := plan.ForceChangePassword.ValueBool()
		ch.Password, ch.ForceChangePasswordNextSignIn = &pw, &force
	}
	if !ch.IsEmpty() {
		if err := r.clients.Graph.UpdateUser(ctx, id, ch); err != nil {
			perms := userPermissions
			if ch.Password != nil {
				perms = passwordPermissions
			}
			diagtext.APIError(&resp.Diagnostics, "Cannot Update User", "updating the user "+upn+" (PATCH /users/{id})", err, perms, updateAdvice(err))
			return
		}
		tflog.Info(ctx, "updated user", map[string]any{"id": id, "user_principal_name": upn, "password_changed": ch.Password != nil})
	}

	want, wok := licensesFromSet(ctx, plan.Licenses)
	prior, _ := licensesFromSet(ctx, state.Licenses)
	if wok && !plan.Licenses.IsNull() && !plan.Licenses.Equal(state.Licenses) {
		if !r.updateLicenses(ctx, id, upn, want, prior, &resp.Diagnostics) {
			plan.Licenses = state.Licenses
			plan.Aliases = state.Aliases
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
			return
		}
	}
	plan.Aliases = r.writeAliases(ctx, upn, plan.Aliases, state.Aliases, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// writeAliases brings the mailbox's aliases from have to want (null want: unmanaged, nothing
// written) and returns the value for the state: want when written, have when not.
func (r *userResource) writeAliases(ctx context.Context, upn string, want, have types.Set, d *diagList) types.Set {
	if !isSet(want) {
		return want
	}
	var prior []string
	if isSet(have) {
		prior = setStrings(have)
	}
	add, remove := aliasDiff(setStrings(want), prior)
	if len(add)+len(remove) == 0 {
		return want
	}
	if writeAliases(ctx, r.clients.Exchange, []aliasWrite{{upn: upn, add: add, remove: remove}}, d)[strings.ToLower(upn)] {
		return want
	}
	return have
}

// updateAdvice is the next step for a failed PATCH.
func updateAdvice(err error) string {
	switch graph.ProblemOf(err) {
	case graph.ProblemPassword:
		return "Choose a password of 8–256 characters with three of: upper case, lower case, digits, symbols, and change password_wo_version again."
	case graph.ProblemNameTaken:
		return "Another user (possibly a deleted one) already has this user_principal_name; choose another."
	}
	return ""
}

// updateLicenses brings the user's licences to want, removing the SKUs of prior that are no
// longer wanted, in one assignLicense call made while holding the user's lock.
func (r *userResource) updateLicenses(ctx context.Context, id, upn string, want, prior []licenseModel, d *diagList) bool {
	attempt := "changing the licences of " + upn
	skus, err := r.clients.cache().SKUs(ctx, r.clients.Graph, false)
	if err != nil {
		diagtext.APIError(d, "Cannot Read SKUs", attempt+" (GET /subscribedSkus)", err, skuPermissions, "")
		return false
	}
	ix := newSkuIndex(skus)
	res, probs := resolveLicenses(ix, want)
	for _, p := range probs {
		diagtext.AttributeError(d, path.Root("licenses"), p.summary, attempt, p.cause, p.fix)
	}
	if len(probs) > 0 {
		return false
	}
	old, _ := resolveLicenses(ix, prior)
	unlock := r.clients.lockUser(id)
	defer unlock()
	g, err := r.clients.Graph.GetUser(ctx, id)
	if err != nil {
		diagtext.APIError(d, "Cannot Read User", attempt+" (GET /users/{id})", err, userCheckPermissions, "")
		return false
	}
	var add []graph.AssignedLicense
	keep := map[string]bool{}
	for _, w := range res {
		keep[w.SkuID] = true
		if !hasLicense(g.AssignedLicenses, w) {
			add = append(add, w.assigned())
		}
	}
	var remove []string
	for _, o := range old {
		if !keep[o.SkuID] && hasSku(g.AssignedLicenses, o.SkuID) {
			remove = append(remove, o.SkuID)
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		return true
	}
	err = r.clients.Graph.AssignLicenses(ctx, id, add, remove)
	r.clients.cache().forgetSKUs()
	if err != nil {
		diagtext.APIError(d, "Cannot Change Licences", attempt+" (POST /users/{id}/assignLicense)", err,
			diagtext.Permissions{Graph: []string{"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All"}}, "Fix the cause (free seats, usage location) and apply again.")
		return false
	}
	tflog.Info(ctx, "changed licences", map[string]any{"id": id, "added": len(add), "removed": len(remove)})
	return true
}

func (r *userResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m userResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, userTimeouts.Delete)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := m.ID.ValueString()
	if err := r.clients.Graph.DeleteUser(ctx, id); err != nil && !graph.IsNotFound(err) {
		diagtext.APIError(&resp.Diagnostics, "Cannot Delete User", "deleting the user "+m.UserPrincipalName.ValueString()+" (DELETE /users/{id})", err, userPermissions, "")
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
