package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var (
	_ resource.ResourceWithConfigure      = (*usersResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*usersResource)(nil)
	_ resource.ResourceWithValidateConfig = (*usersResource)(nil)
)

// NewUsersResource is the m365_users resource.
func NewUsersResource() resource.Resource { return &usersResource{} }

type usersResource struct{ clients *Clients }

type usersResourceModel struct {
	ID                       types.String   `tfsdk:"id"`
	Users                    types.Dynamic  `tfsdk:"users"`
	UsageLocation            types.String   `tfsdk:"usage_location"`
	AccountEnabled           types.Bool     `tfsdk:"account_enabled"`
	Licenses                 types.Set      `tfsdk:"licenses"`
	PasswordWO               types.String   `tfsdk:"password_wo"`
	PasswordWOVersion        types.Int64    `tfsdk:"password_wo_version"`
	GenerateInitialPasswords types.Bool     `tfsdk:"generate_initial_passwords"`
	InitialPasswords         types.Map      `tfsdk:"initial_passwords"`
	ForceChangePassword      types.Bool     `tfsdk:"force_change_password_next_sign_in"`
	AdoptExisting            types.Bool     `tfsdk:"adopt_existing"`
	DeleteRemovedUsers       types.Bool     `tfsdk:"delete_removed_users"`
	Concurrency              types.Int64    `tfsdk:"concurrency"`
	WriteQuota               types.Int64    `tfsdk:"write_quota"`
	WriteWindow              types.String   `tfsdk:"write_window"`
	PendingDomains           types.Set      `tfsdk:"pending_domains"`
	IDs                      types.Map      `tfsdk:"ids"`
	Attributes               types.Map      `tfsdk:"attributes"`
	Timeouts                 timeouts.Value `tfsdk:"timeouts"`
}

// usersElem is one element of users.
type usersElem struct {
	userFields
	AccountEnabled types.Bool `tfsdk:"account_enabled"`
	// Aliases are the user's email aliases (secondary SMTP addresses), written through Exchange
	// Online (aliases.go); null: not managed.
	Aliases types.List `tfsdk:"aliases"`
}

var (
	entraWriteQuota = int64(3000)
)

const entraWriteWindow = "150s"

func (r *usersResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_users"
}

func (r *usersResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Many Microsoft 365 users in one resource — typically `users = data.m365_users_csv.staff.users` — with shared licences, usage location and password settings. " +
			"Creates, updates and deletes go through Microsoft Graph `$batch` (20 per request) at a concurrency that adapts to throttling, paced under the tenant's write quota; " +
			"a refresh costs a few list requests whatever the number of users. Every per-user change shows in the plan. " +
			"A partial failure keeps the users that were written in the state and lists every failure; the next apply retries only those, without duplicates.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "A random identifier of this set of users.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"users": schema.DynamicAttribute{
				Required: true, WriteOnly: true,
				MarkdownDescription: "The users, keyed by user principal name: typically `data.m365_users_csv.x.users` (its `line` is ignored), or a map or object literal. " +
					"An attribute left unset is left alone; `\"\"` clears it. Removing a key releases the user from management (it stays in the tenant, with its licences and mailbox, and the plan warns naming it); " +
					"with `delete_removed_users = true` it deletes the user instead (the plan warns listing every user to be deleted). " +
					"Write-only (Terraform 1.11+): read at every plan and apply, never stored — the state keeps `attributes`, one JSON document per user, and the plan shows each change there. " +
					"Its type is checked by the provider, not by Terraform (so that thousands of users plan in seconds): each user is an object of these attributes, any of them left out:" +
					attrsDoc(usersElemSchemas()),
			},
			"usage_location": schema.StringAttribute{Optional: true, Validators: []validator.String{validators.CountryCode()},
				MarkdownDescription: "Usage location of every user that has none of its own, e.g. `CN`. Licences need one."},
			"account_enabled": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Whether users without their own `account_enabled` can sign in. Defaults to `true`."},
			"licenses": licensesSchema(false, "Licences every user gets. Only these SKUs are managed: licences assigned otherwise are left alone; removing an entry removes that SKU from every user. "+
				"The plan stops when a SKU has fewer free seats than the users that newly take it, when a SKU or plan is not in the tenant, and for users without a usage location."),
			"password_wo": schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true,
				MarkdownDescription: "Password of every new user, write-only (Terraform 1.11+): never stored in the state or the plan. Sent again to **every** user when `password_wo_version` changes. " +
					"Conflicts with `generate_initial_passwords`."},
			"password_wo_version": schema.Int64Attribute{Optional: true,
				MarkdownDescription: "Change it to send `password_wo` again to every user of the resource (a password reset for all of them)."},
			"generate_initial_passwords": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Generate a different 16-character temporary password for each new user, exposed in `initial_passwords`. See the security notice."},
			"initial_passwords": schema.MapAttribute{ElementType: types.StringType, Computed: true, Sensitive: true,
				MarkdownDescription: "User principal name → generated temporary password, only with `generate_initial_passwords = true` (adopted users get `\"\"`: their password was not changed). " +
					"**Stored in the state**, like the admin centre's result mail."},
			"force_change_password_next_sign_in": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Make users choose a new password at their next sign-in. Sent with every password this resource sets. Defaults to `true`."},
			"adopt_existing": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Take over users that already exist with a user name of `users`: their attributes and licences are set as configured, their password is left alone. " +
					"Defaults to `false`: such users stop the plan, listed with what to do."},
			"delete_removed_users": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Delete the users whose keys are removed from `users`. Defaults to `false`: a removed key only releases the user from management " +
					"(it leaves the state and stays in the tenant). With `true` the plan carries a warning listing every user to be deleted and the count; " +
					"a deleted user stays 30 days in the deleted users (restorable), and its mailbox is removed for good 30 days later. " +
					"Destroying the whole resource deletes its users whatever this says (Terraform shows that as a destroy)."},
			"concurrency": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(4),
				MarkdownDescription: "How many `$batch` requests start in flight (1–16, default 4). It adapts: halved on throttling, grown after clean batches.",
				Validators:          []validator.Int64{int64validator.Between(1, 16)}},
			"write_quota": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(entraWriteQuota),
				MarkdownDescription: "The tenant's write quota per `write_window` for this application (Entra ID: 3,000 per 150 s). Writes are paced just under it, so Graph rarely throttles.",
				Validators:          []validator.Int64{int64validator.AtLeast(1)}},
			"write_window": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(entraWriteWindow),
				MarkdownDescription: "The window of `write_quota`, a duration such as `150s`.",
				Validators:          []validator.String{validators.Duration()}},
			"pending_domains": schema.SetAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Domains that the same apply adds and verifies (with `m365_domain_verification`, which this resource must then depend on); the plan-time domain check accepts them.",
				Validators:          []validator.Set{setvalidator.ValueStringsAre(validators.DomainName())}},
			"ids": schema.MapAttribute{ElementType: types.StringType, Computed: true,
				MarkdownDescription: "User principal name → object id. Its keys are known at plan time."},
			"attributes": schema.MapAttribute{ElementType: types.StringType, Computed: true,
				MarkdownDescription: "User principal name → a JSON document of the user as Microsoft Graph has it: every attribute of `users` that is set (in `users` or in Graph), " +
					"`account_enabled`, and, when `licenses` is set, `licenses`: the configured SKUs the user holds with the configured disabled plans. " +
					"A change in `users`, or one made outside Terraform (an attribute edited in the admin centre, a licence removed), shows in the plan as a change of this document, attribute by attribute. " +
					"Read one with `jsondecode(m365_users.x.attributes[\"alice@contoso.com\"]).department`. Its keys are known at plan time."},
			"timeouts": timeoutsAttribute(ctx, usersTimeouts),
		},
	}
}

