package provider

// Migration credentials without collecting passwords: m365_migration_batch can take its members
// from the Tencent Exmail address book instead of an IMAP migration CSV. EmailAddress is the
// Microsoft 365 user name and UserName the Exmail address (both from
// data.m365_exmail_directory.x.mailbox_map, or m365_exmail_imap_access.x.ready_mailboxes), and each
// member's password comes either
//   - from exmail_passwords_wo, a write-only map (Exmail address → password) filled from a secret
//     store (Vault, a cloud secret manager, an ephemeral resource): never in plan or state; or
//   - with exmail_set_passwords = true, from the provider itself: just before the users are
//     submitted it sets a fresh random password (crypto/rand) through Exmail's user/update with
//     cpwd_login, so that nobody ever sees it and each member chooses a new one at the next login.
//     The plan warns, naming every member whose Exmail password will change.
// A member given in exmail_passwords_wo keeps that password even when exmail_set_passwords is on
// (e.g. the 客户端专用密码 of a member with 安全登录, which the API cannot create).

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exmail"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

// ExmailCredentialsModel is embedded in migrationBatchModel.
type ExmailCredentialsModel struct {
	ExmailMembers               types.Map  `tfsdk:"exmail_members"`
	ExmailPasswordsWO           types.Map  `tfsdk:"exmail_passwords_wo"`
	ExmailSetPasswords          types.Bool `tfsdk:"exmail_set_passwords"`
	ExmailRequirePasswordChange types.Bool `tfsdk:"exmail_require_password_change"`
}

// addExmailCredentialAttributes adds the Exmail credential attributes to the batch's schema.
func addExmailCredentialAttributes(attrs map[string]schema.Attribute) {
	attrs["exmail_members"] = schema.MapAttribute{ElementType: types.StringType, Optional: true,
		MarkdownDescription: "Microsoft 365 user name → Tencent Exmail address of the members to migrate, instead of a CSV: " +
			"`data.m365_exmail_directory.x.mailbox_map` with `depends_on = [m365_exmail_imap_access.x]` (the plan then knows that access switches IMAP on), " +
			"or `m365_exmail_imap_access.x.ready_mailboxes` (members known only after that apply). " +
			"The address is the IMAP `UserName`. At plan time every member must exist, be enabled and have IMAP on; passwords come from " +
			"`exmail_passwords_wo` or `exmail_set_passwords`. Exactly one of `csv_wo`, `csv_file` and `exmail_members`; needs the provider's " +
			"`exmail` block with `contacts_secret` and `options_secret`."}
	attrs["exmail_passwords_wo"] = schema.MapAttribute{ElementType: types.StringType, Optional: true, WriteOnly: true, Sensitive: true,
		MarkdownDescription: "Exmail address → the password the IMAP migration logs in with (the account password, or the member's " +
			"客户端专用密码 when 安全登录 is on), write-only (Terraform 1.11+): never stored in the plan or the state. Fill it from a secret store."}
	// Plain optional attributes (null = the default), so that imported batches and batches made
	// before these attributes existed plan no change.
	attrs["exmail_set_passwords"] = schema.BoolAttribute{Optional: true,
		MarkdownDescription: "Opt-in: for every new member not in `exmail_passwords_wo`, set a fresh random password (crypto/rand, 16 letters and digits) " +
			"through Exmail's API just before the users are submitted. Nobody ever sees it: it is not in the plan, the state or the logs. " +
			"**The members' Exmail passwords change** — the plan lists them; tell them before the move. Members bound to WeChat or a phone in new-edition " +
			"tenants and members with 安全登录 cannot be served this way (the plan or the apply names them)."}
	attrs["exmail_require_password_change"] = schema.BoolAttribute{Optional: true,
		MarkdownDescription: "With `exmail_set_passwords`: set `cpwd_login`, so that each member chooses a new password at the next web login. Default `true`. " +
			"Whether Exmail then refuses IMAP logins until the member has done so is not documented; the preflight login tells, and `false` is the way out."}
}

// exmailCredentialValidators are the batch's config validators for the Exmail source.
func exmailCredentialValidators() []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("csv_wo"), path.MatchRoot("csv_file"), path.MatchRoot("exmail_members")),
		// Resubmitting every row would set new passwords for members the service is already
		// syncing with the old ones.
		resourcevalidator.Conflicting(path.MatchRoot("csv_wo_version"), path.MatchRoot("exmail_members")),
		resourcevalidator.Conflicting(path.MatchRoot("exmail_passwords_wo"), path.MatchRoot("csv_wo")),
		resourcevalidator.Conflicting(path.MatchRoot("exmail_passwords_wo"), path.MatchRoot("csv_file")),
	}
}

