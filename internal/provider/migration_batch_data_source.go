package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
)

var (
	_ datasource.DataSource              = (*migrationBatchDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*migrationBatchDataSource)(nil)
)

// NewMigrationBatchDataSource is the m365_migration_batch data source: a batch's status, per-user
// status and counts, and failures, read at every plan — the hard gate before the MX cutover.
func NewMigrationBatchDataSource() datasource.DataSource { return &migrationBatchDataSource{} }

type migrationBatchDataSource struct{ clients *Clients }

type migrationBatchDataModel struct {
	Name               types.String `tfsdk:"name"`
	ReadUserStatistics types.Bool   `tfsdk:"read_user_statistics"`
	Status             types.String `tfsdk:"status"`
	Counts             types.Object `tfsdk:"counts"`
	Users              types.Map    `tfsdk:"users"`
	Members            types.Set    `tfsdk:"members"`
	SyncedUsers        types.Set    `tfsdk:"synced_users"`
	PendingUsers       types.Set    `tfsdk:"pending_users"`
	FailedUsers        types.Map    `tfsdk:"failed_users"`
	AllSynced          types.Bool   `tfsdk:"all_synced"`
}

func (d *migrationBatchDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_migration_batch"
}

func (d *migrationBatchDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	count := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An Exchange Online migration batch as the service reports it now (`Get-MigrationBatch`, `Get-MigrationUser`): status, per-user status " +
			"and counts, failures. Read at every plan, so a `precondition` on `all_synced` stops the cutover (the MX switch) until every mailbox has finished " +
			"its initial sync.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "The batch's name (`m365_migration_batch.x.name`)."},
			"read_user_statistics": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Also read `Get-MigrationUserStatistics` for every user (`items_in_source`, `bytes_transferred`): one more request per user. Default `false`."},
			"status": schema.StringAttribute{Computed: true, MarkdownDescription: "The batch's status, e.g. Syncing, Synced, SyncedWithErrors, Completed."},
			"counts": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "User counts as the service reports them.",
				Attributes: map[string]schema.Attribute{
					"total": count("All users."), "active": count("Users being synced."), "stopped": count("Stopped users."),
					"synced": count("Users whose initial sync is done."), "failed": count("Failed users."),
					"finalized": count("Completed users."), "pending": count("Users waiting to be synced."),
				}},
			"users": schema.MapNestedAttribute{Computed: true, MarkdownDescription: "Per user, keyed by lower-case address.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"status":            schema.StringAttribute{Computed: true, MarkdownDescription: "E.g. Queued, Syncing, Synced, Failed, Stopped, Completed."},
					"status_summary":    schema.StringAttribute{Computed: true, MarkdownDescription: "Active, Synced, Failed, Stopped or Completed."},
					"error":             schema.StringAttribute{Computed: true, MarkdownDescription: "The service's error for a failed user."},
					"items_synced":      count("Items copied."),
					"items_skipped":     count("Items skipped."),
					"items_in_source":   count("Items in the source mailbox (with `read_user_statistics`)."),
					"bytes_transferred": count("Bytes copied (with `read_user_statistics`)."),
					"last_sync":         schema.StringAttribute{Computed: true, MarkdownDescription: "Time of the last successful sync (RFC 3339)."},
				}}},
			"members":       schema.SetAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Every user's address."},
			"synced_users":  schema.SetAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Users whose initial sync is done (Synced or Completed)."},
			"pending_users": schema.SetAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Users neither synced nor failed yet."},
			"failed_users": schema.MapAttribute{ElementType: types.StringType, Computed: true,
				MarkdownDescription: "Failed users: address → the service's error and the fix."},
			"all_synced": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "`true` when the batch has users and every one of them has finished its initial sync without failing: the condition to switch MX."},
		},
	}
}

func (d *migrationBatchDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *migrationBatchDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m migrationBatchDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || d.clients == nil {
		return
	}
	name := m.Name.ValueString()
	rep, err := readBatchReport(ctx, d.clients.Exchange, name, nil, m.ReadUserStatistics.ValueBool())
	if err != nil {
		next := ""
		if exchange.IsNotFound(err) {
			next = "Check name: the batch must exist (create it with m365_migration_batch first, or refer to m365_migration_batch.x.name so that it is read after the batch exists)."
		}
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Migration Batch", "reading the migration batch "+name+" (Get-MigrationBatch, Get-MigrationUser -BatchId)", err, migrationPermissions, next)
		return
	}
	var synced, pending []string
	failed := map[string]attr.Value{}
	for _, e := range rep.members() {
		u := rep.Users[e]
		switch {
		case u.failed():
			failed[e] = types.StringValue(strings.TrimSpace(firstNonEmpty(u.Error, u.Status) + " — fix: " + migrationFailureFix(u.Error)))
		case u.synced():
			synced = append(synced, e)
		default:
			pending = append(pending, e)
		}
	}
	m.Status = types.StringValue(rep.Batch.Status)
	m.Counts = countsValue(rep.Batch)
	m.Users = usersValue(rep.Users)
	m.Members = stringSet(rep.members())
	m.SyncedUsers = stringSet(synced)
	m.PendingUsers = stringSet(pending)
	m.FailedUsers = types.MapValueMust(types.StringType, failed)
	m.AllSynced = types.BoolValue(len(rep.Users) > 0 && len(synced) == len(rep.Users))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
