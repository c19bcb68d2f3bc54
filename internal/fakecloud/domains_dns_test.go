package fakecloud

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
)

func TestDomainVerifyThroughDNS(t *testing.T) {
	srv := dnstest.StartForTest(t)
	f := newFixture(t, Options{Knobs: Knobs{DNSServer: srv.Addr}})
	tok := f.graphToken()
	f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "contoso.com"}, nil)
	_, m := f.get(tok, "/v1.0/domains/contoso.com/verificationDnsRecords")
	txt := values(t, m)[0]["text"].(string)

	resp, b := f.graph(http.MethodPost, "/v1.0/domains/contoso.com/verify", tok, nil, nil)
	msg := wantGraphError(t, "verify without record", resp, b, 400, "Request_BadRequest", "")
	if !strings.HasPrefix(msg, "Domain verification failed with the following error: ") || !strings.Contains(msg, txt) {
		t.Fatalf("failure message %q", msg)
	}
	srv.SetTXT("contoso.com", "v=spf1 -all")
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/contoso.com/verify", tok, nil, nil)
	if msg := wantGraphError(t, "verify with another TXT", resp, b, 400, "Request_BadRequest", ""); !strings.Contains(msg, "v=spf1 -all") {
		t.Fatalf("the message should say what DNS answered: %q", msg)
	}
	if _, m := f.get(tok, "/v1.0/domains/contoso.com"); m["isVerified"] != false {
		t.Fatal("a failed verify must leave the domain unverified")
	}

	srv.SetTXT("contoso.com.", "v=spf1 -all", txt)
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/contoso.com/verify", tok, nil, nil)
	m = decodeJSON(t, b)
	if resp.StatusCode != 200 || m["isVerified"] != true || m["isRoot"] != true || m["availabilityStatus"] != "AvailableImmediately" ||
		m["id"] != "contoso.com" {
		t.Fatalf("verify with the record: %d %s", resp.StatusCode, b)
	}
	if _, m := f.get(tok, "/v1.0/domains/contoso.com"); m["isVerified"] != true || m["availabilityStatus"] != nil {
		t.Fatalf("after verify: %v", m)
	}
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/contoso.com/verify", tok, nil, nil)
	wantGraphError(t, "verify twice", resp, b, 400, "Request_BadRequest", "Domain is already verified.")

	// The MX alternative proves ownership too.
	f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "fabrikam.com"}, nil)
	_, m = f.get(tok, "/v1.0/domains/fabrikam.com/verificationDnsRecords")
	mx := values(t, m)[1]["mailExchange"].(string)
	if err := srv.AddRecord("fabrikam.com. 3600 IN MX 32767 " + mx + "."); err != nil {
		t.Fatal(err)
	}
	if resp, b := f.graph(http.MethodPost, "/v1.0/domains/fabrikam.com/verify", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("verify by MX: %d %s", resp.StatusCode, b)
	}

	// No DNS server configured; then one that refuses.
	f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "tailspin.com"}, nil)
	f.s.SetKnobs(Knobs{})
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/tailspin.com/verify", tok, nil, nil)
	if msg := wantGraphError(t, "no dns server", resp, b, 400, "Request_BadRequest", ""); !strings.Contains(msg, "dns_server") {
		t.Fatalf("message should name the knob: %q", msg)
	}
	srv.SetRcode("tailspin.com", 2) // SERVFAIL
	f.s.SetKnobs(Knobs{DNSServer: srv.Addr})
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/tailspin.com/verify", tok, nil, nil)
	if msg := wantGraphError(t, "servfail", resp, b, 400, "Request_BadRequest", ""); !strings.Contains(msg, "SERVFAIL") {
		t.Fatalf("message should carry the DNS failure: %q", msg)
	}
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/nowhere.example/verify", tok, nil, nil)
	wantGraphError(t, "verify unknown", resp, b, 404, "Request_ResourceNotFound", "")
}

