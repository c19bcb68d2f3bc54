// Package imaptest starts real IMAP servers for tests: go-imap v2's in-memory
// server in-process (StartMemServer) and, when installed, Dovecot
// (StartDovecot). Both are seeded with the same User/Message description, listen
// on 127.0.0.1 only and are stopped by t.Cleanup.
//
// Folder names in User.Folders use "/" as the hierarchy separator whatever the
// server's own delimiter is: "Archive/2024" is the folder "2024" inside
// "Archive" (shown as "Archive/2024" by a server whose delimiter is "/", and as
// "Archive.2024" by one whose delimiter is "."). A literal slash inside one
// level's name is written `\/`: "Projects\/2024" is a single folder whose name
// contains a slash; only servers whose delimiter is not "/" can hold it
// (StartDovecot, or StartMemServerWith with Delimiter '.').
package imaptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Security values, the same strings as the Exchange migration endpoint's
// -Security parameter.
const (
	SecuritySsl  = "Ssl"  // implicit TLS from the first byte
	SecurityTLS  = "Tls"  // plain connection upgraded with STARTTLS
	SecurityNone = "None" // no encryption
)

// Message is one seeded message. Empty fields get defaults: From
// "sender@example.org", To the user's address, Subject "Message N", Body
// "Hello N", Date 2024-01-01 00:00 UTC plus N minutes.
type Message struct {
	From, To, Subject, Body string
	// Size pads the body so that the whole message (RFC822.SIZE, CRLF line
	// endings) is exactly Size bytes; a message already larger is not cut.
	Size int
	Date time.Time
}

// User is one mailbox: its password and its folders ("INBOX", "Sent",
// "Archive/2024", ...; see the package comment for the naming rule). INBOX
// always exists, even when not listed.
type User struct {
	Password string
	Folders  map[string][]Message
}

// Server is a running test IMAP server.
type Server struct {
	Host       string         // always "127.0.0.1"
	Port       int            // the port that speaks Security
	Security   string         // "Ssl", "Tls" or "None"
	CAPool     *x509.CertPool // trusts the server's certificate (a per-server CA)
	CACertFile string         // the same CA as a PEM file
	Addr       string         // Host:Port
	Delimiter  rune           // the server's hierarchy delimiter ('/' or '.')
}

// baseDate is the default date of seeded message N (plus N minutes).
var baseDate = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func checkSecurity(t TB, security string) {
	t.Helper()
	switch security {
	case SecuritySsl, SecurityTLS, SecurityNone:
	default:
		t.Fatalf("imaptest: security %q is not one of Ssl, Tls, None", security)
	}
}

// splitFolder splits a Folders key into its hierarchy levels: "/" separates
// levels and `\/` is a literal slash inside a level.
func splitFolder(key string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(key); i++ {
		switch {
		case key[i] == '\\' && i+1 < len(key) && key[i+1] == '/':
			cur.WriteByte('/')
			i++
		case key[i] == '/':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(key[i])
		}
	}
	return append(parts, cur.String())
}

// isInbox reports whether levels name the INBOX itself.
func isInbox(levels []string) bool {
	return len(levels) == 1 && strings.EqualFold(levels[0], "INBOX")
}

// folderLevels validates a Folders key for a server whose delimiter is delim and
// returns its levels ("INBOX" normalised to upper case).
func folderLevels(key string, delim rune) ([]string, error) {
	levels := splitFolder(key)
	for _, l := range levels {
		if l == "" {
			return nil, fmt.Errorf("folder %q has an empty level", key)
		}
		if strings.ContainsRune(l, delim) {
			return nil, fmt.Errorf("folder %q: level %q contains the server's delimiter %q", key, l, delim)
		}
	}
	if strings.EqualFold(levels[0], "INBOX") {
		levels[0] = "INBOX"
	}
	return levels, nil
}

