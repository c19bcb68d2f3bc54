package fakecloud

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Service names used in Stats and RequestRecord.
const (
	ServiceLogin    = "login"
	ServiceGraph    = "graph"
	ServiceExchange = "exchange"
)

// maxRequestLog bounds the request log of a long-running fake; the oldest records are dropped.
const maxRequestLog = 100000

// ServiceStats counts the requests one service answered.
type ServiceStats struct {
	Requests int `json:"requests"`
	// Writes counts writes: Graph POST/PATCH/PUT/DELETE ($batch sub-requests, not the $batch POST
	// itself); Exchange InvokeCommand calls of cmdlets other than Get-* and Test-*.
	Writes int `json:"writes"`
	// Status maps HTTP status -> count.
	Status map[int]int `json:"status"`
	// Throttled counts 429 answers.
	Throttled int `json:"throttled"`
}

// Stats are the counters of a Server since start or the last ResetStats. Graph counts include
// $batch sub-requests (each is also a RequestRecord) and the $batch POST itself.
type Stats struct {
	Login    ServiceStats `json:"login"`
	Graph    ServiceStats `json:"graph"`
	Exchange ServiceStats `json:"exchange"`
	// TokensByAudience counts issued tokens per audience kind: "graph" or "exchange".
	TokensByAudience map[string]int `json:"tokens_by_audience"`
	// TokensByResource counts issued tokens per requested resource URI (scope without /.default),
	// e.g. "https://graph.microsoft.com".
	TokensByResource map[string]int `json:"tokens_by_resource"`
	// ExchangeCmdlets counts InvokeCommand requests per cmdlet name.
	ExchangeCmdlets map[string]int `json:"exchange_cmdlets"`
}

// RequestRecord is one entry of the request log. Bodies, headers and secrets are never recorded.
// Records are appended when the answer is complete, so $batch sub-requests come before their
// $batch POST.
type RequestRecord struct {
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	// Query is the query string with credential-like parameters removed.
	Query  string `json:"query,omitempty"`
	Status int    `json:"status"`
	// Cmdlet is the InvokeCommand cmdlet name (exchange only).
	Cmdlet string `json:"cmdlet,omitempty"`
	// MigrationRows are the EmailAddress values of the CSVData rows a New-MigrationBatch or
	// Set-MigrationBatch -AddUsers sent (addresses only, never the other columns), so a test can
	// compare them with Server.MailboxReadyAt.
	MigrationRows []string `json:"migration_rows,omitempty"`
	Write         bool     `json:"write"`
	// BatchID is the request-id of the enclosing $batch, "" unless this is a sub-request;
	// BatchItemID is the sub-request's id inside that batch.
	BatchID     string `json:"batch_id"`
	BatchItemID string `json:"batch_item_id,omitempty"`
	// ContentEncoding is the request's Content-Encoding header (e.g. "gzip").
	ContentEncoding string `json:"content_encoding"`
	// AnchorMailbox (exchange) is true when X-AnchorMailbox was
	// APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@<tenant id or initial domain>.
	AnchorMailbox bool `json:"anchor_mailbox"`
	// AppID is the client id of the caller, when known.
	AppID string `json:"app_id,omitempty"`
	// Duration is how long the answer took, in milliseconds.
	DurationMS float64 `json:"duration_ms"`
}

func newStats() Stats {
	return Stats{
		Login:            ServiceStats{Status: map[int]int{}},
		Graph:            ServiceStats{Status: map[int]int{}},
		Exchange:         ServiceStats{Status: map[int]int{}},
		TokensByAudience: map[string]int{},
		TokensByResource: map[string]int{},
		ExchangeCmdlets:  map[string]int{},
	}
}

func copyIntMap[K comparable](m map[K]int) map[K]int {
	out := make(map[K]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (ss ServiceStats) clone() ServiceStats {
	ss.Status = copyIntMap(ss.Status)
	return ss
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	st := s.stats
	st.Login = st.Login.clone()
	st.Graph = st.Graph.clone()
	st.Exchange = st.Exchange.clone()
	st.TokensByAudience = copyIntMap(st.TokensByAudience)
	st.TokensByResource = copyIntMap(st.TokensByResource)
	st.ExchangeCmdlets = copyIntMap(st.ExchangeCmdlets)
	return st
}

// ResetStats zeroes the counters and empties the request log.
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats = newStats()
	s.requests = nil
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return append([]RequestRecord(nil), s.requests...)
}

// sensitiveQueryKeys are dropped from recorded query strings.
var sensitiveQueryKeys = []string{"secret", "password", "token", "assertion", "code", "key", "sig", "credential"}

func sanitizeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		lk := strings.ToLower(k)
		drop := false
		for _, bad := range sensitiveQueryKeys {
			if strings.Contains(lk, bad) && lk != "$skiptoken" {
				drop = true
			}
		}
		if !drop {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	v := url.Values{}
	for _, k := range keys {
		v[k] = q[k]
	}
	return v.Encode()
}

// newRecord starts a request record.
func newRecord(service string, r *http.Request) *RequestRecord {
	return &RequestRecord{
		Time:            time.Now().UTC(),
		Service:         service,
		Method:          r.Method,
		Path:            r.URL.Path,
		Query:           sanitizeQuery(r.URL.Query()),
		ContentEncoding: r.Header.Get("Content-Encoding"),
	}
}

// finishRecord stores a completed record and updates the counters.
func (s *Server) finishRecord(rec *RequestRecord, status int) {
	if status == 0 {
		status = http.StatusOK
	}
	rec.Status = status
	rec.DurationMS = float64(time.Since(rec.Time).Microseconds()) / 1000
	s.statsMu.Lock()
	var ss *ServiceStats
	switch rec.Service {
	case ServiceLogin:
		ss = &s.stats.Login
	case ServiceGraph:
		ss = &s.stats.Graph
	default:
		ss = &s.stats.Exchange
	}
	ss.Requests++
	if rec.Write {
		ss.Writes++
	}
	ss.Status[status]++
	if status == http.StatusTooManyRequests {
		ss.Throttled++
	}
	if rec.Cmdlet != "" {
		s.stats.ExchangeCmdlets[rec.Cmdlet]++
	}
	s.requests = append(s.requests, *rec)
	if len(s.requests) > maxRequestLog {
		s.requests = append([]RequestRecord(nil), s.requests[len(s.requests)-maxRequestLog:]...)
	}
	s.statsMu.Unlock()

	if s.opts.Logf != nil {
		line := rec.Service + " " + rec.Method + " " + rec.Path
		if rec.Cmdlet != "" {
			line += " " + rec.Cmdlet
		}
		if rec.BatchID != "" {
			line += " (batch " + rec.BatchID + " item " + rec.BatchItemID + ")"
		}
		s.opts.Logf("%s -> %d (%.1f ms)", line, status, rec.DurationMS)
	}
}

// countToken records an issued token.
func (s *Server) countToken(kind, resource string) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats.TokensByAudience[kind]++
	s.stats.TokensByResource[resource]++
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
