package provider

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/exmail"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

// exmailModel is the provider's exmail block: Tencent Exmail's open API, used only by the
// m365_exmail_* types and the Exmail credentials of m365_migration_batch.
type exmailModel struct {
	CorpID         types.String `tfsdk:"corp_id"`
	ContactsSecret types.String `tfsdk:"contacts_secret"`
	OptionsSecret  types.String `tfsdk:"options_secret"`
	LogSecret      types.String `tfsdk:"log_secret"`
	Endpoint       types.String `tfsdk:"endpoint"`
}

func exmailBlock() schema.Block {
	secret := func(app exmail.App, env, usedBy string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Sensitive: true,
			MarkdownDescription: fmt.Sprintf("The secret of the %s app (Exmail admin console: 工具箱 → 应用中心 → %s). Falls back to `%s`. Needed by %s.",
				app.AppName(), app.AppName(), env, usedBy)}
	}
	return schema.SingleNestedBlock{
		MarkdownDescription: "Tencent Exmail's (腾讯企业邮箱) open API, for the source side of a move: the address book, the per-member IMAP switch and " +
			"migration passwords. Read only when an Exmail type is used. Each Exmail app has its own secret; give only the ones your configuration needs.",
		Attributes: map[string]schema.Attribute{
			"corp_id": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The corp id (企业ID), shown at the bottom of 工具箱 → 应用中心 in the Exmail admin console. Falls back to `EXMAIL_CORP_ID`."},
			"contacts_secret": secret(exmail.Contacts, "EXMAIL_CONTACTS_SECRET", "`m365_exmail_directory`, `m365_exmail_imap_access` and the Exmail credentials of `m365_migration_batch`"),
			"options_secret":  secret(exmail.Options, "EXMAIL_OPTIONS_SECRET", "`m365_exmail_imap_access`, the IMAP and 安全登录 state of `m365_exmail_directory` and the checks of `m365_migration_batch`"),
			"log_secret":      secret(exmail.Log, "EXMAIL_LOG_SECRET", "`m365_exmail_directory` when `read_last_login` is set"),
			"endpoint": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The API's host root. Defaults to `https://api.exmail.qq.com`, or `EXMAIL_ENDPOINT`; set it for a proxy or a local emulator.",
				Validators:          []validator.String{validators.HTTPSURL()}},
		},
	}
}

func (m *exmailModel) values() []interface{ IsUnknown() bool } {
	if m == nil {
		return nil
	}
	return []interface{ IsUnknown() bool }{m.CorpID, m.ContactsSecret, m.OptionsSecret, m.LogSecret, m.Endpoint}
}

// exmailSource is the resolved exmail block. The client is built on first use, once per provider
// instance, so that its tokens are shared by every Exmail type of the run.
type exmailSource struct {
	endpoint, corpID string
	secrets          map[exmail.App]string

	once   sync.Once
	client *exmail.Client
	err    error
}

func newExmailSource(m *exmailModel) *exmailSource {
	pick := func(v types.String, env string) string {
		if m != nil && v.ValueString() != "" {
			return v.ValueString()
		}
		return os.Getenv(env)
	}
	var e exmailModel
	if m != nil {
		e = *m
	}
	s := &exmailSource{
		endpoint: strings.TrimRight(pick(e.Endpoint, "EXMAIL_ENDPOINT"), "/"),
		corpID:   pick(e.CorpID, "EXMAIL_CORP_ID"),
		secrets: map[exmail.App]string{
			exmail.Contacts: pick(e.ContactsSecret, "EXMAIL_CONTACTS_SECRET"),
			exmail.Options:  pick(e.OptionsSecret, "EXMAIL_OPTIONS_SECRET"),
			exmail.Log:      pick(e.LogSecret, "EXMAIL_LOG_SECRET"),
		},
	}
	if s.endpoint == "" {
		s.endpoint = exmail.DefaultEndpoint
	}
	return s
}

var exmailSecretAttr = map[exmail.App]string{exmail.Contacts: "contacts_secret", exmail.Options: "options_secret", exmail.Log: "log_secret"}
var exmailSecretEnv = map[exmail.App]string{exmail.Contacts: "EXMAIL_CONTACTS_SECRET", exmail.Options: "EXMAIL_OPTIONS_SECRET", exmail.Log: "EXMAIL_LOG_SECRET"}

// exmailClient returns the Exmail client after checking that the corp id and the secret of every
// app the caller needs are set; otherwise it adds one error per missing value, naming the app and
// where its secret is in the Exmail admin console.
func (c *Clients) exmailClient(d *diagList, what string, apps ...exmail.App) *exmail.Client {
	s := c.ExmailSource
	if s == nil {
		s = newExmailSource(nil)
	}
	ok := true
	if s.corpID == "" {
		ok = false
		d.AddAttributeError(path.Root("exmail").AtName("corp_id"), "Missing Exmail Corp ID",
			fmt.Sprintf("While %s, the Tencent Exmail corp id was not set.\n\nSet corp_id in the provider's exmail block, or EXMAIL_CORP_ID. "+
				"It is shown at the bottom of 工具箱 → 应用中心 in the Exmail admin console (https://exmail.qq.com/cgi-bin/loginpage).", what))
	}
	for _, app := range apps {
		if s.secrets[app] != "" {
			continue
		}
		ok = false
		d.AddAttributeError(path.Root("exmail").AtName(exmailSecretAttr[app]), "Missing Exmail App Secret",
			fmt.Sprintf("While %s, the secret of the Exmail app %s (%s) was not set; this needs it.\n\n"+
				"Set %s in the provider's exmail block, or %s. An administrator finds it in the Exmail admin console under 工具箱 → 应用中心 → %s "+
				"(enable the app there first; 重置 shows a new secret and invalidates the old one).",
				what, app.AppName(), app, exmailSecretAttr[app], exmailSecretEnv[app], app.AppName()))
	}
	if !ok {
		return nil
	}
	s.once.Do(func() {
		// exmail.New's default HTTP client logs through httpx.LogTransport: the provider speaks no HTTP.
		s.client, s.err = exmail.New(exmail.Config{Endpoint: s.endpoint, CorpID: s.corpID, Secrets: s.secrets})
	})
	if s.err != nil {
		d.AddAttributeError(path.Root("exmail").AtName("endpoint"), "Invalid Exmail Configuration", fmt.Sprintf("While %s: %s.", what, s.err))
		return nil
	}
	return s.client
}
