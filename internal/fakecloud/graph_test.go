package fakecloud

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGraphAuth(t *testing.T) {
	f := newFixture(t, Options{})
	resp, b := f.graph(http.MethodGet, "/v1.0/subscribedSkus", "", nil, nil)
	code, msg := graphErr(t, b)
	if resp.StatusCode != 401 || code != "InvalidAuthenticationToken" || msg != "Access token is empty." {
		t.Fatalf("no token: %d %s %s", resp.StatusCode, code, msg)
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/subscribedSkus", "made-up-token", nil, nil)
	code, msg = graphErr(t, b)
	if resp.StatusCode != 401 || code != "InvalidAuthenticationToken" || !strings.Contains(msg, "validation fail") {
		t.Fatalf("unknown token: %d %s %s", resp.StatusCode, code, msg)
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/subscribedSkus", f.exchangeToken(), nil, nil)
	code, msg = graphErr(t, b)
	if resp.StatusCode != 401 || code != "InvalidAuthenticationToken" || !strings.Contains(msg, "https://outlook.office365.com") {
		t.Fatalf("exchange token on graph: %d %s %s", resp.StatusCode, code, msg)
	}
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	resp, _ = f.graph(http.MethodGet, "/v1.0/subscribedSkus", f.graphToken(), nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("graph token: %d", resp.StatusCode)
	}
}

func TestGraphHeadersAndUnknownRoute(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, map[string]string{"client-request-id": "my-crid-1"})
	if ct := resp.Header.Get("Content-Type"); ct != GraphContentType {
		t.Fatalf("content-type %q", ct)
	}
	if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") != "my-crid-1" ||
		resp.Header.Get("x-ms-ags-diagnostic") == "" {
		t.Fatalf("headers %v", resp.Header)
	}
	_ = b
	cases := map[string]string{
		"/v1.0/nosuchThing":               "nosuchThing",
		"/v1.0/subscribedSkus/x/children": "children",
		"/v1.0/testWidgets/abc/owner":     "owner",
	}
	for path, seg := range cases {
		resp, b := f.graph(http.MethodGet, path, tok, nil, map[string]string{"client-request-id": "c2"})
		code, msg := graphErr(t, b)
		if resp.StatusCode != 400 || code != "BadRequest" || msg != "Resource not found for the segment '"+seg+"'." {
			t.Fatalf("%s: %d %s %q", path, resp.StatusCode, code, msg)
		}
		if !strings.Contains(string(b), `"client-request-id":"c2"`) {
			t.Fatalf("innerError must echo client-request-id: %s", b)
		}
	}
	resp, b = f.graph(http.MethodGet, "/beta/users", tok, nil, nil)
	if code, msg := graphErr(t, b); resp.StatusCode != 400 || code != "BadRequest" || msg != "Invalid version: beta" {
		t.Fatalf("bad version: %d %s", resp.StatusCode, b)
	}
}

func TestGraphGzipBodies(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, gz(t, []byte(`{"name":"zipped"}`)),
		map[string]string{"Content-Encoding": "gzip"})
	if resp.StatusCode != 201 || decodeJSON(t, b)["name"] != "zipped" {
		t.Fatalf("gzip body: %d %s", resp.StatusCode, b)
	}
	// The kiota retry bug: header says gzip, body is plain JSON (https://github.com/microsoft/kiota-http-go/issues/183).
	resp, b = f.graph(http.MethodPost, "/v1.0/testWidgets", tok, []byte(`{"name":"plain"}`),
		map[string]string{"Content-Encoding": "gzip"})
	code, msg := graphErr(t, b)
	if resp.StatusCode != 400 || code != "BadRequest" || msg != "The request body is not valid gzip" {
		t.Fatalf("bad gzip: %d %s", resp.StatusCode, b)
	}
	recs := f.s.Requests()
	if len(recs) < 2 || recs[len(recs)-1].ContentEncoding != "gzip" || recs[len(recs)-1].Status != 400 {
		t.Fatalf("records: %+v", recs)
	}
}

