package fakecloud

import (
	"fmt"
	"strconv"
	"strings"
)

// Migration users (https://learn.microsoft.com/powershell/module/exchangepowershell/get-migrationuser): Get-MigrationUser, Get-MigrationUserStatistics and
// Remove-MigrationUser. A user's Identity is its email address (or its Guid).

func init() {
	registerCmdlet("Get-MigrationUser", []string{"Identity", "BatchId", "EmailAddress", "MailboxGuid", "Status",
		"StatusSummary", "ResultSize", "IncludeAssociatedUsers", "Partition"}, cmdGetMigrationUser)
	registerCmdlet("Get-MigrationUserStatistics", []string{"Identity", "IncludeReport", "IncludeSkippedItems",
		"IncludeCopilotReport", "LimitSkippedItemsTo", "SkipSubscription", "Diagnostic", "DiagnosticArgument",
		"DiagnosticInfo", "Partition"}, cmdGetMigrationUserStatistics)
	registerCmdlet("Remove-MigrationUser", []string{"Identity", "Force", "Partition"}, cmdRemoveMigrationUser)
}

// userNotFound is the 404 for a missing migration user (text UNCONFIRMED).
func userNotFound(id string) *ExoError {
	return NotFound(fmt.Sprintf("The migration user \"%s\" can't be found.", id))
}

// userRef locates a user in the state.
type userRef struct{ bi, ui int }

// findUser resolves a MigrationUserIdParameter: an email address or a user Guid. When an address
// is in several batches (a failed duplicate), the batch that holds it regularly wins.
func findUser(ctx *CmdletContext, st *State, id string) (userRef, bool) {
	var first *userRef
	for bi, b := range st.MigrationBatches {
		if ctx.Lagging(lagKindBatch, b.Name) {
			continue
		}
		for ui, u := range b.Users {
			if strings.EqualFold(u.GUID, id) {
				return userRef{bi, ui}, true
			}
			if !strings.EqualFold(u.EmailAddress, id) {
				continue
			}
			if u.DuplicateOf == "" {
				return userRef{bi, ui}, true
			}
			if first == nil {
				first = &userRef{bi, ui}
			}
		}
	}
	if first != nil {
		return *first, true
	}
	return userRef{}, false
}

// mailboxGUID is the target mailbox's GUID, stable per tenant and address.
func mailboxGUID(st *State, addr string) string {
	return derivedGUID(st.TenantID, "mailbox", strings.ToLower(addr))
}

// userJSON renders a user like Get-MigrationUser. SyncedItemCount is a string and
// SkippedItemCount a number (decode leniently; observed in the ExchangeOnlineManagement module's traffic; UNCONFIRMED).
func userJSON(st *State, b *MigrationBatch, u *MigrationUser) map[string]any {
	var errSummary any
	if u.ErrorSummary != "" {
		errSummary = u.ErrorSummary
	}
	return map[string]any{
		"Identity":                    u.EmailAddress,
		"Identifier":                  u.EmailAddress,
		"Guid@odata.type":             "#Guid",
		"Guid":                        u.GUID,
		"BatchId":                     b.Name,
		"EmailAddress":                u.EmailAddress,
		"RecipientType":               "UserMailbox",
		"MigrationType":               "IMAP",
		"Status":                      u.Status,
		"StatusSummary":               statusSummary(u.Status),
		"ErrorSummary":                errSummary,
		"SyncedItemCount":             strconv.FormatInt(u.SyncedItems, 10),
		"SkippedItemCount@odata.type": "#Int64",
		"SkippedItemCount":            u.SkippedItems,
		"MailboxGuid":                 mailboxGUID(st, u.EmailAddress),
		"RequestGuid":                 derivedGUID(u.GUID, "request"),
		"LastSuccessfulSyncTime":      exoTime(u.LastSuccessfulSync, false),
		"LastSubscriptionCheckTime":   exoTime(u.LastUpdated, false),
		"IsValid":                     true,
		"ObjectState":                 "Unchanged",
	}
}

