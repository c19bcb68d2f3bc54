package fakecloud

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

func TestProcessCASharedByServers(t *testing.T) {
	pem1, file1, err := ProcessCA()
	if err != nil {
		t.Fatal(err)
	}
	pem2, file2, _ := ProcessCA()
	if file1 != file2 || string(pem1) != string(pem2) {
		t.Fatal("ProcessCA must return the same CA every time")
	}
	onDisk, err := os.ReadFile(file1)
	if err != nil || string(onDisk) != string(pem1) {
		t.Fatalf("CA file does not hold the CA: %v", err)
	}
	a := newFixture(t, Options{})
	b := newFixture(t, Options{})
	if a.s.CACertFile() != file1 || b.s.CACertFile() != file1 {
		t.Fatal("servers must use the process CA file")
	}
	// One client trusting the CA reaches both servers.
	for _, f := range []*fixture{a, b} {
		resp, _ := f.do(mustReq(t, http.MethodGet, f.s.LoginEndpoint()+"/"+f.s.TenantID()+"/v2.0/.well-known/openid-configuration"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("discovery: %d", resp.StatusCode)
		}
	}
	if a.s.LoginEndpoint() == b.s.LoginEndpoint() {
		t.Fatal("two servers must not share ports")
	}
}

func mustReq(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestOpenIDConfiguration(t *testing.T) {
	f := newFixture(t, Options{})
	tid := f.s.TenantID()
	for _, seg := range []string{tid, strings.ToUpper(tid), "contoso.onmicrosoft.com", "organizations", "common"} {
		resp, b := f.do(mustReq(t, http.MethodGet, f.s.LoginEndpoint()+"/"+seg+"/v2.0/.well-known/openid-configuration"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", seg, resp.StatusCode, b)
		}
		m := decodeJSON(t, b)
		for _, k := range []string{"token_endpoint", "authorization_endpoint", "issuer", "jwks_uri", "tenant_region_scope"} {
			if s, _ := m[k].(string); s == "" {
				t.Fatalf("%s: %s missing", seg, k)
			}
		}
		wantIssuer := f.s.LoginEndpoint() + "/" + tid + "/v2.0"
		wantToken := f.s.LoginEndpoint() + "/" + tid + "/oauth2/v2.0/token"
		if seg == "organizations" || seg == "common" {
			wantIssuer = f.s.LoginEndpoint() + "/{tenantid}/v2.0"
			wantToken = f.s.LoginEndpoint() + "/" + seg + "/oauth2/v2.0/token"
		}
		if m["issuer"] != wantIssuer || m["token_endpoint"] != wantToken {
			t.Fatalf("%s: issuer %v token %v", seg, m["issuer"], m["token_endpoint"])
		}
	}
	resp, b := f.do(mustReq(t, http.MethodGet, f.s.LoginEndpoint()+"/nosuch.example/v2.0/.well-known/openid-configuration"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "AADSTS90002") {
		t.Fatalf("unknown tenant: %d %s", resp.StatusCode, b)
	}
}

func TestTokenSuccessAndAudiences(t *testing.T) {
	f := newFixture(t, Options{})
	tid := f.s.TenantID()
	cases := []struct {
		scope, kind string
	}{
		{"https://graph.microsoft.com/.default openid offline_access profile", audienceGraph}, // MSAL adds these
		{"https://microsoftgraph.chinacloudapi.cn/.default", audienceGraph},
		{f.s.GraphEndpoint() + "/.default", audienceGraph},
		{"https://outlook.office365.com/.default", audienceExchange},
		{"https://partner.outlook.cn//.default", audienceExchange},
		{f.s.ExchangeEndpoint() + "/.default", audienceExchange},
	}
	for _, c := range cases {
		// Tenant by initial domain works like the GUID.
		resp, m := f.tokenForm("contoso.onmicrosoft.com", url.Values{"grant_type": {"client_credentials"},
			"client_id": {f.s.ClientID()}, "client_secret": {f.s.ClientSecret()}, "scope": {c.scope}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", c.scope, resp.StatusCode, m)
		}
		if m["token_type"] != "Bearer" || m["expires_in"] != float64(3599) || m["ext_expires_in"] != float64(3599) {
			t.Fatalf("%s: bad token answer %v", c.scope, m)
		}
		f.s.tokensMu.Lock()
		ti := f.s.tokens[m["access_token"].(string)]
		f.s.tokensMu.Unlock()
		if ti.Kind != c.kind || ti.TenantID != tid || ti.AppID != f.s.ClientID() {
			t.Fatalf("%s: remembered %+v", c.scope, ti)
		}
	}
	st := f.s.Stats()
	if st.TokensByAudience[audienceGraph] != 3 || st.TokensByAudience[audienceExchange] != 3 {
		t.Fatalf("tokens by audience: %v", st.TokensByAudience)
	}
	if st.TokensByResource["https://graph.microsoft.com"] != 1 || st.Login.Requests != 6 || st.Login.Status[200] != 6 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestTokenErrors(t *testing.T) {
	f := newFixture(t, Options{})
	tid, cid, secret := f.s.TenantID(), f.s.ClientID(), f.s.ClientSecret()
	good := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {cid}, "client_secret": {secret},
			"scope": {"https://graph.microsoft.com/.default"}}
	}
	cases := []struct {
		name   string
		tenant string
		edit   func(url.Values)
		status int
		code   string
		num    float64
		text   string
	}{
		{"bad secret", tid, func(v url.Values) { v.Set("client_secret", "wrong-secret-value") }, 401, "invalid_client", 7000215, "Invalid client secret provided"},
		{"unknown client", tid, func(v url.Values) { v.Set("client_id", "11111111-2222-3333-4444-555555555555") }, 400, "unauthorized_client", 700016,
			"Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory"},
		{"unknown tenant", "fabrikam.onmicrosoft.com", func(url.Values) {}, 400, "invalid_request", 90002, "Tenant 'fabrikam.onmicrosoft.com' not found"},
		{"bad scope", tid, func(v url.Values) { v.Set("scope", "https://example.com/.default") }, 400, "invalid_scope", 70011, "https://example.com/.default"},
		{"scope without .default", tid, func(v url.Values) { v.Set("scope", "https://graph.microsoft.com/User.Read") }, 400, "invalid_scope", 70011, "not valid"},
		{"no credential", tid, func(v url.Values) { v.Del("client_secret") }, 401, "invalid_client", 7000216, "'client_assertion', 'client_secret'"},
		{"wrong grant", tid, func(v url.Values) { v.Set("grant_type", "password") }, 400, "unsupported_grant_type", 70003, "password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := good()
			c.edit(form)
			resp, m := f.tokenForm(c.tenant, form)
			if resp.StatusCode != c.status || m["error"] != c.code {
				t.Fatalf("got %d %v", resp.StatusCode, m)
			}
			codes, _ := m["error_codes"].([]any)
			if len(codes) != 1 || codes[0] != c.num {
				t.Fatalf("error_codes %v", m["error_codes"])
			}
			desc, _ := m["error_description"].(string)
			if !strings.HasPrefix(desc, "AADSTS") || !strings.Contains(desc, c.text) ||
				!strings.Contains(desc, "Trace ID: ") || !strings.Contains(desc, "Correlation ID: ") || !strings.Contains(desc, "Timestamp: ") {
				t.Fatalf("error_description %q", desc)
			}
			if strings.Contains(desc, secret) || strings.Contains(desc, "wrong-secret-value") {
				t.Fatal("error must never echo a secret")
			}
			for _, k := range []string{"timestamp", "trace_id", "correlation_id", "error_uri"} {
				if s, _ := m[k].(string); s == "" {
					t.Fatalf("%s missing", k)
				}
			}
			if _, err := time.Parse("2006-01-02 15:04:05Z", m["timestamp"].(string)); err != nil {
				t.Fatalf("timestamp: %v", err)
			}
		})
	}
}

func fakeJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "." + enc.EncodeToString([]byte("not-a-real-signature"))
}

func TestClientAssertion(t *testing.T) {
	seed := DefaultSeed()
	certApp := App{ClientID: "aaaaaaaa-0000-4000-8000-000000000001", AcceptAssertions: true}
	seed.Apps = append(seed.Apps, certApp)
	f := newFixture(t, Options{Seed: seed})
	const jwtType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	form := func(clientID, assertion string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_assertion": {assertion},
			"client_assertion_type": {jwtType}, "scope": {"https://outlook.office365.com/.default"}}
	}
	exp := float64(time.Now().Add(time.Hour).Unix())
	resp, m := f.tokenForm(f.s.TenantID(), form(certApp.ClientID, fakeJWT(map[string]any{"sub": certApp.ClientID, "iss": certApp.ClientID, "exp": exp})))
	if resp.StatusCode != 200 || m["access_token"] == "" {
		t.Fatalf("assertion: %d %v", resp.StatusCode, m)
	}
	resp, m = f.tokenForm(f.s.TenantID(), form(certApp.ClientID, fakeJWT(map[string]any{"sub": "someone-else", "iss": "https://issuer"})))
	if resp.StatusCode != 401 || m["error"] != "invalid_client" {
		t.Fatalf("foreign assertion: %d %v", resp.StatusCode, m)
	}
	resp, m = f.tokenForm(f.s.TenantID(), form(certApp.ClientID, fakeJWT(map[string]any{"sub": certApp.ClientID, "exp": float64(time.Now().Add(-time.Hour).Unix())})))
	if resp.StatusCode != 401 || !strings.Contains(m["error_description"].(string), "AADSTS700024") {
		t.Fatalf("expired assertion: %d %v", resp.StatusCode, m)
	}
	resp, m = f.tokenForm(f.s.TenantID(), form(certApp.ClientID, "only.two"))
	if resp.StatusCode != 400 || m["error"] != "invalid_request" {
		t.Fatalf("malformed assertion: %d %v", resp.StatusCode, m)
	}
	// The secret app does not accept assertions.
	resp, m = f.tokenForm(f.s.TenantID(), form(f.s.ClientID(), fakeJWT(map[string]any{"sub": f.s.ClientID()})))
	if resp.StatusCode != 401 || m["error"] != "invalid_client" {
		t.Fatalf("assertion for secret app: %d %v", resp.StatusCode, m)
	}
}
