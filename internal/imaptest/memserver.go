package imaptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// MemOptions tunes StartMemServerWith.
type MemOptions struct {
	// Security is "Ssl", "Tls" or "None".
	Security string
	// Delimiter is the hierarchy delimiter the server shows: '/' (the default)
	// or '.'. With '.', folder names may contain a literal slash.
	Delimiter rune
	// NoStatusSize stops the server from advertising STATUS=SIZE, so that
	// clients have to sum FETCH RFC822.SIZE themselves.
	NoStatusSize bool
	// Auth, when set, decides every LOGIN instead of the seeded passwords (the accounts still
	// come from the users map): e.g. a fake Exmail API whose password changes and IMAP switch
	// must be what the IMAP source honours. Its error text is sent in the NO answer.
	Auth Authenticator
}

// Authenticator decides an IMAP login.
type Authenticator interface {
	IMAPLogin(username, password string) error
}

// StartMemServer starts go-imap v2's in-memory server on 127.0.0.1 with the
// given users (the map key is the login name, the full address) and security:
// "Ssl" implicit TLS, "Tls" STARTTLS (LOGIN refused before it), "None" plain.
// Each server gets its own CA and a certificate for 127.0.0.1.
// The server delimiter is "/" and STATUS=SIZE is advertised.
func StartMemServer(t TB, users map[string]User, security string) *Server {
	t.Helper()
	return StartMemServerWith(t, users, MemOptions{Security: security})
}

// StartMemServerWith is StartMemServer with more options.
func StartMemServerWith(t TB, users map[string]User, opts MemOptions) *Server {
	t.Helper()
	checkSecurity(t, opts.Security)
	delim := opts.Delimiter
	if delim == 0 {
		delim = '/'
	}
	if delim != '/' && delim != '.' {
		t.Fatalf("imaptest: delimiter %q is not '/' or '.'", delim)
	}

	ms := &memServer{delim: delim, accounts: make(map[string]*memAccount), auth: opts.Auth}
	for _, name := range sortedUsers(users) {
		u := users[name]
		acct := &memAccount{user: imapmemserver.NewUser(name, u.Password), names: make(map[string]bool)}
		n := 0
		for _, key := range sortedFolders(u.Folders) {
			levels, err := folderLevels(key, delim)
			if err != nil {
				t.Fatalf("imaptest: user %s: %v", name, err)
			}
			internal := ms.toInternal(strings.Join(levels, string(delim)))
			if err := acct.user.Create(internal, nil); err != nil {
				t.Fatalf("imaptest: user %s: create %q: %v", name, key, err)
			}
			acct.names[internal] = true
			for _, m := range u.Folders[key] {
				n++
				var b bytes.Buffer
				if m.Size > 0 {
					b.Grow(m.Size)
				}
				_, date, _ := writeMessage(&b, m, name, n)
				if _, err := acct.user.Append(internal, bytes.NewReader(b.Bytes()), &imap.AppendOptions{Time: date}); err != nil {
					t.Fatalf("imaptest: user %s: append to %q: %v", name, key, err)
				}
			}
		}
		ms.accounts[name] = acct
	}

	caps := imap.CapSet{
		imap.CapIMAP4rev1: {},
		imap.CapNamespace: {},
		imap.CapUIDPlus:   {},
		imap.CapMove:      {},
		imap.CapESearch:   {},
	}
	if !opts.NoStatusSize {
		caps[imap.CapStatusSize] = struct{}{}
	}
	cert := newServerCert(t)
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert.tls}}
	logger := &quietLogger{t: t}
	options := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &memSession{srv: ms}, nil, nil
		},
		Caps:   caps,
		Logger: logger,
	}
	var ln net.Listener
	var err error
	switch opts.Security {
	case SecuritySsl:
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tlsConfig)
	case SecurityTLS:
		options.TLSConfig = tlsConfig
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		options.InsecureAuth = true
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("imaptest: listen: %v", err)
	}
	srv := imapserver.New(options)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		logger.stop()
		_ = srv.Close()
		<-done
	})

	tcpAddr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("imaptest: listener address %v is not TCP", ln.Addr())
	}
	port := tcpAddr.Port
	return &Server{
		Host:       "127.0.0.1",
		Port:       port,
		Security:   opts.Security,
		CAPool:     cert.pool,
		CACertFile: cert.writeCA(t, t.TempDir()),
		Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Delimiter:  delim,
	}
}

// quietLogger forwards server errors to the test log until the test ends
// (logging after that would panic).
type quietLogger struct {
	mu      sync.Mutex
	t       TB
	stopped bool
}

func (l *quietLogger) Printf(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("imapserver: "+format, args...)
	}
}

