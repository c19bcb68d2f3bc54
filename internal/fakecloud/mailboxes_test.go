package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// exoPlanID is EXCHANGE_S_STANDARD, the Exchange Online plan of the default SKUs.
const exoPlanID = "9aaf7827-d63c-4b61-89c3-182f06f82e5c"

// mailboxFixture: a tenant with example.com verified, Graph and Exchange tokens.
type mailboxFixture struct {
	*fixture
	gtok, xtok string
}

func newMailboxFixture(t *testing.T, k Knobs, users ...SeedUser) *mailboxFixture {
	t.Helper()
	sd := usersSeed()
	sd.Users = users
	f := newFixture(t, Options{Seed: sd, Knobs: k})
	return &mailboxFixture{fixture: f, gtok: f.graphToken(), xtok: f.exchangeToken()}
}

// licensed is a seed user on example.com with an Exchange Online licence (a mailbox from the start).
func licensed(local string) SeedUser {
	return SeedUser{User: User{UserPrincipalName: local + "@example.com", UsageLocation: "CN",
		AssignedLicenses: []AssignedLicense{{SkuID: SkuExchangeStandard}}}}
}

// unlicensed is a seed user without any licence.
func unlicensed(local string) SeedUser {
	return SeedUser{User: User{UserPrincipalName: local + "@example.com", UsageLocation: "CN"}}
}

// license assigns (sku != "") or removes (remove != "") a licence through Graph.
func (f *mailboxFixture) license(upn, add, remove string) {
	f.t.Helper()
	body := map[string]any{"addLicenses": []any{}, "removeLicenses": []string{}}
	if add != "" {
		body["addLicenses"] = []any{map[string]any{"skuId": add, "disabledPlans": []string{}}}
	}
	if remove != "" {
		body["removeLicenses"] = []string{remove}
	}
	resp, b := f.graph(http.MethodPost, "/v1.0/users/"+upn+"/assignLicense", f.gtok, body, nil)
	if resp.StatusCode != 200 {
		f.t.Fatalf("assignLicense %s: %d %s", upn, resp.StatusCode, b)
	}
}

func (f *mailboxFixture) exo(cmdlet string, params map[string]any, hdr map[string]string) (int, exoAnswer, []byte) {
	f.t.Helper()
	resp, b := f.invoke("", f.xtok, cmdlet, params, hdr)
	if resp.StatusCode != 200 {
		return resp.StatusCode, exoAnswer{}, b
	}
	return 200, decodeExo(f.t, b), b
}

func (f *mailboxFixture) mustExo(cmdlet string, params map[string]any) exoAnswer {
	f.t.Helper()
	status, a, b := f.exo(cmdlet, params, nil)
	if status != 200 {
		f.t.Fatalf("%s %v: %d %s", cmdlet, params, status, b)
	}
	return a
}

// exoError checks a failed cmdlet's status and returns the pipe form's text and exception type.
func (f *mailboxFixture) exoError(status int, cmdlet string, params map[string]any) (string, string) {
	f.t.Helper()
	got, _, b := f.exo(cmdlet, params, nil)
	if got != status {
		f.t.Fatalf("%s %v: want %d, got %d %s", cmdlet, params, status, got, b)
	}
	_, detail, typ := exoDetail(f.t, b)
	parts := strings.SplitN(detail, "|", 3)
	if len(parts) != 3 {
		f.t.Fatalf("detail not in pipe form: %q", detail)
	}
	return parts[2], typ
}

