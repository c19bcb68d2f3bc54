package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
)

// domainHookRecorders lets a test see and drive the reference source and rename hook that the
// installer below registers on every server (only servers stored here are affected).
var domainHookRecorders sync.Map // *Server -> *domainHookRecorder

type domainHookRecorder struct {
	mu      sync.Mutex
	users   map[string]DomainReference // id -> live user
	renames []string                   // "from -> to disable=bool"
}

func init() {
	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
		s.addDomainReferenceSource(func(st *State, domain string) []DomainReference {
			v, ok := domainHookRecorders.Load(s)
			if !ok {
				return nil
			}
			rec := v.(*domainHookRecorder)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			var out []DomainReference
			for _, id := range sortedKeys(rec.users) {
				if u := rec.users[id]; strings.HasSuffix(u.Name, "@"+domain) {
					out = append(out, u)
				}
			}
			return out
		})
		s.addDomainRenameHook(func(st *State, from, to string, disable bool) {
			v, ok := domainHookRecorders.Load(s)
			if !ok {
				return
			}
			rec := v.(*domainHookRecorder)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.renames = append(rec.renames, fmt.Sprintf("%s -> %s disable=%t", from, to, disable))
			for id, u := range rec.users {
				u.Name = strings.TrimSuffix(u.Name, "@"+from) + "@" + to
				rec.users[id] = u
			}
		})
	})
}

// seedWith is DefaultSeed changed by mut.
func seedWith(mut func(*Seed)) *Seed {
	sd := DefaultSeed()
	mut(sd)
	return sd
}

// get is a Graph GET with the fixture's token; path may be a full nextLink.
func (f *fixture) get(tok, path string) (*http.Response, map[string]any) {
	f.t.Helper()
	path = strings.TrimPrefix(path, f.s.GraphEndpoint())
	resp, b := f.graph(http.MethodGet, path, tok, nil, nil)
	return resp, decodeJSON(f.t, b)
}

// wantGraphError checks status, error code and (when msg is not empty) the exact message.
func wantGraphError(t *testing.T, what string, resp *http.Response, b []byte, status int, code, msg string) string {
	t.Helper()
	gotCode, gotMsg := graphErr(t, b)
	if resp.StatusCode != status || gotCode != code || (msg != "" && gotMsg != msg) {
		t.Fatalf("%s: got %d %s %q, want %d %s %q", what, resp.StatusCode, gotCode, gotMsg, status, code, msg)
	}
	return gotMsg
}

func values(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	raw, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value array: %v", m)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestDomainsInitialDomainListAndSelect(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.graphToken()
	resp, m := f.get(tok, "/v1.0/domains")
	if resp.StatusCode != 200 || m["@odata.context"] != f.s.GraphEndpoint()+"/v1.0/$metadata#domains" {
		t.Fatalf("list: %d %v", resp.StatusCode, m)
	}
	vals := values(t, m)
	if len(vals) != 1 {
		t.Fatalf("want only the initial domain: %v", vals)
	}
	d := vals[0]
	if d["id"] != DefaultInitialDomain || d["isVerified"] != true || d["isInitial"] != true || d["isDefault"] != true ||
		d["isRoot"] != true || d["isAdminManaged"] != true || d["authenticationType"] != "Managed" ||
		d["availabilityStatus"] != nil || d["state"] != nil || d["passwordValidityPeriodInDays"] != nil {
		t.Fatalf("initial domain: %v", d)
	}
	if got := strs(d["supportedServices"]); strings.Join(got, ",") != "Email,OfficeCommunicationsOnline" {
		t.Fatalf("initial supportedServices %v", got)
	}

	resp, m = f.get(tok, "/v1.0/domains/CONTOSO.onmicrosoft.com")
	if resp.StatusCode != 200 || m["id"] != DefaultInitialDomain ||
		m["@odata.context"] != f.s.GraphEndpoint()+"/v1.0/$metadata#domains/$entity" {
		t.Fatalf("get (any case): %d %v", resp.StatusCode, m)
	}
	resp, m = f.get(tok, "/v1.0/domains/"+DefaultInitialDomain+"?%24select=id,isVerified")
	if resp.StatusCode != 200 || len(m) != 3 || m["isVerified"] != true ||
		!strings.HasSuffix(m["@odata.context"].(string), "#domains(id,isVerified)/$entity") {
		t.Fatalf("$select: %v", m)
	}
	resp, b := f.graph(http.MethodGet, "/v1.0/domains?$select=colour", tok, nil, nil)
	wantGraphError(t, "unknown $select", resp, b, 400, "BadRequest",
		"Could not find a property named 'colour' on type 'microsoft.graph.domain'.")
}

