package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// TestMain removes the fake cloud's process CA directory when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	_ = fakecloud.CleanupProcessCA()
	os.Exit(code)
}

// TestAccDemo runs the example's phase 1, the wrong-password CSV and phase 2 through Run, the
// code path of `make demo`, so that the example cannot rot.
func TestAccDemo(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("TF_ACC is not set: this test builds the provider and runs terraform")
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("terraform is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	var log strings.Builder
	rep, err := Run(ctx, Options{RepoRoot: "../..", WorkDir: filepath.Join(tmp, "work"), ProviderDir: filepath.Join(tmp, "bin"), Log: &log})
	t.Log(log.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.DomainVerified || !strings.HasPrefix(rep.VerificationTXT, "MS=ms") {
		t.Errorf("domain verified=%t with TXT %q", rep.DomainVerified, rep.VerificationTXT)
	}
	if len(rep.LicensedUsers) != len(Mailboxes) {
		t.Errorf("%d users licensed, want %d: %v", len(rep.LicensedUsers), len(Mailboxes), rep.LicensedUsers)
	}
	for upn, skus := range rep.LicensedUsers {
		if len(skus) != 1 || skus[0] != "O365_BUSINESS_PREMIUM" {
			t.Errorf("%s has licences %v", upn, skus)
		}
	}
	// The display names come from the GB18030 export, decoded.
	if rep.DisplayNames["chen.xiaoming@contoso.com"] != "陈晓明" || rep.DisplayNames["zhang.san@contoso.com"] != "张三" {
		t.Errorf("display names %v", rep.DisplayNames)
	}
	if rep.BatchStatus != "Synced" {
		t.Errorf("batch status %q", rep.BatchStatus)
	}
	// The export's 别名 column: each alias delivers to its user's mailbox.
	for upn, want := range map[string][]string{"zhang.san@contoso.com": {"zs@contoso.com"}, "li.si@contoso.com": {"lisi@contoso.com", "si.li@contoso.com"}} {
		if fmt.Sprint(rep.Aliases[upn]) != fmt.Sprint(want) {
			t.Errorf("%s: aliases %v, want %v", upn, rep.Aliases[upn], want)
		}
		for _, a := range want {
			if rep.AliasRecipients[a] != upn {
				t.Errorf("mail to %s reaches %q, want %s", a, rep.AliasRecipients[a], upn)
			}
		}
	}
	seeded := SeededMessages()
	if len(rep.BatchUsers) != len(seeded) {
		t.Errorf("batch users %v", rep.BatchUsers)
	}
	for addr, want := range seeded {
		u := rep.BatchUsers[addr]
		if u.Status != "Synced" || u.ItemsSynced != want {
			t.Errorf("%s: %s with %d items synced, seeded %d", addr, u.Status, u.ItemsSynced, want)
		}
	}
	// data/imap-migration-wrong-password.csv differs from the good CSV in wang.wu's password only.
	good, err := readPasswords("../../" + ExampleDir + "/data/imap-migration.csv")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := readPasswords("../../" + ExampleDir + "/data/imap-migration-wrong-password.csv")
	if err != nil {
		t.Fatal(err)
	}
	var differ []string
	for addr, pw := range good {
		if bad[addr] != pw {
			differ = append(differ, addr)
		}
	}
	if len(differ) != 1 || rep.WrongPasswordUser != differ[0] {
		t.Errorf("the preflight named %q; the CSVs differ for %v", rep.WrongPasswordUser, differ)
	}
	if !rep.WrongPasswordStopped || rep.WrongPasswordSubmitted != 0 {
		t.Errorf("wrong-password apply: stopped=%t, %d migration writes submitted", rep.WrongPasswordStopped, rep.WrongPasswordSubmitted)
	}
	if len(rep.MXResolved) != 1 || rep.MXResolved[0] != "contoso-com.mail.protection.outlook.com." {
		t.Errorf("MX resolves to %v, want only Microsoft 365", rep.MXResolved)
	}
	if len(rep.RemovedRecords) == 0 || !strings.Contains(strings.Join(rep.RemovedRecords, ";"), "mxbiz1.qq.com") {
		t.Errorf("Exmail's records were not removed: %v", rep.RemovedRecords)
	}
	if rep.SyncNowRuns != 1 {
		t.Errorf("the final apply ran Set-MigrationBatch %d times, want 1 (-SyncNow)", rep.SyncNowRuns)
	}
	if _, err := time.Parse(time.RFC3339, rep.RemoveBatchAfter); err != nil {
		t.Errorf("remove_batch_after %q: %v", rep.RemoveBatchAfter, err)
	}
	if rep.ClientSettings["imap"] != "outlook.office365.com:993 SSL" {
		t.Errorf("client settings %v", rep.ClientSettings)
	}
	// Mail objects: the Exmail group with its members and outside-sender rule, DKIM enabled after
	// the CNAMEs were published with the cutover records, DMARC published, client advice.
	if g, ok := rep.MailGroups["sales@contoso.com"]; !ok || strings.Join(g.Members, ",") != "li.si@contoso.com,wang.wu@contoso.com" || !g.AllowExternalSenders {
		t.Errorf("mail groups %v", rep.MailGroups)
	}
	if !rep.DKIM.Enabled || rep.DKIM.Status != "Valid" || !strings.HasSuffix(rep.DKIM.Selector1, ".dkim.mail.microsoft") {
		t.Errorf("DKIM %+v", rep.DKIM)
	}
	if len(rep.DMARC) != 1 || rep.DMARC[0] != "v=DMARC1; p=none" {
		t.Errorf("DMARC %v", rep.DMARC)
	}
	if !strings.Contains(rep.ClientAdvice, "Outlook") {
		t.Errorf("client advice %q", rep.ClientAdvice)
	}
}

// TestExampleFormatted: the example (with its DNSPod files) is `terraform fmt` clean.
func TestExampleFormatted(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH")
	}
	out, err := exec.Command(tf, "fmt", "-check", "-diff", "-recursive", "../../"+ExampleDir).CombinedOutput()
	if err != nil {
		t.Errorf("terraform fmt -check: %v\n%s", err, out)
	}
}

// TestReadPasswords: the migration CSV that seeds the IMAP source is read by header.
func TestReadPasswords(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.csv")
	if err := os.WriteFile(p, []byte("EmailAddress,UserName,Password\nA@x.com,a@x.com,pw1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readPasswords(p)
	if err != nil || got["a@x.com"] != "pw1" || len(got) != 1 {
		t.Errorf("readPasswords = %v, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("Email,Password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readPasswords(p); err == nil {
		t.Error("a wrong header was accepted")
	}
}

// TestAccDemoExmailAPI runs the example's source_mode = "exmail_api" variant through RunExmailAPI:
// users from the Exmail API, IMAP switched on, passwords set by the provider, every mailbox
// Synced with the source's counts, IMAP restored.
func TestAccDemoExmailAPI(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("TF_ACC is not set: this test builds the provider and runs terraform")
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("terraform is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	var log strings.Builder
	rep, err := RunExmailAPI(ctx, Options{RepoRoot: "../..", WorkDir: filepath.Join(tmp, "work"), ProviderDir: filepath.Join(tmp, "bin"), Log: &log})
	t.Log(log.String())
	if err != nil {
		t.Fatalf("RunExmailAPI: %v", err)
	}
	var report strings.Builder
	_, _ = rep.WriteTo(&report)
	t.Log(report.String())
	if rep.DisplayNames["chen.xiaoming@contoso.com"] != "陈晓明" || rep.PasswordsTyped != 0 {
		t.Errorf("display names %v, passwords typed %d", rep.DisplayNames, rep.PasswordsTyped)
	}
}
