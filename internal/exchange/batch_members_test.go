package exchange_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

func TestPlanMembership(t *testing.T) {
	for _, c := range []struct {
		name                   string
		planned, current       []string
		resubmit               bool
		added, removed, submit []string
		changed                bool
	}{
		{name: "unchanged", planned: []string{"a@x.com", "b@x.com"}, current: []string{"b@x.com", "a@x.com"}},
		{name: "unchanged but resubmitted", planned: []string{"a@x.com", "b@x.com"}, current: []string{"a@x.com", "b@x.com"}, resubmit: true,
			submit: []string{"a@x.com", "b@x.com"}},
		{name: "added in planned order", planned: []string{"c@x.com", "a@x.com", "b@x.com"}, current: []string{"a@x.com"},
			added: []string{"c@x.com", "b@x.com"}, submit: []string{"c@x.com", "b@x.com"}, changed: true},
		{name: "removed in current order", planned: []string{"a@x.com"}, current: []string{"c@x.com", "a@x.com", "b@x.com"},
			removed: []string{"c@x.com", "b@x.com"}, changed: true},
		{name: "added and removed, resubmitted", planned: []string{"a@x.com", "b@x.com"}, current: []string{"a@x.com", "c@x.com"}, resubmit: true,
			added: []string{"b@x.com"}, removed: []string{"c@x.com"}, submit: []string{"a@x.com", "b@x.com"}, changed: true},
		{name: "case-insensitive", planned: []string{"anna@contoso.com"}, current: []string{"Anna@Contoso.com"}},
		{name: "new batch", planned: []string{"a@x.com"}, added: []string{"a@x.com"}, submit: []string{"a@x.com"}, changed: true},
		{name: "all removed", current: []string{"a@x.com"}, removed: []string{"a@x.com"}, changed: true},
		{name: "empty", resubmit: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := exchange.PlanMembership(c.planned, c.current, c.resubmit)
			if !reflect.DeepEqual(got.Added, c.added) || !reflect.DeepEqual(got.Removed, c.removed) || !reflect.DeepEqual(got.Submit, c.submit) {
				t.Errorf("PlanMembership(%v, %v, %v) = %+v, want added %v removed %v submit %v", c.planned, c.current, c.resubmit, got, c.added, c.removed, c.submit)
			}
			if got.Changed() != c.changed {
				t.Errorf("Changed() = %v, want %v", got.Changed(), c.changed)
			}
		})
	}
}

// TestBatchStatusDecisions: what each status of Get-MigrationBatch calls for, in every spelling
// case (the documentation writes "SyncedwithErrors").
func TestBatchStatusDecisions(t *testing.T) {
	type want struct{ notRunning, stopping, stopNeeded, startNeeded, initialSync, completed, completionStarted bool }
	for status, w := range map[string]want{
		exchange.BatchCreated:             {notRunning: true, startNeeded: true},
		exchange.BatchStarting:            {stopNeeded: true, initialSync: true},
		exchange.BatchSyncing:             {stopNeeded: true, initialSync: true},
		exchange.BatchSynced:              {stopNeeded: true},
		exchange.BatchSyncedWithErrors:    {stopNeeded: true, startNeeded: true},
		exchange.BatchStopping:            {notRunning: true, stopping: true, startNeeded: true},
		exchange.BatchStopped:             {notRunning: true, startNeeded: true},
		exchange.BatchCompleting:          {stopNeeded: true, completionStarted: true},
		exchange.BatchCompleted:           {stopNeeded: true, completed: true, completionStarted: true},
		exchange.BatchCompletedWithErrors: {stopNeeded: true, completed: true, completionStarted: true},
		exchange.BatchRemoving:            {notRunning: true, stopNeeded: true, startNeeded: true},
		exchange.BatchFailed:              {stopNeeded: true, startNeeded: true},
	} {
		for _, spelled := range []string{status, strings.ToLower(status), strings.ToUpper(status)} {
			b := &exchange.Batch{Status: spelled}
			got := want{b.NotRunning(), b.IsStopping(), b.StopNeeded(), b.StartNeeded(), b.InitialSyncRunning(), b.IsCompleted(), b.CompletionStarted()}
			if got != w {
				t.Errorf("%s: got %+v, want %+v", spelled, got, w)
			}
		}
	}
}

func TestUserStatusDecisions(t *testing.T) {
	for _, c := range []struct {
		status, summary string
		failed, synced  bool
	}{
		{"Queued", "Active", false, false},
		{"Syncing", "Active", false, false},
		{"Synced", "Synced", false, true},
		{"Completed", "Completed", false, true},
		{"Failed", "Failed", true, false},
		{"IncrementalFailed", "Synced", true, true},
		{"CompletionFailed", "", true, false},
		{"Stopped", "Stopped", false, false},
		{"", "failed", true, false},
		{"Synced", "SYNCED", false, true},
	} {
		if got := exchange.UserFailed(c.status, c.summary); got != c.failed {
			t.Errorf("UserFailed(%q, %q) = %v, want %v", c.status, c.summary, got, c.failed)
		}
		if got := exchange.UserSynced(c.summary); got != c.synced {
			t.Errorf("UserSynced(%q) = %v, want %v", c.summary, got, c.synced)
		}
	}
}