func TestDomainCreateDuplicateInvalidDelete(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "Contoso.com"}, nil)
	m := decodeJSON(t, b)
	if resp.StatusCode != 201 || m["id"] != "contoso.com" || m["isVerified"] != false || m["isRoot"] != false ||
		m["isDefault"] != false || m["isInitial"] != false || m["authenticationType"] != "Managed" ||
		len(m["supportedServices"].([]any)) != 0 || !strings.HasSuffix(m["@odata.context"].(string), "#domains/$entity") {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	resp, b = f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "contoso.com"}, nil)
	wantGraphError(t, "duplicate", resp, b, 400, "Request_BadRequest", "Another object with the same value for property id already exists.")
	resp, b = f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": DefaultInitialDomain}, nil)
	wantGraphError(t, "initial again", resp, b, 400, "Request_BadRequest", "Another object with the same value for property id already exists.")

	for _, bad := range []any{
		map[string]any{"id": "not a domain"}, map[string]any{"id": "nodots"}, map[string]any{"id": ""},
		map[string]any{}, map[string]any{"id": 7}, map[string]any{"id": "x.contoso.onmicrosoft.com"},
	} {
		resp, b := f.graph(http.MethodPost, "/v1.0/domains", tok, bad, nil)
		wantGraphError(t, fmt.Sprintf("create %v", bad), resp, b, 400, "Request_BadRequest", "")
	}
	for _, raw := range []string{"", "{"} {
		resp, b := f.graph(http.MethodPost, "/v1.0/domains", tok, []byte(raw), nil)
		wantGraphError(t, "body "+raw, resp, b, 400, "BadRequest", "")
	}

	resp, b = f.graph(http.MethodGet, "/v1.0/domains/nowhere.example", tok, nil, nil)
	wantGraphError(t, "get unknown", resp, b, 404, "Request_ResourceNotFound",
		"Resource 'nowhere.example' does not exist or one of its queried reference-property objects are not present.")
	if resp, _ := f.graph(http.MethodDelete, "/v1.0/domains/contoso.com", tok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/domains/contoso.com", tok, nil, nil)
	wantGraphError(t, "get deleted", resp, b, 404, "Request_ResourceNotFound", "")
	resp, b = f.graph(http.MethodDelete, "/v1.0/domains/contoso.com", tok, nil, nil)
	wantGraphError(t, "delete twice", resp, b, 404, "Request_ResourceNotFound", "")
	if _, m := f.get(tok, "/v1.0/domains"); len(values(t, m)) != 1 {
		t.Fatalf("list after delete: %v", m)
	}
}

func TestDomainListPaging(t *testing.T) {
	seed := seedWith(func(sd *Seed) {
		for i := 0; i < 120; i++ {
			sd.Domains = append(sd.Domains, SeedDomain{ID: fmt.Sprintf("d%03d.example.com", i)})
		}
	})
	f := newFixture(t, Options{Seed: seed})
	tok := f.graphToken()
	collect := func(first string) (ids []string, pages []int) {
		next := first
		for next != "" {
			resp, m := f.get(tok, next)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %v", next, resp.StatusCode, m)
			}
			vals := values(t, m)
			pages = append(pages, len(vals))
			for _, v := range vals {
				ids = append(ids, v["id"].(string))
			}
			next, _ = m["@odata.nextLink"].(string)
			if next != "" && !strings.HasPrefix(next, f.s.GraphEndpoint()+"/v1.0/domains?") {
				t.Fatalf("nextLink %q", next)
			}
		}
		return ids, pages
	}
	ids, pages := collect("/v1.0/domains")
	if fmt.Sprint(pages) != "[100 21]" || len(ids) != 121 {
		t.Fatalf("default paging: pages %v, %d ids", pages, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("%s twice", id)
		}
		seen[id] = true
	}
	ids, pages = collect("/v1.0/domains?$top=50&$select=id")
	if fmt.Sprint(pages) != "[50 50 21]" || len(ids) != 121 {
		t.Fatalf("$top=50: pages %v", pages)
	}
	_, m := f.get(tok, "/v1.0/domains?$top=2&$select=id")
	for _, v := range values(t, m) {
		if len(v) != 1 {
			t.Fatalf("$select lost on a page: %v", v)
		}
	}
	_, m = f.get(tok, m["@odata.nextLink"].(string))
	for _, v := range values(t, m) {
		if len(v) != 1 {
			t.Fatalf("$select lost on the next page: %v", v)
		}
	}
	for _, q := range []string{"$top=0", "$top=abc", "$top=1000", "$skiptoken=garbage"} {
		resp, b := f.graph(http.MethodGet, "/v1.0/domains?"+q, tok, nil, nil)
		wantGraphError(t, q, resp, b, 400, "BadRequest", "")
	}
}

