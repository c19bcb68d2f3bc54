package exchange

import (
	"context"
	"slices"
	"sort"
	"strings"
)

// The decisions and multi-step operations of a migration batch's membership and lifecycle: which
// users a change adds, removes or submits, who else holds an address, removing users and waiting
// until the batch lists its members, and what the batch's status calls for.

// MembershipChange is how a batch's users change from current to planned. Addresses are compared
// case-insensitively; each list keeps the order of the list it comes from.
type MembershipChange struct {
	// Added are the planned addresses the batch does not hold yet.
	Added []string
	// Removed are the addresses the batch holds that are no longer planned (Remove-MigrationUser).
	Removed []string
	// Submit are the addresses to send with Set-MigrationBatch -AddUsers: every planned one when
	// the whole CSV is submitted again, else the added ones.
	Submit []string
}

// PlanMembership compares the planned addresses with the batch's current ones. With resubmit
// (the CSV is sent again, e.g. with corrected passwords) every planned address is submitted.
func PlanMembership(planned, current []string, resubmit bool) MembershipChange {
	ch := MembershipChange{Added: Difference(planned, current), Removed: Difference(current, planned)}
	if resubmit {
		ch.Submit = planned
	} else {
		ch.Submit = ch.Added
	}
	return ch
}

// Changed reports whether users are added or removed.
func (ch MembershipChange) Changed() bool { return len(ch.Added) > 0 || len(ch.Removed) > 0 }

// Difference returns the addresses of a that are not in b (compared without case), in a's order.
func Difference(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[strings.ToLower(s)] = true
	}
	var out []string
	for _, s := range a {
		if !in[strings.ToLower(s)] {
			out = append(out, s)
		}
	}
	return out
}

// lowerSet is the set of the lower-case addresses.
func lowerSet(emails []string) map[string]bool {
	out := make(map[string]bool, len(emails))
	for _, e := range emails {
		out[strings.ToLower(e)] = true
	}
	return out
}

// perEmailLookupLimit: up to this many addresses are checked with one Get-MigrationUser
// -EmailAddress each; more are checked with one listing of every migration user.
const perEmailLookupLimit = 10

// MigrationUsersInOtherBatches finds, for each address (keyed lower-case), the migration user that
// holds it in a batch other than self, ignoring records that failed as duplicates (they are not
// the batch that owns the user). It uses one Get-MigrationUser -EmailAddress per address for a few
// addresses, else one listing of every migration user: whichever takes fewer requests.
func (c *Client) MigrationUsersInOtherBatches(ctx context.Context, emails []string, self string) (map[string]MigrationUser, error) {
	out := map[string]MigrationUser{}
	consider := func(u MigrationUser) {
		e := strings.ToLower(u.EmailAddress)
		if strings.EqualFold(u.BatchID, self) || IsDuplicateUserError(u.ErrorSummary) {
			return
		}
		if _, seen := out[e]; !seen {
			out[e] = u
		}
	}
	if len(emails) <= perEmailLookupLimit {
		for _, e := range emails {
			users, err := c.GetMigrationUsersByEmail(ctx, e)
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				consider(u)
			}
		}
		return out, nil
	}
	all, err := c.ListMigrationUsers(ctx)
	if err != nil {
		return nil, err
	}
	want := lowerSet(emails)
	for _, u := range all {
		if want[strings.ToLower(u.EmailAddress)] {
			consider(u)
		}
	}
	return out, nil
}

// WaitBatchMembers waits until Get-MigrationUser -BatchId lists exactly the addresses of want
// (read-after-write: users submitted with New-MigrationBatch or -AddUsers may take a while to
// appear, removed ones to go).
func (c *Client) WaitBatchMembers(ctx context.Context, batch string, want []string) error {
	return WaitUntil(ctx, func(ctx context.Context) (bool, error) {
		users, err := c.GetMigrationUsers(ctx, batch)
		if err != nil {
			return false, err
		}
		got := make([]string, 0, len(users))
		for _, u := range users {
			got = append(got, u.EmailAddress)
		}
		return sameAddresses(got, want), nil
	})
}

// sameAddresses reports whether a and b hold the same addresses (any order, any case).
func sameAddresses(a, b []string) bool {
	norm := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = strings.ToLower(s)
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(norm(a), norm(b))
}

// RemoveStep is the step of RemoveBatchUsers that failed.
type RemoveStep int

// Steps of RemoveBatchUsers.
const (
	// RemoveStepRead: reading the batch's users (Get-MigrationUser -BatchId).
	RemoveStepRead RemoveStep = iota
	// RemoveStepRemove: removing one user (Remove-MigrationUser); Email names it.
	RemoveStepRemove
	// RemoveStepWait: waiting for the removed users to leave the batch.
	RemoveStepWait
)

