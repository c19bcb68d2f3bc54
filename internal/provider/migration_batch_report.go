package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
)

// Shared by the m365_migration_batch resource and data source: a batch and its users as the
// service reports them, read with as few requests as possible.

var batchCountsAttrTypes = map[string]attr.Type{
	"total": types.Int64Type, "active": types.Int64Type, "stopped": types.Int64Type, "synced": types.Int64Type,
	"failed": types.Int64Type, "finalized": types.Int64Type, "pending": types.Int64Type,
}

var batchUserAttrTypes = map[string]attr.Type{
	"status": types.StringType, "status_summary": types.StringType, "error": types.StringType,
	"items_synced": types.Int64Type, "items_skipped": types.Int64Type, "items_in_source": types.Int64Type,
	"bytes_transferred": types.Int64Type, "last_sync": types.StringType,
}

// batchUser is one user of a batch report.
type batchUser struct {
	Status, StatusSummary, Error, LastSync string
	ItemsSynced, ItemsSkipped              int64
	ItemsInSource, BytesTransferred        int64
}

// failed reports a user whose migration failed (StatusSummary Failed, or Status Failed /
// IncrementalFailed / CompletionFailed).
func (u batchUser) failed() bool { return exchange.UserFailed(u.Status, u.StatusSummary) }

// synced reports a user whose initial sync is over (Synced or Completed).
func (u batchUser) synced() bool { return exchange.UserSynced(u.StatusSummary) }

// batchReport is a batch and its users, keyed by lower-case address.
type batchReport struct {
	Batch *exchange.Batch
	Users map[string]batchUser
}

// statisticsConcurrency bounds the Get-MigrationUserStatistics calls of one refresh.
const statisticsConcurrency = 4

// readBatchReport reads a batch (Get-MigrationBatch) and its users (Get-MigrationUser -BatchId,
// every page: one request per 1,000 users). With stats, Get-MigrationUserStatistics is read only
// for users whose status or synced-item count moved since prior (or that prior does not know);
// the others keep prior's source count and bytes. So a refresh of an unchanged 1,000-user batch
// costs two or three requests, not a thousand.
func readBatchReport(ctx context.Context, ex *exchange.Client, name string, prior map[string]batchUser, stats bool) (*batchReport, error) {
	b, err := ex.GetMigrationBatch(ctx, name)
	if err != nil {
		return nil, err
	}
	users, err := ex.GetMigrationUsers(ctx, name)
	if err != nil {
		return nil, err
	}
	rep := &batchReport{Batch: b, Users: make(map[string]batchUser, len(users))}
	var stale []exchange.MigrationUser
	for _, u := range users {
		e := strings.ToLower(u.EmailAddress)
		last := ""
		if !u.LastSuccessfulSyncTime.IsZero() {
			last = u.LastSuccessfulSyncTime.UTC().Format(time.RFC3339)
		}
		bu := batchUser{Status: u.Status, StatusSummary: u.StatusSummary, Error: u.ErrorSummary, LastSync: last,
			ItemsSynced: u.SyncedItemCount, ItemsSkipped: u.SkippedItemCount}
		if p, ok := prior[e]; ok && stats && p.Status == bu.Status && p.ItemsSynced == bu.ItemsSynced {
			bu.ItemsInSource, bu.BytesTransferred = p.ItemsInSource, p.BytesTransferred
			bu.Error = firstNonEmpty(bu.Error, p.Error)
		} else if stats {
			stale = append(stale, u)
		}
		rep.Users[e] = bu
	}
	if len(stale) > 0 {
		for i, s := range readStatistics(ctx, ex, stale) {
			if s == nil {
				continue
			}
			e := strings.ToLower(stale[i].EmailAddress)
			bu := rep.Users[e]
			bu.ItemsInSource, bu.BytesTransferred = s.TotalItemsInSourceMailboxCount, s.BytesTransferred
			bu.Error = firstNonEmpty(bu.Error, s.Error)
			rep.Users[e] = bu
		}
	}
	return rep, nil
}

// readStatistics reads Get-MigrationUserStatistics for each user (by GUID, which picks the record
// of this batch), a few at a time. A user whose statistics cannot be read gets nil.
func readStatistics(ctx context.Context, ex *exchange.Client, users []exchange.MigrationUser) []*exchange.MigrationUserStatistics {
	out := make([]*exchange.MigrationUserStatistics, len(users))
	sem := make(chan struct{}, statisticsConcurrency)
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := ex.GetMigrationUserStatistics(ctx, firstNonEmpty(u.GUID, u.EmailAddress))
			if err != nil {
				tflog.Warn(ctx, "could not read migration user statistics", map[string]any{"user": u.EmailAddress, "error": err.Error()})
				return
			}
			out[i] = s
		}()
	}
	wg.Wait()
	return out
}

