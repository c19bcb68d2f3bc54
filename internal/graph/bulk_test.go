package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// createOps are n creates on example.com, each with a licence of testSku.
func createOps(prefix string, n int) []BulkOp {
	ops := make([]BulkOp, n)
	for i := range ops {
		upn := fmt.Sprintf("%s%04d@example.com", prefix, i)
		u := newTestUser(upn)
		ops[i] = BulkOp{Key: upn, Create: &u, AssignAdd: []AssignedLicense{{SkuID: testSku}}}
	}
	return ops
}

// checkConverged asserts that the fake holds exactly the users of ops, once each, licensed.
func checkConverged(t *testing.T, f *fakecloud.Server, ops []BulkOp) {
	t.Helper()
	byUPN := map[string]int{}
	for _, u := range f.Users() {
		byUPN[strings.ToLower(u.UserPrincipalName)]++
		if u.Deleted {
			t.Fatalf("deleted user %s", u.UserPrincipalName)
		}
		if len(u.AssignedLicenses) != 1 || u.AssignedLicenses[0].SkuID != testSku {
			t.Fatalf("user %s licences %+v", u.UserPrincipalName, u.AssignedLicenses)
		}
	}
	missing, dup := 0, 0
	for _, op := range ops {
		switch byUPN[strings.ToLower(op.Key)] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing != 0 || dup != 0 || len(byUPN) != len(ops) {
		t.Fatalf("%d missing, %d duplicated, %d users for %d ops", missing, dup, len(byUPN), len(ops))
	}
}

func TestBulkThousandUsersUnderFaults(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{ThrottleRatio: 0.3, Fail503Ratio: 0.05, RetryAfter: 0.02,
		ReadAfterWriteLag: 300 * time.Millisecond, RandomSeed: 11})
	ops := createOps("f", 1000)
	var progress atomic.Int64
	start := time.Now()
	res, stats := c.Bulk(testCtx(t, 60*time.Second), ops, BulkOptions{OnProgress: func(done, total int) {
		if total != 1000 || int64(done) != progress.Load()+1 {
			t.Errorf("progress %d/%d after %d", done, total, progress.Load())
		}
		progress.Store(int64(done))
	}})
	elapsed := time.Since(start)
	errs := 0
	for i, r := range res {
		if r.Key != ops[i].Key {
			t.Fatalf("result %d has key %s", i, r.Key)
		}
		if r.Err != nil {
			errs++
			t.Errorf("%s: %v", r.Key, r.Err)
			continue
		}
		if r.User == nil || r.User.ID == "" || len(r.User.AssignedLicenses) != 1 || r.Attempts < 1 {
			t.Fatalf("%s: result %+v", r.Key, r)
		}
	}
	if errs > 0 || progress.Load() != 1000 {
		t.Fatalf("%d errors, progress %d", errs, progress.Load())
	}
	checkConverged(t, f, ops)
	fs := f.Stats()
	if stats.Throttled == 0 || stats.Retried == 0 || fs.Graph.Status[404] == 0 || fs.Graph.Status[503] == 0 {
		t.Fatalf("the faults did not fire: %+v, fake %v", stats, fs.Graph.Status)
	}
	if stats.Throttled != fs.Graph.Throttled {
		t.Fatalf("client counted %d throttled, the fake answered %d", stats.Throttled, fs.Graph.Throttled)
	}
	t.Logf("1,000 users under 30%% 429 + 5%% 503 + 300 ms lag: %s, %d $batch POSTs, %d sub-requests (%d retried, %d throttled), max %d in flight; fake statuses %v",
		elapsed.Round(time.Millisecond), stats.Requests, stats.SubRequests, stats.Retried, stats.Throttled, stats.MaxConcurrency, fs.Graph.Status)
}

func TestBulkCrashThenRerunConverges(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{FailAfterWrites: 150})
	ops := createOps("k", 120) // 240 writes; the fake fails every write after the 150th
	res, _ := c.Bulk(testCtx(t, 30*time.Second), ops, BulkOptions{Concurrency: 8})
	var done, licenceFailed, createFailed int
	var again []BulkOp
	for i, r := range res {
		switch {
		case r.Err == nil:
			done++
		case r.User != nil: // created, licence failed: keep the user, retry the licence
			licenceFailed++
			again = append(again, BulkOp{Key: r.Key, AssignTo: r.User.ID, AssignAdd: ops[i].AssignAdd})
		default:
			createFailed++
			if ge := graphErrorOf(t, r.Err); ge.StatusCode != 500 {
				t.Fatalf("%s: %+v", r.Key, ge)
			}
			again = append(again, ops[i])
		}
	}
	if done == 0 || createFailed == 0 || done+licenceFailed+createFailed != 120 {
		t.Fatalf("first run: %d done, %d licence failed, %d create failed", done, licenceFailed, createFailed)
	}
	t.Logf("first run: %d done, %d created without licence, %d not created", done, licenceFailed, createFailed)
	f.SetKnobs(fakecloud.Knobs{}) // the service recovers
	res, _ = c.Bulk(testCtx(t, 30*time.Second), again, BulkOptions{})
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("re-run %s: %v", r.Key, r.Err)
		}
	}
	checkConverged(t, f, ops)
}

