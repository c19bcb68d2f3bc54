package bench

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/m365-migration/terraform-provider-m365/internal/e2e"
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
	Wall        time.Duration // terraform apply reading the survey (start-up included)
	Baseline    time.Duration // the same configuration without the survey: terraform + provider start-up
	Direct      time.Duration // login + LIST + STATUS of every folder with go-imap, same concurrency
	Messages    int64         // messages counted by the survey
}

// Survey is the provider's share of Wall: Wall - Baseline.
func (r PreflightResult) Survey() time.Duration { return r.Wall - r.Baseline }

// RunPreflight surveys n mailboxes on Dovecot through the provider and directly.
func (e *Env) RunPreflight(n int) (res PreflightResult, err error) {
	res = PreflightResult{Mailboxes: n, Concurrency: 4}
	dir, err := os.MkdirTemp(e.Work, "preflight-")
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	tb := &programTB{dir: dir, logf: e.Logf}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(tbFailure)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("dovecot: %s", f.msg)
		}
	}()
	users := map[string]imaptest.User{}
	var emails []string
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("m%03d@exmail.example", i)
		emails = append(emails, email)
		users[email] = imaptest.User{Password: fmt.Sprintf("Src-%03d-pw", i), Folders: map[string][]imaptest.Message{
			"INBOX": make([]imaptest.Message, 5), "Sent": make([]imaptest.Message, 2), "Archive/2024": make([]imaptest.Message, 1),
		}}
	}
	srv := imaptest.StartDovecot(tb, users, imaptest.SecuritySsl)
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
output "messages" { value = data.m365_imap_mailbox_survey.s.totals.messages }
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
			m, _ := tf.Run("output", "-raw", "messages")
			if _, err := fmt.Sscan(m, &res.Messages); err != nil || res.Messages != int64(8*n) {
				return 0, fmt.Errorf("survey counted %q messages, want %d", m, 8*n)
			}
		}
		return wall, nil
	}
	if res.Baseline, err = run("baseline", false); err != nil {
		return res, err
	}
	if res.Wall, err = run("survey", true); err != nil {
		return res, err
	}
	start := time.Now()
	total, err := directSurvey(srv, users, emails, res.Concurrency)
	res.Direct = time.Since(start)
	if err != nil {
		return res, err
	}
	if total != res.Messages {
		return res, fmt.Errorf("direct STATUS counted %d messages, the survey %d", total, res.Messages)
	}
	return res, nil
}

// directSurvey logs in to every mailbox, lists its folders and asks STATUS (MESSAGES) of each,
// with the given concurrency, and returns the number of messages.
func directSurvey(srv *imaptest.Server, users map[string]imaptest.User, emails []string, concurrency int) (int64, error) {
	var mu sync.Mutex
	var total int64
	var firstErr error
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
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", em, err)
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
	return total, firstErr
}

func statusOne(srv *imaptest.Server, user, password string) (int64, error) {
	c, err := imapclient.DialTLS(srv.Addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: srv.CAPool, ServerName: srv.Host, MinVersion: tls.VersionTLS12}})
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }()
	if err := c.Login(user, password).Wait(); err != nil {
		return 0, err
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, b := range boxes {
		st, err := c.Status(b.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			return n, err
		}
		if st.NumMessages != nil {
			n += int64(*st.NumMessages)
		}
	}
	return n, c.Logout().Wait()
}
