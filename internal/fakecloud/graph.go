package fakecloud

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GraphContentType is the Content-Type of every Graph JSON answer.
const GraphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// maxRequestBody bounds request bodies (after gunzip).
const maxRequestBody = 64 << 20

// graphInstallers add routes to the Graph mux of every new Server; see addGraphRoutes.
var graphInstallers []func(s *Server, mux *http.ServeMux)

// addGraphRoutes registers a function that installs Graph routes. Call it from an init function
// of the file that holds the handlers:
//
//	func init() {
//		addGraphRoutes(func(s *Server, mux *http.ServeMux) {
//			mux.HandleFunc("GET /v1.0/domains/{id}", s.handleGetDomain)
//		})
//	}
//
// Patterns are net/http ServeMux patterns including the /v1.0 prefix. Do not register "/v1.0/" or
// "/": they are the fake's catch-all routes.
func addGraphRoutes(install func(s *Server, mux *http.ServeMux)) {
	graphInstallers = append(graphInstallers, install)
}

type ctxKey int

const (
	recordKey ctxKey = iota
	callerKey
)

// caller is who sent a Graph or Exchange request (from the bearer token).
type caller struct {
	AppID    string
	TenantID string
}

func withRecord(ctx context.Context, rec *RequestRecord) context.Context {
	return context.WithValue(ctx, recordKey, rec)
}

func recordFrom(ctx context.Context) *RequestRecord {
	rec, _ := ctx.Value(recordKey).(*RequestRecord)
	return rec
}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey, c)
}

// callerFrom returns the app and tenant of the request's token (zero outside authenticated routes).
func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey).(caller)
	return c
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func (s *Server) newGraphMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, install := range graphInstallers {
		install(s, mux)
	}
	mux.HandleFunc("/v1.0/", s.unknownGraphRoute)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		seg := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid version: "+seg)
	})
	return mux
}

// graphHandler is the Graph listener: admin routes, then record, latency, auth, gzip, faults, route.
func (s *Server) graphHandler() http.Handler {
	admin := s.adminHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_fake/") {
			admin.ServeHTTP(w, r)
			return
		}
		rec := newRecord(ServiceGraph, r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() { s.finishRecord(rec, sw.status) }()
		setGraphHeaders(sw.Header(), r)
		ctx := withRecord(r.Context(), rec)
		r = r.WithContext(ctx)
		s.sleepLatency(ctx)

		ti, ok := s.authGraph(sw, r)
		if !ok {
			return
		}
		rec.AppID = ti.AppID
		r = r.WithContext(withCaller(ctx, caller{AppID: ti.AppID, TenantID: ti.TenantID}))

		if status, msg := decodeContentEncoding(r); status != 0 {
			graphError(sw, status, "BadRequest", msg)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/v1.0/$batch" {
			s.handleBatch(sw, r)
			return
		}
		rec.Write = isWrite(r.Method)
		s.dispatchGraph(sw, r, rec.Write)
	})
}

// setGraphHeaders sets the headers every Graph answer carries.
func setGraphHeaders(h http.Header, r *http.Request) {
	reqID := newGUID()
	h.Set("request-id", reqID)
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = reqID
	}
	h.Set("client-request-id", crid)
	h.Set("x-ms-ags-diagnostic",
		`{"ServerInfo":{"DataCenter":"Local","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"fakecloud","ADSiteName":"LOC"}}`)
	h.Set("Cache-Control", "no-cache")
	h.Set("Strict-Transport-Security", "max-age=31536000")
}

// authGraph checks the bearer token; on failure it answers 401 and returns false.
func (s *Server) authGraph(w http.ResponseWriter, r *http.Request) (tokenInfo, bool) {
	fail := func(msg string) (tokenInfo, bool) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.loginURL+
			`/common/oauth2/authorize", client_id="`+graphAppID+`"`)
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		return tokenInfo{}, false
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" || strings.EqualFold(h, "bearer") {
		return fail("Access token is empty.")
	}
	ti, _, ok := s.lookupToken(r)
	if !ok {
		return fail("Access token validation failure. Invalid or unknown token: validation failed.")
	}
	if time.Now().After(ti.Expires) {
		return fail("Lifetime validation failed, the token is expired.")
	}
	if ti.Kind != audienceGraph {
		return fail(fmt.Sprintf("Access token validation failure. Invalid audience: the token was issued for '%s', "+
			"not for Microsoft Graph.", ti.Resource))
	}
	return ti, true
}

