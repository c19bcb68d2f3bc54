package fakecloud

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Audience kinds of issued tokens.
const (
	audienceGraph    = "graph"
	audienceExchange = "exchange"
)

// tokenLifetime is the lifetime of issued access tokens (expires_in 3599).
const tokenLifetime = 3599 * time.Second

// Well-known first-party application ids that Entra also accepts as resources.
const (
	graphAppID    = "00000003-0000-0000-c000-000000000000"
	exchangeAppID = "00000002-0000-0ff1-ce00-000000000000"
)

// knownGraphResources and knownExchangeResources are the real clouds' resource URIs
// (https://learn.microsoft.com/graph/deployments, https://learn.microsoft.com/exchange/reference/admin-api-get-started); the fake's own endpoints are added at run time.
var (
	knownGraphResources = []string{
		"https://graph.microsoft.com", "https://microsoftgraph.chinacloudapi.cn",
		"https://graph.microsoft.us", "https://dod-graph.microsoft.us", graphAppID,
	}
	knownExchangeResources = []string{
		"https://outlook.office365.com", "https://partner.outlook.cn", "https://outlook.office365.cn",
		"https://outlook.office365.us", "https://outlook-dod.office365.us", "https://webmail.apps.mil", exchangeAppID,
	}
)

// tokenInfo is what the fake remembers about an issued access token.
type tokenInfo struct {
	Kind     string // audienceGraph | audienceExchange
	Resource string
	AppID    string
	TenantID string
	Expires  time.Time
}

// lookupToken returns the token named by an "Authorization: Bearer" header.
func (s *Server) lookupToken(r *http.Request) (tokenInfo, string, bool) {
	h := r.Header.Get("Authorization")
	const p = "bearer "
	if len(h) < len(p) || !strings.EqualFold(h[:len(p)], p) || strings.TrimSpace(h[len(p):]) == "" {
		return tokenInfo{}, "", false
	}
	tok := strings.TrimSpace(h[len(p):])
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	ti, ok := s.tokens[tok]
	return ti, tok, ok
}

// loginHandler serves the Entra token service subset azidentity uses (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
func (s *Server) loginHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleOpenIDConfig)
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", s.handleOpenIDConfig)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.discoveryTenant(r.PathValue("tenant")); !ok {
			s.aadError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(r.PathValue("tenant")))
			return
		}
		writeLoginJSON(w, http.StatusOK, map[string]any{"keys": []any{}})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handleToken)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.aadError(w, r, http.StatusNotFound, "invalid_request", 90011,
			"The endpoint '"+r.URL.Path+"' is not served by this fake login service.")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := newRecord(ServiceLogin, r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() { s.finishRecord(rec, sw.status) }()
		r = r.WithContext(withRecord(r.Context(), rec))
		s.sleepLatency(r.Context())
		mux.ServeHTTP(sw, r)
	})
}

// discoveryTenant resolves a tenant segment for discovery, which also accepts organizations/common.
func (s *Server) discoveryTenant(seg string) (string, bool) {
	switch strings.ToLower(seg) {
	case "organizations", "common":
		return "", true
	}
	return s.resolveTenant(seg)
}

func tenantNotFound(t string) string {
	return fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. "+
		"Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", t)
}

// cloudNames returns (tenant_region_scope, cloud_instance_name, cloud_graph_host_name, msgraph_host).
func (s *Server) cloudNames() (string, string, string, string) {
	var env string
	s.read(func(st *State) { env = st.Environment })
	switch env {
	case "china":
		return "AS", "partner.microsoftonline.cn", "graph.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn"
	case "usgovernment":
		return "USGov", "microsoftonline.us", "graph.windows.net", "graph.microsoft.us"
	case "usgovernmentdod":
		return "USGov", "microsoftonline.us", "graph.windows.net", "dod-graph.microsoft.us"
	}
	return "NA", "microsoftonline.com", "graph.windows.net", "graph.microsoft.com"
}

func (s *Server) handleOpenIDConfig(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("tenant")
	tid, ok := s.discoveryTenant(seg)
	if !ok {
		s.aadError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(seg))
		return
	}
	pathTenant, issuerTenant := tid, tid
	if tid == "" {
		pathTenant, issuerTenant = strings.ToLower(seg), "{tenantid}"
	}
	base := s.loginURL + "/" + pathTenant
	region, instance, aadGraph, msgraph := s.cloudNames()
	writeLoginJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                s.loginURL + "/" + issuerTenant + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     s.graphURL + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported": []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		"kerberos_endpoint":     base + "/kerberos",
		"tenant_region_scope":   region,
		"cloud_instance_name":   instance,
		"cloud_graph_host_name": aadGraph,
		"msgraph_host":          msgraph,
		"rbac_url":              "https://pas.windows.net",
	})
}