func (r *usersResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *usersResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m usersResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validatePasswordSettings(m.PasswordWO, m.PasswordWOVersion, m.GenerateInitialPasswords, "generate_initial_passwords", &resp.Diagnostics)
	validateUsersValue(ctx, req.Config, &resp.Diagnostics)
}

func stringMapValue(m map[string]string) types.Map {
	vals := make(map[string]attr.Value, len(m))
	for k, v := range m {
		vals[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, vals)
}

// ModifyPlan completes the per-user values known at plan time (the shared usage location and
// account setting, the default mail nickname, unmanaged attributes kept as they are), keeps the
// ids and passwords of existing users, and runs the checks that read the tenant — unverified
// domains, users that exist but are not managed here, unknown SKUs or plans, missing usage
// locations, and free seats against the users that newly take each SKU. It writes nothing, and
// reads nothing when no user is added and the licences did not change.
func (r *usersResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config usersResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *usersResourceModel
	if !req.State.Raw.IsNull() {
		state = &usersResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	} else {
		markReplacing(ctx, resp.Private)
	}
	configUsers, ok, problems := usersFromRaw(req.Config.Raw)
	if len(problems) > 0 {
		reportUserProblems(problems, &resp.Diagnostics) // also reported by ValidateConfig
		return
	}
	if !ok {
		return // users known only after apply: attributes and ids stay unknown, nothing to check
	}
	stateUsers := map[string]usersElem{}
	stateIDs, stateInitial := map[string]string{}, map[string]string{}
	stateAssigned := map[string][]string{}
	if state != nil {
		stateUsers, stateAssigned = usersFromAttributes(state.Attributes, &resp.Diagnostics)
		stateIDs, stateInitial = stringMap(state.IDs), stringMap(state.InitialPasswords)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	licenses, licKnown := licensesFromSet(ctx, plan.Licenses)
	var licenseKeys []string
	for _, l := range licenses {
		licenseKeys = append(licenseKeys, l.Sku.ValueString())
	}
	planUsers := effectiveUsers(configUsers, stateUsers, plan.UsageLocation, plan.AccountEnabled)
	if state != nil {
		var removed []string
		for k := range stateUsers {
			if _, kept := planUsers[k]; !kept {
				removed = append(removed, k)
			}
		}
		// Unknown until apply: warn as for a delete, the worse of the two.
		warnRemovedUsers(&resp.Diagnostics, removed, plan.DeleteRemovedUsers.ValueBool() || plan.DeleteRemovedUsers.IsUnknown())
	}
	sharedKnown := licKnown && !plan.UsageLocation.IsUnknown() && !plan.AccountEnabled.IsUnknown()
	var newKeys []string
	byLower := map[string]string{}
	idVals := map[string]attr.Value{}
	pwVals := map[string]attr.Value{}
	attrVals := map[string]attr.Value{}
	for k, pu := range planUsers {
		if other, dup := byLower[strings.ToLower(k)]; dup {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users").AtMapKey(k), "Duplicate User",
				"planning the users", fmt.Sprintf("%q and %q differ only in case, and user names are not case-sensitive", other, k), "Keep one of them.")
		}
		byLower[strings.ToLower(k)] = k
		if msg := usercsv.UPNProblem(k); msg != "" {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users").AtMapKey(k), "Invalid User Principal Name",
				"planning the users", msg, "Use alias@domain keys, such as the keys of m365_users_csv.users.")
		}
		cu := configUsers[k]
		if isSet(cu.UserPrincipalName) && cu.UserPrincipalName.ValueString() != k {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users").AtMapKey(k).AtName("user_principal_name"), "User Name Differs From Key",
				"planning the users", fmt.Sprintf("user_principal_name is %q but the key is %q", cu.UserPrincipalName.ValueString(), k),
				"Remove user_principal_name (the key is the user name), or make it the same as the key.")
		}
		_, exists := stateUsers[k]
		if id, ok := stateIDs[k]; ok && exists {
			idVals[k] = types.StringValue(id)
		} else {
			idVals[k] = types.StringUnknown()
			newKeys = append(newKeys, k)
		}
		if plan.GenerateInitialPasswords.ValueBool() {
			if p, ok := stateInitial[k]; ok && exists {
				pwVals[k] = types.StringValue(p)
			} else {
				pwVals[k] = types.StringUnknown()
			}
		}
		if sharedKnown && !cu.hasUnknown() {
			attrVals[k] = types.StringValue(encodeUserAttributes(pu, licenseKeys, !plan.Licenses.IsNull()))
		} else {
			attrVals[k] = types.StringUnknown()
		}
	}
	sort.Strings(newKeys)
	plan.Users = types.DynamicNull() // write-only: never in the plan
	plan.Attributes = types.MapValueMust(types.StringType, attrVals)
	plan.IDs = types.MapValueMust(types.StringType, idVals)
	if plan.GenerateInitialPasswords.ValueBool() {
		plan.InitialPasswords = types.MapValueMust(types.StringType, pwVals)
	} else {
		plan.InitialPasswords = types.MapNull(types.StringType)
	}
	if len(newKeys) > 0 && config.PasswordWO.IsNull() && !plan.GenerateInitialPasswords.ValueBool() {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("password_wo"), "Password Required",
			"planning to create "+plural(len(newKeys), "user"), "Microsoft Graph needs a password to create a user",
			"Set password_wo (write-only, never stored) or generate_initial_passwords = true.")
	}
	if state != nil && !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && config.PasswordWO.IsNull() {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("password_wo_version"), "Password Required",
			"planning to reset the users' passwords", "password_wo_version changed but password_wo is not set", "Set password_wo to the new password.")
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	if resp.Diagnostics.HasError() || r.clients == nil {
		return
	}

	if au := usersAliases(planUsers, stateUsers, stateIDs); len(au) > 0 {
		if licKnown && len(licenses) == 0 {
			var bare []string
			for _, k := range newKeys {
				if len(listStrings(planUsers[k].Aliases)) > 0 {
					bare = append(bare, k)
				}
			}
			warnAliasesWithoutLicence(&resp.Diagnostics, path.Root("licenses"), bare)
		}
		checkAliases(ctx, r.clients, au, setStrings(plan.PendingDomains), &resp.Diagnostics)
	}
	licChanged := state == nil || !plan.Licenses.Equal(state.Licenses)
	if state != nil && licChanged && licKnown {
		warnLicenceLosses(ctx, r.clients, mustLicenses(ctx, state.Licenses), licenses, stateAssigned, planUsers, &resp.Diagnostics)
	}
	usageChanged := false
	for k, pu := range planUsers {
		if su, ok := stateUsers[k]; !ok || !su.UsageLocation.Equal(pu.UsageLocation) {
			usageChanged = true
			break
		}
	}
	if len(newKeys) == 0 && !licChanged && !usageChanged {
		return // nothing new: no read at all
	}
	r.checkTenant(ctx, &plan, state, planUsers, stateAssigned, newKeys, licenses, licKnown, privateStrings(ctx, req.Private, privAttempted), resp)
}

