package fakecloud

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ExchangeContentType is the Content-Type of InvokeCommand JSON answers.
const ExchangeContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// ConcurrencyLimitText is the plain-text body Exchange sends (with HTTP 500) when a tenant has too
// many requests in flight (observed by https://github.com/GreyCorbel/ExoHelper; UNCONFIRMED).
const ConcurrencyLimitText = "You have reached the maximum number of concurrent requests per tenant. Please wait and try again"

// AnchorMailboxPrefix is the app-only X-AnchorMailbox value before "@<tenant>".
const AnchorMailboxPrefix = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"

// invokePathRE matches the canonical and the "regional" InvokeCommand paths, case-insensitively.
var invokePathRE = regexp.MustCompile(`(?i)^/(regional/)?adminapi/beta/([^/]+)/invokecommand$`)

// exchangeHandler serves POST /adminapi/beta/{tenant}/InvokeCommand (and the regional path the
// exchange_redirect knob sends clients to).
func (s *Server) exchangeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := newRecord(ServiceExchange, r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() { s.finishRecord(rec, sw.status) }()
		reqID := newGUID()
		sw.Header().Set("request-id", reqID)
		s.exoRate.setExoRateHeaders(sw.Header())
		if c := r.Header.Get("client-request-id"); c != "" {
			sw.Header().Set("client-request-id", c)
		}
		ctx := withRecord(r.Context(), rec)
		r = r.WithContext(ctx)
		s.sleepLatency(ctx)
		s.serveInvokeCommand(sw, r, rec)
	})
}

