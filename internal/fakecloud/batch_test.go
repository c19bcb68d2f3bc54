package fakecloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

type batchOut struct {
	Responses []struct {
		ID      string                     `json:"id"`
		Status  int                        `json:"status"`
		Headers map[string]json.RawMessage `json:"headers"`
		Body    json.RawMessage            `json:"body"`
	} `json:"responses"`
}

func (f *fixture) batch(tok string, requests []map[string]any, hdr map[string]string) (*http.Response, []byte, batchOut) {
	f.t.Helper()
	resp, b := f.graph(http.MethodPost, "/v1.0/$batch", tok, map[string]any{"requests": requests}, hdr)
	var out batchOut
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &out); err != nil {
			f.t.Fatalf("batch answer: %v: %s", err, b)
		}
	}
	return resp, b, out
}

func widgetReq(id, name string, dependsOn ...string) map[string]any {
	r := map[string]any{"id": id, "method": "POST", "url": "/testWidgets",
		"headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]string{"name": name}}
	if len(dependsOn) > 0 {
		r["dependsOn"] = dependsOn
	}
	return r
}

func TestBatchLimitsAndValidation(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.graphToken()
	var reqs []map[string]any
	for i := 0; i < 21; i++ {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/subscribedSkus"})
	}
	resp, b, _ := f.batch(tok, reqs, nil)
	if code, _ := graphErr(t, b); resp.StatusCode != 400 || code != "BadRequest" {
		t.Fatalf("21 requests: %d %s", resp.StatusCode, b)
	}
	resp, _, out := f.batch(tok, reqs[:20], nil)
	if resp.StatusCode != 200 || len(out.Responses) != 20 {
		t.Fatalf("20 requests: %d %d", resp.StatusCode, len(out.Responses))
	}
	dup := []map[string]any{
		{"id": "Abc", "method": "GET", "url": "/subscribedSkus"},
		{"id": "aBC", "method": "GET", "url": "/subscribedSkus"},
	}
	resp, b, _ = f.batch(tok, dup, nil)
	if code, _ := graphErr(t, b); resp.StatusCode != 400 || code != "BadRequest" {
		t.Fatalf("duplicate ids: %d %s", resp.StatusCode, b)
	}
	bad := []map[string]any{{"id": "1", "method": "GET", "url": "/subscribedSkus", "dependsOn": []string{"9"}}}
	if resp, _, _ := f.batch(tok, bad, nil); resp.StatusCode != 400 {
		t.Fatalf("unknown dependency: %d", resp.StatusCode)
	}
	cycle := []map[string]any{
		{"id": "1", "method": "GET", "url": "/subscribedSkus", "dependsOn": []string{"2"}},
		{"id": "2", "method": "GET", "url": "/subscribedSkus", "dependsOn": []string{"1"}},
	}
	if resp, _, _ := f.batch(tok, cycle, nil); resp.StatusCode != 400 {
		t.Fatalf("cycle: %d", resp.StatusCode)
	}
}

func TestBatchDependsOnAnd424(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.graphToken()
	reqs := []map[string]any{
		widgetReq("1", "after-2", "2"),
		widgetReq("2", "first"),
		widgetReq("3", ""), // fails: no name
		widgetReq("4", "needs-3", "3"),
		{"id": "5", "method": "GET", "url": "subscribedSkus?$select=skuId"},
	}
	resp, b, out := f.batch(tok, reqs, map[string]string{"Content-Encoding": ""})
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	status := map[string]int{}
	for _, r := range out.Responses {
		status[r.ID] = r.Status
		for k, v := range r.Headers {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				t.Fatalf("header %s of %s is not a JSON string: %s", k, r.ID, v)
			}
		}
		if len(r.Body) > 0 {
			if _, ok := r.Headers["Content-Type"]; !ok {
				t.Fatalf("response %s has a body but no \"Content-Type\" key: %v", r.ID, r.Headers)
			}
		}
	}
	if status["1"] != 201 || status["2"] != 201 || status["3"] != 400 || status["4"] != 424 || status["5"] != 200 {
		t.Fatalf("statuses %v", status)
	}
	for _, r := range out.Responses {
		if r.ID == "4" {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal(r.Body, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("424 body %s", r.Body)
			}
		}
	}
	// Order of execution: 2 before 1 (dependency), sub-requests recorded with the batch id.
	var order []string
	var batchID string
	for _, rec := range f.s.Requests() {
		if rec.Service == ServiceGraph && rec.BatchID != "" {
			order = append(order, rec.BatchItemID)
			batchID = rec.BatchID
			if rec.BatchItemID != "5" && !rec.Write {
				t.Fatalf("POST sub-request not recorded as write: %+v", rec)
			}
		}
		if rec.Path == "/v1.0/$batch" && (rec.Write || rec.BatchID != "") {
			t.Fatalf("the $batch POST is not a write and not a sub-request: %+v", rec)
		}
	}
	if strings.Join(order, ",") != "2,1,3,5" || batchID != resp.Header.Get("request-id") {
		t.Fatalf("execution order %v, batch id %q vs %q", order, batchID, resp.Header.Get("request-id"))
	}
	if st := f.s.Stats(); st.Graph.Writes != 3 {
		t.Fatalf("writes counted: %d (want 3 sub-request POSTs)", st.Graph.Writes)
	}
}