// warnRemovedUsers adds the plan's warning about the users removed from `users`: released from
// management (they stay in the tenant), or, with delete_removed_users, deleted. Every user is
// named, with the count, so that a reviewer sees what a one-line change of a large map does.
func warnRemovedUsers(d *diagList, removed []string, deleting bool) {
	if len(removed) == 0 {
		return
	}
	summary, detail := removedUsersWarning(removed, deleting)
	d.AddAttributeWarning(path.Root("users"), summary, detail)
}

// removedUsersWarning is the summary and detail of warnRemovedUsers.
func removedUsersWarning(removed []string, deleting bool) (string, string) {
	n := len(removed)
	if deleting {
		return fmt.Sprintf("%s WILL BE DELETED", strings.ToUpper(plural(n, "User"))),
			fmt.Sprintf("%s will be DELETED from the tenant: %s.\n\n", plural(n, "user"), listUPNs(removed)) +
				"They were removed from users and delete_removed_users = true. A deleted user stays 30 days in the deleted users (restorable: admin centre, Users > Deleted users) " +
				"and keeps its user name meanwhile; its mailbox goes with it and is removed for good 30 days later. " +
				"To keep them in the tenant, set delete_removed_users = false: removed users are then only released from management."
	}
	return "Users Released From Management",
		fmt.Sprintf("%s will be released from management and stay in the tenant: %s.\n\n", plural(n, "user"), listUPNs(removed)) +
			"They were removed from users: they leave the state of this resource and keep their attributes, licences and mailboxes; nothing is deleted. " +
			"To delete them instead, set delete_removed_users = true. To manage one again, add it back with adopt_existing = true."
}

// skuLoss is a SKU removed from `licenses` and the managed users that hold it.
type skuLoss struct {
	Name  string
	Users []string
}

// licenceLosses lists, per SKU in old and not in new (compared by SKU id through skuID, which
// maps a configured key to its id, or returns the key itself when unknown), the users that stay
// managed and hold it.
func licenceLosses(oldLic, newLic []licenseModel, skuID func(key string) string, stateAssigned map[string][]string, staying map[string]usersElem) []skuLoss {
	kept := map[string]bool{}
	for _, l := range newLic {
		kept[strings.ToLower(skuID(l.Sku.ValueString()))] = true
	}
	var out []skuLoss
	for _, l := range oldLic {
		key := l.Sku.ValueString()
		id := strings.ToLower(skuID(key))
		if kept[id] {
			continue
		}
		loss := skuLoss{Name: key}
		for _, k := range sortedKeys(stateAssigned) {
			if _, ok := staying[k]; !ok {
				continue
			}
			for _, held := range stateAssigned[k] {
				if strings.ToLower(skuID(held)) == id {
					loss.Users = append(loss.Users, k)
					break
				}
			}
		}
		if len(loss.Users) > 0 {
			out = append(out, loss)
		}
	}
	return out
}

// licenceLossWarning is the summary and detail of the warning about SKUs removed from licenses.
func licenceLossWarning(losses []skuLoss) (string, string) {
	var lines []string
	for _, l := range losses {
		verb := "lose"
		if len(l.Users) == 1 {
			verb = "loses"
		}
		lines = append(lines, fmt.Sprintf("  - %s: %s %s it: %s", l.Name, plural(len(l.Users), "user"), verb, listUPNs(l.Users)))
	}
	return "Licences Will Be Removed From Users",
		"These SKUs were removed from licenses, so the apply removes them from every user of this resource that holds them:\n" + strings.Join(lines, "\n") + "\n\n" +
			"A user that loses its last Exchange Online licence loses its mailbox: Exchange keeps the data 30 days, then deletes it. " +
			"To keep the licences, put the SKUs back in licenses."
}

// warnLicenceLosses adds the licence-loss warning, resolving SKU names through the tenant's SKUs
// when they can be read (so that writing a part number as its GUID is no loss).
func warnLicenceLosses(ctx context.Context, clients *Clients, oldLic, newLic []licenseModel, stateAssigned map[string][]string, planUsers map[string]usersElem, d *diagList) {
	if len(oldLic) == 0 {
		return
	}
	skuID := func(key string) string { return key }
	if clients != nil {
		if skus, err := clients.cache().SKUs(ctx, clients.Graph, false); err == nil {
			ix := newSkuIndex(skus)
			skuID = func(key string) string {
				if s, ok := ix.find(key); ok {
					return s.SkuID
				}
				return key
			}
		}
	}
	if losses := licenceLosses(oldLic, newLic, skuID, stateAssigned, planUsers); len(losses) > 0 {
		summary, detail := licenceLossWarning(losses)
		d.AddAttributeWarning(path.Root("licenses"), summary, detail)
	}
}

