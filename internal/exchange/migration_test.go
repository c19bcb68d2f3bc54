package exchange_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
	"github.com/m365-migration/terraform-provider-m365/internal/testutil"
)

// Passwords of the seeded IMAP users.
const (
	annaPW = "Anna-pw-2b7e"
	benPW  = "Ben-pw-c41d"
)

func messages(n, size int) []imaptest.Message {
	out := make([]imaptest.Message, n)
	for i := range out {
		out[i].Size = size
	}
	return out
}

// seededMailboxes are the source IMAP users; a sync must find exactly their counts.
func seededMailboxes() map[string]imaptest.User {
	return map[string]imaptest.User{
		"anna@contoso.com": {Password: annaPW, Folders: map[string][]imaptest.Message{
			"INBOX": messages(4, 1000), "Archive/2024": messages(3, 2500)}},
		"ben@contoso.com": {Password: benPW, Folders: map[string][]imaptest.Message{"INBOX": messages(2, 800)}},
	}
}

// mailboxTotals counts a seeded user's messages and bytes.
func mailboxTotals(u imaptest.User) (msgs, bytes int64) {
	for _, list := range u.Folders {
		for _, m := range list {
			msgs++
			bytes += int64(m.Size)
		}
	}
	return msgs, bytes
}

// migEnv is a fake whose migration engine trusts an in-memory IMAP server, and a client.
type migEnv struct {
	t    *testing.T
	fake *fakecloud.Server
	imap *imaptest.Server
	c    *exchange.Client
	ctx  context.Context
}

func newMigEnv(t *testing.T, knobs fakecloud.Knobs, pageSize int, users map[string]imaptest.User) *migEnv {
	t.Helper()
	if users == nil {
		users = seededMailboxes()
	}
	srv := imaptest.StartMemServer(t, users, "Ssl")
	seed := fakecloud.DefaultSeed()
	seed.IMAPRootCAs = []string{srv.CACertFile}
	// IMAP migrations need a licensed target mailbox for every address.
	for addr := range users {
		seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: addr,
			AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuBusinessPremium}}}})
	}
	f := testutil.StartFake(t, seed, knobs)
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return &migEnv{t: t, fake: f, imap: srv, c: newClient(t, f, pageSize), ctx: c}
}

// endpoint creates the verified IMAP endpoint "Exmail".
func (e *migEnv) endpoint() *exchange.Endpoint {
	e.t.Helper()
	ep, err := e.c.NewMigrationEndpoint(e.ctx, exchange.NewEndpointParams{Name: "Exmail", RemoteServer: e.imap.Host,
		Port: int64(e.imap.Port), Security: e.imap.Security})
	if err != nil {
		e.t.Fatalf("NewMigrationEndpoint: %v", err)
	}
	return ep
}

// migrationCSV builds a CSV; each row is email, password.
func migrationCSV(rows ...[2]string) []byte {
	var b strings.Builder
	b.WriteString("EmailAddress,UserName,Password\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s\n", r[0], r[0], r[1])
	}
	return []byte(b.String())
}