// exoSimpleError is the short error shape used before a cmdlet runs (auth, routing, body).
func exoSimpleError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg}})
	w.Header().Set("Content-Type", ExchangeContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) serveInvokeCommand(w http.ResponseWriter, r *http.Request, rec *RequestRecord) {
	m := invokePathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		exoSimpleError(w, http.StatusNotFound, "NotFound", "The requested resource does not exist.")
		return
	}
	regional, tenantSeg := m[1] != "", m[2]
	tid, ok := s.resolveTenant(tenantSeg)
	if !ok {
		exoSimpleError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("The tenant '%s' could not be found.", tenantSeg))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		exoSimpleError(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The HTTP method '"+r.Method+"' is not allowed for InvokeCommand; use POST.")
		return
	}

	// Auth: a bearer token for the Exchange audience.
	unauthorized := func(msg string) {
		w.Header().Set("WWW-Authenticate", `Bearer client_id="`+exchangeAppID+`", trusted_issuers="00000001-0000-0000-c000-000000000000@*", `+
			`token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="`+s.loginURL+`/common/oauth2/authorize", error="invalid_token"`)
		exoSimpleError(w, http.StatusUnauthorized, "Unauthorized", msg)
	}
	ti, _, ok := s.lookupToken(r)
	switch {
	case !ok:
		unauthorized("The access token is missing or invalid.")
		return
	case time.Now().After(ti.Expires):
		unauthorized("The access token has expired.")
		return
	case ti.Kind != audienceExchange:
		unauthorized(fmt.Sprintf("The access token was issued for audience '%s', not for Exchange Online.", ti.Resource))
		return
	}
	rec.AppID = ti.AppID
	rec.AnchorMailbox = s.anchorMailboxOK(r.Header.Get("X-AnchorMailbox"))

	if status, msg := decodeContentEncoding(r); status != 0 {
		exoSimpleError(w, status, "BadRequest", msg)
		return
	}

	k := s.Knobs()
	if !regional && k.ExchangeRedirect {
		loc := s.exchangeURL + "/regional/adminapi/beta/" + tenantSeg + "/InvokeCommand"
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
		return
	}

	name, params, err := parseInvokeBody(r.Body)
	if err != nil {
		exoSimpleError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	spec, known := cmdlets[strings.ToLower(name)]
	rec.Cmdlet = name
	if known {
		rec.Cmdlet = spec.Name
	}
	rec.Write = isWriteCmdlet(rec.Cmdlet)

	// Fault knobs.
	s.faultMu.Lock()
	throttle := s.chanceLocked(k.ExchangeThrottleRatio)
	busy := !throttle && s.chanceLocked(k.ExchangeConcurrencyRatio)
	s.faultMu.Unlock()
	if throttle {
		w.Header().Set("Retry-After", k.retryAfterHeader())
		exoSimpleError(w, http.StatusTooManyRequests, "TooManyRequests",
			"The request was throttled. Retry after the interval in the Retry-After header.") // text UNCONFIRMED
		return
	}
	if busy {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, ConcurrencyLimitText)
		return
	}

	if !known {
		// Unknown (or not permitted) cmdlet: 403 with an empty body (seen by third-party clients; UNCONFIRMED).
		w.WriteHeader(http.StatusForbidden)
		return
	}

	// Paging: a POST of the same body to @odata.nextLink carries $skiptoken.
	digest := invokeDigest(spec.Name, params)
	offset := 0
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		off, ok := parseSkipToken(tok, digest)
		if !ok {
			exoSimpleError(w, http.StatusBadRequest, "BadRequest",
				"The $skiptoken is not valid for this request; send the same body as the first request.")
			return
		}
		offset = off
	}

	if rec.Write && k.ExchangeFailAfterWrites != 0 {
		s.faultMu.Lock()
		crashed := k.ExchangeFailAfterWrites < 0 || s.goodExoWrites >= k.ExchangeFailAfterWrites
		s.faultMu.Unlock()
		if crashed {
			s.writeExoError(w, newExoError(http.StatusInternalServerError, "InternalServerError", "System.InvalidOperationException",
				fmt.Sprintf("An internal server error occurred. (fakecloud: exchange_fail_after_writes=%d reached)", k.ExchangeFailAfterWrites)), k.ExchangeErrorForm)
			return
		}
	}

	ctx := &CmdletContext{Cmdlet: spec.Name, TenantID: tid, AppID: ti.AppID, Request: r, s: s, rec: rec}
	var values []map[string]any
	if perr := spec.checkParams(params); perr != nil {
		err = perr
	} else {
		values, err = spec.Run(ctx, params)
	}
	if err == nil && rec.Write {
		s.faultMu.Lock()
		s.goodExoWrites++
		s.faultMu.Unlock()
	}
	if err != nil {
		var xe *ExoError
		if !errors.As(err, &xe) {
			xe = newExoError(http.StatusInternalServerError, "InternalServerError", "System.InvalidOperationException", err.Error())
		}
		s.writeExoError(w, xe, k.ExchangeErrorForm)
		return
	}
	if values == nil {
		values = []map[string]any{}
	}
	sel := strings.TrimSpace(r.URL.Query().Get("$select"))
	if sel != "" {
		values = selectExoProperties(values, sel)
	}

	size := k.pageSize()
	if n := preferMaxPageSize(r.Header.Get("Prefer")); n > 0 {
		if n < size {
			size = n
		}
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
	}
	if offset > len(values) {
		offset = len(values)
	}
	page := values[offset:]
	body := map[string]any{
		"@odata.context": s.exchangeURL + "/adminapi/beta/" + tid + "/$metadata#Collection(Exchange.GenericHashTable)",
	}
	if len(page) > size {
		page = page[:size]
		next := s.exchangeURL + r.URL.Path + "?$skiptoken=" + skipToken(offset+size, digest)
		if sel != "" {
			next += "&$select=" + url.QueryEscape(sel)
		}
		body["@odata.nextLink"] = next
	}
	body["value"] = page
	if len(ctx.warnings) > 0 {
		body["adminapi.warnings@odata.type"] = "#Collection(String)"
		body["@adminapi.warnings"] = ctx.warnings
	}
	b, err := json.Marshal(body)
	if err != nil {
		exoSimpleError(w, http.StatusInternalServerError, "InternalServerError", "fakecloud could not encode the answer")
		return
	}
	w.Header().Set("Content-Type", ExchangeContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// isWriteCmdlet: every cmdlet except Get-* and Test-* changes something.
func isWriteCmdlet(name string) bool {
	verb, _, _ := strings.Cut(strings.ToLower(name), "-")
	return verb != "get" && verb != "test"
}

// anchorMailboxOK checks the app-only X-AnchorMailbox form for this tenant.
func (s *Server) anchorMailboxOK(v string) bool {
	prefix := AnchorMailboxPrefix + "@"
	if len(v) <= len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return false
	}
	_, ok := s.resolveTenant(v[len(prefix):])
	return ok
}