// effectiveUsers is what the configured users become: the configuration, with the user name from
// the key, the default mail nickname of new users, the resource's usage location and account
// setting for users without their own, and, for attributes left unset, what the state holds (the
// value Graph had at the last refresh). ModifyPlan and apply both use it, so the state an apply
// writes is the plan.
func effectiveUsers(configUsers, stateUsers map[string]usersElem, usage types.String, enabled types.Bool) map[string]usersElem {
	out := make(map[string]usersElem, len(configUsers))
	for k, cu := range configUsers {
		pu := cu
		pr, exists := stateUsers[k]
		var prior *userFields
		if exists {
			prior = &pr.userFields
		}
		keepUnmanaged(&pu.userFields, cu.userFields, prior)
		pu.UserPrincipalName = types.StringValue(k)
		if cu.MailNickname.IsNull() && !exists {
			pu.MailNickname = types.StringValue(upnLocal(k))
		}
		if cu.UsageLocation.IsNull() && !usage.IsNull() {
			pu.UsageLocation = usage
		}
		if cu.AccountEnabled.IsNull() {
			pu.AccountEnabled = enabled
		}
		if cu.Aliases.IsNull() && exists {
			pu.Aliases = pr.Aliases // unmanaged: left alone
		} else if isSet(cu.Aliases) {
			pu.Aliases = stringList(normaliseAliases(listStrings(cu.Aliases))) // [] stays [], not null
		}
		out[k] = pu
	}
	return out
}

// hasUnknown reports a configured user with a value known only after apply.
func (e usersElem) hasUnknown() bool {
	for _, p := range e.strs() {
		if p.IsUnknown() {
			return true
		}
	}
	return e.BusinessPhones.IsUnknown() || e.OtherMails.IsUnknown() || e.AccountEnabled.IsUnknown() || e.Aliases.IsUnknown()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// checkTenant runs the plan-time checks that read the tenant.
func (r *usersResource) checkTenant(ctx context.Context, plan, state *usersResourceModel, planUsers map[string]usersElem, stateAssigned map[string][]string,
	newKeys []string, licenses []licenseModel, licKnown bool, attempted []string, resp *resource.ModifyPlanResponse) {
	g := r.clients.Graph
	tc := r.clients.cache()
	existing := map[string]graph.User{}
	if len(newKeys) > 0 {
		ds, err := tc.Domains(ctx, g)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Check User Domains", "checking that the users' domains are verified (GET /domains)", err, userCheckPermissions, "")
			return
		}
		bad, status, verified := domainCheck(ds, newKeys, setStrings(plan.PendingDomains))
		for _, dom := range sortedKeys(bad) {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users").AtMapKey(bad[dom][0]), "Domain Not Verified",
				"planning to create "+plural(len(bad[dom]), "user")+" on "+dom,
				fmt.Sprintf("the domain %s %s; the tenant's verified domains are: %s. Users on it: %s", dom, status[dom], verified, listUPNs(bad[dom])), domainFix)
		}
		found, err := listExisting(ctx, g, newKeys)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Check Existing Users", "looking for users that already exist (GET /users)", err, userCheckPermissions, "")
			return
		}
		existing = found
		ours := map[string]bool{}
		for _, a := range attempted {
			ours[strings.ToLower(a)] = true
		}
		var foreign []string
		for _, k := range newKeys {
			if _, ok := existing[strings.ToLower(k)]; ok && !ours[strings.ToLower(k)] {
				foreign = append(foreign, k)
			}
		}
		if len(foreign) > 0 && !plan.AdoptExisting.ValueBool() {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users"), "Users Already Exist",
				"planning to create "+plural(len(newKeys), "user"),
				fmt.Sprintf("%s already exist in the tenant and are not managed by this resource: %s", plural(len(foreign), "user"), listUPNs(foreign)),
				"Set adopt_existing = true to take them over (their attributes and licences are set as configured, their passwords left alone), "+
					"remove them from users, or manage each with m365_user and terraform import <address> <user name>. "+
					"If an earlier apply of this resource created them and failed (Terraform then marks it tainted), run terraform untaint on it and apply again.")
		}
	}
	if !licKnown || len(licenses) == 0 {
		return
	}
	var noUsage []string
	for k, pu := range planUsers {
		if pu.UsageLocation.IsNull() || (isSet(pu.UsageLocation) && pu.UsageLocation.ValueString() == "") {
			noUsage = append(noUsage, k)
		}
	}
	if len(noUsage) > 0 {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("usage_location"), "Usage Location Required",
			"planning the licences of "+plural(len(planUsers), "user"),
			fmt.Sprintf("Microsoft Graph assigns licences only to users with a usage location; %s have none: %s", plural(len(noUsage), "user"), listUPNs(noUsage)),
			"Set usage_location on the resource (e.g. \"CN\"), or give these users one (defaults = { usage_location = \"CN\" } in m365_users_csv).")
	}
	skus, err := tc.SKUs(ctx, r.clients.Graph, true)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Check Licences", "reading the tenant's SKUs and free seats (GET /subscribedSkus)", err, skuPermissions, "")
		return
	}
	ix := newSkuIndex(skus)
	want, probs := resolveLicenses(ix, licenses)
	for _, p := range probs {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("licenses"), p.summary, "planning the licences", p.cause, p.fix)
	}
	// The SKU each user already holds, by the state's licence keys (resolved with both the old
	// and the new configuration's spelling).
	keySku := map[string]string{}
	for _, w := range want {
		keySku[w.Key] = w.SkuID
	}
	if state != nil {
		old, _ := resolveLicenses(ix, mustLicenses(ctx, state.Licenses))
		for _, o := range old {
			keySku[o.Key] = o.SkuID
		}
	}
	isNew := map[string]bool{}
	for _, k := range newKeys {
		isNew[k] = true
	}
	for _, w := range want {
		need := 0
		for k := range planUsers {
			if isNew[k] {
				if u, ok := existing[strings.ToLower(k)]; ok && hasSku(u.AssignedLicenses, w.SkuID) {
					continue // adopted with the licence already
				}
				need++
				continue
			}
			held := false
			for _, key := range stateAssigned[k] {
				if keySku[key] == w.SkuID {
					held = true
				}
			}
			if !held {
				need++
			}
		}
		sku, _ := ix.find(w.SkuID)
		if free := sku.Available(); need > free {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("licenses"), "Not Enough Licences", "planning the licences",
				seatShortfall(sku.SkuPartNumber, need, free, "users"),
				"Buy more seats (admin centre: Billing > Your products), free seats by removing licences from other users, or assign another SKU.")
		}
	}
}

