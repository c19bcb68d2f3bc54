package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/imapcheck"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var (
	_ resource.ResourceWithConfigure        = (*migrationBatchResource)(nil)
	_ resource.ResourceWithImportState      = (*migrationBatchResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*migrationBatchResource)(nil)
	_ resource.ResourceWithConfigValidators = (*migrationBatchResource)(nil)
	_ resource.ResourceWithValidateConfig   = (*migrationBatchResource)(nil)
)

// NewMigrationBatchResource is the m365_migration_batch resource.
func NewMigrationBatchResource() resource.Resource { return &migrationBatchResource{} }

type migrationBatchResource struct{ clients *Clients }

// Values of wait_for.
const (
	waitForNone   = "none"
	waitForSynced = "synced"
)

type migrationBatchModel struct {
	ID                   types.String   `tfsdk:"id"`
	Name                 types.String   `tfsdk:"name"`
	SourceEndpoint       types.String   `tfsdk:"source_endpoint"`
	CSVWO                types.String   `tfsdk:"csv_wo"`
	CSVWOVersion         types.Int64    `tfsdk:"csv_wo_version"`
	CSVFile              types.String   `tfsdk:"csv_file"`
	CSVEncoding          types.String   `tfsdk:"csv_encoding"`
	ExcludeFolders       types.List     `tfsdk:"exclude_folders"`
	IncludeFolders       types.List     `tfsdk:"include_folders"`
	NotificationEmails   types.Set      `tfsdk:"notification_emails"`
	StartAfter           types.String   `tfsdk:"start_after"`
	AutoStart            types.Bool     `tfsdk:"auto_start"`
	TimeZone             types.String   `tfsdk:"time_zone"`
	SkipPreflight        types.Bool     `tfsdk:"skip_preflight"`
	PreflightConcurrency types.Int64    `tfsdk:"preflight_concurrency"`
	PreflightCAFile      types.String   `tfsdk:"preflight_ca_file"`
	WaitFor              types.String   `tfsdk:"wait_for"`
	SyncNowTrigger       types.String   `tfsdk:"sync_now_trigger"`
	Complete             types.Bool     `tfsdk:"complete"`
	Enabled              types.Bool     `tfsdk:"enabled"`
	Domain               types.String   `tfsdk:"domain"`
	Targets              types.List     `tfsdk:"targets"`
	MaxFailedUsers       types.Int64    `tfsdk:"max_failed_users"`
	AllowReplace         types.Bool     `tfsdk:"allow_replace"`
	ReadUserStatistics   types.Bool     `tfsdk:"read_user_statistics"`
	Members              types.List     `tfsdk:"members"`
	MembersSHA256        types.String   `tfsdk:"members_sha256"`
	BatchGUID            types.String   `tfsdk:"batch_guid"`
	Status               types.String   `tfsdk:"status"`
	Counts               types.Object   `tfsdk:"counts"`
	Users                types.Map      `tfsdk:"users"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`

	ExmailCredentialsModel // Exmail credentials (migration_credentials.go)
}

func (r *migrationBatchResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_migration_batch"
}

