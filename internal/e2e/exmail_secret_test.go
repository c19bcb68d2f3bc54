package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// TestSecretSuiteExmail extends the secret suite to the Exmail source: the standalone fake serves
// the Exmail API, the in-process IMAP source asks it for every login, and a configuration reads
// the address book (m365_exmail_directory), opens IMAP (m365_exmail_imap_access) and migrates with
// passwords the provider sets through the API (exmail_set_passwords), through the real provider
// binary with TF_LOG=trace and the app secrets in EXMAIL_* variables. Then the trace log, the
// state (and its backup) and `terraform show -json` are searched for the three app secrets, the
// members' old passwords and the passwords the provider generated.
func TestSecretSuiteExmail(t *testing.T) {
	providerDir, fakeBin := testBins(t)
	work := t.TempDir()
	mailboxes := map[string]imaptest.User{
		"zhang.san@contoso.com": {Folders: map[string][]imaptest.Message{"INBOX": make([]imaptest.Message, 3)}},
		"li.si@contoso.com":     {Folders: map[string][]imaptest.Message{"INBOX": make([]imaptest.Message, 2), "Sent Messages": make([]imaptest.Message, 1)}},
	}
	oldPasswords := map[string]string{"zhang.san@contoso.com": "ZsExmailOld2024", "li.si@contoso.com": "LsExmailOld2024"}
	auth := &fakeexmail.RemoteAuth{}
	srv := imaptest.StartMemServerWith(t, mailboxes, imaptest.MemOptions{Security: imaptest.SecuritySsl, Auth: auth})

	seed := fakecloud.DefaultSeed()
	seed.IMAPRootCAs = []string{srv.CACertFile}
	for addr := range mailboxes {
		seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: addr, UsageLocation: "CN",
			AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuExchangeStandard}}}})
	}
	seed.Exmail = &fakeexmail.Seed{Members: []fakeexmail.Member{
		{UserID: "zhang.san@contoso.com", Name: "张三", DepartmentPaths: []string{"研发中心"}, Password: oldPasswords["zhang.san@contoso.com"], IMAP: true},
		{UserID: "li.si@contoso.com", Name: "李四", DepartmentPaths: []string{"销售部"}, Password: oldPasswords["li.si@contoso.com"]},
	}}
	b, err := json.Marshal(seed)
	if err != nil {
		t.Fatal(err)
	}
	seedFile := filepath.Join(work, "seed.json")
	if err := os.WriteFile(seedFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fake, err := StartFake(fakeBin, work, "-seed", seedFile)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()
	r := fake.Ready
	if r.ExmailEndpoint == "" || r.ExmailCorpID == "" || len(r.ExmailSecrets) != 3 {
		t.Fatalf("the ready file lacks the Exmail fields: %+v", r)
	}
	caPEM, err := os.ReadFile(r.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	auth.Endpoint, auth.Client = r.ExmailEndpoint, client

	cfgDir := filepath.Join(work, "tf")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	provider := strings.Replace(r.ProviderBlock(), "  endpoints {", fmt.Sprintf("  exmail {\n    corp_id  = %q\n    endpoint = %q\n  }\n  endpoints {", r.ExmailCorpID, r.ExmailEndpoint), 1)
	cfg := RequiredProviders + provider + fmt.Sprintf(`
data "m365_exmail_directory" "src" {}

resource "m365_exmail_imap_access" "src" {
  mailboxes = data.m365_exmail_directory.src.mailbox_map
}

resource "m365_imap_migration_endpoint" "src" {
  name          = "exmail"
  remote_server = %[1]q
  port          = %[2]d
  security      = "Ssl"
}

resource "m365_migration_batch" "wave" {
  name                 = "wave1"
  source_endpoint      = m365_imap_migration_endpoint.src.name
  exmail_members       = data.m365_exmail_directory.src.mailbox_map
  exmail_set_passwords = true
  preflight_ca_file    = %[3]q
  wait_for             = "synced"
  depends_on           = [m365_exmail_imap_access.src]
}

output "synced" {
  value = m365_migration_batch.wave.counts.synced
}
`, srv.Host, srv.Port, srv.CACertFile)
	if err := os.WriteFile(filepath.Join(cfgDir, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tf := &Terraform{Dir: cfgDir, ProviderDir: providerDir, LogPath: filepath.Join(work, "trace.log"),
		Env: []string{"SSL_CERT_FILE=" + r.CACertFile, "EXMAIL_CONTACTS_SECRET=" + r.ExmailSecrets["contacts"],
			"EXMAIL_OPTIONS_SECRET=" + r.ExmailSecrets["options"], "EXMAIL_LOG_SECRET=" + r.ExmailSecrets["log"]}}
	out, err := tf.Run("apply", "-auto-approve", "-no-color")
	if err != nil {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
	for _, want := range []string{"Exmail Passwords Will Change", "li.si@contoso.com", "zhang.san@contoso.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("the apply's plan output lacks %q", want)
		}
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
	if !strings.Contains(show, `"wave1"`) || !strings.Contains(show, `"synced":2`) && !strings.Contains(show, `"synced": 2`) {
		t.Fatalf("terraform show -json lacks the synced batch; the search would prove nothing")
	}

	// The generated passwords, read from the fake (test hook): each changed, 16 characters.
	resp, err := client.Get(r.ExmailEndpoint + "/_fake/members")
	if err != nil {
		t.Fatal(err)
	}
	var members []fakeexmail.Member
	err = json.NewDecoder(resp.Body).Decode(&members)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{r.ClientSecret, r.ExmailSecrets["contacts"], r.ExmailSecrets["options"], r.ExmailSecrets["log"]}
	for _, m := range members {
		if m.Password == oldPasswords[m.UserID] || len(m.Password) != 16 || !m.CpwdLogin || !m.IMAP {
			t.Errorf("%s: password not replaced, cpwd_login %v, IMAP %v", m.UserID, m.CpwdLogin, m.IMAP)
		}
		secrets = append(secrets, m.Password, oldPasswords[m.UserID])
	}
	files := []string{tf.LogPath, filepath.Join(cfgDir, "terraform.tfstate"), filepath.Join(cfgDir, "terraform.tfstate.backup"), showFile}
	if hits := FindSecrets(secrets, files...); len(hits) > 0 {
		for s, where := range hits {
			t.Errorf("a secret of %d characters (starting %q) leaked into %v", len(s), s[:3], where)
		}
	}
	trace, err := os.ReadFile(tf.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/cgi-bin/user/update", "/cgi-bin/useroption/update", "/cgi-bin/gettoken"} {
		if !strings.Contains(string(trace), want) {
			t.Errorf("the trace log lacks %q: is TF_LOG reaching the provider?", want)
		}
	}
	if strings.Contains(string(trace), "access_token=") || strings.Contains(string(trace), "corpsecret=") {
		t.Errorf("the trace log contains an access_token or corpsecret query")
	}
	t.Logf("searched %d bytes of trace log, the state and %d bytes of show -json for %d secrets", len(trace), len(show), len(secrets))
	if out, err := tf.Run("destroy", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("terraform destroy: %v\n%s", err, out)
	}
}
