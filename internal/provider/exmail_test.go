package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// exmailAuth lets an IMAP test server started before the fake (whose CA the fake must trust)
// ask the fake's Exmail API for every login.
type exmailAuth struct {
	fx atomic.Pointer[fakeexmail.Server]
}

func (a *exmailAuth) IMAPLogin(user, pass string) error {
	fx := a.fx.Load()
	if fx == nil {
		return fakeexmail.ErrIMAPRefused
	}
	return fx.IMAPLogin(user, pass)
}

// exmailProvider is the provider's exmail block for the fake, as a user would write it.
func exmailProvider(e *testEnv) string {
	fx := e.fake.Exmail()
	s := fx.Secrets()
	return fmt.Sprintf(`exmail {
    corp_id         = %q
    contacts_secret = %q
    options_secret  = %q
    log_secret      = %q
    endpoint        = %q
  }`, fx.CorpID(), s["contacts"], s["options"], s["log"], e.fake.ExmailEndpoint())
}

// exmailSourceMembers are the Exmail members behind sourceMailboxes(): li.si has IMAP off,
// every seeded password differs from the IMAP server's (the Exmail fake decides logins).
func exmailSourceMembers() []fakeexmail.Member {
	return []fakeexmail.Member{
		{UserID: "zhang.san@contoso.com", Name: "张三", DepartmentPaths: []string{"研发中心/平台组"}, Position: "工程师", Password: "Exmail2024zs", IMAP: true,
			Slaves: []string{"san.zhang@contoso.com"}},
		{UserID: "li.si@contoso.com", Name: "李四", DepartmentPaths: []string{"销售部"}, Position: "经理", Password: "Exmail2024ls", IMAP: false},
		{UserID: "wang.wu@contoso.com", Name: "王五", DepartmentPaths: []string{"研发中心"}, Password: "Exmail2024ww", IMAP: true},
	}
}

