package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const testPassword = "Xw9#kLm2!pQ"

func usersSeed() *Seed {
	sd := DefaultSeed()
	sd.Domains = []SeedDomain{{ID: "example.com", IsVerified: true}, {ID: "pending.example", IsVerified: false}}
	return sd
}

func newUserBody(upn string) map[string]any {
	local, _, _ := strings.Cut(upn, "@")
	return map[string]any{
		"accountEnabled":    true,
		"displayName":       "User " + local,
		"mailNickname":      local,
		"userPrincipalName": upn,
		"passwordProfile":   map[string]any{"password": testPassword, "forceChangePasswordNextSignIn": true},
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// createUser posts a user and fails the test unless it is created.
func (f *fixture) createUser(tok string, body map[string]any) map[string]any {
	f.t.Helper()
	resp, b := f.graph(http.MethodPost, "/v1.0/users", tok, body, nil)
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("create %v: %d %s", body["userPrincipalName"], resp.StatusCode, b)
	}
	return decodeJSON(f.t, b)
}

func TestUserCreateValidation(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "state.json")
	f := newFixture(t, Options{Seed: usersSeed(), StateFile: stateFile})
	tok := f.graphToken()
	base := newUserBody("adele@example.com")

	created := f.createUser(tok, with(base, "usageLocation", "CN", "jobTitle", "Engineer"))
	if id, _ := created["id"].(string); !isGUID(id) {
		t.Fatalf("id %v", created["id"])
	}
	if _, ok := created["usageLocation"]; ok {
		t.Fatalf("usageLocation is $select-only, got it by default: %v", created)
	}
	if created["jobTitle"] != "Engineer" || created["@odata.context"] != f.s.GraphEndpoint()+"/v1.0/$metadata#users/$entity" {
		t.Fatalf("create answer %v", created)
	}
	f.s.Users() // must not panic
	// Soft-delete a second user: its UPN stays reserved.
	gone := f.createUser(tok, newUserBody("gone@example.com"))
	if resp, b := f.graph(http.MethodDelete, "/v1.0/users/"+gone["id"].(string), tok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}

	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name string
		body map[string]any
		code string
		msg  string
	}{
		{"duplicate UPN", with(base, "userPrincipalName", "ADELE@example.com"), "Request_BadRequest",
			"Another object with the same value for property userPrincipalName already exists."},
		{"duplicate of a soft-deleted UPN", newUserBody("gone@example.com"), "Request_BadRequest",
			"Another object with the same value for property userPrincipalName already exists."},
		{"unverified domain", newUserBody("bob@pending.example"), "Request_BadRequest",
			"The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization."},
		{"unknown domain", newUserBody("bob@nowhere.example"), "Request_BadRequest",
			"The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization."},
		{"weak password: two classes", with(newUserBody("bob@example.com"), "passwordProfile", map[string]any{"password": "alllowercase1"}),
			"Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password."},
		{"weak password: too short", with(newUserBody("bob@example.com"), "passwordProfile", map[string]any{"password": "Ab1!"}),
			"Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password."},
		{"weak password: not ASCII", with(newUserBody("bob@example.com"), "passwordProfile", map[string]any{"password": "Pässwörd123!"}),
			"Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password."},
		{"usage location not ISO", with(newUserBody("bob@example.com"), "usageLocation", "XX"), "Request_BadRequest",
			"Invalid value specified for property 'usageLocation' of resource 'User'."},
		{"usage location three letters", with(newUserBody("bob@example.com"), "usageLocation", "CHN"), "Request_BadRequest",
			"Invalid value specified for property 'usageLocation' of resource 'User'."},
		{"displayName too long", with(newUserBody("bob@example.com"), "displayName", long(257)), "Request_BadRequest",
			"Invalid value specified for property 'displayName' of resource 'User'."},
		{"employeeId too long", with(newUserBody("bob@example.com"), "employeeId", long(17)), "Request_BadRequest",
			"Invalid value specified for property 'employeeId' of resource 'User'."},
		{"postalCode too long", with(newUserBody("bob@example.com"), "postalCode", long(41)), "Request_BadRequest",
			"Invalid value specified for property 'postalCode' of resource 'User'."},
		{"UPN local part over 64", newUserBody(long(65) + "@example.com"), "Request_BadRequest",
			"Invalid value specified for property 'userPrincipalName' of resource 'User'."},
		{"UPN with an accent", newUserBody("zoë@example.com"), "Request_BadRequest",
			"Invalid value specified for property 'userPrincipalName' of resource 'User'."},
		{"UPN dot before @", newUserBody("bob.@example.com"), "Request_BadRequest",
			"Invalid value specified for property 'userPrincipalName' of resource 'User'."},
		{"two business phones", with(newUserBody("bob@example.com"), "businessPhones", []string{"1", "2"}), "Request_BadRequest",
			"Invalid value specified for property 'businessPhones' of resource 'User'."},
		{"missing mailNickname", with(newUserBody("bob@example.com"), "mailNickname", nil), "Request_BadRequest",
			"Property 'mailNickname' is required when creating the resource."},
		{"missing password", with(newUserBody("bob@example.com"), "passwordProfile", nil), "Request_BadRequest",
			"Property 'passwordProfile' is required when creating the resource."},
		{"read-only property", with(newUserBody("bob@example.com"), "assignedLicenses", []any{}), "Request_BadRequest",
			"Property 'assignedLicenses' is read-only and cannot be set."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := f.graph(http.MethodPost, "/v1.0/users", tok, c.body, nil)
			code, msg := graphErr(t, b)
			if resp.StatusCode != 400 || code != c.code || msg != c.msg {
				t.Fatalf("got %d %s %q", resp.StatusCode, code, msg)
			}
			if strings.Contains(string(b), testPassword) {
				t.Fatal("the answer echoes the password")
			}
		})
	}
	if n := len(f.s.Users()); n != 2 {
		t.Fatalf("%d users after the failed creates, want 2", n)
	}
	raw, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), testPassword) || !strings.Contains(string(raw), "adele@example.com") {
		t.Fatalf("state file holds the password or lacks the user")
	}
	if !f.s.CheckUserPassword("ADELE@example.com", testPassword) || f.s.CheckUserPassword("adele@example.com", "wrong") {
		t.Fatal("CheckUserPassword")
	}
}