func TestDomainSubdomainsVerifyWithTheirRoot(t *testing.T) {
	seed := seedWith(func(sd *Seed) {
		sd.Domains = []SeedDomain{{ID: "contoso.com", IsVerified: true}, {ID: "fabrikam.com"}}
	})
	f := newFixture(t, Options{Seed: seed})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "mail.contoso.com"}, nil)
	if m := decodeJSON(t, b); resp.StatusCode != 201 || m["isVerified"] != true || m["isRoot"] != false {
		t.Fatalf("subdomain of a verified root: %d %s", resp.StatusCode, b)
	}
	resp, b = f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "eu.fabrikam.com"}, nil)
	if m := decodeJSON(t, b); resp.StatusCode != 201 || m["isVerified"] != false {
		t.Fatalf("subdomain of an unverified root: %d %s", resp.StatusCode, b)
	}
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/eu.fabrikam.com/verify", tok, nil, nil)
	wantGraphError(t, "subdomain before its root", resp, b, 400, "Request_BadRequest", "")

	f.s.SetKnobs(Knobs{AutoVerify: true})
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/fabrikam.com/verify", tok, nil, nil)
	if m := decodeJSON(t, b); resp.StatusCode != 200 || m["isRoot"] != true {
		t.Fatalf("auto_verify: %d %s", resp.StatusCode, b)
	}
	f.s.SetKnobs(Knobs{}) // no DNS, no auto_verify: only the verified root can make it succeed
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/eu.fabrikam.com/verify", tok, nil, nil)
	if m := decodeJSON(t, b); resp.StatusCode != 200 || m["isVerified"] != true || m["isRoot"] != false {
		t.Fatalf("subdomain after its root: %d %s", resp.StatusCode, b)
	}

	resp, b = f.graph(http.MethodDelete, "/v1.0/domains/fabrikam.com", tok, nil, nil)
	if msg := wantGraphError(t, "root with subdomains", resp, b, 400, "Request_BadRequest", ""); !strings.Contains(msg, "eu.fabrikam.com") {
		t.Fatalf("message should name the subdomain: %q", msg)
	}
	for _, id := range []string{"eu.fabrikam.com", "fabrikam.com"} {
		if resp, b := f.graph(http.MethodDelete, "/v1.0/domains/"+id, tok, nil, nil); resp.StatusCode != 204 {
			t.Fatalf("delete %s: %d %s", id, resp.StatusCode, b)
		}
	}
}

func TestVerificationDNSRecordsShape(t *testing.T) {
	seed := DefaultSeed()
	f := newFixture(t, Options{Seed: seed})
	tok := f.graphToken()
	f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "contoso.com"}, nil)
	resp, m := f.get(tok, "/v1.0/domains/contoso.com/verificationDnsRecords")
	if resp.StatusCode != 200 || m["@odata.context"] != f.s.GraphEndpoint()+"/v1.0/$metadata#domains('contoso.com')/verificationDnsRecords" {
		t.Fatalf("records: %d %v", resp.StatusCode, m)
	}
	recs := values(t, m)
	if len(recs) != 2 {
		t.Fatalf("want TXT and MX: %v", recs)
	}
	txt, mx := recs[0], recs[1]
	text, _ := txt["text"].(string)
	if !regexp.MustCompile(`^MS=ms\d{8}$`).MatchString(text) || text != "MS="+verificationCode(f.s.TenantID(), "contoso.com") {
		t.Fatalf("TXT text %q", text)
	}
	code := strings.TrimPrefix(text, "MS=")
	for _, c := range []struct {
		rec        map[string]any
		odataType  string
		recordType string
	}{{txt, "#microsoft.graph.domainDnsTxtRecord", "Txt"}, {mx, "#microsoft.graph.domainDnsMxRecord", "Mx"}} {
		if c.rec["@odata.type"] != c.odataType || c.rec["recordType"] != c.recordType || c.rec["label"] != "contoso.com" ||
			c.rec["ttl"] != float64(3600) || c.rec["isOptional"] != false || c.rec["supportedService"] != "Email" ||
			!isGUID(c.rec["id"].(string)) {
			t.Fatalf("record %v", c.rec)
		}
	}
	if mx["mailExchange"] != code+".msv1.invalid" || mx["preference"] != float64(32767) {
		t.Fatalf("MX %v", mx)
	}
	if txt["id"] == mx["id"] {
		t.Fatal("record ids must differ")
	}

	// Deterministic per tenant and domain.
	again := newFixture(t, Options{Seed: seedWith(func(sd *Seed) { sd.TenantID = seed.TenantID })})
	atok := again.graphToken()
	again.graph(http.MethodPost, "/v1.0/domains", atok, map[string]any{"id": "contoso.com"}, nil)
	again.graph(http.MethodPost, "/v1.0/domains", atok, map[string]any{"id": "fabrikam.com"}, nil)
	_, m = again.get(atok, "/v1.0/domains/contoso.com/verificationDnsRecords")
	if values(t, m)[0]["text"] != text {
		t.Fatalf("same tenant and domain, other code: %v", m)
	}
	_, m = again.get(atok, "/v1.0/domains/fabrikam.com/verificationDnsRecords")
	if values(t, m)[0]["text"] == text {
		t.Fatal("another domain must get another code")
	}
	resp, b := f.graph(http.MethodGet, "/v1.0/domains/nowhere.example/verificationDnsRecords", tok, nil, nil)
	wantGraphError(t, "records of unknown", resp, b, 404, "Request_ResourceNotFound", "")
}

// recordLine renders a service record as "Type label value", checking its @odata.type, ttl and
// supportedService along the way.
func recordLine(t *testing.T, r map[string]any) string {
	t.Helper()
	types := map[string]string{"Mx": "domainDnsMxRecord", "CName": "domainDnsCnameRecord", "Txt": "domainDnsTxtRecord", "Srv": "domainDnsSrvRecord"}
	rt := r["recordType"].(string)
	if r["@odata.type"] != "#microsoft.graph."+types[rt] || r["ttl"] != float64(3600) || !isGUID(r["id"].(string)) {
		t.Fatalf("record %v", r)
	}
	var value string
	switch rt {
	case "Mx":
		value = fmt.Sprintf("%v %v", r["preference"], r["mailExchange"])
	case "CName":
		value = r["canonicalName"].(string)
	case "Txt":
		value = r["text"].(string)
	case "Srv":
		value = fmt.Sprintf("%v %v %v %v %v %v", r["priority"], r["weight"], r["port"], r["nameTarget"], r["service"], r["protocol"])
	}
	return fmt.Sprintf("%s %s %s [%s]", rt, r["label"], value, r["supportedService"])
}

