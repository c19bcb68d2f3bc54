// Package demo runs the examples/exmail-to-m365 configuration end to end against a local
// Microsoft 365 (internal/fakecloud), a local DNS server (internal/dnstest) and a local IMAP
// source (internal/imaptest), with the real terraform CLI and the provider binary installed
// through dev_overrides. `make demo` (cmd/demo) and the package's test call the same Run.
package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// failedLogin matches a failed row of the preflight's diagnostic.
var failedLogin = regexp.MustCompile(`line \d+, (\S+@\S+): `)

// ExampleDir is the example the demo runs, relative to the repository root.
const ExampleDir = "examples/exmail-to-m365"

// Domain is the example's mail domain.
const Domain = "contoso.com"

// Options configure Run.
type Options struct {
	// RepoRoot is the repository's root directory (go.mod, main.go, examples/).
	RepoRoot string
	// WorkDir is emptied and used for the configuration copy, the CLI configuration, the state
	// and the logs of terraform.
	WorkDir string
	// ProviderDir receives the provider binary built from RepoRoot (dev_overrides points at it).
	ProviderDir string
	// Terraform is the terraform binary; empty means the one on PATH.
	Terraform string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// UserResult is one migrated mailbox in the report.
type UserResult struct {
	Status      string
	ItemsSynced int64
	Seeded      int64
	Error       string
}

// Report is what the demo proved.
type Report struct {
	Domain         string
	DomainVerified bool
	// VerificationTXT is the record the admin (here: the driver) published.
	VerificationTXT string
	// LicensedUsers maps each created user to its licences.
	LicensedUsers map[string][]string
	DisplayNames  map[string]string
	// Aliases are each user's aliases (from the export's 别名); AliasRecipients where mail to
	// each alias is delivered in the tenant ("" when it would bounce).
	Aliases         map[string][]string
	AliasRecipients map[string]string
	BatchStatus     string
	BatchUsers      map[string]UserResult
	// Mailboxes is how the batch met the tenant's mailbox provisioning.
	Mailboxes MailboxReadiness
	// WrongPasswordStopped: the apply with the wrong-password CSV failed in the preflight.
	WrongPasswordStopped bool
	// WrongPasswordUser is the user the preflight named.
	WrongPasswordUser string
	// WrongPasswordSubmitted counts migration cmdlets that changed the batch during that apply.
	WrongPasswordSubmitted int
	// CutoverRecords are the records published at cutover ("MX @ → host"), RemovedRecords the
	// Exmail records deleted.
	CutoverRecords []string
	RemovedRecords []string
	// MXResolved is what the DNS server answers for the domain's MX after cutover.
	MXResolved []string
	// SyncNowRuns counts Set-MigrationBatch calls of the final apply (the final sync).
	SyncNowRuns      int
	RemoveBatchAfter string
	ClientSettings   map[string]string
	Elapsed          time.Duration

	// MailGroups are the distribution groups by address (mail_groups output).
	MailGroups map[string]MailGroup
	// DKIM is the m365_dkim state after the final apply; DMARC the _dmarc TXT the DNS server
	// answers; ClientAdvice the client recommendation.
	DKIM         DKIMResult
	DMARC        []string
	ClientAdvice string
}

// MailGroup is one distribution group in the report.
type MailGroup struct {
	Members              []string `json:"members"`
	AllowExternalSenders bool     `json:"allow_external_senders"`
}

// DKIMResult is the DKIM state in the report.
type DKIMResult struct {
	Enabled   bool   `json:"enabled"`
	Status    string `json:"status"`
	Selector1 string `json:"selector1"`
}

// MailboxReadiness: each mailbox appeared a while after its licence (the fake keeps a real
// tenant's clock, scaled to seconds), and the batch was submitted only after all of them.
type MailboxReadiness struct {
	Ready, Users int
	// FirstReady and LastReady are when the first and the last mailbox appeared, after the start
	// of the phase-1 apply.
	FirstReady, LastReady time.Duration
	// Polls counts the Get-Mailbox requests of the wait.
	Polls int
	// SubmittedAfter is how long after the last mailbox New-MigrationBatch was sent; EarlyRows
	// counts rows submitted before their mailbox existed (0 is the point).
	SubmittedAfter time.Duration
	EarlyRows      int
}

// Run builds the provider, starts the local servers, runs phase 1, the wrong-password CSV and
// phase 2 of the example, and returns the report. Every server it starts is stopped before it
// returns.
func Run(ctx context.Context, opts Options) (rep *Report, err error) {
	start := time.Now()
	logf := progress(opts.Log)
	tb := &runTB{}
	defer tb.close()
	defer recoverFatal(&err)

	tf, root, work, provDir, err := prepare(ctx, opts, logf)
	if err != nil {
		return nil, err
	}

	// The example, copied so that its state and files stay out of the source tree.
	cfgDir := filepath.Join(work, "exmail-to-m365")
	if err := copyExample(filepath.Join(root, ExampleDir), cfgDir); err != nil {
		return nil, err
	}
	passwords, err := readPasswords(filepath.Join(cfgDir, "data", "imap-migration.csv"))
	if err != nil {
		return nil, err
	}

	// The local IMAP source (imap.exmail.qq.com), DNS (DNSPod) and Microsoft 365.
	users, err := imapUsers(passwords)
	if err != nil {
		return nil, err
	}
	imap := imaptest.StartMemServerWith(tb, users, imaptest.MemOptions{Security: imaptest.SecuritySsl})
	logf("IMAP source (stands in for imap.exmail.qq.com:993, SSL) on %s: %d mailboxes, %d messages", imap.Addr, len(users), total(SeededMessages()))
	dnsSrv, err := dnstest.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the DNS server: %w", err)
	}
	defer func() { _ = dnsSrv.Close() }()
	// Exmail's records, as the zone has them before the move.
	for _, rr := range []string{
		Domain + ". 600 IN MX 5 mxbiz1.qq.com.",
		Domain + ". 600 IN MX 10 mxbiz2.qq.com.",
	} {
		if err := dnsSrv.AddRecord(rr); err != nil {
			return nil, err
		}
	}
	dnsSrv.SetTXT(Domain, "v=spf1 include:spf.mail.qq.com ~all")
	logf("DNS server (stands in for DNSPod) on %s, with Exmail's MX and SPF", dnsSrv.Addr)

	seed := fakecloud.DefaultSeed()
	seed.IMAPRootCAs = []string{imap.CACertFile}
	// A real tenant's clock, scaled to seconds: mailboxes appear seconds after licensing, lists
	// lag behind writes, a batch takes several polls per status.
	seed.Timing = fakecloud.TimingRealistic
	fake, err := fakecloud.Start(fakecloud.Options{Seed: seed, Knobs: fakecloud.Knobs{DNSServer: dnsSrv.Addr}})
	if err != nil {
		return nil, fmt.Errorf("starting the local Microsoft 365: %w", err)
	}
	defer func() { _ = fake.Close() }()
	logf("local Microsoft 365: graph %s, exchange %s", fake.GraphEndpoint(), fake.ExchangeEndpoint())

	r := &runner{tf: tf, dir: cfgDir, logDir: filepath.Join(work, "logs"), log: logf}
	if err := os.MkdirAll(r.logDir, 0o755); err != nil {
		return nil, err
	}
	cliConfig := filepath.Join(work, "terraformrc")
	if err := os.WriteFile(cliConfig, []byte(fmt.Sprintf(`provider_installation {
  dev_overrides {
    "m365-migration/m365" = %q
  }
  direct {}
}
`, provDir)), 0o644); err != nil {
		return nil, err
	}
	r.env = terraformEnv(map[string]string{
		"TF_CLI_CONFIG_FILE":      cliConfig,
		"SSL_CERT_FILE":           fake.CACertFile(),
		"ARM_TENANT_ID":           fake.TenantID(),
		"ARM_CLIENT_ID":           fake.ClientID(),
		"ARM_CLIENT_SECRET":       fake.ClientSecret(),
		"TF_VAR_initial_password": "Welcome-2025!Demo",
		"TF_IN_AUTOMATION":        "1",
		"TF_INPUT":                "0",
		"CHECKPOINT_DISABLE":      "1",
		"TF_DATA_DIR":             filepath.Join(work, ".terraform"),
	})
	vars := map[string]any{
		"endpoints":     map[string]string{"login": fake.LoginEndpoint(), "graph": fake.GraphEndpoint(), "exchange": fake.ExchangeEndpoint()},
		"dns_provider":  "manual",
		"dns_resolver":  dnsSrv.Addr,
		"imap_host":     imap.Host,
		"imap_port":     imap.Port,
		"imap_security": imap.Security,
		"imap_ca_file":  imap.CACertFile,
	}
	rep = &Report{Domain: Domain}

	// Phase 1, step 1: add the domain and read the TXT record to publish (the admin's manual step).
	logf("phase 1: adding the domain (targeted apply) to learn its verification TXT record")
	if _, err := r.apply(ctx, "1-domain", vars, "-target=m365_domain.company"); err != nil {
		return nil, err
	}
	out, err := r.outputs(ctx)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(out["verification_txt"], &rep.VerificationTXT); err != nil || rep.VerificationTXT == "" {
		return nil, fmt.Errorf("the targeted apply gave no verification_txt output (%s)", out["verification_txt"])
	}
	dnsSrv.SetTXT(Domain, "v=spf1 include:spf.mail.qq.com ~all", rep.VerificationTXT)
	logf("published %s TXT %q in the DNS server (what the admin does at DNSPod)", Domain, rep.VerificationTXT)

	// Phase 1, step 2: everything else.
	logf("phase 1: verify, create and license users, endpoint, wait for the mailboxes, migration batch until Synced")
	phase1Start := time.Now()
	if _, err := r.apply(ctx, "2-phase1", vars); err != nil {
		return nil, err
	}
	rep.Mailboxes = mailboxReadiness(fake, phase1Start)
	if out, err = r.outputs(ctx); err != nil {
		return nil, err
	}
	if err := phase1Facts(out, rep); err != nil {
		return nil, err
	}
	rep.AliasRecipients = map[string]string{}
	for _, as := range rep.Aliases {
		for _, a := range as {
			rep.AliasRecipients[a], _ = fake.RecipientFor(a)
		}
	}
	logf("phase 1 done: domain verified=%t, %d users licensed, batch %s", rep.DomainVerified, len(rep.LicensedUsers), rep.BatchStatus)

	// The wrong-password CSV: the preflight must stop the apply before anything is submitted.
	logf("wrong-password CSV: applying data/imap-migration-wrong-password.csv")
	before := len(fake.Requests())
	wrong := withVars(vars, map[string]any{"migration_csv": "data/imap-migration-wrong-password.csv", "migration_csv_version": 2})
	text, err := r.apply(ctx, "3-wrong-password", wrong)
	if err == nil {
		return nil, errors.New("the apply with a wrong password succeeded; the preflight should have stopped it")
	}
	// The diagnostic lists each failed login as "line N, <address>: <server's answer>".
	if _, diagText, ok := strings.Cut(text, "Error: Source Login Failed"); ok {
		if m := failedLogin.FindStringSubmatch(diagText); m != nil {
			rep.WrongPasswordUser = m[1]
		}
	}
	for _, rec := range fake.Requests()[before:] {
		if rec.Status/100 == 2 && isBatchWrite(rec.Cmdlet) {
			rep.WrongPasswordSubmitted++
		}
	}
	rep.WrongPasswordStopped = rep.WrongPasswordUser != ""
	if !rep.WrongPasswordStopped {
		return nil, fmt.Errorf("the wrong-password apply failed, but not with a login error naming the user:\n%s", tail(text, 40))
	}
	logf("preflight stopped the apply: %s failed to log in; %d migration writes submitted", rep.WrongPasswordUser, rep.WrongPasswordSubmitted)

	// Phase 2: the records to switch are printed (dns_provider = "manual").
	logf("phase 2: cutover = true (records printed, dns_provider = \"manual\")")
	phase2 := withVars(vars, map[string]any{"cutover": true})
	if _, err := r.apply(ctx, "4-phase2", phase2); err != nil {
		return nil, err
	}
	if out, err = r.outputs(ctx); err != nil {
		return nil, err
	}
	if err := publishCutover(dnsSrv, out, rep); err != nil {
		return nil, err
	}
	if rep.MXResolved, err = resolveMX(dnsSrv.Addr, Domain); err != nil {
		return nil, err
	}
	logf("published the cutover records; MX %s now resolves to %s", Domain, strings.Join(rep.MXResolved, ", "))

	// Phase 2, final sync: the admin says when MX was switched.
	switched := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	logf("phase 2: mx_switched_at = %s (final sync)", switched)
	before = len(fake.Requests())
	if _, err := r.apply(ctx, "5-final-sync", withVars(phase2, map[string]any{"mx_switched_at": switched})); err != nil {
		return nil, err
	}
	for _, rec := range fake.Requests()[before:] {
		if rec.Status/100 == 2 && strings.EqualFold(rec.Cmdlet, "Set-MigrationBatch") {
			rep.SyncNowRuns++
		}
	}
	if out, err = r.outputs(ctx); err != nil {
		return nil, err
	}
	if err := phase1Facts(out, rep); err != nil {
		return nil, err
	}
	_ = json.Unmarshal(out["remove_batch_after"], &rep.RemoveBatchAfter)
	_ = json.Unmarshal(out["client_settings"], &rep.ClientSettings)
	_ = json.Unmarshal(out["mail_groups"], &rep.MailGroups)
	_ = json.Unmarshal(out["dkim"], &rep.DKIM)
	_ = json.Unmarshal(out["client_advice"], &rep.ClientAdvice)
	rep.DMARC = resolveTXT(dnsSrv.Addr, "_dmarc."+Domain)
	rep.Elapsed = time.Since(start)
	return rep, rep.check()
}