func TestSubscribedSkus(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var out struct {
		Context string `json:"@odata.context"`
		Value   []struct {
			AccountID        string          `json:"accountId"`
			AccountName      string          `json:"accountName"`
			AppliesTo        string          `json:"appliesTo"`
			CapabilityStatus string          `json:"capabilityStatus"`
			ConsumedUnits    json.RawMessage `json:"consumedUnits"`
			ID               string          `json:"id"`
			PrepaidUnits     map[string]int  `json:"prepaidUnits"`
			ServicePlans     []map[string]string
			SkuID            string   `json:"skuId"`
			SkuPartNumber    string   `json:"skuPartNumber"`
			SubscriptionIDs  []string `json:"subscriptionIds"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Context != f.s.GraphEndpoint()+"/v1.0/$metadata#subscribedSkus" || len(out.Value) != 4 {
		t.Fatalf("context %q, %d skus", out.Context, len(out.Value))
	}
	bySku := map[string]int{}
	for i, v := range out.Value {
		bySku[v.SkuPartNumber] = i
		if v.ID != f.s.TenantID()+"_"+v.SkuID || v.AccountID != f.s.TenantID() || v.AccountName != "contoso" {
			t.Fatalf("ids: %+v", v)
		}
		if _, err := json.Number(string(v.ConsumedUnits)).Int64(); err != nil {
			t.Fatalf("consumedUnits must be a JSON number, got %s", v.ConsumedUnits)
		}
		if len(v.ServicePlans) == 0 || v.ServicePlans[0]["servicePlanId"] == "" || v.ServicePlans[0]["provisioningStatus"] == "" ||
			len(v.SubscriptionIDs) != 1 {
			t.Fatalf("plans/subscriptions: %+v", v)
		}
	}
	bp := out.Value[bySku["O365_BUSINESS_PREMIUM"]]
	if bp.SkuID != SkuBusinessPremium || string(bp.ConsumedUnits) != "3" || bp.PrepaidUnits["enabled"] != 25 {
		t.Fatalf("business premium: %+v", bp)
	}
	ex := out.Value[bySku["EXCHANGESTANDARD"]]
	if ex.PrepaidUnits["warning"] != 2 || ex.PrepaidUnits["enabled"] != 10 || string(ex.ConsumedUnits) != "0" {
		t.Fatalf("exchange standard: %+v", ex)
	}
	if out.Value[bySku["WINDOWS_STORE"]].AppliesTo != "Company" {
		t.Fatal("one SKU must apply to Company")
	}
	for _, k := range []string{"enabled", "lockedOut", "suspended", "warning"} {
		if _, ok := bp.PrepaidUnits[k]; !ok {
			t.Fatalf("prepaidUnits.%s missing", k)
		}
	}

	resp, b = f.graph(http.MethodGet, "/v1.0/subscribedSkus?%24select=skuId,consumedUnits", tok, nil, nil)
	m := decodeJSON(t, b)
	if resp.StatusCode != 200 || m["@odata.context"] != f.s.GraphEndpoint()+"/v1.0/$metadata#subscribedSkus(skuId,consumedUnits)" {
		t.Fatalf("select: %d %v", resp.StatusCode, m["@odata.context"])
	}
	for _, v := range m["value"].([]any) {
		obj := v.(map[string]any)
		if len(obj) != 2 || obj["skuId"] == nil || obj["consumedUnits"] == nil {
			t.Fatalf("selected object %v", obj)
		}
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/subscribedSkus?$select=nope", tok, nil, nil)
	if code, msg := graphErr(t, b); resp.StatusCode != 400 || code != "BadRequest" || !strings.Contains(msg, "'nope'") {
		t.Fatalf("bad select: %d %s", resp.StatusCode, b)
	}
}

func TestThrottleAnd503Knobs(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{ThrottleRatio: 1}})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)
	code, msg := graphErr(t, b)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "0" || code != "TooManyRequests" || msg != "Please retry again later." {
		t.Fatalf("throttle: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	f.s.SetKnobs(Knobs{ThrottleRatio: 1, RetryAfter: 1.5})
	resp, _ = f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1.5" {
		t.Fatalf("retry-after 1.5: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	f.s.SetKnobs(Knobs{Fail503Ratio: 1, RetryAfter: 2})
	resp, b = f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)
	if code, _ := graphErr(t, b); resp.StatusCode != 503 || code == "" || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("503: %d %s", resp.StatusCode, b)
	}
	f.s.SetKnobs(Knobs{})
	resp, _ = f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("knobs off: %d", resp.StatusCode)
	}
	st := f.s.Stats()
	if st.Graph.Throttled != 2 || st.Graph.Status[429] != 2 || st.Graph.Status[503] != 1 || st.Graph.Status[200] != 1 {
		t.Fatalf("stats %+v", st.Graph)
	}
}

func TestRatiosAreDeterministicWithSeed(t *testing.T) {
	pattern := func() string {
		f := newFixture(t, Options{Knobs: Knobs{ThrottleRatio: 0.5, RandomSeed: 42}})
		tok := f.graphToken()
		var sb strings.Builder
		for i := 0; i < 16; i++ {
			resp, _ := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)
			sb.WriteString(map[bool]string{true: "T", false: "."}[resp.StatusCode == 429])
		}
		return sb.String()
	}
	a, b := pattern(), pattern()
	if a != b || !strings.Contains(a, "T") || !strings.Contains(a, ".") {
		t.Fatalf("seeded ratio patterns differ or are degenerate: %s vs %s", a, b)
	}
}

func TestWriteQuota(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{WriteQuota: 2, WriteWindow: time.Second}})
	tok := f.graphToken()
	for i := 0; i < 2; i++ {
		if resp, b := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "w"}, nil); resp.StatusCode != 201 {
			t.Fatalf("write %d: %d %s", i, resp.StatusCode, b)
		}
	}
	// Reads do not count.
	if resp, _ := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("read under quota: %d", resp.StatusCode)
	}
	resp, b := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "w"}, nil)
	if code, _ := graphErr(t, b); resp.StatusCode != 429 || code != "TooManyRequests" {
		t.Fatalf("over quota: %d %s", resp.StatusCode, b)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q, want 1 (ceil of the time until the window frees)", ra)
	}
	if resp.Header.Get("x-ms-throttle-information") != "WriteLimitExceeded" ||
		resp.Header.Get("x-ms-throttle-scope") != "Tenant_Application/Write/"+f.s.ClientID()+"/"+f.s.TenantID() {
		t.Fatalf("throttle headers %v", resp.Header)
	}
	time.Sleep(1050 * time.Millisecond)
	if resp, b := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "w"}, nil); resp.StatusCode != 201 {
		t.Fatalf("after the window: %d %s", resp.StatusCode, b)
	}
}

func TestWriteQuotaRetryAfterRoundsUp(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{WriteQuota: 1, WriteWindow: 2500 * time.Millisecond}})
	tok := f.graphToken()
	f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "w"}, nil)
	resp, _ := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "w"}, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("want 429 with Retry-After 3 (ceil 2.5s), got %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestReadAfterWriteLag(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{ReadAfterWriteLag: 300 * time.Millisecond}})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "lagged"}, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	created := time.Now()
	id := decodeJSON(t, b)["id"].(string)
	resp, b = f.graph(http.MethodGet, "/v1.0/testWidgets/"+id, tok, nil, nil)
	code, msg := graphErr(t, b)
	if resp.StatusCode != 404 || code != "Request_ResourceNotFound" || !strings.Contains(msg, id) {
		t.Fatalf("during lag: %d %s", resp.StatusCode, b)
	}
	time.Sleep(time.Until(created.Add(320 * time.Millisecond)))
	if resp, b := f.graph(http.MethodGet, "/v1.0/testWidgets/"+id, tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("after lag: %d %s", resp.StatusCode, b)
	}
}

func TestFailAfterWrites(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{FailAfterWrites: 2}})
	tok := f.graphToken()
	// A failed write (400) does not count as successful.
	if resp, _ := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{}, nil); resp.StatusCode != 400 {
		t.Fatalf("bad write: %d", resp.StatusCode)
	}
	for i := 0; i < 2; i++ {
		if resp, _ := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "a"}, nil); resp.StatusCode != 201 {
			t.Fatalf("write %d: %d", i, resp.StatusCode)
		}
	}
	for i := 0; i < 2; i++ {
		resp, b := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "a"}, nil)
		if code, _ := graphErr(t, b); resp.StatusCode != 500 || code != "InternalServerError" {
			t.Fatalf("write after K: %d %s", resp.StatusCode, b)
		}
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("reads keep working: %d", resp.StatusCode)
	}
	f.s.SetKnobs(Knobs{})
	if resp, _ := f.graph(http.MethodPost, "/v1.0/testWidgets", tok, map[string]string{"name": "a"}, nil); resp.StatusCode != 201 {
		t.Fatalf("after knobs change: %d", resp.StatusCode)
	}
}

func TestLatencyKnob(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{Latency: 150 * time.Millisecond}})
	start := time.Now()
	f.graph(http.MethodGet, "/v1.0/subscribedSkus", "", nil, nil)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	f.s.SetKnobs(Knobs{})
	start = time.Now()
	f.graph(http.MethodGet, "/v1.0/subscribedSkus", "", nil, nil)
	if d := time.Since(start); d >= 150*time.Millisecond {
		t.Fatalf("latency still applied: %v", d)
	}
}

func TestKnobsJSON(t *testing.T) {
	var k Knobs
	in := `{"latency":"50ms","write_quota":3000,"write_window":150,"throttle_ratio":0.1,"retry_after":0.5,
	        "read_after_write_lag":"2s","exchange_error_form":"json","exchange_redirect":true,"random_seed":7}`
	if err := json.Unmarshal([]byte(in), &k); err != nil {
		t.Fatal(err)
	}
	want := Knobs{Latency: 50 * time.Millisecond, WriteQuota: 3000, WriteWindow: 150 * time.Second, ThrottleRatio: 0.1,
		RetryAfter: 0.5, ReadAfterWriteLag: 2 * time.Second, ExchangeErrorForm: "json", ExchangeRedirect: true, RandomSeed: 7}
	if k != want {
		t.Fatalf("got %+v", k)
	}
	b, _ := json.Marshal(k)
	if !strings.Contains(string(b), `"write_window":"2m30s"`) || !strings.Contains(string(b), `"latency":"50ms"`) {
		t.Fatalf("marshal: %s", b)
	}
	var back Knobs
	if err := json.Unmarshal(b, &back); err != nil || back != k {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"throttle_ratoi":1}`), &k); err == nil {
		t.Fatal("unknown knob must be an error")
	}
	if err := (Knobs{ThrottleRatio: 2}).Validate(); err == nil {
		t.Fatal("ratio 2 must be invalid")
	}
	if err := (Knobs{ExchangeErrorForm: "xml"}).Validate(); err == nil {
		t.Fatal("unknown error form must be invalid")
	}
}

