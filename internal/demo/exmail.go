package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// ExmailMembers are the Exmail address book of the API variant: the mailboxes of Mailboxes with
// their names and departments; li.si and zhao.liu have IMAP off, as Exmail's default leaves it.
var ExmailMembers = []fakeexmail.Member{
	{UserID: "zhang.san@contoso.com", Name: "张三", DepartmentPaths: []string{"研发中心/平台组"}, Position: "工程师", Password: "OldExmail2024a", IMAP: true},
	{UserID: "li.si@contoso.com", Name: "李四", DepartmentPaths: []string{"销售部"}, Position: "经理", Password: "OldExmail2024b"},
	{UserID: "wang.wu@contoso.com", Name: "王五", DepartmentPaths: []string{"研发中心"}, Password: "OldExmail2024c", IMAP: true},
	{UserID: "zhao.liu@contoso.com", Name: "赵六", DepartmentPaths: []string{"财务部"}, Password: "OldExmail2024d"},
	{UserID: "chen.xiaoming@contoso.com", Name: "陈晓明", DepartmentPaths: []string{"研发中心/平台组"}, Password: "OldExmail2024e", IMAP: true},
}

// ExmailReport is what the API variant proved.
type ExmailReport struct {
	MembersRead     int
	IMAPSwitchedOn  int
	CredentialsSet  int
	PasswordsTyped  int // source passwords given by anyone: always 0 in this variant
	DomainVerified  bool
	LicensedUsers   map[string][]string
	DisplayNames    map[string]string
	BatchStatus     string
	BatchUsers      map[string]UserResult
	IMAPRestoredOff int // members whose IMAP was off again after m365_exmail_imap_access was destroyed
	Elapsed         time.Duration
}

// lateAuth lets the IMAP source, started before the fake (whose migration engine must trust its
// CA), ask the fake's Exmail API for every login.
type lateAuth struct {
	fx atomic.Pointer[fakeexmail.Server]
}

func (a *lateAuth) IMAPLogin(user, pass string) error {
	if fx := a.fx.Load(); fx != nil {
		return fx.IMAPLogin(user, pass)
	}
	return fakeexmail.ErrIMAPRefused
}