// check returns an error unless the report shows every step succeeded.
func (rep *Report) check() error {
	var problems []string
	if !rep.DomainVerified {
		problems = append(problems, "the domain is not verified")
	}
	if len(rep.LicensedUsers) != len(Mailboxes) {
		problems = append(problems, fmt.Sprintf("%d users licensed, want %d", len(rep.LicensedUsers), len(Mailboxes)))
	}
	aliases := 0
	for upn, as := range rep.Aliases {
		for _, a := range as {
			aliases++
			if !strings.EqualFold(rep.AliasRecipients[a], upn) {
				problems = append(problems, fmt.Sprintf("mail to the alias %s reaches %q, not %s", a, rep.AliasRecipients[a], upn))
			}
		}
	}
	if aliases == 0 {
		problems = append(problems, "no alias from the export's 别名 column was created")
	}
	if rep.BatchStatus != "Synced" {
		problems = append(problems, "batch status "+rep.BatchStatus)
	}
	if rep.Mailboxes.Ready != len(Mailboxes) || rep.Mailboxes.EarlyRows != 0 || rep.Mailboxes.SubmittedAfter < 0 {
		problems = append(problems, fmt.Sprintf("mailboxes: %d of %d ready, %d rows submitted before their mailbox, batch sent %s after the last",
			rep.Mailboxes.Ready, len(Mailboxes), rep.Mailboxes.EarlyRows, rep.Mailboxes.SubmittedAfter))
	}
	for addr, u := range rep.BatchUsers {
		if u.ItemsSynced != u.Seeded || u.Status != "Synced" {
			problems = append(problems, fmt.Sprintf("%s: %s, %d items synced of %d", addr, u.Status, u.ItemsSynced, u.Seeded))
		}
	}
	if !rep.WrongPasswordStopped || rep.WrongPasswordSubmitted != 0 {
		problems = append(problems, "the wrong-password CSV was not stopped before submission")
	}
	if len(rep.MXResolved) == 0 || !strings.HasSuffix(rep.MXResolved[0], ".mail.protection.outlook.com.") {
		problems = append(problems, fmt.Sprintf("MX resolves to %v", rep.MXResolved))
	}
	if rep.SyncNowRuns == 0 {
		problems = append(problems, "the final sync did not run")
	}
	if rep.RemoveBatchAfter == "" {
		problems = append(problems, "no remove_batch_after output")
	}
	if len(rep.MailGroups) == 0 {
		problems = append(problems, "no distribution group was created")
	}
	if !rep.DKIM.Enabled {
		problems = append(problems, "DKIM signing is not enabled (status "+rep.DKIM.Status+")")
	}
	if len(rep.DMARC) != 1 || !strings.HasPrefix(rep.DMARC[0], "v=DMARC1;") {
		problems = append(problems, fmt.Sprintf("_dmarc answers %v", rep.DMARC))
	}
	if len(problems) > 0 {
		return errors.New("demo failed: " + strings.Join(problems, "; "))
	}
	return nil
}

