package fakecloud

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

type exoAnswer struct {
	Context  string           `json:"@odata.context"`
	NextLink string           `json:"@odata.nextLink"`
	Warnings []string         `json:"@adminapi.warnings"`
	Value    []map[string]any `json:"value"`
}

func decodeExo(t *testing.T, b []byte) exoAnswer {
	t.Helper()
	var a exoAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("InvokeCommand answer: %v: %s", err, b)
	}
	if a.Value == nil {
		t.Fatalf("value must always be an array: %s", b)
	}
	return a
}

// exoDetail returns error.code and details[0].message, checking the envelope.
func exoDetail(t *testing.T, b []byte) (code, detail, internalType string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details []struct {
				Code, Target, Message string
			} `json:"details"`
			InnerError struct {
				Message           string `json:"message"`
				Type              string `json:"type"`
				InternalException struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"internalexception"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error envelope: %v: %s", err, b)
	}
	if e.Error.Message != "Error executing cmdlet" || len(e.Error.Details) != 1 || e.Error.Details[0].Code != "Context" ||
		e.Error.InnerError.Type != "Microsoft.Exchange.Admin.OData.Core.ODataServiceException" || e.Error.InnerError.InternalException.Message == "" {
		t.Fatalf("error envelope shape: %s", b)
	}
	return e.Error.Code, e.Error.Details[0].Message, e.Error.InnerError.InternalException.Type
}