// TestMailboxProvisioningDelay: after licensing, the user is a "User" with no mailbox for the
// delay plus its jitter, then a UserMailbox shaped like the service's; Graph mailboxSettings follows.
func TestMailboxProvisioningDelay(t *testing.T) {
	const delay, jitter = 400 * time.Millisecond, 300 * time.Millisecond
	f := newMailboxFixture(t, Knobs{MailboxProvisionDelay: delay, MailboxProvisionJitter: jitter}, unlicensed("li.lei"))
	upn := "li.lei@example.com"
	var id string
	for _, u := range f.s.Users() {
		id = u.ID
	}

	before := time.Now()
	f.license(upn, SkuExchangeStandard, "")
	after := time.Now()

	u := f.mustExo("Get-User", map[string]any{"Identity": upn}).Value[0]
	if u["RecipientTypeDetails"] != "User" || u["ExternalDirectoryObjectId"] != id || u["UserPrincipalName"] != upn {
		t.Fatalf("Get-User while provisioning: %v", u)
	}
	text, typ := f.exoError(404, "Get-Mailbox", map[string]any{"Identity": upn})
	if typ != ManagementObjectNotFound || !strings.Contains(text, "'"+upn+"' couldn't be found") {
		t.Fatalf("Get-Mailbox while provisioning: %s %s", text, typ)
	}
	f.exoError(404, "Get-Recipient", map[string]any{"Identity": id})
	if a := f.mustExo("Get-Mailbox", map[string]any{"ResultSize": "Unlimited"}); len(a.Value) != 0 {
		t.Fatalf("Get-Mailbox lists a provisioning mailbox: %v", a.Value)
	}
	resp, b := f.graph(http.MethodGet, "/v1.0/users/"+upn+"/mailboxSettings", f.gtok, nil, nil)
	if code, msg := graphErr(t, b); resp.StatusCode != 404 || code != "MailboxNotEnabledForRESTAPI" ||
		msg != "The mailbox is either inactive, soft-deleted, or is hosted on-premise." {
		t.Fatalf("mailboxSettings while provisioning: %d %s", resp.StatusCode, b)
	}
	if _, ok := f.s.MailboxReadyAt(upn); ok {
		t.Fatal("MailboxReadyAt reports a mailbox still provisioning")
	}
	adminReady := func() map[string]time.Time {
		t.Helper()
		resp, b := f.graph(http.MethodGet, "/_fake/mailboxes", "", nil, nil)
		var m map[string]time.Time
		if err := json.Unmarshal(b, &m); resp.StatusCode != 200 || err != nil {
			t.Fatalf("GET /_fake/mailboxes: %d %s %v", resp.StatusCode, b, err)
		}
		return m
	}
	if m := adminReady(); len(m) != 0 {
		t.Fatalf("GET /_fake/mailboxes lists a mailbox still provisioning: %v", m)
	}

	var ready time.Time
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if at, ok := f.s.MailboxReadyAt(id); ok {
			ready = at
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mailbox never became ready")
		}
	}
	if m := adminReady(); len(m) != 1 || !m[upn].Equal(ready) {
		t.Fatalf("GET /_fake/mailboxes: %v, want %s: %s", m, upn, ready)
	}
	if ready.Before(before.Add(delay)) || ready.After(after.Add(delay+jitter)) {
		t.Fatalf("ready at %s, licensed between %s and %s", ready, before, after)
	}
	want := before.Add(delay).Add(mustDelay(t, Knobs{MailboxProvisionDelay: 0, MailboxProvisionJitter: jitter}, id))
	if d := ready.Sub(want); d < 0 || d > after.Sub(before) {
		t.Fatalf("ready at %s, want licence time + %s + the user's jitter", ready, delay)
	}

	if u := f.mustExo("get-user", map[string]any{"Identity": upn}).Value[0]; u["RecipientTypeDetails"] != "UserMailbox" {
		t.Fatalf("Get-User once provisioned: %v", u)
	}
	m := f.mustExo("Get-Mailbox", map[string]any{"Identity": upn}).Value[0]
	addrs, _ := m["EmailAddresses"].([]any)
	if m["RecipientTypeDetails"] != "UserMailbox" || m["PrimarySmtpAddress"] != upn || m["WindowsEmailAddress"] != upn ||
		m["UserPrincipalName"] != upn || m["ExternalDirectoryObjectId"] != id || m["Alias"] != "li.lei" ||
		m["EmailAddresses@odata.type"] != "#Collection(String)" || m["Guid@odata.type"] != "#Guid" ||
		len(addrs) != 2 || addrs[0] != "SMTP:"+upn || addrs[1] != "smtp:li.lei@contoso.onmicrosoft.com" ||
		m["WhenMailboxCreated"] != exoTime(ready, false) || m["ProhibitSendQuota"] != "99 GB (106,300,440,576 bytes)" {
		t.Fatalf("Get-Mailbox: %v", m)
	}
	// Every documented identity form finds it.
	for _, ident := range []any{id, m["Guid"], "li.lei", "LI.LEI@example.com", "smtp:li.lei@contoso.onmicrosoft.com",
		"li.lei@contoso.onmicrosoft.com"} {
		if a := f.mustExo("Get-Recipient", map[string]any{"Identity": ident}); len(a.Value) != 1 || a.Value[0]["Identity"] != id {
			t.Fatalf("Get-Recipient -Identity %v: %v", ident, a.Value)
		}
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/users/"+id+"/mailboxSettings", f.gtok, nil, nil)
	if s := decodeJSON(t, b); resp.StatusCode != 200 || s["timeZone"] == nil ||
		!strings.HasSuffix(s["@odata.context"].(string), "/mailboxSettings") {
		t.Fatalf("mailboxSettings once provisioned: %d %s", resp.StatusCode, b)
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/users/nobody@example.com/mailboxSettings", f.gtok, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("mailboxSettings of no user: %d", resp.StatusCode)
	}
}

