package graph

import (
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"

	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abstractions "github.com/microsoft/kiota-abstractions-go"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

const (
	testPassword = "Xw9#kLm2!pQ"
	// testSku has seats for the bulk tests; testSmallSku has two.
	testSku      = "a403ebcc-fae0-4ca2-8c8c-7a907fd6c235"
	testSmallSku = "4b9405b0-7788-4568-add1-99614e613b69"
)

func testSeed() *fakecloud.Seed {
	sd := fakecloud.DefaultSeed()
	sd.Domains = []fakecloud.SeedDomain{{ID: "example.com", IsVerified: true}}
	sd.SKUs = []fakecloud.SKU{
		{SkuID: testSku, SkuPartNumber: "STANDARDPACK", Enabled: 10000, ServicePlans: []fakecloud.ServicePlan{
			{ServicePlanID: "9aaf7827-d63c-4b61-89c3-182f06f82e5c", ServicePlanName: "EXCHANGE_S_STANDARD"}}},
		{SkuID: testSmallSku, SkuPartNumber: "EXCHANGESTANDARD", Enabled: 2},
	}
	return sd
}

// newTestClient starts a fake tenant and a client built like the provider builds it: azidentity
// client-secret credential against the fake's login endpoint, graph.New with the real middleware.
func newTestClient(t *testing.T, seed *fakecloud.Seed, knobs fakecloud.Knobs) (*Client, *fakecloud.Server) {
	t.Helper()
	if seed == nil {
		seed = testSeed()
	}
	f, err := fakecloud.Start(fakecloud.Options{Seed: seed, Knobs: knobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	cred, err := azidentity.NewClientSecretCredential(f.TenantID(), f.ClientID(), f.ClientSecret(),
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: f.LoginEndpoint() + "/"}},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Host: f.GraphEndpoint(), Scope: "https://graph.microsoft.com/.default", Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newTestUser(upn string) NewUser {
	local, _, _ := strings.Cut(upn, "@")
	return NewUser{User: User{Values: userattr.Of(userattr.UPN, upn, userattr.DisplayName, "User "+local, userattr.MailNickname, local,
		userattr.UsageLocation, "CN"), AccountEnabled: true}, Password: testPassword, ForceChangePasswordNextSignIn: true}
}

func graphErrorOf(t *testing.T, err error) *Error {
	t.Helper()
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("want *graph.Error, got %T %v", err, err)
	}
	if strings.Contains(ge.Error(), testPassword) {
		t.Fatalf("the error shows the password: %v", ge)
	}
	return ge
}

func TestUsersCreateReadUpdateDelete(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{})
	ctx := testCtx(t, 20*time.Second)
	vals := userattr.Of("user_principal_name", "adele@example.com", "mail_nickname", "adele", "display_name", "Adele Vance",
		"given_name", "Adele", "surname", "Vance", "job_title", "Engineer", "department", "R&D", "company_name", "Contoso",
		"employee_id", "E-1", "office_location", "Shanghai", "mobile_phone", "+86 139 0000 0000", "fax_number", "+86 21 0000",
		"street_address", "1 Road", "city", "Shanghai", "state", "SH", "postal_code", "200000", "country", "China",
		"usage_location", "CN", "preferred_language", "zh-CN")
	vals.SetList("business_phones", []string{"+86 21 1234"})
	vals.SetList("other_mails", []string{"adele@old.example"})
	in := NewUser{User: User{Values: vals, AccountEnabled: true}, Password: testPassword, ForceChangePasswordNextSignIn: true}
	created, err := c.CreateUser(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Get("job_title") != "Engineer" {
		t.Fatalf("created %+v", created)
	}
	if !f.CheckUserPassword(created.ID, testPassword) {
		t.Fatal("the fake did not get the password")
	}
	for _, key := range []string{created.ID, "ADELE@example.com"} {
		got, err := c.GetUser(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		want := in.User
		want.ID = created.ID
		if fmt.Sprint(*got) != fmt.Sprint(want) {
			t.Fatalf("GetUser(%s):\n got %+v\nwant %+v", key, *got, want)
		}
	}

	tru, fls := true, false
	pw := "N3w-Passw0rd!"
	changes := userattr.Of("job_title", "Lead", "department", "", "usage_location", "US")
	changes.SetList("business_phones", []string{})
	err = c.UpdateUser(ctx, created.ID, UserChanges{
		Attrs: changes, AccountEnabled: &fls, Password: &pw, ForceChangePasswordNextSignIn: &tru,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUser(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("job_title") != "Lead" || got.Has("department") || got.Get("usage_location") != "US" || got.AccountEnabled || got.Has("business_phones") {
		t.Fatalf("after update %+v", got)
	}
	if !f.CheckUserPassword(created.ID, pw) {
		t.Fatal("password not changed")
	}
	if err := c.UpdateUser(ctx, created.ID, UserChanges{Attrs: userattr.Of("favourite_colour", "red")}); err == nil {
		t.Fatal("unknown property accepted")
	}

	_, err = c.CreateUser(ctx, in)
	ge := graphErrorOf(t, err)
	if ge.StatusCode != 400 || ge.Code != "Request_BadRequest" ||
		ge.Message != "Another object with the same value for property userPrincipalName already exists." {
		t.Fatalf("duplicate: %+v", ge)
	}
	weak := newTestUser("weak@example.com")
	weak.Password = "password"
	_, err = c.CreateUser(ctx, weak)
	if ge := graphErrorOf(t, err); !strings.Contains(ge.Message, "password complexity") {
		t.Fatalf("weak: %v", ge)
	}

	if err := c.DeleteUser(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, created.ID); !IsNotFound(err) {
		t.Fatalf("read after delete: %v", err)
	}
	if err := c.DeleteUser(ctx, created.ID); !IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestUsersListPagedAndByDomain(t *testing.T) {
	sd := testSeed()
	for i := 0; i < 1100; i++ {
		domain := "example.com"
		if i%10 == 0 {
			domain = "contoso.onmicrosoft.com"
		}
		sd.Users = append(sd.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: fmt.Sprintf("u%04d@%s", i, domain), UsageLocation: "CN"}})
	}
	c, f := newTestClient(t, sd, fakecloud.Knobs{})
	ctx := testCtx(t, 20*time.Second)
	all, err := c.ListUsers(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range all {
		if seen[u.ID] || u.Get("usage_location") != "CN" || !u.AccountEnabled || u.Get("mail_nickname") == "" {
			t.Fatalf("user %+v (dup=%v)", u, seen[u.ID])
		}
		seen[u.ID] = true
	}
	if len(all) != 1100 {
		t.Fatalf("%d users", len(all))
	}
	gets := 0
	for _, r := range f.Requests() {
		if r.Method == "GET" && r.Path == "/v1.0/users" {
			gets++
			if !strings.Contains(r.Query, "%24top=999") {
				t.Fatalf("query %s", r.Query)
			}
		}
	}
	if gets != 2 {
		t.Fatalf("%d GETs for 1,100 users, want 2 pages of 999", gets)
	}
	some, err := c.ListUsers(ctx, "contoso.onmicrosoft.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 110 {
		t.Fatalf("%d users of the initial domain", len(some))
	}
}

func TestUsersLicencesAndSeats(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{})
	ctx := testCtx(t, 20*time.Second)
	var ids []string
	for _, n := range []string{"a", "b", "c"} {
		u, err := c.CreateUser(ctx, newTestUser(n+"@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	noLoc := newTestUser("noloc@example.com")
	noLoc.Delete(userattr.UsageLocation)
	nl, err := c.CreateUser(ctx, noLoc)
	if err != nil {
		t.Fatal(err)
	}
	add := []AssignedLicense{{SkuID: testSmallSku}}
	err = c.AssignLicenses(ctx, nl.ID, add, nil)
	if ge := graphErrorOf(t, err); ge.Message != "License assignment cannot be done for user with invalid usage location." {
		t.Fatalf("no usage location: %v", ge)
	}
	for _, id := range ids[:2] {
		if err := c.AssignLicenses(ctx, id, add, nil); err != nil {
			t.Fatal(err)
		}
	}
	err = c.AssignLicenses(ctx, "c@example.com", add, nil)
	if ge := graphErrorOf(t, err); ge.Code != "Request_BadRequest" ||
		ge.Message != "Subscription with SKU "+testSmallSku+" does not have any available licenses." {
		t.Fatalf("seat exhaustion: %+v", ge)
	}
	skus, err := c.ListSubscribedSkus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range skus {
		if s.SkuID == testSmallSku && (s.Consumed != 2 || s.Available() != 0) {
			t.Fatalf("sku %+v", s)
		}
	}
	got, err := c.GetUser(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AssignedLicenses) != 1 || got.AssignedLicenses[0].SkuID != testSmallSku {
		t.Fatalf("licences %+v", got.AssignedLicenses)
	}
	// Swap: remove the small SKU from a (frees a seat), give it to c, add the big one to a.
	if err := c.AssignLicenses(ctx, ids[0], []AssignedLicense{{SkuID: testSku, DisabledPlans: []string{"9aaf7827-d63c-4b61-89c3-182f06f82e5c"}}}, []string{testSmallSku}); err != nil {
		t.Fatal(err)
	}
	if err := c.AssignLicenses(ctx, ids[2], add, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetUser(ctx, ids[0])
	if len(got.AssignedLicenses) != 1 || got.AssignedLicenses[0].SkuID != testSku || len(got.AssignedLicenses[0].DisabledPlans) != 1 {
		t.Fatalf("after swap %+v", got.AssignedLicenses)
	}
	if n := len(f.Users()); n != 4 {
		t.Fatalf("%d users", n)
	}
}

func TestUsersThrottledRetriedAndGzip(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{ThrottleRatio: 0.4, RetryAfter: 0.02, RandomSeed: 7})
	ctx := testCtx(t, 20*time.Second)
	for i := 0; i < 10; i++ {
		if _, err := c.CreateUser(ctx, newTestUser(fmt.Sprintf("t%d@example.com", i))); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	st := f.Stats()
	if st.Graph.Throttled == 0 {
		t.Fatal("the knob throttled nothing: the test proves nothing")
	}
	if n := len(f.Users()); n != 10 {
		t.Fatalf("%d users after retried creates", n)
	}
	posts, gz := 0, 0
	for _, r := range f.Requests() {
		if r.Method == "POST" && r.Path == "/v1.0/users" {
			posts++
			if r.ContentEncoding == "gzip" {
				gz++
			}
		}
	}
	if posts != 10+st.Graph.Throttled || gz != posts {
		t.Fatalf("%d POSTs (%d throttled), %d gzip-encoded", posts, st.Graph.Throttled, gz)
	}
	t.Logf("10 creates: %d POSTs, %d answered 429, all gzip", posts, st.Graph.Throttled)
}

func TestUsersReadAfterWriteLag(t *testing.T) {
	c, f := newTestClient(t, nil, fakecloud.Knobs{ReadAfterWriteLag: 600 * time.Millisecond})
	ctx := testCtx(t, 20*time.Second)
	u, err := c.CreateUser(ctx, newTestUser("lag@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	// Each of these meets 404s first (the fake lags) and succeeds on evidence.
	if err := c.AssignLicenses(ctx, "lag@example.com", []AssignedLicense{{SkuID: testSku}}, nil); err != nil {
		t.Fatal(err)
	}
	jt := "Tester"
	if err := c.UpdateUser(ctx, u.ID, UserChanges{Attrs: userattr.Of("job_title", jt)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUser(ctx, u.ID)
	if err != nil || got.Get("job_title") != jt || len(got.AssignedLicenses) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	if f.Stats().Graph.Status[404] == 0 {
		t.Fatal("no 404 seen: the lag was not exercised")
	}
	// A user this client did not create: a 404 comes back at once.
	start := time.Now()
	if _, err := c.GetUser(ctx, "nobody@example.com"); !IsNotFound(err) || time.Since(start) > 2*time.Second {
		t.Fatalf("unknown user: %v after %s", err, time.Since(start))
	}
}

func TestClassifyRead(t *testing.T) {
	for _, c := range []struct {
		user, deleted int
		want          readOutcome
		ok            bool
	}{
		{200, 404, readFound, true},
		{200, 200, readFound, true}, // the user is there: whatever the deleted items say
		{404, 200, readDeleted, true},
		{404, 404, readNotFound, true},
		{404, 403, readNotFound, true}, // no right to read deleted items: only 404s remain as evidence
		{404, 0, readNotFound, true},
		{429, 200, readPending, true},
		{503, 404, readPending, true},
		{424, 0, readPending, true},
		{0, 0, readPending, true},
		{403, 404, readPending, false}, // the user read itself is refused: an error
		{400, 404, readPending, false},
	} {
		got, ok := classifyRead(c.user, c.deleted)
		if got != c.want || ok != c.ok {
			t.Errorf("classifyRead(%d, %d) = %v, %t; want %v, %t", c.user, c.deleted, got, ok, c.want, c.ok)
		}
	}
}

func TestReadUsersByIDRidesOutLagAndNeedsEvidence(t *testing.T) {
	oldWait, oldMin := absenceWait, minAbsence
	absenceWait, minAbsence = 4*time.Second, 2*time.Second
	t.Cleanup(func() { absenceWait, minAbsence = oldWait, oldMin })
	c, f := newTestClient(t, nil, fakecloud.Knobs{})
	ctx := testCtx(t, 60*time.Second)
	var ids []string
	for i := range 12 {
		u, err := c.CreateUser(ctx, newTestUser(fmt.Sprintf("r%02d@example.com", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	softID, hardID := ids[10], ids[11]
	if err := c.DeleteUser(ctx, softID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, hardID); err != nil {
		t.Fatal(err)
	}
	// The hard-deleted user: purged from the deleted items too.
	ri, _ := c.newRequest(abstractions.DELETE, "/directory/deletedItems/"+hardID, nil, nil)
	if _, err := c.sendJSON(ctx, ri); err != nil {
		t.Fatal(err)
	}

	// Ten users just created, as another process would see them: the first reads answer 404.
	f.SetKnobs(fakecloud.Knobs{ReadAfterWriteLag: 1500 * time.Millisecond})
	for _, id := range ids[:10] {
		c.forgetCreated(id)
	}
	fresh := make([]string, 0, 10)
	for i := range 10 {
		u, err := c.CreateUser(ctx, newTestUser(fmt.Sprintf("n%02d@example.com", i)))
		if err != nil {
			t.Fatal(err)
		}
		c.forgetCreated(u.ID)
		fresh = append(fresh, u.ID)
	}
	f.ResetStats()
	start := time.Now()
	found, gone, err := c.ReadUsersByID(ctx, append(append([]string{}, fresh...), softID, hardID))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 10 {
		t.Fatalf("found %d of the 10 lagging users", len(found))
	}
	for _, id := range fresh {
		if found[id].ID != id || found[id].UPN() == "" {
			t.Fatalf("user %s read as %+v", id, found[id])
		}
	}
	if len(gone) != 2 {
		t.Fatalf("gone = %+v, want the soft- and the hard-deleted user", gone)
	}
	byID := map[string]GoneUser{}
	for _, g := range gone {
		byID[g.ID] = g
	}
	if g := byID[softID]; !g.InDeletedItems || g.UserPrincipalName != "r10@example.com" || g.DeletedDateTime == "" {
		t.Fatalf("soft-deleted user: %+v", g)
	}
	if g := byID[hardID]; g.InDeletedItems || g.NotFoundReads < minNotFoundReads || g.Waited < minAbsence {
		t.Fatalf("hard-deleted user: %+v (wait %s)", g, absenceWait)
	}
	if !strings.Contains(byID[hardID].Evidence(), "answered 404") || !strings.Contains(byID[softID].Evidence(), "deleted users") {
		t.Fatalf("evidence: %q / %q", byID[hardID].Evidence(), byID[softID].Evidence())
	}
	// Many users per request: at most two $batch POSTs per round for 12 users.
	batches, subs := 0, 0
	for _, r := range f.Requests() {
		switch {
		case r.Path == "/v1.0/$batch":
			batches++
		case r.BatchID != "":
			subs++
		default:
			t.Fatalf("a read outside $batch: %s %s", r.Method, r.Path)
		}
	}
	if f.Stats().Graph.Status[404] == 0 {
		t.Fatal("no 404 seen: the lag was not exercised")
	}
	t.Logf("12 users (10 lagging 1.5 s, 1 soft-, 1 hard-deleted): %d $batch POSTs, %d sub-requests, %s", batches, subs, took.Round(time.Millisecond))
	if subs > 24*12 || batches > 2*12 {
		t.Fatalf("%d $batch POSTs and %d sub-requests: more than one round per backoff step", batches, subs)
	}
}

func TestReadUsersByIDBoundedByContext(t *testing.T) {
	c, _ := newTestClient(t, nil, fakecloud.Knobs{})
	// A user that never existed, and a deadline too short to tell lag from deletion: an error,
	// not "gone", and well before the deadline.
	ctx := testCtx(t, 2*time.Second)
	start := time.Now()
	_, gone, err := c.ReadUsersByID(ctx, []string{"00000000-0000-0000-0000-000000000001"})
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %s, longer than the context", time.Since(start))
	}
	if err == nil || len(gone) != 0 || !strings.Contains(err.Error(), "too few 404 answers") {
		t.Fatalf("gone %+v, err %v; want an error and nothing gone", gone, err)
	}
}

func TestChunkReads(t *testing.T) {
	var ids []string
	for i := range 25 {
		ids = append(ids, fmt.Sprintf("u%02d", i))
	}
	seen := func(id string) bool { return id < "u06" } // six ids answered 404 before: two reads each
	chunks := chunkReads(ids, seen)
	total := 0
	for _, c := range chunks {
		n := 0
		for _, id := range c.ids {
			n++
			if c.withDeleted[id] {
				n++
			}
		}
		if n > maxBatchSize {
			t.Fatalf("a chunk of %d sub-requests", n)
		}
		total += n
	}
	if total != 31 || len(chunks) != 2 {
		t.Fatalf("%d sub-requests in %d chunks, want 31 in 2", total, len(chunks))
	}
}