// TestAccExmailDirectoryToUsers: the address book, read through the API, creates the members in
// Microsoft 365 through m365_users with their departments, names and positions, with the domain
// rewritten for a staging tenant; a department filter narrows it.
func TestAccExmailDirectoryToUsers(t *testing.T) {
	seed := usersSeed(100, 0)
	seed.Exmail = &fakeexmail.Seed{Members: []fakeexmail.Member{
		{UserID: "zhangsan@example.cn", Name: "张三", DepartmentPaths: []string{"研发中心/平台组"}, Position: "工程师", Mobile: "13800000000", Slaves: []string{"san.zhang@example.cn"}},
		{UserID: "lisi@example.cn", Name: "李四", DepartmentPaths: []string{"销售部"}, Position: "经理"},
		{UserID: "wangwu@example.cn", Name: "王五", DepartmentPaths: []string{"研发中心"}, IMAP: true},
		{UserID: "gone@example.cn", Name: "离职", DepartmentPaths: []string{"销售部"}, Disabled: true},
	}}
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	dirHCL := func(extra string) string {
		return fmt.Sprintf(`
data "m365_exmail_directory" "src" {
  domain   = "corp.com"
  defaults = { usage_location = "CN" }
  %s
}
`, extra)
	}
	usersHCL := dirHCL("") + `
resource "m365_users" "staff" {
  users       = data.m365_exmail_directory.src.users
  password_wo = "Temp-Passw0rd!x"
  licenses    = [{ sku = "O365_BUSINESS_PREMIUM" }]
}
`
	ds := "data.m365_exmail_directory.src"
	fx := e.fake.Exmail()
	accParallelTest(t,
		resource.TestStep{
			Config: e.config(usersHCL, exmailProvider(e)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users"), knownvalue.MapSizeExact(3)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("zhangsan@corp.com").AtMapKey("department"), knownvalue.StringExact("平台组")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("zhangsan@corp.com").AtMapKey("display_name"), knownvalue.StringExact("张三")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("zhangsan@corp.com").AtMapKey("job_title"), knownvalue.StringExact("工程师")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("zhangsan@corp.com").AtMapKey("mail_nickname"), knownvalue.StringExact("zhangsan")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("zhangsan@corp.com").AtMapKey("usage_location"), knownvalue.StringExact("CN")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("mailbox_map").AtMapKey("lisi@corp.com"), knownvalue.StringExact("lisi@example.cn")),
				// The member's alias (slaves), on the member's own domain, is rewritten with it and
				// becomes a secondary address of the mailbox.
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("zhangsan@corp.com").AtMapKey("aliases"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("san.zhang@corp.com")})),
				stateCheckFunc(func() error {
					if got, ok := e.fake.RecipientFor("san.zhang@corp.com"); !ok || !strings.EqualFold(got, "zhangsan@corp.com") {
						return fmt.Errorf("mail to the alias san.zhang@corp.com reaches %q (found %t), want zhangsan@corp.com", got, ok)
					}
					return nil
				}),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("members"), knownvalue.ListSizeExact(4)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("members").AtSliceIndex(0).AtMapKey("address"), knownvalue.StringExact("gone@example.cn")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("members").AtSliceIndex(0).AtMapKey("enabled"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("members").AtSliceIndex(3).AtMapKey("department_paths"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("研发中心/平台组")})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("members").AtSliceIndex(3).AtMapKey("aliases"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("san.zhang@example.cn")})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("members").AtSliceIndex(2).AtMapKey("imap_enabled"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("members").AtSliceIndex(3).AtMapKey("imap_enabled"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("departments"), knownvalue.ListSizeExact(3)),
				stateCheckFunc(func() error {
					// The 64-bit id of 研发中心/平台组 arrives exactly (the fake's ids are above 2^53).
					id, _ := fx.DepartmentID("研发中心/平台组")
					if id <= 1<<53 {
						return fmt.Errorf("the fake's department id %d is not above 2^53", id)
					}
					return nil
				}),
				stateCheckFunc(func() error {
					want := map[string]string{"zhangsan@corp.com": "平台组", "lisi@corp.com": "销售部", "wangwu@corp.com": "研发中心"}
					got := liveUsers(e.fake)
					if len(got) != len(want) {
						return fmt.Errorf("the tenant has %d users, want %d: %v", len(got), len(want), sortedKeys(got))
					}
					for upn, dep := range want {
						u, ok := got[upn]
						if !ok || u.Department != dep || u.UsageLocation != "CN" {
							return fmt.Errorf("user %s: %+v, want department %s", upn, u, dep)
						}
					}
					return nil
				}),
			},
		},
		resource.TestStep{ // the department filter, by path, and the exact department id as a string
			Config: e.config(dirHCL(`department_filter = ["研发中心"]`)+`
output "ids" {
  value = { for d in data.m365_exmail_directory.src.departments : d.path => d.id }
}
`, exmailProvider(e)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users"), knownvalue.MapSizeExact(2)),
				statecheck.ExpectKnownOutputValueAtPath("ids", tfjsonpath.New("研发中心/平台组"), knownValueFunc(func() knownvalue.Check {
					id, _ := fx.DepartmentID("研发中心/平台组")
					return knownvalue.StringExact(fmt.Sprint(id))
				})),
			},
		},
	)
}

// knownValueFunc defers building a check until it runs.
type lazyCheck struct{ f func() knownvalue.Check }

func knownValueFunc(f func() knownvalue.Check) knownvalue.Check { return lazyCheck{f} }
func (c lazyCheck) CheckValue(v any) error                      { return c.f().CheckValue(v) }
func (c lazyCheck) String() string                              { return "lazy" }