// WriteTo prints the report.
func (rep *Report) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nExmail → Microsoft 365 demo report\n")
	fmt.Fprintf(&b, "  domain            %s verified=%t (TXT %s published by hand)\n", rep.Domain, rep.DomainVerified, rep.VerificationTXT)
	fmt.Fprintf(&b, "  users             %d created from the GB18030 Exmail export, licensed, usage location CN\n", len(rep.LicensedUsers))
	for _, upn := range sortedKeys(rep.LicensedUsers) {
		fmt.Fprintf(&b, "    %-27s %-4s %s\n", upn, rep.DisplayNames[upn], strings.Join(rep.LicensedUsers[upn], ","))
	}
	for _, upn := range sortedKeys(rep.Aliases) {
		for _, a := range rep.Aliases[upn] {
			to := rep.AliasRecipients[a]
			if to == "" {
				to = "nobody (mail would bounce)"
			}
			fmt.Fprintf(&b, "  alias             %s (别名 of %s) → delivered to the mailbox of %s\n", a, upn, to)
		}
	}
	mb := rep.Mailboxes
	fmt.Fprintf(&b, "  mailboxes         %d of %d appeared %.1f–%.1f s into the apply (a real tenant: 30 min–24 h after licensing); %d Get-Mailbox polls\n",
		mb.Ready, mb.Users, mb.FirstReady.Seconds(), mb.LastReady.Seconds(), mb.Polls)
	fmt.Fprintf(&b, "                    New-MigrationBatch sent %.1f s after the last one; %d rows submitted before their mailbox existed\n",
		mb.SubmittedAfter.Seconds(), mb.EarlyRows)
	fmt.Fprintf(&b, "  migration batch   %s\n", rep.BatchStatus)
	for _, addr := range sortedKeys(rep.BatchUsers) {
		u := rep.BatchUsers[addr]
		fmt.Fprintf(&b, "    %-27s %-7s %4d items synced (%d in the source mailbox)\n", addr, u.Status, u.ItemsSynced, u.Seeded)
	}
	fmt.Fprintf(&b, "  wrong password    preflight stopped the apply: %s failed to log in; %d migration writes submitted\n", rep.WrongPasswordUser, rep.WrongPasswordSubmitted)
	fmt.Fprintf(&b, "  DNS switched      published %s\n", strings.Join(rep.CutoverRecords, "; "))
	fmt.Fprintf(&b, "                    removed %s\n", strings.Join(rep.RemovedRecords, "; "))
	fmt.Fprintf(&b, "                    MX %s → %s\n", rep.Domain, strings.Join(rep.MXResolved, ", "))
	fmt.Fprintf(&b, "  final sync        Set-MigrationBatch -SyncNow ran %d time(s) after the MX change; remove the batch after %s\n", rep.SyncNowRuns, rep.RemoveBatchAfter)
	fmt.Fprintf(&b, "  client settings   IMAP %s | SMTP %s | autodiscover %s\n", rep.ClientSettings["imap"], rep.ClientSettings["smtp"], rep.ClientSettings["autodiscover"])
	for _, addr := range sortedKeys(rep.MailGroups) {
		g := rep.MailGroups[addr]
		fmt.Fprintf(&b, "  mail group        %s: %s; outside senders allowed=%t\n", addr, strings.Join(g.Members, ", "), g.AllowExternalSenders)
	}
	fmt.Fprintf(&b, "  DKIM              enabled=%t status %s (selector1 → %s)\n", rep.DKIM.Enabled, rep.DKIM.Status, rep.DKIM.Selector1)
	fmt.Fprintf(&b, "  DMARC             _dmarc.%s TXT %s\n", rep.Domain, strings.Join(rep.DMARC, " | "))
	fmt.Fprintf(&b, "  client advice     %s\n", rep.ClientAdvice)
	fmt.Fprintf(&b, "  elapsed           %s\n", rep.Elapsed.Round(time.Second))
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

