package fakecloud

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testWidgets is a Graph route installed only in tests: it exercises the route-extension
// mechanism and gives the write/lag knobs an object to create.
var testWidgets sync.Map // *Server -> *sync.Map(id -> name)

func init() {
	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
		store := &sync.Map{}
		testWidgets.Store(s, store)
		mux.HandleFunc("POST /v1.0/testWidgets", func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Name string `json:"name"`
			}
			if err := decodeBody(r, &body); err != nil || body.Name == "" {
				graphError(w, http.StatusBadRequest, "Request_BadRequest", "A widget needs a name.")
				return
			}
			id := newGUID()
			store.Store(id, body.Name)
			s.markCreated("testWidget", id)
			writeJSON(w, http.StatusCreated, map[string]any{"id": id, "name": body.Name})
		})
		mux.HandleFunc("GET /v1.0/testWidgets/{id}", func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			name, ok := store.Load(id)
			if !ok || s.lagging("testWidget", id) {
				notFoundGraph(w, id)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"id": id, "name": name})
		})
		mux.HandleFunc("DELETE /v1.0/testWidgets/{id}", func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			if _, ok := store.LoadAndDelete(id); !ok {
				notFoundGraph(w, id)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	})
	registerCmdlet("Test-FakeWarning", []string{"Text"}, func(ctx *CmdletContext, p Params) ([]map[string]any, error) {
		text, err := p.String("Text")
		if err != nil {
			return nil, err
		}
		ctx.Warn("warned: %s", text)
		return nil, nil
	})
}

type fixture struct {
	t *testing.T
	s *Server
	c *http.Client
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &fixture{t: t, s: s, c: caClient(t)}
}

// caClient trusts the process CA and does not follow redirects.
func caClient(t *testing.T) *http.Client {
	t.Helper()
	pemBytes, _, err := ProcessCA()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CA PEM not parsable")
	}
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (f *fixture) do(req *http.Request) (*http.Response, []byte) {
	f.t.Helper()
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, b
}

// tokenForm posts a token request and returns the answer.
func (f *fixture) tokenForm(tenant string, form url.Values) (*http.Response, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.s.LoginEndpoint()+"/"+tenant+"/oauth2/v2.0/token",
		strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, b := f.do(req)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Fatalf("token answer not JSON: %v: %s", err, b)
	}
	return resp, m
}

// token gets an access token for the first app and the given resource.
func (f *fixture) token(resource string) string {
	f.t.Helper()
	resp, m := f.tokenForm(f.s.TenantID(), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {f.s.ClientID()},
		"client_secret": {f.s.ClientSecret()}, "scope": {resource + "/.default"},
	})
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("token: %d %v", resp.StatusCode, m)
	}
	return m["access_token"].(string)
}

func (f *fixture) graphToken() string    { return f.token("https://graph.microsoft.com") }
func (f *fixture) exchangeToken() string { return f.token("https://outlook.office365.com") }

// graph sends a Graph request; body may be nil, []byte or a value to JSON-encode.
func (f *fixture) graph(method, path, tok string, body any, hdr map[string]string) (*http.Response, []byte) {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.s.GraphEndpoint()+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return f.do(req)
}

// invokeURL is the canonical InvokeCommand URL for the tenant GUID.
func (f *fixture) invokeURL() string {
	return f.s.ExchangeEndpoint() + "/adminapi/beta/" + f.s.TenantID() + "/InvokeCommand"
}

// invoke POSTs a cmdlet to url (invokeURL() when empty).
func (f *fixture) invoke(u, tok, cmdlet string, params map[string]any, hdr map[string]string) (*http.Response, []byte) {
	f.t.Helper()
	if u == "" {
		u = f.invokeURL()
	}
	body, _ := json.Marshal(map[string]any{"CmdletInput": map[string]any{"CmdletName": cmdlet, "Parameters": params}})
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return f.do(req)
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %q", err, b)
	}
	return m
}

// graphErr extracts error.code and error.message and checks innerError is well formed.
func graphErr(t *testing.T, b []byte) (code, msg string) {
	t.Helper()
	m := decodeJSON(t, b)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", b)
	}
	inner, ok := e["innerError"].(map[string]any)
	if !ok {
		t.Fatalf("no innerError: %s", b)
	}
	if _, err := time.Parse("2006-01-02T15:04:05", inner["date"].(string)); err != nil {
		t.Fatalf("innerError.date %v: %v", inner["date"], err)
	}
	if inner["request-id"] == "" || inner["client-request-id"] == "" {
		t.Fatalf("innerError ids missing: %s", b)
	}
	return e["code"].(string), e["message"].(string)
}