// exmailMigrationEnv is a tenant whose source is the fake's Exmail: an IMAP server with the
// source mailboxes whose logins the Exmail API decides, and licensed Microsoft 365 mailboxes.
func exmailMigrationEnv(t *testing.T, members []fakeexmail.Member) (*testEnv, *imaptest.Server) {
	t.Helper()
	auth := &exmailAuth{}
	srv := imaptest.StartMemServerWith(t, sourceMailboxes(), imaptest.MemOptions{Security: imaptest.SecuritySsl, Auth: auth})
	seed := migrationSeed(srv)
	seed.Exmail = &fakeexmail.Seed{Members: members}
	// Every Exmail member has its licensed Microsoft 365 user (a migration row needs one).
	have := map[string]bool{}
	for _, u := range seed.Users {
		have[strings.ToLower(u.UserPrincipalName)] = true
	}
	for _, m := range members {
		if !have[strings.ToLower(m.UserID)] {
			seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: m.UserID, UsageLocation: "CN",
				AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuExchangeStandard}}}})
		}
	}
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	auth.fx.Store(e.fake.Exmail())
	return e, srv
}

func exmailBatchHCL(srv *imaptest.Server, members, extra string) string {
	return endpointHCL(srv, "") + fmt.Sprintf(`
data "m365_exmail_directory" "src" {}

resource "m365_migration_batch" "wave1" {
  name              = "wave1"
  source_endpoint   = m365_imap_migration_endpoint.src.name
  exmail_members    = %s
  preflight_ca_file = %q
  wait_for          = "synced"
  %s
}
`, members, srv.CACertFile, extra)
}

// lazySecrets is noSecrets with the secrets read when the check runs (the generated passwords
// exist only after the apply).
type lazySecrets struct{ get func() []string }

func (c lazySecrets) CheckState(ctx context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	noSecrets{secrets: c.get()}.CheckState(ctx, req, resp)
}