// decodeContentEncoding replaces a gzip request body by its plain bytes. It returns a non-zero
// status and a message when the body cannot be read (https://github.com/microsoft/kiota-http-go/issues/183: a body that
// says gzip but is not gzip is rejected).
func decodeContentEncoding(r *http.Request) (int, string) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc == "" || enc == "identity" {
		return 0, ""
	}
	if enc != "gzip" && enc != "x-gzip" {
		return http.StatusUnsupportedMediaType, "Content-Encoding '" + enc + "' is not supported."
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	_ = r.Body.Close()
	if err != nil {
		return http.StatusBadRequest, "The request body could not be read."
	}
	var plain []byte
	if len(raw) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return http.StatusBadRequest, "The request body is not valid gzip"
		}
		plain, err = io.ReadAll(io.LimitReader(zr, maxRequestBody+1))
		if err != nil {
			return http.StatusBadRequest, "The request body is not valid gzip"
		}
		if len(plain) > maxRequestBody {
			return http.StatusRequestEntityTooLarge, "The request body is too large."
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(plain))
	r.ContentLength = int64(len(plain))
	r.Header.Del("Content-Encoding")
	r.Header.Set("Content-Length", strconv.Itoa(len(plain)))
	return 0, ""
}

// dispatchGraph runs the fault pipeline for one Graph request (or $batch sub-request) and then
// the route; it counts successful writes for fail_after_writes.
func (s *Server) dispatchGraph(w http.ResponseWriter, r *http.Request, write bool) {
	if s.graphFault(w, r, write) {
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.graphMux.ServeHTTP(sw, r)
	if write && sw.status < 400 {
		s.faultMu.Lock()
		s.goodWrites++
		s.faultMu.Unlock()
	}
}

// graphFault applies fail_503_ratio, throttle_ratio, fail_after_writes and the write quota, in
// that order. It answers and returns true when a fault fires.
func (s *Server) graphFault(w http.ResponseWriter, r *http.Request, write bool) bool {
	const (
		none = iota
		unavailable
		throttled
		crashed
		overQuota
	)
	c := callerFrom(r.Context())
	s.faultMu.Lock()
	k := s.knobs
	fault, wait := none, 0
	switch {
	case s.chanceLocked(k.Fail503Ratio):
		fault = unavailable
	case s.chanceLocked(k.ThrottleRatio):
		fault = throttled
	case write && k.FailAfterWrites > 0 && s.goodWrites >= k.FailAfterWrites:
		fault = crashed
	case write && k.WriteQuota > 0 && k.WriteWindow > 0:
		key := c.AppID + "/" + c.TenantID
		now := time.Now()
		times := s.writeLog[key]
		i := 0
		for i < len(times) && !times[i].After(now.Add(-k.WriteWindow)) {
			i++
		}
		times = times[i:]
		if len(times) >= k.WriteQuota {
			fault = overQuota
			wait = int(math.Ceil(times[0].Add(k.WriteWindow).Sub(now).Seconds()))
			if wait < 1 {
				wait = 1
			}
		} else {
			times = append(times, now)
			// Graph reports the share of the limit used once it is above 80 %
			// (https://learn.microsoft.com/graph/throttling-limits), here on admitted writes, with one decimal.
			if usage := float64(len(times)) / float64(k.WriteQuota); usage > 0.8 {
				w.Header().Set("x-ms-throttle-limit-percentage", strconv.FormatFloat(math.Round(usage*10)/10, 'f', 1, 64))
			}
		}
		s.writeLog[key] = times
	}
	s.faultMu.Unlock()

	switch fault {
	case unavailable:
		w.Header().Set("Retry-After", k.retryAfterHeader())
		graphError(w, http.StatusServiceUnavailable, "serviceNotAvailable",
			"The service is temporarily unavailable. Please retry later.")
	case throttled:
		w.Header().Set("Retry-After", k.retryAfterHeader())
		graphError(w, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	case crashed:
		graphError(w, http.StatusInternalServerError, "InternalServerError",
			fmt.Sprintf("An internal server error occurred. (fakecloud: fail_after_writes=%d reached)", k.FailAfterWrites))
	case overQuota:
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		w.Header().Set("x-ms-throttle-information", "WriteLimitExceeded")
		w.Header().Set("x-ms-throttle-scope", "Tenant_Application/Write/"+c.AppID+"/"+c.TenantID)
		graphError(w, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	default:
		return false
	}
	return true
}

// unknownGraphRoute answers like Graph does for a path it has no resource for.
func (s *Server) unknownGraphRoute(w http.ResponseWriter, r *http.Request) {
	graphError(w, http.StatusBadRequest, "BadRequest",
		fmt.Sprintf("Resource not found for the segment '%s'.", s.unmatchedSegment(r.URL.Path)))
}

// unmatchedSegment finds the first path segment under /v1.0 at which no registered route matches.
func (s *Server) unmatchedSegment(path string) string {
	rest := strings.Trim(strings.TrimPrefix(path, "/v1.0"), "/")
	if rest == "" {
		return ""
	}
	segs := strings.Split(rest, "/")
	prefix := "/v1.0"
	for _, seg := range segs {
		prefix += "/" + seg
		if !s.graphPathKnown(prefix) {
			return seg
		}
	}
	return segs[len(segs)-1]
}

func (s *Server) graphPathKnown(p string) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
		req := &http.Request{Method: m, URL: &url.URL{Path: p}, Host: "graph", Header: http.Header{}}
		_, pattern := s.graphMux.Handler(req)
		if pattern != "" && pattern != "/v1.0/" && pattern != "/" {
			return true
		}
	}
	return false
}

// writeJSON writes v as a Graph JSON answer (with Graph's Content-Type). For status 204 use
// w.WriteHeader(http.StatusNoContent) instead: a 204 has no body and no Content-Type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		graphError(w, http.StatusInternalServerError, "InternalServerError", "fakecloud could not encode the answer")
		return
	}
	w.Header().Set("Content-Type", GraphContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// graphError writes Graph's error body: error.code, error.message and innerError with date,
// request-id and client-request-id (taken from the headers already set on w).
func graphError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	reqID := h.Get("request-id")
	if reqID == "" {
		reqID = newGUID()
		h.Set("request-id", reqID)
	}
	crid := h.Get("client-request-id")
	if crid == "" {
		crid = reqID
	}
	body := map[string]any{"error": map[string]any{
		"code":    code,
		"message": msg,
		"innerError": map[string]any{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        reqID,
			"client-request-id": crid,
		},
	}}
	b, _ := json.Marshal(body)
	h.Set("Content-Type", GraphContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// notFoundGraph writes Graph's 404 for a directory object that does not exist (or is lagging).
func notFoundGraph(w http.ResponseWriter, id string) {
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// decodeBody decodes a JSON request body into v. An empty body is an error.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the request body is empty")
		}
		return fmt.Errorf("the request body is not valid JSON: %v", err)
	}
	return nil
}