// mailboxReadiness reads, from the fake, when each submitted user's mailbox appeared and when the
// rows were submitted.
func mailboxReadiness(fake *fakecloud.Server, start time.Time) MailboxReadiness {
	var mr MailboxReadiness
	var last time.Time
	for u := range Mailboxes {
		mr.Users++
		at, ok := fake.MailboxReadyAt(u)
		if !ok {
			continue
		}
		mr.Ready++
		if d := at.Sub(start); mr.FirstReady == 0 || d < mr.FirstReady {
			mr.FirstReady = d
		}
		if d := at.Sub(start); d > mr.LastReady {
			mr.LastReady = d
			last = at
		}
	}
	for _, rec := range fake.Requests() {
		if strings.EqualFold(rec.Cmdlet, "Get-Mailbox") {
			mr.Polls++
		}
		for _, addr := range rec.MigrationRows {
			if at, ok := fake.MailboxReadyAt(addr); !ok || at.After(rec.Time) {
				mr.EarlyRows++
			}
		}
		if strings.EqualFold(rec.Cmdlet, "New-MigrationBatch") && rec.Status/100 == 2 && mr.SubmittedAfter == 0 {
			mr.SubmittedAfter = rec.Time.Sub(last)
		}
	}
	return mr
}

// phase1Facts reads the phase-1 outputs into rep.
func phase1Facts(out map[string]json.RawMessage, rep *Report) error {
	var users map[string]string
	var batchUsers map[string]struct {
		Status      string `json:"status"`
		ItemsSynced int64  `json:"items_synced"`
		Error       string `json:"error"`
	}
	for name, v := range map[string]any{
		"domain_verified": &rep.DomainVerified, "licensed_users": &rep.LicensedUsers, "users": &users,
		"batch_status": &rep.BatchStatus, "batch_users": &batchUsers, "aliases": &rep.Aliases,
	} {
		raw, ok := out[name]
		if !ok {
			return fmt.Errorf("output %s is missing", name)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("output %s: %w", name, err)
		}
	}
	rep.DisplayNames = users
	seeded := SeededMessages()
	rep.BatchUsers = map[string]UserResult{}
	for addr, u := range batchUsers {
		rep.BatchUsers[addr] = UserResult{Status: u.Status, ItemsSynced: u.ItemsSynced, Seeded: seeded[addr], Error: u.Error}
	}
	for addr := range seeded {
		if _, ok := rep.BatchUsers[addr]; !ok {
			rep.BatchUsers[addr] = UserResult{Status: "absent", Seeded: seeded[addr]}
		}
	}
	return nil
}