func mustDelay(t *testing.T, k Knobs, id string) time.Duration {
	t.Helper()
	d, ok := mailboxDelay(k, id)
	if !ok {
		t.Fatal("never")
	}
	return d
}

// TestMailboxJitterIsPerUser: the jitter is stable for a user, in [0, jitter), and spreads users.
func TestMailboxJitterIsPerUser(t *testing.T) {
	k := Knobs{MailboxProvisionDelay: time.Second, MailboxProvisionJitter: time.Second}
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		id := derivedGUID("tenant", "user", fmt.Sprint(i))
		d := mustDelay(t, k, id)
		if d < time.Second || d >= 2*time.Second || d != mustDelay(t, k, strings.ToUpper(id)) {
			t.Fatalf("user %d: %s", i, d)
		}
		seen[d] = true
	}
	if len(seen) < 45 {
		t.Fatalf("only %d distinct delays for 50 users", len(seen))
	}
	if _, ok := mailboxDelay(Knobs{MailboxProvisionDelay: -1}, "x"); ok {
		t.Fatal("a negative delay must mean never")
	}
	if d := mustDelay(t, Knobs{}, "x"); d != 0 {
		t.Fatalf("zero knobs: %s", d)
	}
}

// TestMailboxNeverAndLicenceRemoval: a negative delay never provisions; removing the licence before
// the mailbox exists cancels it; after, the mailbox stays (grace period); seeded and restored users.
func TestMailboxNeverAndLicenceRemoval(t *testing.T) {
	f := newMailboxFixture(t, Knobs{MailboxProvisionDelay: -time.Second}, unlicensed("zhang.san"), licensed("wang.wu"))
	upn := "zhang.san@example.com"
	if err := f.s.CompleteMailboxProvisioning(upn); err == nil {
		t.Fatal("CompleteMailboxProvisioning of an unlicensed user must fail")
	}
	// A seeded licensed user has its mailbox from the start, whatever the knobs.
	if _, ok := f.s.MailboxReadyAt("wang.wu@example.com"); !ok {
		t.Fatal("seeded licensed user has no mailbox")
	}
	f.license(upn, SkuExchangeStandard, "")
	time.Sleep(100 * time.Millisecond)
	if _, ok := f.s.MailboxReadyAt(upn); ok {
		t.Fatal("a negative delay provisioned the mailbox")
	}
	// Removing the licence cancels the provisioning: forcing it then fails.
	f.license(upn, "", SkuExchangeStandard)
	if err := f.s.CompleteMailboxProvisioning(upn); err == nil {
		t.Fatal("provisioning survived the removal of the licence")
	}
	// A licence whose Exchange plan is disabled starts nothing.
	resp, b := f.graph(http.MethodPost, "/v1.0/users/"+upn+"/assignLicense", f.gtok, map[string]any{
		"addLicenses": []any{map[string]any{"skuId": SkuBusinessPremium, "disabledPlans": []string{exoPlanID}}}, "removeLicenses": []string{}}, nil)
	if resp.StatusCode != 200 || f.s.CompleteMailboxProvisioning(upn) == nil {
		t.Fatalf("disabled Exchange plan: %d %s", resp.StatusCode, b)
	}
	f.license(upn, "", SkuBusinessPremium)
	f.license(upn, SkuExchangeStandard, "")
	if err := f.s.CompleteMailboxProvisioning(upn); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.s.MailboxReadyAt(upn); !ok {
		t.Fatal("CompleteMailboxProvisioning did not make the mailbox")
	}
	// Once it exists, losing the licence keeps it (30-day grace in the service; never ends here).
	f.license(upn, "", SkuExchangeStandard)
	if a := f.mustExo("Get-Mailbox", map[string]any{"Identity": upn}); len(a.Value) != 1 {
		t.Fatalf("mailbox gone with its licence: %v", a.Value)
	}
	// A deleted user's mailbox disappears, and comes back with the user.
	if resp, _ := f.graph(http.MethodDelete, "/v1.0/users/"+upn, f.gtok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	f.exoError(404, "Get-Mailbox", map[string]any{"Identity": upn})
	f.exoError(404, "Get-User", map[string]any{"Identity": upn})
	var id string
	for _, u := range f.s.Users() {
		if u.UserPrincipalName == upn {
			id = u.ID
		}
	}
	if resp, b := f.graph(http.MethodPost, "/v1.0/directory/deletedItems/"+id+"/restore", f.gtok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("restore: %d %s", resp.StatusCode, b)
	}
	if a := f.mustExo("Get-Mailbox", map[string]any{"Identity": upn}); len(a.Value) != 1 {
		t.Fatalf("mailbox not back with its user: %v", a.Value)
	}
}

// TestRecipientFiltersAndPaging: -Filter, -RecipientTypeDetails, -ResultSize, paging, $select.
func TestRecipientFiltersAndPaging(t *testing.T) {
	var seed []SeedUser
	for i := 0; i < 5; i++ {
		seed = append(seed, licensed(fmt.Sprintf("m%d", i)))
	}
	seed = append(seed, unlicensed("plain"))
	f := newMailboxFixture(t, Knobs{}, seed...)
	idOf := map[string]string{}
	for _, u := range f.s.Users() {
		idOf[u.UserPrincipalName] = u.ID
	}
	m2 := idOf["m2@example.com"]

	if a := f.mustExo("Get-User", nil); len(a.Value) != 6 {
		t.Fatalf("Get-User: %d users", len(a.Value))
	}
	for _, c := range []struct {
		cmdlet string
		params map[string]any
		want   int
	}{
		{"Get-User", map[string]any{"RecipientTypeDetails": "User"}, 1},
		{"Get-User", map[string]any{"RecipientTypeDetails": []string{"User", "UserMailbox"}}, 6},
		{"Get-User", map[string]any{"Filter": "RecipientTypeDetails -eq 'UserMailbox'"}, 5},
		{"Get-Mailbox", nil, 5},
		{"Get-Mailbox", map[string]any{"RecipientTypeDetails": "UserMailbox", "ResultSize": "Unlimited"}, 5},
		{"Get-Mailbox", map[string]any{"RecipientTypeDetails": []string{"SharedMailbox"}}, 0},
		{"Get-Mailbox", map[string]any{"Filter": "EmailAddresses -eq 'm1@example.com'"}, 1},
		{"Get-Mailbox", map[string]any{"Filter": "EmailAddresses -eq 'SMTP:M1@example.com'"}, 1},
		{"Get-Mailbox", map[string]any{"Filter": "EmailAddresses -eq 'm1@contoso.onmicrosoft.com'"}, 1},
		{"Get-Mailbox", map[string]any{"Filter": "emailaddresses -like 'smtp:*@contoso.onmicrosoft.com'"}, 5},
		{"Get-Mailbox", map[string]any{"Filter": "ExternalDirectoryObjectId -eq '" + m2 + "'"}, 1},
		{"Get-Mailbox", map[string]any{"Filter": "(UserPrincipalName -eq 'm0@example.com') -or (PrimarySmtpAddress -eq 'm3@example.com')"}, 2},
		{"Get-Mailbox", map[string]any{"Filter": "RecipientTypeDetails -eq 'UserMailbox' -and -not (Alias -eq 'm4')"}, 4},
		{"Get-Mailbox", map[string]any{"Filter": "UserPrincipalName -ne 'm0@example.com' -and (Alias -eq 'm1' -or Alias -eq \"m2\")"}, 2},
		{"Get-Recipient", map[string]any{"RecipientTypeDetails": "UserMailbox", "Filter": "ExternalDirectoryObjectId -eq '" + m2 + "'"}, 1},
		{"Get-Recipient", map[string]any{"Filter": "EmailAddresses -eq 'plain@example.com'"}, 0},
		{"Get-Mailbox", map[string]any{"ResultSize": 3}, 3},
	} {
		a := f.mustExo(c.cmdlet, c.params)
		if len(a.Value) != c.want {
			t.Errorf("%s %v: %d objects, want %d", c.cmdlet, c.params, len(a.Value), c.want)
		}
		if c.want == 3 && (len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "increase the value for the ResultSize")) {
			t.Errorf("ResultSize 3: warnings %v", a.Warnings)
		}
	}
	for _, bad := range []string{"EmailAddresses -eq", "(Alias -eq 'm1'", "Alias -gt 'm1'", "Alias -eq 'm1' -and", "'m1'", "Alias -eq 'unterminated"} {
		if text, typ := f.exoError(400, "Get-Mailbox", map[string]any{"Filter": bad}); !strings.Contains(text, "Invalid filter syntax") ||
			!strings.HasSuffix(typ, "ParameterBindingException") {
			t.Errorf("filter %q: %s %s", bad, text, typ)
		}
	}
	if text, _ := f.exoError(400, "Get-Mailbox", map[string]any{"Filter": "Colour -eq 'red'"}); !strings.Contains(text, "'Colour' is not a recognized filterable property") {
		t.Errorf("unknown property: %s", text)
	}
	if text, _ := f.exoError(400, "Get-Mailbox", map[string]any{"RecipientTypeDetails": "Mailboxes"}); !strings.Contains(text, "RecipientTypeDetails") {
		t.Errorf("bad RecipientTypeDetails: %s", text)
	}
	f.exoError(400, "Get-Mailbox", map[string]any{"ResultSize": "lots"})
	f.exoError(400, "Get-Mailbox", map[string]any{"Anr": "m1"})

	// Paging: pages of 2 with Prefer, the same body posted to @odata.nextLink, which keeps $select.
	sel := "?$select=PrimarySmtpAddress,ExternalDirectoryObjectId,EmailAddresses,RecipientTypeDetails"
	url := f.invokeURL() + sel
	var got []string
	params := map[string]any{"RecipientTypeDetails": "UserMailbox", "ResultSize": "Unlimited"}
	for pages := 0; url != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		resp, b := f.invoke(url, f.xtok, "Get-Mailbox", params, map[string]string{"Prefer": "odata.maxpagesize=2"})
		if resp.StatusCode != 200 {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, b)
		}
		a := decodeExo(t, b)
		for _, o := range a.Value {
			if len(o) != 5 || o["EmailAddresses@odata.type"] == nil || o["Alias"] != nil {
				t.Fatalf("$select: %v", o)
			}
			got = append(got, o["PrimarySmtpAddress"].(string))
		}
		url = a.NextLink
		if url != "" && !strings.Contains(url, "select=") {
			t.Fatalf("nextLink lost $select: %s", url)
		}
	}
	if len(got) != 5 {
		t.Fatalf("paged: %v", got)
	}
}