// waitStatus polls the batch until its status is one of want.
func (e *migEnv) waitStatus(name string, want ...string) *exchange.Batch {
	e.t.Helper()
	var got *exchange.Batch
	err := exchange.WaitUntil(e.ctx, func(ctx context.Context) (bool, error) {
		b, err := e.c.GetMigrationBatch(ctx, name)
		if err != nil {
			return false, err
		}
		got = b
		for _, w := range want {
			if strings.EqualFold(b.Status, w) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatalf("waiting for %s to be %v (last %+v): %v", name, want, got, err)
	}
	return got
}

func (e *migEnv) usersByEmail(batch string) map[string]exchange.MigrationUser {
	e.t.Helper()
	users, err := e.c.GetMigrationUsers(e.ctx, batch)
	if err != nil {
		e.t.Fatalf("GetMigrationUsers: %v", err)
	}
	out := map[string]exchange.MigrationUser{}
	for _, u := range users {
		out[strings.ToLower(u.EmailAddress)] = u
	}
	return out
}

func TestMigrationEndpointCRUD(t *testing.T) {
	e := newMigEnv(t, fakecloud.Knobs{}, 0, nil)
	ep := e.endpoint()
	if ep.Identity != "Exmail" || ep.GUID == "" || ep.Port != int64(e.imap.Port) || ep.Security != "Ssl" ||
		ep.MaxConcurrentMigrations != 100 || ep.MaxConcurrentIncrementalSyncs != 20 {
		t.Fatalf("new endpoint: %+v", ep)
	}
	if _, err := e.c.NewMigrationEndpoint(e.ctx, exchange.NewEndpointParams{Name: "exmail", RemoteServer: e.imap.Host,
		Security: "Ssl", SkipVerification: true}); !exchange.IsKind(err, exchange.KindAlreadyExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	// Verification: a port nobody listens on is refused in the service's words, unless skipped.
	_, err := e.c.NewMigrationEndpoint(e.ctx, exchange.NewEndpointParams{Name: "Dead", RemoteServer: "127.0.0.1", Port: 1, Security: "None"})
	if !exchange.IsKind(err, exchange.KindValidation) || !strings.Contains(err.Error(), "could not be completed") {
		t.Fatalf("unreachable server: %v", err)
	}
	unl := exchange.Unlimited
	if _, err := e.c.NewMigrationEndpoint(e.ctx, exchange.NewEndpointParams{Name: "Dead", RemoteServer: "127.0.0.1", Port: 1,
		Security: "None", SkipVerification: true, MaxConcurrentMigrations: &unl}); err != nil {
		t.Fatalf("SkipVerification: %v", err)
	}
	if dead, err := e.c.GetMigrationEndpoint(e.ctx, "Dead"); err != nil || dead.MaxConcurrentMigrations != exchange.Unlimited {
		t.Fatalf("Unlimited: %+v %v", dead, err)
	}

	fifty, ten := int64(50), int64(10)
	warnings, err := e.c.SetMigrationEndpoint(e.ctx, exchange.SetEndpointParams{Identity: "Exmail",
		MaxConcurrentMigrations: &fifty, MaxConcurrentIncrementalSyncs: &ten})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Set: %v %v", warnings, err)
	}
	warnings, err = e.c.SetMigrationEndpoint(e.ctx, exchange.SetEndpointParams{Identity: "Exmail", MaxConcurrentMigrations: &fifty})
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "no settings") {
		t.Fatalf("Set without change: %v %v", warnings, err)
	}
	five := int64(5)
	if _, err := e.c.SetMigrationEndpoint(e.ctx, exchange.SetEndpointParams{Identity: "Exmail", MaxConcurrentMigrations: &five}); !exchange.IsKind(err, exchange.KindValidation) {
		t.Fatalf("incremental > migrations: %v", err)
	}
	got, err := e.c.GetMigrationEndpoint(e.ctx, ep.GUID)
	if err != nil || got.MaxConcurrentMigrations != 50 || got.MaxConcurrentIncrementalSyncs != 10 {
		t.Fatalf("after Set: %+v %v", got, err)
	}

	ok, err := e.c.TestMigrationServerAvailability(e.ctx, exchange.ServerTest{Endpoint: "Exmail"})
	if err != nil || !ok.OK() {
		t.Fatalf("test endpoint: %+v %v", ok, err)
	}
	bad, err := e.c.TestMigrationServerAvailability(e.ctx, exchange.ServerTest{RemoteServer: "127.0.0.1", Port: 1, Security: "None"})
	if err != nil || bad.OK() || bad.Result != "Failed" || bad.ErrorDetail == "" {
		t.Fatalf("test dead server: %+v %v", bad, err)
	}

	for _, id := range []string{"Exmail", "Dead"} {
		if err := e.c.RemoveMigrationEndpoint(e.ctx, id); err != nil {
			t.Fatalf("Remove %s: %v", id, err)
		}
	}
	if _, err := e.c.GetMigrationEndpoint(e.ctx, "Exmail"); !exchange.IsNotFound(err) {
		t.Fatalf("after Remove: %v", err)
	}
	if err := e.c.RemoveMigrationEndpoint(e.ctx, "Exmail"); !exchange.IsNotFound(err) {
		t.Fatalf("Remove twice: %v", err)
	}
}

// TestMigrationBatchLifecycle: create → start → Synced with the seeded mailboxes' counts; a wrong
// password fails that user with the service's text; add users, SyncNow, stop, complete, remove.
func TestMigrationBatchLifecycle(t *testing.T) {
	users := seededMailboxes()
	users["cleo@contoso.com"] = imaptest.User{Password: "Cleo-right-pw", Folders: map[string][]imaptest.Message{"INBOX": messages(1, 500)}}
	e := newMigEnv(t, fakecloud.Knobs{}, 0, users)
	e.endpoint()
	start := time.Now().Add(-time.Second)
	b, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "Wave1", SourceEndpoint: "Exmail",
		CSV:                migrationCSV([2]string{"anna@contoso.com", annaPW}, [2]string{"cleo@contoso.com", "Cleo-wrong-pw"}),
		NotificationEmails: []string{"it@contoso.com"}, ExcludeFolders: []string{"Junk"}, TimeZone: "China Standard Time"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Identity != "Wave1" || b.Status != exchange.BatchCreated || b.TotalCount != 2 || b.PendingCount != 2 ||
		b.SourceEndpoint != "Exmail" || b.MigrationType != "IMAP" || b.CreationDateTime.Before(start) ||
		strings.Join(b.NotificationEmails, ",") != "it@contoso.com" || strings.Join(b.ExcludedFolders, ",") != "Junk" {
		t.Fatalf("new batch: %+v", b)
	}
	if err := e.c.StartMigrationBatch(e.ctx, "Wave1"); err != nil {
		t.Fatal(err)
	}
	b = e.waitStatus("Wave1", exchange.BatchSynced, exchange.BatchSyncedWithErrors)
	if b.Status != exchange.BatchSyncedWithErrors || b.SyncedCount != 1 || b.FailedCount != 1 || b.TotalCount != 2 ||
		b.InitialSyncDateTime.IsZero() || !b.IsSynced() {
		t.Fatalf("synced batch: %+v", b)
	}
	got := e.usersByEmail("Wave1")
	wantMsgs, wantBytes := mailboxTotals(users["anna@contoso.com"])
	if u := got["anna@contoso.com"]; u.Status != "Synced" || u.SyncedItemCount != wantMsgs || u.BatchID != "Wave1" ||
		u.LastSuccessfulSyncTime.IsZero() {
		t.Fatalf("anna: %+v (want %d items)", u, wantMsgs)
	}
	cleo := got["cleo@contoso.com"]
	if cleo.Status != "Failed" || cleo.StatusSummary != "Failed" ||
		cleo.ErrorSummary != "Error: ImapAuthenticationException: The username or password for this account is incorrect, or IMAP access is disabled." {
		t.Fatalf("cleo: %+v", cleo)
	}
	st, err := e.c.GetMigrationUserStatistics(e.ctx, "anna@contoso.com")
	if err != nil || st.TotalItemsInSourceMailboxCount != wantMsgs || st.SyncedItemCount != wantMsgs ||
		st.BytesTransferred != wantBytes || st.PercentageComplete != 100 {
		t.Fatalf("anna statistics: %+v %v (want %d items, %d bytes)", st, err, wantMsgs, wantBytes)
	}
	cst, err := e.c.GetMigrationUserStatistics(e.ctx, cleo.GUID)
	if err != nil || !strings.Contains(cst.Error, "ImapAuthenticationException") || strings.Contains(cst.Error, "Cleo-wrong-pw") {
		t.Fatalf("cleo statistics: %+v %v", cst, err)
	}

	// Add ben (anna's row again is ignored), then SyncNow.
	if _, err := e.c.SetMigrationBatch(e.ctx, "Wave1", exchange.BatchUpdate{
		AddUsersCSV: migrationCSV([2]string{"anna@contoso.com", annaPW}, [2]string{"ben@contoso.com", benPW})}); err != nil {
		t.Fatal(err)
	}
	b = e.waitStatus("Wave1", exchange.BatchSynced, exchange.BatchSyncedWithErrors)
	benMsgs, _ := mailboxTotals(users["ben@contoso.com"])
	if b.TotalCount != 3 || b.SyncedCount != 2 || e.usersByEmail("Wave1")["ben@contoso.com"].SyncedItemCount != benMsgs {
		t.Fatalf("after AddUsers: %+v", b)
	}
	// Cleo's row goes: Remove-MigrationUser.
	if err := e.c.RemoveMigrationUser(e.ctx, "cleo@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.SetMigrationBatch(e.ctx, "Wave1", exchange.BatchUpdate{SyncNow: true}); err != nil {
		t.Fatal(err)
	}
	b = e.waitStatus("Wave1", exchange.BatchSynced, exchange.BatchSyncedWithErrors)
	if b.Status != exchange.BatchSynced || b.TotalCount != 2 || b.FailedCount != 0 {
		t.Fatalf("after SyncNow: %+v", b)
	}
	empty := []string{}
	if _, err := e.c.SetMigrationBatch(e.ctx, "Wave1", exchange.BatchUpdate{NotificationEmails: &empty}); err != nil {
		t.Fatal(err)
	}
	if b, _ := e.c.GetMigrationBatch(e.ctx, "Wave1"); len(b.NotificationEmails) != 0 {
		t.Fatalf("NotificationEmails cleared: %v", b.NotificationEmails)
	}

	if err := e.c.StopMigrationBatch(e.ctx, "Wave1"); err != nil {
		t.Fatal(err)
	}
	if b = e.waitStatus("Wave1", exchange.BatchStopped); b.StoppedCount != 2 {
		t.Fatalf("stopped: %+v", b)
	}
	if err := e.c.CompleteMigrationBatch(e.ctx, "Wave1"); !exchange.IsKind(err, exchange.KindValidation) {
		t.Fatalf("Complete of a stopped batch: %v", err)
	}
	if err := e.c.StartMigrationBatch(e.ctx, "Wave1"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("Wave1", exchange.BatchSynced)
	if err := e.c.CompleteMigrationBatch(e.ctx, "Wave1"); err != nil {
		t.Fatal(err)
	}
	if b = e.waitStatus("Wave1", exchange.BatchCompleted); b.FinalizedCount != 2 || b.FinalizedDateTime.IsZero() {
		t.Fatalf("completed: %+v", b)
	}

	if err := e.c.RemoveMigrationBatch(e.ctx, "Wave1"); err != nil {
		t.Fatal(err)
	}
	err = exchange.WaitUntil(e.ctx, func(ctx context.Context) (bool, error) {
		_, err := e.c.GetMigrationBatch(ctx, "Wave1")
		if exchange.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("waiting for removal: %v", err)
	}
	if e.fake.Stats().ExchangeCmdlets["Get-MigrationBatch"] < 2 {
		t.Fatal("removal was not polled")
	}
}

func TestMigrationBatchValidationErrors(t *testing.T) {
	e := newMigEnv(t, fakecloud.Knobs{}, 0, nil)
	e.endpoint()
	in := time.Now().Add(time.Hour)
	for name, spec := range map[string]exchange.BatchSpec{
		"autostart+startafter": {Name: "x", SourceEndpoint: "Exmail", CSV: migrationCSV([2]string{"ben@contoso.com", benPW}), AutoStart: true, StartAfter: &in},
		"long name":            {Name: strings.Repeat("x", 65), SourceEndpoint: "Exmail", CSV: migrationCSV([2]string{"ben@contoso.com", benPW})},
		"bad header":           {Name: "x", SourceEndpoint: "Exmail", CSV: []byte("Email Address,UserName,Password\nben@contoso.com,ben@contoso.com," + benPW + "\n")},
	} {
		_, err := e.c.NewMigrationBatch(e.ctx, spec)
		if !exchange.IsKind(err, exchange.KindValidation) || strings.Contains(err.Error(), benPW) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "x", SourceEndpoint: "Nope",
		CSV: migrationCSV([2]string{"ben@contoso.com", benPW})}); !exchange.IsNotFound(err) || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("missing endpoint: %v", err)
	}
	// StartAfter is sent in UTC and read back.
	b, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "Later", SourceEndpoint: "Exmail",
		CSV: migrationCSV([2]string{"ben@contoso.com", benPW}), StartAfter: &in})
	if err != nil || b.StartAfter.Unix() != in.Unix() || b.Status != exchange.BatchCreated {
		t.Fatalf("StartAfter: %+v %v", b, err)
	}
	if _, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "later", SourceEndpoint: "Exmail",
		CSV: migrationCSV([2]string{"anna@contoso.com", annaPW})}); !exchange.IsKind(err, exchange.KindAlreadyExists) {
		t.Fatalf("duplicate batch name: %v", err)
	}
	if err := e.c.RemoveMigrationEndpoint(e.ctx, "Exmail"); !exchange.IsKind(err, exchange.KindValidation) || !strings.Contains(err.Error(), "Later") {
		t.Fatalf("removing an endpoint in use: %v", err)
	}
}