// odataContext builds an @odata.context value for this fake's Graph endpoint, e.g.
// s.odataContext("subscribedSkus") -> "https://127.0.0.1:P/v1.0/$metadata#subscribedSkus".
func (s *Server) odataContext(fragment string) string {
	return s.graphURL + "/v1.0/$metadata#" + fragment
}

// applySelect honours $select on a list of objects. typeName is used in the error message (e.g.
// "microsoft.graph.subscribedSku"). It returns the projected objects and the selected property
// names in canonical case (nil when there is no $select). Unknown properties are Graph's 400.
func applySelect(r *http.Request, typeName string, objs []map[string]any) ([]map[string]any, []string, error) {
	raw := r.URL.Query().Get("$select")
	if strings.TrimSpace(raw) == "" {
		return objs, nil, nil
	}
	known := map[string]string{}
	for _, o := range objs {
		for k := range o {
			if !strings.Contains(k, "@") {
				known[strings.ToLower(k)] = k
			}
		}
	}
	var names []string
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		canon, ok := known[strings.ToLower(p)]
		if !ok && len(objs) > 0 {
			return nil, nil, fmt.Errorf("Could not find a property named '%s' on type '%s'.", p, typeName) //nolint:staticcheck // ST1005: Graph's message, sent verbatim
		}
		if !ok {
			canon = p
		}
		names = append(names, canon)
	}
	out := make([]map[string]any, len(objs))
	for i, o := range objs {
		m := map[string]any{}
		for _, n := range names {
			if v, ok := o[n]; ok {
				m[n] = v
			}
		}
		for k, v := range o { // keep instance annotations such as @odata.type
			if strings.HasPrefix(k, "@") {
				m[k] = v
			}
		}
		out[i] = m
	}
	return out, names, nil
}

// selectSuffix renders selected names for @odata.context, e.g. "(skuId,consumedUnits)".
func selectSuffix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return "(" + strings.Join(names, ",") + ")"
}

// stringAt is m[key] when it holds a string, else "".
func stringAt(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// sortedKeys is a small helper for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