func TestUserGetSelectAndUpdate(t *testing.T) {
	f := newFixture(t, Options{Seed: usersSeed()})
	tok := f.graphToken()
	u := f.createUser(tok, with(newUserBody("megan@example.com"), "usageLocation", "US", "department", "Sales"))
	id := u["id"].(string)

	resp, b := f.graph(http.MethodGet, "/v1.0/users/MEGAN@example.com", tok, nil, nil)
	got := decodeJSON(t, b)
	if resp.StatusCode != 200 || got["id"] != id {
		t.Fatalf("get by UPN: %d %s", resp.StatusCode, b)
	}
	for _, k := range []string{"usageLocation", "assignedLicenses", "department", "accountEnabled", "mailNickname"} {
		if _, ok := got[k]; ok {
			t.Fatalf("%s returned without $select", k)
		}
	}
	q := "?$select=" + url.QueryEscape("id,usageLocation,assignedLicenses,department,accountEnabled")
	resp, b = f.graph(http.MethodGet, "/v1.0/users/"+id+q, tok, nil, nil)
	got = decodeJSON(t, b)
	if resp.StatusCode != 200 || got["usageLocation"] != "US" || got["department"] != "Sales" || got["accountEnabled"] != true ||
		got["displayName"] != nil || len(got["assignedLicenses"].([]any)) != 0 {
		t.Fatalf("$select: %d %s", resp.StatusCode, b)
	}
	if !strings.HasSuffix(got["@odata.context"].(string), "#users(id,usageLocation,assignedLicenses,department,accountEnabled)/$entity") {
		t.Fatalf("context %v", got["@odata.context"])
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/users/"+id+"?$select=nonsense", tok, nil, nil)
	if _, msg := graphErr(t, b); resp.StatusCode != 400 || !strings.Contains(msg, "nonsense") {
		t.Fatalf("bad $select: %d %s", resp.StatusCode, b)
	}

	// PATCH: set, clear with null, password change; a bad UPN domain is refused.
	resp, b = f.graph(http.MethodPatch, "/v1.0/users/"+id, tok, map[string]any{
		"jobTitle": "Lead", "department": nil, "passwordProfile": map[string]any{"password": "N3w-Passw0rd!"},
		"businessPhones": []string{"+86 10 1234"},
	}, nil)
	if resp.StatusCode != 204 || len(b) != 0 {
		t.Fatalf("patch: %d %s", resp.StatusCode, b)
	}
	var after User
	for _, x := range f.s.Users() {
		if x.ID == id {
			after = x
		}
	}
	if after.JobTitle != "Lead" || after.Department != "" || len(after.BusinessPhones) != 1 ||
		!f.s.CheckUserPassword(id, "N3w-Passw0rd!") || f.s.CheckUserPassword(id, testPassword) {
		t.Fatalf("after patch: %+v", after)
	}
	resp, b = f.graph(http.MethodPatch, "/v1.0/users/"+id, tok, map[string]any{"userPrincipalName": "megan@pending.example"}, nil)
	if _, msg := graphErr(t, b); resp.StatusCode != 400 || msg != msgUnverifiedDomain {
		t.Fatalf("patch to unverified domain: %d %s", resp.StatusCode, b)
	}
	resp, b = f.graph(http.MethodPatch, "/v1.0/users/"+id, tok, map[string]any{"passwordProfile": map[string]any{"password": "short"}}, nil)
	if _, msg := graphErr(t, b); resp.StatusCode != 400 || msg != msgWeakPassword {
		t.Fatalf("weak password patch: %d %s", resp.StatusCode, b)
	}
	resp, b = f.graph(http.MethodPatch, "/v1.0/users/"+id, tok, map[string]any{"userPrincipalName": "megan.b@contoso.onmicrosoft.com"}, nil)
	if resp.StatusCode != 204 {
		t.Fatalf("rename to the initial domain: %d %s", resp.StatusCode, b)
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/users/megan.b@contoso.onmicrosoft.com", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("get renamed: %d", resp.StatusCode)
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/users/nobody@example.com", tok, nil, nil)
	if code, _ := graphErr(t, b); resp.StatusCode != 404 || code != "Request_ResourceNotFound" {
		t.Fatalf("missing user: %d %s", resp.StatusCode, b)
	}
}

func TestUserListPagingAndFilters(t *testing.T) {
	sd := usersSeed()
	for i := 0; i < 230; i++ {
		domain := "example.com"
		if i%2 == 1 {
			domain = "contoso.onmicrosoft.com"
		}
		sd.Users = append(sd.Users, SeedUser{User: User{UserPrincipalName: fmt.Sprintf("u%03d@%s", i, domain)}})
	}
	f := newFixture(t, Options{Seed: sd})
	tok := f.graphToken()

	page := func(path string, hdr map[string]string) (int, map[string]any) {
		resp, b := f.graph(http.MethodGet, path, tok, nil, hdr)
		return resp.StatusCode, decodeJSON(t, b)
	}
	// Default page size 100, nextLink paging, no duplicates.
	seen := map[string]bool{}
	next := "/v1.0/users?$select=id,userPrincipalName"
	pages := 0
	for next != "" {
		status, m := page(next, nil)
		if status != 200 {
			t.Fatalf("page %d: %d %v", pages, status, m)
		}
		pages++
		for _, v := range m["value"].([]any) {
			id := v.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("user %s on two pages", id)
			}
			seen[id] = true
		}
		next = ""
		if l, ok := m["nextLink"]; ok {
			t.Fatalf("nextLink without @: %v", l)
		}
		if l, ok := m["@odata.nextLink"].(string); ok {
			next = strings.TrimPrefix(l, f.s.GraphEndpoint())
			if !strings.Contains(l, "%24select=") && !strings.Contains(l, "$select=") {
				t.Fatalf("nextLink lost $select: %s", l)
			}
		}
	}
	if pages != 3 || len(seen) != 230 {
		t.Fatalf("%d pages, %d users", pages, len(seen))
	}
	if status, m := page("/v1.0/users?$top=1000", nil); status != 400 ||
		m["error"].(map[string]any)["message"] != "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive." {
		t.Fatalf("$top=1000: %d %v", status, m)
	}
	if status, m := page("/v1.0/users?$top=999", nil); status != 200 || len(m["value"].([]any)) != 230 || m["@odata.nextLink"] != nil {
		t.Fatalf("$top=999: %d", status)
	}

	// eq needs no advanced query; endswith does.
	eq := "/v1.0/users?$filter=" + url.QueryEscape("userPrincipalName eq 'U007@contoso.onmicrosoft.com'")
	if status, m := page(eq, nil); status != 200 || len(m["value"].([]any)) != 1 {
		t.Fatalf("eq: %d %v", status, m)
	}
	ends := "/v1.0/users?$top=999&$filter=" + url.QueryEscape("endswith(userPrincipalName,'@example.com')")
	status, m := page(ends, nil)
	if e, _ := m["error"].(map[string]any); status != 400 || e["code"] != "Request_UnsupportedQuery" ||
		!strings.HasPrefix(e["message"].(string), "Operator 'endsWith' is not supported") {
		t.Fatalf("endswith without ConsistencyLevel: %d %v", status, m)
	}
	status, m = page(ends+"&$count=true", map[string]string{"ConsistencyLevel": "eventual"})
	if status != 200 || len(m["value"].([]any)) != 115 || m["@odata.count"] != float64(115) {
		t.Fatalf("endswith: %d count=%v n=%d", status, m["@odata.count"], len(m["value"].([]any)))
	}
	for _, v := range m["value"].([]any) {
		if !strings.HasSuffix(v.(map[string]any)["userPrincipalName"].(string), "@example.com") {
			t.Fatalf("endswith returned %v", v)
		}
	}
	if status, _ := page("/v1.0/users?$count=true", nil); status != 400 {
		t.Fatalf("$count without ConsistencyLevel: %d", status)
	}
	in := "/v1.0/users?$filter=" + url.QueryEscape("userPrincipalName in ('u000@example.com','u001@contoso.onmicrosoft.com','x@y.z') and accountEnabled eq true")
	if status, m := page(in, nil); status != 200 || len(m["value"].([]any)) != 2 {
		t.Fatalf("in: %d %v", status, m)
	}
	if status, _ := page("/v1.0/users?$filter="+url.QueryEscape("userPrincipalName eq"), nil); status != 400 {
		t.Fatalf("broken filter: %d", status)
	}
}

func TestAssignLicenseSeats(t *testing.T) {
	sd := usersSeed()
	sd.SKUs = []SKU{{SkuID: SkuExchangeStandard, SkuPartNumber: "EXCHANGESTANDARD", Enabled: 2, Consumed: 0,
		ServicePlans: []ServicePlan{{ServicePlanID: "9aaf7827-d63c-4b61-89c3-182f06f82e5c", ServicePlanName: "EXCHANGE_S_STANDARD"}}},
		{SkuID: SkuWindowsStore, SkuPartNumber: "WINDOWS_STORE", AppliesTo: "Company", Enabled: 100}}
	f := newFixture(t, Options{Seed: sd})
	tok := f.graphToken()
	consumed := func() int {
		_, b := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)
		for _, v := range decodeJSON(t, b)["value"].([]any) {
			if m := v.(map[string]any); m["skuId"] == SkuExchangeStandard {
				return int(m["consumedUnits"].(float64))
			}
		}
		t.Fatal("sku missing")
		return -1
	}
	add := func(sku string) map[string]any {
		return map[string]any{"addLicenses": []any{map[string]any{"skuId": sku, "disabledPlans": []string{}}}, "removeLicenses": []string{}}
	}
	assign := func(who string, body map[string]any) (int, string, string, map[string]any) {
		resp, b := f.graph(http.MethodPost, "/v1.0/users/"+url.PathEscape(who)+"/assignLicense", tok, body, nil)
		if resp.StatusCode >= 400 {
			code, msg := graphErr(t, b)
			return resp.StatusCode, code, msg, nil
		}
		return resp.StatusCode, "", "", decodeJSON(t, b)
	}

	a := f.createUser(tok, newUserBody("a@example.com"))
	if st, code, msg, _ := assign("a@example.com", add(SkuExchangeStandard)); st != 400 || code != "Request_BadRequest" || msg != msgNoUsageLocation {
		t.Fatalf("no usage location: %d %s %s", st, code, msg)
	}
	f.graph(http.MethodPatch, "/v1.0/users/"+a["id"].(string), tok, map[string]any{"usageLocation": "CN"}, nil)
	st, _, msg, user := assign(a["id"].(string), add(SkuExchangeStandard))
	if st != 200 || consumed() != 1 || user["mail"] != "a@example.com" {
		t.Fatalf("assign: %d %s %v consumed=%d", st, msg, user, consumed())
	}
	// Same SKU again with a disabled plan: no second seat.
	again := map[string]any{"addLicenses": []any{map[string]any{"skuId": SkuExchangeStandard,
		"disabledPlans": []string{"9aaf7827-d63c-4b61-89c3-182f06f82e5c"}}}, "removeLicenses": []string{}}
	if st, _, msg, _ := assign("a@example.com", again); st != 200 || consumed() != 1 {
		t.Fatalf("re-assign: %d %s consumed=%d", st, msg, consumed())
	}
	f.createUser(tok, with(newUserBody("b@example.com"), "usageLocation", "CN"))
	c := f.createUser(tok, with(newUserBody("c@example.com"), "usageLocation", "CN"))
	if st, _, _, _ := assign("b@example.com", add(SkuExchangeStandard)); st != 200 || consumed() != 2 {
		t.Fatalf("second seat: %d", st)
	}
	st, code, msg, _ := assign("c@example.com", add(SkuExchangeStandard))
	if st != 400 || code != "Request_BadRequest" || msg != "Subscription with SKU "+SkuExchangeStandard+" does not have any available licenses." {
		t.Fatalf("no seats: %d %s %s", st, code, msg)
	}
	if st, _, _, _ := assign("c@example.com", add("00000000-0000-0000-0000-000000000001")); st != 400 {
		t.Fatalf("unknown sku: %d", st)
	}
	if st, _, _, _ := assign("c@example.com", add(SkuWindowsStore)); st != 400 {
		t.Fatalf("company sku: %d", st)
	}
	if st, _, msg, _ := assign("c@example.com", map[string]any{"addLicenses": []any{}, "removeLicenses": []string{SkuExchangeStandard}}); st != 400 || msg != "User does not have a corresponding license." {
		t.Fatalf("remove unassigned: %d %s", st, msg)
	}
	if st, _, _, _ := assign("c@example.com", map[string]any{"addLicenses": []any{}}); st != 400 {
		t.Fatalf("missing removeLicenses: %d", st)
	}
	// Removing frees the seat; deleting frees it too; restoring takes it back.
	if st, _, _, _ := assign("b@example.com", map[string]any{"addLicenses": []any{}, "removeLicenses": []string{SkuExchangeStandard}}); st != 200 || consumed() != 1 {
		t.Fatalf("remove: %d consumed=%d", st, consumed())
	}
	if st, _, _, _ := assign(c["id"].(string), add(SkuExchangeStandard)); st != 200 || consumed() != 2 {
		t.Fatalf("freed seat: %d", st)
	}
	if resp, _ := f.graph(http.MethodDelete, "/v1.0/users/c@example.com", tok, nil, nil); resp.StatusCode != 204 || consumed() != 1 {
		t.Fatalf("delete: %d consumed=%d", resp.StatusCode, consumed())
	}
	resp, b := f.graph(http.MethodPost, "/v1.0/directory/deletedItems/"+c["id"].(string)+"/restore", tok, nil, nil)
	if got := decodeJSON(t, b); resp.StatusCode != 200 || got["@odata.type"] != "#microsoft.graph.user" || consumed() != 2 {
		t.Fatalf("restore: %d %s consumed=%d", resp.StatusCode, b, consumed())
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/users/c@example.com", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("restored user: %d", resp.StatusCode)
	}
}