// exmailPasswords reads exmail_passwords_wo from the configuration (lower-case keys). known is
// false when the value is unknown.
func exmailPasswords(ctx context.Context, cfg tfsdk.Config, d *diagList) (pw map[string]string, given, known bool) {
	var m types.Map
	d.Append(cfg.GetAttribute(ctx, path.Root("exmail_passwords_wo"), &m)...)
	if m.IsUnknown() {
		return nil, true, false
	}
	out := map[string]string{}
	for k, v := range stringMap(m) {
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out, !m.IsNull(), true
}

// loadExmailRows builds the batch's rows from exmail_members (handled = false when the batch
// uses a CSV). Passwords are filled at apply by exmailCredentials.
func loadExmailRows(ctx context.Context, cfg tfsdk.Config, m migrationBatchModel, d *diagList) (c *batchCSV, known, handled bool) {
	if m.ExmailMembers.IsNull() {
		return nil, false, false
	}
	if m.ExmailMembers.IsUnknown() {
		return nil, false, true
	}
	members := stringMap(m.ExmailMembers)
	var bad []string
	rows := make([]usercsv.MigrationRow, 0, len(members))
	for _, k := range sortedKeys(members) {
		email, user := strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(members[k])
		if !strings.Contains(email, "@") || !strings.Contains(user, "@") {
			bad = append(bad, fmt.Sprintf("  - %q = %q", k, members[k]))
			continue
		}
		rows = append(rows, usercsv.MigrationRow{Line: len(rows) + 1, EmailAddress: email, UserName: user})
	}
	if len(bad) > 0 {
		d.AddAttributeError(path.Root("exmail_members"), "Invalid Exmail Members",
			diagtext.Detail("reading exmail_members", "every key must be a Microsoft 365 user name and every value an Exmail address; these are not:\n"+strings.Join(bad, "\n"),
				"Use data.m365_exmail_directory.x.mailbox_map, or write { \"user@m365-domain\" = \"user@exmail-domain\" }."))
		return nil, true, true
	}
	seen := map[string]string{}
	for _, r := range rows {
		u := strings.ToLower(r.UserName)
		if other, dup := seen[u]; dup {
			d.AddAttributeError(path.Root("exmail_members"), "Duplicate Exmail Member",
				fmt.Sprintf("While reading exmail_members, the Exmail address %s is given for both %s and %s.\n\nEach Exmail mailbox can be migrated into one Microsoft 365 mailbox per batch.", r.UserName, other, r.EmailAddress))
			return nil, true, true
		}
		seen[u] = r.EmailAddress
	}
	res := &usercsv.MigrationResult{Rows: rows, Encoding: "utf-8", CSV: usercsv.WriteMigration(rows, false)}
	return &batchCSV{res: res, attr: path.Root("exmail_members")}, true, true
}

// planExmailCredentials is the batch's plan-time check of its Exmail members: for every member to
// be submitted (all on create, the new ones on update) it must exist, be enabled and have IMAP on,
// and have a password source; it warns, naming them, about the members whose Exmail password the
// apply will change.
func (r *migrationBatchResource) planExmailCredentials(ctx context.Context, cfg tfsdk.Config, plan, state migrationBatchModel, creating bool, d *diagList) {
	if plan.ExmailMembers.IsNull() || plan.ExmailMembers.IsUnknown() || r.clients == nil {
		return
	}
	c, known, _ := loadExmailRows(ctx, cfg, plan, d)
	if !known || c == nil || d.HasError() {
		return
	}
	rows := c.res.Rows
	if !creating {
		rows = newRows(rows, listStrings(state.Members))
	}
	if len(rows) == 0 {
		return
	}
	pw, given, pwKnown := exmailPasswords(ctx, cfg, d)
	setPW := plan.ExmailSetPasswords.ValueBool()
	if pwKnown && given {
		var stray []string
		users := map[string]bool{}
		for _, r := range c.res.Rows {
			users[strings.ToLower(r.UserName)] = true
		}
		for k := range pw {
			if !users[k] {
				stray = append(stray, k)
			}
		}
		if len(stray) > 0 {
			sort.Strings(stray)
			d.AddAttributeError(path.Root("exmail_passwords_wo"), "Password For Unknown Exmail Member",
				fmt.Sprintf("While checking exmail_passwords_wo, these keys are not Exmail addresses of exmail_members: %s.\n\nKey the map by the Exmail address (the value side of exmail_members).", strings.Join(stray, ", ")))
		}
	}
	var missing, generated []string
	for _, r := range rows {
		if _, ok := pw[strings.ToLower(r.UserName)]; ok {
			continue
		}
		if setPW {
			generated = append(generated, r.UserName)
		} else if pwKnown {
			missing = append(missing, r.UserName)
		}
	}
	if len(missing) > 0 {
		d.AddAttributeError(path.Root("exmail_passwords_wo"), "Missing Migration Passwords",
			diagtext.Detail("checking the credentials of the batch's Exmail members",
				fmt.Sprintf("%d members have no password: %s", len(missing), strings.Join(missing, ", ")),
				"Give each one in exmail_passwords_wo (from your secret store), or set exmail_set_passwords = true to have the provider set a fresh random password for them through the Exmail API."))
	}
	var users []string
	for _, r := range rows {
		users = append(users, r.UserName)
	}
	res, ok := checkExmailRows(ctx, r.clients, users, path.Root("exmail_members"), true, d)
	if !ok || res == nil {
		return
	}
	if len(generated) > 0 {
		var secure []string
		for _, a := range generated {
			if st := res.States[strings.ToLower(a)]; st != nil && st.SecureLogin {
				secure = append(secure, a)
			}
		}
		if len(secure) > 0 {
			d.AddAttributeError(path.Root("exmail_set_passwords"), "Exmail Password Cannot Serve IMAP",
				diagtext.Detail("planning to set migration passwords through the Exmail API",
					fmt.Sprintf("%d members have 安全登录 on, so Exmail's IMAP server accepts only a 客户端专用密码 from them, which the API cannot create: %s", len(secure), strings.Join(secure, ", ")),
					"For each: the member generates a 客户端专用密码 in webmail (设置 → 邮箱绑定 → 客户端专用密码 → 生成新密码) and you put it in exmail_passwords_wo; or the member turns 安全登录 off (设置 → 微信绑定)."))
			return
		}
		change := "Each member has to choose a new password at the next web login (cpwd_login)."
		if !requirePasswordChange(plan) {
			change = "exmail_require_password_change is false: the members are not asked to change it."
		}
		d.AddAttributeWarning(path.Root("exmail_set_passwords"), "Exmail Passwords Will Change",
			fmt.Sprintf("Applying this plan sets a new random Exmail password, known to nobody, for these %d members just before they are submitted to the migration batch:\n  %s\n\n"+
				"Their old password stops working for webmail, phones and mail clients. %s Tell them before the move how to sign in meanwhile (webmail: 忘记密码 / the administrator resets it; "+
				"after the cutover they use Microsoft 365). Members bound to WeChat or a phone in a new-edition tenant cannot have their password set by an administrator; the apply names them before anything is submitted.",
				len(generated), strings.Join(generated, "\n  "), change))
	}
}

// requirePasswordChange is exmail_require_password_change, true when not set.
func requirePasswordChange(m migrationBatchModel) bool {
	return m.ExmailRequirePasswordChange.IsNull() || m.ExmailRequirePasswordChange.ValueBool()
}

// newRows keeps the rows whose EmailAddress is not among current.
func newRows(rows []usercsv.MigrationRow, current []string) []usercsv.MigrationRow {
	have := map[string]bool{}
	for _, e := range current {
		have[strings.ToLower(e)] = true
	}
	var out []usercsv.MigrationRow
	for _, r := range rows {
		if !have[strings.ToLower(r.EmailAddress)] {
			out = append(out, r)
		}
	}
	return out
}

// checkExmailRows is checkExmailMigrationRows returning the states too.
func checkExmailRows(ctx context.Context, cl *Clients, users []string, attr path.Path, planning bool, d *diagList) (*exmailReadiness, bool) {
	what := fmt.Sprintf("checking the %d source members in Tencent Exmail", len(users))
	c := cl.exmailClient(d, what, exmail.Contacts, exmail.Options)
	if c == nil {
		return nil, false
	}
	res, err := checkExmailMembers(ctx, cl, c, users, planning)
	if err != nil {
		exmailAPIError(d, "Cannot Check Exmail Members", what, err)
		return nil, false
	}
	reportExmailReadiness(ctx, res, len(users), what, attr, d)
	return res, !d.HasError()
}

// exmailPasswordClasses: Exmail documents passwords as letters and digits ("英文和数字").
var exmailPasswordClasses = []string{pwUpper, pwLower, pwDigits}

// exmailCredentials fills the passwords of the rows about to be submitted (Create: every row;
// Update: the new ones): from exmail_passwords_wo, else — with exmail_set_passwords — a fresh
// random password set through Exmail's user/update. res, when given, gets its CSV rebuilt. It
// does nothing for a CSV batch and returns false (with diagnostics) when a member cannot be
// served; then nothing has been submitted to Exchange.
func (r *migrationBatchResource) exmailCredentials(ctx context.Context, cfg tfsdk.Config, plan migrationBatchModel, res *usercsv.MigrationResult, rows []usercsv.MigrationRow, d *diagList) bool {
	if plan.ExmailMembers.IsNull() || len(rows) == 0 {
		return true
	}
	pw, _, _ := exmailPasswords(ctx, cfg, d)
	if d.HasError() {
		return false
	}
	users := make([]string, len(rows))
	for i, row := range rows {
		users[i] = row.UserName
	}
	// The plan checked these members when exmail_members was known then; it may not have been
	// (m365_exmail_imap_access.x.ready_mailboxes), so check again before any write.
	if _, ok := checkExmailRows(ctx, r.clients, users, path.Root("exmail_members"), false, d); !ok {
		return false
	}
	var c *exmail.Client
	setPW := plan.ExmailSetPasswords.ValueBool()
	mustChange := requirePasswordChange(plan)
	var failed []string
	set := 0
	for i := range rows {
		row := &rows[i]
		if p, ok := pw[strings.ToLower(row.UserName)]; ok {
			row.Password = p
			continue
		}
		if !setPW {
			failed = append(failed, fmt.Sprintf("  - %s: no password in exmail_passwords_wo", row.UserName))
			continue
		}
		if c == nil {
			if c = r.clients.exmailClient(d, "setting migration passwords in Tencent Exmail", exmail.Contacts); c == nil {
				return false
			}
		}
		p, err := randomPassword(16, exmailPasswordClasses)
		if err != nil {
			d.AddError("Cannot Generate Password", err.Error())
			return false
		}
		if err := c.SetPassword(ctx, row.UserName, p, mustChange); err != nil {
			failed = append(failed, fmt.Sprintf("  - %s: %s", row.UserName, err))
			continue
		}
		row.Password = p
		set++
	}
	tflog.Info(ctx, "Exmail migration credentials ready", map[string]any{"members": len(rows), "passwords_set_through_api": set})
	if len(failed) > 0 {
		d.AddAttributeError(path.Root("exmail_set_passwords"), "Cannot Set Exmail Migration Passwords",
			diagtext.Detail(fmt.Sprintf("setting migration passwords for %d Exmail members (user/update)", len(rows)),
				fmt.Sprintf("%d members could not be served:\n%s", len(failed), strings.Join(failed, "\n")),
				"Nothing was submitted to Exchange Online. In a new-edition (融合版) tenant an administrator cannot set the password of a member bound to WeChat or a phone: "+
					"have that member generate a 客户端专用密码 in webmail and give it in exmail_passwords_wo, or unbind the member. Passwords already set for other members "+
					"stay set (nobody knows them); the next apply sets new ones."))
		return false
	}
	if res != nil {
		res.CSV = usercsv.WriteMigration(res.Rows, false)
	}
	return true
}

// reportExmailReadiness turns a readiness result into diagnostics at attr.
func reportExmailReadiness(ctx context.Context, res *exmailReadiness, n int, what string, attr path.Path, d *diagList) {
	if len(res.Problems) == 0 {
		tflog.Info(ctx, "every Exmail source member exists, is enabled and has IMAP on", map[string]any{"members": n})
		return
	}
	d.AddAttributeError(attr, "Exmail Members Not Ready For Migration",
		diagtext.Detail(what, fmt.Sprintf("%d of %d members cannot be read over IMAP:\n%s", len(res.Problems), n, strings.Join(res.Problems, "\n")),
			"Fix each member as listed, then plan again. Nothing was changed."))
}
