package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/imapcheck"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var _ datasource.DataSource = (*imapMailboxSurveyDataSource)(nil)

// NewIMAPMailboxSurveyDataSource is the m365_imap_mailbox_survey data source.
func NewIMAPMailboxSurveyDataSource() datasource.DataSource { return &imapMailboxSurveyDataSource{} }

type imapMailboxSurveyDataSource struct{}

type imapMailboxSurveyModel struct {
	CSVFile                     types.String `tfsdk:"csv_file"`
	Encoding                    types.String `tfsdk:"encoding"`
	RemoteServer                types.String `tfsdk:"remote_server"`
	Port                        types.Int64  `tfsdk:"port"`
	Security                    types.String `tfsdk:"security"`
	AcceptUntrustedCertificates types.Bool   `tfsdk:"accept_untrusted_certificates"`
	CAFile                      types.String `tfsdk:"ca_file"`
	Concurrency                 types.Int64  `tfsdk:"concurrency"`
	ID                          types.String `tfsdk:"id"`
	Users                       types.Map    `tfsdk:"users"`
	Totals                      types.Object `tfsdk:"totals"`
}

var surveyFolderAttrTypes = map[string]attr.Type{
	"name": types.StringType, "messages": types.Int64Type, "bytes": types.Int64Type, "items_over_35mb": types.Int64Type,
	"skipped": types.BoolType, "skip_reason": types.StringType,
}

var surveyUserAttrTypes = map[string]attr.Type{
	"line": types.Int64Type, "user_name": types.StringType, "login_ok": types.BoolType, "login_error": types.StringType,
	"login_error_kind": types.StringType, "error": types.StringType, "messages": types.Int64Type, "bytes": types.Int64Type,
	"items_over_35mb": types.Int64Type, "over_item_limit": types.BoolType, "skipped_folders": types.ListType{ElemType: types.StringType},
	"folders": types.ListType{ElemType: types.ObjectType{AttrTypes: surveyFolderAttrTypes}},
}

var surveyTotalsAttrTypes = map[string]attr.Type{
	"users": types.Int64Type, "logins_failed": types.Int64Type, "messages": types.Int64Type, "bytes": types.Int64Type,
	"items_over_35mb": types.Int64Type, "users_over_item_limit": types.Int64Type, "skipped_folders": types.Int64Type,
	"users_with_errors": types.Int64Type,
}

func (d *imapMailboxSurveyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_imap_mailbox_survey"
}

