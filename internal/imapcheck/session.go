package imapcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// session is one logged-in (or failed) connection.
type session struct {
	ctx      context.Context
	t        Target
	addr     string
	password string
	conn     net.Conn // the TCP connection under everything
	c        *imapclient.Client
	wd       *watchdog
	stopCtx  func() bool
	greeted  bool // the server greeted with OK: LOGOUT is worth sending
}

// watchdog closes the connection when the server stays silent too long, so
// that no read blocks for ever; fired tells errors caused by it apart.
type watchdog struct {
	conn  net.Conn
	mu    sync.Mutex
	timer *time.Timer
	fired bool
	what  string
	after time.Duration
}

func (w *watchdog) arm(d time.Duration, what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.what, w.after = what, d
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
	} else {
		w.timer.Reset(d)
	}
}

func (w *watchdog) fire() {
	w.mu.Lock()
	w.fired = true
	w.mu.Unlock()
	_ = w.conn.Close()
}

func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) timedOut() (bool, string, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired, w.what, w.after
}

// normalize fills defaults and canonicalises Security.
func normalize(t Target) (Target, error) {
	switch strings.ToLower(t.Security) {
	case "ssl":
		t.Security = "Ssl"
	case "tls":
		t.Security = "Tls"
	case "none", "":
		t.Security = "None"
	default:
		return t, fmt.Errorf("security %q is not one of Ssl, Tls, None", t.Security)
	}
	if t.Port == 0 {
		t.Port = 143
		if t.Security == "Ssl" {
			t.Port = 993
		}
	}
	if t.DialTimeout <= 0 {
		t.DialTimeout = DefaultDialTimeout
	}
	if t.CommandTimeout <= 0 {
		t.CommandTimeout = DefaultCommandTimeout
	}
	return t, nil
}

// open connects, secures the connection as t.Security says and logs in. The
// session is nil when no IMAP connection was established; otherwise the caller
// must close it, whether the login worked or not.
func open(ctx context.Context, t Target, cred Credential) (*session, LoginResult) {
	res := LoginResult{EmailAddress: cred.EmailAddress, UserName: cred.UserName, Line: cred.Line}
	fail := func(kind, msg string) LoginResult {
		res.Kind, res.Error = kind, redact(msg, cred.Password)
		return res
	}
	t, err := normalize(t)
	if err != nil {
		return nil, fail(KindProtocol, err.Error())
	}
	if cred.UserName == "" {
		return nil, fail(KindAuth, "UserName is empty")
	}
	if err := ctx.Err(); err != nil {
		return nil, fail(KindCanceled, fmt.Sprintf("not checked: %v", err))
	}
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))

	dialer := net.Dialer{Timeout: t.DialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail(KindCanceled, fmt.Sprintf("connecting to %s canceled: %v", addr, ctx.Err()))
		}
		return nil, fail(KindConnect, describeDialError(addr, t.DialTimeout, err))
	}
	s := &session{ctx: ctx, t: t, addr: addr, password: cred.Password, conn: conn, wd: &watchdog{conn: conn}}
	s.stopCtx = context.AfterFunc(ctx, func() { _ = conn.Close() })

	tlsConfig := &tls.Config{
		ServerName:         t.Host,
		RootCAs:            t.RootCAs,
		InsecureSkipVerify: t.AcceptUntrustedCertificates, //nolint:gosec // the endpoint's AcceptUntrustedCertificates
	}
	opts := &imapclient.Options{TLSConfig: tlsConfig}
	switch t.Security {
	case "Ssl":
		s.wd.arm(t.DialTimeout, "the TLS handshake")
		tc := tls.Client(conn, tlsConfig)
		if err := tc.Handshake(); err != nil {
			s.abort()
			e := s.classify(err, "the TLS handshake")
			return nil, fail(e.Kind, e.Message)
		}
		s.c = imapclient.New(tc, opts)
		s.wd.arm(t.DialTimeout, "the IMAP greeting")
		if err := s.c.WaitGreeting(); err != nil {
			e := s.classify(err, "the IMAP greeting")
			return s, fail(e.Kind, e.Message)
		}
	case "Tls":
		s.wd.arm(t.DialTimeout, "the IMAP greeting and STARTTLS")
		c, err := imapclient.NewStartTLS(conn, opts)
		if err != nil {
			s.abort()
			e := s.classify(err, "STARTTLS")
			return nil, fail(e.Kind, e.Message)
		}
		s.c = c
	default:
		s.c = imapclient.New(conn, opts)
		s.wd.arm(t.DialTimeout, "the IMAP greeting")
		if err := s.c.WaitGreeting(); err != nil {
			e := s.classify(err, "the IMAP greeting")
			return s, fail(e.Kind, e.Message)
		}
	}

	s.greeted = true
	caps := s.c.Caps()
	if caps == nil {
		e := s.classify(errors.New("no capability list"), "CAPABILITY")
		return s, fail(e.Kind, e.Message)
	}
	if caps.Has(imap.CapLoginDisabled) {
		msg := fmt.Sprintf("%s does not accept LOGIN on this connection (LOGINDISABLED)", addr)
		if t.Security == "None" {
			msg += `; use Security "Tls" (STARTTLS) or "Ssl"`
		}
		return s, fail(KindProtocol, msg)
	}

	s.wd.arm(t.CommandTimeout, "LOGIN")
	if err := s.c.Login(cred.UserName, cred.Password).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return s, fail(KindAuth, serverText(ie))
		}
		e := s.classify(err, "LOGIN")
		return s, fail(e.Kind, e.Message)
	}
	s.wd.disarm()
	res.OK = true
	return s, res
}

