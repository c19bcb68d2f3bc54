package bench

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/m365-migration/terraform-provider-m365/internal/e2e"
	"github.com/m365-migration/terraform-provider-m365/internal/imapcheck"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// encodeGB18030 encodes UTF-8 text as GB18030.
func encodeGB18030(s string) ([]byte, error) {
	return simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
}

// programTB runs the imaptest servers outside a test: failures end the bench with an error.
type programTB struct {
	mu       sync.Mutex
	cleanups []func()
	dir      string
	logf     func(string, ...any)
	n        int
}

type tbFailure struct{ msg string }

// recoverTB turns a programTB's Fatalf (a panic with tbFailure) into *err, prefixed with what
// failed; any other panic goes on. Use it as `defer recoverTB(&err, "dovecot")`.
func recoverTB(err *error, what string) {
	if r := recover(); r != nil {
		f, ok := r.(tbFailure)
		if !ok {
			panic(r)
		}
		*err = fmt.Errorf("%s: %s", what, f.msg)
	}
}

func (p *programTB) Helper() {}
func (p *programTB) Fatalf(format string, args ...any) {
	panic(tbFailure{fmt.Sprintf(format, args...)})
}
func (p *programTB) Logf(format string, args ...any) { p.logf(format, args...) }
func (p *programTB) Skip(args ...any)                { panic(tbFailure{"skipped: " + fmt.Sprint(args...)}) }
func (p *programTB) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}
func (p *programTB) TempDir() string {
	p.mu.Lock()
	p.n++
	n := p.n
	p.mu.Unlock()
	d := filepath.Join(p.dir, fmt.Sprintf("tmp%d", n))
	if err := os.MkdirAll(d, 0o700); err != nil {
		p.Fatalf("%v", err)
	}
	return d
}
func (p *programTB) close() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
}

// PreflightResult compares m365_imap_mailbox_survey with the same IMAP work done directly.
type PreflightResult struct {
	Mailboxes   int
	Concurrency int
	Rounds      int           // each time below is the median over this many rounds (Sequential: one run)
	Wall        time.Duration // terraform apply reading the survey (start-up included)
	Baseline    time.Duration // the same configuration without the survey: terraform + provider start-up
	// Direct is login + LIST + STATUS of every folder with go-imap's imapclient, with the same logins,
	// the same STATUS items and the same concurrency as the survey.
	Direct time.Duration
	// Sequential is Direct one mailbox at a time.
	Sequential time.Duration
	Seeded     int64  // messages written into the Dovecot mailboxes
	Messages   int64  // messages counted by the survey (totals.messages)
	DirectMsgs int64  // messages counted by the direct client (each run)
	Status     string // the STATUS items both send per folder, e.g. "MESSAGES SIZE"
}

// median is the middle value (the mean of the two middle ones for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Survey is the provider's share of Wall: Wall - Baseline.
func (r PreflightResult) Survey() time.Duration { return r.Wall - r.Baseline }

// preflightFolders are the folders of every surveyed mailbox and their message counts.
var preflightFolders = map[string]int{"INBOX": 5, "Sent": 2, "Archive/2024": 1}

// preflightUser is the seeded content of one surveyed mailbox.
func preflightUser(i int) imaptest.User {
	folders := map[string][]imaptest.Message{}
	for name, n := range preflightFolders {
		folders[name] = make([]imaptest.Message, n)
	}
	return imaptest.User{Password: fmt.Sprintf("Src-%03d-pw", i), Folders: folders}
}

// surveyUser is the part of one m365_imap_mailbox_survey users entry the bench checks.
type surveyUser struct {
	LoginOK        bool   `json:"login_ok"`
	LoginError     string `json:"login_error"`
	LoginErrorKind string `json:"login_error_kind"`
	Error          string `json:"error"`
	Messages       int64  `json:"messages"`
	Folders        []struct {
		Name     string `json:"name"`
		Messages int64  `json:"messages"`
	} `json:"folders"`
}

// surveyOutputs are the bench configuration's outputs.
type surveyOutputs struct {
	Totals struct {
		Value struct {
			Users           int64 `json:"users"`
			LoginsFailed    int64 `json:"logins_failed"`
			UsersWithErrors int64 `json:"users_with_errors"`
			Messages        int64 `json:"messages"`
		} `json:"value"`
	} `json:"totals"`
	Users struct {
		Value map[string]surveyUser `json:"value"`
	} `json:"users"`
}

// dovecotDir is a scratch directory for Dovecot directly under the system's temporary directory.
// Run as root, imaptest.StartDovecot runs Dovecot's mail processes as "nobody" and makes only the
// directory it is given and that directory's parent traversable (0711); every directory above must
// already be traversable by others. e.Work (os.MkdirTemp: 0700) is not, so a Dovecot under it
// accepts each LOGIN and then cannot open the user's home: the survey counted 0 messages.
func dovecotDir() (string, error) {
	d, err := os.MkdirTemp("", "m365-bench-dovecot-")
	if err != nil {
		return "", err
	}
	// tb.TempDir() creates d/tmpN; StartDovecot then makes d and d/tmpN traversable.
	return d, nil
}

