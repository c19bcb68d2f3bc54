package imaptest

import (
	"crypto/tls"
	"errors"
	"net"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestRenderPadsToExactSize(t *testing.T) {
	head := len(Render(Message{}, "a@example.com", 1))
	for _, size := range []int{0, 1, head - 1, head, head + 1, head + 2, head + 77, head + 78, head + 79, 5000} {
		got := len(Render(Message{Size: size}, "a@example.com", 1))
		want := size
		if size < head {
			want = head
		}
		if got != want {
			t.Errorf("Size %d: rendered %d bytes, want %d", size, got, want)
		}
	}
}

func TestRenderHeadersAndCRLF(t *testing.T) {
	raw := string(Render(Message{From: "x@example.org", Subject: "已发送 report", Body: "line1\nline2"}, "u@example.com", 3))
	for _, want := range []string{"From: x@example.org\r\n", "To: u@example.com\r\n", "Subject: =?utf-8?q?", "\r\n\r\nline1\r\nline2\r\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("rendered message lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(strings.ReplaceAll(raw, "\r\n", ""), "\n") {
		t.Errorf("bare LF in rendered message")
	}
}

func TestSplitFolder(t *testing.T) {
	cases := map[string][]string{
		"INBOX":          {"INBOX"},
		"Archive/2024":   {"Archive", "2024"},
		`Projects\/2024`: {"Projects/2024"},
		`A/B\/C/D`:       {"A", "B/C", "D"},
	}
	for in, want := range cases {
		if got := splitFolder(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitFolder(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := folderLevels("A.B", '.'); err == nil {
		t.Errorf("folderLevels accepted a level containing the delimiter")
	}
	if _, err := folderLevels("A//B", '/'); err == nil {
		t.Errorf("folderLevels accepted an empty level")
	}
}

func TestEncodeMUTF7(t *testing.T) {
	// RFC 3501 section 5.1.3 example, and "&" itself.
	cases := map[string]string{
		"~peter/mail/台北/日本語": "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		"Tom & Jerry":        "Tom &- Jerry",
		"Sent":               "Sent",
	}
	for in, want := range cases {
		if got := encodeMUTF7(in); got != want {
			t.Errorf("encodeMUTF7(%q) = %q, want %q", in, got, want)
		}
	}
}

// dial connects an imapclient to srv, trusting its CA.
func dial(t *testing.T, srv *Server) *imapclient.Client {
	t.Helper()
	opts := &imapclient.Options{TLSConfig: &tls.Config{RootCAs: srv.CAPool, ServerName: srv.Host}}
	var c *imapclient.Client
	var err error
	switch srv.Security {
	case SecuritySsl:
		c, err = imapclient.DialTLS(srv.Addr, opts)
	case SecurityTLS:
		c, err = imapclient.DialStartTLS(srv.Addr, opts)
	default:
		c, err = imapclient.DialInsecure(srv.Addr, opts)
	}
	if err != nil {
		t.Fatalf("dial %s (%s): %v", srv.Addr, srv.Security, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type listed struct {
	name     string
	noselect bool
}

func listAll(t *testing.T, c *imapclient.Client) ([]listed, rune) {
	t.Helper()
	data, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	var out []listed
	var delim rune
	for _, d := range data {
		l := listed{name: d.Mailbox}
		for _, a := range d.Attrs {
			if a == imap.MailboxAttrNoSelect {
				l.noselect = true
			}
		}
		out = append(out, l)
		delim = d.Delim
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, delim
}

var seedUsers = map[string]User{
	"alice@example.com": {
		Password: "pa:ss wörd\"1",
		Folders: map[string][]Message{
			"INBOX":          {{Size: 3000}, {Size: 4000}},
			"Archive/2024":   {{Size: 2500}},
			"已发送":            {{Subject: "你好", Size: 2100}},
			`Projects\/2024`: {{Size: 2200}, {Size: 2300}, {Size: 2400}},
		},
	},
}

// checkSeeded verifies LIST and STATUS against seedUsers as a server with the
// '.' delimiter shows them.
func checkSeeded(t *testing.T, srv *Server) {
	c := dial(t, srv)
	if err := c.Login("alice@example.com", "wrong").Wait(); err == nil {
		t.Fatalf("LOGIN with a wrong password succeeded")
	} else {
		var imapErr *imap.Error
		if !errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeAuthenticationFailed {
			t.Fatalf("wrong password: got %v, want NO [AUTHENTICATIONFAILED]", err)
		}
	}
	if err := c.Login("alice@example.com", seedUsers["alice@example.com"].Password).Wait(); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	got, delim := listAll(t, c)
	if delim != '.' {
		t.Errorf("delimiter %q, want '.'", delim)
	}
	want := []listed{{"Archive", true}, {"Archive.2024", false}, {"INBOX", false}, {"Projects/2024", false}, {"已发送", false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LIST = %+v, want %+v", got, want)
	}
	for name, want := range map[string][2]int64{"INBOX": {2, 7000}, "Archive.2024": {1, 2500}, "Projects/2024": {3, 6900}, "已发送": {1, 2100}} {
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true, Size: true}).Wait()
		if err != nil {
			t.Errorf("STATUS %s: %v", name, err)
			continue
		}
		if int64(*st.NumMessages) != want[0] || st.Size == nil || *st.Size != want[1] {
			t.Errorf("STATUS %s = %d messages, size %v; want %v", name, *st.NumMessages, st.Size, want)
		}
	}
	_ = c.Logout().Wait()
}

func TestMemServerDotDelimiter(t *testing.T) {
	srv := StartMemServerWith(t, seedUsers, MemOptions{Security: SecuritySsl, Delimiter: '.'})
	checkSeeded(t, srv)
}

func TestMemServerSlashDelimiter(t *testing.T) {
	users := map[string]User{"bob@example.com": {Password: "pw", Folders: map[string][]Message{
		"Sent": {{}}, "Archive/2024/Q1": {{}, {}},
	}}}
	srv := StartMemServer(t, users, SecurityNone)
	c := dial(t, srv)
	if err := c.Login("bob@example.com", "pw").Wait(); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	got, delim := listAll(t, c)
	want := []listed{{"Archive", true}, {"Archive/2024", true}, {"Archive/2024/Q1", false}, {"INBOX", false}, {"Sent", false}}
	if delim != '/' || !reflect.DeepEqual(got, want) {
		t.Errorf("LIST = %+v (delim %q), want %+v", got, delim, want)
	}
	// Creating and deleting through the session keeps LIST right.
	if err := c.Create("New/Sub", nil).Wait(); err != nil {
		t.Fatalf("CREATE: %v", err)
	}
	if err := c.Delete("Sent").Wait(); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	got, _ = listAll(t, c)
	want = []listed{{"Archive", true}, {"Archive/2024", true}, {"Archive/2024/Q1", false}, {"INBOX", false}, {"New", true}, {"New/Sub", false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LIST after CREATE/DELETE = %+v, want %+v", got, want)
	}
}

func TestMemServerSlashDelimiterRejectsLiteralSlash(t *testing.T) {
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		StartMemServer(ft, map[string]User{"a@b.c": {Folders: map[string][]Message{`X\/Y`: nil}}}, SecurityNone)
	}()
	if !ft.failed {
		t.Errorf("a literal slash was accepted by a server whose delimiter is /")
	}
}

// fatalRecorder turns Fatalf into a recorded failure plus panic.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}

func TestMemServerStartTLSRequiredBeforeLogin(t *testing.T) {
	srv := StartMemServer(t, map[string]User{"a@example.com": {Password: "pw"}}, SecurityTLS)
	c, err := imapclient.DialInsecure(srv.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if !c.Caps().Has(imap.CapStartTLS) || !c.Caps().Has(imap.CapLoginDisabled) {
		t.Errorf("capabilities before STARTTLS = %v, want STARTTLS and LOGINDISABLED", c.Caps())
	}
	if err := c.Login("a@example.com", "pw").Wait(); err == nil {
		t.Errorf("LOGIN before STARTTLS succeeded")
	}
	c2 := dial(t, srv)
	if err := c2.Login("a@example.com", "pw").Wait(); err != nil {
		t.Errorf("LOGIN after STARTTLS: %v", err)
	}
}

func TestMemServerUntrustedWithoutCA(t *testing.T) {
	srv := StartMemServer(t, nil, SecuritySsl)
	conn, err := tls.Dial("tcp", srv.Addr, &tls.Config{ServerName: srv.Host})
	if err == nil {
		_ = conn.Close()
		t.Fatalf("handshake with the system pool succeeded; the server certificate should be private")
	}
	conn, err = tls.Dial("tcp", srv.Addr, &tls.Config{RootCAs: srv.CAPool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("handshake with the CA: %v", err)
	}
	_ = conn.Close()
	if conn, err = tls.Dial("tcp", srv.Addr, &tls.Config{RootCAs: srv.CAPool, ServerName: "localhost"}); err == nil {
		_ = conn.Close()
		t.Errorf("the certificate also matched localhost; it should name 127.0.0.1 only")
	}
	if _, _, err := net.SplitHostPort(srv.Addr); err != nil || srv.Port == 0 || srv.CACertFile == "" {
		t.Errorf("server fields incomplete: %+v", srv)
	}
}

func TestDovecot(t *testing.T) {
	for _, sec := range []string{SecuritySsl, SecurityTLS, SecurityNone} {
		t.Run(sec, func(t *testing.T) {
			srv := StartDovecot(t, seedUsers, sec)
			checkSeeded(t, srv)
		})
	}
}
