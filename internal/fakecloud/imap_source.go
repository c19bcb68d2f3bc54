package fakecloud

// The migration engine's side of IMAP: what Exchange Online does with a source server during an
// IMAP migration, reduced to what decides a user's outcome. It connects as the endpoint says
// (Security Ssl, Tls = STARTTLS, or None), logs in with the CSV row's credentials, lists the
// folders (under UserRoot when the row has one) and counts each folder's messages, bytes and items
// over 35 MB, with go-imap v2's client. Limits: "The biggest email you can migrate is 35 MB", "a
// maximum of 500,000 items from a user's mailbox" and "Folders with a forward slash ( / ) in the
// folder name aren't migrated"
// (https://learn.microsoft.com/exchange/mailbox-migration/migrating-imap-mailboxes/migrating-imap-mailboxes).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAP migration limits.
const (
	maxItemBytes      = 35 * 1024 * 1024
	maxMigrationItems = 500000
)

// Kinds of IMAP failure.
const (
	imapKindAuth     = "auth"     // the server refused LOGIN
	imapKindConnect  = "connect"  // no connection, connection lost, timeout
	imapKindTLS      = "tls"      // TLS handshake or certificate
	imapKindProtocol = "protocol" // an unexpected answer
	imapKindCanceled = "canceled" // the job was abandoned
)

// imapTarget is an endpoint's IMAP server.
type imapTarget struct {
	host            string
	port            int
	security        string // Ssl | Tls | None
	acceptUntrusted bool
	roots           *x509.CertPool // nil: the system pool
	dialTimeout     time.Duration
	commandTimeout  time.Duration
}

// imapFolder is one counted folder.
type imapFolder struct {
	name                  string
	messages, bytes, over int64
	skipped               bool // a "/" in the name on a server whose delimiter is not "/"
}

// imapError is a failed login or count; msg never holds the password.
type imapError struct {
	kind     string
	msg      string
	loggedIn bool
}

func (e *imapError) Error() string { return e.msg }

// imapSession is a connection to the source server.
type imapSession struct {
	t    imapTarget
	conn net.Conn // the connection the client reads (TLS when secured)
	c    *imapclient.Client
	stop func() bool
}

// deadline gives the next command commandTimeout to answer.
func (s *imapSession) deadline() { _ = s.conn.SetDeadline(time.Now().Add(s.t.commandTimeout)) }

func (s *imapSession) close() {
	if s.c != nil {
		_ = s.conn.SetDeadline(time.Now().Add(2 * time.Second))
		_ = s.c.Logout().Wait()
		_ = s.c.Close()
	}
	_ = s.conn.Close()
	s.stop()
}

// redactPassword removes a password from server text.
func redactPassword(msg, password string) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "[redacted]")
}

// classifyIMAP turns a client error into an imapError.
func classifyIMAP(ctx context.Context, err error, what, password string, loggedIn bool) *imapError {
	kind := imapKindProtocol
	var ie *imap.Error
	var ne net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case ctx.Err() != nil:
		kind = imapKindCanceled
	case errors.As(err, &unknownCA):
		return &imapError{kind: imapKindTLS, msg: what + ": the server certificate is not trusted (" + err.Error() +
			"); set AcceptUntrustedCertificates to accept it"}
	case errors.As(err, &hostErr):
		return &imapError{kind: imapKindTLS, msg: what + ": the server certificate does not match the host name (" +
			err.Error() + "); set AcceptUntrustedCertificates to accept it"}
	case errors.As(err, &certErr), errors.As(err, &recErr):
		kind = imapKindTLS
	case errors.As(err, &ie):
		kind = imapKindProtocol
	case errors.As(err, &ne), errors.Is(err, net.ErrClosed), strings.Contains(err.Error(), "EOF"):
		kind = imapKindConnect
	}
	return &imapError{kind: kind, msg: redactPassword(fmt.Sprintf("%s: %v", what, err), password), loggedIn: loggedIn}
}