// sortedFolders returns the keys of folders, INBOX added when missing, sorted.
func sortedFolders(folders map[string][]Message) []string {
	keys := make([]string, 0, len(folders)+1)
	hasInbox := false
	for k := range folders {
		keys = append(keys, k)
		if isInbox(splitFolder(k)) {
			hasInbox = true
		}
	}
	if !hasInbox {
		keys = append(keys, "INBOX")
	}
	sort.Strings(keys)
	return keys
}

func sortedUsers(users map[string]User) []string {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// renderHead returns the header and body of message n (without padding) and
// its date.
func renderHead(m Message, to string, n int) ([]byte, time.Time) {
	date := m.Date
	if date.IsZero() {
		date = baseDate.Add(time.Duration(n) * time.Minute)
	}
	from := m.From
	if from == "" {
		from = "sender@example.org"
	}
	if m.To != "" {
		to = m.To
	}
	subject := m.Subject
	if subject == "" {
		subject = fmt.Sprintf("Message %d", n)
	}
	body := m.Body
	if body == "" {
		body = fmt.Sprintf("Hello %d", n)
	}
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(body, "\r\n") {
		body += "\r\n"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <imaptest.%d.%d@example.invalid>\r\n", n, date.UnixNano())
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes(), date
}

// padLine is one line of body padding (76 characters and CRLF).
var padLine = []byte(strings.Repeat("x", 76) + "\r\n")

// writeMessage writes message n to w, padded to m.Size, and returns its size
// and date. The padding is streamed so that large messages need no buffer.
func writeMessage(w io.Writer, m Message, to string, n int) (int64, time.Time, error) {
	head, date := renderHead(m, to, n)
	if _, err := w.Write(head); err != nil {
		return 0, date, err
	}
	size := int64(len(head))
	rest := int64(m.Size) - size
	for rest > 0 {
		var chunk []byte
		switch {
		case rest >= int64(len(padLine)):
			chunk = padLine
		case rest >= 2:
			chunk = append(bytes.Repeat([]byte("x"), int(rest-2)), '\r', '\n')
		default:
			chunk = []byte("x")
		}
		if _, err := w.Write(chunk); err != nil {
			return size, date, err
		}
		size += int64(len(chunk))
		rest -= int64(len(chunk))
	}
	return size, date, nil
}

// Render returns message m exactly as the servers store it when it is the n-th
// seeded message of the user to (n only affects the defaults).
func Render(m Message, to string, n int) []byte {
	var b bytes.Buffer
	if m.Size > 0 {
		b.Grow(m.Size)
	}
	_, _, _ = writeMessage(&b, m, to, n) // a bytes.Buffer never fails
	return b.Bytes()
}

// serverCert is a per-server CA and a leaf certificate for 127.0.0.1 (only:
// "localhost" does not match, which tests of name mismatches use) signed by it.
type serverCert struct {
	caPEM, certPEM, keyPEM []byte
	pool                   *x509.CertPool
	tls                    tls.Certificate
}

// newServerCert generates a fresh CA and leaf certificate.
func newServerCert(t TB) *serverCert {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("imaptest: CA key: %v", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "imaptest CA", Organization: []string{"imaptest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("imaptest: CA certificate: %v", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("imaptest: CA certificate: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("imaptest: server key: %v", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(48 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("imaptest: server certificate: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("imaptest: server key: %v", err)
	}
	sc := &serverCert{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		pool:    x509.NewCertPool(),
	}
	sc.pool.AddCert(caCert)
	sc.tls, err = tls.X509KeyPair(sc.certPEM, sc.keyPEM)
	if err != nil {
		t.Fatalf("imaptest: key pair: %v", err)
	}
	return sc
}

// writeCA writes the CA certificate into dir and returns its path.
func (sc *serverCert) writeCA(t TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, sc.caPEM, 0o644); err != nil {
		t.Fatalf("imaptest: %v", err)
	}
	return p
}

// TB is the part of testing.TB these helpers use. *testing.T and *testing.B satisfy it; a program
// such as `make demo` passes its own implementation to run the same servers outside a test.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skip(args ...any)
	Cleanup(func())
	TempDir() string
}
