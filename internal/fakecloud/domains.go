package fakecloud

// The Graph /domains routes (https://learn.microsoft.com/graph/api/resources/domain): CRUD,
// verify (against a real DNS server), forceDelete, verificationDnsRecords,
// serviceConfigurationRecords per supportedServices and per cloud, and domainNameReferences.
// Verification and DNS records are in domains_dns.go; references, DELETE and forceDelete in
// domains_delete.go.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() {
	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /v1.0/domains", s.handleListDomains)
		mux.HandleFunc("POST /v1.0/domains", s.handleCreateDomain)
		mux.HandleFunc("GET /v1.0/domains/{id}", s.handleGetDomain)
		mux.HandleFunc("PATCH /v1.0/domains/{id}", s.handleUpdateDomain)
		mux.HandleFunc("DELETE /v1.0/domains/{id}", s.handleDeleteDomain)
		mux.HandleFunc("POST /v1.0/domains/{id}/verify", s.handleVerifyDomain)
		mux.HandleFunc("POST /v1.0/domains/{id}/forceDelete", s.handleForceDeleteDomain)
		mux.HandleFunc("GET /v1.0/domains/{id}/verificationDnsRecords", s.handleVerificationDNSRecords)
		mux.HandleFunc("GET /v1.0/domains/{id}/serviceConfigurationRecords", s.handleServiceConfigurationRecords)
		mux.HandleFunc("GET /v1.0/domains/{id}/domainNameReferences", s.handleDomainNameReferences)
	})
}

// Domain is a domain of the fake tenant (https://learn.microsoft.com/graph/api/resources/domain).
// Its key in State.Domains is the lower-case ID.
type Domain struct {
	// ID is the lower-case FQDN.
	ID                 string `json:"id"`
	AuthenticationType string `json:"authentication_type"` // Managed
	IsAdminManaged     bool   `json:"is_admin_managed"`
	IsDefault          bool   `json:"is_default,omitempty"`
	IsInitial          bool   `json:"is_initial,omitempty"`
	IsRoot             bool   `json:"is_root,omitempty"`
	IsVerified         bool   `json:"is_verified,omitempty"`
	// SupportedServices as Graph spells them ("Email", "OfficeCommunicationsOnline", ...).
	SupportedServices []string `json:"supported_services"`
	// PasswordValidityPeriodInDays and PasswordNotificationWindowInDays: 0 means unset (null).
	PasswordValidityPeriodInDays     int `json:"password_validity_period_in_days,omitempty"`
	PasswordNotificationWindowInDays int `json:"password_notification_window_in_days,omitempty"`
	// State is the asynchronous operation in progress (zero: none, Graph's null).
	State DomainState `json:"state,omitzero"`
	// VerificationCode is the "ms########" of the TXT value MS=ms######## and of the MX host
	// ms########.msv1.invalid; it depends only on the tenant and the domain name.
	VerificationCode string `json:"verification_code"`
	// ForceDeleteReads counts the GETs of the domain while a forceDelete runs.
	ForceDeleteReads int `json:"force_delete_reads,omitempty"`
}

// DomainState is Graph's domainState: an asynchronous operation on the domain.
type DomainState struct {
	Operation          string    `json:"operation,omitempty"` // ForceDelete | Verification
	Status             string    `json:"status,omitempty"`    // Scheduled | InProgress | Failed
	LastActionDateTime time.Time `json:"last_action_date_time,omitzero"`
}

// SeedDomain is a domain that exists before the test starts (Seed.Domains).
type SeedDomain struct {
	ID         string `json:"id"`
	IsVerified bool   `json:"is_verified,omitempty"`
	// IsDefault moves the default flag from the initial domain; the domain must be verified.
	IsDefault bool `json:"is_default,omitempty"`
	// SupportedServices as Graph spells them; any of Graph's values is accepted here.
	SupportedServices []string `json:"supported_services,omitempty"`
}

