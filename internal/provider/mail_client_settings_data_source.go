package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
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
	Authentication   types.Map    `tfsdk:"authentication"`
	Recommendation   types.String `tfsdk:"recommendation"`
}

var protocolAuthAttrTypes = map[string]attr.Type{
	"methods": types.ListType{ElemType: types.StringType}, "basic_auth": types.StringType,
	"confirmed": types.BoolType, "source": types.StringType,
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
		MarkdownDescription: "The IMAP, POP and SMTP settings mail clients (phones, Outlook, Thunderbird) use after the move, for the provider's cloud, with which sign-in each protocol accepts (`authentication`, with sources) and what to recommend to users (`recommendation`). " +
			"A password no longer works for IMAP or POP in Exchange Online: recommend Outlook or the built-in Exchange account. No API call is made.",
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
			"authentication": schema.MapNestedAttribute{Computed: true,
				MarkdownDescription: "Which sign-in each protocol accepts in this cloud, keyed `imap`, `pop`, `smtp` and `exchange_activesync`. Worldwide, IMAP, POP and Exchange ActiveSync accept only OAuth 2.0 (Basic authentication was turned off from October 2022 and cannot be re-enabled); SMTP AUTH Basic is disabled by default at the end of December 2026.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"methods":    schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Accepted sign-in methods, e.g. `OAuth 2.0 (SASL XOAUTH2)`."},
					"basic_auth": schema.StringAttribute{Computed: true, MarkdownDescription: "Whether a user name and password (or app password) works, with dates."},
					"confirmed":  schema.BoolAttribute{Computed: true, MarkdownDescription: "False when the facts come only from a third party (UNCONFIRMED), as for 21Vianet."},
					"source":     schema.StringAttribute{Computed: true, MarkdownDescription: "The page the facts come from."},
				}}},
			"recommendation": str("What to configure on phones and PCs: Outlook or the built-in Exchange (ActiveSync, autodiscover) account with modern authentication; IMAP/POP/SMTP only in clients that sign in with OAuth 2.0."),
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
		Recommendation:   types.StringValue(cloud.ClientRecommendation),
	}
	auth := map[string]attr.Value{}
	for _, a := range d.clients.Env.ClientAuth() {
		methods, _ := types.ListValueFrom(ctx, types.StringType, a.Methods)
		auth[a.Protocol] = types.ObjectValueMust(protocolAuthAttrTypes, map[string]attr.Value{
			"methods": methods, "basic_auth": types.StringValue(a.BasicAuth), "confirmed": types.BoolValue(a.Confirmed), "source": types.StringValue(a.Source),
		})
	}
	m.Authentication = types.MapValueMust(types.ObjectType{AttrTypes: protocolAuthAttrTypes}, auth)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