// TestMigrationUserInTwoBatches: the second batch's copy fails with the documented text, and
// GetMigrationUserByEmail names the batch that holds the user.
func TestMigrationUserInTwoBatches(t *testing.T) {
	e := newMigEnv(t, fakecloud.Knobs{}, 0, nil)
	e.endpoint()
	if _, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "First", SourceEndpoint: "Exmail",
		CSV: migrationCSV([2]string{"anna@contoso.com", annaPW}), AutoStart: true}); err != nil {
		t.Fatal(err)
	}
	b, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "Second", SourceEndpoint: "Exmail",
		CSV: migrationCSV([2]string{"anna@contoso.com", annaPW}, [2]string{"ben@contoso.com", benPW}), AutoStart: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.TotalCount != 2 || b.FailedCount != 1 {
		t.Fatalf("second batch: %+v", b)
	}
	owner, err := e.c.GetMigrationUserByEmail(e.ctx, "anna@contoso.com")
	if err != nil || owner.BatchID != "First" {
		t.Fatalf("owner: %+v %v", owner, err)
	}
	all, err := e.c.GetMigrationUsersByEmail(e.ctx, "ANNA@contoso.com")
	if err != nil || len(all) != 2 {
		t.Fatalf("all records: %+v %v", all, err)
	}
	dup := e.usersByEmail("Second")["anna@contoso.com"]
	if dup.Status != "Failed" || !exchange.IsDuplicateUserError(dup.ErrorSummary) ||
		dup.ErrorSummary != `The user "anna@contoso.com" is already included in migration batch "First." Please remove the user from any other batch and try again.` {
		t.Fatalf("duplicate: %+v", dup)
	}
	if b := e.waitStatus("Second", exchange.BatchSynced, exchange.BatchSyncedWithErrors); b.Status != exchange.BatchSyncedWithErrors || b.SyncedCount != 1 {
		t.Fatalf("second synced: %+v", b)
	}
	// The duplicate record is removed by its GUID; the First batch keeps anna.
	if err := e.c.RemoveMigrationUser(e.ctx, dup.GUID); err != nil {
		t.Fatal(err)
	}
	if owner, err := e.c.GetMigrationUserByEmail(e.ctx, "anna@contoso.com"); err != nil || owner.BatchID != "First" {
		t.Fatalf("after removing the duplicate: %+v %v", owner, err)
	}
	if _, err := e.c.GetMigrationUserByEmail(e.ctx, "nobody@contoso.com"); !exchange.IsNotFound(err) {
		t.Fatalf("unknown address: %v", err)
	}
}

