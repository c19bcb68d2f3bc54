package demo

import (
	"fmt"
	"os"
	"sync"

	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// Mailboxes are the Exmail mailboxes the demo's IMAP source serves: the users of the example's
// address-book export (data/exmail-export.csv), with folder → message count. Their passwords are
// read from the example's migration CSV, so the two cannot drift apart.
var Mailboxes = map[string]map[string]int{
	"zhang.san@contoso.com":     {"INBOX": 80, "Sent": 20, "Archive/2024": 15},
	"li.si@contoso.com":         {"INBOX": 60, "Sent": 10},
	"wang.wu@contoso.com":       {"INBOX": 45},
	"zhao.liu@contoso.com":      {"INBOX": 30, "Sent": 12},
	"chen.xiaoming@contoso.com": {"INBOX": 25, "Drafts": 3},
}

// SeededMessages returns the number of messages of each mailbox of Mailboxes.
func SeededMessages() map[string]int64 {
	out := map[string]int64{}
	for addr, folders := range Mailboxes {
		for _, n := range folders {
			out[addr] += int64(n)
		}
	}
	return out
}

// imapUsers builds the IMAP server's users from Mailboxes and the passwords of a migration CSV.
func imapUsers(passwords map[string]string) (map[string]imaptest.User, error) {
	users := map[string]imaptest.User{}
	for addr, folders := range Mailboxes {
		pw, ok := passwords[addr]
		if !ok {
			return nil, fmt.Errorf("the example's migration CSV has no row for %s", addr)
		}
		u := imaptest.User{Password: pw, Folders: map[string][]imaptest.Message{}}
		for name, n := range folders {
			msgs := make([]imaptest.Message, n)
			for i := range msgs {
				msgs[i] = imaptest.Message{Subject: fmt.Sprintf("%s #%d", name, i+1)}
			}
			u.Folders[name] = msgs
		}
		users[addr] = u
	}
	return users, nil
}

// runTB is the imaptest.TB of a program: Fatalf panics with a fatalError (recovered by Run),
// cleanups run in reverse order at close.
type runTB struct {
	mu       sync.Mutex
	cleanups []func()
	logf     func(format string, args ...any)
}

type fatalError struct{ msg string }

func (f fatalError) Error() string { return f.msg }

func (t *runTB) Helper() {}

func (t *runTB) Fatalf(format string, args ...any) { panic(fatalError{fmt.Sprintf(format, args...)}) }

func (t *runTB) Logf(format string, args ...any) {
	if t.logf != nil {
		t.logf(format, args...)
	}
}

func (t *runTB) Skip(args ...any) { panic(fatalError{"skipped: " + fmt.Sprint(args...)}) }

func (t *runTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *runTB) TempDir() string {
	d, err := os.MkdirTemp("", "m365-demo-imap-")
	if err != nil {
		t.Fatalf("temporary directory: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// close runs the cleanups, last registered first.
func (t *runTB) close() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

var _ imaptest.TB = (*runTB)(nil)