// TestAccExmailMigrationCredentials: a member with IMAP off stops the plan naming him; with
// m365_exmail_imap_access and exmail_set_passwords every mailbox migrates to Synced with the
// source's counts, nobody typed a password, and the generated passwords are in no state, plan,
// `show -json`, working directory or TF_LOG=trace log; destroy restores li.si's IMAP setting.
func TestAccExmailMigrationCredentials(t *testing.T) {
	e, srv := exmailMigrationEnv(t, exmailSourceMembers())
	fx := e.fake.Exmail()
	work, logFile := t.TempDir(), filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_ACC_TEMP_DIR", work)
	t.Setenv("TF_ACC_PERSIST_WORKING_DIR", "1")
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	t.Setenv("TF_LOG", "trace")
	// The app secrets come from the environment, as they should in real use: none is in the
	// configuration, so none may appear in any file Terraform writes.
	for app, env := range map[string]string{"contacts": "EXMAIL_CONTACTS_SECRET", "options": "EXMAIL_OPTIONS_SECRET", "log": "EXMAIL_LOG_SECRET"} {
		t.Setenv(env, fx.Secrets()[app])
	}
	provider := fmt.Sprintf("exmail {\n    corp_id  = %q\n    endpoint = %q\n  }", fx.CorpID(), e.fake.ExmailEndpoint())

	old := map[string]string{}
	for _, m := range exmailSourceMembers() {
		old[m.UserID] = m.Password
	}
	secrets := func() []string {
		var out []string
		for addr := range old {
			if m, ok := fx.Member(addr); ok && m.Password != old[addr] {
				out = append(out, m.Password)
			}
		}
		for _, s := range fx.Secrets() {
			out = append(out, s)
		}
		return out
	}
	addr := "m365_migration_batch.wave1"
	withAccess := `
resource "m365_exmail_imap_access" "src" {
  mailboxes = data.m365_exmail_directory.src.mailbox_map
}
`
	migrationTestSerial(t, resource.TestCase{
		CheckDestroy: func(*terraform.State) error {
			if m, _ := fx.Member("li.si@contoso.com"); m.IMAP {
				return fmt.Errorf("li.si's IMAP is still on after destroy; it was off before")
			}
			if m, _ := fx.Member("zhang.san@contoso.com"); !m.IMAP {
				return fmt.Errorf("zhang.san's IMAP was switched off by destroy; it was on before")
			}
			return nil
		},
		Steps: []resource.TestStep{
			{ // li.si has IMAP off: the plan stops, naming him with the fix; nothing is written on either side
				Config:      e.config(exmailBatchHCL(srv, "data.m365_exmail_directory.src.mailbox_map", "exmail_set_passwords = true"), provider),
				ExpectError: re(`(?s)Exmail Members Not Ready For Migration.*1 of 3 members cannot be read over IMAP.*li.si@contoso.com has IMAP/SMTP off.*m365_exmail_imap_access`),
			},
			{
				PreConfig: func() {
					if st := fx.Stats(); st.Writes != 0 {
						t.Fatalf("%d Exmail writes after a failed plan", st.Writes)
					}
					if w := exchangeWrites(e.fake); len(w) != 0 {
						t.Fatalf("Exchange writes after a failed plan: %v", w)
					}
				},
				Config: e.config(withAccess+exmailBatchHCL(srv, "data.m365_exmail_directory.src.mailbox_map", "exmail_set_passwords = true\n  depends_on = [m365_exmail_imap_access.src]"), provider),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// known at plan time: the plan names the members whose passwords change
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.ListSizeExact(3)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					lazySecrets{secrets},
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("synced"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("failed"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("exmail_passwords_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue("m365_exmail_imap_access.src", tfjsonpath.New("previous"), knownvalue.MapExact(map[string]knownvalue.Check{
						"li.si@contoso.com": knownvalue.Bool(false), "wang.wu@contoso.com": knownvalue.Bool(true), "zhang.san@contoso.com": knownvalue.Bool(true)})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("zhang.san@contoso.com").AtMapKey("items_synced"), knownvalue.Int64Exact(expectedMessages["zhang.san@contoso.com"])),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("li.si@contoso.com").AtMapKey("items_synced"), knownvalue.Int64Exact(expectedMessages["li.si@contoso.com"])),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("wang.wu@contoso.com").AtMapKey("items_synced"), knownvalue.Int64Exact(expectedMessages["wang.wu@contoso.com"])),
				},
				Check: func(*terraform.State) error {
					st := fx.Stats()
					if st.PasswordsSet != 3 || st.IMAPSwitchedOn != 1 {
						return fmt.Errorf("Exmail: %d passwords set, %d IMAP switched on; want 3 and 1", st.PasswordsSet, st.IMAPSwitchedOn)
					}
					for a, pw := range old {
						m, _ := fx.Member(a)
						if m.Password == pw || len(m.Password) != 16 || !m.CpwdLogin {
							return fmt.Errorf("%s: password not replaced by a 16-character one with cpwd_login (cpwd_login %v)", a, m.CpwdLogin)
						}
						if err := fx.IMAPLogin(a, pw); err == nil {
							return fmt.Errorf("%s: the old password still logs in", a)
						}
					}
					exo := exoClient(t, e)
					for email, u := range batchUsers(t, exo, "wave1") {
						if u.SyncedItemCount != expectedMessages[email] {
							return fmt.Errorf("the service shows %d synced items for %s, want %d", u.SyncedItemCount, email, expectedMessages[email])
						}
					}
					return nil
				},
			},
			{ // nothing changes: no new password is set
				Config:   e.config(withAccess+exmailBatchHCL(srv, "data.m365_exmail_directory.src.mailbox_map", "exmail_set_passwords = true\n  depends_on = [m365_exmail_imap_access.src]"), provider),
				PlanOnly: true,
			},
			{ // the login log (系统日志) shows the migration's client logins
				Config: e.config(withAccess+exmailBatchHCL(srv, "data.m365_exmail_directory.src.mailbox_map", "exmail_set_passwords = true\n  depends_on = [m365_exmail_imap_access.src]")+`
data "m365_exmail_directory" "logins" {
  read_last_login = true
}
`, provider),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.m365_exmail_directory.logins", tfjsonpath.New("members").AtSliceIndex(2).AtMapKey("address"), knownvalue.StringExact("zhang.san@contoso.com")),
					statecheck.ExpectKnownValue("data.m365_exmail_directory.logins", tfjsonpath.New("members").AtSliceIndex(2).AtMapKey("last_client_login"), knownvalue.StringRegexp(re(`^20\d\d-\d\d-\d\dT`))),
				},
			},
		},
	})
	s := secrets()
	if len(s) < 6 {
		t.Fatalf("expected 3 generated passwords and 3 app secrets, have %d values", len(s))
	}
	if n := grepTree(t, work, s); n == 0 {
		t.Fatal("no working-directory files were searched")
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range s {
		if strings.Contains(string(data), v) {
			t.Errorf("the TF_LOG=trace log contains a generated password or an Exmail secret")
		}
	}
	for _, want := range []string{"Exmail Passwords Will Change", "li.si@contoso.com", "/cgi-bin/user/update"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the trace log lacks %q", want)
		}
	}
	if strings.Contains(string(data), "access_token=") {
		t.Errorf("the trace log contains an access_token query")
	}
}