// TestGetMailboxDefaultResultSize: without -ResultSize only 1000 mailboxes come back, with the
// service's warning; "Unlimited" returns all in two pages of 1000.
func TestGetMailboxDefaultResultSize(t *testing.T) {
	var seed []SeedUser
	for i := 0; i < 1003; i++ {
		seed = append(seed, licensed(fmt.Sprintf("u%04d", i)))
	}
	f := newMailboxFixture(t, Knobs{}, seed...)
	a := f.mustExo("Get-Mailbox", nil)
	if len(a.Value) != 1000 || a.NextLink != "" || len(a.Warnings) != 1 {
		t.Fatalf("default: %d objects, next %q, warnings %v", len(a.Value), a.NextLink, a.Warnings)
	}
	a = f.mustExo("Get-Mailbox", map[string]any{"ResultSize": "Unlimited"})
	if len(a.Value) != 1000 || a.NextLink == "" || len(a.Warnings) != 0 {
		t.Fatalf("unlimited page 1: %d objects, next %q", len(a.Value), a.NextLink)
	}
	resp, b := f.invoke(a.NextLink, f.xtok, "Get-Mailbox", map[string]any{"ResultSize": "Unlimited"}, nil)
	if a2 := decodeExo(t, b); resp.StatusCode != 200 || len(a2.Value) != 3 || a2.NextLink != "" {
		t.Fatalf("unlimited page 2: %d %d", resp.StatusCode, len(a2.Value))
	}
}