func (r *migrationBatchResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	count := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An Exchange Online IMAP migration batch (`New-MigrationBatch`): copies the mailboxes listed in an IMAP migration CSV " +
			"from the source server of an `m365_imap_migration_endpoint` into existing, licensed Microsoft 365 mailboxes. " +
			"At plan time the CSV is checked and no user may already be in another batch; before anything is submitted the provider " +
			"logs in to the source server with every row's credentials. The state keeps the members' addresses and statuses, never a " +
			"password nor anything derived from one.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The batch's name.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{
				Required: true, MarkdownDescription: "Unique name of the batch, at most 64 characters. Changing it replaces the batch.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.LengthBetween(1, 64)},
			},
			"source_endpoint": schema.StringAttribute{
				Required: true, MarkdownDescription: "Name of the IMAP migration endpoint (`m365_imap_migration_endpoint.x.name`). Changing it replaces the batch.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"csv_wo": schema.StringAttribute{
				Optional: true, WriteOnly: true, Sensitive: true,
				MarkdownDescription: "The IMAP migration CSV (`EmailAddress,UserName,Password[,UserRoot]`), write-only (Terraform 1.11+): never stored in " +
					"the plan or the state. Use `ephemeral.m365_imap_migration_csv.x.content`. Exactly one of `csv_wo` and `csv_file`.",
			},
			"csv_wo_version": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Change this number to make the provider submit `csv_wo` again: every row is checked against the source server " +
					"and the whole CSV is sent with `Set-MigrationBatch -AddUsers` (the service adds only new rows). Membership changes are " +
					"found at plan time without it.",
			},
			"csv_file": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Path of the IMAP migration CSV, read at plan and apply time. The state keeps only the path and the members' " +
					"addresses. Exactly one of `csv_wo` and `csv_file`.",
			},
			"csv_encoding": schema.StringAttribute{
				Optional: true, MarkdownDescription: "Encoding of the CSV: `auto` (default), `utf-8`, `utf-16` or `gb18030`.",
				Validators: []validator.String{validators.CSVEncoding()},
			},
			"exclude_folders": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Source folders not to migrate, e.g. `[\"Deleted Messages\", \"Junk\"]` (`<Folder>/*` for a subtree). Changing it replaces the batch.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.RequiresReplace()},
			},
			"include_folders": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Only these source folders migrate. Changing it replaces the batch.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.RequiresReplace()},
			},
			"notification_emails": schema.SetAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Addresses that receive the batch's status reports. Without it no report is sent.",
			},
			"start_after": schema.StringAttribute{
				Optional: true, MarkdownDescription: "Start the batch at this time (RFC 3339, e.g. `2025-07-01T18:00:00Z`) instead of at once; `auto_start` is then not sent.",
				Validators: []validator.String{validators.RFC3339()},
			},
			"auto_start": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Start the batch when it is created. Default `true`.",
			},
			"time_zone": schema.StringAttribute{
				Optional: true, MarkdownDescription: "Windows time zone of the batch's times, e.g. `China Standard Time` (the service's default is UTC). Changing it replaces the batch.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"skip_preflight": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Do not log in to the source server before submitting users. Default `false`: a failed login of any row stops the apply before anything is submitted.",
			},
			"preflight_concurrency": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(imapcheck.DefaultConcurrency),
				MarkdownDescription: "How many preflight logins run at once. Default 4, at most 32; keep it low for servers that throttle logins.",
				Validators:          []validator.Int64{int64validator.Between(1, imapcheck.MaxConcurrency)},
			},
			"preflight_ca_file": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "A PEM file of CA certificates the preflight trusts besides the system's (for a source server with a private CA). " +
					"The endpoint's `accept_untrusted_certificates` is honoured too.",
			},
			"wait_for": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(waitForNone),
				MarkdownDescription: "`none` (default) or `synced`: wait, within `timeouts.create` (or `timeouts.update` when users are added), until every user has finished " +
					"its initial sync (Synced, or Failed). Progress is logged (TF_LOG=info). Use it before switching MX records. A wait that ends early (timeout, Ctrl-C) " +
					"keeps the batch in the state, untainted, with its current status: the next plan shows an in-place update and the next apply waits again. " +
					"Failed users beyond `max_failed_users` fail the apply (when the batch was just created: a warning, since a failed create would mark the batch for replacement; the next apply retries them).",
				Validators: []validator.String{stringvalidator.OneOf(waitForNone, waitForSynced)},
			},
			"sync_now_trigger": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Any change of this value runs `Set-MigrationBatch -SyncNow`: an immediate incremental sync, which Microsoft documents for IMAP " +
					"migrations after the MX records have been switched. Set it e.g. to the MX record's value or a timestamp.",
			},
			"complete": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Set to `true` to run `Complete-MigrationBatch` once the batch is synced (waiting for it within the timeout). For IMAP, Microsoft's " +
					"guidance is rather to delete the batch 72 hours after the MX switch; whether the service accepts completion of IMAP batches is not confirmed. " +
					"Completion cannot be undone.",
			},
			"enabled": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "`false` stops the batch (`Stop-MigrationBatch`), `true` starts it again (`Start-MigrationBatch`, which also retries failed users). Default `true`.",
			},
			"domain": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Rewrites the domain of every `EmailAddress` of the CSV (the Microsoft 365 mailbox; `UserName`, the source login, is left alone), " +
					"the way `m365_users_csv.domain` rewrites user names: set both to the staging tenant's `*.onmicrosoft.com` domain to rehearse the whole move there " +
					"with the production files. Members, checks and submissions use the rewritten addresses.",
				Validators: []validator.String{validators.DomainName()},
			},
			"targets": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "The Microsoft 365 users this batch migrates into, e.g. `keys(m365_users.staff.attributes)` or " +
					"`[for u in m365_user.staff : u.user_principal_name]`. At plan time every CSV row must be one of them or an existing user of the tenant " +
					"(a row without a target stops the plan, naming its file and line), and targets without a row are listed in one warning. " +
					"It also orders the apply: the batch waits for these users. Without it every row must already be a user of the tenant.",
			},
			"max_failed_users": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(0),
				MarkdownDescription: "How many failed migration users an apply accepts (with `wait_for = \"synced\"`). Default 0: a failed user fails the apply, " +
					"listing each user with the service's error and the fix; the next apply retries failed users (`Start-MigrationBatch`).",
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
			"allow_replace": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Exchange Online cannot change `name`, `source_endpoint`, `exclude_folders`, `include_folders` or `time_zone` of a batch " +
					"(`Set-MigrationBatch` has no such parameters), so changing one replaces the batch: `Remove-MigrationBatch`, then a new batch that copies every mailbox again. " +
					"Default `false`: such a change stops the plan while the batch holds users with synced mail. Set `true` to allow it.",
			},
			"read_user_statistics": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Read `Get-MigrationUserStatistics` for every user at each refresh, for `items_in_source` and `bytes_transferred`. " +
					"Only users whose status or synced-item count moved since the last refresh are read again, so an unchanged batch costs two or three requests.",
			},
			"members": schema.ListAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "The batch's users (lower-case addresses, sorted). Planned from the CSV, refreshed from `Get-MigrationUser`; added rows go through `Set-MigrationBatch -AddUsers`, dropped ones through `Remove-MigrationUser`.",
			},
			"members_sha256": schema.StringAttribute{Computed: true, MarkdownDescription: "SHA-256 of the sorted member addresses (addresses only, nothing password-derived)."},
			"batch_guid":     schema.StringAttribute{Computed: true, MarkdownDescription: "The batch's GUID.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"status":         schema.StringAttribute{Computed: true, MarkdownDescription: "The batch's status at the last refresh: Created, Starting, Syncing, Synced, SyncedWithErrors, Stopping, Stopped, Completing, Completed, Removing, Failed..."},
			"counts": schema.SingleNestedAttribute{
				Computed: true, MarkdownDescription: "User counts at the last refresh.",
				Attributes: map[string]schema.Attribute{
					"total": count("All users."), "active": count("Users being synced."), "stopped": count("Stopped users."),
					"synced": count("Users whose initial sync is done."), "failed": count("Failed users (see `users[*].error`)."),
					"finalized": count("Completed users."), "pending": count("Users waiting to be synced."),
				},
			},
			"users": schema.MapNestedAttribute{
				Computed: true, MarkdownDescription: "Per user, keyed by lower-case address, at the last refresh.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"status":            schema.StringAttribute{Computed: true, MarkdownDescription: "E.g. Queued, Syncing, Synced, Failed, Stopped, Completed."},
					"status_summary":    schema.StringAttribute{Computed: true, MarkdownDescription: "Active, Synced, Failed, Stopped or Completed."},
					"error":             schema.StringAttribute{Computed: true, MarkdownDescription: "The service's error for a failed user, e.g. a rejected IMAP login or `already included in migration batch`."},
					"items_synced":      count("Items copied."),
					"items_skipped":     count("Items skipped (e.g. over 35 MB)."),
					"items_in_source":   count("Items in the source mailbox (with `read_user_statistics`)."),
					"bytes_transferred": count("Bytes copied (with `read_user_statistics`; the service may report 0 for IMAP)."),
					"last_sync":         schema.StringAttribute{Computed: true, MarkdownDescription: "Time of the last successful sync (RFC 3339), empty before the first."},
				}},
			},
			"timeouts": timeoutsAttribute(ctx, migrationBatchTimeouts),
		},
	}
	addExmailCredentialAttributes(resp.Schema.Attributes) // Exmail credentials (migration_credentials.go)
}