// TestAccExmailBadInput: each Exmail bad input stops with its diagnostic, and nothing is written
// in Exmail, Graph or Exchange.
func TestAccExmailBadInput(t *testing.T) {
	members := append(exmailSourceMembers(),
		fakeexmail.Member{UserID: "secure@contoso.com", Name: "S", Password: "Exmail2024se", IMAP: true, SecureLogin: true, ClientPassword: "ClientOnly2024"},
		fakeexmail.Member{UserID: "off@contoso.com", Name: "O", Password: "Exmail2024of", IMAP: true, Disabled: true},
		fakeexmail.Member{UserID: "bound@contoso.com", Name: "B", Password: "Exmail2024bd", IMAP: true, WeChatBound: true},
	)
	e, srv := exmailMigrationEnv(t, members)
	fx := e.fake.Exmail()
	good := exmailProvider(e)
	wrongSecret := strings.Replace(good, fmt.Sprintf("contacts_secret = %q", fx.Secrets()["contacts"]), `contacts_secret = "not-the-secret"`, 1)
	noOptions := strings.Replace(good, fmt.Sprintf("options_secret  = %q", fx.Secrets()["options"]), "", 1)
	batch := func(members, extra string) string {
		return exmailBatchHCL(srv, members, extra)
	}
	cases := []struct {
		name, provider, config, want string
	}{
		{"wrong corp secret", wrongSecret, `data "m365_exmail_directory" "x" {}`,
			`Exmail Authentication Failed.*errcode 40001: invalid credential.*Check exmail.corp_id and the secret`},
		{"missing app secret", noOptions, `data "m365_exmail_directory" "x" {}`,
			`Missing Exmail App Secret.*功能设置 \(options\).*options_secret.*EXMAIL_OPTIONS_SECRET.*工具箱 → 应用中心 → 功能设置`},
		{"unknown department", good, `
data "m365_exmail_directory" "x" {
  department_filter = ["研发中心", "不存在"]
}`, `Unknown Exmail Department.*no department has the path "不存在".*Use one of the existing paths: 研发中心, 研发中心/平台组, 销售部`},
		{"member not found", good, `
resource "m365_exmail_imap_access" "x" {
  mailboxes = { "nobody@contoso.com" = "nobody@contoso.com", "zhang.san@contoso.com" = "zhang.san@contoso.com" }
}`, `Exmail Members Not Found.*1 of 2 members.*nobody@contoso.com is not a member of the Exmail tenant \(exmail /cgi-bin/user/get: errcode 60111: userid not found\)`},
		{"disabled member in a batch", good, batch(`{ "off@contoso.com" = "off@contoso.com" }`, "exmail_set_passwords = true"),
			`Exmail Members Not Ready For Migration.*off@contoso.com is disabled.*启用`},
		{"migration check through the directory", good, `
data "m365_exmail_directory" "x" {
  migration_members = ["li.si@contoso.com", "zhang.san@contoso.com"]
}`, `Exmail Members Not Ready For Migration.*li.si@contoso.com has IMAP/SMTP off`},
		{"no password source", good, batch(`{ "zhang.san@contoso.com" = "zhang.san@contoso.com" }`, ""),
			`Missing Migration Passwords.*zhang.san@contoso.com.*exmail_set_passwords = true`},
		{"WeChat-bound member, password refused", good, batch(`{ "bound@contoso.com" = "bound@contoso.com" }`, "exmail_set_passwords = true"),
			`Cannot Set Exmail Migration Passwords.*bound@contoso.com: exmail /cgi-bin/user/update: errcode 60128: .*WeChat.*Nothing was submitted to Exchange Online.*客户端专用密码`},
		{"secure login with generated password", good, batch(`{ "secure@contoso.com" = "secure@contoso.com" }`, "exmail_set_passwords = true"),
			`Exmail Password Cannot Serve IMAP.*安全登录.*secure@contoso.com.*客户端专用密码`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.ResetStats()
			before := fx.Stats().Writes
			migrationTestSerial(t, resource.TestCase{Steps: []resource.TestStep{{
				Config:      e.config(tc.config, tc.provider),
				ExpectError: re(`(?s)` + tc.want),
			}}})
			if n := fx.Stats().Writes - before; n != 0 {
				t.Errorf("%d Exmail writes", n)
			}
			if st := e.fake.Stats(); st.Graph.Writes != 0 {
				t.Errorf("%d Graph writes", st.Graph.Writes)
			}
			// The configurations that fail at apply create their endpoint (a resource of the
			// same configuration); no batch or migration user may be written.
			for _, w := range exchangeWrites(e.fake) {
				if !strings.HasSuffix(w, "-MigrationEndpoint") {
					t.Errorf("Exchange write cmdlet %s was sent", w)
				}
			}
		})
	}
}