func mustLicenses(ctx context.Context, s types.Set) []licenseModel {
	ls, _ := licensesFromSet(ctx, s)
	return ls
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// listExisting finds which of upns exist, with one list per domain (one list of every user when
// they span more than three domains).
func listExisting(ctx context.Context, g *graph.Client, upns []string) (map[string]graph.User, error) {
	doms := map[string]bool{}
	for _, u := range upns {
		doms[upnDomain(u)] = true
	}
	var lists [][]graph.User
	if len(doms) > 3 {
		l, err := g.ListUsers(ctx, "")
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	} else {
		for _, d := range sortedKeys(doms) {
			l, err := g.ListUsers(ctx, d)
			if err != nil {
				return nil, err
			}
			lists = append(lists, l)
		}
	}
	out := map[string]graph.User{}
	for _, l := range lists {
		for _, u := range l {
			out[strings.ToLower(u.UserPrincipalName)] = u
		}
	}
	return out, nil
}

func (r *usersResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config usersResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, usersTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	plan.ID = types.StringValue(hex.EncodeToString(b))
	out, wrote := r.apply(ctx, &plan, &config, req.Config.Raw, nil, resp.Private, &resp.Diagnostics)
	if !wrote {
		return // nothing exists: no state
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, out)...)
}

func (r *usersResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state usersResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, usersTimeouts.Update)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plan.ID = state.ID
	out, _ := r.apply(ctx, &plan, &config, req.Config.Raw, &state, resp.Private, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, out)...)
}

// opKind says what a bulk op does for a user.
type opKind int

const (
	opCreate opKind = iota
	opAdopt
	opUpdate
	opDelete
)

func (k opKind) String() string {
	return [...]string{"create", "adopt", "update", "delete"}[k]
}

// pendingOp ties a bulk op to what the state becomes when it succeeds.
type pendingOp struct {
	kind     opKind
	key      string
	password string // generated password of a new user
	pwReset  bool
}