// RunExmailAPI runs the example with source_mode = "exmail_api": users from Exmail's address book
// through the API, IMAP switched on by m365_exmail_imap_access, migration passwords set by the
// provider (exmail_set_passwords) — nobody types a source password — then sets
// exmail_imap_restore, which switches IMAP off again where it was off and leaves the batch alone.
func RunExmailAPI(ctx context.Context, opts Options) (rep *ExmailReport, err error) {
	start := time.Now()
	logf := progress(opts.Log)
	tb := &runTB{}
	defer tb.close()
	defer recoverFatal(&err)
	tf, root, work, provDir, err := prepare(ctx, opts, logf)
	if err != nil {
		return nil, err
	}
	cfgDir := filepath.Join(work, "exmail-to-m365")
	if err := copyExample(filepath.Join(root, ExampleDir), cfgDir); err != nil {
		return nil, err
	}

	// The IMAP source: the mailboxes, with logins decided by the local Exmail API.
	placeholder := map[string]string{}
	for addr := range Mailboxes {
		placeholder[addr] = "unused-the-exmail-api-decides"
	}
	users, err := imapUsers(placeholder)
	if err != nil {
		return nil, err
	}
	auth := &lateAuth{}
	imap := imaptest.StartMemServerWith(tb, users, imaptest.MemOptions{Security: imaptest.SecuritySsl, Auth: auth})
	dnsSrv, err := dnstest.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the DNS server: %w", err)
	}
	defer func() { _ = dnsSrv.Close() }()
	seed := fakecloud.DefaultSeed()
	seed.IMAPRootCAs = []string{imap.CACertFile}
	seed.Exmail = &fakeexmail.Seed{Members: ExmailMembers}
	fake, err := fakecloud.Start(fakecloud.Options{Seed: seed, Knobs: fakecloud.Knobs{DNSServer: dnsSrv.Addr}})
	if err != nil {
		return nil, fmt.Errorf("starting the local Microsoft 365: %w", err)
	}
	defer func() { _ = fake.Close() }()
	fx := fake.Exmail()
	auth.fx.Store(fx)
	logf("local Exmail API %s (corp %s): %d members; IMAP source %s; Microsoft 365 graph %s", fake.ExmailEndpoint(), fx.CorpID(), len(ExmailMembers), imap.Addr, fake.GraphEndpoint())

	r := &runner{tf: tf, dir: cfgDir, logDir: filepath.Join(work, "logs"), log: logf}
	if err := os.MkdirAll(r.logDir, 0o755); err != nil {
		return nil, err
	}
	cliConfig := filepath.Join(work, "terraformrc")
	if err := os.WriteFile(cliConfig, []byte(fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"m365-migration/m365\" = %q\n  }\n  direct {}\n}\n", provDir)), 0o644); err != nil {
		return nil, err
	}
	secrets := fx.Secrets()
	r.env = terraformEnv(map[string]string{
		"TF_CLI_CONFIG_FILE": cliConfig, "SSL_CERT_FILE": fake.CACertFile(),
		"ARM_TENANT_ID": fake.TenantID(), "ARM_CLIENT_ID": fake.ClientID(), "ARM_CLIENT_SECRET": fake.ClientSecret(),
		"EXMAIL_CONTACTS_SECRET": secrets[fakeexmail.AppContacts], "EXMAIL_OPTIONS_SECRET": secrets[fakeexmail.AppOptions],
		"TF_VAR_initial_password": "Welcome-2025!Demo", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1",
		"TF_DATA_DIR": filepath.Join(work, ".terraform"),
	})
	vars := map[string]any{
		"endpoints":    map[string]string{"login": fake.LoginEndpoint(), "graph": fake.GraphEndpoint(), "exchange": fake.ExchangeEndpoint()},
		"dns_provider": "manual", "dns_resolver": dnsSrv.Addr,
		"imap_host": imap.Host, "imap_port": imap.Port, "imap_security": imap.Security, "imap_ca_file": imap.CACertFile,
		"source_mode": "exmail_api", "exmail": map[string]string{"corp_id": fx.CorpID(), "endpoint": fake.ExmailEndpoint()},
		"exmail_set_passwords": true,
	}
	rep = &ExmailReport{}

	logf("exmail_api: adding the domain (targeted apply) to learn its verification TXT record")
	if _, err := r.apply(ctx, "api-1-domain", vars, "-target=m365_domain.company"); err != nil {
		return nil, err
	}
	out, err := r.outputs(ctx)
	if err != nil {
		return nil, err
	}
	var txt string
	if err := json.Unmarshal(out["verification_txt"], &txt); err != nil || txt == "" {
		return nil, fmt.Errorf("the targeted apply gave no verification_txt output (%s)", out["verification_txt"])
	}
	dnsSrv.SetTXT(Domain, txt)

	logf("exmail_api: address book → users, IMAP on, passwords set by the provider, migration until Synced")
	text, err := r.apply(ctx, "api-2-phase1", vars)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(text, "Exmail Passwords Will Change") {
		return nil, errors.New("the plan did not warn which members' Exmail passwords change")
	}
	if out, err = r.outputs(ctx); err != nil {
		return nil, err
	}
	var base Report
	if err := phase1Facts(out, &base); err != nil {
		return nil, err
	}
	st := fx.Stats()
	rep.MembersRead, rep.IMAPSwitchedOn, rep.CredentialsSet = len(ExmailMembers), st.IMAPSwitchedOn, st.PasswordsSet
	rep.DomainVerified, rep.LicensedUsers, rep.DisplayNames = base.DomainVerified, base.LicensedUsers, base.DisplayNames
	rep.BatchStatus, rep.BatchUsers = base.BatchStatus, base.BatchUsers
	logf("exmail_api done: %d members read, IMAP switched on for %d, credentials set for %d, batch %s", rep.MembersRead, rep.IMAPSwitchedOn, rep.CredentialsSet, rep.BatchStatus)

	logf("exmail_api: exmail_imap_restore = true (after the move) puts the IMAP settings back; the batch stays")
	before := len(fake.Requests())
	if _, err := r.apply(ctx, "api-3-restore", withVars(vars, map[string]any{"exmail_imap_restore": true})); err != nil {
		return nil, err
	}
	for _, rec := range fake.Requests()[before:] {
		if rec.Status/100 == 2 && isBatchWrite(rec.Cmdlet) {
			return nil, fmt.Errorf("restoring the IMAP settings changed the migration batch (%s)", rec.Cmdlet)
		}
	}
	for _, m := range ExmailMembers {
		if now, _ := fx.Member(m.UserID); !m.IMAP && !now.IMAP {
			rep.IMAPRestoredOff++
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, rep.check()
}

// progress returns the "==> " line logger of w (nil: discard).
func progress(w io.Writer) func(format string, args ...any) {
	if w == nil {
		w = io.Discard
	}
	return func(format string, args ...any) { _, _ = fmt.Fprintf(w, "==> "+format+"\n", args...) }
}

// recoverFatal turns the panic of runTB.Fatalf into the run's error (deferred by Run and
// RunExmailAPI).
func recoverFatal(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(fatalError)
		if !ok {
			panic(r)
		}
		*err = errors.New(f.msg)
	}
}