func TestInvokeCommandEndpointLifecycle(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.exchangeToken()
	anchor := map[string]string{"X-AnchorMailbox": AnchorMailboxPrefix + "@" + f.s.TenantID()}
	resp, b := f.invoke("", tok, "New-MigrationEndpoint", map[string]any{
		"IMAP": true, "Name": "Exmail", "RemoteServer": "imap.exmail.qq.com", "Port": 993, "Security": "ssl",
		"SkipVerification": true, // the migration engine really connects otherwise
	}, anchor)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ExchangeContentType {
		t.Fatalf("New: %d %s", resp.StatusCode, b)
	}
	a := decodeExo(t, b)
	if a.Context != f.s.ExchangeEndpoint()+"/adminapi/beta/"+f.s.TenantID()+"/$metadata#Collection(Exchange.GenericHashTable)" {
		t.Fatalf("context %q", a.Context)
	}
	if len(a.Value) != 1 {
		t.Fatalf("value %v", a.Value)
	}
	ep := a.Value[0]
	want := map[string]any{"Identity": "Exmail", "EndpointType": "IMAP", "RemoteServer": "imap.exmail.qq.com",
		"Port": float64(993), "Security": "Ssl", "Authentication": "Basic", "AcceptUntrustedCertificates": false,
		"MaxConcurrentMigrations": "100", "MaxConcurrentIncrementalSyncs": "20", "ActiveMigrationCount": "0",
		"ActiveIncrementalSyncCount": "0", "IsValid": true, "Guid@odata.type": "#Guid"}
	for k, v := range want {
		if ep[k] != v {
			t.Fatalf("%s = %#v, want %#v (object %v)", k, ep[k], v, ep)
		}
	}
	if !isGUID(ep["Guid"].(string)) {
		t.Fatalf("Guid %v", ep["Guid"])
	}

	// Get by name (any case), by Guid, and list.
	for _, id := range []string{"exmail", ep["Guid"].(string)} {
		resp, b = f.invoke("", tok, "Get-MigrationEndpoint", map[string]any{"Identity": id}, nil)
		if a := decodeExo(t, b); resp.StatusCode != 200 || len(a.Value) != 1 || a.Value[0]["Identity"] != "Exmail" {
			t.Fatalf("Get %s: %d %s", id, resp.StatusCode, b)
		}
	}
	// Security omitted: stored as None (UNCONFIRMED default); numbers as numeric strings accepted.
	resp, b = f.invoke("", tok, "New-MigrationEndpoint", map[string]any{
		"IMAP": true, "Name": "Another", "RemoteServer": "imap.example.com", "MaxConcurrentMigrations": "50",
		"MaxConcurrentIncrementalSyncs": 10, "Authentication": "NTLM", "SkipVerification": true,
	}, nil)
	if a := decodeExo(t, b); resp.StatusCode != 200 || a.Value[0]["Security"] != "None" ||
		a.Value[0]["MaxConcurrentMigrations"] != "50" || a.Value[0]["MaxConcurrentIncrementalSyncs"] != "10" ||
		a.Value[0]["Authentication"] != "Ntlm" || a.Value[0]["Port"] != float64(993) {
		t.Fatalf("New defaults: %d %s", resp.StatusCode, b)
	}
	resp, b = f.invoke("", tok, "Get-MigrationEndpoint", nil, nil)
	if a := decodeExo(t, b); resp.StatusCode != 200 || len(a.Value) != 2 || a.Value[0]["Identity"] != "Another" {
		t.Fatalf("list sorted by name: %s", b)
	}

	// Duplicate name.
	resp, b = f.invoke("", tok, "New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "EXMAIL", "RemoteServer": "x.example"}, nil)
	code, detail, _ := exoDetail(t, b)
	if resp.StatusCode != 400 || code != "BadRequest" || !strings.Contains(detail, "MigrationEndpointDuplicateException") ||
		!strings.Contains(detail, "EXMAIL") {
		t.Fatalf("duplicate: %d %s", resp.StatusCode, b)
	}
	// MaxConcurrentIncrementalSyncs above MaxConcurrentMigrations.
	resp, b = f.invoke("", tok, "New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "Z", "RemoteServer": "x.example",
		"MaxConcurrentMigrations": 5, "MaxConcurrentIncrementalSyncs": 6}, nil)
	if code, _, _ := exoDetail(t, b); resp.StatusCode != 400 || code != "BadRequest" {
		t.Fatalf("incremental > migrations: %d %s", resp.StatusCode, b)
	}
	// Missing mandatory, bad enum, unknown parameter.
	for _, params := range []map[string]any{
		{"IMAP": true, "Name": "Q"},
		{"IMAP": true, "Name": "Q", "RemoteServer": "x.example", "Security": "Starttls"},
		{"IMAP": true, "Name": "Q", "RemoteServer": "x.example", "Colour": "blue"},
		{"Name": "Q", "RemoteServer": "x.example"},
	} {
		resp, b = f.invoke("", tok, "New-MigrationEndpoint", params, nil)
		if _, detail, _ := exoDetail(t, b); resp.StatusCode != 400 || !strings.Contains(detail, ParameterBinding) {
			t.Fatalf("%v: %d %s", params, resp.StatusCode, b)
		}
	}

	// Remove, then it is gone.
	resp, b = f.invoke("", tok, "Remove-MigrationEndpoint", map[string]any{"Identity": "Exmail", "Confirm": false}, nil)
	if a := decodeExo(t, b); resp.StatusCode != 200 || len(a.Value) != 0 {
		t.Fatalf("Remove: %d %s", resp.StatusCode, b)
	}
	resp, b = f.invoke("", tok, "Remove-MigrationEndpoint", map[string]any{"Identity": "Exmail", "Confirm": false}, nil)
	if code, _, _ := exoDetail(t, b); resp.StatusCode != 404 || code != "NotFound" {
		t.Fatalf("Remove missing: %d %s", resp.StatusCode, b)
	}

	// Get-MigrationConfig.
	resp, b = f.invoke("", tok, "Get-MigrationConfig", map[string]any{}, nil)
	if a := decodeExo(t, b); resp.StatusCode != 200 || a.Value[0]["MaxNumberOfBatches"] != "100" || a.Value[0]["MaxConcurrentMigrations"] != "300" {
		t.Fatalf("config: %s", b)
	}

	recs := f.s.Requests()
	var exo []RequestRecord
	for _, r := range recs {
		if r.Service == ServiceExchange {
			exo = append(exo, r)
		}
	}
	if len(exo) < 3 || !exo[0].AnchorMailbox || exo[1].AnchorMailbox || exo[0].Cmdlet != "New-MigrationEndpoint" ||
		!exo[0].Write || exo[1].Write {
		t.Fatalf("records: %+v", exo[:2])
	}
	st := f.s.Stats()
	if st.ExchangeCmdlets["New-MigrationEndpoint"] != 8 || st.ExchangeCmdlets["Remove-MigrationEndpoint"] != 2 ||
		st.Exchange.Status[404] != 1 {
		t.Fatalf("exchange stats %+v %v", st.Exchange, st.ExchangeCmdlets)
	}
}

