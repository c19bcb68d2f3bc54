package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/e2e"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// BatchRun is one "migration batch, N users" run: m365_users creates N licensed users, an IMAP
// migration endpoint points at a local IMAP server with N small mailboxes, and m365_migration_batch
// (targets = the users, wait_for = "synced") waits for the users' mailboxes, submits the batch and
// waits until every user is Synced. A no-op plan follows.
type BatchRun struct {
	N     int
	Quota Quota
	// MailboxDelay and MailboxJitter are the fake's provisioning time of a mailbox after its
	// licence: MailboxDelay plus up to MailboxJitter per user.
	MailboxDelay, MailboxJitter time.Duration
	Seeded                      int64 // messages in the source mailboxes

	// The apply.
	ApplyWall time.Duration
	// Polls are the Get-Mailbox requests of the apply (the readiness wait), PollPages those of them
	// that fetched a further page of a listing; PollPending holds, for each round (each request
	// that is not a further page), how many of the N users had no mailbox yet when it was sent.
	Polls, PollPages int
	PollPending      []int
	// FirstReady and LastReady are when the first and the last of the N mailboxes appeared, after
	// the start of the apply; SubmitAfterLast is the time from the last one to New-MigrationBatch.
	FirstReady, LastReady, SubmitAfterLast time.Duration
	Ready                                  int // of the N users, how many have a mailbox after the apply
	SubmittedRows, EarlyRows               int // rows sent, and rows sent before their mailbox existed
	Status                                 string
	Synced                                 int   // users whose status_summary is Synced
	ItemsSynced                            int64 // sum of the users' items_synced
	ApplyExchange                          map[string]int

	// The no-op plan that follows.
	PlanWall  time.Duration
	PlanNoOp  bool
	PlanGraph int
	// PlanExchange counts the plan's Exchange requests by cmdlet; PlanPages counts, per cmdlet, the
	// requests that followed an @odata.nextLink (pages after the first).
	PlanExchange map[string]int
	PlanPages    map[string]int
}

// PlanExchangeTotal is the number of Exchange requests of the no-op plan.
func (r BatchRun) PlanExchangeTotal() int {
	n := 0
	for _, c := range r.PlanExchange {
		n += c
	}
	return n
}

// BatchRefreshLimit is the target: a no-op plan of a 1,000-user batch costs at most this many
// Exchange requests.
const BatchRefreshLimit = 10

// batchMessages is how many messages source mailbox i holds (1 to 3).
func batchMessages(i int) int { return 1 + i%3 }

// batchHCL is usersHCL(ModeBulk) plus the endpoint and the batch of every user.
func batchHCL(q Quota, srv *imaptest.Server) string {
	return usersHCL(ModeBulk, q) + fmt.Sprintf(`
resource "m365_imap_migration_endpoint" "src" {
  name          = "exmail"
  remote_server = %q
  port          = %d
  security      = %q
}

resource "m365_migration_batch" "wave" {
  name              = "wave1"
  source_endpoint   = m365_imap_migration_endpoint.src.name
  csv_file          = "${path.module}/migration.csv"
  preflight_ca_file = %q
  targets           = keys(m365_users.staff.attributes)
  wait_for          = "synced"
  timeouts = {
    create = "30m"
  }
}

output "status" { value = m365_migration_batch.wave.status }
output "synced" { value = length([for k, u in m365_migration_batch.wave.users : k if u.status_summary == "Synced"]) }
output "items" { value = sum(concat([0], [for u in values(m365_migration_batch.wave.users) : u.items_synced])) }
`, srv.Host, srv.Port, srv.Security, srv.CACertFile)
}

// requests reads the fake's request log.
func (a *fakeAdmin) requests() ([]fakecloud.RequestRecord, error) {
	var reqs []fakecloud.RequestRecord
	return reqs, a.do(http.MethodGet, "/_fake/requests", &reqs)
}

