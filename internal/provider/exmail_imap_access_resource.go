package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/exmail"
)

var (
	_ resource.ResourceWithConfigure  = (*exmailIMAPAccessResource)(nil)
	_ resource.ResourceWithModifyPlan = (*exmailIMAPAccessResource)(nil)
)

// NewExmailIMAPAccessResource is the m365_exmail_imap_access resource.
func NewExmailIMAPAccessResource() resource.Resource { return &exmailIMAPAccessResource{} }

type exmailIMAPAccessResource struct{ clients *Clients }

type exmailIMAPAccessModel struct {
	ID               types.String `tfsdk:"id"`
	Mailboxes        types.Map    `tfsdk:"mailboxes"`
	RestoreOnDestroy types.Bool   `tfsdk:"restore_on_destroy"`
	Restore          types.Bool   `tfsdk:"restore"`
	Previous         types.Map    `tfsdk:"previous"`
	ReadyMailboxes   types.Map    `tfsdk:"ready_mailboxes"`
}

func (r *exmailIMAPAccessResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_exmail_imap_access"
}

func (r *exmailIMAPAccessResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Switches IMAP/SMTP on (Tencent Exmail 功能设置, `useroption` type 2) for the members being moved, so that Microsoft's " +
			"IMAP migration can read their mailboxes, and puts each member's previous setting back when destroyed. At plan time every member " +
			"must exist and be enabled.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "A hash of the Exmail addresses."},
			"mailboxes": schema.MapAttribute{Required: true, ElementType: types.StringType,
				MarkdownDescription: "Microsoft 365 user name → Exmail address of the members to open for IMAP; `data.m365_exmail_directory.x.mailbox_map` fits as is."},
			"restore_on_destroy": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Switch IMAP off again, on destroy or when a member leaves `mailboxes`, for the members whose IMAP was off before. Default `true`."},
			"restore": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "`true` once the move is over (after the cutover and the final sync): puts each member's previous IMAP setting back " +
					"in place, keeping this resource — and what depends on it, such as the migration batch — in the state. Destroying the resource does the " +
					"same, but `terraform destroy -target` would also destroy the batch that depends on it. Default `false`."},
			"previous": schema.MapAttribute{Computed: true, ElementType: types.BoolType,
				MarkdownDescription: "Exmail address → whether IMAP was on before this resource switched it on."},
			"ready_mailboxes": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "`mailboxes`, known once IMAP is on for all of them: give it to `m365_migration_batch.exmail_members` so the batch waits for this resource."},
		},
	}
}