// resourceKind classifies a requested resource URI; "" when unknown.
func (s *Server) resourceKind(resource string) string {
	res := strings.TrimRight(strings.ToLower(resource), "/")
	for _, g := range append(append([]string(nil), knownGraphResources...), strings.ToLower(s.graphURL)) {
		if res == g {
			return audienceGraph
		}
	}
	for _, e := range append(append([]string(nil), knownExchangeResources...), strings.ToLower(s.exchangeURL)) {
		if res == e {
			return audienceExchange
		}
	}
	return ""
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("tenant")
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'.")
		return
	}
	switch strings.ToLower(seg) {
	case "organizations", "common", "consumers":
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 50059,
			"No tenant-identifying information found in either the request or implied by any provided credentials.")
		return
	}
	tid, ok := s.resolveTenant(seg)
	if !ok {
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 90002, tenantNotFound(seg))
		return
	}
	form := r.PostForm
	grant := form.Get("grant_type")
	if grant == "" {
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if grant != "client_credentials" {
		s.aadError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant))
		return
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok { // client_secret_basic
		if clientID == "" {
			clientID = u
		}
		if secret == "" {
			secret = p
		}
	}
	if clientID == "" {
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'client_id'.")
		return
	}
	var app App
	found := false
	s.read(func(st *State) {
		for _, a := range st.Apps {
			if strings.EqualFold(a.ClientID, clientID) {
				app, found = a, true
			}
		}
	})
	if !found {
		s.aadError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been "+
				"installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your "+
				"authentication request to the wrong tenant.", clientID, seg))
		return
	}
	if rec := recordFrom(r.Context()); rec != nil {
		rec.AppID = app.ClientID
	}

	assertion, assertionType := form.Get("client_assertion"), form.Get("client_assertion_type")
	switch {
	case assertion != "" || assertionType != "":
		if status, code, num, msg := checkAssertion(app, assertion, assertionType); status != 0 {
			s.aadError(w, r, status, code, num, msg)
			return
		}
	case secret != "":
		if app.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
			s.aadError(w, r, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "+
					"not the client secret ID, for a secret added to app '%s'.", app.ClientID))
			return
		}
	default:
		s.aadError(w, r, http.StatusUnauthorized, "invalid_client", 7000216,
			"'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
		return
	}

	scope := form.Get("scope")
	if strings.TrimSpace(scope) == "" {
		s.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'scope'.")
		return
	}
	var resources []string
	for _, sc := range strings.Fields(scope) {
		switch strings.ToLower(sc) {
		case "openid", "profile", "offline_access", "email": // MSAL appends these; Entra ignores them here
			continue
		}
		resources = append(resources, sc)
	}
	badScope := func(sc string) {
		s.aadError(w, r, http.StatusBadRequest, "invalid_scope", 70011, fmt.Sprintf(
			"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' "+
				"is not valid. The scope %s is not valid.", sc))
	}
	if len(resources) != 1 {
		badScope(scope)
		return
	}
	sc := resources[0]
	if !strings.HasSuffix(strings.ToLower(sc), "/.default") {
		badScope(sc)
		return
	}
	resource := strings.TrimRight(sc[:len(sc)-len("/.default")], "/")
	kind := s.resourceKind(resource)
	if kind == "" {
		badScope(sc)
		return
	}

	tok := newAccessToken()
	s.tokensMu.Lock()
	s.tokens[tok] = tokenInfo{Kind: kind, Resource: resource, AppID: app.ClientID, TenantID: tid,
		Expires: time.Now().Add(tokenLifetime)}
	s.tokensMu.Unlock()
	s.countToken(kind, strings.ToLower(resource))
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeLoginJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(tokenLifetime / time.Second),
		"ext_expires_in": int(tokenLifetime / time.Second),
		"access_token":   tok,
	})
}

// checkAssertion accepts a 3-part JWT whose payload names the app as sub or iss. Signatures are
// not verified: this only lets certificate and workload-identity credentials be exercised.
func checkAssertion(app App, assertion, assertionType string) (status int, code string, num int, msg string) {
	if assertionType != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return http.StatusBadRequest, "invalid_request", 50027,
			"Invalid client_assertion_type: expected 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."
	}
	if !app.AcceptAssertions {
		return http.StatusUnauthorized, "invalid_client", 700027,
			"Client assertion failed signature validation. (This fake app does not accept assertions: set accept_assertions.)"
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."
	}
	var claims struct {
		Sub string   `json:"sub"`
		Iss string   `json:"iss"`
		Exp *float64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."
	}
	if !strings.EqualFold(claims.Sub, app.ClientID) && !strings.EqualFold(claims.Iss, app.ClientID) {
		return http.StatusUnauthorized, "invalid_client", 700021,
			"Client assertion application identifier doesn't match 'client_id' parameter."
	}
	if claims.Exp != nil && time.Unix(int64(*claims.Exp), 0).Before(time.Now()) {
		return http.StatusUnauthorized, "invalid_client", 700024, "Client assertion is not within its valid time range."
	}
	return 0, "", 0, ""
}

func newAccessToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "fake." + base64.RawURLEncoding.EncodeToString(b)
}

// aadError writes an error in Entra's token-endpoint shape. msg must never contain a secret.
func (s *Server) aadError(w http.ResponseWriter, r *http.Request, status int, code string, num int, msg string) {
	now := time.Now().UTC()
	ts := now.Format("2006-01-02 15:04:05Z")
	trace := newGUID()
	corr := r.Header.Get("client-request-id")
	if !isGUID(corr) {
		corr = newGUID()
	}
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", num, msg, trace, corr, ts)
	writeLoginJSON(w, status, map[string]any{
		"error":             code,
		"error_description": desc,
		"error_codes":       []int{num},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("%s/error?code=%d", s.loginURL, num),
	})
}

func writeLoginJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-request-id", newGUID())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
