package exchange

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// MigrationUser is one user of a batch (Get-MigrationUser).
type MigrationUser struct {
	Identity     string
	GUID         string
	BatchID      string
	EmailAddress string
	// Status is e.g. Queued, Syncing, Synced, Failed, Stopped, Completed; StatusSummary one of
	// Active, Synced, Failed, Stopped, Completed.
	Status        string
	StatusSummary string
	// ErrorSummary is the service's error for a failed user, e.g. `The user "x" is already
	// included in migration batch "y." ...`.
	ErrorSummary           string
	SyncedItemCount        int64
	SkippedItemCount       int64
	LastSuccessfulSyncTime time.Time
	MailboxGUID            string
}

// MigrationUserStatistics is Get-MigrationUserStatistics: the user plus its counters.
type MigrationUserStatistics struct {
	MigrationUser
	TotalItemsInSourceMailboxCount int64
	// BytesTransferred is read from a number or a size text like "1.2 MB (1,234,567 bytes)"; the
	// service may leave it empty for IMAP (https://learn.microsoft.com/powershell/module/exchangepowershell/get-migrationuserstatistics).
	BytesTransferred   int64
	PercentageComplete int64
	// Error is the longer error text.
	Error           string
	StatusDetail    string
	LastUpdatedTime time.Time
}

func userFrom(o Object) MigrationUser {
	return MigrationUser{
		Identity:               o.Identity("Identity"),
		GUID:                   strings.ToLower(o.String("Guid")),
		BatchID:                o.Identity("BatchId"),
		EmailAddress:           o.String("EmailAddress"),
		Status:                 o.String("Status"),
		StatusSummary:          o.String("StatusSummary"),
		ErrorSummary:           o.String("ErrorSummary"),
		SyncedItemCount:        o.IntOr("SyncedItemCount", 0),
		SkippedItemCount:       o.IntOr("SkippedItemCount", 0),
		LastSuccessfulSyncTime: o.Time("LastSuccessfulSyncTime"),
		MailboxGUID:            strings.ToLower(o.String("MailboxGuid")),
	}
}

// sizeBytesRE finds the byte count of a ByteQuantifiedSize text: "... (1,234 bytes)".
var sizeBytesRE = regexp.MustCompile(`\(([\d,.\s]+) bytes\)`)

// Bytes reads a size: a number, a numeric string, or a ByteQuantifiedSize text
// "1.205 KB (1,234 bytes)". ok is false when absent or unreadable.
func (o Object) Bytes(key string) (int64, bool) {
	if n, ok := o.Int(key); ok {
		return n, true
	}
	m := sizeBytesRE.FindStringSubmatch(o.String(key))
	if m == nil {
		return 0, false
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, m[1])
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil
}

// GetMigrationUsers reads every user of a batch, following @odata.nextLink to the last page.
// ResultSize is Unlimited: Exchange's Get-* cmdlets return 1,000 objects by default
// (https://learn.microsoft.com/powershell/module/exchangepowershell/get-migrationuser).
func (c *Client) GetMigrationUsers(ctx context.Context, batch string) ([]MigrationUser, error) {
	res, err := c.Invoke(ctx, "Get-MigrationUser", map[string]any{"BatchId": batch, "ResultSize": "Unlimited"})
	if err != nil {
		return nil, err
	}
	out := make([]MigrationUser, 0, len(res.Objects))
	for _, o := range res.Objects {
		out = append(out, userFrom(o))
	}
	return out, nil
}

// ListMigrationUsers returns the migration users of every batch (Get-MigrationUser without a
// filter, all pages): one listing instead of one lookup per address.
func (c *Client) ListMigrationUsers(ctx context.Context) ([]MigrationUser, error) {
	res, err := c.Invoke(ctx, "Get-MigrationUser", map[string]any{"ResultSize": "Unlimited"})
	if err != nil {
		return nil, err
	}
	out := make([]MigrationUser, 0, len(res.Objects))
	for _, o := range res.Objects {
		out = append(out, userFrom(o))
	}
	return out, nil
}

// GetMigrationUsersByEmail returns every migration user with that address: usually none or one;
// a user that was added to a second batch also appears there, Failed (the duplicate).
func (c *Client) GetMigrationUsersByEmail(ctx context.Context, email string) ([]MigrationUser, error) {
	res, err := c.Invoke(ctx, "Get-MigrationUser", map[string]any{"EmailAddress": email})
	if err != nil {
		return nil, err
	}
	var out []MigrationUser
	for _, o := range res.Objects {
		if u := userFrom(o); strings.EqualFold(u.EmailAddress, email) {
			out = append(out, u)
		}
	}
	return out, nil
}

// GetMigrationUserByEmail returns the migration user of an address: the batch that holds it
// regularly rather than a batch where it failed as a duplicate. It is KindNotFound when the
// address is in no batch.
func (c *Client) GetMigrationUserByEmail(ctx context.Context, email string) (*MigrationUser, error) {
	users, err := c.GetMigrationUsersByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, &Error{Cmdlet: "Get-MigrationUser", Kind: KindNotFound, Message: "no migration batch holds \"" + email + "\""}
	}
	for _, u := range users {
		if !IsDuplicateUserError(u.ErrorSummary) {
			return &u, nil
		}
	}
	return &users[0], nil
}