func TestInvokeCommandErrorForms(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.exchangeToken()
	resp, b := f.invoke("", tok, "Get-MigrationEndpoint", map[string]any{"Identity": "Nope"}, nil)
	code, detail, typ := exoDetail(t, b)
	parts := strings.Split(detail, "|")
	if resp.StatusCode != 404 || code != "NotFound" || len(parts) != 3 || !strings.HasPrefix(parts[0], "Ex") ||
		parts[1] != ManagementObjectNotFound || parts[2] != `The migration endpoint "Nope" can't be found.` || typ != ManagementObjectNotFound {
		t.Fatalf("pipe form: %d %s", resp.StatusCode, b)
	}
	f.s.SetKnobs(Knobs{ExchangeErrorForm: ExchangeErrorJSON})
	resp, b = f.invoke("", tok, "Get-MigrationEndpoint", map[string]any{"Identity": "Nope"}, nil)
	code, detail, _ = exoDetail(t, b)
	var inner struct {
		Message    string
		TypeName   string
		InnerError any
	}
	if err := json.Unmarshal([]byte(detail), &inner); err != nil || resp.StatusCode != 404 || code != "NotFound" ||
		inner.TypeName != ManagementObjectNotFound || inner.Message != `The migration endpoint "Nope" can't be found.` ||
		!strings.Contains(detail, `"InnerError":null`) {
		t.Fatalf("json form: %d %s (%v)", resp.StatusCode, b, err)
	}
}