func (r *exmailIMAPAccessResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func stringMapValues(m types.Map) map[string]string { return stringMap(m) }

func exmailAddresses(m types.Map) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range stringMapValues(m) {
		k := strings.ToLower(strings.TrimSpace(v))
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return sortStrings(out)
}

// ModifyPlan checks that every member exists and is enabled (IMAP off is what this resource fixes).
func (r *exmailIMAPAccessResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state exmailIMAPAccessModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() || plan.Mailboxes.IsUnknown() {
		return
	}
	if req.State.Raw.IsNull() || !plan.Mailboxes.Equal(state.Mailboxes) {
		plan.ReadyMailboxes = types.MapUnknown(types.StringType)
		plan.Previous = types.MapUnknown(types.BoolType)
		plan.ID = types.StringUnknown()
	} else {
		plan.ReadyMailboxes, plan.Previous, plan.ID = state.ReadyMailboxes, state.Previous, state.ID
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	if r.clients == nil {
		return
	}
	addrs := exmailAddresses(plan.Mailboxes)
	if !req.State.Raw.IsNull() {
		addrs = exchange.Difference(addrs, exmailAddresses(state.Mailboxes))
	}
	if len(addrs) == 0 {
		return
	}
	what := fmt.Sprintf("checking the %d Exmail members whose IMAP is to be switched on", len(addrs))
	c := r.clients.exmailClient(&resp.Diagnostics, what, exmail.Contacts, exmail.Options)
	if c == nil {
		return
	}
	res, err := checkExmailMembers(ctx, r.clients, c, addrs, true)
	if err != nil {
		exmailAPIError(&resp.Diagnostics, "Cannot Check Exmail Members", what, err)
		return
	}
	var problems []string
	for _, a := range addrs {
		st := res.States[a]
		switch {
		case !st.Found:
			cause := "no such member"
			if st.lookupError != nil {
				cause = st.lookupError.Error()
			}
			problems = append(problems, fmt.Sprintf("  - %s is not a member of the Exmail tenant (%s) — check the address (the primary address, not an alias), or remove it", a, cause))
		case !st.Member.Enabled:
			problems = append(problems, fmt.Sprintf("  - %s is disabled — enable the member in the Exmail admin console (通讯录 → the member → 启用), or remove it", a))
		}
	}
	if len(problems) == 0 {
		for _, a := range addrs {
			r.clients.planIMAP(c.CorpID(), a)
		}
		return
	}
	{
		resp.Diagnostics.AddAttributeError(path.Root("mailboxes"), "Exmail Members Not Found",
			diagtext.Detail(what, fmt.Sprintf("%d of %d members cannot be opened for IMAP:\n%s", len(problems), len(addrs), strings.Join(problems, "\n")),
				"Fix mailboxes (or the address book), then plan again. Nothing was changed."))
	}
}

// open switches IMAP on for addrs, recording each previous value in prev; it stops at the first
// failure (the members done so far stay in prev).
func (r *exmailIMAPAccessResource) open(ctx context.Context, c *exmail.Client, addrs []string, prev map[string]bool, d *diagList) {
	switched := 0
	for _, a := range addrs {
		opts, err := c.UserOptions(ctx, a, exmail.OptionIMAP)
		if err != nil {
			exmailAPIError(d, "Cannot Read Exmail IMAP Setting", "reading the IMAP/SMTP setting of "+a+" (useroption/get)", err)
			return
		}
		was := opts[exmail.OptionIMAP]
		if !was {
			if err := c.SetIMAP(ctx, a, true); err != nil {
				exmailAPIError(d, "Cannot Switch Exmail IMAP On", "switching IMAP/SMTP on for "+a+" (useroption/update)", err)
				return
			}
			switched++
		}
		if _, known := prev[a]; !known {
			prev[a] = was
		}
	}
	tflog.Info(ctx, "Exmail IMAP access", map[string]any{"members": len(addrs), "switched_on": switched})
}

// restore switches IMAP off again for the members of addrs whose previous value was off.
func (r *exmailIMAPAccessResource) restore(ctx context.Context, c *exmail.Client, addrs []string, prev map[string]bool, d *diagList) {
	for _, a := range addrs {
		if was, ok := prev[a]; ok && !was {
			if err := c.SetIMAP(ctx, a, false); err != nil && !exmail.IsNotFound(err) {
				exmailAPIError(d, "Cannot Restore Exmail IMAP Setting", "switching IMAP/SMTP off again for "+a+" (useroption/update)", err)
				return
			}
		}
		delete(prev, a)
	}
}

func (r *exmailIMAPAccessResource) save(ctx context.Context, m *exmailIMAPAccessModel, prev map[string]bool, done bool, st interface {
	Set(context.Context, any) diagList
}, d *diagList) {
	vals := map[string]attr.Value{}
	for k, v := range prev {
		vals[k] = types.BoolValue(v)
	}
	m.Previous = types.MapValueMust(types.BoolType, vals)
	sum := sha256.Sum256([]byte(strings.Join(exmailAddresses(m.Mailboxes), "\n")))
	m.ID = types.StringValue(hex.EncodeToString(sum[:8]))
	if done {
		m.ReadyMailboxes = m.Mailboxes
	} else {
		m.ReadyMailboxes = types.MapNull(types.StringType)
	}
	d.Append(st.Set(ctx, m)...)
}

func prevMap(m types.Map) map[string]bool {
	out := map[string]bool{}
	if m.IsNull() || m.IsUnknown() {
		return out
	}
	for k, v := range m.Elements() {
		if b, ok := v.(types.Bool); ok {
			out[k] = b.ValueBool()
		}
	}
	return out
}

func (r *exmailIMAPAccessResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan exmailIMAPAccessModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.clients.exmailClient(&resp.Diagnostics, "switching IMAP on for Exmail members", exmail.Contacts, exmail.Options)
	if c == nil {
		return
	}
	prev := map[string]bool{}
	if !plan.Restore.ValueBool() {
		r.open(ctx, c, exmailAddresses(plan.Mailboxes), prev, &resp.Diagnostics)
	}
	r.save(ctx, &plan, prev, !resp.Diagnostics.HasError(), &resp.State, &resp.Diagnostics)
}

func (r *exmailIMAPAccessResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	// The previous settings live only here; the current ones are checked by the migration
	// batch's plan (a member who switched IMAP off again is named there).
	var m exmailIMAPAccessModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *exmailIMAPAccessResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state exmailIMAPAccessModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.clients.exmailClient(&resp.Diagnostics, "changing the Exmail members open for IMAP", exmail.Contacts, exmail.Options)
	if c == nil {
		return
	}
	prev := prevMap(state.Previous)
	want, had := exmailAddresses(plan.Mailboxes), exmailAddresses(state.Mailboxes)
	if plan.Restore.ValueBool() {
		// The move is over: every member's previous setting back, the resource kept with the
		// record of the previous settings (restore = false opens IMAP again).
		work := maps.Clone(prev)
		r.restore(ctx, c, sortedKeys(work), work, &resp.Diagnostics)
		r.save(ctx, &plan, prev, !resp.Diagnostics.HasError(), &resp.State, &resp.Diagnostics)
		return
	}
	r.open(ctx, c, want, prev, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		removed := exchange.Difference(had, want)
		if plan.RestoreOnDestroy.ValueBool() {
			r.restore(ctx, c, removed, prev, &resp.Diagnostics)
		} else {
			for _, a := range removed {
				delete(prev, a)
			}
		}
	}
	r.save(ctx, &plan, prev, !resp.Diagnostics.HasError(), &resp.State, &resp.Diagnostics)
}

func (r *exmailIMAPAccessResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state exmailIMAPAccessModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !state.RestoreOnDestroy.ValueBool() {
		return
	}
	c := r.clients.exmailClient(&resp.Diagnostics, "restoring the Exmail members' IMAP settings", exmail.Contacts, exmail.Options)
	if c == nil {
		return
	}
	prev := prevMap(state.Previous)
	r.restore(ctx, c, sortedKeys(prev), prev, &resp.Diagnostics)
}