// TestMailboxNeedsAMailPlan: EXCHANGE_S_FOUNDATION, which SKUs without mail carry, gives no mailbox.
func TestMailboxNeedsAMailPlan(t *testing.T) {
	const foundationSKU = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	sd := usersSeed()
	sd.SKUs = append(defaultSKUs(), SKU{SkuID: foundationSKU, SkuPartNumber: "TEAMS_EXPLORATORY", Enabled: 10,
		ServicePlans: []ServicePlan{{ServicePlanID: "113feb6c-3fe4-4440-bddc-54d774bf0318", ServicePlanName: "EXCHANGE_S_FOUNDATION"}}})
	sd.Users = []SeedUser{{User: User{UserPrincipalName: "f@example.com", UsageLocation: "CN",
		AssignedLicenses: []AssignedLicense{{SkuID: foundationSKU}}}}}
	f := &mailboxFixture{fixture: newFixture(t, Options{Seed: sd})}
	f.xtok = f.exchangeToken()
	if u := f.mustExo("Get-User", map[string]any{"Identity": "f@example.com"}).Value[0]; u["RecipientTypeDetails"] != "User" {
		t.Fatalf("foundation-only user: %v", u)
	}
	if err := f.s.CompleteMailboxProvisioning("f@example.com"); err == nil {
		t.Fatal("a foundation-only licence started a mailbox")
	}
}