func (r *migrationBatchResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *migrationBatchResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return append([]resource.ConfigValidator{
		resourcevalidator.Conflicting(path.MatchRoot("csv_wo_version"), path.MatchRoot("csv_file")),
	}, exmailCredentialValidators()...) // ExactlyOneOf(csv_wo, csv_file, exmail_members) and the Exmail conflicts
}

// ValidateConfig checks the CSV when it is known, so that a bad file stops `terraform validate`
// too (the plan re-checks it).
func (r *migrationBatchResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m migrationBatchModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	notStarted := (!m.AutoStart.IsNull() && !m.AutoStart.IsUnknown() && !m.AutoStart.ValueBool() && m.StartAfter.IsNull()) ||
		(!m.Enabled.IsNull() && !m.Enabled.IsUnknown() && !m.Enabled.ValueBool())
	if notStarted && m.WaitFor.ValueString() == waitForSynced {
		resp.Diagnostics.AddAttributeError(path.Root("wait_for"), "Batch Will Not Sync",
			"While checking the migration batch, wait_for = \"synced\" was set on a batch that is not started (auto_start = false without start_after, or enabled = false).\n\nStart the batch, or use wait_for = \"none\".")
	}
	if notStarted && m.Complete.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("complete"), "Batch Will Not Sync",
			"While checking the migration batch, complete = true was set on a batch that is not started; only a synced batch can be completed.\n\nStart the batch first.")
	}
	var wo types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("csv_wo"), &wo)...)
	if resp.Diagnostics.HasError() || wo.IsNull() || wo.IsUnknown() || m.CSVEncoding.IsUnknown() || m.Domain.IsUnknown() {
		return
	}
	parseMigrationCSV(&resp.Diagnostics, path.Root("csv_wo"), []byte(wo.ValueString()), m.csvOptions("csv_wo"))
}