// RemoveUsersError is a failure of RemoveBatchUsers. Its text is the cause's, unchanged.
type RemoveUsersError struct {
	Step  RemoveStep
	Email string
	Err   error
}

func (e *RemoveUsersError) Error() string { return e.Err.Error() }
func (e *RemoveUsersError) Unwrap() error { return e.Err }

// RemoveBatchUsers removes the addresses from the batch with Remove-MigrationUser, by the user's
// GUID in this batch (so that a user who is also in another batch is removed from this one only),
// then waits until the batch no longer lists them. A user already gone is not an error. A failure
// is a *RemoveUsersError that says which step failed.
func (c *Client) RemoveBatchUsers(ctx context.Context, batch string, emails []string) error {
	users, err := c.GetMigrationUsers(ctx, batch)
	if err != nil {
		return &RemoveUsersError{Step: RemoveStepRead, Err: err}
	}
	drop := lowerSet(emails)
	for _, u := range users {
		if !drop[strings.ToLower(u.EmailAddress)] {
			continue
		}
		id := u.GUID
		if id == "" {
			id = u.EmailAddress
		}
		if err := c.RemoveMigrationUser(ctx, id); err != nil && !IsNotFound(err) {
			return &RemoveUsersError{Step: RemoveStepRemove, Email: u.EmailAddress, Err: err}
		}
	}
	err = WaitUntil(ctx, func(ctx context.Context) (bool, error) {
		users, err := c.GetMigrationUsers(ctx, batch)
		if err != nil {
			return false, err
		}
		for _, u := range users {
			if drop[strings.ToLower(u.EmailAddress)] {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return &RemoveUsersError{Step: RemoveStepWait, Err: err}
	}
	return nil
}

// WaitBatchReadable waits out the replication lag after New-MigrationBatch: until
// Get-MigrationBatch finds the batch.
func (c *Client) WaitBatchReadable(ctx context.Context, name string) error {
	return WaitUntil(ctx, func(ctx context.Context) (bool, error) {
		_, err := c.GetMigrationBatch(ctx, name)
		return err == nil, err
	})
}

// WaitBatchRemoved waits until Get-MigrationBatch no longer finds the batch: removal is
// asynchronous (Removing, then gone). progress, when not nil, sees every answer before then.
func (c *Client) WaitBatchRemoved(ctx context.Context, name string, progress func(*Batch)) error {
	return WaitUntil(ctx, func(ctx context.Context) (bool, error) {
		b, err := c.GetMigrationBatch(ctx, name)
		if IsNotFound(err) {
			return true, nil
		}
		if err == nil && progress != nil {
			progress(b)
		}
		return false, err
	})
}

// statusIn reports whether the batch's status is one of list (case-insensitive: the
// documentation spells one status "SyncedwithErrors").
func (b *Batch) statusIn(list ...string) bool {
	for _, s := range list {
		if strings.EqualFold(b.Status, s) {
			return true
		}
	}
	return false
}

// NotRunning reports a batch that does not sync in its status (Created, Stopping, Stopped,
// Removing): waiting for a sync makes no sense.
func (b *Batch) NotRunning() bool {
	return b.statusIn(BatchCreated, BatchStopped, BatchStopping, BatchRemoving)
}

// IsStopping reports a batch on its way to Stopped.
func (b *Batch) IsStopping() bool { return b.statusIn(BatchStopping) }

// StopNeeded reports whether Stop-MigrationBatch is needed to stop the batch: not when it is
// stopped or stopping already, nor when it never started (Created).
func (b *Batch) StopNeeded() bool { return !b.statusIn(BatchStopped, BatchCreated, BatchStopping) }

// StartNeeded reports whether Start-MigrationBatch is needed to run the batch: not when it is
// starting, syncing, synced, completing or completed. A batch that is Created, Stopped, Failed or
// SyncedWithErrors is started (Start-MigrationBatch also retries failed users,
// https://learn.microsoft.com/powershell/module/exchangepowershell/start-migrationbatch).
func (b *Batch) StartNeeded() bool {
	return !b.statusIn(BatchStarting, BatchSyncing, BatchSynced, BatchCompleting, BatchCompleted, BatchCompletedWithErrors)
}

// InitialSyncRunning reports a batch that is starting or in its initial sync (Starting, Syncing).
func (b *Batch) InitialSyncRunning() bool { return b.statusIn(BatchStarting, BatchSyncing) }

// IsCompleted reports Completed or CompletedWithErrors.
func (b *Batch) IsCompleted() bool { return b.statusIn(BatchCompleted, BatchCompletedWithErrors) }

// CompletionStarted reports a batch that Complete-MigrationBatch has already been run on
// (Completing, Completed, CompletedWithErrors).
func (b *Batch) CompletionStarted() bool { return b.IsCompleted() || b.statusIn(BatchCompleting) }