// dnspodRecord is an element of the cutover_records / records_to_remove outputs.
type dnspodRecord struct {
	Domain     string `json:"domain"`
	SubDomain  string `json:"sub_domain"`
	RecordType string `json:"record_type"`
	Value      string `json:"value"`
	MX         *int64 `json:"mx"`
	TTL        int64  `json:"ttl"`
}

func (r dnspodRecord) fqdn() string {
	if r.SubDomain == "" || r.SubDomain == "@" {
		return r.Domain + "."
	}
	return r.SubDomain + "." + r.Domain + "."
}

// publishCutover does at the DNS server what the admin does at DNSPod with the printed records.
func publishCutover(srv *dnstest.Server, out map[string]json.RawMessage, rep *Report) error {
	var add, remove map[string]dnspodRecord
	if err := json.Unmarshal(out["cutover_records"], &add); err != nil || len(add) == 0 {
		return fmt.Errorf("phase 2 printed no cutover_records (%s)", out["cutover_records"])
	}
	if err := json.Unmarshal(out["records_to_remove"], &remove); err != nil {
		return fmt.Errorf("records_to_remove: %w", err)
	}
	// TXT records are replaced per name: the apex keeps the verification TXT and gets the new SPF.
	txt := map[string][]string{Domain + ".": {rep.VerificationTXT}}
	for _, k := range sortedKeys(remove) {
		r := remove[k]
		if strings.EqualFold(r.RecordType, "MX") {
			srv.Remove(r.fqdn(), "MX")
		}
		rep.RemovedRecords = append(rep.RemovedRecords, fmt.Sprintf("%s %s %s", r.RecordType, r.SubDomain, r.Value))
	}
	for _, k := range sortedKeys(add) {
		r := add[k]
		switch strings.ToUpper(r.RecordType) {
		case "TXT":
			txt[r.fqdn()] = append(txt[r.fqdn()], r.Value)
		case "MX":
			pref := int64(1)
			if r.MX != nil {
				pref = *r.MX
			}
			if err := srv.AddRecord(fmt.Sprintf("%s %d IN MX %d %s.", r.fqdn(), r.TTL, pref, strings.TrimSuffix(r.Value, "."))); err != nil {
				return err
			}
		case "CNAME":
			if err := srv.AddRecord(fmt.Sprintf("%s %d IN CNAME %s.", r.fqdn(), r.TTL, strings.TrimSuffix(r.Value, "."))); err != nil {
				return err
			}
		default:
			continue
		}
		rep.CutoverRecords = append(rep.CutoverRecords, fmt.Sprintf("%s %s %s", r.RecordType, r.SubDomain, r.Value))
	}
	for name, values := range txt {
		srv.SetTXT(name, values...)
	}
	return nil
}