func TestDomainPatch(t *testing.T) {
	seed := seedWith(func(sd *Seed) {
		sd.Domains = []SeedDomain{{ID: "intune.example", IsVerified: true, SupportedServices: []string{"Email", "intune"}}}
	})
	f := newFixture(t, Options{Seed: seed})
	tok := f.graphToken()
	patch := func(id string, body any) (*http.Response, []byte) {
		return f.graph(http.MethodPatch, "/v1.0/domains/"+id, tok, body, nil)
	}
	f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "fabrikam.com"}, nil)
	resp, b := patch("fabrikam.com", map[string]any{"supportedServices": []string{"Email"}})
	wantGraphError(t, "unverified", resp, b, 400, "Request_BadRequest", "Domain must be verified before it can be updated.")
	resp, b = patch("fabrikam.com", map[string]any{"isDefault": true})
	wantGraphError(t, "unverified default", resp, b, 400, "Request_BadRequest", "Domain must be verified before it can be updated.")

	f.s.SetKnobs(Knobs{AutoVerify: true})
	if resp, b := f.graph(http.MethodPost, "/v1.0/domains/fabrikam.com/verify", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("verify: %d %s", resp.StatusCode, b)
	}
	if resp, b := patch("fabrikam.com", map[string]any{"supportedServices": []string{"email", "Yammer", "Email"}}); resp.StatusCode != 204 || len(b) != 0 {
		t.Fatalf("patch services: %d %s", resp.StatusCode, b)
	}
	if _, m := f.get(tok, "/v1.0/domains/fabrikam.com"); strings.Join(strs(m["supportedServices"]), ",") != "Email,Yammer" {
		t.Fatalf("services after patch: %v", m["supportedServices"])
	}
	resp, b = patch("fabrikam.com", map[string]any{"supportedServices": []string{"Email", "Sharepoint"}})
	wantGraphError(t, "non-settable service", resp, b, 400, "Request_BadRequest", "")
	resp, b = patch("fabrikam.com", map[string]any{"supportedServices": []string{"Intune"}})
	wantGraphError(t, "Intune added", resp, b, 400, "Request_BadRequest", "")
	// A value Graph manages itself may be sent back unchanged, not added.
	if resp, b := patch("intune.example", map[string]any{"supportedServices": []string{"Intune", "OfficeCommunicationsOnline"}}); resp.StatusCode != 204 {
		t.Fatalf("keeping Intune: %d %s", resp.StatusCode, b)
	}

	if resp, b := patch("FABRIKAM.com", map[string]any{"isDefault": true, "@odata.type": "#microsoft.graph.domain"}); resp.StatusCode != 204 {
		t.Fatalf("isDefault: %d %s", resp.StatusCode, b)
	}
	_, fab := f.get(tok, "/v1.0/domains/fabrikam.com")
	_, initial := f.get(tok, "/v1.0/domains/"+DefaultInitialDomain)
	if fab["isDefault"] != true || initial["isDefault"] != false {
		t.Fatalf("default did not move: fabrikam %v, initial %v", fab["isDefault"], initial["isDefault"])
	}
	resp, b = patch("fabrikam.com", map[string]any{"isDefault": false})
	wantGraphError(t, "unset default", resp, b, 400, "Request_BadRequest", "")
	if resp, _ := patch(DefaultInitialDomain, map[string]any{"isDefault": false}); resp.StatusCode != 204 {
		t.Fatalf("isDefault false on a non-default domain is a no-op: %d", resp.StatusCode)
	}

	if resp, _ := patch("fabrikam.com", map[string]any{"passwordValidityPeriodInDays": 30, "isVerified": true, "id": "fabrikam.com"}); resp.StatusCode != 204 {
		t.Fatalf("password days with unchanged read-only values: %d", resp.StatusCode)
	}
	if _, m := f.get(tok, "/v1.0/domains/fabrikam.com"); m["passwordValidityPeriodInDays"] != float64(30) {
		t.Fatalf("password days: %v", m["passwordValidityPeriodInDays"])
	}
	resp, b = patch("fabrikam.com", map[string]any{"isVerified": false})
	wantGraphError(t, "read-only", resp, b, 400, "Request_BadRequest", "")
	resp, b = patch("fabrikam.com", map[string]any{"colour": "blue"})
	wantGraphError(t, "unknown property", resp, b, 400, "BadRequest", "Property 'colour' does not exist on type 'microsoft.graph.domain'.")
	resp, b = patch("nowhere.example", map[string]any{"isDefault": true})
	wantGraphError(t, "unknown domain", resp, b, 404, "Request_ResourceNotFound", "")
}

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