// prepare finds terraform, resolves and prepares the directories of opts (WorkDir emptied) and
// builds the provider into ProviderDir. Run and RunExmailAPI share it.
func prepare(ctx context.Context, opts Options, logf func(string, ...any)) (tf, root, work, provDir string, err error) {
	tf = opts.Terraform
	if tf == "" {
		if tf, err = exec.LookPath("terraform"); err != nil {
			return "", "", "", "", errors.New("terraform is not on PATH (Terraform ≥ 1.11 is required)")
		}
	}
	if root, err = filepath.Abs(opts.RepoRoot); err != nil {
		return
	}
	if work, err = filepath.Abs(opts.WorkDir); err != nil {
		return
	}
	if err = os.RemoveAll(work); err != nil {
		return
	}
	if provDir, err = filepath.Abs(opts.ProviderDir); err != nil {
		return
	}
	for _, d := range []string{work, provDir} {
		if err = os.MkdirAll(d, 0o755); err != nil {
			return
		}
	}
	logf("building the provider into %s", provDir)
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(provDir, "terraform-provider-m365"), ".")
	build.Dir = root
	if out, berr := build.CombinedOutput(); berr != nil {
		err = fmt.Errorf("go build: %v\n%s", berr, out)
	}
	return
}

func (rep *ExmailReport) check() error {
	var problems []string
	if !rep.DomainVerified {
		problems = append(problems, "the domain is not verified")
	}
	if len(rep.LicensedUsers) != len(ExmailMembers) {
		problems = append(problems, fmt.Sprintf("%d users licensed, want %d", len(rep.LicensedUsers), len(ExmailMembers)))
	}
	if rep.CredentialsSet != len(ExmailMembers) {
		problems = append(problems, fmt.Sprintf("credentials set for %d members, want %d", rep.CredentialsSet, len(ExmailMembers)))
	}
	if rep.IMAPSwitchedOn != 2 || rep.IMAPRestoredOff != 2 {
		problems = append(problems, fmt.Sprintf("IMAP switched on for %d and off again for %d, want 2 and 2", rep.IMAPSwitchedOn, rep.IMAPRestoredOff))
	}
	if rep.BatchStatus != "Synced" {
		problems = append(problems, "batch status "+rep.BatchStatus)
	}
	for addr, u := range rep.BatchUsers {
		if u.ItemsSynced != u.Seeded || u.Status != "Synced" {
			problems = append(problems, fmt.Sprintf("%s: %s, %d items synced of %d", addr, u.Status, u.ItemsSynced, u.Seeded))
		}
	}
	if len(problems) > 0 {
		return errors.New("exmail_api demo failed: " + strings.Join(problems, "; "))
	}
	return nil
}

// WriteTo prints the report.
func (rep *ExmailReport) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nExmail API variant (source_mode = \"exmail_api\") report\n")
	fmt.Fprintf(&b, "  address book      %d members read through Exmail's open API\n", rep.MembersRead)
	fmt.Fprintf(&b, "  IMAP              switched on for %d members; switched off again for %d after the move\n", rep.IMAPSwitchedOn, rep.IMAPRestoredOff)
	fmt.Fprintf(&b, "  credentials       set for %d members through the API (random, cpwd_login); %d passwords typed\n", rep.CredentialsSet, rep.PasswordsTyped)
	fmt.Fprintf(&b, "  users             %d created and licensed\n", len(rep.LicensedUsers))
	for _, upn := range sortedKeys(rep.LicensedUsers) {
		fmt.Fprintf(&b, "    %-27s %-4s %s\n", upn, rep.DisplayNames[upn], strings.Join(rep.LicensedUsers[upn], ","))
	}
	fmt.Fprintf(&b, "  migration batch   %s\n", rep.BatchStatus)
	for _, addr := range sortedKeys(rep.BatchUsers) {
		u := rep.BatchUsers[addr]
		fmt.Fprintf(&b, "    %-27s %-7s %4d items synced (%d in the source mailbox)\n", addr, u.Status, u.ItemsSynced, u.Seeded)
	}
	fmt.Fprintf(&b, "  elapsed           %s\n", rep.Elapsed.Round(time.Second))
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