// resolveTXT asks the DNS server for the TXT strings at name (nil when there are none).
func resolveTXT(server, name string) []string {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	in, err := dns.Exchange(m, server)
	if err != nil {
		return nil
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out
}

// resolveMX asks the DNS server for the domain's MX hosts.
func resolveMX(server, domain string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(domain), dns.TypeMX)
	in, _, err := new(dns.Client).Exchange(m, server)
	if err != nil {
		return nil, fmt.Errorf("resolving MX %s: %w", domain, err)
	}
	var hosts []string
	for _, rr := range in.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			hosts = append(hosts, mx.Mx)
		}
	}
	return hosts, nil
}

// isBatchWrite tells whether a cmdlet submits or changes migration users.
func isBatchWrite(cmdlet string) bool {
	switch strings.ToLower(cmdlet) {
	case "new-migrationbatch", "set-migrationbatch", "start-migrationbatch", "remove-migrationuser":
		return true
	}
	return false
}

// readPasswords reads EmailAddress → Password from a UTF-8 migration CSV.
func readPasswords(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) < 2 || len(rows[0]) < 3 || rows[0][0] != "EmailAddress" || rows[0][2] != "Password" {
		return nil, fmt.Errorf("%s: want the header EmailAddress,UserName,Password", path)
	}
	out := map[string]string{}
	for _, r := range rows[1:] {
		out[strings.ToLower(r[0])] = r[2]
	}
	return out, nil
}

// copyExample copies the example's top-level files and its data/ directory (not dnspod/: the
// demo runs with dns_provider = "manual").
func copyExample(src, dst string) error {
	for _, sub := range []string{"", "data"} {
		entries, err := os.ReadDir(filepath.Join(src, sub))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, sub), 0o755); err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() || (sub == "" && !strings.HasSuffix(e.Name(), ".tf")) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(src, sub, e.Name()))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, sub, e.Name()), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// terraformEnv is the process environment without the caller's cloud credentials, plus set.
func terraformEnv(set map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := set[k]; over || strings.HasPrefix(k, "ARM_") || strings.HasPrefix(k, "AZURE_") ||
			strings.HasPrefix(k, "TF_VAR_") || k == "TF_CLI_ARGS" || strings.HasPrefix(k, "TF_CLI_ARGS_") || k == "TF_LOG" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

func withVars(base map[string]any, more map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