func TestServiceConfigurationRecordsPerCloud(t *testing.T) {
	email := func(mx, autodiscover, spf string) []string {
		return []string{
			"Mx fabrikam.com 0 " + mx + " [Email]",
			"CName autodiscover.fabrikam.com " + autodiscover + " [Email]",
			"Txt fabrikam.com v=spf1 include:" + spf + " -all [Email]",
		}
	}
	teams := func(sip, web, fed string) []string {
		const svc = " [OfficeCommunicationsOnline]"
		return []string{
			"CName sip.fabrikam.com " + sip + svc,
			"CName lyncdiscover.fabrikam.com " + web + svc,
			"Srv _sip._tls.fabrikam.com 100 1 443 " + sip + " _sip _tls" + svc,
			"Srv _sipfederationtls._tcp.fabrikam.com 100 1 5061 " + fed + " _sipfederationtls _tcp" + svc,
		}
	}
	cases := []struct {
		env, initial string
		emailOnly    []string
		withTeams    []string
	}{
		{"global", "contoso.onmicrosoft.com",
			email("fabrikam-com.mail.protection.outlook.com", "autodiscover.outlook.com", "spf.protection.outlook.com"),
			teams("sipdir.online.lync.com", "webdir.online.lync.com", "sipfed.online.lync.com")},
		{"china", "contoso.partner.onmschina.cn",
			append(email("fabrikam-com.mail.protection.partner.outlook.cn", "autodiscover.partner.outlook.cn", "spf.protection.partner.outlook.cn"),
				"CName msoid.fabrikam.com clientconfig.partner.microsoftonline-p.net.cn [OrgIdAuthentication]"),
			teams("sipdir.online.partner.lync.cn", "webdir.online.partner.lync.cn", "sipfed.online.partner.lync.cn")},
		{"usgovernment", "tailspin.onmicrosoft.us",
			email("tailspin.mail.protection.office365.us", "autodiscover.office365.us", "spf.protection.office365.us"),
			teams("sipdir.online.gov.skypeforbusiness.us", "webdir.online.gov.skypeforbusiness.us", "sipfed.online.gov.skypeforbusiness.us")},
		{"usgovernmentdod", "tailspin.onmicrosoft.us",
			email("tailspin.mail.protection.office365.us", "autodiscover.office365.us", "spf.protection.office365.us"), nil},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			f := newFixture(t, Options{Knobs: Knobs{AutoVerify: true}, Seed: seedWith(func(sd *Seed) {
				sd.Environment, sd.InitialDomain = c.env, c.initial
			})})
			tok := f.graphToken()
			lines := func() []string {
				resp, m := f.get(tok, "/v1.0/domains/fabrikam.com/serviceConfigurationRecords")
				if resp.StatusCode != 200 || !strings.HasSuffix(m["@odata.context"].(string), "#domains('fabrikam.com')/serviceConfigurationRecords") {
					t.Fatalf("records: %d %v", resp.StatusCode, m)
				}
				var out []string
				for _, r := range values(t, m) {
					out = append(out, recordLine(t, r))
				}
				sort.Strings(out)
				return out
			}
			want := func(parts ...[]string) []string {
				var out []string
				for _, p := range parts {
					out = append(out, p...)
				}
				sort.Strings(out)
				return out
			}
			f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "fabrikam.com"}, nil)
			// No supportedServices yet (unverified): the Email records.
			if got, w := lines(), want(c.emailOnly); strings.Join(got, "\n") != strings.Join(w, "\n") {
				t.Fatalf("no services:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
			}
			f.graph(http.MethodPost, "/v1.0/domains/fabrikam.com/verify", tok, nil, nil)
			if resp, b := f.graph(http.MethodPatch, "/v1.0/domains/fabrikam.com", tok,
				map[string]any{"supportedServices": []string{"Email", "OfficeCommunicationsOnline"}}, nil); resp.StatusCode != 204 {
				t.Fatalf("patch: %d %s", resp.StatusCode, b)
			}
			if got, w := lines(), want(c.emailOnly, c.withTeams); strings.Join(got, "\n") != strings.Join(w, "\n") {
				t.Fatalf("Email+Teams:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
			}
			f.graph(http.MethodPatch, "/v1.0/domains/fabrikam.com", tok, map[string]any{"supportedServices": []string{"Yammer"}}, nil)
			if got := lines(); len(got) != 0 {
				t.Fatalf("Yammer only needs no records here: %v", got)
			}
		})
	}
}