func TestBatchSubRequestThrottling(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{ThrottleRatio: 1, RetryAfter: 2}})
	tok := f.graphToken()
	resp, b, out := f.batch(tok, []map[string]any{widgetReq("a", "x"), {"id": "b", "method": "GET", "url": "/subscribedSkus"}}, nil)
	if resp.StatusCode != 200 || len(out.Responses) != 2 {
		t.Fatalf("outer: %d %s", resp.StatusCode, b)
	}
	for _, r := range out.Responses {
		var ra, ct string
		if r.Status != 429 || json.Unmarshal(r.Headers["Retry-After"], &ra) != nil || ra != "2" ||
			json.Unmarshal(r.Headers["Content-Type"], &ct) != nil || ct != GraphContentType {
			t.Fatalf("sub-response %s: %d %v", r.ID, r.Status, r.Headers)
		}
	}
	// The write quota counts each sub-request, not the $batch POST.
	f.s.SetKnobs(Knobs{WriteQuota: 2, WriteWindow: 60e9})
	_, _, out = f.batch(tok, []map[string]any{widgetReq("1", "x"), widgetReq("2", "y"), widgetReq("3", "z")}, nil)
	got := map[string]int{}
	for _, r := range out.Responses {
		got[r.ID] = r.Status
		if r.ID == "3" {
			var ra, info string
			_ = json.Unmarshal(r.Headers["Retry-After"], &ra)
			_ = json.Unmarshal(r.Headers["x-ms-throttle-information"], &info)
			if ra != "60" || info != "WriteLimitExceeded" {
				t.Fatalf("quota sub-response headers %v", r.Headers)
			}
		}
	}
	if got["1"] != 201 || got["2"] != 201 || got["3"] != 429 {
		t.Fatalf("quota in batch: %v", got)
	}
}

func TestBatchShuffleWithSeed(t *testing.T) {
	f := newFixture(t, Options{Knobs: Knobs{RandomSeed: 3}})
	tok := f.graphToken()
	var reqs []map[string]any
	for i := 0; i < 20; i++ {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/subscribedSkus"})
	}
	ids := func() string {
		_, _, out := f.batch(tok, reqs, nil)
		var s []string
		for _, r := range out.Responses {
			s = append(s, r.ID)
		}
		return strings.Join(s, ",")
	}
	var inOrder []string
	for i := 0; i < 20; i++ {
		inOrder = append(inOrder, fmt.Sprint(i))
	}
	if got := ids(); got == strings.Join(inOrder, ",") {
		t.Fatal("responses were not shuffled with random_seed set")
	}
	f.s.SetKnobs(Knobs{})
	if got := ids(); got != strings.Join(inOrder, ",") {
		t.Fatalf("responses must keep request order without random_seed: %s", got)
	}
}