// byteQuantified renders a size like Exchange's ByteQuantifiedSize.ToString():
// "1.205 KB (1,234 bytes)" (format UNCONFIRMED for InvokeCommand answers).
func byteQuantified(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	head := strconv.FormatInt(n, 10) + " B"
	if i > 0 {
		head = strconv.FormatFloat(v, 'f', 3, 64) + " " + units[i]
	}
	return fmt.Sprintf("%s (%s bytes)", head, groupThousands(n))
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// statisticsJSON renders Get-MigrationUserStatistics: the user plus the counters.
func statisticsJSON(st *State, b *MigrationBatch, u *MigrationUser) map[string]any {
	o := userJSON(st, b, u)
	percent := 0
	switch u.Status {
	case userSynced, userCompleting, userCompleted:
		percent = 100
	}
	var errText any
	if u.ErrorDetail != "" {
		errText = u.ErrorDetail
	}
	o["TotalItemsInSourceMailboxCount"] = u.TotalItems
	o["EstimatedTotalTransferCount"] = u.TotalItems
	o["BytesTransferred"] = byteQuantified(u.BytesTransferred)
	o["EstimatedTotalTransferSize"] = byteQuantified(u.BytesTransferred)
	o["PercentageComplete"] = percent
	o["Error"] = errText
	o["StatusDetail"] = u.Status
	o["SkippedItems"] = []any{}
	o["LastUpdatedTime"] = exoTime(u.LastUpdated, false)
	o["DiagnosticInfo"] = ""
	return o
}

func cmdGetMigrationUser(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	var vals [6]string
	for i, name := range []string{"Identity", "BatchId", "EmailAddress", "MailboxGuid", "Status", "StatusSummary"} {
		v, err := p.String(name)
		if err != nil {
			return nil, err
		}
		vals[i] = strings.TrimSpace(v)
	}
	id, batchID, email, mailbox, status, summary := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
	// -ResultSize cuts the list when sent. Without it the fake returns every user (paged): the
	// service's default for Get-MigrationUser is UNCONFIRMED (1000 for most Get-* cmdlets), so a
	// client should send "Unlimited".
	limit := -1
	if p.Has("ResultSize") {
		n, err := resultSize(p, 1000)
		if err != nil {
			return nil, err
		}
		limit = n
	}
	var out []map[string]any
	var xe *ExoError
	ctx.Read(func(st *State) {
		if id != "" {
			ref, ok := findUser(ctx, st, id)
			if !ok {
				xe = userNotFound(id)
				return
			}
			b := &st.MigrationBatches[ref.bi]
			out = append(out, userJSON(st, b, &b.Users[ref.ui]))
			return
		}
		if batchID != "" {
			if i := findBatch(st, batchID); i < 0 || ctx.Lagging(lagKindBatch, st.MigrationBatches[i].Name) {
				xe = batchNotFound(batchID)
				return
			}
		}
		for bi := range st.MigrationBatches {
			b := &st.MigrationBatches[bi]
			if ctx.Lagging(lagKindBatch, b.Name) {
				continue
			}
			if batchID != "" && !strings.EqualFold(b.Name, batchID) && !strings.EqualFold(b.GUID, batchID) {
				continue
			}
			for ui := range b.Users {
				u := &b.Users[ui]
				switch {
				case email != "" && !strings.EqualFold(u.EmailAddress, email),
					mailbox != "" && !strings.EqualFold(mailboxGUID(st, u.EmailAddress), mailbox),
					status != "" && !strings.EqualFold(u.Status, status),
					summary != "" && !strings.EqualFold(statusSummary(u.Status), summary):
					continue
				}
				out = append(out, userJSON(st, b, u))
			}
		}
	})
	if xe != nil {
		return nil, xe
	}
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
		ctx.Warn("%s", moreResultsWarning)
	}
	return out, nil
}

func cmdGetMigrationUserStatistics(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := identityParam(p)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	ctx.Read(func(st *State) {
		if ref, ok := findUser(ctx, st, id); ok {
			b := &st.MigrationBatches[ref.bi]
			out = statisticsJSON(st, b, &b.Users[ref.ui])
		}
	})
	if out == nil {
		return nil, userNotFound(id)
	}
	return []map[string]any{out}, nil
}

// cmdRemoveMigrationUser removes a user from its batch at once (the service may show Removing for a
// while first; UNCONFIRMED). A sync running for the user is abandoned.
func cmdRemoveMigrationUser(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := identityParam(p)
	if err != nil {
		return nil, err
	}
	return nil, ctx.Mutate(func(st *State) error {
		ref, ok := findUser(ctx, st, id)
		if !ok {
			return userNotFound(id)
		}
		b := &st.MigrationBatches[ref.bi]
		if b.Status == batchRemoving {
			return stateError(b, "changed")
		}
		b.Users = append(b.Users[:ref.ui], b.Users[ref.ui+1:]...)
		return nil
	})
}