func TestDomainReadAfterWriteLag(t *testing.T) {
	const lag = 400 * time.Millisecond
	f := newFixture(t, Options{Knobs: Knobs{ReadAfterWriteLag: lag, AutoVerify: true}})
	tok := f.graphToken()
	created := time.Now()
	if resp, _ := f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "contoso.com"}, nil); resp.StatusCode != 201 {
		t.Fatal("create")
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1.0/domains/contoso.com"},
		{http.MethodPatch, "/v1.0/domains/contoso.com"},
		{http.MethodPost, "/v1.0/domains/contoso.com/verify"},
		{http.MethodGet, "/v1.0/domains/contoso.com/verificationDnsRecords"},
		{http.MethodGet, "/v1.0/domains/contoso.com/serviceConfigurationRecords"},
		{http.MethodGet, "/v1.0/domains/contoso.com/domainNameReferences"},
		{http.MethodDelete, "/v1.0/domains/contoso.com"},
	} {
		var body any
		if c.method == http.MethodPatch {
			body = map[string]any{"isDefault": true}
		}
		resp, b := f.graph(c.method, c.path, tok, body, nil)
		if time.Since(created) >= lag {
			t.Skip("machine too slow to observe the lag")
		}
		wantGraphError(t, c.method+" "+c.path+" during the lag", resp, b, 404, "Request_ResourceNotFound", "")
	}
	if _, m := f.get(tok, "/v1.0/domains"); len(values(t, m)) != 1 && time.Since(created) < lag {
		t.Fatalf("a lagging domain must not be listed: %v", m)
	}
	resp, b := f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "contoso.com"}, nil)
	wantGraphError(t, "duplicate during the lag", resp, b, 400, "Request_BadRequest", "")
	for {
		resp, _ := f.graph(http.MethodGet, "/v1.0/domains/contoso.com", tok, nil, nil)
		if resp.StatusCode == 200 {
			if time.Since(created) < lag {
				t.Fatalf("readable after %v, lag is %v", time.Since(created), lag)
			}
			break
		}
		if time.Since(created) > 5*time.Second {
			t.Fatal("still 404 long after the lag")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, b := f.graph(http.MethodPost, "/v1.0/domains/contoso.com/verify", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("verify after the lag: %d %s", resp.StatusCode, b)
	}
}

func refSeed() *Seed {
	return seedWith(func(sd *Seed) {
		sd.Domains = []SeedDomain{{ID: "contoso.com", IsVerified: true, SupportedServices: []string{"Email"}}, {ID: "spare.org", IsVerified: true}}
		sd.DomainReferences = map[string][]DomainReference{
			"Contoso.com": {
				{Type: "user", Name: "alice@contoso.com", DisplayName: "Alice"},
				{Type: "Group", Name: "sales@contoso.com"},
				{Type: "application", Name: "https://contoso.com/api", DisplayName: "API", ID: "11111111-2222-4333-8444-555555555555"},
			},
		}
	})
}

func TestDomainReferencesDeleteAndForceDelete(t *testing.T) {
	f := newFixture(t, Options{Seed: refSeed()})
	tok := f.graphToken()
	resp, m := f.get(tok, "/v1.0/domains/contoso.com/domainNameReferences")
	if resp.StatusCode != 200 || m["@odata.context"] != f.s.GraphEndpoint()+"/v1.0/$metadata#directoryObjects" {
		t.Fatalf("references: %d %v", resp.StatusCode, m)
	}
	refs := values(t, m)
	if len(refs) != 3 {
		t.Fatalf("want 3 references: %v", refs)
	}
	user, group, app := refs[0], refs[1], refs[2]
	if user["@odata.type"] != "#microsoft.graph.user" || user["userPrincipalName"] != "alice@contoso.com" ||
		user["displayName"] != "Alice" || !isGUID(user["id"].(string)) {
		t.Fatalf("user reference: %v", user)
	}
	if group["@odata.type"] != "#microsoft.graph.group" || group["mail"] != "sales@contoso.com" || group["displayName"] != "sales@contoso.com" {
		t.Fatalf("group reference: %v", group)
	}
	if app["@odata.type"] != "#microsoft.graph.application" || strs(app["identifierUris"])[0] != "https://contoso.com/api" ||
		app["id"] != "11111111-2222-4333-8444-555555555555" {
		t.Fatalf("application reference: %v", app)
	}
	_, m = f.get(tok, "/v1.0/domains/contoso.com/domainNameReferences?$top=2")
	if len(values(t, m)) != 2 || m["@odata.nextLink"] == nil {
		t.Fatalf("$top=2: %v", m)
	}
	_, m = f.get(tok, m["@odata.nextLink"].(string))
	if v := values(t, m); len(v) != 1 || v[0]["@odata.type"] != "#microsoft.graph.application" {
		t.Fatalf("second page: %v", m)
	}
	if _, m := f.get(tok, "/v1.0/domains/spare.org/domainNameReferences"); len(values(t, m)) != 0 {
		t.Fatalf("unreferenced domain: %v", m)
	}

	resp, b := f.graph(http.MethodDelete, "/v1.0/domains/contoso.com", tok, nil, nil)
	msg := wantGraphError(t, "delete referenced", resp, b, 400, "Request_BadRequest", "")
	for _, want := range []string{"3 objects", "user alice@contoso.com", "group sales@contoso.com", "forceDelete"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("delete message %q lacks %q", msg, want)
		}
	}

	resp, b = f.graph(http.MethodPost, "/v1.0/domains/contoso.com/forceDelete", tok, map[string]any{"disableUserAccounts": false}, nil)
	if resp.StatusCode != 204 || len(b) != 0 {
		t.Fatalf("forceDelete: %d %s", resp.StatusCode, b)
	}
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/contoso.com/forceDelete", tok, nil, nil)
	wantGraphError(t, "forceDelete twice", resp, b, 400, "Request_BadRequest", "")

	// Visible for two GETs with its state, then gone.
	for i := 0; i < forceDeleteVisibleReads; i++ {
		resp, m := f.get(tok, "/v1.0/domains/contoso.com")
		st, _ := m["state"].(map[string]any)
		if resp.StatusCode != 200 || st["operation"] != "ForceDelete" || st["status"] != "InProgress" {
			t.Fatalf("GET %d during forceDelete: %d %v", i+1, resp.StatusCode, m)
		}
		if _, err := time.Parse(time.RFC3339, st["lastActionDateTime"].(string)); err != nil {
			t.Fatalf("lastActionDateTime: %v", err)
		}
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/domains/contoso.com", tok, nil, nil)
	wantGraphError(t, "after forceDelete", resp, b, 404, "Request_ResourceNotFound", "")

	// The references now use the initial domain.
	_, m = f.get(tok, "/v1.0/domains/"+DefaultInitialDomain+"/domainNameReferences")
	var names []string
	for _, v := range values(t, m) {
		switch v["@odata.type"] {
		case "#microsoft.graph.user":
			names = append(names, v["userPrincipalName"].(string))
		case "#microsoft.graph.group":
			names = append(names, v["mail"].(string))
		case "#microsoft.graph.application":
			names = append(names, strs(v["identifierUris"])...)
		}
	}
	want := "alice@contoso.onmicrosoft.com,sales@contoso.onmicrosoft.com,https://contoso.onmicrosoft.com/api"
	if strings.Join(names, ",") != want {
		t.Fatalf("renamed references %v, want %s", names, want)
	}

	// Without GETs the domain goes after forceDeleteDuration.
	start := time.Now()
	if resp, _ := f.graph(http.MethodPost, "/v1.0/domains/spare.org/forceDelete", tok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("forceDelete unreferenced: %d", resp.StatusCode)
	}
	for {
		_, m := f.get(tok, "/v1.0/domains") // listing does not count as a GET of the domain
		gone := true
		for _, v := range values(t, m) {
			gone = gone && v["id"] != "spare.org"
		}
		if gone {
			if time.Since(start) < forceDeleteDuration {
				t.Fatalf("gone after %v", time.Since(start))
			}
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("force-deleted domain never went away")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDomainReferencesSeededForADomainAddedLater(t *testing.T) {
	seed := seedWith(func(sd *Seed) {
		sd.DomainReferences = map[string][]DomainReference{"fabrikam.com.": {{Type: "user", Name: "zhang.san@fabrikam.com", DisplayName: "张三"}}}
	})
	f := newFixture(t, Options{Seed: seed, Knobs: Knobs{AutoVerify: true}})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodGet, "/v1.0/domains/fabrikam.com/domainNameReferences", tok, nil, nil)
	wantGraphError(t, "references before the domain exists", resp, b, 404, "Request_ResourceNotFound", "")
	f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "fabrikam.com"}, nil)
	_, m := f.get(tok, "/v1.0/domains/fabrikam.com/domainNameReferences?$top=10")
	if v := values(t, m); len(v) != 1 || v[0]["displayName"] != "张三" || v[0]["userPrincipalName"] != "zhang.san@fabrikam.com" {
		t.Fatalf("references once added: %v", m)
	}
	resp, b = f.graph(http.MethodDelete, "/v1.0/domains/fabrikam.com", tok, nil, nil)
	wantGraphError(t, "delete", resp, b, 400, "Request_BadRequest", "")
}

func TestDomainReferenceSourcesAndRenameHooks(t *testing.T) {
	seed := seedWith(func(sd *Seed) { sd.Domains = []SeedDomain{{ID: "fabrikam.com", IsVerified: true}} })
	f := newFixture(t, Options{Seed: seed})
	rec := &domainHookRecorder{users: map[string]DomainReference{
		"u1": {Type: "user", ID: "u1", DisplayName: "Bob", Name: "bob@fabrikam.com"},
	}}
	domainHookRecorders.Store(f.s, rec)
	defer domainHookRecorders.Delete(f.s)
	tok := f.graphToken()

	_, m := f.get(tok, "/v1.0/domains/fabrikam.com/domainNameReferences")
	if v := values(t, m); len(v) != 1 || v[0]["userPrincipalName"] != "bob@fabrikam.com" || v[0]["displayName"] != "Bob" {
		t.Fatalf("live reference: %v", m)
	}
	resp, b := f.graph(http.MethodDelete, "/v1.0/domains/fabrikam.com", tok, nil, nil)
	if msg := wantGraphError(t, "delete with a live user", resp, b, 400, "Request_BadRequest", ""); !strings.Contains(msg, "bob@fabrikam.com") {
		t.Fatalf("message %q", msg)
	}
	if resp, _ := f.graph(http.MethodPost, "/v1.0/domains/fabrikam.com/forceDelete", tok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("forceDelete: %d", resp.StatusCode)
	}
	rec.mu.Lock()
	renames := append([]string(nil), rec.renames...)
	rec.mu.Unlock()
	if fmt.Sprint(renames) != "[fabrikam.com -> contoso.onmicrosoft.com disable=true]" {
		t.Fatalf("rename hook calls: %v", renames)
	}
	_, m = f.get(tok, "/v1.0/domains/"+DefaultInitialDomain+"/domainNameReferences")
	if v := values(t, m); len(v) != 1 || v[0]["userPrincipalName"] != "bob@contoso.onmicrosoft.com" {
		t.Fatalf("renamed live reference: %v", m)
	}
}

func TestDomainDeleteGuards(t *testing.T) {
	seed := seedWith(func(sd *Seed) {
		sd.Domains = []SeedDomain{{ID: "fabrikam.com", IsVerified: true, IsDefault: true}}
	})
	f := newFixture(t, Options{Seed: seed})
	tok := f.graphToken()
	if _, m := f.get(tok, "/v1.0/domains/"+DefaultInitialDomain); m["isDefault"] != false {
		t.Fatal("a seeded default domain takes the flag from the initial domain")
	}
	for _, c := range []struct{ method, path, want string }{
		{http.MethodDelete, "/v1.0/domains/" + DefaultInitialDomain, "initial"},
		{http.MethodPost, "/v1.0/domains/" + DefaultInitialDomain + "/forceDelete", "initial"},
		{http.MethodDelete, "/v1.0/domains/fabrikam.com", "default"},
		{http.MethodPost, "/v1.0/domains/fabrikam.com/forceDelete", "default"},
	} {
		resp, b := f.graph(c.method, c.path, tok, nil, nil)
		if msg := wantGraphError(t, c.method+" "+c.path, resp, b, 400, "Request_BadRequest", ""); !strings.Contains(msg, c.want) {
			t.Fatalf("%s %s: message %q lacks %q", c.method, c.path, msg, c.want)
		}
	}
	resp, b := f.graph(http.MethodPost, "/v1.0/domains/nowhere.example/forceDelete", tok, map[string]any{"disableUserAccounts": true}, nil)
	wantGraphError(t, "forceDelete unknown", resp, b, 404, "Request_ResourceNotFound", "")
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/fabrikam.com/forceDelete", tok, map[string]any{"disableUserAccounts": "yes"}, nil)
	wantGraphError(t, "forceDelete bad body", resp, b, 400, "Request_BadRequest", "")
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

func TestDomainWritesCountAgainstTheQuota(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{WriteQuota: 2, WriteWindow: time.Minute}})
	tok := f.graphToken()
	if resp, _ := f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "a.com"}, nil); resp.StatusCode != 201 {
		t.Fatal("first write")
	}
	if resp, _ := f.graph(http.MethodDelete, "/v1.0/domains/a.com", tok, nil, nil); resp.StatusCode != 204 {
		t.Fatal("second write")
	}
	resp, b := f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "b.com"}, nil)
	wantGraphError(t, "third write", resp, b, 429, "TooManyRequests", "")
	if resp, _ := f.graph(http.MethodGet, "/v1.0/domains", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatal("reads are not counted")
	}
}