func (d *imapMailboxSurveyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	num := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Logs in to the source IMAP server with every row of an IMAP migration CSV and reports what an Exchange Online IMAP migration " +
			"would meet: failed logins in the server's own words, folders (and those skipped because their name contains `/`), messages, bytes, " +
			"items over 35 MB and mailboxes over the 500,000-item limit. **It logs in to every mailbox on every plan and refresh**; " +
			"keep it in a separate configuration or behind a `count` you switch on when needed. Nothing of the CSV but the addresses " +
			"reaches the state.",
		Attributes: map[string]schema.Attribute{
			"csv_file": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Path of the IMAP migration CSV (`EmailAddress,UserName,Password[,UserRoot]`), read at every plan. " +
					"A path rather than the text, so that no password is stored in the state.",
			},
			"encoding": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Encoding of the file: `auto` (default), `utf-8`, `utf-16` or `gb18030`.",
				Validators:          []validator.String{validators.CSVEncoding()},
			},
			"remote_server": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The source IMAP server, e.g. `imap.exmail.qq.com` (or `m365_imap_migration_endpoint.x.remote_server`).",
			},
			"port": schema.Int64Attribute{
				Optional: true, MarkdownDescription: "IMAP port. Default 993 with `Ssl`, else 143.",
				Validators: []validator.Int64{int64validator.Between(1, 65535)},
			},
			"security": schema.StringAttribute{
				Optional: true, MarkdownDescription: "`Ssl` (implicit TLS, default), `Tls` (STARTTLS) or `None`, as the migration endpoint's `security`.",
				Validators: []validator.String{stringvalidator.OneOf(securityValues...)},
			},
			"accept_untrusted_certificates": schema.BoolAttribute{
				Optional: true, MarkdownDescription: "Accept any server certificate, as the endpoint's `accept_untrusted_certificates`. Default `false`.",
			},
			"ca_file": schema.StringAttribute{
				Optional: true, MarkdownDescription: "A PEM file of CA certificates trusted in addition to the system's, for a server with a private CA.",
			},
			"concurrency": schema.Int64Attribute{
				Optional: true, MarkdownDescription: "How many mailboxes are surveyed at once. Default 4, at most 32.",
				Validators: []validator.Int64{int64validator.Between(1, imapcheck.MaxConcurrency)},
			},
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "SHA-256 of the surveyed address list."},
			"users": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Per user, keyed by lower-case `EmailAddress`.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"line":             num("CSV line of the row."),
					"user_name":        schema.StringAttribute{Computed: true, MarkdownDescription: "The row's UserName."},
					"login_ok":         schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the login worked."},
					"login_error":      schema.StringAttribute{Computed: true, MarkdownDescription: "Why the login failed: for a rejected login, the server's own words. Empty when it worked."},
					"login_error_kind": schema.StringAttribute{Computed: true, MarkdownDescription: "`auth`, `connect`, `tls`, `protocol` or `canceled`; empty when the login worked."},
					"error":            schema.StringAttribute{Computed: true, MarkdownDescription: "An error met after the login, while counting (the counts hold what was counted before it)."},
					"messages":         num("Messages in the folders that migrate."),
					"bytes":            num("Bytes in the folders that migrate."),
					"items_over_35mb":  num("Messages larger than 35 MB, which do not migrate."),
					"over_item_limit":  schema.BoolAttribute{Computed: true, MarkdownDescription: "More than 500,000 messages: only the newest 500,000 migrate."},
					"skipped_folders":  schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Folders that do not migrate (a `/` in the name)."},
					"folders": schema.ListNestedAttribute{
						Computed: true, MarkdownDescription: "Every selectable folder, INBOX first.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"name":            schema.StringAttribute{Computed: true, MarkdownDescription: "Full name as the server shows it."},
							"messages":        num("Messages."),
							"bytes":           num("Bytes."),
							"items_over_35mb": num("Messages over 35 MB."),
							"skipped":         schema.BoolAttribute{Computed: true, MarkdownDescription: "The folder does not migrate."},
							"skip_reason":     schema.StringAttribute{Computed: true, MarkdownDescription: "Why it does not migrate."},
						}},
					},
				}},
			},
			"totals": schema.SingleNestedAttribute{
				Computed: true, MarkdownDescription: "Sums over all users.",
				Attributes: map[string]schema.Attribute{
					"users":                 num("Rows surveyed."),
					"logins_failed":         num("Users whose login failed."),
					"users_with_errors":     num("Users whose login worked but counting failed."),
					"messages":              num("Messages that migrate."),
					"bytes":                 num("Bytes that migrate."),
					"items_over_35mb":       num("Messages over 35 MB."),
					"users_over_item_limit": num("Mailboxes over 500,000 messages."),
					"skipped_folders":       num("Folders that do not migrate."),
				},
			},
		},
	}
}

