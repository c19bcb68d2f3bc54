package fakecloud

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
)

// objFixture is a tenant with contoso.com verified, other.com unverified and three users.
type objFixture struct {
	*fixture
	tok string
}

func newObjFixture(t *testing.T, env string, k Knobs) *objFixture {
	t.Helper()
	seed := DefaultSeed()
	seed.Environment = env
	seed.Domains = []SeedDomain{{ID: "contoso.com", IsVerified: true}, {ID: "other.com"}}
	for _, a := range []string{"li.lei@contoso.com", "han.meimei@contoso.com", "admin@contoso.com"} {
		// Licensed for Exchange Online: only a user with a mailbox is a recipient.
		seed.Users = append(seed.Users, SeedUser{User: User{UserPrincipalName: a, UsageLocation: "CN",
			AssignedLicenses: []AssignedLicense{{SkuID: SkuBusinessPremium}}}})
	}
	f := newFixture(t, Options{Seed: seed, Knobs: k})
	return &objFixture{fixture: f, tok: f.exchangeToken()}
}

func (f *objFixture) ok(cmdlet string, params map[string]any) []map[string]any {
	f.t.Helper()
	resp, b := f.invoke("", f.tok, cmdlet, params, nil)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s: %d %s", cmdlet, resp.StatusCode, b)
	}
	return decodeExo(f.t, b).Value
}

// fail runs a cmdlet that must fail with status; it returns the pipe-form text and exception.
func (f *objFixture) fail(status int, cmdlet string, params map[string]any) (string, string) {
	f.t.Helper()
	resp, b := f.invoke("", f.tok, cmdlet, params, nil)
	if resp.StatusCode != status {
		f.t.Fatalf("%s: want %d, got %d %s", cmdlet, status, resp.StatusCode, b)
	}
	_, detail, typ := exoDetail(f.t, b)
	parts := strings.SplitN(detail, "|", 3)
	if len(parts) != 3 {
		f.t.Fatalf("detail not in pipe form: %q", detail)
	}
	return parts[2], typ
}

func (f *objFixture) members(group string) []string {
	var out []string
	for _, m := range f.ok("Get-DistributionGroupMember", map[string]any{"Identity": group}) {
		out = append(out, m["PrimarySmtpAddress"].(string))
	}
	slices.Sort(out)
	return out
}