// TestMigrationUsersPaging reads a batch larger than a page, with the service's page size and with
// the client's Prefer: odata.maxpagesize.
func TestMigrationUsersPaging(t *testing.T) {
	for _, c := range []struct {
		name             string
		knob, clientSize int
	}{{"service page size", 2, 0}, {"client page size", 0, 2}} {
		t.Run(c.name, func(t *testing.T) {
			e := newMigEnv(t, fakecloud.Knobs{ExchangePageSize: c.knob}, c.clientSize, nil)
			e.endpoint()
			var rows [][2]string
			for i := 0; i < 5; i++ {
				rows = append(rows, [2]string{fmt.Sprintf("user%d@contoso.com", i), "pw"})
			}
			if _, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "Big", SourceEndpoint: "Exmail", CSV: migrationCSV(rows...)}); err != nil {
				t.Fatal(err)
			}
			e.fake.ResetStats()
			users, err := e.c.GetMigrationUsers(e.ctx, "Big")
			if err != nil || len(users) != 5 {
				t.Fatalf("users: %d %v", len(users), err)
			}
			seen := map[string]bool{}
			for _, u := range users {
				seen[u.EmailAddress] = true
			}
			if len(seen) != 5 {
				t.Fatalf("pages overlap: %v", seen)
			}
			reqs := 0
			for _, r := range e.fake.Requests() {
				if r.Cmdlet == "Get-MigrationUser" {
					reqs++
				}
			}
			if reqs != 3 {
				t.Fatalf("5 users at page size 2 took %d requests, want 3", reqs)
			}
		})
	}
}

