package imapcheck

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// Passwords are distinctive so that a leak into any result is detectable.
const (
	alicePW = "Alice-S3cret-pw!"
	bobPW   = "Bob-S3cret-pw#42"
	wrongPW = "Wr0ng-Guess-pw%%"
)

var securities = []string{"Ssl", "Tls", "None"}

func target(srv *imaptest.Server) Target {
	return Target{Host: srv.Host, Port: srv.Port, Security: srv.Security, RootCAs: srv.CAPool, DialTimeout: 5 * time.Second}
}

// assertNoSecret fails when any of the passwords appears anywhere in v.
func assertNoSecret(t *testing.T, v any, secrets ...string) {
	t.Helper()
	dump := fmt.Sprintf("%+v", v)
	for _, s := range append(secrets, alicePW, bobPW, wrongPW) {
		if strings.Contains(dump, s) {
			t.Errorf("password %q leaked into result: %s", s, dump)
		}
	}
}

func loginUsers() map[string]imaptest.User {
	return map[string]imaptest.User{
		"alice@example.com": {Password: alicePW},
		"bob@example.com":   {Password: bobPW},
	}
}

func loginCreds() []Credential {
	return []Credential{
		{EmailAddress: "alice@contoso.com", UserName: "alice@example.com", Password: alicePW, Line: 2},
		{EmailAddress: "bob@contoso.com", UserName: "bob@example.com", Password: wrongPW, Line: 3},
		{EmailAddress: "carol@contoso.com", UserName: "carol@example.com", Password: wrongPW, Line: 4},
	}
}

// checkLoginResults asserts good login, wrong password and unknown user, with
// the server's exact text.
func checkLoginResults(t *testing.T, got []LoginResult, authText string) {
	t.Helper()
	want := []LoginResult{
		{EmailAddress: "alice@contoso.com", UserName: "alice@example.com", Line: 2, OK: true},
		{EmailAddress: "bob@contoso.com", UserName: "bob@example.com", Line: 3, Kind: KindAuth, Error: authText},
		{EmailAddress: "carol@contoso.com", UserName: "carol@example.com", Line: 4, Kind: KindAuth, Error: authText},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckLogins =\n%+v\nwant\n%+v", got, want)
	}
	assertNoSecret(t, got)
}

func TestCheckLoginsMemServer(t *testing.T) {
	for _, sec := range securities {
		t.Run(sec, func(t *testing.T) {
			srv := imaptest.StartMemServer(t, loginUsers(), sec)
			got := CheckLogins(context.Background(), target(srv), loginCreds(), 0)
			checkLoginResults(t, got, "[AUTHENTICATIONFAILED] Authentication failed")
		})
	}
}

func TestCheckLoginsDovecot(t *testing.T) {
	for _, sec := range securities {
		t.Run(sec, func(t *testing.T) {
			srv := imaptest.StartDovecot(t, loginUsers(), sec)
			got := CheckLogins(context.Background(), target(srv), loginCreds(), 3)
			checkLoginResults(t, got, "[AUTHENTICATIONFAILED] Authentication failed.")
		})
	}
}

func TestUntrustedCertificate(t *testing.T) {
	for _, sec := range []string{"Ssl", "Tls"} {
		t.Run(sec, func(t *testing.T) {
			srv := imaptest.StartMemServer(t, loginUsers(), sec)
			tg := target(srv)
			tg.RootCAs = nil // system pool: does not know the test CA
			got := CheckLogins(context.Background(), tg, loginCreds()[:1], 1)[0]
			if got.OK || got.Kind != KindTLS || !strings.Contains(got.Error, "not trusted") {
				t.Errorf("untrusted certificate: got %+v, want Kind tls saying the certificate is not trusted", got)
			}
			tg.AcceptUntrustedCertificates = true
			got = CheckLogins(context.Background(), tg, loginCreds()[:1], 1)[0]
			if !got.OK {
				t.Errorf("AcceptUntrustedCertificates: got %+v, want OK", got)
			}
		})
	}
}

func TestHostnameMismatch(t *testing.T) {
	srv := imaptest.StartMemServer(t, loginUsers(), "Ssl")
	tg := target(srv)
	// The certificate names 127.0.0.1 only.
	tg.Host = "localhost"
	got := CheckLogins(context.Background(), tg, loginCreds()[:1], 1)[0]
	if got.Kind != KindTLS || !strings.Contains(got.Error, "does not match the host name") {
		t.Errorf("got %+v, want Kind tls about the host name", got)
	}
}

func TestConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	got := CheckLogins(context.Background(), Target{Host: "127.0.0.1", Port: port, Security: "Ssl"}, loginCreds()[:1], 1)[0]
	if got.OK || got.Kind != KindConnect || !strings.Contains(got.Error, "refused") {
		t.Errorf("got %+v, want Kind connect, connection refused", got)
	}
}

func TestWrongSecurityForPort(t *testing.T) {
	plain := imaptest.StartMemServer(t, loginUsers(), "None")
	implicit := imaptest.StartMemServer(t, loginUsers(), "Ssl")
	starttls := imaptest.StartMemServer(t, loginUsers(), "Tls")
	cases := []struct {
		name     string
		srv      *imaptest.Server
		security string
		kind     string
		contains string
	}{
		{"Ssl to a plain port", plain, "Ssl", KindTLS, "not a TLS server"},
		{"None to an implicit TLS port", implicit, "None", KindConnect, `use Security "Ssl"`},
		{"Tls to an implicit TLS port", implicit, "Tls", KindConnect, `use Security "Ssl"`},
		{"Tls to a server without STARTTLS", plain, "Tls", KindProtocol, "refused STARTTLS: STARTTLS not supported"},
		{"None to a STARTTLS server", starttls, "None", KindProtocol, "LOGINDISABLED"},
		{"unknown security", plain, "Starttls", KindProtocol, "not one of Ssl, Tls, None"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := target(c.srv)
			tg.Security = c.security
			tg.DialTimeout = 300 * time.Millisecond
			start := time.Now()
			got := CheckLogins(context.Background(), tg, loginCreds()[:1], 1)[0]
			if got.OK || got.Kind != c.kind || !strings.Contains(got.Error, c.contains) {
				t.Errorf("got %+v, want Kind %s containing %q", got, c.kind, c.contains)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestConcurrencyTwentyUsers(t *testing.T) {
	users := map[string]imaptest.User{}
	var creds []Credential
	for i := 0; i < 20; i++ {
		addr := fmt.Sprintf("user%02d@example.com", i)
		pw := fmt.Sprintf("pw-%02d-S3cret", i)
		users[addr] = imaptest.User{Password: pw, Folders: map[string][]imaptest.Message{"INBOX": make([]imaptest.Message, i)}}
		if i%3 == 0 {
			pw = wrongPW
		}
		creds = append(creds, Credential{EmailAddress: addr, UserName: addr, Password: pw, Line: i + 2})
	}
	srv := imaptest.StartMemServer(t, users, "Ssl")
	got := Survey(context.Background(), target(srv), creds, 6)
	if len(got) != 20 {
		t.Fatalf("got %d results, want 20", len(got))
	}
	for i, mb := range got {
		wantOK := i%3 != 0
		if mb.EmailAddress != creds[i].EmailAddress || mb.Line != i+2 || mb.Login.OK != wantOK {
			t.Errorf("result %d = %+v, want %s line %d OK=%v", i, mb, creds[i].EmailAddress, i+2, wantOK)
			continue
		}
		if wantOK && mb.Messages != int64(i) {
			t.Errorf("result %d: %d messages, want %d", i, mb.Messages, i)
		}
		if !wantOK && mb.Login.Kind != KindAuth {
			t.Errorf("result %d: kind %q, want auth", i, mb.Login.Kind)
		}
		assertNoSecret(t, mb, fmt.Sprintf("pw-%02d-S3cret", i))
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	fs := startScript(t, scriptOptions{loginDelay: 40 * time.Millisecond})
	var creds []Credential
	for i := 0; i < 20; i++ {
		creds = append(creds, Credential{EmailAddress: fmt.Sprintf("u%d@x", i), UserName: fmt.Sprintf("u%d@x", i), Password: "pw"})
	}
	got := CheckLogins(context.Background(), fs.target(), creds, 5)
	for i, r := range got {
		if !r.OK || r.EmailAddress != creds[i].EmailAddress {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if m := fs.maxActive.Load(); m > 5 || m < 2 {
		t.Errorf("max simultaneous connections %d, want 2..5", m)
	}
	if n := fs.logouts.Load(); n != 20 {
		t.Errorf("%d LOGOUTs, want 20", n)
	}
	// Defaults: 0 means 4, more than 32 means 32.
	fs.maxActive.Store(0)
	CheckLogins(context.Background(), fs.target(), creds, 0)
	if m := fs.maxActive.Load(); m > DefaultConcurrency {
		t.Errorf("default concurrency reached %d connections", m)
	}
}

// seedFolders is the mailbox used by the counting tests. Sizes are explicit so
// that the expected byte counts do not depend on how messages are rendered.
func seedFolders() map[string][]imaptest.Message {
	return map[string][]imaptest.Message{
		"INBOX":          {{Size: 3000}, {Size: 4000}, {Size: 5000}},
		"Sent":           {{Size: 2000}},
		"Drafts":         nil,
		"Archive/2024":   {{Size: 2500}, {Size: 2600}},
		`Projects\/2024`: {{Size: 2200}},
		"已发送":            {{Size: 2100, Subject: "测试"}},
	}
}

// wantDotFolders is seedFolders as a server with the "." delimiter shows it.
var wantDotFolders = []Folder{
	{Name: "INBOX", Messages: 3, Bytes: 12000},
	{Name: "Archive.2024", Messages: 2, Bytes: 5100},
	{Name: "Drafts"},
	{Name: "Projects/2024", Messages: 1, Bytes: 2200, Skipped: true, SkipReason: SlashSkipReason},
	{Name: "Sent", Messages: 1, Bytes: 2000},
	{Name: "已发送", Messages: 1, Bytes: 2100},
}

func checkSurvey(t *testing.T, srv *imaptest.Server, wantFolders []Folder) {
	t.Helper()
	creds := []Credential{
		{EmailAddress: "alice@contoso.com", UserName: "alice@example.com", Password: alicePW, Line: 7},
		{EmailAddress: "bob@contoso.com", UserName: "bob@example.com", Password: wrongPW, Line: 8},
	}
	got := Survey(context.Background(), target(srv), creds, 2)
	var msgs, bytes int64
	for _, f := range wantFolders {
		if !f.Skipped {
			msgs += f.Messages
			bytes += f.Bytes
		}
	}
	want := Mailbox{
		EmailAddress: "alice@contoso.com", Line: 7,
		Login:   LoginResult{EmailAddress: "alice@contoso.com", UserName: "alice@example.com", Line: 7, OK: true},
		Folders: wantFolders, Messages: msgs, Bytes: bytes,
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("Survey alice =\n%+v\nwant\n%+v", got[0], want)
	}
	if got[1].Login.OK || got[1].Login.Kind != KindAuth || got[1].Folders != nil || got[1].Line != 8 {
		t.Errorf("Survey bob = %+v, want a failed login and no folders", got[1])
	}
	assertNoSecret(t, got)
}

func surveyUsers() map[string]imaptest.User {
	return map[string]imaptest.User{
		"alice@example.com": {Password: alicePW, Folders: seedFolders()},
		"bob@example.com":   {Password: bobPW, Folders: map[string][]imaptest.Message{"INBOX": {{}}}},
	}
}

func TestSurveyMemServerDotDelimiter(t *testing.T) {
	for _, noStatusSize := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoStatusSize=%v", noStatusSize), func(t *testing.T) {
			srv := imaptest.StartMemServerWith(t, surveyUsers(), imaptest.MemOptions{Security: "Tls", Delimiter: '.', NoStatusSize: noStatusSize})
			checkSurvey(t, srv, wantDotFolders)
		})
	}
}

func TestSurveyMemServerSlashDelimiter(t *testing.T) {
	users := surveyUsers()
	f := seedFolders()
	delete(f, `Projects\/2024`) // cannot exist where "/" is the delimiter
	users["alice@example.com"] = imaptest.User{Password: alicePW, Folders: f}
	srv := imaptest.StartMemServer(t, users, "None")
	checkSurvey(t, srv, []Folder{
		{Name: "INBOX", Messages: 3, Bytes: 12000},
		{Name: "Archive/2024", Messages: 2, Bytes: 5100}, // "/" is the delimiter here: migrated
		{Name: "Drafts"},
		{Name: "Sent", Messages: 1, Bytes: 2000},
		{Name: "已发送", Messages: 1, Bytes: 2100},
	})
}

func TestSurveyDovecot(t *testing.T) {
	for _, sec := range securities {
		t.Run(sec, func(t *testing.T) {
			srv := imaptest.StartDovecot(t, surveyUsers(), sec)
			checkSurvey(t, srv, wantDotFolders)
		})
	}
}

func TestItemOver35MB(t *testing.T) {
	const big = 36 * 1024 * 1024 // 37748736 > 36700160
	users := map[string]imaptest.User{"alice@example.com": {Password: alicePW, Folders: map[string][]imaptest.Message{
		"INBOX":   {{Size: 4000}, {Size: big}, {Size: 5000}},
		"Archive": {{Size: 3000}},
	}}}
	srv := imaptest.StartMemServer(t, users, "Ssl") // STATUS=SIZE: SEARCH LARGER path
	mb, err := Count(context.Background(), target(srv), Credential{EmailAddress: "alice@contoso.com", UserName: "alice@example.com", Password: alicePW})
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	want := []Folder{
		{Name: "INBOX", Messages: 3, Bytes: big + 9000, ItemsOver35MB: 1},
		{Name: "Archive", Messages: 1, Bytes: 3000},
	}
	if !reflect.DeepEqual(mb.Folders, want) || mb.ItemsOver35MB != 1 || mb.Bytes != big+12000 || mb.Messages != 4 {
		t.Errorf("Count = %+v, want folders %+v", mb, want)
	}
}

func TestUserRoot(t *testing.T) {
	users := map[string]imaptest.User{"alice@example.com": {Password: alicePW, Folders: map[string][]imaptest.Message{
		"users/terry/Inbox": {{Size: 3000}},
		"users/terry/Sent":  {{Size: 2000}, {Size: 2000}},
		"users/other/Inbox": {{Size: 9000}},
	}}}
	srv := imaptest.StartMemServer(t, users, "Ssl")
	c := Credential{EmailAddress: "terry@contoso.com", UserName: "alice@example.com", Password: alicePW, UserRoot: "users/terry"}
	mb, err := Count(context.Background(), target(srv), c)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	want := []Folder{{Name: "Inbox", Messages: 1, Bytes: 3000}, {Name: "Sent", Messages: 2, Bytes: 4000}}
	if !reflect.DeepEqual(mb.Folders, want) || mb.Messages != 3 {
		t.Errorf("folders under UserRoot = %+v, want %+v", mb.Folders, want)
	}
	c.UserRoot = "users/nobody/"
	mb, err = Count(context.Background(), target(srv), c)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindProtocol || !strings.Contains(mb.Error, "no folders found under UserRoot") || !mb.Login.OK {
		t.Errorf("missing UserRoot: err %v, mailbox %+v", err, mb)
	}
}

func TestCountLoginFailure(t *testing.T) {
	srv := imaptest.StartMemServer(t, loginUsers(), "Ssl")
	mb, err := Count(context.Background(), target(srv), Credential{EmailAddress: "bob@contoso.com", UserName: "bob@example.com", Password: wrongPW})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindAuth || e.Message != "[AUTHENTICATIONFAILED] Authentication failed" {
		t.Fatalf("err = %#v, want *Error auth with the server text", err)
	}
	if mb.Login.OK || mb.Folders != nil || mb.Login.Error != e.Message {
		t.Errorf("mailbox = %+v", mb)
	}
	assertNoSecret(t, []any{mb, err.Error()})
}

func TestContextCanceled(t *testing.T) {
	srv := imaptest.StartMemServer(t, loginUsers(), "Ssl")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range CheckLogins(ctx, target(srv), loginCreds(), 2) {
		if r.OK || r.Kind != KindCanceled {
			t.Errorf("canceled context: %+v", r)
		}
	}
	for _, m := range Survey(ctx, target(srv), loginCreds(), 2) {
		if m.Login.Kind != KindCanceled {
			t.Errorf("canceled context: %+v", m)
		}
	}

	// Cancel while the server sits on LOGIN.
	fs := startScript(t, scriptOptions{loginDelay: time.Hour})
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := CheckLogins(ctx, fs.target(), loginCreds(), 4)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancellation took %v", d)
	}
	for _, r := range got {
		if r.OK || r.Kind != KindCanceled {
			t.Errorf("canceled during LOGIN: %+v", r)
		}
	}
}

func TestCommandTimeout(t *testing.T) {
	fs := startScript(t, scriptOptions{loginDelay: time.Hour})
	tg := fs.target()
	tg.CommandTimeout = 200 * time.Millisecond
	got := CheckLogins(context.Background(), tg, loginCreds()[:1], 1)[0]
	if got.Kind != KindConnect || !strings.Contains(got.Error, "sent nothing for 200ms during LOGIN") {
		t.Errorf("got %+v, want a connect timeout during LOGIN", got)
	}
}

func TestScriptedServerAnswers(t *testing.T) {
	cases := []struct {
		name  string
		opts  scriptOptions
		check func(t *testing.T, mb Mailbox, err error)
	}{
		{
			name: "FETCH sizes around the 35 MB limit",
			opts: scriptOptions{fetchSizes: []int64{MaxItemBytes, MaxItemBytes + 1, 100}},
			check: func(t *testing.T, mb Mailbox, err error) {
				want := []Folder{{Name: "INBOX", Messages: 3, Bytes: 2*MaxItemBytes + 101, ItemsOver35MB: 1}}
				if err != nil || !reflect.DeepEqual(mb.Folders, want) || mb.ItemsOver35MB != 1 {
					t.Errorf("err %v, folders %+v, want %+v", err, mb.Folders, want)
				}
			},
		},
		{
			name: "over 500,000 items",
			opts: scriptOptions{statusSize: true, statusMessages: MaxItems + 1, statusBytes: 1000},
			check: func(t *testing.T, mb Mailbox, err error) {
				if err != nil || !mb.OverItemLimit || mb.Messages != MaxItems+1 {
					t.Errorf("err %v, mailbox %+v, want OverItemLimit", err, mb)
				}
			},
		},
		{
			name: "exactly 500,000 items",
			opts: scriptOptions{statusSize: true, statusMessages: MaxItems, statusBytes: 1000},
			check: func(t *testing.T, mb Mailbox, err error) {
				if err != nil || mb.OverItemLimit || mb.Messages != MaxItems {
					t.Errorf("err %v, mailbox %+v, want not OverItemLimit", err, mb)
				}
			},
		},
		{
			name: "greeting BYE",
			opts: scriptOptions{greeting: "* BYE [UNAVAILABLE] Too many connections from your IP"},
			check: func(t *testing.T, mb Mailbox, err error) {
				if mb.Login.Kind != KindProtocol || !strings.Contains(mb.Login.Error, "[UNAVAILABLE] Too many connections from your IP") {
					t.Errorf("login = %+v", mb.Login)
				}
			},
		},
		{
			name: "server echoes the password",
			opts: scriptOptions{loginAnswer: "NO [AUTHENTICATIONFAILED] bad password " + wrongPW},
			check: func(t *testing.T, mb Mailbox, err error) {
				if mb.Login.Kind != KindAuth || mb.Login.Error != "[AUTHENTICATIONFAILED] bad password [redacted]" {
					t.Errorf("login = %+v", mb.Login)
				}
			},
		},
		{
			name: "LOGIN answered BAD",
			opts: scriptOptions{loginAnswer: "BAD Syntax error"},
			check: func(t *testing.T, mb Mailbox, err error) {
				if mb.Login.Kind != KindProtocol || !strings.Contains(mb.Login.Error, "Syntax error") {
					t.Errorf("login = %+v", mb.Login)
				}
			},
		},
		{
			name: "STATUS refused",
			opts: scriptOptions{statusAnswer: "NO [NOPERM] Permission denied"},
			check: func(t *testing.T, mb Mailbox, err error) {
				var e *Error
				if !errors.As(err, &e) || e.Kind != KindProtocol || !mb.Login.OK || !strings.Contains(mb.Error, "[NOPERM] Permission denied") {
					t.Errorf("err %v, mailbox %+v", err, mb)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := startScript(t, c.opts)
			mb, err := Count(context.Background(), fs.target(), Credential{EmailAddress: "a@contoso.com", UserName: "a@x", Password: wrongPW})
			c.check(t, mb, err)
			assertNoSecret(t, []any{mb, fmt.Sprint(err)})
		})
	}
}

// scriptOptions drive the scripted IMAP server used for answers the real
// servers cannot easily be made to give.
type scriptOptions struct {
	greeting       string        // default "* OK [CAPABILITY IMAP4rev1] ready"
	loginDelay     time.Duration // wait before answering LOGIN
	loginAnswer    string        // default "OK Logged in"
	statusSize     bool          // advertise STATUS=SIZE
	statusMessages int64
	statusBytes    int64
	statusAnswer   string  // replaces the STATUS answer, e.g. "NO ..."
	fetchSizes     []int64 // RFC822.SIZE of INBOX's messages (FETCH path)
}

type scriptServer struct {
	addr      *net.TCPAddr
	active    atomic.Int32
	maxActive atomic.Int32
	logouts   atomic.Int32
}

func (fs *scriptServer) target() Target {
	return Target{Host: "127.0.0.1", Port: fs.addr.Port, Security: "None", DialTimeout: 2 * time.Second}
}

func startScript(t *testing.T, o scriptOptions) *scriptServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &scriptServer{addr: ln.Addr().(*net.TCPAddr)}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				fs.serve(c, o, done)
			}()
		}
	}()
	return fs
}

