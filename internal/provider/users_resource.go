package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
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

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
	us, assigned := usersFromAttributes(m.Attributes, &resp.Diagnostics)
	ids := stringMap(m.IDs)
	var ops []graph.BulkOp
	for _, k := range sortedKeys(us) {
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
	remaining := map[string]users.User{}
	for _, res := range results {
		if res.Err != nil && !graph.IsNotFound(res.Err) {
			failures = append(failures, fmt.Sprintf("  - %s: %s", res.Key, graphMessage(res.Err)))
			remaining[res.Key] = us[res.Key]
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