func TestDistributionGroupLifecycle(t *testing.T) {
	f := newObjFixture(t, "global", Knobs{})
	g := f.ok("New-DistributionGroup", map[string]any{"Name": "sales", "DisplayName": "销售部 Sales", "Alias": "sales",
		"PrimarySmtpAddress": "sales@contoso.com", "ManagedBy": []any{"admin@contoso.com"}, "Members": []any{"li.lei@contoso.com"}})[0]
	if g["RequireSenderAuthenticationEnabled"] != true || g["RecipientTypeDetails"] != "MailUniversalDistributionGroup" {
		t.Errorf("defaults: %v", g)
	}
	if addrs := g["EmailAddresses"].([]any); len(addrs) != 2 || addrs[0] != "SMTP:sales@contoso.com" || addrs[1] != "smtp:sales@contoso.onmicrosoft.com" {
		t.Errorf("EmailAddresses %v", addrs)
	}
	if own := g["ManagedBy"].([]any); len(own) != 1 || own[0] != "admin" {
		t.Errorf("ManagedBy %v", own)
	}

	// Taken name, taken address, unaccepted domain, non-recipient member, too long a name.
	if _, typ := f.fail(400, "New-DistributionGroup", map[string]any{"Name": "sales", "PrimarySmtpAddress": "sales2@contoso.com"}); !strings.HasSuffix(typ, "ADObjectAlreadyExistsException") {
		t.Errorf("taken name: %s", typ)
	}
	if text, typ := f.fail(400, "New-DistributionGroup", map[string]any{"Name": "s2", "PrimarySmtpAddress": "li.lei@contoso.com"}); !strings.HasSuffix(typ, "ADObjectAlreadyExistsException") || !strings.Contains(text, `"SMTP:li.lei@contoso.com" is already being used`) {
		t.Errorf("taken address: %s %s", typ, text)
	}
	if text, _ := f.fail(400, "New-DistributionGroup", map[string]any{"Name": "s3", "PrimarySmtpAddress": "s3@other.com"}); !strings.Contains(text, "isn't an accepted domain") {
		t.Errorf("unaccepted domain: %s", text)
	}
	if text, typ := f.fail(404, "New-DistributionGroup", map[string]any{"Name": "s4", "PrimarySmtpAddress": "s4@contoso.com", "Members": []any{"nobody@contoso.com"}}); typ != ManagementObjectNotFound || !strings.Contains(text, `Couldn't find object "nobody@contoso.com"`) {
		t.Errorf("non-recipient member: %s %s", typ, text)
	}
	if text, _ := f.fail(400, "New-DistributionGroup", map[string]any{"Name": strings.Repeat("n", 65)}); !strings.Contains(text, `less than or equal to "64"`) {
		t.Errorf("long name: %s", text)
	}

	// Without BypassSecurityGroupManagerCheck an application is not a manager of the group.
	for _, c := range []struct {
		cmdlet string
		params map[string]any
	}{
		{"Set-DistributionGroup", map[string]any{"Identity": "sales", "DisplayName": "x"}},
		{"Update-DistributionGroupMember", map[string]any{"Identity": "sales", "Members": []any{}}},
		{"Remove-DistributionGroup", map[string]any{"Identity": "sales"}},
	} {
		text, typ := f.fail(400, c.cmdlet, c.params)
		if typ != groupManagerException || text != "You don't have sufficient permissions. This operation can only be performed by a manager of the group." {
			t.Errorf("%s without bypass: %s %s", c.cmdlet, typ, text)
		}
	}

	// A group may contain another group; Update replaces the whole membership.
	f.ok("New-DistributionGroup", map[string]any{"Name": "all", "PrimarySmtpAddress": "all@contoso.com", "ManagedBy": []any{"admin@contoso.com"}})
	f.ok("Update-DistributionGroupMember", map[string]any{"Identity": "sales@contoso.com", "Members": []any{"han.meimei@contoso.com", "all@contoso.com"}, "BypassSecurityGroupManagerCheck": true, "Confirm": false})
	if got := f.members("sales"); !slices.Equal(got, []string{"all@contoso.com", "han.meimei@contoso.com"}) {
		t.Errorf("members after update: %v", got)
	}
	f.fail(400, "Add-DistributionGroupMember", map[string]any{"Identity": "sales", "Member": "all@contoso.com", "BypassSecurityGroupManagerCheck": true})
	f.fail(404, "Update-DistributionGroupMember", map[string]any{"Identity": "sales", "Members": []any{"ghost@contoso.com"}, "BypassSecurityGroupManagerCheck": true})

	// Secondary addresses with the hashtable form; the un-annotated form is refused.
	f.ok("Set-DistributionGroup", map[string]any{"Identity": "sales", "BypassSecurityGroupManagerCheck": true, "RequireSenderAuthenticationEnabled": false,
		"EmailAddresses": map[string]any{"@odata.type": "#Exchange.GenericHashTable", "Add": []any{"smtp:xiaoshou@contoso.com"}}})
	f.fail(400, "Set-DistributionGroup", map[string]any{"Identity": "sales", "BypassSecurityGroupManagerCheck": true, "EmailAddresses": map[string]any{"Add": "smtp:x@contoso.com"}})
	// Only the group's own members may send (Exmail allow_type 2); names are listed.
	f.ok("Set-DistributionGroup", map[string]any{"Identity": "sales", "BypassSecurityGroupManagerCheck": true, "AcceptMessagesOnlyFromSendersOrMembers": []any{"sales@contoso.com"}})
	f.fail(404, "Set-DistributionGroup", map[string]any{"Identity": "sales", "BypassSecurityGroupManagerCheck": true, "AcceptMessagesOnlyFromSendersOrMembers": []any{"nobody@contoso.com"}})
	got := f.ok("Get-DistributionGroup", map[string]any{"Identity": "xiaoshou@contoso.com"})[0]
	if a := got["AcceptMessagesOnlyFromSendersOrMembers"].([]any); len(a) != 1 || a[0] != "sales" {
		t.Errorf("AcceptMessagesOnlyFromSendersOrMembers %v", a)
	}
	if got["RequireSenderAuthenticationEnabled"] != false || !slices.Contains(got["EmailAddresses"].([]any), any("smtp:xiaoshou@contoso.com")) {
		t.Errorf("after Set: %v", got)
	}

	f.ok("Remove-DistributionGroup", map[string]any{"Identity": "all@contoso.com", "BypassSecurityGroupManagerCheck": true, "Confirm": false})
	if got := f.members("sales"); !slices.Equal(got, []string{"han.meimei@contoso.com"}) {
		t.Errorf("a removed group stays a member: %v", got)
	}
	f.fail(404, "Get-DistributionGroup", map[string]any{"Identity": "all"})
}