// apply brings the tenant from state (nil: nothing yet) to plan through graph.Bulk and returns the
// state to save: every success applied, every failure left as it was. wrote is false when
// nothing was written at all.
func (r *usersResource) apply(ctx context.Context, plan, config *usersResourceModel, configRaw tftypes.Value, state *usersResourceModel, private privateData, d *diagList) (*usersResourceModel, bool) {
	g := r.clients.Graph
	configUsers, _, problems := usersFromRaw(configRaw)
	if len(problems) > 0 {
		reportUserProblems(problems, d)
		return state, false
	}
	stateUsers := map[string]usersElem{}
	ids, initial := map[string]string{}, map[string]string{}
	assigned := map[string][]string{}
	out := *plan
	if state != nil {
		stateUsers, assigned = usersFromAttributes(state.Attributes, d)
		ids, initial = stringMap(state.IDs), stringMap(state.InitialPasswords)
		if ids == nil {
			ids = map[string]string{}
		}
		if initial == nil {
			initial = map[string]string{}
		}
	}
	if d.HasError() {
		return state, false
	}
	planUsers := effectiveUsers(configUsers, stateUsers, plan.UsageLocation, plan.AccountEnabled)
	priorAssigned := map[string][]string{}
	for k, v := range assigned {
		priorAssigned[k] = v
	}
	attempt := fmt.Sprintf("applying m365_users (%s in the configuration)", plural(len(planUsers), "user"))

	// Licences in Graph's terms, new and old.
	var want, old []resolvedLicense
	newLicenses := mustLicenses(ctx, plan.Licenses)
	oldLicenses := []licenseModel(nil)
	if state != nil {
		oldLicenses = mustLicenses(ctx, state.Licenses)
	}
	var ix skuIndex
	if len(newLicenses) > 0 || len(oldLicenses) > 0 {
		skus, err := r.clients.cache().SKUs(ctx, g, true)
		if err != nil {
			diagtext.APIError(d, "Cannot Read SKUs", attempt+" (GET /subscribedSkus)", err, skuPermissions, "")
			return state, false
		}
		ix = newSkuIndex(skus)
		var probs []licenseProblem
		want, probs = resolveLicenses(ix, newLicenses)
		for _, p := range probs {
			diagtext.AttributeError(d, path.Root("licenses"), p.summary, attempt, p.cause, p.fix)
		}
		if len(probs) > 0 {
			return state, false
		}
		old, _ = resolveLicenses(ix, oldLicenses)
	}
	wantBySku := map[string]resolvedLicense{}
	var wantKeys []string
	for _, w := range want {
		wantBySku[w.SkuID] = w
		wantKeys = append(wantKeys, w.Key)
	}
	oldByKey := map[string]resolvedLicense{}
	changedSku := map[string]bool{} // SKUs whose disabled plans changed
	for _, o := range old {
		oldByKey[o.Key] = o
		if w, ok := wantBySku[o.SkuID]; ok && !sameSortedStrings(w.Disabled, o.Disabled) {
			changedSku[o.SkuID] = true
		}
	}

	// Which users are created, adopted, updated, deleted.
	var creates, deletes, updates []string
	for k := range planUsers {
		if _, ok := stateUsers[k]; ok && ids[k] != "" {
			updates = append(updates, k)
		} else {
			creates = append(creates, k)
		}
	}
	for k := range stateUsers {
		if _, ok := planUsers[k]; !ok {
			deletes = append(deletes, k)
		}
	}
	sort.Strings(creates)
	sort.Strings(updates)
	sort.Strings(deletes)
	existing := map[string]graph.User{}
	if len(creates) > 0 {
		found, err := listExisting(ctx, g, creates)
		if err != nil {
			diagtext.APIError(d, "Cannot Check Existing Users", attempt+": looking for users that already exist (GET /users)", err, userCheckPermissions, "")
			return state, false
		}
		existing = found
	}
	attemptedBefore := map[string]bool{}
	for _, a := range privateStrings(ctx, private, privAttempted) {
		attemptedBefore[strings.ToLower(a)] = true
	}

	password := config.PasswordWO.ValueString()
	pwReset := state != nil && !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && !config.PasswordWO.IsNull()
	force := plan.ForceChangePassword.ValueBool()
	var ops []graph.BulkOp
	var pend []pendingOp
	var failures []string
	seen := map[graph.Problem]bool{}
	fail := func(k string, kind opKind, msg string) {
		failures = append(failures, fmt.Sprintf("  - %s (%s): %s", k, kind, msg))
	}
	for _, k := range creates {
		pu := planUsers[k]
		gu := pu.toGraphUser()
		gu.AccountEnabled = pu.AccountEnabled.ValueBool()
		if ex, ok := existing[strings.ToLower(k)]; ok {
			if !plan.AdoptExisting.ValueBool() && !attemptedBefore[strings.ToLower(k)] {
				fail(k, opCreate, "a user with this name already exists and is not managed by this resource; set adopt_existing = true to take it over")
				continue
			}
			cur := fieldsFromGraph(nullUserFields(), &ex)
			ch := pu.changesTo(cur)
			if pu.AccountEnabled.ValueBool() != ex.AccountEnabled {
				v := pu.AccountEnabled.ValueBool()
				ch.AccountEnabled = &v
			}
			op := graph.BulkOp{Key: k, UpdateID: ex.ID, Update: &ch}
			for _, w := range want {
				if !hasLicense(ex.AssignedLicenses, w) {
					op.AssignAdd = append(op.AssignAdd, w.assigned())
				}
			}
			ids[k] = ex.ID
			ops = append(ops, op)
			pend = append(pend, pendingOp{kind: opAdopt, key: k})
			continue
		}
		pw := password
		if plan.GenerateInitialPasswords.ValueBool() {
			p, err := generatePassword()
			if err != nil {
				diagtext.Error(d, "Cannot Generate Password", attempt, err.Error(), "Apply again.")
				return state, false
			}
			pw = p
		}
		nu := graph.NewUser{User: gu, Password: pw, ForceChangePasswordNextSignIn: force}
		ops = append(ops, graph.BulkOp{Key: k, Create: &nu, AssignAdd: assignedOf(want)})
		pend = append(pend, pendingOp{kind: opCreate, key: k, password: pw})
	}
	for _, k := range updates {
		pu, su := planUsers[k], stateUsers[k]
		ch := pu.changesTo(su.userFields)
		if isSet(pu.AccountEnabled) && !pu.AccountEnabled.Equal(su.AccountEnabled) {
			v := pu.AccountEnabled.ValueBool()
			ch.AccountEnabled = &v
		}
		if pwReset {
			p := password
			ch.Password, ch.ForceChangePasswordNextSignIn = &p, &force
		}
		op := graph.BulkOp{Key: k, UpdateID: ids[k]}
		if !ch.IsEmpty() {
			op.Update = &ch
		}
		heldSku := map[string]bool{}
		for _, key := range assigned[k] {
			if o, ok := oldByKey[key]; ok {
				heldSku[o.SkuID] = true
			}
			if w, ok := findWantByKey(want, key); ok {
				heldSku[w.SkuID] = true
			}
		}
		for _, w := range want {
			if !heldSku[w.SkuID] || changedSku[w.SkuID] {
				op.AssignAdd = append(op.AssignAdd, w.assigned())
			}
		}
		for _, o := range old {
			if _, keep := wantBySku[o.SkuID]; !keep && heldSku[o.SkuID] {
				op.AssignRemove = append(op.AssignRemove, o.SkuID)
			}
		}
		if op.Update == nil && len(op.AssignAdd) == 0 && len(op.AssignRemove) == 0 {
			continue
		}
		ops = append(ops, op)
		pend = append(pend, pendingOp{kind: opUpdate, key: k, pwReset: pwReset})
	}
	// Removed users are released (they leave the state, nothing is sent) unless the
	// configuration opts in to deleting them; the plan warned either way.
	var released []string
	for _, k := range deletes {
		if ids[k] == "" {
			continue
		}
		if !plan.DeleteRemovedUsers.ValueBool() {
			released = append(released, k)
			continue
		}
		ops = append(ops, graph.BulkOp{Key: k, Delete: ids[k]})
		pend = append(pend, pendingOp{kind: opDelete, key: k})
	}
	if len(released) > 0 {
		tflog.Info(ctx, "m365_users released users from management; they stay in the tenant", map[string]any{"users": released, "count": len(released)})
	}

	// Start from the state and apply each success.
	newUsers := map[string]usersElem{}
	for k, v := range stateUsers {
		newUsers[k] = v
	}
	for _, k := range deletes {
		if ids[k] == "" || containsString(released, k) {
			delete(newUsers, k)
			delete(initial, k)
		}
	}
	for _, k := range updates {
		// Updates with nothing to write take the plan as is.
		newUsers[k] = planUsers[k]
		assigned[k] = wantKeys
	}
	var attemptedNow []string
	wrote := len(updates) > 0 || state != nil
	if len(ops) > 0 {
		quota, window := int(plan.WriteQuota.ValueInt64()), entraWindow(plan.WriteWindow)
		started := time.Now()
		total := len(ops)
		results, stats := g.Bulk(ctx, ops, graph.BulkOptions{
			Concurrency: int(plan.Concurrency.ValueInt64()),
			WriteQuota:  quota, WriteWindow: window,
			OnProgress: func(done, total int) {
				if done == total || done%max(1, total/10) == 0 {
					tflog.Info(ctx, "m365_users progress", map[string]any{"done": done, "total": total})
				}
			},
		})
		tflog.Info(ctx, "m365_users applied", map[string]any{"operations": total, "batch_requests": stats.Requests, "sub_requests": stats.SubRequests,
			"throttled": stats.Throttled, "retried": stats.Retried, "max_concurrency": stats.MaxConcurrency, "seconds": time.Since(started).Seconds()})
		r.clients.cache().forgetSKUs()
		for i, res := range results {
			p := pend[i]
			k := p.key
			switch p.kind {
			case opCreate:
				if res.User != nil {
					wrote = true
					newUsers[k] = planUsers[k]
					ids[k] = res.User.ID
					assigned[k] = nil
					if res.Err == nil {
						assigned[k] = wantKeys
					}
					if plan.GenerateInitialPasswords.ValueBool() {
						initial[k] = p.password
					}
				} else if res.Err != nil {
					attemptedNow = append(attemptedNow, k)
				}
			case opAdopt:
				if res.Err == nil {
					wrote = true
					newUsers[k] = planUsers[k]
					assigned[k] = wantKeys
					if plan.GenerateInitialPasswords.ValueBool() {
						initial[k] = ""
					}
				} else {
					delete(ids, k)
					attemptedNow = append(attemptedNow, k)
				}
			case opUpdate:
				if res.Err != nil {
					newUsers[k] = stateUsers[k]
					assigned[k] = priorAssigned[k]
				}
			case opDelete:
				if res.Err == nil || graph.IsNotFound(res.Err) {
					delete(newUsers, k)
					res.Err = nil
				}
			}
			if res.Err != nil {
				fail(k, p.kind, graphMessage(res.Err))
				seen[graph.ProblemOf(res.Err)] = true
			}
		}
	}
	// Aliases, through Exchange, for the users now in the state whose aliases change.
	var writes []aliasWrite
	for _, k := range sortedKeys(newUsers) {
		pu, planned := planUsers[k]
		if !planned || !isSet(pu.Aliases) || ids[k] == "" {
			continue
		}
		var have []string
		if su, ok := stateUsers[k]; ok && isSet(su.Aliases) {
			have = listStrings(su.Aliases)
		}
		add, remove := aliasDiff(listStrings(pu.Aliases), have)
		if len(add)+len(remove) == 0 {
			continue
		}
		writes = append(writes, aliasWrite{upn: k, add: add, remove: remove})
	}
	written := writeAliases(ctx, r.clients.Exchange, writes, d)
	for _, w := range writes {
		if !written[strings.ToLower(w.upn)] {
			// Not written: the state keeps what the mailbox had, so the next plan retries.
			e := newUsers[w.upn]
			e.Aliases = types.ListNull(types.StringType)
			if su, ok := stateUsers[w.upn]; ok {
				e.Aliases = su.Aliases
			}
			newUsers[w.upn] = e
		}
	}
	// Keep only the users in the new state in the per-user maps.
	for k := range ids {
		if _, ok := newUsers[k]; !ok {
			delete(ids, k)
		}
	}
	out.Users = types.DynamicNull()
	out.Attributes = attributesValue(newUsers, assigned, !plan.Licenses.IsNull())
	out.IDs = stringMapValue(ids)
	if plan.GenerateInitialPasswords.ValueBool() {
		pw := map[string]string{}
		for k := range newUsers {
			if v, ok := initial[k]; ok {
				pw[k] = v
			} else {
				pw[k] = ""
			}
		}
		out.InitialPasswords = stringMapValue(pw)
	} else {
		out.InitialPasswords = types.MapNull(types.StringType)
	}
	if len(failures) > 0 {
		for _, p := range pend {
			if p.pwReset {
				// Some resets may have failed: keep the old version so the next apply resends.
				out.PasswordWOVersion = state.PasswordWOVersion
				break
			}
		}
	}
	// Users whose create failed earlier and that are still not in the state stay "ours".
	still := attemptedNow
	for k := range planUsers {
		if _, in := newUsers[k]; !in && attemptedBefore[strings.ToLower(k)] && !containsString(attemptedNow, k) {
			still = append(still, k)
		}
	}
	setPrivateStrings(ctx, private, privAttempted, still)
	wrote = wrote || len(failures) == 0
	if len(failures) > 0 {
		sort.Strings(failures)
		next := "The users that were written are in the state. Fix the causes above and apply again: only the failed users are retried, and a user Graph created before failing is taken over, not duplicated."
		if seen[graph.ProblemNameTaken] {
			next += " \"Already exists\" for a user name that is not in the tenant's user list means a deleted user still holds it (Graph keeps deleted users 30 days): " +
				"restore it (admin centre: Users > Deleted users) and set adopt_existing = true, or delete it permanently."
		}
		if seen[graph.ProblemPrivileges] {
			next += " \"Insufficient privileges\" means the application lacks User.ReadWrite.All and LicenseAssignment.ReadWrite.All (or Directory.ReadWrite.All) with admin consent, " +
				"or, for password resets, the User Administrator Entra role on its service principal."
		}
		diagtext.Error(d, "Some Users Were Not Written", attempt,
			fmt.Sprintf("%s of %d failed:\n%s", plural(len(failures), "operation"), len(ops), strings.Join(failures, "\n")), next)
	}
	return &out, wrote
}