// TestAccExamplesExmail runs the published examples of the Exmail types against the fake's
// default address book (three members at example.cn).
func TestAccExamplesExmail(t *testing.T) {
	t.Run("exmail_directory", func(t *testing.T) {
		seed := usersSeed(100, 0)
		seed.Domains = append(seed.Domains, fakecloud.SeedDomain{ID: "example.cn", IsVerified: true})
		e := newTestEnv(t, seed, fakecloud.Knobs{})
		accParallelTest(t, resource.TestStep{
			Config: e.config(readExample(t, "examples/data-sources/m365_exmail_directory/data-source.tf"), exmailProvider(e)),
			ConfigStateChecks: []statecheck.StateCheck{
				stateCheckFunc(func() error {
					if n := len(liveUsers(e.fake)); n != 3 {
						return fmt.Errorf("the tenant has %d users, want the 3 members", n)
					}
					return nil
				}),
				statecheck.ExpectKnownOutputValue("imap_off", knownvalue.ListSizeExact(0)),
			},
		})
	})
	t.Run("exmail_imap_access", func(t *testing.T) {
		e := newTestEnv(t, nil, fakecloud.Knobs{})
		fx := e.fake.Exmail()
		fx.SetIMAP("lisi@example.cn", false)
		accParallelTest(t, resource.TestStep{
			Config: e.config(readExample(t, "examples/resources/m365_exmail_imap_access/resource.tf"), exmailProvider(e)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValueAtPath("previous_imap_setting", tfjsonpath.New("lisi@example.cn"), knownvalue.Bool(false)),
				stateCheckFunc(func() error {
					if m, _ := fx.Member("lisi@example.cn"); !m.IMAP {
						return fmt.Errorf("lisi's IMAP is still off")
					}
					return nil
				}),
			},
		})
		if m, _ := fx.Member("lisi@example.cn"); m.IMAP {
			t.Errorf("destroy did not switch lisi's IMAP off again")
		}
	})
}