// IsDuplicateUserError reports the service's "already included in migration batch" error.
func IsDuplicateUserError(text string) bool {
	return strings.Contains(text, "is already included in migration batch")
}

// GetMigrationUserStatistics reads a user's counters. identity is the email address or the
// user's GUID (the GUID picks one record when the address is in two batches).
func (c *Client) GetMigrationUserStatistics(ctx context.Context, identity string) (*MigrationUserStatistics, error) {
	res, err := c.Invoke(ctx, "Get-MigrationUserStatistics", map[string]any{"Identity": identity})
	if err != nil {
		return nil, err
	}
	if len(res.Objects) == 0 {
		return nil, &Error{Cmdlet: "Get-MigrationUserStatistics", Kind: KindNotFound, Message: "the migration user \"" + identity + "\" can't be found"}
	}
	o := res.Objects[0]
	st := &MigrationUserStatistics{
		MigrationUser:                  userFrom(o),
		TotalItemsInSourceMailboxCount: o.IntOr("TotalItemsInSourceMailboxCount", 0),
		PercentageComplete:             o.IntOr("PercentageComplete", 0),
		Error:                          o.String("Error"),
		StatusDetail:                   o.String("StatusDetail"),
		LastUpdatedTime:                o.Time("LastUpdatedTime"),
	}
	st.BytesTransferred, _ = o.Bytes("BytesTransferred")
	return st, nil
}

// RemoveMigrationUser removes a user from its batch (Confirm:$false). identity is the email
// address or, to pick one record of an address in two batches, the user's GUID.
func (c *Client) RemoveMigrationUser(ctx context.Context, identity string) error {
	_, err := c.Invoke(ctx, "Remove-MigrationUser", map[string]any{"Identity": identity, "Confirm": false})
	return err
}

// WaitUntil polls check until it reports done, the context ends, or check fails with an error
// other than KindNotFound — how a just-created object that still answers not-found (replication
// lag, seen by third-party clients; UNCONFIRMED) or a batch moving through its transitional statuses is waited for, never
// with a fixed sleep. The delay grows from 250 ms to 5 s.
func WaitUntil(ctx context.Context, check func(ctx context.Context) (bool, error)) error {
	err := httpx.Poll(ctx, "the Exchange object", IsNotFound, check)
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		// The wait ran out: report that, not the last not-found answer.
		return &Error{Cmdlet: "wait", Kind: KindOther, Message: err.Error(), err: err}
	}
	return err
}

// MigrationFailure is the kind of a migration user's failure, read from its ErrorSummary, which
// the service gives only as text
// (https://learn.microsoft.com/exchange/troubleshoot/move-or-migrate-mailboxes/troubleshoot-issues-with-imap-mailbox-migration).
type MigrationFailure int

// Kinds of migration user failures.
const (
	FailureOther MigrationFailure = iota
	// FailureRecipientNotFound: MigrationRecipientNotFoundException, the target mailbox did not
	// exist when the user started.
	FailureRecipientNotFound
	// FailureSourceLogin: the source server refused the login ("We had trouble signing in",
	// ImapAuthenticationException).
	FailureSourceLogin
	// FailureOtherBatch: the user is already in another batch.
	FailureOtherBatch
	// FailureMailboxFull: the target mailbox is full.
	FailureMailboxFull
	// FailureSourceUnreachable: the source server timed out or could not be reached.
	FailureSourceUnreachable
)

// ClassifyMigrationFailure reads a migration user's ErrorSummary (or statistics Error).
func ClassifyMigrationFailure(text string) MigrationFailure {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "recipientnotfound") || strings.Contains(t, "recipient wasn't found"):
		return FailureRecipientNotFound
	case strings.Contains(t, "trouble signing in") || strings.Contains(t, "authentication") || strings.Contains(t, "login") || strings.Contains(t, "password"):
		return FailureSourceLogin
	case IsDuplicateUserError(text):
		return FailureOtherBatch
	case strings.Contains(t, "mailbox is full"):
		return FailureMailboxFull
	case strings.Contains(t, "timed out") || strings.Contains(t, "could not be completed"):
		return FailureSourceUnreachable
	}
	return FailureOther
}

// UserFailed reports a migration user whose migration failed: StatusSummary Failed, or a Status
// that ends in Failed (Failed, IncrementalFailed, CompletionFailed).
func UserFailed(status, statusSummary string) bool {
	return strings.EqualFold(statusSummary, "Failed") || strings.HasSuffix(strings.ToLower(status), "failed")
}

// UserSynced reports a migration user whose initial sync is over: StatusSummary Synced or
// Completed.
func UserSynced(statusSummary string) bool {
	return strings.EqualFold(statusSummary, "Synced") || strings.EqualFold(statusSummary, "Completed")
}
