package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = (*mailClientSettingsDataSource)(nil)

// NewMailClientSettingsDataSource is the m365_mail_client_settings data source.
func NewMailClientSettingsDataSource() datasource.DataSource { return &mailClientSettingsDataSource{} }

type mailClientSettingsDataSource struct{ clients *Clients }

type mailClientSettingsModel struct {
	ID               types.String `tfsdk:"id"`
	Environment      types.String `tfsdk:"environment"`
	IMAPHost         types.String `tfsdk:"imap_host"`
	IMAPPort         types.Int64  `tfsdk:"imap_port"`
	IMAPEncryption   types.String `tfsdk:"imap_encryption"`
	POPHost          types.String `tfsdk:"pop_host"`
	POPPort          types.Int64  `tfsdk:"pop_port"`
	POPEncryption    types.String `tfsdk:"pop_encryption"`
	SMTPHost         types.String `tfsdk:"smtp_host"`
	SMTPPort         types.Int64  `tfsdk:"smtp_port"`
	SMTPEncryption   types.String `tfsdk:"smtp_encryption"`
	AutodiscoverHost types.String `tfsdk:"autodiscover_host"`
}

func (d *mailClientSettingsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_mail_client_settings"
}

func (d *mailClientSettingsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	num := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The IMAP, POP and SMTP settings mail clients (phones, Outlook, Thunderbird) use after the move, for the provider's cloud. No API call is made.",
		Attributes: map[string]schema.Attribute{
			"id":                str("The environment name."),
			"environment":       str("`global`, `china`, `usgovernment` or `usgovernmentdod`."),
			"imap_host":         str("IMAP server, e.g. `outlook.office365.com` (global) or `partner.outlook.cn` (21Vianet)."),
			"imap_port":         num("IMAP port (993)."),
			"imap_encryption":   str("`SSL` (implicit TLS)."),
			"pop_host":          str("POP server."),
			"pop_port":          num("POP port (995)."),
			"pop_encryption":    str("`SSL` (implicit TLS)."),
			"smtp_host":         str("SMTP submission server, e.g. `smtp.office365.com` or `smtp.partner.outlook.cn`."),
			"smtp_port":         num("SMTP submission port (587)."),
			"smtp_encryption":   str("`STARTTLS`."),
			"autodiscover_host": str("The autodiscover host the domain's `autodiscover` CNAME points at."),
		},
	}
}

func (d *mailClientSettingsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *mailClientSettingsDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	if d.clients == nil {
		return
	}
	c := d.clients.Env.Client
	m := mailClientSettingsModel{
		ID: types.StringValue(d.clients.Env.Name), Environment: types.StringValue(d.clients.Env.Name),
		IMAPHost: types.StringValue(c.IMAPHost), IMAPPort: types.Int64Value(int64(c.IMAPPort)), IMAPEncryption: types.StringValue(c.IMAPEncryption),
		POPHost: types.StringValue(c.POPHost), POPPort: types.Int64Value(int64(c.POPPort)), POPEncryption: types.StringValue(c.POPEncryption),
		SMTPHost: types.StringValue(c.SMTPHost), SMTPPort: types.Int64Value(int64(c.SMTPPort)), SMTPEncryption: types.StringValue(c.SMTPEncryption),
		AutodiscoverHost: types.StringValue(c.AutodiscoverHost),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