func TestAdminRoutes(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.graphToken()
	f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil)

	resp, b := f.graph(http.MethodPost, "/_fake/knobs", "", []byte(`{"throttle_ratio":1,"retry_after":3}`), nil)
	if resp.StatusCode != 200 || f.s.Knobs().ThrottleRatio != 1 || f.s.Knobs().RetryAfter != 3 {
		t.Fatalf("knobs: %d %s", resp.StatusCode, b)
	}
	if resp, _ := f.graph(http.MethodGet, "/v1.0/subscribedSkus", tok, nil, nil); resp.StatusCode != 429 {
		t.Fatalf("knob via admin route not applied: %d", resp.StatusCode)
	}
	if resp, _ := f.graph(http.MethodPost, "/_fake/knobs", "", []byte(`{"throttle_ratio":5}`), nil); resp.StatusCode != 400 {
		t.Fatalf("invalid knobs: %d", resp.StatusCode)
	}
	resp, b = f.graph(http.MethodGet, "/_fake/stats", "", nil, nil)
	var st Stats
	if err := json.Unmarshal(b, &st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats: %d %v", resp.StatusCode, err)
	}
	if st.Graph.Requests != 2 || st.Graph.Status[200] != 1 || st.Graph.Status[429] != 1 || st.Login.Requests != 1 {
		t.Fatalf("stats content: %+v", st)
	}
	resp, b = f.graph(http.MethodGet, "/_fake/requests", "", nil, nil)
	var recs []RequestRecord
	if err := json.Unmarshal(b, &recs); err != nil || resp.StatusCode != 200 || len(recs) != 3 ||
		recs[1].Path != "/v1.0/subscribedSkus" || recs[1].Service != ServiceGraph || recs[1].AppID != f.s.ClientID() {
		t.Fatalf("requests: %d %v %+v", resp.StatusCode, err, recs)
	}
	if strings.Contains(string(b), f.s.ClientSecret()) || strings.Contains(string(b), tok) {
		t.Fatal("request log must not hold secrets or tokens")
	}
	if resp, _ := f.graph(http.MethodPost, "/_fake/reset-stats", "", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	if st := f.s.Stats(); st.Graph.Requests != 0 || len(f.s.Requests()) != 0 {
		t.Fatalf("after reset: %+v", st)
	}
}
