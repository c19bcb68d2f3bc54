package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// exchangeWrites counts the InvokeCommand requests (answered or not) of cmdlets that change
// something: New-*, Set-*, Remove-*, Start-*, Stop-*, Complete-*, Update-*, Add-*.
func exchangeWrites(f *fakecloud.Server) []string {
	var out []string
	for _, r := range f.Requests() {
		for _, verb := range []string{"New-", "Set-", "Remove-", "Start-", "Stop-", "Complete-", "Update-", "Add-"} {
			if strings.HasPrefix(r.Cmdlet, verb) {
				out = append(out, r.Cmdlet)
			}
		}
	}
	return out
}

// TestAccSuiteBadInput is the bad-input suite (issue 7): every documented bad input of every type,
// each stopping with its exact diagnostic and with zero writes in the fake (Graph writes, and
// Exchange New-/Set-/Remove- cmdlets, attempted or not).
func TestAccSuiteBadInput(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	seed := migrationSeed(srv)
	seed.IMAPRootCAs = nil
	seed.Domains = []fakecloud.SeedDomain{{ID: "corp.com", IsVerified: true}, {ID: "pending.com"}}
	for i := range seed.SKUs {
		if seed.SKUs[i].SkuPartNumber == "O365_BUSINESS_PREMIUM" {
			seed.SKUs[i].Enabled, seed.SKUs[i].Consumed = 100, 4 // 95 free with holder@corp.com's seat
		}
	}
	seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: "taken@corp.com"}},
		// A user with a mailbox that holds the alias held@corp.com (set below).
		fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: "holder@corp.com", UsageLocation: "CN",
			AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuBusinessPremium}}}})
	e := newTestEnv(t, seed, fakecloud.Knobs{})

	// The tenant already has the endpoint "exmail" (srv), an endpoint "dead" on a closed port and
	// the batch "wave1" holding zhang.san.
	exo := exoClient(t, e)
	ctx := context.Background()
	if err := newEndpointReady(ctx, exo, exchange.NewEndpointParams{Name: "exmail", RemoteServer: srv.Host, Port: int64(srv.Port),
		Security: "Ssl", SkipVerification: true}); err != nil {
		t.Fatal(err)
	}
	if err := newEndpointReady(ctx, exo, exchange.NewEndpointParams{Name: "dead", RemoteServer: "127.0.0.1", Port: int64(closedPort(t)),
		Security: "Ssl", SkipVerification: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := exo.NewMigrationBatch(ctx, exchange.BatchSpec{Name: "wave1", SourceEndpoint: "exmail",
		CSV: []byte(migrationCSVText(users, []string{"zhang.san@contoso.com"}, nil))}); err != nil {
		t.Fatal(err)
	}

	if err := exo.SetMailboxAddresses(ctx, "holder@corp.com", []string{"held@corp.com"}, nil); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	file := func(name string, data []byte) string { return writeTestFile(t, dir, name, data) }
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("姓名,邮箱\n张三,zhang.san@corp.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	h16 := "User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region"
	row := func(upn, display string) string { return upn + ",,," + display + ",,,,,,,,,,,," }
	usersCSV := func(path string, extra string) string {
		return fmt.Sprintf(`
data "m365_users_csv" "x" {
  path = %q
  %s
}
`, path, extra)
	}
	migCSV := func(path, extra string) string {
		return fmt.Sprintf(`
ephemeral "m365_imap_migration_csv" "x" {
  path = %q
  %s
}
provider "echo" {
  data = ephemeral.m365_imap_migration_csv.x.rows
}
resource "echo" "x" {}
`, path, extra)
	}
	batch := func(name, endpoint, csvPath, extra string) string {
		return fmt.Sprintf(`
resource "m365_migration_batch" "b" {
  name            = %q
  source_endpoint = %q
  csv_file        = %q
  %s
}
`, name, endpoint, csvPath, extra)
	}
	lines := func(emails ...string) string {
		return "EmailAddress,UserName,Password\n" + strings.Join(emails, "\n") + "\n"
	}
	pw := func(email string) string { return users[email].Password }
	const wrongPassword = "Wrong-pass-5e7d"
	many := make([]string, 0, 120)
	for i := 1; i <= 120; i++ {
		many = append(many, fmt.Sprintf("m%03d@corp.com", i))
	}
	user := func(upn, extra string) string {
		return fmt.Sprintf(`
resource "m365_user" "u" {
  user_principal_name = %q
  display_name        = "U"
  password_wo         = "Temp-Passw0rd!x"
  %s
}
`, upn, extra)
	}

	group := func(address, members, owners string) string {
		return fmt.Sprintf(`
resource "m365_distribution_group" "g" {
  name                 = "g"
  primary_smtp_address = %q
  members              = %s
  owners               = %s
}
`, address, members, owners)
	}

	cases := []struct {
		name   string
		config string
		want   string
	}{
		// ---- m365_users_csv: CSV corpus samples ----
		{"users_csv GB18030 read as UTF-8", usersCSV(file("gb.csv", gb), `format = "exmail"`+"\n  encoding = \"utf-8\""),
			`Invalid User CSV.*gb.csv:1:1: invalid UTF-8 byte 0xD0 — save the file as UTF-8, or set encoding = "gb18030" \(or "auto"\)`},
		{"users_csv empty file", usersCSV(file("empty.csv", nil), ""),
			`empty.csv:1: no users: the file is empty — add the header row and one row per user`},
		{"users_csv unclosed quote", usersCSV(file("quote.csv", []byte(h16+"\n"+row("chris@contoso.com", "Chris")+"\n"+row("dan@contoso.com", `"Dan`)+"\n"+row("eve@contoso.com", "Eve")+"\n")), ""),
			`quote.csv:3:19: this quoted field is never closed, so the rest of the file was read as part of it — close the quote that opens at line 3, column 19`},
		{"users_csv too many fields", usersCSV(file("fields.csv", []byte(h16+"\nhal@contoso.com,Hal,,Hal,,,,,,,,1 Road,Beijing, China,BJ,100000,CN\n")), ""),
			`fields.csv:2:65: the row has 17 fields but the header has 16 columns — put quotes around a value that contains a comma`},
		{"users_csv non-ASCII user name", usersCSV(file("upn.csv", []byte(h16+"\n"+row("张三@corp.com", "N2")+"\n")), ""),
			`upn.csv:2:1: user name "张三@corp.com" contains non-ASCII characters — use a pinyin or Latin alias`},
		{"users_csv Graph length limit", usersCSV(file("long.csv", []byte(h16+"\n"+row("amy@contoso.com", strings.Repeat("A", 257))+"\n")), ""),
			`long.csv:2:\d+: "Display Name" is 257 characters long; Microsoft Graph allows at most 256 for displayName — shorten it to 256 characters`},
		{"users_csv unknown header", usersCSV(file("hdr.csv", []byte("Name,Mail,Phone\nA,a@corp.com,1\n")), ""),
			`hdr.csv:1:1: cannot tell the CSV format from the header; found "Name", "Mail", "Phone"`},
		{"users_csv bad columns option", usersCSV(file("ok.csv", []byte(h16+"\n"+row("a@corp.com", "A")+"\n")), `format = "custom"`+"\n  columns = { mail = \"Mail\" }"),
			`Invalid User CSV Options.*columns: unknown attribute "mail"`},

		// ---- m365_imap_migration_csv: CSV corpus samples ----
		{"migration_csv every problem", migCSV(file("mig.csv", []byte("Email Address,UserName,Password\nzhang.san@contoso.com,zhang.san,pw-1\nli.si@contoso.com,li.si@contoso.com,\nZHANG.SAN@contoso.com,zhang.san@contoso.com,pw-3\n")), ""),
			`Invalid Migration CSV.*mig.csv:1:1: attribute names can't contain spaces: "Email Address" — use EmailAddress.*mig.csv:2:23: UserName must be the full address.*mig.csv:3:37: Password is empty.*mig.csv:4:1: EmailAddress "ZHANG.SAN@contoso.com" is a duplicate of line 2`},
		{"migration_csv unknown encoding", migCSV(file("mig2.csv", []byte(lines("a@contoso.com,a@contoso.com,x"))), `encoding = "latin1"`),
			`Unknown CSV Encoding.*latin1.*auto, utf-8, utf-16, gb18030`},

		// ---- invalid attributes ----
		{"m365_user lower-case usage location", user("a@corp.com", `usage_location = "cn"`), `Invalid Usage Location.*Write it in upper case: "CN"`},
		{"m365_user non-ASCII user name", user("张三@corp.com", ""), `Invalid User Principal Name.*non-ASCII`},
		{"m365_users unknown attribute", `
resource "m365_users" "s" {
  users       = { "a@corp.com" = { display_name = "A", dept = "Sales" } }
  password_wo = "Temp-Passw0rd!x"
}
`, `Invalid User Attribute.*users\["a@corp.com"\].dept is not an attribute of a user; the attributes are.*department`},
		{"m365_users attribute of the wrong type", `
resource "m365_users" "s" {
  users       = { "a@corp.com" = { display_name = "A", business_phones = "010-1234" } }
  password_wo = "Temp-Passw0rd!x"
}
`, `users\["a@corp.com"\].business_phones must be a list of strings`},
		{"m365_users no display name", `
resource "m365_users" "s" {
  users       = { "a@corp.com" = { department = "Sales" } }
  password_wo = "Temp-Passw0rd!x"
}
`, `Missing Display Name.*users\["a@corp.com"\]`},
		{"m365_users lower-case usage location", `
resource "m365_users" "s" {
  users       = { "a@corp.com" = { display_name = "A", usage_location = "cn" } }
  password_wo = "Temp-Passw0rd!x"
}
`, `Invalid Usage Location.*Write it in upper case: "CN"`},
		// ---- email aliases: stopped at plan time, before any Exchange write ----
		{"m365_users alias on an unverified domain", `
resource "m365_users" "s" {
  users       = { "a@corp.com" = { display_name = "A", aliases = ["a@pending.com"] } }
  password_wo = "Temp-Passw0rd!x"
}
`, `Alias Domain Not Verified.*the alias a@pending.com of a@corp.com is on pending.com, which is in the tenant but not verified yet.*Add and verify the domain first`},
		{"m365_users alias held by another user", `
resource "m365_users" "s" {
  users       = { "a@corp.com" = { display_name = "A", aliases = ["a.a@corp.com", "held@corp.com"] } }
  password_wo = "Temp-Passw0rd!x"
}
`, `Alias Already In Use.*the alias held@corp.com of a@corp.com already belongs to another recipient: holder@corp.com \(UserMailbox\).*Choose another alias, or remove it from holder@corp.com first`},
		{"m365_user alias held by another user", user("a@corp.com", `aliases = ["held@corp.com"]`),
			`Alias Already In Use.*held@corp.com of a@corp.com already belongs to another recipient: holder@corp.com`},
		{"m365_users same alias on two users", `
resource "m365_users" "s" {
  users = {
    "a@corp.com" = { display_name = "A", aliases = ["team@corp.com"] }
    "b@corp.com" = { display_name = "B", aliases = ["team@corp.com"] }
  }
  password_wo = "Temp-Passw0rd!x"
}
`, `Duplicate Alias.*team@corp.com is an alias of both a@corp.com and b@corp.com.*Keep it on one user only`},
		{"m365_users too many aliases", fmt.Sprintf(`
resource "m365_users" "s" {
  users       = { "a@corp.com" = { display_name = "A", aliases = [%s] } }
  password_wo = "Temp-Passw0rd!x"
}
`, manyAliases(299)), `Too Many Aliases.*a@corp.com has 299 aliases; Exchange Online allows 300 proxy addresses per recipient`},
		{"m365_users not a map", `
resource "m365_users" "s" {
  users       = ["a@corp.com"]
  password_wo = "Temp-Passw0rd!x"
}
`, `users must be a map of users keyed by user principal name`},
		{"m365_users no password", `
resource "m365_users" "s" {
  users = { "a@corp.com" = { display_name = "A" } }
}
`, `Password Required.*password_wo.*generate_initial_passwords = true`},
		{"endpoint incremental syncs over concurrent migrations", `
resource "m365_imap_migration_endpoint" "e" {
  name                             = "bad"
  remote_server                    = "imap.exmail.qq.com"
  max_concurrent_migrations        = 100
  max_concurrent_incremental_syncs = 150
}
`, `Too Many Incremental Syncs.*\(150\) is greater than max_concurrent_migrations \(100\)`},

		// ---- mail objects: distribution groups, DKIM, DMARC ----
		{"distribution group with a member that does not exist", group("g1@corp.com", `["taken@corp.com", "ghost@corp.com"]`, `["taken@corp.com"]`),
			`Member Not Found.*planning the distribution group g.*1 of the addresses are not users or distribution groups of the tenant: ghost@corp.com`},
		{"distribution group owner that does not exist", group("g2@corp.com", `["taken@corp.com"]`, `["nobody@corp.com"]`),
			`Owner Not Found.*not users of the tenant: nobody@corp.com`},
		{"distribution group sender that does not exist", strings.Replace(group("g5@corp.com", `[]`, `["taken@corp.com"]`), "owners ", `accept_messages_only_from = ["g5@corp.com", "stranger@corp.com"]
  owners `, 1),
			`Sender Not Found.*not users or distribution groups of the tenant: stranger@corp.com`},
		{"distribution group on an unverified domain", group("g3@pending.com", `[]`, `["taken@corp.com"]`),
			`Domain Not Verified.*the domain pending.com is in the tenant but not verified yet.*Addresses on it: g3@pending.com`},
		{"distribution group name too long", strings.Replace(group("g4@corp.com", `[]`, `["taken@corp.com"]`), `name                 = "g"`, `name                 = "`+strings.Repeat("n", 65)+`"`, 1),
			`name.*string length must be between 1 and 64`},
		{"dkim key size", `
resource "m365_dkim" "d" {
  domain   = "corp.com"
  key_size = 4096
}
`, `key_size.*value must be one of`},
		{"dmarc policy", `
data "m365_dns_records" "x" {
  domain       = "corp.com"
  dmarc_policy = "block"
}
`, `dmarc_policy.*value must be one of.*quarantine`},
		{"dmarc report address", `
data "m365_dns_records" "x" {
  domain    = "corp.com"
  dmarc_rua = ["reports at corp.com"]
}
`, `dmarc_rua.*must be an email address`},

		// ---- tenant-dependent plan-time checks ----
		{"unverified and foreign domains", `
resource "m365_users" "s" {
  users = {
    "a@pending.com" = { display_name = "A" }
    "b@other.com"   = { display_name = "B" }
  }
  generate_initial_passwords = true
}
`, `Domain Not Verified.*pending.com is in the tenant but not verified yet.*the domain other.com is not a domain of the tenant`},
		{"licence shortfall", usersConfig(adminCSV(many, nil), ""),
			`Not Enough Licences.*needs 120 O365_BUSINESS_PREMIUM seats, 95 are free: buy 25 or remove 25 users`},
		{"user exists, not managed", user("taken@corp.com", `usage_location = "CN"`), `User Already Exists.*terraform import <address of this m365_user> taken@corp.com`},
		{"users in another batch", batch("wave2", "exmail", file("wave2.csv", []byte(migrationCSVText(users, []string{"zhang.san@contoso.com", "li.si@contoso.com"}, nil))),
			fmt.Sprintf("preflight_ca_file = %q", srv.CACertFile)),
			`User Already In Another Migration Batch.*planning the migration batch wave2.*zhang.san@contoso.com is in migration batch "wave1".*Remove these rows`},

		// ---- the source IMAP server ----
		{"wrong IMAP password", batch("wave3", "exmail", file("wrong.csv", []byte(lines("li.si@contoso.com,li.si@contoso.com,"+wrongPassword, "wang.wu@contoso.com,wang.wu@contoso.com,"+pw("wang.wu@contoso.com")))),
			fmt.Sprintf("preflight_ca_file = %q", srv.CACertFile)),
			`Source Login Failed.*1 of 2 logins failed.*line 2, li.si@contoso.com: .*(?i:authentication).*Correct the UserName/Password.*Nothing was submitted`},
		{"unreachable IMAP server", batch("wave4", "dead", file("dead.csv", []byte(lines("li.si@contoso.com,li.si@contoso.com,"+pw("li.si@contoso.com")))), ""),
			`Source Login Failed.*1 of 1 logins failed.*li.si@contoso.com: cannot connect to 127.0.0.1:\d+.*Check the endpoint's remote_server, port and security.*Nothing was submitted`},
		{"TLS failure", batch("wave5", "exmail", file("tls.csv", []byte(lines("li.si@contoso.com,li.si@contoso.com,"+pw("li.si@contoso.com"), "wang.wu@contoso.com,wang.wu@contoso.com,"+pw("wang.wu@contoso.com")))), ""),
			`Source Login Failed.*2 of 2 logins failed.*TLS.*preflight_ca_file.*accept_untrusted_certificates.*Nothing was submitted`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.ResetStats()
			migrationTest(t, resource.TestCase{Steps: []resource.TestStep{{
				Config:      e.config(tc.config),
				ExpectError: re(`(?s)` + tc.want),
			}}})
			st := e.fake.Stats()
			if st.Graph.Writes != 0 {
				t.Errorf("%d Graph writes", st.Graph.Writes)
			}
			if w := exchangeWrites(e.fake); len(w) != 0 {
				t.Errorf("Exchange write cmdlets were sent: %v", w)
			}
		})
	}
}

// manyAliases is n alias addresses on corp.com, as HCL list elements.
func manyAliases(n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%q", fmt.Sprintf("a%03d@corp.com", i))
	}
	return strings.Join(out, ", ")
}
