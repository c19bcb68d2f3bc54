package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// Mailbox is an Exchange Online mailbox as Get-Mailbox describes it. A user licensed for Exchange
// Online gets one usually within 30 minutes, sometimes only after 24 hours
// (https://learn.microsoft.com/exchange/troubleshoot/user-and-shared-mailboxes/delays-provision-mailbox-sync-changes);
// until then Get-User reports the user as RecipientTypeDetails "User" and Get-Mailbox does not
// know it (https://learn.microsoft.com/powershell/module/exchangepowershell/get-mailbox).
type Mailbox struct {
	Identity                  string
	UserPrincipalName         string
	PrimarySmtpAddress        string
	ExternalDirectoryObjectID string
	RecipientTypeDetails      string
	// EmailAddresses are the proxy addresses without their prefix ("SMTP:a@x" -> "a@x"), SMTP
	// ones only, lower-cased.
	EmailAddresses []string
}

func mailboxFrom(o Object) Mailbox {
	m := Mailbox{
		Identity:                  o.Identity("Identity"),
		UserPrincipalName:         o.String("UserPrincipalName"),
		PrimarySmtpAddress:        o.String("PrimarySmtpAddress"),
		ExternalDirectoryObjectID: strings.ToLower(o.String("ExternalDirectoryObjectId")),
		RecipientTypeDetails:      o.String("RecipientTypeDetails"),
	}
	for _, a := range o.Strings("EmailAddresses") {
		if prefix, addr, ok := strings.Cut(a, ":"); ok && strings.EqualFold(prefix, "smtp") {
			m.EmailAddresses = append(m.EmailAddresses, strings.ToLower(addr))
		}
	}
	return m
}

// Addresses returns every address the mailbox receives mail for: its proxy addresses, primary
// SMTP address and user principal name, lower-cased. An IMAP migration row's EmailAddress must be
// one of them, else the user fails with MigrationRecipientNotFoundException
// (https://learn.microsoft.com/exchange/troubleshoot/move-or-migrate-mailboxes/troubleshoot-issues-with-imap-mailbox-migration).
func (m Mailbox) Addresses() []string {
	out := slices.Clone(m.EmailAddresses)
	for _, a := range []string{m.PrimarySmtpAddress, m.UserPrincipalName} {
		if a != "" {
			out = append(out, strings.ToLower(a))
		}
	}
	return out
}

// mailboxFilterLimit: up to this many addresses are looked up with one OPATH filter
// ("EmailAddresses -eq 'a' -or EmailAddresses -eq 'b' ..."); more are found with one listing of
// every user mailbox, which pages 1,000 at a time. The service's limit on a filter's length is not
// documented (UNCONFIRMED), so the filter stays short.
const mailboxFilterLimit = 20

// ListMailboxes lists user mailboxes (Get-Mailbox -RecipientTypeDetails UserMailbox -ResultSize
// Unlimited, every page), restricted by an OPATH filter when filter is not empty.
func (c *Client) ListMailboxes(ctx context.Context, filter string) ([]Mailbox, error) {
	params := map[string]any{"RecipientTypeDetails": "UserMailbox", "ResultSize": "Unlimited"}
	if filter != "" {
		params["Filter"] = filter
	}
	res, err := c.Invoke(ctx, "Get-Mailbox", params)
	if err != nil {
		return nil, err
	}
	out := make([]Mailbox, 0, len(res.Objects))
	for _, o := range res.Objects {
		out = append(out, mailboxFrom(o))
	}
	return out, nil
}

// addressFilter is the OPATH filter that matches mailboxes with any of the addresses
// (https://learn.microsoft.com/powershell/exchange/filter-properties: EmailAddresses matches a
// proxy address without its smtp: prefix). Single quotes are doubled, as OPATH escapes them.
func addressFilter(addrs []string) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = "EmailAddresses -eq '" + strings.ReplaceAll(a, "'", "''") + "'"
	}
	return strings.Join(parts, " -or ")
}

// MissingMailboxes returns the addresses (lower-cased, sorted) that no user mailbox has yet. It
// takes one request for a few addresses and one listing (one request per 1,000 mailboxes) for
// many: never one request per address.
func (c *Client) MissingMailboxes(ctx context.Context, addrs []string) ([]string, error) {
	pending := map[string]bool{}
	for _, a := range addrs {
		pending[strings.ToLower(strings.TrimSpace(a))] = true
	}
	if len(pending) == 0 {
		return nil, nil
	}
	filter := ""
	if len(pending) <= mailboxFilterLimit {
		filter = addressFilter(sortedKeys(pending))
	}
	boxes, err := c.ListMailboxes(ctx, filter)
	if err != nil {
		return nil, err
	}
	for _, m := range boxes {
		if !strings.EqualFold(m.RecipientTypeDetails, "UserMailbox") && m.RecipientTypeDetails != "" {
			continue
		}
		for _, a := range m.Addresses() {
			delete(pending, a)
		}
	}
	return sortedKeys(pending), nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// MailboxesNotReadyError names the addresses whose mailbox had not appeared when the wait ended.
type MailboxesNotReadyError struct {
	Missing []string
	Total   int
	// Waited is how long the wait lasted.
	Waited time.Duration
	err    error
}

func (e *MailboxesNotReadyError) Error() string {
	return fmt.Sprintf("%d of %d mailboxes did not exist after %s: %s", len(e.Missing), e.Total,
		e.Waited.Round(time.Second), strings.Join(e.Missing, ", "))
}

func (e *MailboxesNotReadyError) Unwrap() error { return e.err }

// WaitForMailboxes polls, on evidence and within the context's deadline, until every address
// belongs to a user mailbox. Each round checks every pending address with MissingMailboxes (few
// requests however many users); the delay between rounds grows to 30 s. progress, when not nil,
// is told how many are ready after each round. When the context ends first the error is a
// *MailboxesNotReadyError naming the addresses still missing.
func (c *Client) WaitForMailboxes(ctx context.Context, addrs []string, progress func(ready, total int)) error {
	start := time.Now()
	pending := slices.Clone(addrs)
	total := len(addrs)
	err := httpx.PollUpTo(ctx, "Exchange Online mailboxes", 30*time.Second, func(error) bool { return false },
		func(ctx context.Context) (bool, error) {
			missing, err := c.MissingMailboxes(ctx, pending)
			if err != nil {
				return false, err
			}
			pending = missing
			if progress != nil {
				progress(total-len(pending), total)
			}
			return len(pending) == 0, nil
		})
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		missing := slices.Clone(pending)
		for i := range missing {
			missing[i] = strings.ToLower(missing[i])
		}
		slices.Sort(missing)
		return &MailboxesNotReadyError{Missing: missing, Total: total, Waited: time.Since(start), err: err}
	}
	return err
}