// TestAccExmailPasswordsFromSecretStore: per-user passwords as write-only input (as a secret
// store would supply them), EmailAddress and UserName from the address book. A wrong one stops
// the apply at the preflight with Exmail's refusal; the right ones migrate, and no Exmail
// password is changed.
func TestAccExmailPasswordsFromSecretStore(t *testing.T) {
	e, srv := exmailMigrationEnv(t, exmailSourceMembers())
	fx := e.fake.Exmail()
	members := `{ for k, v in data.m365_exmail_directory.src.mailbox_map : k => v if v != "li.si@contoso.com" }`
	pw := func(wang string) string {
		return fmt.Sprintf(`exmail_passwords_wo = { "zhang.san@contoso.com" = "Exmail2024zs", "wang.wu@contoso.com" = %q }`, wang)
	}
	addr := "m365_migration_batch.wave1"
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{
			Config:      e.config(exmailBatchHCL(srv, members, pw("NotHisPassword1")), exmailProvider(e)),
			ExpectError: re(`(?s)Source Login Failed.*1 of 2 logins failed.*wang.wu@contoso.com: .*` + regexp.QuoteMeta("Login fail. Account is abnormal")),
		},
		{
			PreConfig: func() {
				if n := cmdletCalls(e, "New-MigrationBatch"); n != 0 {
					t.Fatalf("New-MigrationBatch ran %d times after a failed preflight", n)
				}
			},
			Config: e.config(exmailBatchHCL(srv, members, pw("Exmail2024ww")), exmailProvider(e)),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("wang.wu@contoso.com"), knownvalue.StringExact("zhang.san@contoso.com")})),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				noSecrets{secrets: []string{"Exmail2024zs", "Exmail2024ww", "NotHisPassword1"}},
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("exmail_passwords_wo"), knownvalue.Null()),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("wang.wu@contoso.com").AtMapKey("items_synced"), knownvalue.Int64Exact(expectedMessages["wang.wu@contoso.com"])),
				stateCheckFunc(func() error {
					if st := fx.Stats(); st.PasswordsSet != 0 || st.Writes != 0 {
						return fmt.Errorf("Exmail was changed: %+v", st)
					}
					return nil
				}),
			},
		},
	}})
}

// TestAccExmailUnconfirmedBehaviours covers the two readings of what Tencent does not document:
// an update of a WeChat-bound member's password that Exmail silently ignores, and cpwd_login
// blocking IMAP until the member resets the password. In both the preflight login names the
// member before anything is submitted; exmail_require_password_change = false is the way out of
// the second.
func TestAccExmailUnconfirmedBehaviours(t *testing.T) {
	members := exmailSourceMembers()
	members[0].WeChatBound = true // zhang.san
	e, srv := exmailMigrationEnv(t, members)
	fx := e.fake.Exmail()
	fx.SetOptions(func(o *fakeexmail.Options) { o.BoundPasswordIgnored = true })
	only := func(addr string) string { return fmt.Sprintf(`{ %q = %q }`, addr, addr) }
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{ // Exmail answers "updated" but keeps the old password: the preflight login names him
			Config:      e.config(exmailBatchHCL(srv, only("zhang.san@contoso.com"), "exmail_set_passwords = true"), exmailProvider(e)),
			ExpectError: re(`(?s)Source Login Failed.*1 of 1 logins failed.*zhang.san@contoso.com: .*` + regexp.QuoteMeta("Login fail.")),
		},
		{ // cpwd_login blocks IMAP in this reading: the preflight names the member ...
			PreConfig: func() {
				fx.SetOptions(func(o *fakeexmail.Options) { o.CpwdLoginBlocksIMAP = true })
				if n := cmdletCalls(e, "New-MigrationBatch"); n != 0 {
					t.Fatalf("New-MigrationBatch ran %d times", n)
				}
			},
			Config:      e.config(exmailBatchHCL(srv, only("wang.wu@contoso.com"), "exmail_set_passwords = true"), exmailProvider(e)),
			ExpectError: re(`(?s)Source Login Failed.*wang.wu@contoso.com`),
		},
		{ // ... and exmail_require_password_change = false migrates
			Config: e.config(exmailBatchHCL(srv, only("wang.wu@contoso.com"), "exmail_set_passwords = true\n  exmail_require_password_change = false"), exmailProvider(e)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("m365_migration_batch.wave1", tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
				stateCheckFunc(func() error {
					if m, _ := fx.Member("wang.wu@contoso.com"); m.CpwdLogin {
						return fmt.Errorf("cpwd_login is still set")
					}
					return nil
				}),
			},
		},
	}})
}
