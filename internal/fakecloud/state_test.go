package fakecloud

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStatePersistedAndReloaded(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "state.json")
	s1, err := Start(Options{StateFile: stateFile})
	if err != nil {
		t.Fatal(err)
	}
	f1 := &fixture{t: t, s: s1, c: caClient(t)}
	tid, cid, secret := s1.TenantID(), s1.ClientID(), s1.ClientSecret()
	if _, err := os.Stat(stateFile); err != nil {
		t.Fatalf("state file not written at start: %v", err)
	}
	resp, b := f1.invoke("", f1.exchangeToken(), "New-MigrationEndpoint",
		map[string]any{"IMAP": true, "Name": "Persisted", "RemoteServer": "imap.example.com", "Security": "Tls", "Port": 143,
			"SkipVerification": true}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("New: %d %s", resp.StatusCode, b)
	}
	var onDisk State
	raw, _ := os.ReadFile(stateFile)
	if err := json.Unmarshal(raw, &onDisk); err != nil || len(onDisk.MigrationEndpoints) != 1 || onDisk.MigrationEndpoints[0].Port != 143 {
		t.Fatalf("state file after mutation: %v %s", err, raw)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}

	// A new server with a different seed: the state file wins.
	s2, err := Start(Options{StateFile: stateFile, Seed: DefaultSeed()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s2.Close() }()
	if s2.TenantID() != tid || s2.ClientID() != cid || s2.ClientSecret() != secret {
		t.Fatal("tenant and app must come from the state file")
	}
	f2 := &fixture{t: t, s: s2, c: caClient(t)}
	resp, b = f2.invoke("", f2.exchangeToken(), "Get-MigrationEndpoint", map[string]any{"Identity": "Persisted"}, nil)
	if a := decodeExo(t, b); resp.StatusCode != 200 || a.Value[0]["Security"] != "Tls" || a.Value[0]["Port"] != float64(143) {
		t.Fatalf("reloaded endpoint: %d %s", resp.StatusCode, b)
	}
}

func TestSeedValidationAndFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write("ok.json", `{"tenant_id":"6F1B7C4E-1111-4222-8333-944455556666","initial_domain":"fabrikam.onmicrosoft.com",
		"environment":"china","apps":[{"client_id":"0a0a0a0a-1111-4222-8333-944455556666","client_secret":"s3cret"}],
		"skus":[],"knobs":{"latency":"1ms"}}`)
	seed, err := LoadSeed(p)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Options{Seed: seed})
	if f.s.TenantID() != "6f1b7c4e-1111-4222-8333-944455556666" || f.s.ClientSecret() != "s3cret" || f.s.Knobs().Latency != 1e6 {
		t.Fatalf("seed not applied: %s %+v", f.s.TenantID(), f.s.Knobs())
	}
	resp, b := f.graph(http.MethodGet, "/v1.0/subscribedSkus", f.graphToken(), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"value":[]`) {
		t.Fatalf("skus [] means none: %s", b)
	}
	resp, b = f.do(mustReq(t, http.MethodGet, f.s.LoginEndpoint()+"/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration"))
	if m := decodeJSON(t, b); resp.StatusCode != 200 || m["msgraph_host"] != "microsoftgraph.chinacloudapi.cn" {
		t.Fatalf("china discovery: %s", b)
	}

	if _, err := LoadSeed(write("typo.json", `{"tenantid":"x"}`)); err == nil {
		t.Fatal("unknown seed field must be an error")
	}
	for _, bad := range []*Seed{{TenantID: "not-a-guid"}, {Environment: "mars"}, {SKUs: []SKU{{SkuID: "x"}}}} {
		if _, err := Start(Options{Seed: bad}); err == nil {
			t.Fatalf("seed %+v must be rejected", bad)
		}
	}
	d := DefaultSeed()
	if !isGUID(d.TenantID) || len(d.Apps) != 1 || !isGUID(d.Apps[0].ClientID) || len(d.Apps[0].ClientSecret) != 40 || len(d.SKUs) != 4 {
		t.Fatalf("default seed %+v", d)
	}
	if DefaultSeed().Apps[0].ClientSecret == d.Apps[0].ClientSecret {
		t.Fatal("default secrets must be random")
	}
}

func TestReadyFile(t *testing.T) {
	f := newFixture(t, Options{})
	p := filepath.Join(t.TempDir(), "ready.json")
	if err := f.s.WriteReadyFile(p); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	// exmail_secrets is the one object ({"contacts", "options", "log"}); every other field is a string.
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	var secrets map[string]string
	if err := json.Unmarshal(all["exmail_secrets"], &secrets); err != nil || len(secrets) != 3 || secrets["contacts"] == "" {
		t.Fatalf("exmail_secrets: %s", all["exmail_secrets"])
	}
	delete(all, "exmail_secrets")
	m := map[string]string{}
	for k, v := range all {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			t.Fatalf("%s is not a string: %s", k, v)
		}
		m[k] = s
	}
	want := map[string]string{
		"login_endpoint": f.s.LoginEndpoint(), "graph_endpoint": f.s.GraphEndpoint(), "exchange_endpoint": f.s.ExchangeEndpoint(),
		"ca_cert_file": f.s.CACertFile(), "tenant_id": f.s.TenantID(), "client_id": f.s.ClientID(), "client_secret": f.s.ClientSecret(),
		"exmail_endpoint": f.s.ExmailEndpoint(), "exmail_corp_id": f.s.Exmail().CorpID(),
	}
	if len(m) != len(want) {
		t.Fatalf("ready file fields: %v", m)
	}
	for k, v := range want {
		if m[k] != v || v == "" {
			t.Fatalf("%s = %q, want %q", k, m[k], v)
		}
	}
	if strings.HasSuffix(m["graph_endpoint"], "/") || !strings.HasPrefix(m["graph_endpoint"], "https://127.0.0.1:") {
		t.Fatalf("endpoint form %q", m["graph_endpoint"])
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("ready file mode %v", st.Mode())
	}
}

func TestFixedPortsAreConsecutive(t *testing.T) {
	// Find a free base port by letting the OS pick one, then release it.
	probe, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := probe.LoginEndpoint()[strings.LastIndex(probe.LoginEndpoint(), ":")+1:]
	_ = probe.Close()
	s, err := Start(Options{Addr: "127.0.0.1:" + base})
	if err != nil {
		t.Skipf("port %s not reusable: %v", base, err)
	}
	defer func() { _ = s.Close() }()
	port := func(u string) string { return u[strings.LastIndex(u, ":")+1:] }
	var p0 int
	for i, u := range []string{s.LoginEndpoint(), s.GraphEndpoint(), s.ExchangeEndpoint()} {
		p, err := strconv.Atoi(port(u))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			p0 = p
		}
		if p != p0+i {
			t.Fatalf("ports not P, P+1, P+2: %s %s %s", s.LoginEndpoint(), s.GraphEndpoint(), s.ExchangeEndpoint())
		}
	}
}