func TestDomainKnobsAndSeedValidation(t *testing.T) {
	var k Knobs
	if err := json.Unmarshal([]byte(`{"dns_server":"127.0.0.1:5353","auto_verify":true}`), &k); err != nil ||
		k.DNSServer != "127.0.0.1:5353" || !k.AutoVerify {
		t.Fatalf("knobs: %+v %v", k, err)
	}
	b, _ := json.Marshal(k)
	var back Knobs
	if err := json.Unmarshal(b, &back); err != nil || back != k {
		t.Fatalf("round trip: %s -> %+v", b, back)
	}
	if m := mergeKnobs(Knobs{DNSServer: "127.0.0.1:1"}, Knobs{DNSServer: "127.0.0.1:2", AutoVerify: true}); m.DNSServer != "127.0.0.1:2" || !m.AutoVerify {
		t.Fatalf("merge: %+v", m)
	}
	for _, bad := range []string{"nope", "127.0.0.1", "127.0.0.1:"} {
		if err := (Knobs{DNSServer: bad}).Validate(); err == nil || !strings.Contains(err.Error(), "dns_server") {
			t.Fatalf("dns_server %q: %v", bad, err)
		}
	}

	bad := map[string]func(*Seed){
		"initial twice":      func(sd *Seed) { sd.Domains = []SeedDomain{{ID: DefaultInitialDomain}} },
		"invalid id":         func(sd *Seed) { sd.Domains = []SeedDomain{{ID: "not valid"}} },
		"unverified default": func(sd *Seed) { sd.Domains = []SeedDomain{{ID: "a.com", IsDefault: true}} },
		"two defaults": func(sd *Seed) {
			sd.Domains = []SeedDomain{{ID: "a.com", IsVerified: true, IsDefault: true}, {ID: "b.com", IsVerified: true, IsDefault: true}}
		},
		"reference to an invalid domain": func(sd *Seed) {
			sd.DomainReferences = map[string][]DomainReference{"not valid": {{Type: "user", Name: "x@a.com"}}}
		},
		"reference type": func(sd *Seed) {
			sd.DomainReferences = map[string][]DomainReference{DefaultInitialDomain: {{Type: "device", Name: "x"}}}
		},
		"reference without name": func(sd *Seed) {
			sd.DomainReferences = map[string][]DomainReference{DefaultInitialDomain: {{Type: "user"}}}
		},
	}
	for name, mut := range bad {
		if s, err := Start(Options{Seed: seedWith(mut)}); err == nil {
			_ = s.Close()
			t.Fatalf("%s: seed accepted", name)
		}
	}

	p := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(p, []byte(`{"domains":[{"id":"fabrikam.com","is_verified":true,"supported_services":["Email"]}],
		"domain_references":{"fabrikam.com":[{"type":"user","name":"ann@fabrikam.com","display_name":"Ann"}]},
		"knobs":{"auto_verify":true,"dns_server":"127.0.0.1:53"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	seed, err := LoadSeed(p)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Options{Seed: seed})
	if k := f.s.Knobs(); !k.AutoVerify || k.DNSServer != "127.0.0.1:53" {
		t.Fatalf("seed knobs: %+v", k)
	}
	_, m := f.get(f.graphToken(), "/v1.0/domains/fabrikam.com/domainNameReferences")
	if v := values(t, m); len(v) != 1 || v[0]["userPrincipalName"] != "ann@fabrikam.com" {
		t.Fatalf("seed file references: %v", m)
	}
}

func TestDomainStatePersistence(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "state.json")
	s1, err := Start(Options{StateFile: stateFile, Knobs: Knobs{AutoVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	f1 := &fixture{t: t, s: s1, c: caClient(t)}
	tok := f1.graphToken()
	f1.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "contoso.com"}, nil)
	f1.graph(http.MethodPost, "/v1.0/domains/contoso.com/verify", tok, nil, nil)
	_, before := f1.get(tok, "/v1.0/domains/contoso.com/verificationDnsRecords")
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Start(Options{StateFile: stateFile})
	if err != nil {
		t.Fatal(err)
	}
	f2 := &fixture{t: t, s: s2, c: caClient(t)}
	tok = f2.graphToken()
	if resp, m := f2.get(tok, "/v1.0/domains/contoso.com"); resp.StatusCode != 200 || m["isVerified"] != true || m["isRoot"] != true {
		t.Fatalf("reloaded domain: %d %v", resp.StatusCode, m)
	}
	_, after := f2.get(tok, "/v1.0/domains/contoso.com/verificationDnsRecords")
	if values(t, after)[0]["text"] != values(t, before)[0]["text"] {
		t.Fatal("verification code changed across a restart")
	}
	_ = s2.Close()

	// A state file written before domains existed gets the initial domain.
	raw, _ := os.ReadFile(stateFile)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "domains")
	old, _ := json.Marshal(m)
	if err := os.WriteFile(stateFile, old, 0o600); err != nil {
		t.Fatal(err)
	}
	s3, err := Start(Options{StateFile: stateFile})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s3.Close() }()
	f3 := &fixture{t: t, s: s3, c: caClient(t)}
	tok = f3.graphToken()
	_, list := f3.get(tok, "/v1.0/domains")
	if v := values(t, list); len(v) != 1 || v[0]["id"] != DefaultInitialDomain || v[0]["isDefault"] != true {
		t.Fatalf("old state file: %v", list)
	}
}