func TestBulkStrictDependsOnFallsBackToChains(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{StrictBatchDependencies: true, ThrottleRatio: 0.1, RetryAfter: 0.01, RandomSeed: 5})
	ops := createOps("s", 60)
	res, stats := c.Bulk(testCtx(t, 30*time.Second), ops, BulkOptions{Concurrency: 1})
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Key, r.Err)
		}
	}
	checkConverged(t, f, ops)
	if !c.memory().serialBatches() {
		t.Fatal("the client did not switch to sequential batches")
	}
	rejected := 0
	for _, r := range f.Requests() {
		if r.Path == "/v1.0/$batch" && r.Status == 400 {
			rejected++
		}
	}
	if rejected != 1 {
		t.Fatalf("%d $batch POSTs rejected, want exactly the first", rejected)
	}
	t.Logf("strict dependsOn: %d POSTs, %d sub-requests", stats.Requests, stats.SubRequests)
}

func TestBulkUpdatesDeletesAndBadOps(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{})
	ctx := testCtx(t, 30*time.Second)
	var ids []string
	for _, n := range []string{"a", "b", "c"} {
		u, err := c.CreateUser(ctx, newTestUser(n+"@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	title := map[string]string{"jobTitle": "Lead", "usageLocation": "US"}
	nu := newTestUser("d@example.com")
	ops := []BulkOp{
		{Key: "update a", UpdateID: ids[0], Update: &UserChanges{Set: title}, AssignAdd: []AssignedLicense{{SkuID: testSku}}},
		{Key: "licence b", AssignTo: "b@example.com", AssignAdd: []AssignedLicense{{SkuID: testSmallSku}}},
		{Key: "delete c", Delete: ids[2]},
		{Key: "delete missing", Delete: "00000000-0000-0000-0000-00000000abcd"},
		{Key: "update missing", UpdateID: "00000000-0000-0000-0000-00000000abce", Update: &UserChanges{Set: title}},
		{Key: "both", Create: &nu, Delete: ids[1]},
		{Key: "bad property", UpdateID: ids[1], Update: &UserChanges{Set: map[string]string{"shoeSize": "9"}}},
		{Key: "nothing", UpdateID: ids[1], Update: &UserChanges{}},
		{Key: "no seats", AssignTo: ids[1], AssignAdd: []AssignedLicense{{SkuID: testSmallSku}}, AssignRemove: []string{testSku}},
	}
	f.ResetStats()
	res, stats := c.Bulk(ctx, ops, BulkOptions{})
	want := map[string]string{
		"update a": "", "licence b": "", "delete c": "", "delete missing": "", "nothing": "",
		"update missing": "does not exist", "both": "not several", "bad property": "not a user property",
		"no seats": "User does not have a corresponding license.",
	}
	for _, r := range res {
		w := want[r.Key]
		switch {
		case w == "" && r.Err != nil:
			t.Errorf("%s: %v", r.Key, r.Err)
		case w != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), w)):
			t.Errorf("%s: got %v, want an error with %q", r.Key, r.Err, w)
		}
	}
	if stats.SubRequests != 7 || stats.Requests != 1 {
		t.Fatalf("stats %+v (want one $batch of 7: patch+licence, licence, 2 deletes, patch, licence)", stats)
	}
	got, err := c.GetUser(ctx, ids[0])
	if err != nil || got.JobTitle != "Lead" || len(got.AssignedLicenses) != 1 {
		t.Fatalf("a: %+v %v", got, err)
	}
	if _, err := c.GetUser(ctx, ids[2]); !IsNotFound(err) {
		t.Fatalf("c not deleted: %v", err)
	}
	if res, _ := c.Bulk(ctx, nil, BulkOptions{}); len(res) != 0 {
		t.Fatal("empty bulk")
	}
}

func TestBulkBoundedByContext(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{ThrottleRatio: 1, RetryAfter: 30})
	ops := createOps("x", 30)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, stats := c.Bulk(ctx, ops, BulkOptions{})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Bulk outlived its context by %s", d)
	}
	for _, r := range res {
		if ge := graphErrorOf(t, r.Err); !strings.Contains(ge.Message, "not finished") || !errors.Is(r.Err, context.DeadlineExceeded) || r.User != nil {
			t.Fatalf("%s: %v", r.Key, r.Err)
		}
	}
	if stats.Throttled == 0 || len(f.Users()) != 0 {
		t.Fatalf("stats %+v, %d users", stats, len(f.Users()))
	}
}
