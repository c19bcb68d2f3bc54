// Package imapcheck logs in to a source IMAP server the way an Exchange Online
// IMAP migration does and reports what the migration would meet: failed logins
// (with the server's own words), folders, message counts and sizes, items
// larger than the 35 MB limit, mailboxes over the 500,000 item limit and
// folders that are not migrated because their name contains "/".
//
// It is used by the provider's preflight checks, by the
// m365_imap_mailbox_survey data source and by the fake cloud's migration
// engine. No password ever appears in a result or an error.
package imapcheck

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Kinds of failure, in LoginResult.Kind and Error.Kind.
const (
	KindAuth     = "auth"     // the server rejected LOGIN; the message is the server's own text
	KindConnect  = "connect"  // dial failed, connection refused or closed, timeout
	KindTLS      = "tls"      // TLS handshake or certificate failure (the message says which)
	KindProtocol = "protocol" // the server answered something unexpected (no STARTTLS, LOGINDISABLED, BAD, ...)
	KindCanceled = "canceled" // the context was canceled before or during the check
)

// Limits of Exchange Online IMAP migrations
// (https://learn.microsoft.com/exchange/mailbox-migration/migrating-imap-mailboxes/migrating-imap-mailboxes).
const (
	// MaxItemBytes is the largest message that migrates: 35 MB. Messages
	// larger than this (SEARCH LARGER 36700160) are counted in ItemsOver35MB.
	MaxItemBytes = 35 * 1024 * 1024
	// MaxItems is the most items migrated from one mailbox.
	MaxItems = 500000
	// SlashSkipReason is Folder.SkipReason for a folder whose name contains
	// "/" on a server whose hierarchy delimiter is not "/".
	SlashSkipReason = "folder names containing / are not migrated"
)

// Defaults for Target and the concurrency arguments.
const (
	DefaultDialTimeout    = 15 * time.Second
	DefaultCommandTimeout = 2 * time.Minute
	DefaultConcurrency    = 4
	MaxConcurrency        = 32
)

// Target is the source IMAP server, as in the Exchange migration endpoint.
type Target struct {
	Host string
	Port int // 0: 993 for Ssl, 143 otherwise
	// Security is "Ssl" (implicit TLS), "Tls" (STARTTLS) or "None", the
	// values of the endpoint's -Security parameter (case-insensitive).
	Security                    string
	AcceptUntrustedCertificates bool
	RootCAs                     *x509.CertPool // nil = system pool
	// DialTimeout bounds connecting, the TLS handshake and the greeting
	// (default 15s).
	DialTimeout time.Duration
	// CommandTimeout is the longest silence accepted from the server while a
	// command runs (default 2m; FETCH progress counts as activity).
	CommandTimeout time.Duration
}

// Credential is one row of the IMAP migration CSV.
type Credential struct {
	EmailAddress, UserName, Password, UserRoot string
	Line                                       int // CSV line, copied to the results
}

// LoginResult is the outcome of one login.
type LoginResult struct {
	EmailAddress, UserName string
	Line                   int
	OK                     bool
	// Error: for Kind "auth" the server's own text, e.g.
	// "[AUTHENTICATIONFAILED] Invalid credentials"; otherwise what failed.
	Error string
	Kind  string // "" when OK, else one of the Kind constants
}

// Folder is one folder of a surveyed mailbox.
type Folder struct {
	// Name is the folder's full name as the server shows it (with its own
	// delimiter), relative to UserRoot when one is set.
	Name          string
	Messages      int64
	Bytes         int64
	ItemsOver35MB int64
	// Skipped folders are not migrated; their counts are still filled in but
	// are left out of the Mailbox totals.
	Skipped    bool
	SkipReason string
}

// Mailbox is the survey of one user.
type Mailbox struct {
	EmailAddress string
	Line         int
	Login        LoginResult
	// Folders are the selectable folders, INBOX first, then by name.
	// \Noselect folders are left out.
	Folders []Folder
	// Totals over the folders that migrate (not Skipped).
	Messages, Bytes, ItemsOver35MB int64
	OverItemLimit                  bool // Messages > 500,000
	// Error is set when the login worked but counting failed; Folders then
	// holds what was counted before the failure.
	Error string
}

// Error is the error returned by Count.
type Error struct {
	Kind    string // one of the Kind constants
	Message string // never contains the password
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// CheckLogins logs in (and out) with every credential, at most concurrency at
// a time (default 4, at most 32). Results are in input order; one failing user
// never stops the others.
func CheckLogins(ctx context.Context, t Target, creds []Credential, concurrency int) []LoginResult {
	out := make([]LoginResult, len(creds))
	forEach(ctx, len(creds), concurrency, func(i int) {
		s, res := open(ctx, t, creds[i])
		if s != nil {
			s.close()
		}
		out[i] = res
	}, func(i int) {
		out[i] = canceledLogin(creds[i], ctx.Err())
	})
	return out
}

// Survey counts every user's mailbox (see Count), at most concurrency at a
// time. Results are in input order; failures are reported in Mailbox.Login and
// Mailbox.Error.
func Survey(ctx context.Context, t Target, creds []Credential, concurrency int) []Mailbox {
	out := make([]Mailbox, len(creds))
	forEach(ctx, len(creds), concurrency, func(i int) {
		out[i], _ = Count(ctx, t, creds[i])
	}, func(i int) {
		c := creds[i]
		login := canceledLogin(c, ctx.Err())
		out[i] = Mailbox{EmailAddress: c.EmailAddress, Line: c.Line, Login: login}
	})
	return out
}

// Count logs in as one user and counts the mailbox: LIST "" "*" (or the
// folders under UserRoot), then per folder STATUS (MESSAGES, and SIZE when the
// server advertises STATUS=SIZE) and SEARCH LARGER 36700160 when the folder
// could hold such an item, or else EXAMINE and FETCH 1:* RFC822.SIZE. The
// error is an *Error; the Mailbox is filled as far as the check got.
func Count(ctx context.Context, t Target, c Credential) (Mailbox, error) {
	mb := Mailbox{EmailAddress: c.EmailAddress, Line: c.Line}
	s, res := open(ctx, t, c)
	mb.Login = res
	if s == nil || !res.OK {
		if s != nil {
			s.close()
		}
		return mb, &Error{Kind: res.Kind, Message: res.Error}
	}
	defer s.close()
	folders, err := s.countFolders(c.UserRoot)
	mb.Folders = folders
	for _, f := range folders {
		if f.Skipped {
			continue
		}
		mb.Messages += f.Messages
		mb.Bytes += f.Bytes
		mb.ItemsOver35MB += f.ItemsOver35MB
	}
	mb.OverItemLimit = mb.Messages > MaxItems
	if err != nil {
		mb.Error = err.Message
		return mb, err
	}
	return mb, nil
}

func canceledLogin(c Credential, err error) LoginResult {
	return LoginResult{
		EmailAddress: c.EmailAddress, UserName: c.UserName, Line: c.Line,
		Kind: KindCanceled, Error: fmt.Sprintf("not checked: %v", err),
	}
}

// forEach runs do(i) for i in [0,n) with at most concurrency goroutines;
// items not started because ctx ended get skip(i).
func forEach(ctx context.Context, n, concurrency int, do, skip func(i int)) {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	if concurrency > MaxConcurrency {
		concurrency = MaxConcurrency
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			skip(i)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			skip(i)
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			do(i)
		}(i)
	}
	wg.Wait()
}

// redact removes the password from a message that contains server text.
func redact(s, password string) string {
	if password == "" {
		return s
	}
	return strings.ReplaceAll(s, password, "[redacted]")
}