func (r *migrationBatchResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m migrationBatchModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, migrationBatchTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if gone := r.refresh(ctx, &m, usersFromValue(m.Users), &resp.Diagnostics); gone {
		// E.g. removed by the service after the 60/90-day retention: leave state quietly.
		tflog.Info(ctx, "migration batch no longer exists; removing it from state", map[string]any{"batch": m.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *migrationBatchResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state migrationBatchModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, migrationBatchTimeouts.Update)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plan.ID = state.ID
	name := state.ID.ValueString()
	// Steps that did not happen keep their prior values in state, so that a re-apply after a
	// failure (a wrong password at preflight, say) tries them again instead of seeing no change.
	var submitted, syncedNow, enabledSet, completed bool
	defer func() {
		if !submitted {
			plan.CSVWOVersion = state.CSVWOVersion
		}
		if !syncedNow {
			plan.SyncNowTrigger = state.SyncNowTrigger
		}
		if !enabledSet {
			plan.Enabled = state.Enabled
		}
		if !completed {
			plan.Complete = state.Complete
		}
		// Whatever happened, state shows what the service has now (also when the operation's
		// timeout just ended).
		refreshCtx, cancelRefresh := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancelRefresh()
		r.refresh(refreshCtx, &plan, usersFromValue(state.Users), &resp.Diagnostics)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}()

	c, _ := loadCSV(ctx, req.Config, plan, &resp.Diagnostics, false)
	if resp.Diagnostics.HasError() || c == nil {
		return
	}
	planned := migrationEmails(c.res.Rows)
	change := exchange.PlanMembership(planned, listStrings(state.Members), !plan.CSVWOVersion.Equal(state.CSVWOVersion))

	// New rows (or every row, when csv_wo_version changed): preflight, then -AddUsers.
	rows := rowsFor(c.res.Rows, change.Submit)
	if len(rows) > 0 {
		// Mailboxes first (possibly a long wait), then the source credentials (an Exmail password
		// set through the API just before the submission), then the preflight logins.
		if !r.waitMailboxes(ctx, name, migrationEmails(rows), &resp.Diagnostics) {
			return
		}
		if !r.exmailCredentials(ctx, req.Config, plan, nil, rows, &resp.Diagnostics) { // Exmail credentials (migration_credentials.go)
			return
		}
		if !r.preflight(ctx, plan, rows, &resp.Diagnostics) {
			return
		}
		tflog.Info(ctx, "adding users to the migration batch", map[string]any{"batch": name, "users": len(rows)})
		if _, err := r.clients.Exchange.SetMigrationBatch(ctx, name, exchange.BatchUpdate{AddUsersCSV: usercsv.WriteMigration(rows, hasUserRoot(c.res.Rows))}); err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Add Migration Users", fmt.Sprintf("adding %d users to the batch %s (Set-MigrationBatch -AddUsers)", len(rows), name), err, migrationPermissions, "")
			return
		}
	}
	submitted = true
	if len(change.Removed) > 0 && !r.removeUsers(ctx, name, change.Removed, &resp.Diagnostics) {
		return
	}
	if change.Changed() {
		r.waitMembers(ctx, name, planned, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}

	var u exchange.BatchUpdate
	changed := false
	if !plan.NotificationEmails.Equal(state.NotificationEmails) {
		list := setStrings(plan.NotificationEmails)
		if list == nil {
			list = []string{}
		}
		u.NotificationEmails, changed = &list, true
	}
	if !plan.StartAfter.Equal(state.StartAfter) {
		if t, ok := parseStartAfter(plan.StartAfter); ok {
			u.StartAfter, changed = &t, true
		}
	}
	if changed {
		if _, err := r.clients.Exchange.SetMigrationBatch(ctx, name, u); err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Update Migration Batch", "changing notification_emails/start_after of the batch "+name+" (Set-MigrationBatch)", err, migrationPermissions, "")
			return
		}
	}

	if !plan.Enabled.Equal(state.Enabled) && !r.setEnabled(ctx, name, plan.Enabled.ValueBool(), &resp.Diagnostics) {
		return
	}
	enabledSet = true
	if !plan.SyncNowTrigger.Equal(state.SyncNowTrigger) && !plan.SyncNowTrigger.IsNull() && !r.syncNow(ctx, name, &resp.Diagnostics) {
		return
	}
	syncedNow = true
	// An earlier apply that stopped waiting, or failed users beyond max_failed_users: wait again,
	// after retrying the failed users (Start-MigrationBatch retries them:
	// https://learn.microsoft.com/powershell/module/exchangepowershell/start-migrationbatch).
	var ignored diagList
	resuming := r.resumes(plan, state, &ignored)
	if resuming && stateSettled(state) && plan.Enabled.Equal(state.Enabled) {
		tflog.Info(ctx, "retrying the failed users of the migration batch", map[string]any{"batch": name})
		if err := r.clients.Exchange.StartMigrationBatch(ctx, name); err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Retry Failed Migration Users", "retrying the failed users of the batch "+name+" (Start-MigrationBatch)", err, migrationPermissions, "")
			return
		}
	}
	wantSynced := plan.WaitFor.ValueString() == waitForSynced && (len(rows) > 0 || !plan.SyncNowTrigger.Equal(state.SyncNowTrigger) ||
		(!plan.Enabled.Equal(state.Enabled) && plan.Enabled.ValueBool()) || resuming)
	completing := plan.Complete.ValueBool() && !state.Complete.ValueBool()
	if wantSynced || completing {
		r.waitSynced(ctx, name, len(planned), resuming, plan.MaxFailedUsers.ValueInt64(), &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	if completing {
		r.complete(ctx, name, &resp.Diagnostics)
	}
	completed = !resp.Diagnostics.HasError()
}

func (r *migrationBatchResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m migrationBatchModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, migrationBatchTimeouts.Delete)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := m.ID.ValueString()
	if err := r.clients.Exchange.RemoveMigrationBatch(ctx, name); err != nil {
		if exchange.IsNotFound(err) {
			return
		}
		diagtext.APIError(&resp.Diagnostics, "Cannot Delete Migration Batch", "removing the migration batch "+name+" (Remove-MigrationBatch)", err, migrationPermissions, "")
		return
	}
	// Removal is asynchronous (Removing, then gone): wait until the batch is no longer found.
	err := r.clients.Exchange.WaitBatchRemoved(ctx, name, func(b *exchange.Batch) {
		tflog.Info(ctx, "waiting for the migration batch to be removed", map[string]any{"batch": name, "status": b.Status})
	})
	if err == nil {
		return
	}
	diagtext.APIError(&resp.Diagnostics, "Migration Batch Deletion Not Finished", "waiting for the batch "+name+" to disappear", err, migrationPermissions, "Raise timeouts.delete, then destroy again.")
}

func (r *migrationBatchResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.TrimSpace(req.ID)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	for attrName, v := range map[string]any{"auto_start": true, "skip_preflight": false, "complete": false, "enabled": true, "read_user_statistics": true,
		"wait_for": waitForNone, "allow_replace": false} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attrName), v)...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("preflight_concurrency"), int64(imapcheck.DefaultConcurrency))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("max_failed_users"), int64(0))...)
}
