package fakecloud

// The status transitions of migration batches and their users (the diagram is in
// migration_batches.go): admitting users (duplicates in other batches, missing target mailboxes),
// dispatching queued users to the migration engine, starting, and advancing a batch by one
// Get-MigrationBatch poll.

import (
	"fmt"
	"strings"
	"time"
)

// resumeMigrationState prepares batches loaded from a state file: users that were being synced
// when the previous process stopped are queued again (the engine is not running for them).
func resumeMigrationState(st *State) {
	for bi := range st.MigrationBatches {
		for ui := range st.MigrationBatches[bi].Users {
			if u := &st.MigrationBatches[bi].Users[ui]; u.Status == userSyncing {
				u.Status = userQueued
			}
		}
	}
}

// ownerBatch returns the batch (other than self) that holds addr as a regular, non-duplicate
// member; "" when none does.
func ownerBatch(st *State, addr, self string) string {
	for _, b := range st.MigrationBatches {
		if b.GUID == self {
			continue
		}
		for _, u := range b.Users {
			if strings.EqualFold(u.EmailAddress, addr) && u.DuplicateOf == "" {
				return b.Name
			}
		}
	}
	return ""
}

// duplicateText is the service's per-user error for an address already in another batch
// (UserDuplicateInOtherBatchException; punctuation as Microsoft's troubleshooting text,
// UNCONFIRMED).
func duplicateText(addr, batch string) string {
	return fmt.Sprintf("The user \"%s\" is already included in migration batch \"%s.\" Please remove the user from any "+
		"other batch and try again.", addr, batch)
}

// recipientNotFoundText is the per-user error of a row whose EmailAddress is not a proxy address
// of a mailbox of the tenant: IMAP migrations do not create mailboxes
// (https://learn.microsoft.com/exchange/troubleshoot/move-or-migrate-mailboxes/troubleshoot-issues-with-imap-mailbox-migration).
// The "MigrationRecipientNotFoundException: " prefix and the quotes around the address are as an
// admin reported them (exact quoting UNCONFIRMED).
func recipientNotFoundText(addr string) string {
	return fmt.Sprintf("MigrationRecipientNotFoundException: A recipient wasn't found for \"%s\" on the target. Create "+
		"a recipient of the appropriate type for this migration on the target and try again.", addr)
}

// admitUserLocked checks a user that is about to be queued (a new row) or started (dispatch):
// already in another batch, or, when recipient is set, without a target mailbox at this moment
// (mailboxes.go: a licensed user whose mailbox is still provisioning has none). It marks the user
// Failed and returns false when it cannot be migrated. A failed user is not retried by itself:
// Start-MigrationBatch queues it again.
func admitUserLocked(st *State, b *MigrationBatch, u *MigrationUser, now time.Time, recipient bool) bool {
	fail := func(summary, detail string) bool {
		u.Status, u.ErrorSummary, u.ErrorDetail, u.LastUpdated = userFailed, summary, detail, now
		return false
	}
	if owner := ownerBatch(st, u.EmailAddress, b.GUID); owner != "" {
		u.DuplicateOf = owner
		text := duplicateText(u.EmailAddress, owner)
		return fail(text, "Error: UserDuplicateInOtherBatchException: "+text)
	}
	u.DuplicateOf = ""
	if !recipient {
		return true
	}
	if _, ok := recipientForAddressLocked(st, u.EmailAddress, now); !ok {
		text := recipientNotFoundText(u.EmailAddress)
		return fail(text, text)
	}
	u.ErrorSummary, u.ErrorDetail = "", ""
	return true
}

// newUsers turns CSV rows into queued users of b, admitting each (duplicates fail at once, as the
// service reports them right after the batch is created; the target mailbox is checked when the
// user starts, see dispatchLocked).
func newUsers(st *State, b *MigrationBatch, rows []csvRow, now time.Time) []MigrationUser {
	out := make([]MigrationUser, 0, len(rows))
	for _, r := range rows {
		u := MigrationUser{GUID: newGUID(), EmailAddress: r.EmailAddress, UserName: r.UserName, UserRoot: r.UserRoot,
			Password: r.Password, Status: userQueued, Created: now, LastUpdated: now}
		admitUserLocked(st, b, &u, now, false)
		out = append(out, u)
	}
	return out
}