func TestUserSoftDeleteAndDeletedItems(t *testing.T) {
	f := newFixture(t, Options{Seed: usersSeed()})
	tok := f.graphToken()
	u := f.createUser(tok, newUserBody("lee@example.com"))
	id := u["id"].(string)
	if resp, _ := f.graph(http.MethodDelete, "/v1.0/users/lee@example.com", tok, nil, nil); resp.StatusCode != 204 {
		t.Fatal("delete")
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/users/"+id, tok, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("deleted user readable: %d", resp.StatusCode)
	}
	if resp, _ := f.graph(http.MethodDelete, "/v1.0/users/"+id, tok, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("second delete: %d", resp.StatusCode)
	}
	resp, b := f.graph(http.MethodGet, "/v1.0/directory/deletedItems/microsoft.graph.user", tok, nil, nil)
	list := decodeJSON(t, b)["value"].([]any)
	if resp.StatusCode != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != id || list[0].(map[string]any)["deletedDateTime"] == nil {
		t.Fatalf("deleted items: %d %s", resp.StatusCode, b)
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/directory/deletedItems/"+id, tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("get deleted item: %d", resp.StatusCode)
	}
	// The UPN stays reserved until the item is purged.
	if resp, _ := f.graph(http.MethodPost, "/v1.0/users", tok, newUserBody("lee@example.com"), nil); resp.StatusCode != 400 {
		t.Fatalf("re-create while soft-deleted: %d", resp.StatusCode)
	}
	if resp, _ := f.graph(http.MethodDelete, "/v1.0/directory/deletedItems/"+id, tok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("purge: %d", resp.StatusCode)
	}
	if resp, _ := f.graph(http.MethodPost, "/v1.0/directory/deletedItems/"+id+"/restore", tok, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("restore purged: %d", resp.StatusCode)
	}
	f.createUser(tok, newUserBody("lee@example.com"))
}