// imapOpen connects, secures the connection and logs in. On failure the session is closed.
func imapOpen(ctx context.Context, t imapTarget, user, password string) (*imapSession, *imapError) {
	if ctx.Err() != nil {
		return nil, &imapError{kind: imapKindCanceled, msg: "canceled"}
	}
	addr := net.JoinHostPort(t.host, strconv.Itoa(t.port))
	raw, err := (&net.Dialer{Timeout: t.dialTimeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err
		}
		e := classifyIMAP(ctx, err, "cannot connect to "+addr, password, false)
		if e.kind != imapKindCanceled {
			e.kind = imapKindConnect
		}
		return nil, e
	}
	s := &imapSession{t: t, conn: raw}
	s.stop = context.AfterFunc(ctx, func() { _ = raw.Close() })
	fail := func(e *imapError) (*imapSession, *imapError) {
		if s.c != nil {
			_ = s.c.Close()
		}
		_ = raw.Close()
		s.stop()
		return nil, e
	}
	_ = raw.SetDeadline(time.Now().Add(t.dialTimeout))
	tlsConf := &tls.Config{ServerName: t.host, RootCAs: t.roots, MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: t.acceptUntrusted} //nolint:gosec // the endpoint's AcceptUntrustedCertificates
	opts := &imapclient.Options{TLSConfig: tlsConf}
	switch strings.ToLower(t.security) {
	case "ssl":
		tc := tls.Client(raw, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(classifyIMAP(ctx, err, "TLS handshake with "+addr, password, false))
		}
		s.conn = tc
		s.c = imapclient.New(tc, opts)
		if err := s.c.WaitGreeting(); err != nil {
			return fail(classifyIMAP(ctx, err, "greeting of "+addr, password, false))
		}
	case "tls":
		c, err := imapclient.NewStartTLS(raw, opts)
		if err != nil {
			return fail(classifyIMAP(ctx, err, "STARTTLS with "+addr, password, false))
		}
		s.c = c
	default:
		s.c = imapclient.New(raw, opts)
		if err := s.c.WaitGreeting(); err != nil {
			return fail(classifyIMAP(ctx, err, "greeting of "+addr, password, false))
		}
	}
	s.deadline()
	if err := s.c.Login(user, password).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			text := ie.Text
			if ie.Code != "" {
				text = "[" + string(ie.Code) + "] " + text
			}
			return fail(&imapError{kind: imapKindAuth, msg: redactPassword("LOGIN refused: "+text, password)})
		}
		return fail(classifyIMAP(ctx, err, "LOGIN at "+addr, password, false))
	}
	return s, nil
}

// imapCountMailbox logs in as one CSV row and counts its folders.
func imapCountMailbox(ctx context.Context, t imapTarget, row jobUser) ([]imapFolder, *imapError) {
	s, ierr := imapOpen(ctx, t, row.userName, row.password)
	if ierr != nil {
		return nil, ierr
	}
	defer s.close()
	fail := func(err error, what string) ([]imapFolder, *imapError) {
		return nil, classifyIMAP(ctx, err, what, row.password, true)
	}
	pattern, prefix := "*", ""
	if root := row.userRoot; root != "" {
		s.deadline()
		top, err := s.c.List("", "", nil).Collect()
		if err != nil {
			return fail(err, `LIST "" ""`)
		}
		prefix = root
		if len(top) > 0 && top[0].Delim != 0 {
			prefix = strings.TrimSuffix(root, string(top[0].Delim)) + string(top[0].Delim)
		}
		pattern = prefix + "*"
	}
	s.deadline()
	list, err := s.c.List("", pattern, nil).Collect()
	if err != nil {
		return fail(err, "LIST")
	}
	caps := s.c.Caps()
	statusSize := caps.Has(imap.CapIMAP4rev2) || caps.Has(imap.CapStatusSize)
	var out []imapFolder
	for _, d := range list {
		noSelect := false
		for _, a := range d.Attrs {
			noSelect = noSelect || strings.EqualFold(string(a), string(imap.MailboxAttrNoSelect)) ||
				strings.EqualFold(string(a), string(imap.MailboxAttrNonExistent))
		}
		if noSelect || (prefix != "" && (!strings.HasPrefix(d.Mailbox, prefix) || d.Mailbox == prefix)) {
			continue
		}
		f := imapFolder{name: strings.TrimPrefix(d.Mailbox, prefix)}
		f.skipped = strings.Contains(f.name, "/") && d.Delim != '/'
		s.deadline()
		st, err := s.c.Status(d.Mailbox, &imap.StatusOptions{NumMessages: true, Size: statusSize}).Wait()
		if err != nil {
			return fail(err, "STATUS")
		}
		if st.NumMessages != nil {
			f.messages = int64(*st.NumMessages)
		}
		if st.Size != nil {
			f.bytes = *st.Size
		}
		// Without STATUS=SIZE, or when one message may be over 35 MB, read every message's size.
		if f.messages > 0 && (st.Size == nil || f.bytes > maxItemBytes) {
			s.deadline()
			if _, err := s.c.Select(d.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
				return fail(err, "EXAMINE")
			}
			cmd := s.c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{RFC822Size: true})
			var n, total, over int64
			for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
				s.deadline()
				for item := msg.Next(); item != nil; item = msg.Next() {
					if sz, ok := item.(imapclient.FetchItemDataRFC822Size); ok {
						n++
						total += sz.Size
						if sz.Size > maxItemBytes {
							over++
						}
					}
				}
			}
			if err := cmd.Close(); err != nil {
				return fail(err, "FETCH RFC822.SIZE")
			}
			f.messages, f.bytes, f.over = n, total, over
		}
		out = append(out, f)
	}
	if row.userRoot != "" && len(out) == 0 {
		return nil, &imapError{kind: imapKindProtocol, msg: fmt.Sprintf("no folders under UserRoot %q", row.userRoot), loggedIn: true}
	}
	return out, nil
}