func TestDkimSigningConfig(t *testing.T) {
	srv := dnstest.StartForTest(t)
	f := newObjFixture(t, "global", Knobs{DNSServer: srv.Addr})
	f.fail(404, "Get-DkimSigningConfig", map[string]any{"Identity": "contoso.com"})
	f.fail(400, "New-DkimSigningConfig", map[string]any{"DomainName": "other.com", "Enabled": false})
	c := f.ok("New-DkimSigningConfig", map[string]any{"DomainName": "contoso.com", "Enabled": false, "KeySize": 2048})[0]
	s1, s2 := c["Selector1CNAME"].(string), c["Selector2CNAME"].(string)
	if c["Enabled"] != false || c["Status"] != "CnameMissing" {
		t.Errorf("new config: %v", c)
	}
	for i, s := range []string{s1, s2} {
		want := "selector" + string(rune('1'+i)) + "-contoso-com._domainkey.contoso."
		if !strings.HasPrefix(s, want) || !strings.HasSuffix(s, "-v1.dkim.mail.microsoft") {
			t.Errorf("selector%d CNAME %q is not in the 2025 format", i+1, s)
		}
	}

	text, typ := f.fail(400, "Set-DkimSigningConfig", map[string]any{"Identity": "contoso.com", "Enabled": true})
	if typ != dkimValidationException || !strings.HasPrefix(text, "CNAME record does not exist for this config. Please publish the following two CNAME records first.") ||
		!strings.Contains(text, "Host Name : selector1._domainkey Points to address or value: "+s1) || !strings.Contains(text, "selector2._domainkey Points to address or value: "+s2) {
		t.Errorf("enable without CNAMEs: %s %s", typ, text)
	}
	// One CNAME is not enough; a wrong target is not enough.
	if err := srv.AddRecord("selector1._domainkey.contoso.com. 3600 IN CNAME " + s1 + "."); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddRecord("selector2._domainkey.contoso.com. 3600 IN CNAME wrong.example."); err != nil {
		t.Fatal(err)
	}
	f.fail(400, "Set-DkimSigningConfig", map[string]any{"Identity": "contoso.com", "Enabled": true})
	srv.Remove("selector2._domainkey.contoso.com", "CNAME")
	if err := srv.AddRecord("selector2._domainkey.contoso.com. 3600 IN CNAME " + s2 + "."); err != nil {
		t.Fatal(err)
	}
	f.ok("Set-DkimSigningConfig", map[string]any{"Identity": "contoso.com", "Enabled": true})
	if c := f.ok("Get-DkimSigningConfig", map[string]any{"Identity": "contoso.com"})[0]; c["Enabled"] != true || c["Status"] != "Valid" || c["Selector1CNAME"] != s1 {
		t.Errorf("after enabling: %v", c)
	}
	f.ok("Set-DkimSigningConfig", map[string]any{"Identity": "contoso.com", "Enabled": false})
	if c := f.ok("Get-DkimSigningConfig", nil)[0]; c["Enabled"] != false {
		t.Errorf("after disabling: %v", c)
	}
	f.fail(400, "New-DkimSigningConfig", map[string]any{"DomainName": "contoso.com", "Enabled": false})
}

