package fakecloud

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxBatchRequests is Graph's JSON batching limit (https://learn.microsoft.com/graph/json-batching).
const maxBatchRequests = 20

// batchItem is one request of a $batch body.
type batchItem struct {
	ID        string          `json:"id"`
	Method    string          `json:"method"`
	URL       string          `json:"url"`
	Headers   map[string]any  `json:"headers"`
	Body      json.RawMessage `json:"body"`
	DependsOn []string        `json:"dependsOn"`
}

// batchResponse is one response of a $batch answer. Header values are always JSON strings
// (msgraph-sdk-go-core panics on anything else) and the content type is under the exact key
// "Content-Type".
type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body,omitempty"`
}

// handleBatch serves POST /v1.0/$batch. The envelope itself is subject to latency only; each
// sub-request goes through the fault knobs, the write quota and the route, and is recorded with
// BatchID = the $batch request-id. Requests run one after another, in request order except that a
// request waits for the requests it dependsOn; a request whose dependency failed (status >= 400)
// gets 424. Responses are shuffled when random_seed is set (Graph returns them in any order).
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Requests []batchItem `json:"requests"`
	}
	if err := decodeBody(r, &in); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format: "+err.Error())
		return
	}
	items := in.Requests
	// Message texts below are UNCONFIRMED; the statuses follow json-batching.md.
	if len(items) == 0 {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format: no requests.")
		return
	}
	if len(items) > maxBatchRequests {
		graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf(
			"The number of batch requests (%d) exceeds the limit of %d.", len(items), maxBatchRequests))
		return
	}
	index := map[string]int{}
	for i, it := range items {
		if strings.TrimSpace(it.ID) == "" || it.Method == "" || it.URL == "" {
			graphError(w, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Invalid batch payload format: request %d needs id, method and url.", i+1))
			return
		}
		key := strings.ToLower(it.ID)
		if _, dup := index[key]; dup {
			graphError(w, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Batch request contains duplicate request id '%s'.", it.ID))
			return
		}
		index[key] = i
	}
	for _, it := range items {
		for _, d := range it.DependsOn {
			if _, ok := index[strings.ToLower(d)]; !ok || strings.EqualFold(d, it.ID) {
				graphError(w, http.StatusBadRequest, "BadRequest",
					fmt.Sprintf("Request '%s' depends on '%s', which is not a request of this batch.", it.ID, d))
				return
			}
		}
	}
	if s.Knobs().StrictBatchDependencies && !batchPatternAllowed(items) {
		graphError(w, http.StatusBadRequest, "BadRequest", "Batch should be either fully sequential or fully parallel") // UNCONFIRMED wording
		return
	}
	order, ok := batchOrder(items, index)
	if !ok {
		graphError(w, http.StatusBadRequest, "BadRequest", "The dependsOn references of this batch form a cycle.")
		return
	}

	batchID := w.Header().Get("request-id")
	status := make([]int, len(items))
	results := make([]batchResponse, len(items))
	for _, i := range order {
		it := items[i]
		var failedDep string
		for _, d := range it.DependsOn {
			if status[index[strings.ToLower(d)]] >= 400 {
				failedDep = d
				break
			}
		}
		if failedDep != "" {
			results[i] = failedDependency(it.ID, failedDep)
		} else {
			results[i] = s.runSubRequest(r, batchID, it)
		}
		status[i] = results[i].Status
	}

	out := make([]batchResponse, 0, len(items))
	for i := range items {
		out = append(out, results[i])
	}
	if s.Knobs().RandomSeed != 0 {
		s.shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	writeJSON(w, http.StatusOK, map[string]any{"responses": out})
}

// batchPatternAllowed applies Graph's documented dependsOn limitation (StrictBatchDependencies):
// every request depends on at most one other, and the batch is parallel (no dependsOn),
// sequential (each request after the first depends on the one before it) or "same" (every
// request with a dependsOn names the same request).
func batchPatternAllowed(items []batchItem) bool {
	parallel, serial, same := true, true, true
	common := ""
	for i, it := range items {
		if len(it.DependsOn) > 1 {
			return false
		}
		if len(it.DependsOn) == 1 {
			parallel = false
			d := strings.ToLower(it.DependsOn[0])
			if common == "" {
				common = d
			}
			same = same && d == common
			serial = serial && i > 0 && d == strings.ToLower(items[i-1].ID)
		} else if i > 0 {
			serial = false
		}
	}
	return parallel || serial || same
}

// batchOrder is a stable topological order: at each step the earliest request (in request order)
// whose dependencies have all run.
func batchOrder(items []batchItem, index map[string]int) ([]int, bool) {
	done := make([]bool, len(items))
	order := make([]int, 0, len(items))
	for len(order) < len(items) {
		next := -1
		for i, it := range items {
			if done[i] {
				continue
			}
			ready := true
			for _, d := range it.DependsOn {
				if !done[index[strings.ToLower(d)]] {
					ready = false
					break
				}
			}
			if ready {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, false
		}
		done[next] = true
		order = append(order, next)
	}
	return order, true
}

func failedDependency(id, dep string) batchResponse {
	mw := newMemWriter()
	graphError(mw, http.StatusFailedDependency, "FailedDependency",
		fmt.Sprintf("The request depends on request '%s', which failed.", dep))
	return mw.batchResponse(id)
}

// runSubRequest dispatches one $batch request through the fault pipeline and the Graph mux.
func (s *Server) runSubRequest(outer *http.Request, batchID string, it batchItem) batchResponse {
	target, err := subRequestTarget(it.URL)
	if err != nil {
		mw := newMemWriter()
		graphError(mw, http.StatusBadRequest, "BadRequest", "Invalid request URL '"+it.URL+"'.")
		return mw.batchResponse(it.ID)
	}
	headers := http.Header{}
	for k, v := range it.Headers {
		headers.Set(k, fmt.Sprint(v))
	}
	var body []byte
	if len(it.Body) > 0 && string(it.Body) != "null" {
		body = []byte(it.Body)
		var str string
		if json.Unmarshal(it.Body, &str) == nil && !strings.Contains(strings.ToLower(headers.Get("Content-Type")), "json") {
			// A non-JSON body travels base64-encoded (json-batching.md).
			dec, err := base64.StdEncoding.DecodeString(str)
			if err != nil {
				mw := newMemWriter()
				graphError(mw, http.StatusBadRequest, "BadRequest", "The request body is not valid base64.")
				return mw.batchResponse(it.ID)
			}
			body = dec
		}
		if headers.Get("Content-Type") == "" {
			headers.Set("Content-Type", "application/json")
		}
	}
	method := strings.ToUpper(it.Method)
	req, err := http.NewRequestWithContext(outer.Context(), method, s.graphURL+target, bytes.NewReader(body))
	if err != nil {
		mw := newMemWriter()
		graphError(mw, http.StatusBadRequest, "BadRequest", "Invalid request URL '"+it.URL+"'.")
		return mw.batchResponse(it.ID)
	}
	req.Header = headers
	if body == nil {
		req.Body = http.NoBody
		req.ContentLength = 0
	}

	rec := newRecord(ServiceGraph, req)
	rec.BatchID, rec.BatchItemID = batchID, it.ID
	rec.Write = isWrite(method)
	rec.AppID = callerFrom(outer.Context()).AppID
	mw := newMemWriter()
	setGraphHeaders(mw.Header(), req)
	req = req.WithContext(withRecord(outer.Context(), rec))
	if req.URL.Path == "/v1.0/$batch" {
		graphError(mw, http.StatusBadRequest, "BadRequest", "A $batch request cannot contain another $batch request.")
	} else {
		s.dispatchGraph(mw, req, rec.Write)
	}
	s.finishRecord(rec, mw.status)
	return mw.batchResponse(it.ID)
}

// subRequestTarget turns a $batch url ("/users", "users?$select=id", an absolute URL) into a path
// under /v1.0 plus query.
func subRequestTarget(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if p != "/v1.0" && !strings.HasPrefix(p, "/v1.0/") {
		p = "/v1.0" + p
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, nil
}

// memWriter is an in-memory http.ResponseWriter for $batch sub-requests.
type memWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newMemWriter() *memWriter { return &memWriter{header: http.Header{}} }

func (m *memWriter) Header() http.Header { return m.header }

func (m *memWriter) WriteHeader(code int) {
	if m.status == 0 {
		m.status = code
	}
}

func (m *memWriter) Write(b []byte) (int, error) {
	if m.status == 0 {
		m.status = http.StatusOK
	}
	return m.body.Write(b)
}

// batchResponse converts the recorded answer: JSON bodies inline, other bodies base64.
func (m *memWriter) batchResponse(id string) batchResponse {
	status := m.status
	if status == 0 {
		status = http.StatusOK
	}
	out := batchResponse{ID: id, Status: status, Headers: map[string]string{"Cache-Control": "no-cache"}}
	if m.body.Len() > 0 {
		ct := m.header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		out.Headers["Content-Type"] = ct
		b := m.body.Bytes()
		if strings.Contains(strings.ToLower(ct), "json") && json.Valid(b) {
			out.Body = json.RawMessage(append([]byte(nil), b...))
		} else {
			out.Body = base64.StdEncoding.EncodeToString(b)
		}
	}
	for _, k := range []string{"Retry-After", "Location", "OData-EntityId"} {
		if v := m.header.Get(k); v != "" {
			out.Headers[k] = v
		}
	}
	for _, k := range []string{"x-ms-throttle-information", "x-ms-throttle-scope", "x-ms-throttle-limit-percentage"} {
		if v := m.header.Get(k); v != "" {
			out.Headers[k] = v
		}
	}
	return out
}