// RunPreflight surveys n mailboxes on Dovecot through the provider and directly, rounds times
// (at least once), and keeps the median times. Every count must equal the seeded one; otherwise it
// returns an error rather than a time.
func (e *Env) RunPreflight(n, rounds int) (res PreflightResult, err error) {
	res = PreflightResult{Mailboxes: n, Concurrency: imapcheck.DefaultConcurrency, Rounds: max(rounds, 1)}
	dir, err := os.MkdirTemp(e.Work, "preflight-")
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	dcDir, err := dovecotDir()
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dcDir) }()
	tb := &programTB{dir: dcDir, logf: e.Logf}
	defer tb.close()
	defer recoverTB(&err, "dovecot")
	users := map[string]imaptest.User{}
	want := map[string]int64{}
	var emails []string
	perUser := int64(0)
	for _, c := range preflightFolders {
		perUser += int64(c)
	}
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("m%03d@exmail.example", i)
		emails = append(emails, email)
		users[email] = preflightUser(i)
		want[email] = perUser
		res.Seeded += perUser
	}
	srv := imaptest.StartDovecot(tb, users, imaptest.SecuritySsl)

	// Warm-up, untimed: Dovecot builds its index files on the first access to each folder, which
	// would otherwise be charged to whichever timed run comes first.
	if _, err := directCounts(srv, users, emails, res.Concurrency, nil); err != nil {
		return res, fmt.Errorf("direct warm-up: %w", err)
	}
	status, err := statusItems(srv, emails[0], users[emails[0]].Password)
	if err != nil {
		return res, err
	}
	res.Status = strings.Join(status, " ")

	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\n")
	for _, em := range emails {
		fmt.Fprintf(&csv, "%s,%s,%s\n", em, em, users[em].Password)
	}
	fake, err := e.startFake(dir, usersSeed(0), Quota{})
	if err != nil {
		return res, err
	}
	defer fake.Stop()
	run := func(name string, withSurvey bool) (time.Duration, error) {
		cfgDir := filepath.Join(dir, name)
		if err := os.MkdirAll(cfgDir, 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(cfgDir, "mailboxes.csv"), []byte(csv.String()), 0o600); err != nil {
			return 0, err
		}
		body := `output "none" { value = "" }` + "\n"
		if withSurvey {
			body = fmt.Sprintf(`
data "m365_imap_mailbox_survey" "s" {
  csv_file      = "${path.module}/mailboxes.csv"
  remote_server = %q
  port          = %d
  security      = %q
  ca_file       = %q
  concurrency   = %d
}
output "totals" { value = data.m365_imap_mailbox_survey.s.totals }
output "users" { value = data.m365_imap_mailbox_survey.s.users }
`, srv.Host, srv.Port, srv.Security, srv.CACertFile, res.Concurrency)
		}
		cfg := e2e.RequiredProviders + fake.Ready.ProviderBlock() + body
		if err := os.WriteFile(filepath.Join(cfgDir, "main.tf"), []byte(cfg), 0o600); err != nil {
			return 0, err
		}
		tf := e.terraform(cfgDir, fake)
		start := time.Now()
		out, err := tf.Run("apply", "-auto-approve")
		wall := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("survey: %v\n%s", err, tail(out))
		}
		if withSurvey {
			js, err := tf.Run("output", "-json")
			if err != nil {
				return 0, fmt.Errorf("terraform output: %v\n%s", err, tail(js))
			}
			if res.Messages, err = checkSurvey(js, want); err != nil {
				return 0, err
			}
		}
		return wall, nil
	}
	// Rounds alternate the three timed runs so that load from other processes on the machine
	// spreads over all of them; each time reported is the median over the rounds.
	direct := func(concurrency int) (time.Duration, error) {
		start := time.Now()
		total, err := directCounts(srv, users, emails, concurrency, want)
		d := time.Since(start)
		if err != nil {
			return d, fmt.Errorf("direct STATUS, concurrency %d: %w", concurrency, err)
		}
		res.DirectMsgs = total
		return d, nil
	}
	var baseline, wall, conc []time.Duration
	for r := 1; r <= res.Rounds; r++ {
		b, err := run(fmt.Sprintf("baseline%d", r), false)
		if err != nil {
			return res, err
		}
		w, err := run(fmt.Sprintf("survey%d", r), true)
		if err != nil {
			return res, err
		}
		d, err := direct(res.Concurrency)
		if err != nil {
			return res, err
		}
		baseline, wall, conc = append(baseline, b), append(wall, w), append(conc, d)
		e.Logf("preflight round %d/%d: terraform apply %s (without the survey %s), %d messages; direct STATUS (%s), concurrency %d: %s, %d messages",
			r, res.Rounds, w.Round(10*time.Millisecond), b.Round(10*time.Millisecond), res.Messages, res.Status, res.Concurrency,
			d.Round(10*time.Millisecond), res.DirectMsgs)
	}
	res.Baseline, res.Wall, res.Direct = median(baseline), median(wall), median(conc)
	if res.Sequential, err = direct(1); err != nil {
		return res, err
	}
	e.Logf("preflight: direct STATUS one mailbox at a time: %s", res.Sequential.Round(10*time.Millisecond))
	return res, nil
}