// RunBatch runs the migration batch of n users with the given quota and mailbox provisioning time.
func (e *Env) RunBatch(n int, q Quota, delay, jitter time.Duration) (run BatchRun, err error) {
	run = BatchRun{N: n, Quota: q, MailboxDelay: delay, MailboxJitter: jitter}
	dir, err := os.MkdirTemp(e.Work, "batch-")
	if err != nil {
		return run, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	tb := &programTB{dir: dir, logf: e.Logf}
	defer tb.close()
	defer recoverTB(&err, "IMAP server")

	// The source: go-imap's in-memory server, one mailbox with 1-3 messages per user.
	users := map[string]imaptest.User{}
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\n")
	for i := 1; i <= n; i++ {
		addr := fmt.Sprintf("u%05d@corp.com", i) // AdminCSV's user names
		pw := fmt.Sprintf("Src-%05d-pw", i)
		msgs := make([]imaptest.Message, batchMessages(i))
		for j := range msgs {
			msgs[j] = imaptest.Message{Subject: fmt.Sprintf("message %d of %s", j+1, addr)}
		}
		users[addr] = imaptest.User{Password: pw, Folders: map[string][]imaptest.Message{"INBOX": msgs}}
		run.Seeded += int64(len(msgs))
		fmt.Fprintf(&csv, "%s,%s,%s\n", addr, addr, pw)
	}
	srv := imaptest.StartMemServerWith(tb, users, imaptest.MemOptions{Security: imaptest.SecuritySsl})

	// The tenant keeps a real tenant's clock (scaled), and its migration engine trusts the
	// IMAP server's CA.
	seed := usersSeed(n)
	seed.Domains[0].SupportedServices = []string{"Email"}
	seed.IMAPRootCAs = []string{srv.CACertFile}
	seed.Timing = fakecloud.TimingRealistic
	fake, err := e.startFake(dir, seed, q, "-mailbox-provision-delay", delay.String(), "-mailbox-provision-jitter", jitter.String())
	if err != nil {
		return run, err
	}
	defer fake.Stop()
	admin, err := newFakeAdmin(fake.Ready)
	if err != nil {
		return run, err
	}
	cfgDir := filepath.Join(dir, "tf")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return run, err
	}
	for name, body := range map[string]string{
		"users.csv":     AdminCSV(n),
		"migration.csv": csv.String(),
		"main.tf":       e2e.RequiredProviders + fake.Ready.ProviderBlock() + batchHCL(q, srv),
	} {
		if err := os.WriteFile(filepath.Join(cfgDir, name), []byte(body), 0o600); err != nil {
			return run, err
		}
	}
	tf := e.terraform(cfgDir, fake)

	// The apply: users, endpoint, readiness wait, batch, initial sync.
	if err := admin.reset(); err != nil {
		return run, err
	}
	start := time.Now()
	out, err := tf.Run("apply", "-auto-approve")
	run.ApplyWall = time.Since(start)
	if err != nil {
		return run, fmt.Errorf("batch %d: terraform apply: %v\n%s", n, err, tail(out))
	}
	reqs, err := admin.requests()
	if err != nil {
		return run, err
	}
	var ready map[string]time.Time
	if err := admin.do(http.MethodGet, "/_fake/mailboxes", &ready); err != nil {
		return run, err
	}
	run.readiness(reqs, ready, start)
	if err := run.outputs(tf); err != nil {
		return run, err
	}
	e.Logf("batch N=%d apply: %s, %d Get-Mailbox polls (users without a mailbox at each: %v), New-MigrationBatch %s after the last mailbox, %s: %d of %d users Synced, %d of %d items; Exchange requests %v",
		n, run.ApplyWall.Round(100*time.Millisecond), run.Polls, run.PollPending, run.SubmitAfterLast.Round(10*time.Millisecond),
		run.Status, run.Synced, n, run.ItemsSynced, run.Seeded, run.ApplyExchange)

	// The no-op plan.
	if err := admin.reset(); err != nil {
		return run, err
	}
	start = time.Now()
	out, err = tf.Run("plan", "-detailed-exitcode")
	run.PlanWall = time.Since(start)
	var ee *exec.ExitError
	switch {
	case err == nil:
		run.PlanNoOp = true
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		e.Logf("batch N=%d: the plan after the apply has changes:\n%s", n, tail(out))
	default:
		return run, fmt.Errorf("batch %d: terraform plan: %v\n%s", n, err, tail(out))
	}
	if reqs, err = admin.requests(); err != nil {
		return run, err
	}
	run.PlanExchange, run.PlanPages = map[string]int{}, map[string]int{}
	for _, r := range reqs {
		switch r.Service {
		case fakecloud.ServiceGraph:
			run.PlanGraph++
		case fakecloud.ServiceExchange:
			c := cmdletName(r)
			run.PlanExchange[c]++
			if nextPage(r) {
				run.PlanPages[c]++
			}
		}
	}
	e.Logf("batch N=%d no-op plan: %s, %d Exchange requests %v, %d Graph requests, no-op %t",
		n, run.PlanWall.Round(100*time.Millisecond), run.PlanExchangeTotal(), run.PlanExchange, run.PlanGraph, run.PlanNoOp)
	return run, nil
}