// TestMigrationUsersInOtherBatches finds the batch that holds an address, both with one lookup
// per address and with one listing (more than ten addresses), skipping the batch itself and the
// duplicate record a second batch keeps as Failed.
func TestMigrationUsersInOtherBatches(t *testing.T) {
	e := newMigEnv(t, fakecloud.Knobs{}, 0, nil)
	e.endpoint()
	for _, spec := range []exchange.BatchSpec{
		{Name: "First", SourceEndpoint: "Exmail", CSV: migrationCSV([2]string{"anna@contoso.com", annaPW})},
		{Name: "Second", SourceEndpoint: "Exmail", CSV: migrationCSV([2]string{"anna@contoso.com", annaPW}, [2]string{"ben@contoso.com", benPW})},
	} {
		if _, err := e.c.NewMigrationBatch(e.ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.WaitBatchMembers(e.ctx, "Second", []string{"ANNA@contoso.com", "ben@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	many := []string{"anna@contoso.com", "ben@contoso.com"}
	for i := 0; len(many) <= 10; i++ {
		many = append(many, fmt.Sprintf("nobody%d@contoso.com", i))
	}
	for _, c := range []struct {
		name, self string
		emails     []string
		want       map[string]string // address -> batch
		cmdlet     int               // Get-MigrationUser requests
	}{
		{"from a third batch", "Third", []string{"anna@contoso.com", "ben@contoso.com"}, map[string]string{"anna@contoso.com": "First", "ben@contoso.com": "Second"}, 2},
		{"from Second, whose anna is the duplicate", "Second", []string{"anna@contoso.com", "ben@contoso.com"}, map[string]string{"anna@contoso.com": "First"}, 2},
		{"from First", "First", []string{"Anna@Contoso.com"}, map[string]string{}, 1},
		{"one listing for many addresses", "Third", many, map[string]string{"anna@contoso.com": "First", "ben@contoso.com": "Second"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.fake.ResetStats()
			got, err := e.c.MigrationUsersInOtherBatches(e.ctx, c.emails, c.self)
			if err != nil {
				t.Fatal(err)
			}
			batches := map[string]string{}
			for addr, u := range got {
				batches[addr] = u.BatchID
			}
			if !reflect.DeepEqual(batches, c.want) {
				t.Errorf("holders = %v, want %v", batches, c.want)
			}
			n := 0
			for _, r := range e.fake.Requests() {
				if r.Cmdlet == "Get-MigrationUser" {
					n++
				}
			}
			if n != c.cmdlet {
				t.Errorf("%d Get-MigrationUser requests, want %d", n, c.cmdlet)
			}
		})
	}
}

// TestRemoveBatchUsers removes users from one batch only (by GUID: anna stays in First), waits
// until they are gone, and says which step failed.
func TestRemoveBatchUsers(t *testing.T) {
	e := newMigEnv(t, fakecloud.Knobs{}, 0, nil)
	e.endpoint()
	for _, spec := range []exchange.BatchSpec{
		{Name: "First", SourceEndpoint: "Exmail", CSV: migrationCSV([2]string{"anna@contoso.com", annaPW})},
		{Name: "Second", SourceEndpoint: "Exmail", CSV: migrationCSV([2]string{"anna@contoso.com", annaPW}, [2]string{"ben@contoso.com", benPW})},
	} {
		if _, err := e.c.NewMigrationBatch(e.ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.WaitBatchReadable(e.ctx, "Second"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.WaitBatchMembers(e.ctx, "Second", []string{"anna@contoso.com", "ben@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.RemoveBatchUsers(e.ctx, "Second", []string{"ANNA@contoso.com", "nobody@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	left := keys(e.usersByEmail("Second"))
	if !reflect.DeepEqual(left, []string{"ben@contoso.com"}) {
		t.Fatalf("Second holds %v after removing anna, want ben only", left)
	}
	if first := keys(e.usersByEmail("First")); !reflect.DeepEqual(first, []string{"anna@contoso.com"}) {
		t.Fatalf("First holds %v, want anna (removed from Second only)", first)
	}
	if err := e.c.WaitBatchMembers(e.ctx, "Second", []string{"ben@contoso.com"}); err != nil {
		t.Fatal(err)
	}

	// A wait cut short: the error says it was the wait, with the cause's own text.
	ctx, cancel := context.WithTimeout(e.ctx, 300*time.Millisecond)
	defer cancel()
	err := e.c.WaitBatchMembers(ctx, "Second", []string{"ben@contoso.com", "carol@contoso.com"})
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("waiting for a member that never comes: %v", err)
	}
	cancelled, stop := context.WithCancel(e.ctx)
	stop()
	err = e.c.RemoveBatchUsers(cancelled, "Second", []string{"ben@contoso.com"})
	var re *exchange.RemoveUsersError
	if !asErr(err, &re) || re.Step != exchange.RemoveStepRead || re.Error() != re.Err.Error() {
		t.Fatalf("RemoveBatchUsers with a cancelled context: %#v", err)
	}
}

// TestWaitBatchRemoved waits through Removing until the batch is gone, showing each answer.
func TestWaitBatchRemoved(t *testing.T) {
	e := newMigEnv(t, fakecloud.Knobs{}, 0, nil)
	e.endpoint()
	if _, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "Gone", SourceEndpoint: "Exmail",
		CSV: migrationCSV([2]string{"ben@contoso.com", benPW})}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.WaitBatchReadable(e.ctx, "Gone"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.RemoveMigrationBatch(e.ctx, "Gone"); err != nil {
		t.Fatal(err)
	}
	var seen []string
	if err := e.c.WaitBatchRemoved(e.ctx, "Gone", func(b *exchange.Batch) { seen = append(seen, b.Status) }); err != nil {
		t.Fatal(err)
	}
	for _, s := range seen {
		if !strings.EqualFold(s, exchange.BatchRemoving) {
			t.Errorf("progress saw status %s while the batch was being removed", s)
		}
	}
	if _, err := e.c.GetMigrationBatch(e.ctx, "Gone"); !exchange.IsNotFound(err) {
		t.Fatalf("after the wait: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