const (
	domainKind = "domain" // markCreated / lagging kind

	opForceDelete    = "ForceDelete"
	statusInProgress = "InProgress"

	// A force-deleted domain stays visible (state ForceDelete/InProgress) for this many GETs of
	// the domain or this long, whichever comes first, then answers 404.
	forceDeleteVisibleReads = 2
	forceDeleteDuration     = time.Second

	// maxForceDeleteReferences: forceDelete refuses more references than this (https://learn.microsoft.com/graph/api/domain-forcedelete).
	maxForceDeleteReferences = 1000

	// defaultDomainPageSize is the page size of collections when $top is absent.
	defaultDomainPageSize = 100

	dnsRecordTTL = 3600
)

// settableDomainServices are the supportedServices values a PATCH may add (https://learn.microsoft.com/graph/api/resources/domain).
var settableDomainServices = []string{"Email", "OfficeCommunicationsOnline", "Yammer"}

// graphDomainServices are all of Graph's supportedServices values, for spelling them canonically.
var graphDomainServices = []string{"Email", "Sharepoint", "EmailInternalRelayOnly", "OfficeCommunicationsOnline",
	"SharePointDefaultDomain", "FullRedelegation", "SharePointPublic", "OrgIdAuthentication", "Yammer", "Intune"}

// reservedDomainSuffixes are Microsoft's own tenant-domain zones; names under them cannot be added.
var reservedDomainSuffixes = []string{"onmicrosoft.com", "onmicrosoft.us", "onmschina.cn", "onmicrosoft.de"}

// apiError is a Graph error decided inside read/mutate and written by writeAPIError.
type apiError struct {
	status    int
	code, msg string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(format, args...)}
}

func domainNotFound(id string) *apiError {
	return &apiError{http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)}
}

// writeAPIError answers err: an *apiError as Graph's error, anything else (state persistence) 500.
func (s *Server) writeAPIError(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		graphError(w, ae.status, ae.code, ae.msg)
		return
	}
	s.logf("fakecloud: domains: %v", err)
	graphError(w, http.StatusInternalServerError, "InternalServerError", "An internal server error occurred.")
}

// isSubdomainOf reports whether name is strictly below parent.
func isSubdomainOf(name, parent string) bool {
	return strings.HasSuffix(name, "."+parent)
}

// verifiedAncestor returns the closest verified domain of the tenant that name is a subdomain of
// ("" when none).
func verifiedAncestor(st *State, name string) string {
	for rest := name; ; {
		_, after, ok := strings.Cut(rest, ".")
		if !ok || !strings.Contains(after, ".") {
			return ""
		}
		if d, ok := st.Domains[after]; ok && d.IsVerified {
			return after
		}
		rest = after
	}
}