func TestInvokeCommandAuthRoutingAndUnknownCmdlet(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.exchangeToken()
	resp, b := f.invoke("", "", "Get-MigrationConfig", nil, nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(string(b), `"Unauthorized"`) {
		t.Fatalf("no token: %d %s", resp.StatusCode, b)
	}
	resp, b = f.invoke("", f.graphToken(), "Get-MigrationConfig", nil, nil)
	if resp.StatusCode != 401 || !strings.Contains(string(b), "https://graph.microsoft.com") {
		t.Fatalf("graph token: %d %s", resp.StatusCode, b)
	}
	// Path case-insensitive, tenant by initial domain; unknown tenant 404.
	u := f.s.ExchangeEndpoint() + "/AdminApi/Beta/Contoso.onmicrosoft.com/invokecommand"
	if resp, b := f.invoke(u, tok, "Get-MigrationConfig", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("case-insensitive path: %d %s", resp.StatusCode, b)
	}
	u = f.s.ExchangeEndpoint() + "/adminapi/beta/fabrikam.onmicrosoft.com/InvokeCommand"
	if resp, _ := f.invoke(u, tok, "Get-MigrationConfig", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown tenant: %d", resp.StatusCode)
	}
	resp, b = f.invoke("", tok, "Get-TransportRule", nil, nil)
	if resp.StatusCode != 403 || len(b) != 0 {
		t.Fatalf("unknown cmdlet: %d %q", resp.StatusCode, b)
	}
	// gzip body accepted.
	body, _ := json.Marshal(map[string]any{"CmdletInput": map[string]any{"CmdletName": "Get-MigrationConfig"}})
	req, _ := http.NewRequest(http.MethodPost, f.invokeURL(), bytes.NewReader(gz(t, body)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "application/json")
	if resp, b := f.do(req); resp.StatusCode != 200 || len(decodeExo(t, b).Value) != 1 {
		t.Fatalf("gzip: %d %s", resp.StatusCode, b)
	}
	// Warnings.
	resp, b = f.invoke("", tok, "Test-FakeWarning", map[string]any{"Text": "hello"}, nil)
	if a := decodeExo(t, b); resp.StatusCode != 200 || len(a.Value) != 0 || len(a.Warnings) != 1 || a.Warnings[0] != "warned: hello" ||
		!strings.Contains(string(b), `"adminapi.warnings@odata.type":"#Collection(String)"`) {
		t.Fatalf("warnings: %s", b)
	}
}

func TestInvokeCommandPaging(t *testing.T) {
	seed := DefaultSeed()
	for i := 0; i < 5; i++ {
		seed.MigrationEndpoints = append(seed.MigrationEndpoints, MigrationEndpoint{Name: fmt.Sprintf("ep%d", i)})
	}
	f := newFixture(t, Options{Seed: seed, Knobs: Knobs{ExchangePageSize: 2}})
	tok := f.exchangeToken()
	var names []string
	u, pages := "", 0
	for {
		resp, b := f.invoke(u, tok, "Get-MigrationEndpoint", map[string]any{}, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, b)
		}
		a := decodeExo(t, b)
		pages++
		for _, v := range a.Value {
			names = append(names, v["Identity"].(string))
		}
		if a.NextLink == "" {
			break
		}
		if !strings.HasPrefix(a.NextLink, f.invokeURL()+"?$skiptoken=") {
			t.Fatalf("nextLink %q", a.NextLink)
		}
		u = a.NextLink
	}
	if pages != 3 || strings.Join(names, ",") != "ep0,ep1,ep2,ep3,ep4" {
		t.Fatalf("%d pages: %v", pages, names)
	}
	// A different body on a nextLink is refused.
	resp, b := f.invoke("", tok, "Get-MigrationEndpoint", map[string]any{}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("first page: %d %s", resp.StatusCode, b)
	}
	next := decodeExo(t, b).NextLink
	if resp, _ := f.invoke(next, tok, "Get-MigrationEndpoint", map[string]any{"Type": "IMAP"}, nil); resp.StatusCode != 400 {
		t.Fatalf("tampered body on nextLink: %d", resp.StatusCode)
	}
	// Prefer: odata.maxpagesize lowers the page size.
	f.s.SetKnobs(Knobs{})
	resp, b = f.invoke("", tok, "Get-MigrationEndpoint", map[string]any{}, map[string]string{"Prefer": "odata.maxpagesize=4"})
	if a := decodeExo(t, b); len(a.Value) != 4 || a.NextLink == "" || resp.Header.Get("Preference-Applied") != "odata.maxpagesize=4" {
		t.Fatalf("Prefer: %d values, next %q", len(a.Value), a.NextLink)
	}
}

func TestInvokeCommandRedirect(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{ExchangeRedirect: true}})
	tok := f.exchangeToken()
	resp, _ := f.invoke("", tok, "Get-MigrationConfig", nil, nil)
	want := f.s.ExchangeEndpoint() + "/regional/adminapi/beta/" + f.s.TenantID() + "/InvokeCommand"
	if resp.StatusCode != 302 || resp.Header.Get("Location") != want {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// What Go's client does by default on a 302: GET without a body. Refused.
	req, _ := http.NewRequest(http.MethodGet, want, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, _ := f.do(req); resp.StatusCode != 405 {
		t.Fatalf("GET on regional: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, want, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, _ := f.do(req); resp.StatusCode != 400 {
		t.Fatalf("POST without body on regional: %d", resp.StatusCode)
	}
	// Re-POSTing the body works.
	if resp, b := f.invoke(want, tok, "Get-MigrationConfig", nil, nil); resp.StatusCode != 200 || len(decodeExo(t, b).Value) != 1 {
		t.Fatalf("regional POST: %d %s", resp.StatusCode, b)
	}
}

func TestInvokeCommandFaults(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{ExchangeConcurrencyRatio: 1}})
	tok := f.exchangeToken()
	resp, b := f.invoke("", tok, "Get-MigrationConfig", nil, nil)
	if resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || string(b) != ConcurrencyLimitText {
		t.Fatalf("concurrency: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	f.s.SetKnobs(Knobs{ExchangeThrottleRatio: 1, RetryAfter: 4})
	resp, _ = f.invoke("", tok, "Get-MigrationConfig", nil, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "4" {
		t.Fatalf("throttle: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Graph knobs do not touch Exchange.
	f.s.SetKnobs(Knobs{ThrottleRatio: 1, Fail503Ratio: 1})
	if resp, _ := f.invoke("", tok, "Get-MigrationConfig", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("graph knobs on exchange: %d", resp.StatusCode)
	}
	st := f.s.Stats()
	if st.Exchange.Throttled != 1 || st.Exchange.Status[500] != 1 || st.ExchangeCmdlets["Get-MigrationConfig"] != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestExchangeLag(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{ExchangeLag: 300 * time.Millisecond}})
	tok := f.exchangeToken()
	resp, b := f.invoke("", tok, "New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "Lagged", "RemoteServer": "imap.example.com",
		"SkipVerification": true}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("New: %d %s", resp.StatusCode, b)
	}
	created := time.Now()
	resp, b = f.invoke("", tok, "Get-MigrationEndpoint", map[string]any{"Identity": "Lagged"}, nil)
	if code, _, _ := exoDetail(t, b); resp.StatusCode != 404 || code != "NotFound" {
		t.Fatalf("during lag: %d %s", resp.StatusCode, b)
	}
	resp, b = f.invoke("", tok, "Get-MigrationEndpoint", nil, nil)
	if a := decodeExo(t, b); resp.StatusCode != 200 || len(a.Value) != 0 {
		t.Fatalf("list during lag: %d %s", resp.StatusCode, b)
	}
	time.Sleep(time.Until(created.Add(320 * time.Millisecond)))
	resp, b = f.invoke("", tok, "Get-MigrationEndpoint", map[string]any{"Identity": "Lagged"}, nil)
	if a := decodeExo(t, b); resp.StatusCode != 200 || len(a.Value) != 1 {
		t.Fatalf("after lag: %d %s", resp.StatusCode, b)
	}
}