func TestDkimCNAMEFormats(t *testing.T) {
	f := newObjFixture(t, "global", Knobs{DKIMCNAMEFormat: DKIMFormatLegacy})
	c := f.ok("New-DkimSigningConfig", map[string]any{"DomainName": "contoso.com", "Enabled": false})[0]
	if c["Selector1CNAME"] != "selector1-contoso-com._domainkey.contoso.onmicrosoft.com" {
		t.Errorf("legacy: %v", c["Selector1CNAME"])
	}
	if err := (Knobs{DKIMCNAMEFormat: "v2"}).Validate(); err == nil {
		t.Error("an unknown format is accepted")
	}
}

func TestGraphGroupsAreReadOnly(t *testing.T) {
	f := newObjFixture(t, "global", Knobs{})
	f.ok("New-DistributionGroup", map[string]any{"Name": "sales", "PrimarySmtpAddress": "sales@contoso.com", "ManagedBy": []any{"admin@contoso.com"}})
	gt := f.graphToken()
	resp, b := f.graph("GET", "/v1.0/groups", gt, nil, nil)
	list := decodeJSON(t, b)["value"].([]any)
	if resp.StatusCode != 200 || len(list) != 1 {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	g := list[0].(map[string]any)
	if g["mail"] != "sales@contoso.com" || g["mailEnabled"] != true || g["securityEnabled"] != false || len(g["groupTypes"].([]any)) != 0 {
		t.Errorf("group as Graph shows it: %v", g)
	}
	id := g["id"].(string)
	resp, b = f.graph("POST", "/v1.0/groups", gt, map[string]any{"displayName": "x", "mailEnabled": true, "mailNickname": "x", "securityEnabled": false, "groupTypes": []any{}}, nil)
	if code, msg := graphErr(t, b); resp.StatusCode != 400 || code != "Request_BadRequest" || !strings.Contains(msg, "does not currently support writes of mail-enabled groups") {
		t.Errorf("creating a distribution group through Graph: %d %s", resp.StatusCode, b)
	}
	resp, b = f.graph("POST", "/v1.0/groups/"+id+"/members/$ref", gt, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/x"}, nil)
	if resp.StatusCode != 403 {
		t.Errorf("member write through Graph: %d %s", resp.StatusCode, b)
	}
}

func TestExchangeRateLimitHeaders(t *testing.T) {
	f := newObjFixture(t, "global", Knobs{})
	resp1, _ := f.invoke("", f.tok, "get-distributiongroup", nil, nil) // cmdlet names are case-insensitive
	resp2, _ := f.invoke("", f.tok, "Get-DistributionGroup", nil, nil)
	if resp1.StatusCode != 200 || resp1.Header.Get("Rate-Limit-Limit") != "30000" {
		t.Fatalf("%d %v", resp1.StatusCode, resp1.Header)
	}
	r1, _ := strconv.Atoi(resp1.Header.Get("Rate-Limit-Remaining"))
	r2, _ := strconv.Atoi(resp2.Header.Get("Rate-Limit-Remaining"))
	if r2 != r1-1 {
		t.Errorf("Rate-Limit-Remaining %d then %d", r1, r2)
	}
	if _, err := time.Parse(time.RFC3339, resp2.Header.Get("Rate-Limit-Reset")); err != nil || resp2.Header.Get("Request-Id") == "" {
		t.Errorf("Rate-Limit-Reset %q (%v), Request-Id %q", resp2.Header.Get("Rate-Limit-Reset"), err, resp2.Header.Get("Request-Id"))
	}
}