// members returns the report's addresses, sorted.
func (r *batchReport) members() []string {
	out := make([]string, 0, len(r.Users))
	for e := range r.Users {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// failures lists the failed users, sorted, one line each with the service's error and the fix.
func (r *batchReport) failures() []string {
	var lines []string
	for _, e := range r.members() {
		if u := r.Users[e]; u.failed() {
			lines = append(lines, fmt.Sprintf("  - %s: %s\n    fix: %s", e, firstNonEmpty(u.Error, u.Status), migrationFailureFix(u.Error)))
		}
	}
	return lines
}

// migrationFailureFix says what to do about a failed migration user, by the kind of error the
// service reports
// (https://learn.microsoft.com/exchange/troubleshoot/move-or-migrate-mailboxes/troubleshoot-issues-with-imap-mailbox-migration).
// After the fix, Start-MigrationBatch retries the failed users
// (https://learn.microsoft.com/powershell/module/exchangepowershell/start-migrationbatch): the
// provider runs it on the next apply.
func migrationFailureFix(errText string) string {
	switch exchange.ClassifyMigrationFailure(errText) {
	case exchange.FailureRecipientNotFound:
		return "the Microsoft 365 mailbox did not exist when the user started: check the user is licensed for Exchange Online and its mailbox exists (Get-Mailbox), then apply again to retry"
	case exchange.FailureSourceLogin:
		return "the source server refused the login: correct the user's password in the CSV (bump csv_wo_version), and for Tencent Exmail check IMAP is on for the member and secure login (安全登录) needs a client-specific password; then apply again to retry"
	case exchange.FailureOtherBatch:
		return "the user is in another batch: remove it there (or drop its row here), then apply again"
	case exchange.FailureMailboxFull:
		return "the Microsoft 365 mailbox is full: raise its quota or clean it up, then apply again to retry"
	case exchange.FailureSourceUnreachable:
		return "the source server could not be reached from Microsoft's datacenters: check the endpoint's host, port and firewall, then apply again to retry"
	}
	return "fix the cause the service gives, then apply again: the provider retries failed users with Start-MigrationBatch; set max_failed_users to accept a number of failures"
}

// countsValue is the counts object of a batch.
func countsValue(b *exchange.Batch) types.Object {
	return types.ObjectValueMust(batchCountsAttrTypes, map[string]attr.Value{
		"total": types.Int64Value(b.TotalCount), "active": types.Int64Value(b.ActiveCount), "stopped": types.Int64Value(b.StoppedCount),
		"synced": types.Int64Value(b.SyncedCount), "failed": types.Int64Value(b.FailedCount), "finalized": types.Int64Value(b.FinalizedCount),
		"pending": types.Int64Value(b.PendingCount),
	})
}

// usersValue is the users map of a report.
func usersValue(users map[string]batchUser) types.Map {
	vals := make(map[string]attr.Value, len(users))
	for e, u := range users {
		vals[e] = types.ObjectValueMust(batchUserAttrTypes, map[string]attr.Value{
			"status": types.StringValue(u.Status), "status_summary": types.StringValue(u.StatusSummary), "error": types.StringValue(u.Error),
			"items_synced": types.Int64Value(u.ItemsSynced), "items_skipped": types.Int64Value(u.ItemsSkipped),
			"items_in_source": types.Int64Value(u.ItemsInSource), "bytes_transferred": types.Int64Value(u.BytesTransferred),
			"last_sync": types.StringValue(u.LastSync),
		})
	}
	return types.MapValueMust(types.ObjectType{AttrTypes: batchUserAttrTypes}, vals)
}

// usersFromValue reads a users map back (for the prior state of a refresh); unknown or null
// gives nil.
func usersFromValue(m types.Map) map[string]batchUser {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := make(map[string]batchUser, len(m.Elements()))
	for e, v := range m.Elements() {
		o, ok := v.(types.Object)
		if !ok {
			continue
		}
		a := o.Attributes()
		str := func(k string) string {
			if s, ok := a[k].(types.String); ok {
				return s.ValueString()
			}
			return ""
		}
		num := func(k string) int64 {
			if n, ok := a[k].(types.Int64); ok {
				return n.ValueInt64()
			}
			return 0
		}
		out[e] = batchUser{Status: str("status"), StatusSummary: str("status_summary"), Error: str("error"), LastSync: str("last_sync"),
			ItemsSynced: num("items_synced"), ItemsSkipped: num("items_skipped"), ItemsInSource: num("items_in_source"),
			BytesTransferred: num("bytes_transferred")}
	}
	return out
}

// countsFromValue reads the counts object back; unknown or null gives zeros.
func countsFromValue(o types.Object) map[string]int64 {
	out := map[string]int64{}
	if o.IsNull() || o.IsUnknown() {
		return out
	}
	for k, v := range o.Attributes() {
		if n, ok := v.(types.Int64); ok {
			out[k] = n.ValueInt64()
		}
	}
	return out
}

// fillBatchUnknowns replaces computed unknowns by empty values, so that state can be saved after a
// partial failure.
func fillBatchUnknowns(m *migrationBatchModel) {
	if m.Members.IsUnknown() {
		m.Members = sortedList(nil)
	}
	if m.MembersSHA256.IsUnknown() {
		m.MembersSHA256 = types.StringValue(emailListHash(nil))
	}
	if m.BatchGUID.IsUnknown() {
		m.BatchGUID = types.StringValue("")
	}
	if m.Status.IsUnknown() {
		m.Status = types.StringValue("")
	}
	if m.Counts.IsUnknown() {
		zero := types.Int64Value(0)
		m.Counts = types.ObjectValueMust(batchCountsAttrTypes, map[string]attr.Value{
			"total": zero, "active": zero, "stopped": zero, "synced": zero, "failed": zero, "finalized": zero, "pending": zero})
	}
	if m.Users.IsUnknown() {
		m.Users = types.MapValueMust(types.ObjectType{AttrTypes: batchUserAttrTypes}, map[string]attr.Value{})
	}
}