// checkSurvey decodes `terraform output -json` of the survey configuration and checks every
// mailbox against want (address: messages): no failed login, no counting error, the exact count.
// It returns totals.messages.
func checkSurvey(js string, want map[string]int64) (int64, error) {
	var o surveyOutputs
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		return 0, fmt.Errorf("terraform output -json: %v", err)
	}
	t := o.Totals.Value
	var problems []string
	var seeded int64
	for em, w := range want {
		seeded += w
		u, ok := o.Users.Value[em]
		switch {
		case !ok:
			problems = append(problems, em+": not in the survey")
		case !u.LoginOK:
			problems = append(problems, fmt.Sprintf("%s: login failed (%s): %s", em, u.LoginErrorKind, u.LoginError))
		case u.Error != "":
			problems = append(problems, fmt.Sprintf("%s: %s", em, u.Error))
		case u.Messages != w:
			problems = append(problems, fmt.Sprintf("%s: %d messages in %d folders, want %d", em, u.Messages, len(u.Folders), w))
		}
	}
	if len(problems) == 0 && (t.Messages != seeded || t.Users != int64(len(want))) {
		problems = append(problems, fmt.Sprintf("totals: %d users, %d messages, want %d and %d", t.Users, t.Messages, len(want), seeded))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		more := ""
		if len(problems) > 3 {
			more = fmt.Sprintf(" (and %d more)", len(problems)-3)
			problems = problems[:3]
		}
		return t.Messages, fmt.Errorf("survey counted %d messages, want %d (%d logins failed, %d users with errors): %s%s",
			t.Messages, seeded, t.LoginsFailed, t.UsersWithErrors, strings.Join(problems, "; "), more)
	}
	return t.Messages, nil
}

// statusItems are the STATUS items the survey asks of srv (imapcheck countFolder): MESSAGES, and
// SIZE when the server advertises IMAP4rev2 or STATUS=SIZE.
func statusItems(srv *imaptest.Server, user, password string) ([]string, error) {
	c, err := dialDirect(srv, user, password)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	items := []string{"MESSAGES"}
	if statusSize(c) {
		items = append(items, "SIZE")
	}
	return items, c.Logout().Wait()
}

func statusSize(c *imapclient.Client) bool {
	caps := c.Caps()
	return caps.Has(imap.CapIMAP4rev2) || caps.Has(imap.CapStatusSize)
}

func dialDirect(srv *imaptest.Server, user, password string) (*imapclient.Client, error) {
	c, err := imapclient.DialTLS(srv.Addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: srv.CAPool, ServerName: srv.Host, MinVersion: tls.VersionTLS12}})
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	return c, nil
}

// directCounts logs in to every mailbox, lists its folders and asks STATUS of each selectable one
// (the survey's items), at most concurrency mailboxes at a time, and returns the number of
// messages. With want set, every mailbox's count must equal want[address].
func directCounts(srv *imaptest.Server, users map[string]imaptest.User, emails []string, concurrency int, want map[string]int64) (int64, error) {
	var mu sync.Mutex
	var total int64
	var errs []string
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for em := range work {
				n, err := statusOne(srv, em, users[em].Password)
				mu.Lock()
				total += n
				switch {
				case err != nil:
					errs = append(errs, fmt.Sprintf("%s: %v", em, err))
				case want != nil && n != want[em]:
					errs = append(errs, fmt.Sprintf("%s: %d messages, want %d", em, n, want[em]))
				}
				mu.Unlock()
			}
		}()
	}
	for _, em := range emails {
		work <- em
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		return total, fmt.Errorf("%d of %d mailboxes: %s", len(errs), len(emails), errs[0])
	}
	return total, nil
}

// statusOne is the survey's IMAP work for one mailbox (imapcheck.Count without its EXAMINE/SEARCH
// or FETCH fallbacks, which a folder under 35 MB on a server with STATUS=SIZE does not need):
// LOGIN, LIST "" "*", STATUS of every selectable folder, LOGOUT.
func statusOne(srv *imaptest.Server, user, password string) (int64, error) {
	c, err := dialDirect(srv, user, password)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }()
	size := statusSize(c)
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, b := range boxes {
		if hasMailboxAttr(b.Attrs, imap.MailboxAttrNoSelect) || hasMailboxAttr(b.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		st, err := c.Status(b.Mailbox, &imap.StatusOptions{NumMessages: true, Size: size}).Wait()
		if err != nil {
			return n, fmt.Errorf("STATUS %q: %w", b.Mailbox, err)
		}
		if st.NumMessages == nil {
			return n, fmt.Errorf("STATUS %q answered without MESSAGES", b.Mailbox)
		}
		n += int64(*st.NumMessages)
	}
	return n, c.Logout().Wait()
}

func hasMailboxAttr(attrs []imap.MailboxAttr, want imap.MailboxAttr) bool {
	for _, a := range attrs {
		if strings.EqualFold(string(a), string(want)) {
			return true
		}
	}
	return false
}