// pollsPerStep is the configured polls per transitional status.
func (s *Server) pollsPerStep() int { return s.Knobs().pollsPerStep() }

// dispatchLocked moves the batch's queued users to Syncing (re-checking each) and returns the
// engine job for them (nil when there is nothing to sync).
func (s *Server) dispatchLocked(st *State, b *MigrationBatch, now time.Time) *syncJob {
	var job *syncJob
	for i := range b.Users {
		u := &b.Users[i]
		if u.Status != userQueued || !admitUserLocked(st, b, u, now, true) {
			continue
		}
		u.Status, u.LastUpdated = userSyncing, now
		if job == nil {
			ep := MigrationEndpoint{Name: b.SourceEndpoint} // removed under the batch: every user fails
			if ei := findEndpoint(st, b.SourceEndpoint); ei >= 0 {
				ep = st.MigrationEndpoints[ei]
			}
			job = &syncJob{batchGUID: b.GUID, generation: b.Generation, endpoint: ep,
				exclude: append([]string(nil), b.ExcludeFolders...), include: append([]string(nil), b.IncludeFolders...)}
		}
		job.users = append(job.users, jobUser{guid: u.GUID, email: u.EmailAddress, userName: u.UserName,
			password: u.Password, userRoot: u.UserRoot})
	}
	return job
}

// startLocked puts a batch in Starting: stopped and failed users are queued again (Start retries
// failures, Start-MigrationBatch.md).
func startLocked(b *MigrationBatch, now time.Time) {
	b.Status, b.Polls = batchStarting, 0
	if b.Started.IsZero() {
		b.Started = now
	}
	for i := range b.Users {
		switch u := &b.Users[i]; u.Status {
		case userStopped, userFailed, userStopping:
			u.Status, u.LastUpdated = userQueued, now
		}
	}
}

// pollLocked advances a batch by one Get-MigrationBatch poll. It returns an engine job to launch
// and whether the batch is gone (removed).
func (s *Server) pollLocked(st *State, bi int, now time.Time) (*syncJob, bool) {
	b := &st.MigrationBatches[bi]
	k := s.pollsPerStep()
	var job *syncJob
	due := b.Polls >= k
	switch b.Status {
	case batchCreated, batchStopped:
		if !b.StartAfter.IsZero() && !now.Before(b.StartAfter) {
			b.StartAfter = time.Time{}
			startLocked(b, now)
		}
		return nil, false
	case batchStarting:
		if due {
			b.Status, b.Polls = batchSyncing, 0
			job = s.dispatchLocked(st, b, now)
		}
	case batchSyncing:
		job = s.dispatchLocked(st, b, now)
		busy := false
		for _, u := range b.Users {
			busy = busy || u.Status == userSyncing || u.Status == userQueued
		}
		if due && !busy && job == nil {
			b.Status, b.Polls = batchSynced, 0
			if countUsers(b).failed > 0 {
				b.Status = batchSyncedWithErrors
			}
			if b.InitialSynced.IsZero() {
				b.InitialSynced = now
			}
			b.LastSynced = now
		}
	case batchStopping:
		if due {
			b.Status, b.Polls = batchStopped, 0
			for i := range b.Users {
				if u := &b.Users[i]; u.Status == userStopping {
					u.Status, u.LastUpdated = userStopped, now
				}
			}
		}
	case batchCompleting:
		if due {
			b.Status, b.Polls = batchCompleted, 0
			for i := range b.Users {
				if u := &b.Users[i]; u.Status == userCompleting {
					u.Status, u.LastUpdated = userCompleted, now
				}
			}
			if countUsers(b).failed > 0 {
				b.Status = batchCompletedWithErrors
			}
			b.Finalized = now
		}
	case batchRemoving:
		if due {
			st.MigrationBatches = append(st.MigrationBatches[:bi], st.MigrationBatches[bi+1:]...)
			return nil, true
		}
	default:
		return nil, false
	}
	if b.Status == batchStarting || b.Status == batchSyncing || b.Status == batchStopping ||
		b.Status == batchCompleting || b.Status == batchRemoving {
		b.Polls++
	}
	return job, false
}