func (fs *scriptServer) serve(c net.Conn, o scriptOptions, done chan struct{}) {
	defer func() { _ = c.Close() }()
	// Counted from accept to LOGOUT (not to the close, which the client does
	// not wait for).
	n := fs.active.Add(1)
	counted := true
	defer func() {
		if counted {
			fs.active.Add(-1)
		}
	}()
	for {
		m := fs.maxActive.Load()
		if n <= m || fs.maxActive.CompareAndSwap(m, n) {
			break
		}
	}
	w := bufio.NewWriter(c)
	send := func(lines ...string) {
		// A write error means the client hung up; the next read ends the session.
		for _, l := range lines {
			_, _ = w.WriteString(l + "\r\n")
		}
		_ = w.Flush()
	}
	caps := "IMAP4rev1"
	if o.statusSize {
		caps += " STATUS=SIZE"
	}
	greeting := o.greeting
	if greeting == "" {
		greeting = "* OK [CAPABILITY " + caps + "] ready"
	}
	send(greeting)
	if strings.HasPrefix(greeting, "* BYE") {
		return
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		fields := strings.SplitN(strings.TrimRight(line, "\r\n"), " ", 3)
		if len(fields) < 2 {
			send("* BAD syntax")
			continue
		}
		tag, cmd := fields[0], strings.ToUpper(fields[1])
		switch cmd {
		case "CAPABILITY":
			send("* CAPABILITY "+caps, tag+" OK done")
		case "LOGIN":
			select {
			case <-time.After(o.loginDelay):
			case <-done:
				return
			}
			answer := o.loginAnswer
			if answer == "" {
				answer = "OK [CAPABILITY " + caps + "] Logged in"
			}
			send(tag + " " + answer)
		case "LIST":
			send(`* LIST () "/" INBOX`, tag+" OK done")
		case "STATUS":
			if o.statusAnswer != "" {
				send(tag + " " + o.statusAnswer)
				continue
			}
			msgs := o.statusMessages
			if o.fetchSizes != nil {
				msgs = int64(len(o.fetchSizes))
			}
			items := fmt.Sprintf("MESSAGES %d", msgs)
			if o.statusSize {
				items += fmt.Sprintf(" SIZE %d", o.statusBytes)
			}
			send(fmt.Sprintf("* STATUS INBOX (%s)", items), tag+" OK done")
		case "EXAMINE":
			send(fmt.Sprintf("* %d EXISTS", len(o.fetchSizes)), "* FLAGS ()", tag+" OK [READ-ONLY] done")
		case "FETCH":
			for i, sz := range o.fetchSizes {
				send(fmt.Sprintf("* %d FETCH (RFC822.SIZE %d)", i+1, sz))
			}
			send(tag + " OK done")
		case "LOGOUT":
			fs.logouts.Add(1)
			fs.active.Add(-1)
			counted = false
			send("* BYE bye", tag+" OK done")
			return
		default:
			send(tag + " BAD unknown command")
		}
	}
}