func (d *imapMailboxSurveyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m imapMailboxSurveyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	file := m.CSVFile.ValueString()
	data, err := readMigrationFile(file)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("csv_file"), "Cannot Read Migration CSV",
			fmt.Sprintf("While reading the migration CSV, the file could not be opened.\n\nCause: %s\n\nCheck the path (relative paths are relative to the directory Terraform runs in).", err))
		return
	}
	res, ok := parseMigrationCSV(&resp.Diagnostics, path.Root("csv_file"), data, usercsv.MigrationOptions{Name: file, Encoding: m.Encoding.ValueString()})
	if !ok {
		return
	}
	pool, err := loadMigrationCAFile(m.CAFile.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("ca_file"), "Cannot Read CA File",
			fmt.Sprintf("While loading the CA certificates for the survey, the file could not be used.\n\nCause: %s\n\nGive a PEM file of CA certificates.", err))
		return
	}
	security := m.Security.ValueString()
	if security == "" {
		security = "Ssl"
	}
	target := imapcheck.Target{
		Host: m.RemoteServer.ValueString(), Port: int(m.Port.ValueInt64()), Security: security,
		AcceptUntrustedCertificates: m.AcceptUntrustedCertificates.ValueBool(), RootCAs: pool,
	}
	concurrency := int(m.Concurrency.ValueInt64())
	tflog.Info(ctx, "surveying source mailboxes", map[string]any{"server": target.Host, "users": len(res.Rows), "concurrency": concurrency})
	boxes := imapcheck.Survey(ctx, target, migrationCredentials(res.Rows), concurrency)

	users := map[string]attr.Value{}
	var tot struct{ users, failed, withErr, msgs, bytes, big, over, skipped int64 }
	var failedLines []string
	for _, mb := range boxes {
		tot.users++
		var folders []attr.Value
		skipped := []string{}
		for _, f := range mb.Folders {
			folders = append(folders, types.ObjectValueMust(surveyFolderAttrTypes, map[string]attr.Value{
				"name": types.StringValue(f.Name), "messages": types.Int64Value(f.Messages), "bytes": types.Int64Value(f.Bytes),
				"items_over_35mb": types.Int64Value(f.ItemsOver35MB), "skipped": types.BoolValue(f.Skipped), "skip_reason": types.StringValue(f.SkipReason),
			}))
			if f.Skipped {
				skipped = append(skipped, f.Name)
				tot.skipped++
			}
		}
		if !mb.Login.OK {
			tot.failed++
			failedLines = append(failedLines, loginFailures([]imapcheck.LoginResult{mb.Login})...)
		} else if mb.Error != "" {
			tot.withErr++
		}
		tot.msgs += mb.Messages
		tot.bytes += mb.Bytes
		tot.big += mb.ItemsOver35MB
		if mb.OverItemLimit {
			tot.over++
		}
		folderList := types.ListValueMust(types.ObjectType{AttrTypes: surveyFolderAttrTypes}, folders)
		if folders == nil {
			folderList = types.ListValueMust(types.ObjectType{AttrTypes: surveyFolderAttrTypes}, []attr.Value{})
		}
		users[strings.ToLower(mb.EmailAddress)] = types.ObjectValueMust(surveyUserAttrTypes, map[string]attr.Value{
			"line": types.Int64Value(int64(mb.Line)), "user_name": types.StringValue(mb.Login.UserName),
			"login_ok": types.BoolValue(mb.Login.OK), "login_error": types.StringValue(mb.Login.Error), "login_error_kind": types.StringValue(mb.Login.Kind),
			"error": types.StringValue(mb.Error), "messages": types.Int64Value(mb.Messages), "bytes": types.Int64Value(mb.Bytes),
			"items_over_35mb": types.Int64Value(mb.ItemsOver35MB), "over_item_limit": types.BoolValue(mb.OverItemLimit),
			"skipped_folders": migStringList(skipped), "folders": folderList,
		})
	}
	m.Users = types.MapValueMust(types.ObjectType{AttrTypes: surveyUserAttrTypes}, users)
	m.Totals = types.ObjectValueMust(surveyTotalsAttrTypes, map[string]attr.Value{
		"users": types.Int64Value(tot.users), "logins_failed": types.Int64Value(tot.failed), "users_with_errors": types.Int64Value(tot.withErr),
		"messages": types.Int64Value(tot.msgs), "bytes": types.Int64Value(tot.bytes), "items_over_35mb": types.Int64Value(tot.big),
		"users_over_item_limit": types.Int64Value(tot.over), "skipped_folders": types.Int64Value(tot.skipped),
	})
	m.ID = types.StringValue(emailListHash(migrationEmails(res.Rows)))
	if len(failedLines) > 0 {
		resp.Diagnostics.AddWarning("Source Logins Failed",
			fmt.Sprintf("While surveying %d mailboxes on %s, %d logins failed:\n%s\n\n%s", tot.users, target.Host, tot.failed,
				strings.Join(failedLines, "\n"), "An m365_migration_batch with these rows would stop at its preflight check."))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// migStringList is a list of strings, empty (not null) for no elements.
func migStringList(in []string) types.List {
	vals := make([]attr.Value, 0, len(in))
	for _, s := range in {
		vals = append(vals, types.StringValue(s))
	}
	return types.ListValueMust(types.StringType, vals)
}