func (l *quietLogger) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// memServer holds the accounts. imapmemserver stores names with "/" as its
// delimiter; with the '.' delimiter the visible names are translated by
// swapping '.' and '/', so a visible "Projects/2024" (one level) is the
// internal "Projects.2024" and the visible "Archive.2024" the internal
// "Archive/2024".
type memServer struct {
	delim    rune
	accounts map[string]*memAccount
	auth     Authenticator
}

type memAccount struct {
	user  *imapmemserver.User
	mu    sync.Mutex
	names map[string]bool // internal names of existing mailboxes
}

func swapDotSlash(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, s)
}

func (ms *memServer) toInternal(visible string) string {
	if ms.delim == '.' && !strings.EqualFold(visible, "INBOX") {
		return swapDotSlash(visible)
	}
	return visible
}

func (ms *memServer) toVisible(internal string) string {
	return ms.toInternal(internal) // the swap is its own inverse
}

// memSession wraps imapmemserver's session to translate names and to list
// missing parents as \Noselect, like real servers do.
type memSession struct {
	*imapmemserver.UserSession // nil until LOGIN succeeds
	srv                        *memServer
	acct                       *memAccount
}

var _ imapserver.SessionIMAP4rev2 = (*memSession)(nil)

// Login checks the password against the seeded account.
func (s *memSession) Login(username, password string) error {
	acct := s.srv.accounts[username]
	if acct == nil {
		return imapserver.ErrAuthFailed
	}
	if s.srv.auth != nil {
		if err := s.srv.auth.IMAPLogin(username, password); err != nil {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: err.Error()}
		}
	} else if err := acct.user.Login(username, password); err != nil {
		return err
	}
	s.acct = acct
	s.UserSession = imapmemserver.NewUserSession(acct.user)
	return nil
}

func (s *memSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

func (s *memSession) in(name string) string { return s.srv.toInternal(name) }

func (s *memSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	return s.UserSession.Select(s.in(mailbox), options)
}

func (s *memSession) Create(mailbox string, options *imap.CreateOptions) error {
	name := s.in(strings.TrimRight(mailbox, string(s.srv.delim)))
	if err := s.UserSession.Create(name, options); err != nil {
		return err
	}
	s.acct.mu.Lock()
	s.acct.names[name] = true
	s.acct.mu.Unlock()
	return nil
}

func (s *memSession) Delete(mailbox string) error {
	name := s.in(mailbox)
	if err := s.UserSession.Delete(name); err != nil {
		return err
	}
	s.acct.mu.Lock()
	delete(s.acct.names, name)
	s.acct.mu.Unlock()
	return nil
}

func (s *memSession) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	from, to := s.in(mailbox), s.in(strings.TrimRight(newName, string(s.srv.delim)))
	if err := s.UserSession.Rename(from, to, options); err != nil {
		return err
	}
	s.acct.mu.Lock()
	delete(s.acct.names, from)
	s.acct.names[to] = true
	s.acct.mu.Unlock()
	return nil
}

func (s *memSession) Subscribe(mailbox string) error {
	return s.UserSession.Subscribe(s.in(mailbox))
}

func (s *memSession) Unsubscribe(mailbox string) error {
	return s.UserSession.Unsubscribe(s.in(mailbox))
}

func (s *memSession) Status(mailbox string, options *imap.StatusOptions) (*imap.StatusData, error) {
	data, err := s.UserSession.Status(s.in(mailbox), options)
	if err != nil {
		return nil, err
	}
	data.Mailbox = mailbox
	return data, nil
}

func (s *memSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	return s.UserSession.Append(s.in(mailbox), r, options)
}

func (s *memSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	return s.UserSession.Copy(numSet, s.in(dest))
}

func (s *memSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	return s.UserSession.Move(w, numSet, s.in(dest))
}

func (s *memSession) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: s.srv.delim}}}, nil
}

// List answers LIST with the visible names; parents that do not exist as
// mailboxes are listed with \Noselect.
func (s *memSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	delim := s.srv.delim
	if len(patterns) == 0 {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	if options != nil && (options.SelectSubscribed || options.SelectSpecialUse) {
		return errors.New("LIST selection options are not supported by this test server")
	}
	s.acct.mu.Lock()
	entries := make(map[string][]imap.MailboxAttr)
	for internal := range s.acct.names {
		visible := s.srv.toVisible(internal)
		entries[visible] = nil
		levels := strings.Split(visible, string(delim))
		for i := 1; i < len(levels); i++ {
			parent := strings.Join(levels[:i], string(delim))
			if _, ok := entries[parent]; !ok && !s.acct.names[s.srv.toInternal(parent)] {
				entries[parent] = []imap.MailboxAttr{imap.MailboxAttrNoSelect}
			}
		}
	}
	s.acct.mu.Unlock()

	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		match := false
		for _, p := range patterns {
			if imapserver.MatchList(name, delim, ref, p) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		if err := w.WriteList(&imap.ListData{Mailbox: name, Delim: delim, Attrs: entries[name]}); err != nil {
			return err
		}
	}
	return nil
}