// parseInvokeBody decodes {"CmdletInput":{"CmdletName":..,"Parameters":{..}}}; numbers stay
// json.Number.
func parseInvokeBody(body io.Reader) (string, Params, error) {
	raw, err := io.ReadAll(io.LimitReader(body, maxRequestBody))
	if err != nil {
		return "", nil, errors.New("the request body could not be read")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", nil, errors.New("the request body is empty; InvokeCommand needs {\"CmdletInput\":{\"CmdletName\":...,\"Parameters\":{...}}}")
	}
	var env struct {
		CmdletInput *struct {
			CmdletName string         `json:"CmdletName"`
			Parameters map[string]any `json:"Parameters"`
		} `json:"CmdletInput"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return "", nil, fmt.Errorf("the request body is not valid JSON: %v", err)
	}
	if env.CmdletInput == nil || strings.TrimSpace(env.CmdletInput.CmdletName) == "" {
		return "", nil, errors.New("the request body must contain CmdletInput.CmdletName")
	}
	p := Params(env.CmdletInput.Parameters)
	if p == nil {
		p = Params{}
	}
	return strings.TrimSpace(env.CmdletInput.CmdletName), p, nil
}

// invokeDigest identifies a request body for paging (same cmdlet, same parameters).
func invokeDigest(name string, p Params) string {
	b, _ := json.Marshal(map[string]any{"n": strings.ToLower(name), "p": map[string]any(p)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func skipToken(offset int, digest string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + ":" + digest))
}

func parseSkipToken(tok, digest string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	off, dig, ok := strings.Cut(string(b), ":")
	if !ok || dig != digest {
		return 0, false
	}
	n, err := strconv.Atoi(off)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// preferMaxPageSize reads odata.maxpagesize from a Prefer header (0 when absent).
func preferMaxPageSize(prefer string) int {
	for _, part := range strings.Split(prefer, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "odata.maxpagesize") {
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`))
			if err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// writeExoError renders the InvokeCommand error envelope (observed in the ExchangeOnlineManagement module's traffic; UNCONFIRMED)
// with details[].message in the pipe or the JSON-string form.
func (s *Server) writeExoError(w http.ResponseWriter, e *ExoError, form string) {
	var detail string
	if form == ExchangeErrorJSON {
		b, _ := json.Marshal(struct {
			Message    string
			TypeName   string
			InnerError any
		}{e.Message, e.ExceptionType, nil})
		detail = string(b)
	} else {
		detail = e.ErrorID + "|" + e.ExceptionType + "|" + e.Message
	}
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	body := map[string]any{"error": map[string]any{
		"code":    code,
		"message": "Error executing cmdlet",
		"details": []any{map[string]any{"code": "Context", "target": "", "message": detail}},
		"innererror": map[string]any{
			"message":    "Error executing cmdlet",
			"type":       "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
			"stacktrace": "",
			"internalexception": map[string]any{
				"message":    e.Message,
				"type":       e.ExceptionType,
				"stacktrace": "",
			},
		},
	}}
	b, _ := json.Marshal(body)
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", ExchangeContentType)
	w.Header().Set("X-ExceptionType", e.ExceptionType[strings.LastIndex(e.ExceptionType, ".")+1:])
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// selectExoProperties honours ?$select=A,B on InvokeCommand (what REST clients of the admin API send
// for the module's -PropertiesToLoad): each object keeps the named properties (case-insensitive) and
// their "Name@..." annotations. Unknown names are ignored (the service's answer to them is
// UNCONFIRMED).
func selectExoProperties(values []map[string]any, sel string) []map[string]any {
	var names []string
	for _, n := range strings.Split(sel, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, strings.ToLower(n))
		}
	}
	out := make([]map[string]any, len(values))
	for i, o := range values {
		p := make(map[string]any, len(names))
		for k, v := range o {
			base, _, _ := strings.Cut(k, "@")
			for _, n := range names {
				if strings.ToLower(base) == n {
					p[k] = v
				}
			}
		}
		out[i] = p
	}
	return out
}
