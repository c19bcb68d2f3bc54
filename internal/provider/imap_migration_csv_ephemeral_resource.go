package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/ephemeralvalidator"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var (
	_ ephemeral.EphemeralResourceWithConfigValidators = (*imapMigrationCSVEphemeral)(nil)
)

// NewIMAPMigrationCSVEphemeralResource is the m365_imap_migration_csv ephemeral resource.
func NewIMAPMigrationCSVEphemeralResource() ephemeral.EphemeralResource {
	return &imapMigrationCSVEphemeral{}
}

type imapMigrationCSVEphemeral struct{}

type imapMigrationCSVModel struct {
	Path             types.String `tfsdk:"path"`
	Content          types.String `tfsdk:"content"`
	Encoding         types.String `tfsdk:"encoding"`
	DetectedEncoding types.String `tfsdk:"detected_encoding"`
	Emails           types.List   `tfsdk:"emails"`
	Rows             types.Int64  `tfsdk:"rows"`
}

func (e *imapMigrationCSVEphemeral) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_imap_migration_csv"
}

func (e *imapMigrationCSVEphemeral) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads and checks an IMAP migration CSV (`EmailAddress,UserName,Password[,UserRoot]`) without storing it anywhere: " +
			"ephemeral resources are never written to the plan or the state. Feed `content` to `m365_migration_batch.csv_wo`. " +
			"Every problem of the file stops the plan, each as `file:line:column: problem — fix`.",
		Attributes: map[string]schema.Attribute{
			"path": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Path of the CSV file. Exactly one of `path` and `content`.",
			},
			"content": schema.StringAttribute{
				Optional: true, Computed: true, Sensitive: true,
				MarkdownDescription: "Input: the CSV text itself (exactly one of `path` and `content`). Result: the CSV as UTF-8 with the header " +
					"`EmailAddress,UserName,Password` (plus `UserRoot` when used), ready for `m365_migration_batch.csv_wo`. When the input is " +
					"`path`, the file is decoded (UTF-8 with or without BOM, UTF-16, GB18030) and rewritten; when the input is `content`, Terraform " +
					"requires the result to be the same text, so it is passed through unchanged after the checks (the batch normalises it again).",
			},
			"encoding": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Encoding of the file: `auto` (default: byte-order mark, then UTF-16 without BOM, then UTF-8, else GB18030), " +
					"`utf-8`, `utf-16` (`utf-16le`/`utf-16be` without BOM) or `gb18030` (also read for `gbk`/`gb2312`).",
				Validators: []validator.String{validators.CSVEncoding()},
			},
			"detected_encoding": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The encoding used to read the file: `utf-8`, `utf-8-bom`, `utf-16le`, `utf-16be` or `gb18030`.",
			},
			"emails": schema.ListAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "The rows' `EmailAddress` values, lower-cased and sorted.",
			},
			"rows": schema.Int64Attribute{Computed: true, MarkdownDescription: "The number of users in the file."},
		},
	}
}

func (e *imapMigrationCSVEphemeral) ConfigValidators(context.Context) []ephemeral.ConfigValidator {
	return []ephemeral.ConfigValidator{
		ephemeralvalidator.ExactlyOneOf(path.MatchRoot("path"), path.MatchRoot("content")),
	}
}

func (e *imapMigrationCSVEphemeral) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var m imapMigrationCSVModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var (
		data []byte
		name string
		attr path.Path
	)
	if !m.Path.IsNull() {
		attr = path.Root("path")
		name = m.Path.ValueString()
		var err error
		data, err = readMigrationFile(name)
		if err != nil {
			resp.Diagnostics.AddAttributeError(attr, "Cannot Read Migration CSV",
				fmt.Sprintf("While reading the migration CSV, the file could not be opened.\n\nCause: %s\n\nCheck the path (relative paths are relative to the directory Terraform runs in; path.module helps).", err))
			return
		}
	} else {
		attr = path.Root("content")
		name = "content"
		data = []byte(m.Content.ValueString())
	}
	res, ok := parseMigrationCSV(&resp.Diagnostics, attr, data, usercsv.MigrationOptions{Name: name, Encoding: m.Encoding.ValueString()})
	if !ok {
		return
	}
	emails := migrationEmails(res.Rows)
	list, d := types.ListValueFrom(ctx, types.StringType, emails)
	resp.Diagnostics.Append(d...)
	m.Emails = list
	m.Rows = types.Int64Value(int64(len(res.Rows)))
	m.DetectedEncoding = types.StringValue(res.Encoding)
	if m.Path.IsNull() {
		// Terraform requires a configured value to come back unchanged.
		m.Content = types.StringValue(m.Content.ValueString())
	} else {
		m.Content = types.StringValue(string(res.CSV))
	}
	resp.Diagnostics.Append(resp.Result.Set(ctx, &m)...)
}
