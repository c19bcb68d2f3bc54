package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// TestSecretSuite is the secret suite (issue 7). examples/exmail-to-m365 was not in the tree
// when this was written, so it runs an equivalent configuration with every type of the provider
// (provider credentials, m365_domain + m365_domain_verification, m365_dns_records,
// m365_mail_client_settings, m365_subscribed_skus, m365_users_csv, m365_users and m365_user with
// write-only passwords from an ephemeral variable, m365_imap_migration_endpoint,
// m365_imap_migration_csv, m365_imap_mailbox_survey, m365_migration_batch) through the real
// provider binary with TF_LOG=trace, then searches the trace log, the state file (and its
// backup) and `terraform show -json` for the client secret and every password used.
func TestSecretSuite(t *testing.T) {
	providerDir, fakeBin := testBins(t)
	work := t.TempDir()
	mailboxes := map[string]imaptest.User{
		"zhang.san@contoso.com": {Password: "Zs-imap-Secret-71q", Folders: map[string][]imaptest.Message{"INBOX": make([]imaptest.Message, 3)}},
		"li.si@contoso.com":     {Password: "Ls-imap-Secret-82w", Folders: map[string][]imaptest.Message{"INBOX": make([]imaptest.Message, 2), "Sent": make([]imaptest.Message, 1)}},
	}
	srv := imaptest.StartMemServer(t, mailboxes, imaptest.SecuritySsl)

	seed := fakecloud.DefaultSeed()
	seed.Domains = []fakecloud.SeedDomain{{ID: "corp.com", IsVerified: true}}
	seed.IMAPRootCAs = []string{srv.CACertFile}
	for addr := range mailboxes {
		seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: addr, UsageLocation: "CN",
			AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuExchangeStandard}}}})
	}
	b, err := json.Marshal(seed)
	if err != nil {
		t.Fatal(err)
	}
	seedFile := filepath.Join(work, "seed.json")
	if err := os.WriteFile(seedFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fake, err := StartFake(fakeBin, work, "-seed", seedFile, "-auto-verify")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()

	const bulkPassword, adminPassword = "Bulk-Init-Passw0rd!93", "Admin-Init-Passw0rd!47"
	cfgDir := filepath.Join(work, "tf")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var mig strings.Builder
	mig.WriteString("EmailAddress,UserName,Password\n")
	for _, addr := range []string{"zhang.san@contoso.com", "li.si@contoso.com"} {
		fmt.Fprintf(&mig, "%s,%s,%s\n", addr, addr, mailboxes[addr].Password)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "mailboxes.csv"), []byte(mig.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := RequiredProviders + fake.Ready.ProviderBlock() + fmt.Sprintf(`
variable "bulk_password" {
  type      = string
  ephemeral = true
  sensitive = true
}

variable "admin_password" {
  type      = string
  ephemeral = true
  sensitive = true
}

data "m365_subscribed_skus" "all" {}
data "m365_mail_client_settings" "this" {}

resource "m365_domain" "new" {
  name = "newcorp.example"
}

resource "m365_domain_verification" "new" {
  domain = m365_domain.new.name
}

data "m365_dns_records" "corp" {
  domain = "corp.com"
}

data "m365_users_csv" "staff" {
  content  = "User Name,Display Name,Department\nwang.wu@corp.com,Wang Wu,Sales\nzhao.liu@corp.com,Zhao Liu,IT\n"
  defaults = { usage_location = "CN" }
}

resource "m365_users" "staff" {
  users       = data.m365_users_csv.staff.users
  password_wo = var.bulk_password
  licenses    = [{ sku = "O365_BUSINESS_PREMIUM" }]
}

resource "m365_user" "admin" {
  user_principal_name = "it.admin@corp.com"
  display_name        = "IT Admin"
  usage_location      = "CN"
  password_wo         = var.admin_password
  password_wo_version = 1
}

resource "m365_imap_migration_endpoint" "src" {
  name          = "exmail"
  remote_server = %[1]q
  port          = %[2]d
  security      = "Ssl"
}

data "m365_imap_mailbox_survey" "s" {
  csv_file      = "${path.module}/mailboxes.csv"
  remote_server = %[1]q
  port          = %[2]d
  security      = "Ssl"
  ca_file       = %[3]q
}

ephemeral "m365_imap_migration_csv" "wave" {
  path = "${path.module}/mailboxes.csv"
}

resource "m365_migration_batch" "wave" {
  name              = "wave1"
  source_endpoint   = m365_imap_migration_endpoint.src.name
  csv_wo            = ephemeral.m365_imap_migration_csv.wave.content
  csv_wo_version    = 1
  preflight_ca_file = %[3]q
  wait_for          = "synced"
}

output "messages" {
  value = data.m365_imap_mailbox_survey.s.totals.messages
}
`, srv.Host, srv.Port, srv.CACertFile)
	if err := os.WriteFile(filepath.Join(cfgDir, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tf := &Terraform{Dir: cfgDir, ProviderDir: providerDir, LogPath: filepath.Join(work, "trace.log"),
		Env: []string{"SSL_CERT_FILE=" + fake.Ready.CACertFile, "TF_VAR_bulk_password=" + bulkPassword, "TF_VAR_admin_password=" + adminPassword}}
	if out, err := tf.Run("apply", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
	if out, err := tf.Run("plan", "-no-color", "-detailed-exitcode"); err != nil {
		t.Fatalf("the second plan is not empty: %v\n%s", err, out)
	}
	show, err := tf.Run("show", "-json")
	if err != nil {
		t.Fatalf("terraform show: %v", err)
	}
	showFile := filepath.Join(work, "show.json")
	if err := os.WriteFile(showFile, []byte(show), 0o600); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(show, `"wang.wu@corp.com"`) || !strings.Contains(show, `"wave1"`) || !strings.Contains(show, `"newcorp.example"`) {
		t.Fatalf("terraform show -json lacks the resources; the search would prove nothing")
	}
	trace, err := os.ReadFile(tf.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HTTP request", "/v1.0/$batch", "InvokeCommand", "preflight"} {
		if !strings.Contains(string(trace), want) {
			t.Errorf("the trace log lacks %q: is TF_LOG reaching the provider? (%d bytes)", want, len(trace))
		}
	}
	secrets := []string{fake.Ready.ClientSecret, bulkPassword, adminPassword}
	for _, u := range mailboxes {
		secrets = append(secrets, u.Password)
	}
	files := []string{tf.LogPath, filepath.Join(cfgDir, "terraform.tfstate"), filepath.Join(cfgDir, "terraform.tfstate.backup"), showFile}
	if _, err := os.Stat(files[1]); err != nil {
		t.Fatalf("no state file: %v", err)
	}
	if hits := FindSecrets(secrets, files...); len(hits) > 0 {
		for s, where := range hits {
			t.Errorf("a secret of %d characters (starting %q) leaked into %v", len(s), s[:3], where)
		}
	}
	if strings.Contains(string(trace), "Bearer ey") {
		t.Errorf("a bearer token appears in the trace log")
	}
	t.Logf("searched %d bytes of trace log, the state and %d bytes of show -json for %d secrets", len(trace), len(show), len(secrets))
	if out, err := tf.Run("destroy", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("terraform destroy: %v\n%s", err, out)
	}
}