func TestUserLagBatchAndDomainReferences(t *testing.T) {
	f := newFixture(t, Options{Seed: usersSeed(), Knobs: Knobs{ReadAfterWriteLag: 300 * time.Millisecond}})
	tok := f.graphToken()
	u := f.createUser(tok, with(newUserBody("kim@example.com"), "usageLocation", "CN"))
	id := u["id"].(string)
	if resp, _ := f.graph(http.MethodGet, "/v1.0/users/"+id, tok, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("lagging user readable: %d", resp.StatusCode)
	}
	_, b := f.graph(http.MethodGet, "/v1.0/users", tok, nil, nil)
	if n := len(decodeJSON(t, b)["value"].([]any)); n != 0 {
		t.Fatalf("lagging user listed")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := f.graph(http.MethodGet, "/v1.0/users/"+id, tok, nil, nil)
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("user never became readable")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// $batch: a create and its licence by UPN, dependsOn; both are writes.
	f.s.SetKnobs(Knobs{})
	f.s.ResetStats()
	reqs := []map[string]any{
		{"id": "c", "method": "POST", "url": "/users", "headers": map[string]string{"Content-Type": "application/json"},
			"body": with(newUserBody("ann@example.com"), "usageLocation", "CN")},
		{"id": "l", "method": "POST", "url": "/users/ann@example.com/assignLicense", "dependsOn": []string{"c"},
			"headers": map[string]string{"Content-Type": "application/json"},
			"body":    map[string]any{"addLicenses": []any{map[string]any{"skuId": SkuBusinessPremium, "disabledPlans": []string{}}}, "removeLicenses": []string{}}},
	}
	resp, b, out := f.batch(tok, reqs, nil)
	if resp.StatusCode != 200 || len(out.Responses) != 2 {
		t.Fatalf("batch: %d %s", resp.StatusCode, b)
	}
	for _, r := range out.Responses {
		if (r.ID == "c" && r.Status != 201) || (r.ID == "l" && r.Status != 200) {
			t.Fatalf("batch %s: %d %s", r.ID, r.Status, r.Body)
		}
	}
	if st := f.s.Stats(); st.Graph.Writes != 2 {
		t.Fatalf("writes %d", st.Graph.Writes)
	}

	// Users are references of their domain: /domains/{id}/domainNameReferences lists them and
	// forceDelete renames them to the initial domain.
	resp, b = f.graph(http.MethodGet, "/v1.0/domains/example.com/domainNameReferences", tok, nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "kim@example.com") || !strings.Contains(string(b), "ann@example.com") {
		t.Fatalf("references: %d %s", resp.StatusCode, b)
	}
	if resp, _ := f.graph(http.MethodDelete, "/v1.0/domains/example.com", tok, nil, nil); resp.StatusCode != 400 {
		t.Fatalf("delete a domain in use: %d", resp.StatusCode)
	}
	if resp, b := f.graph(http.MethodPost, "/v1.0/domains/example.com/forceDelete", tok, map[string]any{"disableUserAccounts": true}, nil); resp.StatusCode != 204 {
		t.Fatalf("forceDelete: %d %s", resp.StatusCode, b)
	}
	for _, u := range f.s.Users() {
		if !strings.HasSuffix(u.UserPrincipalName, "@contoso.onmicrosoft.com") || u.AccountEnabled {
			t.Fatalf("after forceDelete: %s enabled=%v", u.UserPrincipalName, u.AccountEnabled)
		}
	}
}

func TestThrottleLimitPercentageAndStrictBatches(t *testing.T) {
	f := newFixture(t, Options{Seed: usersSeed(), Knobs: Knobs{WriteQuota: 10, WriteWindow: time.Minute}})
	tok := f.graphToken()
	var got []string
	for i := 0; i < 10; i++ {
		resp, b := f.graph(http.MethodPost, "/v1.0/users", tok, newUserBody(fmt.Sprintf("p%d@example.com", i)), nil)
		if resp.StatusCode != 201 {
			t.Fatalf("write %d: %d %s", i, resp.StatusCode, b)
		}
		got = append(got, resp.Header.Get("x-ms-throttle-limit-percentage"))
	}
	if want := ",,,,,,,,0.9,1.0"; strings.Join(got, ",") != want {
		t.Fatalf("x-ms-throttle-limit-percentage per write: %q, want %q", strings.Join(got, ","), want)
	}

	f.s.SetKnobs(Knobs{StrictBatchDependencies: true})
	get := func(id string, dep ...string) map[string]any {
		r := map[string]any{"id": id, "method": "GET", "url": "/subscribedSkus"}
		if len(dep) > 0 {
			r["dependsOn"] = dep
		}
		return r
	}
	for _, c := range []struct {
		name string
		reqs []map[string]any
		ok   bool
	}{
		{"parallel", []map[string]any{get("1"), get("2"), get("3")}, true},
		{"sequential", []map[string]any{get("1"), get("2", "1"), get("3", "2")}, true},
		{"same", []map[string]any{get("1"), get("2", "1"), get("3", "1")}, true},
		{"pairs", []map[string]any{get("1"), get("2", "1"), get("3"), get("4", "3")}, false},
		{"two dependencies", []map[string]any{get("1"), get("2"), get("3", "1", "2")}, false},
	} {
		resp, b, _ := f.batch(tok, c.reqs, nil)
		if c.ok != (resp.StatusCode == 200) {
			t.Fatalf("%s: %d %s", c.name, resp.StatusCode, b)
		}
		if !c.ok {
			if _, msg := graphErr(t, b); msg != "Batch should be either fully sequential or fully parallel" {
				t.Fatalf("%s: %s", c.name, msg)
			}
		}
	}
}

func TestSeedUsers(t *testing.T) {
	sd := usersSeed()
	off := false
	sd.Users = []SeedUser{
		{User: User{UserPrincipalName: "seeded@example.com", UsageLocation: "CN",
			AssignedLicenses: []AssignedLicense{{SkuID: strings.ToUpper(SkuBusinessPremium)}}}, Password: testPassword},
		{User: User{UserPrincipalName: "off@example.com"}, AccountEnabled: &off},
	}
	dir := t.TempDir()
	f := newFixture(t, Options{Seed: sd, StateFile: filepath.Join(dir, "s.json")})
	users := f.s.Users()
	if len(users) != 2 || users[1].UserPrincipalName != "seeded@example.com" || !users[1].AccountEnabled || users[0].AccountEnabled ||
		users[1].DisplayName != "seeded" || users[1].MailNickname != "seeded" || users[1].AssignedLicenses[0].SkuID != SkuBusinessPremium {
		t.Fatalf("seeded users %+v", users)
	}
	if !f.s.CheckUserPassword("seeded@example.com", testPassword) {
		t.Fatal("seeded password")
	}
	tok := f.graphToken()
	_, b := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)
	var skus struct {
		Value []struct {
			SkuID    string `json:"skuId"`
			Consumed int    `json:"consumedUnits"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &skus); err != nil {
		t.Fatal(err)
	}
	for _, k := range skus.Value {
		if k.SkuID == SkuBusinessPremium && k.Consumed != 4 { // 3 in the default seed + 1 seeded user
			t.Fatalf("consumed %d", k.Consumed)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "s.json"))
	if strings.Contains(string(raw), testPassword) {
		t.Fatal("seed password in the state file")
	}
	bad := usersSeed()
	bad.Users = []SeedUser{{User: User{UserPrincipalName: "x@example.com", AssignedLicenses: []AssignedLicense{{SkuID: "00000000-0000-0000-0000-000000000009"}}}}}
	if _, err := Start(Options{Seed: bad}); err == nil || !strings.Contains(err.Error(), "not a SKU") {
		t.Fatalf("seed with an unknown SKU: %v", err)
	}
}

// listed returns the UPNs a GET /users answer lists, and its @odata.count (-1 when absent).
func (f *fixture) listed(tok string, advanced bool) ([]string, int) {
	f.t.Helper()
	path := "/v1.0/users?$select=id,userPrincipalName,deletedDateTime"
	var hdr map[string]string
	if advanced {
		path = "/v1.0/users?$filter=" + url.QueryEscape("endswith(userPrincipalName,'@example.com')") + "&$count=true&$select=id,userPrincipalName,deletedDateTime"
		hdr = map[string]string{"ConsistencyLevel": "eventual"}
	}
	resp, b := f.graph(http.MethodGet, path, tok, nil, hdr)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("list users: %d %s", resp.StatusCode, b)
	}
	m := decodeJSON(f.t, b)
	var upns []string
	for _, v := range m["value"].([]any) {
		u := v.(map[string]any)
		if u["deletedDateTime"] != nil {
			f.t.Fatalf("a listed user carries deletedDateTime: %v", u)
		}
		upns = append(upns, u["userPrincipalName"].(string))
	}
	count := -1
	if c, ok := m["@odata.count"].(float64); ok {
		count = int(c)
	}
	return upns, count
}

func TestUserListLagOnlyInAdvancedQueries(t *testing.T) {
	const lag = 600 * time.Millisecond
	f := newFixture(t, Options{Seed: usersSeed(), Knobs: Knobs{ListLag: lag}})
	tok := f.graphToken()
	old := f.createUser(tok, newUserBody("old@example.com"))
	time.Sleep(lag) // old is indexed from now on
	created := time.Now()
	fresh := f.createUser(tok, newUserBody("new@example.com"))

	// A new user: missing from the advanced query (and its count), present everywhere else.
	if got, n := f.listed(tok, true); !slices.Equal(got, []string{"old@example.com"}) || n != 1 {
		t.Fatalf("advanced query right after the create lists %v (count %d), want only old@example.com", got, n)
	}
	if got, _ := f.listed(tok, false); len(got) != 2 {
		t.Fatalf("a plain list must not lag: %v", got)
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/users/"+fresh["id"].(string), tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET by id must not lag with list_lag alone: %d", resp.StatusCode)
	}

	// A deleted user: still in the advanced query, as it was; gone everywhere else.
	if resp, b := f.graph(http.MethodDelete, "/v1.0/users/"+old["id"].(string), tok, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	deleted := time.Now()
	if got, _ := f.listed(tok, true); !slices.Contains(got, "old@example.com") {
		t.Fatalf("advanced query right after the delete lists %v, want old@example.com still there", got)
	}
	if got, _ := f.listed(tok, false); slices.Contains(got, "old@example.com") {
		t.Fatalf("a plain list still lists the deleted user: %v", got)
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/users/"+old["id"].(string), tok, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET of the deleted user: %d, want 404", resp.StatusCode)
	}
	// Purged (hard-deleted): the index still has it until the lag has passed.
	if resp, b := f.graph(http.MethodDelete, "/v1.0/directory/deletedItems/"+old["id"].(string), tok, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("purge: %d %s", resp.StatusCode, b)
	}
	if got, _ := f.listed(tok, true); time.Since(deleted) < lag && !slices.Contains(got, "old@example.com") {
		t.Fatalf("advanced query right after the purge lists %v, want old@example.com still there", got)
	}

	// After the lag the index agrees.
	time.Sleep(time.Until(maxTime(created, deleted).Add(lag)))
	if got, n := f.listed(tok, true); !slices.Equal(got, []string{"new@example.com"}) || n != 1 {
		t.Fatalf("advanced query after the lag lists %v (count %d), want only new@example.com", got, n)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