// cmdletName is the record's cmdlet, or its method and path when it names none.
func cmdletName(r fakecloud.RequestRecord) string {
	if r.Cmdlet != "" {
		return r.Cmdlet
	}
	return r.Method + " " + r.Path
}

// nextPage reports whether the request followed an @odata.nextLink (a page after the first).
func nextPage(r fakecloud.RequestRecord) bool {
	q, _ := url.ParseQuery(r.Query)
	return q.Get("$skiptoken") != ""
}

// readiness reads the apply's request log and the mailboxes' ready times into run.
func (run *BatchRun) readiness(reqs []fakecloud.RequestRecord, ready map[string]time.Time, start time.Time) {
	var last time.Time
	var targets []time.Time
	for i := 1; i <= run.N; i++ {
		at, ok := ready[fmt.Sprintf("u%05d@corp.com", i)]
		if !ok {
			continue
		}
		run.Ready++
		targets = append(targets, at)
		if d := at.Sub(start); run.FirstReady == 0 || d < run.FirstReady {
			run.FirstReady = d
		}
		if at.After(last) {
			last = at
		}
	}
	run.LastReady = last.Sub(start)
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].Time.Before(reqs[j].Time) })
	run.ApplyExchange = map[string]int{}
	for _, r := range reqs {
		if r.Service != fakecloud.ServiceExchange {
			continue
		}
		run.ApplyExchange[cmdletName(r)]++
		if strings.EqualFold(r.Cmdlet, "Get-Mailbox") {
			run.Polls++
			if nextPage(r) {
				run.PollPages++
				continue
			}
			pending := run.N - run.Ready
			for _, at := range targets {
				if at.After(r.Time) {
					pending++
				}
			}
			run.PollPending = append(run.PollPending, pending)
		}
		for _, addr := range r.MigrationRows {
			run.SubmittedRows++
			if at, ok := ready[strings.ToLower(addr)]; !ok || at.After(r.Time) {
				run.EarlyRows++
			}
		}
		if strings.EqualFold(r.Cmdlet, "New-MigrationBatch") && r.Status/100 == 2 && run.SubmitAfterLast == 0 {
			run.SubmitAfterLast = r.Time.Sub(last)
		}
	}
}

// outputs reads the batch's status, Synced users and items from `terraform output`.
func (run *BatchRun) outputs(tf *e2e.Terraform) error {
	js, err := tf.Run("output", "-json")
	if err != nil {
		return fmt.Errorf("terraform output: %v\n%s", err, tail(js))
	}
	var o struct {
		Status struct{ Value string } `json:"status"`
		Synced struct{ Value int }    `json:"synced"`
		Items  struct{ Value int64 }  `json:"items"`
	}
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		return fmt.Errorf("terraform output -json: %v", err)
	}
	run.Status, run.Synced, run.ItemsSynced = o.Status.Value, o.Synced.Value, o.Items.Value
	return nil
}

// planCmdlets are the no-op plan's cmdlets in the order of the report: the batch refresh's first.
func (r BatchRun) planCmdlets() []string {
	order := []string{"Get-MigrationBatch", "Get-MigrationUser", "Get-MigrationUserStatistics"}
	var rest []string
	for c := range r.PlanExchange {
		if !slices.Contains(order, c) {
			rest = append(rest, c)
		}
	}
	sort.Strings(rest)
	return append(order, rest...)
}
