package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