// TestMigrationClientFaults: throttling (429 and the concurrency text), the regional redirect and
// the JSON error form on the migration cmdlets; the lag after New-MigrationBatch.
func TestMigrationClientFaults(t *testing.T) {
	e := newMigEnv(t, fakecloud.Knobs{ExchangeThrottleRatio: 0.3, ExchangeConcurrencyRatio: 0.3, RetryAfter: 0.01,
		ExchangeRedirect: true, ExchangeErrorForm: "json", RandomSeed: 11}, 0, nil)
	e.endpoint()
	if _, err := e.c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "B", SourceEndpoint: "Exmail", AutoStart: true,
		CSV: migrationCSV([2]string{"ben@contoso.com", benPW})}); err != nil {
		t.Fatal(err)
	}
	b := e.waitStatus("B", exchange.BatchSynced, exchange.BatchSyncedWithErrors)
	benMsgs, _ := mailboxTotals(seededMailboxes()["ben@contoso.com"])
	if b.SyncedCount != 1 || e.usersByEmail("B")["ben@contoso.com"].SyncedItemCount != benMsgs {
		t.Fatalf("through the faults: %+v", b)
	}
	_, err := e.c.GetMigrationBatch(e.ctx, "Missing")
	var xe *exchange.Error
	if !asErr(err, &xe) || xe.Kind != exchange.KindNotFound || xe.Message != `The migration batch "Missing" can't be found.` ||
		!strings.HasSuffix(xe.ExceptionType, "ManagementObjectNotFoundException") {
		t.Fatalf("JSON error form: %+v", xe)
	}
	st := e.fake.Stats().Exchange
	if st.Throttled == 0 || st.Status[500] == 0 || st.Status[302] == 0 {
		t.Fatalf("the knobs did not bite: %+v", st)
	}

	lag := testutil.StartFake(t, nil, fakecloud.Knobs{ExchangeLag: 400 * time.Millisecond})
	c := newClient(t, lag, 0)
	if _, err := c.NewMigrationEndpoint(e.ctx, exchange.NewEndpointParams{Name: "L", RemoteServer: "imap.example.com",
		Security: "Ssl", SkipVerification: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewMigrationBatch(e.ctx, exchange.BatchSpec{Name: "Lagged", SourceEndpoint: "L",
		CSV: migrationCSV([2]string{"ben@contoso.com", benPW})}); !exchange.IsNotFound(err) {
		t.Fatalf("the endpoint lags, New-MigrationBatch should not find it: %v", err)
	}
	if err := exchange.WaitUntil(e.ctx, func(ctx context.Context) (bool, error) {
		_, err := c.NewMigrationBatch(ctx, exchange.BatchSpec{Name: "Lagged", SourceEndpoint: "L",
			CSV: migrationCSV([2]string{"ben@contoso.com", benPW})})
		return err == nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMigrationBatch(e.ctx, "Lagged"); !exchange.IsNotFound(err) {
		t.Fatalf("right after New-MigrationBatch: %v", err)
	}
	start := time.Now()
	if err := exchange.WaitUntil(e.ctx, func(ctx context.Context) (bool, error) {
		b, err := c.GetMigrationBatch(ctx, "Lagged")
		return err == nil && b.Identity == "Lagged", err
	}); err != nil || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("after the lag: %v (%s)", err, time.Since(start))
	}
}

// TestObjectBytes reads sizes as numbers or ByteQuantifiedSize texts.
func TestObjectBytes(t *testing.T) {
	o := exchange.Object{"a": []byte(`"1.205 KB (1,234 bytes)"`), "b": []byte(`5678`), "c": []byte(`"12"`),
		"d": []byte(`"Unlimited"`), "e": []byte(`"0 B (0 bytes)"`)}
	for key, want := range map[string]int64{"a": 1234, "b": 5678, "c": 12, "e": 0} {
		if n, ok := o.Bytes(key); !ok || n != want {
			t.Errorf("%s: %d %v, want %d", key, n, ok, want)
		}
	}
	if _, ok := o.Bytes("d"); ok {
		t.Error("Unlimited is not a size")
	}
	if _, ok := o.Bytes("missing"); ok {
		t.Error("a missing property is not a size")
	}
}