// subdomainsOf lists the tenant's domains below name, sorted.
func subdomainsOf(st *State, name string) []string {
	var out []string
	for id := range st.Domains {
		if isSubdomainOf(id, name) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// canonicalServices spells values as Graph does (case-insensitively), dropping duplicates.
func canonicalServices(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, v := range in {
		c := strings.TrimSpace(v)
		for _, known := range graphDomainServices {
			if strings.EqualFold(c, known) {
				c = known
			}
		}
		if c == "" || seen[strings.ToLower(c)] {
			continue
		}
		seen[strings.ToLower(c)] = true
		out = append(out, c)
	}
	return out
}

func hasService(services []string, want string) bool {
	for _, s := range services {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// newDomain is a freshly added, unverified managed domain.
func newDomain(st *State, id string) Domain {
	return Domain{
		ID:                 id,
		AuthenticationType: "Managed",
		IsAdminManaged:     true,
		SupportedServices:  []string{},
		VerificationCode:   verificationCode(st.TenantID, id),
	}
}

// recomputeRoots sets IsRoot: a verified domain with no verified ancestor in the tenant.
func recomputeRoots(st *State) {
	for id, d := range st.Domains {
		d.IsRoot = d.IsVerified && verifiedAncestor(st, id) == ""
		st.Domains[id] = d
	}
}

// ensureInitialDomain adds the tenant's initial domain when the state has none (a fresh seed, or
// a state file written before domains existed): verified, initial, root, default unless another
// domain is, with Email and OfficeCommunicationsOnline.
func ensureInitialDomain(st *State) {
	if st.Domains == nil {
		st.Domains = map[string]Domain{}
	}
	id := strings.ToLower(st.InitialDomain)
	if _, ok := st.Domains[id]; ok {
		return
	}
	d := newDomain(st, id)
	d.IsVerified, d.IsInitial, d.IsRoot = true, true, true
	d.SupportedServices = []string{"Email", "OfficeCommunicationsOnline"}
	d.IsDefault = true
	for _, other := range st.Domains {
		if other.IsDefault {
			d.IsDefault = false
		}
	}
	st.Domains[id] = d
}

// seedDomains fills st.Domains and st.DomainReferences from the seed (called by Seed.toState).
func seedDomains(st *State, sd *Seed) error {
	ensureInitialDomain(st)
	defaultSet := ""
	for _, in := range sd.Domains {
		id, err := normalizeZone(in.ID)
		if err != nil {
			return fmt.Errorf("seed: domain %q: %v", in.ID, err)
		}
		if _, dup := st.Domains[id]; dup {
			return fmt.Errorf("seed: domain %q appears twice (the initial domain %s is always there)", in.ID, st.InitialDomain)
		}
		d := newDomain(st, id)
		d.IsVerified = in.IsVerified
		d.SupportedServices = canonicalServices(in.SupportedServices)
		if in.IsDefault {
			if !in.IsVerified {
				return fmt.Errorf("seed: domain %q: only a verified domain can be the default", in.ID)
			}
			if defaultSet != "" {
				return fmt.Errorf("seed: domains %q and %q are both is_default", defaultSet, id)
			}
			defaultSet = id
		}
		st.Domains[id] = d
	}
	if defaultSet != "" {
		for id, d := range st.Domains {
			d.IsDefault = id == defaultSet
			st.Domains[id] = d
		}
	}
	recomputeRoots(st)

	for _, name := range sortedKeys(sd.DomainReferences) {
		// The domain need not exist yet: the references then apply once a test adds it.
		key, err := normalizeZone(name)
		if err != nil {
			return fmt.Errorf("seed: domain_references: %v", err)
		}
		for i, ref := range sd.DomainReferences[name] {
			ref.Type = strings.ToLower(strings.TrimSpace(ref.Type))
			switch ref.Type {
			case "user", "group", "application":
			default:
				return fmt.Errorf("seed: domain_references[%q][%d]: type %q must be user, group or application", name, i, ref.Type)
			}
			if strings.TrimSpace(ref.Name) == "" {
				return fmt.Errorf("seed: domain_references[%q][%d]: name (UPN, mail or identifier URI) is required", name, i)
			}
			if ref.ID == "" {
				ref.ID = derivedGUID(st.TenantID, "domain-reference", ref.Type, ref.Name)
			}
			ref.ID = strings.ToLower(ref.ID)
			if ref.DisplayName == "" {
				ref.DisplayName = ref.Name
			}
			if st.DomainReferences == nil {
				st.DomainReferences = map[string][]DomainReference{}
			}
			st.DomainReferences[key] = append(st.DomainReferences[key], ref)
		}
	}
	return nil
}

// domainID is the {id} path value in lower case.
func domainID(r *http.Request) string {
	return strings.ToLower(strings.TrimSuffix(r.PathValue("id"), "."))
}

// domainJSON renders d as Graph's domain entity.
func domainJSON(d Domain) map[string]any {
	var state any
	if d.State.Operation != "" {
		state = map[string]any{
			"lastActionDateTime": d.State.LastActionDateTime.UTC().Format(time.RFC3339),
			"operation":          d.State.Operation,
			"status":             d.State.Status,
		}
	}
	intOrNull := func(n int) any {
		if n == 0 {
			return nil
		}
		return n
	}
	services := d.SupportedServices
	if services == nil {
		services = []string{}
	}
	return map[string]any{
		"authenticationType":               d.AuthenticationType,
		"availabilityStatus":               nil,
		"id":                               d.ID,
		"isAdminManaged":                   d.IsAdminManaged,
		"isDefault":                        d.IsDefault,
		"isInitial":                        d.IsInitial,
		"isRoot":                           d.IsRoot,
		"isVerified":                       d.IsVerified,
		"supportedServices":                services,
		"passwordValidityPeriodInDays":     intOrNull(d.PasswordValidityPeriodInDays),
		"passwordNotificationWindowInDays": intOrNull(d.PasswordNotificationWindowInDays),
		"state":                            state,
	}
}

// pageOf cuts objs into the page asked by $top and $skiptoken; next is the @odata.nextLink ("" on
// the last page). digest ties a skip token to its collection.
func (s *Server) pageOf(r *http.Request, objs []map[string]any, digest string) (page []map[string]any, next string, err error) {
	q := r.URL.Query()
	size := defaultDomainPageSize
	if raw := q.Get("$top"); raw != "" {
		n, perr := strconv.Atoi(strings.TrimSpace(raw))
		if perr != nil || n < 1 || n > 999 {
			return nil, "", fmt.Errorf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", raw) //nolint:staticcheck // ST1005: Graph's message, sent verbatim
		}
		size = n
	}
	offset := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		n, ok := parseSkipToken(tok, digest)
		if !ok {
			return nil, "", fmt.Errorf("Invalid $skiptoken value '%s'.", tok) //nolint:staticcheck // ST1005: Graph's message, sent verbatim
		}
		offset = n
	}
	if offset > len(objs) {
		offset = len(objs)
	}
	end := min(offset+size, len(objs))
	if end < len(objs) {
		q.Set("$skiptoken", skipToken(end, digest))
		next = s.graphURL + r.URL.Path + "?" + q.Encode()
	}
	return objs[offset:end], next, nil
}

// readBodyObject decodes a JSON object body; an empty body is allowed when optional.
func readBodyObject(r *http.Request, optional bool) (map[string]json.RawMessage, *apiError) {
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body); err != nil {
		if optional && strings.Contains(err.Error(), "empty") {
			return map[string]json.RawMessage{}, nil
		}
		if strings.Contains(err.Error(), "empty") {
			return nil, &apiError{http.StatusBadRequest, "BadRequest", "Empty Payload. JSON content expected."}
		}
		return nil, &apiError{http.StatusBadRequest, "BadRequest",
			"Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."}
	}
	if body == nil {
		body = map[string]json.RawMessage{}
	}
	return body, nil
}

func isNullJSON(raw json.RawMessage) bool { return strings.TrimSpace(string(raw)) == "null" }

func (s *Server) handleListDomains(w http.ResponseWriter, r *http.Request) {
	s.settleForceDeletes()
	var objs []map[string]any
	s.read(func(st *State) {
		for _, id := range sortedKeys(st.Domains) {
			if s.lagging(domainKind, id) {
				continue
			}
			objs = append(objs, domainJSON(st.Domains[id]))
		}
	})
	if objs == nil {
		objs = []map[string]any{}
	}
	objs, names, err := applySelect(r, "microsoft.graph.domain", objs)
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	page, next, err := s.pageOf(r, objs, "domains")
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	out := map[string]any{"@odata.context": s.odataContext("domains" + selectSuffix(names)), "value": page}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateDomain(w http.ResponseWriter, r *http.Request) {
	body, aerr := readBodyObject(r, false)
	if aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	var raw string
	if v, ok := body["id"]; !ok || json.Unmarshal(v, &raw) != nil || strings.TrimSpace(raw) == "" {
		// UNCONFIRMED wording: the docs only say "Id ... is required".
		s.writeAPIError(w, badRequest("Invalid domain name: the property 'id' is required."))
		return
	}
	id, err := normalizeZone(raw)
	if err != nil {
		s.writeAPIError(w, badRequest("Invalid domain name '%s'.", raw)) // UNCONFIRMED wording
		return
	}
	s.settleForceDeletes()
	var out map[string]any
	err = s.mutate(func(st *State) error {
		if _, dup := st.Domains[id]; dup {
			// UNCONFIRMED: Graph's answer to adding a domain twice is not documented; this is the
			// directory's generic uniqueness error (the users' one is documented, https://learn.microsoft.com/graph/api/user-post-users).
			return badRequest("Another object with the same value for property id already exists.")
		}
		for _, suffix := range reservedDomainSuffixes {
			if id == suffix || isSubdomainOf(id, suffix) {
				// UNCONFIRMED wording: Microsoft's own zones cannot be added as custom domains.
				return badRequest("The domain '%s' cannot be added: it is under %s, which belongs to Microsoft.", raw, suffix)
			}
		}
		d := newDomain(st, id)
		if verifiedAncestor(st, id) != "" {
			// https://learn.microsoft.com/graph/api/domain-post-domains: a subdomain of a verified root is verified at once; it is not a root.
			d.IsVerified = true
		}
		st.Domains[id] = d
		recomputeRoots(st)
		out = domainJSON(st.Domains[id])
		return nil
	})
	if err != nil {
		s.writeAPIError(w, err)
		return
	}
	s.markCreated(domainKind, id)
	out["@odata.context"] = s.odataContext("domains/$entity")
	writeJSON(w, http.StatusCreated, out)
}

// liveDomain returns the domain for a route on /domains/{id}, or the error to answer (404 while
// it lags or once gone). countRead counts a GET of a domain being force-deleted.
func (s *Server) liveDomain(id string, countRead bool) (Domain, *apiError) {
	s.settleForceDeletes()
	if s.lagging(domainKind, id) {
		return Domain{}, domainNotFound(id)
	}
	var d Domain
	var ok bool
	s.read(func(st *State) { d, ok = st.Domains[id] })
	if !ok {
		return Domain{}, domainNotFound(id)
	}
	if countRead && d.State.Operation == opForceDelete {
		_ = s.mutate(func(st *State) error {
			cur, ok := st.Domains[id]
			if !ok {
				return nil
			}
			cur.ForceDeleteReads++
			st.Domains[id] = cur
			return nil
		})
	}
	return d, nil
}

func (s *Server) handleGetDomain(w http.ResponseWriter, r *http.Request) {
	id := domainID(r)
	d, aerr := s.liveDomain(id, true)
	if aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	objs, names, err := applySelect(r, "microsoft.graph.domain", []map[string]any{domainJSON(d)})
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	out := objs[0]
	out["@odata.context"] = s.odataContext("domains" + selectSuffix(names) + "/$entity")
	writeJSON(w, http.StatusOK, out)
}

// domainPatch is a parsed PATCH body; nil fields are absent.
type domainPatch struct {
	isDefault          *bool
	services           []string
	servicesSet        bool
	validityDays       *int
	notificationWindow *int
}

// readOnlyDomainProps may appear in a PATCH body only as null or with their current value.
var readOnlyDomainProps = map[string]bool{"authenticationType": true, "availabilityStatus": true, "isAdminManaged": true,
	"isInitial": true, "isRoot": true, "isVerified": true, "state": true}

func parseDomainPatch(body map[string]json.RawMessage, d Domain) (domainPatch, *apiError) {
	var p domainPatch
	current := domainJSON(d)
	for _, k := range sortedKeys(body) {
		raw := body[k]
		switch {
		case strings.HasPrefix(k, "@"):
		case k == "id":
			var v string
			if json.Unmarshal(raw, &v) != nil || !strings.EqualFold(v, d.ID) {
				return p, badRequest("Property 'id' is read-only and cannot be changed.") // UNCONFIRMED wording
			}
		case k == "isDefault":
			var v bool
			if json.Unmarshal(raw, &v) != nil {
				return p, badRequest("Invalid value for property 'isDefault'.")
			}
			p.isDefault = &v
		case k == "supportedServices":
			var v []string
			if json.Unmarshal(raw, &v) != nil {
				return p, badRequest("Invalid value for property 'supportedServices'.")
			}
			p.services, p.servicesSet = v, true
		case k == "passwordValidityPeriodInDays" || k == "passwordNotificationWindowInDays":
			var v *int
			if json.Unmarshal(raw, &v) != nil || (v != nil && *v < 0) {
				return p, badRequest("Invalid value for property '%s'.", k)
			}
			if v == nil {
				v = new(int)
			}
			if k == "passwordValidityPeriodInDays" {
				p.validityDays = v
			} else {
				p.notificationWindow = v
			}
		case readOnlyDomainProps[k]:
			cur, _ := json.Marshal(current[k])
			if !isNullJSON(raw) && string(cur) != strings.TrimSpace(string(raw)) {
				return p, badRequest("Property '%s' is read-only and cannot be set.", k) // UNCONFIRMED wording
			}
		default:
			return p, &apiError{http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Property '%s' does not exist on type 'microsoft.graph.domain'.", k)}
		}
	}
	return p, nil
}

func (s *Server) handleUpdateDomain(w http.ResponseWriter, r *http.Request) {
	id := domainID(r)
	body, aerr := readBodyObject(r, false)
	if aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	if _, aerr := s.liveDomain(id, false); aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	err := s.mutate(func(st *State) error {
		d, ok := st.Domains[id]
		if !ok {
			return domainNotFound(id)
		}
		p, aerr := parseDomainPatch(body, d)
		if aerr != nil {
			return aerr
		}
		if !d.IsVerified {
			// https://learn.microsoft.com/graph/api/domain-update: only verified domains can be updated. UNCONFIRMED wording.
			return badRequest("Domain must be verified before it can be updated.")
		}
		if d.State.Operation == opForceDelete {
			return badRequest("The domain %s is being deleted.", id) // UNCONFIRMED wording
		}
		if p.servicesSet {
			services := canonicalServices(p.services)
			for _, v := range services {
				settable := false
				for _, ok := range settableDomainServices {
					settable = settable || v == ok
				}
				// Values Graph manages itself may be sent back unchanged (the provider keeps
				// them when it sets its own); adding one is refused. UNCONFIRMED wording.
				if !settable && !hasService(d.SupportedServices, v) {
					return badRequest("Invalid value '%s' for property 'supportedServices': only %s can be set.",
						v, strings.Join(settableDomainServices, ", "))
				}
			}
			d.SupportedServices = services
		}
		if p.isDefault != nil {
			switch {
			case *p.isDefault && d.AuthenticationType != "Managed":
				return badRequest("Only a managed domain can be the default domain.")
			case *p.isDefault:
				for oid, o := range st.Domains {
					if o.IsDefault && oid != id {
						o.IsDefault = false
						st.Domains[oid] = o
					}
				}
				d.IsDefault = true
			case d.IsDefault:
				// UNCONFIRMED wording: the default flag moves, it cannot be cleared.
				return badRequest("The default domain cannot be unset; make another verified domain the default instead.")
			}
		}
		if p.validityDays != nil {
			d.PasswordValidityPeriodInDays = *p.validityDays
		}
		if p.notificationWindow != nil {
			d.PasswordNotificationWindowInDays = *p.notificationWindow
		}
		st.Domains[id] = d
		return nil
	})
	if err != nil {
		s.writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