// abort drops a connection on which no IMAP client runs.
func (s *session) abort() {
	s.wd.disarm()
	s.stopCtx()
	_ = s.conn.Close()
}

// close logs out (briefly, and only when the connection still works) and
// closes the connection.
func (s *session) close() {
	if s.greeted && s.ctx.Err() == nil {
		if fired, _, _ := s.wd.timedOut(); !fired {
			s.wd.arm(5*time.Second, "LOGOUT")
			_ = s.c.Logout().Wait()
		}
	}
	s.wd.disarm()
	_ = s.c.Close()
	s.stopCtx()
	_ = s.conn.Close()
}

// serverText renders a tagged NO/BAD/BYE answer as the server wrote it.
func serverText(ie *imap.Error) string {
	if ie.Code != "" {
		return fmt.Sprintf("[%s] %s", ie.Code, ie.Text)
	}
	return ie.Text
}

// classify turns an error met during phase into a Kind and a message.
func (s *session) classify(err error, phase string) *Error {
	mk := func(kind, format string, args ...any) *Error {
		return &Error{Kind: kind, Message: redact(fmt.Sprintf(format, args...), s.password)}
	}
	if s.ctx.Err() != nil {
		return mk(KindCanceled, "%s with %s canceled: %v", phase, s.addr, s.ctx.Err())
	}
	if fired, what, after := s.wd.timedOut(); fired {
		msg := fmt.Sprintf("%s sent nothing for %s during %s", s.addr, after, what)
		switch {
		case what == "the IMAP greeting" && s.t.Security != "Ssl":
			msg += `; if this port expects implicit TLS, use Security "Ssl"`
		case what == "the IMAP greeting and STARTTLS":
			msg += `; if this port expects implicit TLS, use Security "Ssl"`
		}
		return mk(KindConnect, "%s", msg)
	}
	if msg, ok := tlsProblem(err); ok {
		hint := ""
		if phase == "the TLS handshake" && strings.Contains(msg, "not a TLS server") {
			hint = `; if the port speaks plain IMAP, use Security "Tls" (STARTTLS) or "None"`
		}
		return mk(KindTLS, "TLS with %s failed: %s%s", s.addr, msg, hint)
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		switch {
		case phase == "STARTTLS" && ie.Type != imap.StatusResponseTypeBye:
			return mk(KindProtocol, "%s refused STARTTLS: %s", s.addr, serverText(ie))
		case phase == "the IMAP greeting" || ie.Type == imap.StatusResponseTypeBye:
			return mk(KindProtocol, "%s refused the connection: %s %s", s.addr, ie.Type, serverText(ie))
		default:
			return mk(KindProtocol, "%s answered %s with %s %s", s.addr, phase, ie.Type, serverText(ie))
		}
	}
	if isConnError(err) {
		hint := ""
		if phase == "STARTTLS" {
			hint = `; if this port expects implicit TLS, use Security "Ssl"`
		}
		return mk(KindConnect, "connection to %s lost during %s: %v%s", s.addr, phase, err, hint)
	}
	return mk(KindProtocol, "%s during %s: %v", s.addr, phase, err)
}

// isConnError reports errors of the transport rather than of IMAP.
func isConnError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ne) || strings.Contains(err.Error(), "connection closed") ||
		strings.Contains(err.Error(), "EOF")
}

// tlsProblem describes TLS and certificate errors.
func tlsProblem(err error) (string, bool) {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("the server certificate is not trusted (%v); trust its CA or set AcceptUntrustedCertificates", unknown), true
	case errors.As(err, &host):
		return fmt.Sprintf("the server certificate does not match the host name (%v); use the name on the certificate or set AcceptUntrustedCertificates", host), true
	case errors.As(err, &invalid):
		return fmt.Sprintf("the server certificate is invalid (%v); set AcceptUntrustedCertificates to accept it anyway", invalid), true
	case errors.As(err, &verify):
		return fmt.Sprintf("the server certificate could not be verified (%v)", verify.Err), true
	case errors.As(err, &header):
		return "not a TLS server (" + header.Msg + ")", true
	case errors.As(err, &alert):
		return fmt.Sprintf("the server ended the handshake with an alert (%v)", alert), true
	case strings.HasPrefix(err.Error(), "tls:") || strings.Contains(err.Error(), " tls: "):
		return "handshake failed (" + err.Error() + ")", true
	}
	return "", false
}

// describeDialError explains a failed TCP dial.
func describeDialError(addr string, timeout time.Duration, err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Sprintf("cannot resolve %s: %v", dnsErr.Name, dnsErr.Err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("cannot connect to %s: no answer within %s", addr, timeout)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Sprintf("cannot connect to %s: %v", addr, op.Err)
	}
	return fmt.Sprintf("cannot connect to %s: %v", addr, err)
}