func findWantByKey(want []resolvedLicense, key string) (resolvedLicense, bool) {
	for _, w := range want {
		if w.Key == key {
			return w, true
		}
	}
	return resolvedLicense{}, false
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func entraWindow(s types.String) time.Duration {
	d, err := time.ParseDuration(s.ValueString())
	if err != nil || d <= 0 {
		d, _ = time.ParseDuration(entraWriteWindow)
	}
	return d
}

// Read refreshes every user with one paged list per domain, plus one SKU read when licences are
// managed. The per-domain list is an advanced query (endsWith), served by an eventually consistent
// index that misses users created seconds ago (https://learn.microsoft.com/graph/aad-advanced-queries):
// users of the state that it does not return are read directly by id, many per $batch request,
// and leave the state only on evidence that they are gone (graph.ReadUsersByID), each named in a
// warning.
func (r *usersResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m usersResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, usersTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	g := r.clients.Graph
	users, _ := usersFromAttributes(m.Attributes, &resp.Diagnostics)
	ids := stringMap(m.IDs)
	if resp.Diagnostics.HasError() || len(users) == 0 {
		return
	}
	keys := sortedKeys(users)
	found, err := listExisting(ctx, g, keys)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Users", "refreshing "+plural(len(users), "user")+" (GET /users)", err, userCheckPermissions, "")
		return
	}
	byID := map[string]graph.User{}
	for _, u := range found {
		byID[strings.ToLower(u.ID)] = u
	}
	var licenses []resolvedLicense
	if ls := mustLicenses(ctx, m.Licenses); len(ls) > 0 {
		skus, err := r.clients.cache().SKUs(ctx, g, false)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read SKUs", "refreshing the users' licences (GET /subscribedSkus)", err, skuPermissions, "")
			return
		}
		licenses, _ = resolveLicenses(newSkuIndex(skus), ls)
	}
	assigned := map[string][]string{}
	initial := stringMap(m.InitialPasswords)
	listed := map[string]graph.User{}
	var missing []string // ids (or UPNs) of the users the list did not return
	for _, k := range keys {
		gu, ok := byID[strings.ToLower(ids[k])]
		if !ok {
			gu, ok = found[strings.ToLower(k)]
		}
		if ok {
			listed[k] = gu
		} else {
			missing = append(missing, firstNonEmpty(ids[k], k))
		}
	}
	if len(missing) > 0 {
		// Not in the list: not indexed yet, renamed to another domain, or deleted. Read them by id.
		tflog.Info(ctx, "users missing from the list; reading them by id", map[string]any{"missing": len(missing), "of": len(keys)})
		direct, gone, err := g.ReadUsersByID(ctx, missing)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read Users", fmt.Sprintf("refreshing %s that the user list did not return, by id (GET /users/{id} in $batch)", plural(len(missing), "user")), err, userCheckPermissions,
				"The state is unchanged. Apply or plan again; if it persists, raise timeouts.read.")
			return
		}
		goneByID := map[string]graph.GoneUser{}
		for _, gu := range gone {
			goneByID[gu.ID] = gu
		}
		var dropped []string
		for _, k := range keys {
			if _, ok := listed[k]; ok {
				continue
			}
			id := firstNonEmpty(ids[k], k)
			if gu, ok := direct[id]; ok {
				listed[k] = gu
				continue
			}
			if ev, ok := goneByID[id]; ok {
				tflog.Info(ctx, "user is gone from the tenant; removing it from state", map[string]any{"user_principal_name": k, "id": id, "evidence": ev.Evidence()})
				dropped = append(dropped, fmt.Sprintf("  - %s: %s", k, ev.Evidence()))
				delete(users, k)
				delete(ids, k)
				delete(initial, k)
			}
		}
		if len(dropped) > 0 {
			resp.Diagnostics.AddWarning("Users No Longer In The Tenant",
				fmt.Sprintf("%s of this resource were deleted outside Terraform and leave its state:\n%s\n\n", plural(len(dropped), "user"), strings.Join(dropped, "\n"))+
					"The next apply creates them again if they are still in users. A user in the deleted users keeps its user name for 30 days: restore it instead "+
					"(admin centre: Users > Deleted users) and set adopt_existing = true, or remove it from users.")
		}
	}
	for _, k := range keys {
		gu, ok := listed[k]
		if !ok {
			continue
		}
		e := users[k]
		e.userFields = fieldsFromGraph(e.userFields, &gu)
		e.AccountEnabled = types.BoolValue(gu.AccountEnabled)
		users[k] = e
		ids[k] = gu.ID
		var have []string
		for _, l := range licenses {
			if hasLicense(gu.AssignedLicenses, l) {
				have = append(have, l.Key)
			}
		}
		assigned[k] = have
	}
	// Aliases: one listing of the mailboxes, only when some user has aliases managed.
	prior := map[string][]string{}
	for k, e := range users {
		if isSet(e.Aliases) {
			prior[strings.ToLower(k)] = listStrings(e.Aliases)
		}
	}
	if len(prior) > 0 {
		read, err := readAliases(ctx, r.clients.Exchange, prior)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read Aliases", fmt.Sprintf("refreshing the email aliases of %s (Get-Mailbox)", plural(len(prior), "user")), err, aliasPermissions,
				"The state is unchanged. Plan again; if it persists, raise timeouts.read.")
			return
		}
		for k, e := range users {
			if v, ok := read[strings.ToLower(k)]; ok && isSet(e.Aliases) {
				e.Aliases = aliasesList(v)
				users[k] = e
			}
		}
	}
	m.Users = types.DynamicNull()
	m.Attributes = attributesValue(users, assigned, !m.Licenses.IsNull())
	m.IDs = stringMapValue(ids)
	if !m.InitialPasswords.IsNull() {
		m.InitialPasswords = stringMapValue(initial)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *usersResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m usersResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if isReplacing(ctx, req.Private) {
		// The Delete half of a replacement (a tainted resource, or -replace): deleting the users
		// and creating them again would fail (deleted users keep their names for 30 days), so
		// they are kept and the new object takes them over (adopt_existing).
		tflog.Warn(ctx, "m365_users is being replaced: its users are kept for the new object to adopt")
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, usersTimeouts.Delete)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	users, assigned := usersFromAttributes(m.Attributes, &resp.Diagnostics)
	ids := stringMap(m.IDs)
	var ops []graph.BulkOp
	for _, k := range sortedKeys(users) {
		if id := ids[k]; id != "" {
			ops = append(ops, graph.BulkOp{Key: k, Delete: id})
		}
	}
	if len(ops) == 0 {
		return
	}
	results, stats := r.clients.Graph.Bulk(ctx, ops, graph.BulkOptions{
		Concurrency: int(m.Concurrency.ValueInt64()), WriteQuota: int(m.WriteQuota.ValueInt64()), WriteWindow: entraWindow(m.WriteWindow),
	})
	tflog.Info(ctx, "m365_users deleted", map[string]any{"operations": len(ops), "batch_requests": stats.Requests, "throttled": stats.Throttled})
	r.clients.cache().forgetSKUs()
	var failures []string
	remaining := map[string]usersElem{}
	for _, res := range results {
		if res.Err != nil && !graph.IsNotFound(res.Err) {
			failures = append(failures, fmt.Sprintf("  - %s: %s", res.Key, graphMessage(res.Err)))
			remaining[res.Key] = users[res.Key]
		}
	}
	if len(failures) == 0 {
		return
	}
	m.Attributes = attributesValue(remaining, assigned, !m.Licenses.IsNull())
	rids := map[string]string{}
	for k := range remaining {
		rids[k] = ids[k]
	}
	m.IDs = stringMapValue(rids)
	if !m.InitialPasswords.IsNull() {
		ip := stringMap(m.InitialPasswords)
		kept := map[string]string{}
		for k := range remaining {
			kept[k] = ip[k]
		}
		m.InitialPasswords = stringMapValue(kept)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	sort.Strings(failures)
	diagtext.Error(&resp.Diagnostics, "Some Users Were Not Deleted", fmt.Sprintf("deleting %s", plural(len(ops), "user")),
		fmt.Sprintf("%d failed:\n%s", len(failures), strings.Join(failures, "\n")),
		"The users that were deleted are out of the state; destroy again to retry the others.")
}
