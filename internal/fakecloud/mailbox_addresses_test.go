package fakecloud

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func (f *objFixture) proxies(id string) []string {
	f.t.Helper()
	v := f.ok("Get-Mailbox", map[string]any{"Identity": id})
	if len(v) != 1 {
		f.t.Fatalf("Get-Mailbox %s: %d objects", id, len(v))
	}
	var out []string
	for _, a := range v[0]["EmailAddresses"].([]any) {
		out = append(out, a.(string))
	}
	return out
}

func TestSetMailboxEmailAddresses(t *testing.T) {
	f := newObjFixture(t, "", Knobs{})
	ht := func(add, remove any) map[string]any {
		h := map[string]any{"@odata.type": "#Exchange.GenericHashTable"}
		if add != nil {
			h["Add"] = add
		}
		if remove != nil {
			h["Remove"] = remove
		}
		return h
	}
	// The hashtable form with an array and with a string.
	f.ok("Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com", "EmailAddresses": ht([]string{"smtp:lei.li@contoso.com", "lilei@contoso.com"}, nil)})
	f.ok("Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com", "EmailAddresses": ht("smtp:old.li@contoso.com", nil)})
	got := f.proxies("li.lei@contoso.com")
	for _, want := range []string{"SMTP:li.lei@contoso.com", "smtp:lei.li@contoso.com", "smtp:lilei@contoso.com", "smtp:old.li@contoso.com"} {
		if !slices.Contains(got, want) {
			t.Errorf("after Add: %v lacks %s", got, want)
		}
	}
	// Mail to the alias resolves to the mailbox: Get-Recipient -Identity and the OPATH filter.
	r := f.ok("Get-Recipient", map[string]any{"Identity": "lei.li@contoso.com"})
	if len(r) != 1 || r[0]["PrimarySmtpAddress"] != "li.lei@contoso.com" {
		t.Errorf("Get-Recipient by alias: %v", r)
	}
	if r := f.ok("Get-Mailbox", map[string]any{"Filter": "EmailAddresses -eq 'lilei@contoso.com'"}); len(r) != 1 {
		t.Errorf("filter by alias: %d", len(r))
	}
	// Remove (string value) leaves the others; the removed alias no longer resolves.
	f.ok("Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com", "EmailAddresses": ht(nil, "smtp:old.li@contoso.com")})
	if got := f.proxies("li.lei@contoso.com"); slices.Contains(got, "smtp:old.li@contoso.com") || !slices.Contains(got, "smtp:lilei@contoso.com") {
		t.Errorf("after Remove: %v", got)
	}
	f.fail(http.StatusNotFound, "Get-Recipient", map[string]any{"Identity": "old.li@contoso.com"})

	// Un-annotated hashtable: ParameterTransformationException.
	if _, typ := f.fail(http.StatusBadRequest, "Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com",
		"EmailAddresses": map[string]any{"Add": []string{"smtp:x@contoso.com"}}}); !strings.Contains(typ, "ParameterTransformationException") {
		t.Errorf("un-annotated: %s", typ)
	}
	// Held by another user's mailbox, by a user's name, by a distribution group.
	f.ok("New-DistributionGroup", map[string]any{"Name": "sales", "PrimarySmtpAddress": "sales@contoso.com"})
	for _, taken := range []string{"lei.li@contoso.com", "admin@contoso.com", "sales@contoso.com"} {
		msg, _ := f.fail(http.StatusBadRequest, "Set-Mailbox", map[string]any{"Identity": "han.meimei@contoso.com", "EmailAddresses": ht("smtp:"+taken, nil)})
		if !strings.Contains(msg, "is already being used by") {
			t.Errorf("%s: %s", taken, msg)
		}
	}
	// Get-Recipient lists the group as the holder of its address.
	if r := f.ok("Get-Recipient", map[string]any{"Filter": "EmailAddresses -eq 'sales@contoso.com'"}); len(r) != 1 || r[0]["RecipientTypeDetails"] != "MailUniversalDistributionGroup" {
		t.Errorf("group holder: %v", r)
	}
	// A group cannot take a user's alias either.
	f.fail(http.StatusBadRequest, "Set-DistributionGroup", map[string]any{"Identity": "sales", "BypassSecurityGroupManagerCheck": true,
		"EmailAddresses": ht("smtp:lilei@contoso.com", nil)})
	// Unverified and unknown domains.
	for _, a := range []string{"li@other.com", "li@nowhere.example"} {
		if msg, _ := f.fail(http.StatusBadRequest, "Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com", "EmailAddresses": ht("smtp:"+a, nil)}); !strings.Contains(msg, "accepted domain") {
			t.Errorf("%s: %s", a, msg)
		}
	}
	// Replacing array: exactly one SMTP: primary.
	f.fail(http.StatusBadRequest, "Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com", "EmailAddresses": []string{"SMTP:li.lei@contoso.com", "SMTP:lilei@contoso.com"}})
	f.ok("Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com", "EmailAddresses": []string{"SMTP:li.lei@contoso.com", "smtp:li.lei@contoso.onmicrosoft.com", "newli@contoso.com"}})
	got = f.proxies("li.lei@contoso.com")
	if len(got) != 3 || got[0] != "SMTP:li.lei@contoso.com" || got[2] != "smtp:newli@contoso.com" {
		t.Errorf("after replace: %v", got)
	}
	// Removing the primary is refused.
	f.fail(http.StatusBadRequest, "Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com", "EmailAddresses": ht(nil, "li.lei@contoso.com")})
	// More than 300 addresses.
	var many []string
	for i := range 299 {
		many = append(many, fmt.Sprintf("smtp:a%d@contoso.com", i))
	}
	msg, _ := f.fail(http.StatusBadRequest, "Set-Mailbox", map[string]any{"Identity": "li.lei@contoso.com", "EmailAddresses": ht(many, nil)})
	if !strings.Contains(msg, "There are too many proxy addresses: 302, and maximum supported number of recipient proxy addresses is 300") {
		t.Errorf("limit: %s", msg)
	}
	if got := f.proxies("li.lei@contoso.com"); len(got) != 3 {
		t.Errorf("a refused Set-Mailbox changed the mailbox: %d addresses", len(got))
	}
}
