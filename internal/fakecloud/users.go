package fakecloud

// The Graph /users routes (https://learn.microsoft.com/graph/api/resources/user): create with the
// documented validation, read/list with $select, $filter, $count and @odata.nextLink paging,
// update, soft delete with the deleted-items container, and assignLicense with seat accounting on
// the tenant's SKUs. Body validation is in users_validate.go, rendering in users_render.go, licences
// in users_licenses.go and the deleted items in users_recycle.go.

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/odata"
)

func init() {
	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("POST /v1.0/users", s.handleCreateUser)
		mux.HandleFunc("GET /v1.0/users", s.handleListUsers)
		mux.HandleFunc("GET /v1.0/users/{id}", s.handleGetUser)
		mux.HandleFunc("PATCH /v1.0/users/{id}", s.handleUpdateUser)
		mux.HandleFunc("DELETE /v1.0/users/{id}", s.handleDeleteUser)
		mux.HandleFunc("POST /v1.0/users/{id}/assignLicense", s.handleAssignLicense)
		mux.HandleFunc("GET /v1.0/directory/deletedItems/microsoft.graph.user", s.handleListDeletedUsers)
		mux.HandleFunc("GET /v1.0/directory/deletedItems/{id}", s.handleGetDeletedItem)
		mux.HandleFunc("POST /v1.0/directory/deletedItems/{id}/restore", s.handleRestoreDeletedItem)
		mux.HandleFunc("DELETE /v1.0/directory/deletedItems/{id}", s.handlePurgeDeletedItem)

		s.addDomainReferenceSource(userDomainReferences)
		s.addDomainRenameHook(renameUserDomains)
	})
}

// User is an Entra user of the fake tenant (https://learn.microsoft.com/graph/api/resources/user).
// Its key in State.Users is the id. The password is never stored: only a salted SHA-256 of it.
type User struct {
	// ID is the object id (a lower-case GUID).
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"user_principal_name"`
	DisplayName       string   `json:"display_name,omitempty"`
	MailNickname      string   `json:"mail_nickname,omitempty"`
	GivenName         string   `json:"given_name,omitempty"`
	Surname           string   `json:"surname,omitempty"`
	JobTitle          string   `json:"job_title,omitempty"`
	Department        string   `json:"department,omitempty"`
	CompanyName       string   `json:"company_name,omitempty"`
	EmployeeID        string   `json:"employee_id,omitempty"`
	OfficeLocation    string   `json:"office_location,omitempty"`
	MobilePhone       string   `json:"mobile_phone,omitempty"`
	FaxNumber         string   `json:"fax_number,omitempty"`
	StreetAddress     string   `json:"street_address,omitempty"`
	City              string   `json:"city,omitempty"`
	State             string   `json:"state,omitempty"`
	PostalCode        string   `json:"postal_code,omitempty"`
	Country           string   `json:"country,omitempty"`
	UsageLocation     string   `json:"usage_location,omitempty"`
	PreferredLanguage string   `json:"preferred_language,omitempty"`
	PasswordPolicies  string   `json:"password_policies,omitempty"`
	BusinessPhones    []string `json:"business_phones,omitempty"`
	OtherMails        []string `json:"other_mails,omitempty"`
	AccountEnabled    bool     `json:"account_enabled"`

	// PasswordHash is hex(SHA-256(salt || password)) and PasswordSalt the hex salt; both empty
	// when the user has no password (seeded without one).
	PasswordHash                  string    `json:"password_hash,omitempty"`
	PasswordSalt                  string    `json:"password_salt,omitempty"`
	ForceChangePasswordNextSignIn bool      `json:"force_change_password_next_sign_in,omitempty"`
	LastPasswordChange            time.Time `json:"last_password_change,omitzero"`

	AssignedLicenses []AssignedLicense `json:"assigned_licenses,omitempty"`
	CreatedDateTime  time.Time         `json:"created_date_time"`
	// Deleted users are in the deleted-items container: invisible under /users, restorable, and
	// still holding their UPN.
	Deleted         bool      `json:"deleted,omitempty"`
	DeletedDateTime time.Time `json:"deleted_date_time,omitzero"`
}

// AssignedLicense is a licence of a user: a SKU and the service plans disabled in it.
type AssignedLicense struct {
	SkuID         string   `json:"sku_id"`
	DisabledPlans []string `json:"disabled_plans,omitempty"`
}

// SeedUser is a user that exists before the test starts (Seed.Users). Missing id, display name
// and mail nickname are derived from the UPN; account_enabled defaults to true; password, when
// given, is stored hashed. Its licences count against the SKUs' consumed units, on top of the
// seed's consumed value.
type SeedUser struct {
	User
	AccountEnabled *bool  `json:"account_enabled,omitempty"`
	Password       string `json:"password,omitempty"`
}

const (
	userKind = "user" // markCreated / lagging kind

	defaultUserPageSize = 100
	maxUserPageSize     = 999
)

// userProp describes a string property of a user.
type userProp struct {
	name string // Graph's spelling
	get  func(u *User) *string
	max  int  // maximum length in characters (0: none stated)
	def  bool // returned without $select
}

// userStringProps are the string properties in Graph's spelling with the limits of https://learn.microsoft.com/graph/api/resources/user.
var userStringProps = []userProp{
	{"userPrincipalName", func(u *User) *string { return &u.UserPrincipalName }, 113, true},
	{"displayName", func(u *User) *string { return &u.DisplayName }, 256, true},
	{"mailNickname", func(u *User) *string { return &u.MailNickname }, 64, false},
	{"givenName", func(u *User) *string { return &u.GivenName }, 64, true},
	{"surname", func(u *User) *string { return &u.Surname }, 64, true},
	{"jobTitle", func(u *User) *string { return &u.JobTitle }, 128, true},
	{"department", func(u *User) *string { return &u.Department }, 64, false},
	{"companyName", func(u *User) *string { return &u.CompanyName }, 64, false},
	{"employeeId", func(u *User) *string { return &u.EmployeeID }, 16, false},
	{"officeLocation", func(u *User) *string { return &u.OfficeLocation }, 0, true},
	{"mobilePhone", func(u *User) *string { return &u.MobilePhone }, 64, true},
	{"faxNumber", func(u *User) *string { return &u.FaxNumber }, 0, false},
	{"streetAddress", func(u *User) *string { return &u.StreetAddress }, 1024, false},
	{"city", func(u *User) *string { return &u.City }, 128, false},
	{"state", func(u *User) *string { return &u.State }, 128, false},
	{"postalCode", func(u *User) *string { return &u.PostalCode }, 40, false},
	{"country", func(u *User) *string { return &u.Country }, 128, false},
	{"usageLocation", func(u *User) *string { return &u.UsageLocation }, 2, false},
	{"preferredLanguage", func(u *User) *string { return &u.PreferredLanguage }, 0, true},
	{"passwordPolicies", func(u *User) *string { return &u.PasswordPolicies }, 0, false},
}

// readOnlyUserProps are user properties a client cannot set.
var readOnlyUserProps = []string{"id", "createdDateTime", "assignedLicenses", "mail", "securityIdentifier",
	"deletedDateTime", "proxyAddresses"}

func findUserProp(name string) *userProp {
	for i := range userStringProps {
		if strings.EqualFold(userStringProps[i].name, name) {
			return &userStringProps[i]
		}
	}
	return nil
}

// userError is a Graph error decided inside read/mutate.
type userError struct {
	status    int
	code, msg string
}

func (e *userError) Error() string { return e.msg }

func userBadRequest(format string, args ...any) *userError {
	return &userError{http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(format, args...)}
}

func invalidUserValue(prop string) *userError {
	return userBadRequest("Invalid value specified for property '%s' of resource 'User'.", prop)
}

func userNotFoundError(key string) *userError {
	return &userError{http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key)}
}

// Messages of the errors of https://learn.microsoft.com/graph/api/user-post-users and https://learn.microsoft.com/graph/api/user-assignlicense
// as clients observe them (partly UNCONFIRMED).
const (
	msgDuplicateUPN     = "Another object with the same value for property userPrincipalName already exists."
	msgWeakPassword     = "The specified password does not comply with password complexity requirements. Please provide a different password."
	msgUnverifiedDomain = "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization."
	msgNoUsageLocation  = "License assignment cannot be done for user with invalid usage location."
)

// writeUserError answers err: a *userError as Graph's error, anything else (state persistence) 500.
func (s *Server) writeUserError(w http.ResponseWriter, err error) {
	var ue *userError
	if errors.As(err, &ue) {
		graphError(w, ue.status, ue.code, ue.msg)
		return
	}
	s.logf("fakecloud: users: %v", err)
	graphError(w, http.StatusInternalServerError, "InternalServerError", "An internal server error occurred.")
}

// ---- state helpers -------------------------------------------------------------------------

// upnDomain is the lower-case domain part of a UPN.
func upnDomain(upn string) string {
	_, d, _ := strings.Cut(upn, "@")
	return strings.ToLower(d)
}

// domainVerifiedLocked reports whether domain is a verified domain of the tenant.
func domainVerifiedLocked(st *State, domain string) bool {
	domain = strings.ToLower(domain)
	if strings.EqualFold(domain, st.InitialDomain) {
		return true
	}
	d, ok := st.Domains[domain]
	return ok && d.IsVerified
}

// upnTakenLocked reports whether a user other than exceptID, deleted ones included, has the UPN.
func upnTakenLocked(st *State, upn, exceptID string) bool {
	for id, u := range st.Users {
		if id != exceptID && strings.EqualFold(u.UserPrincipalName, upn) {
			return true
		}
	}
	return false
}

// lookupUserLocked finds a live (not deleted) user by id or UPN.
func lookupUserLocked(st *State, key string) (string, bool) {
	if u, ok := st.Users[strings.ToLower(key)]; ok && !u.Deleted {
		return u.ID, true
	}
	for id, u := range st.Users {
		if !u.Deleted && strings.EqualFold(u.UserPrincipalName, key) {
			return id, true
		}
	}
	return "", false
}

// liveUserLocked resolves {id} for the /users/{id} routes: a missing, deleted or lagging user
// is Graph's 404.
func (s *Server) liveUserLocked(st *State, key string) (string, *userError) {
	id, ok := lookupUserLocked(st, key)
	if !ok || s.lagging(userKind, id) {
		return "", userNotFoundError(key)
	}
	return id, nil
}

// applyPatch writes a checked patch into u.
func applyPatch(u *User, p userPatch, now time.Time) {
	for name, v := range p.strings {
		prop := findUserProp(name)
		if v == nil {
			*prop.get(u) = ""
		} else {
			*prop.get(u) = *v
		}
	}
	if p.businessPhones != nil {
		u.BusinessPhones = append([]string(nil), *p.businessPhones...)
	}
	if p.otherMails != nil {
		u.OtherMails = append([]string(nil), *p.otherMails...)
	}
	if p.accountEnabled != nil {
		u.AccountEnabled = *p.accountEnabled
	}
	if p.password != nil {
		u.PasswordHash, u.PasswordSalt = hashPassword(*p.password)
		u.LastPasswordChange = now
	}
	if p.forceChange != nil {
		u.ForceChangePasswordNextSignIn = *p.forceChange
	}
}

// ---- domain references -------------------------------------------------------------------

// userDomainReferences lists the users (deleted ones included: they keep their UPN, UNCONFIRMED
// whether they block a domain's deletion) whose UPN is on domain.
func userDomainReferences(st *State, domain string) []DomainReference {
	var out []DomainReference
	for _, id := range sortedKeys(st.Users) {
		u := st.Users[id]
		if upnDomain(u.UserPrincipalName) == domain {
			out = append(out, DomainReference{Type: "user", ID: u.ID, DisplayName: u.DisplayName, Name: u.UserPrincipalName})
		}
	}
	return out
}

// renameUserDomains moves the UPNs on domain from to domain to (forceDelete), disabling the
// accounts when asked.
func renameUserDomains(st *State, from, to string, disable bool) {
	for id, u := range st.Users {
		if upnDomain(u.UserPrincipalName) != from {
			continue
		}
		local, _, _ := strings.Cut(u.UserPrincipalName, "@")
		u.UserPrincipalName = local + "@" + to
		if disable {
			u.AccountEnabled = false
		}
		st.Users[id] = u
	}
}

// ---- handlers ------------------------------------------------------------------------------

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	p, uerr := parseUserBody(r, true)
	if uerr != nil {
		s.writeUserError(w, uerr)
		return
	}
	var created User
	var obj map[string]any
	err := s.mutate(func(st *State) error {
		upn := *p.strings["userPrincipalName"]
		if !domainVerifiedLocked(st, upnDomain(upn)) {
			return userBadRequest("%s", msgUnverifiedDomain)
		}
		if upnTakenLocked(st, upn, "") {
			return userBadRequest("%s", msgDuplicateUPN)
		}
		now := time.Now().UTC().Truncate(time.Second)
		u := User{ID: newGUID(), CreatedDateTime: now}
		applyPatch(&u, p, now)
		if st.Users == nil {
			st.Users = map[string]User{}
		}
		st.Users[u.ID] = u
		created = u
		obj = entraUserJSON(st, u)
		return nil
	})
	if err != nil {
		s.writeUserError(w, err)
		return
	}
	s.markCreated(userKind, created.ID)
	objs, _, _ := projectUsers(&http.Request{URL: &url.URL{}}, []map[string]any{obj})
	out := objs[0]
	out["@odata.context"] = s.odataContext("users/$entity")
	w.Header().Set("Location", s.graphURL+"/v1.0/users/"+created.ID)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("id")
	var obj map[string]any
	var uerr *userError
	s.read(func(st *State) {
		id, e := s.liveUserLocked(st, key)
		if e != nil {
			uerr = e
			return
		}
		obj = entraUserJSON(st, st.Users[id])
	})
	if uerr != nil {
		s.writeUserError(w, uerr)
		return
	}
	objs, names, err := projectUsers(r, []map[string]any{obj})
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	out := objs[0]
	out["@odata.context"] = s.odataContext("users" + selectSuffix(names) + "/$entity")
	writeJSON(w, http.StatusOK, out)
}

// advancedQuery reports whether the request is a Graph advanced query (ConsistencyLevel:
// eventual and $count=true).
func advancedQuery(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual") &&
		strings.EqualFold(r.URL.Query().Get("$count"), "true")
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	eventual := strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual")
	if strings.EqualFold(q.Get("$count"), "true") && !eventual {
		// UNCONFIRMED wording.
		graphError(w, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
		return
	}
	var filter odata.Filter = func(map[string]any) bool { return true }
	if raw := strings.TrimSpace(q.Get("$filter")); raw != "" {
		f, needsAdvanced, err := parseUserFilter(raw)
		if err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+err.Error())
			return
		}
		if needsAdvanced != "" && !advancedQuery(r) {
			// Graph's answer to an advanced operator without the advanced-query parameters.
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf(
				"Operator '%s' is not supported because the required parameters might be missing. "+
					"Try adding $count with a value of true and the ConsistencyLevel header with a value of eventual.", needsAdvanced))
			return
		}
		filter = f
	}
	size := defaultUserPageSize
	if raw := q.Get("$top"); raw != "" {
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || n < 1 || n > maxUserPageSize {
			graphError(w, http.StatusBadRequest, "Request_BadRequest",
				fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", raw, maxUserPageSize))
			return
		}
		size = n
	}
	after := ""
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !strings.HasPrefix(string(b), "users:") {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid $skiptoken value '%s'.", tok))
			return
		}
		after = strings.TrimPrefix(string(b), "users:")
	}

	// An advanced query reads the eventually consistent index: with the list_lag knob it misses
	// users created recently and still holds users deleted recently, as they were.
	listLag := time.Duration(0)
	if advancedQuery(r) {
		listLag = s.Knobs().ListLag
	}
	var objs []map[string]any
	s.read(func(st *State) {
		users := st.Users
		if listLag > 0 {
			users = s.indexedUsersLocked(st, listLag)
		}
		for _, id := range sortedKeys(users) {
			u := users[id]
			if u.Deleted || s.lagging(userKind, id) {
				continue
			}
			obj := entraUserJSON(st, u)
			if filter(obj) {
				objs = append(objs, obj)
			}
		}
	})
	total := len(objs)
	start := sort.Search(len(objs), func(i int) bool { return stringAt(objs[i], "id") > after })
	if after == "" {
		start = 0
	}
	end := min(start+size, len(objs))
	page := objs[start:end]
	next := ""
	if end < len(objs) {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("users:"+stringAt(page[len(page)-1], "id"))))
		next = s.graphURL + "/v1.0/users?" + nq.Encode()
	}
	page, names, err := projectUsers(r, page)
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	if page == nil {
		page = []map[string]any{}
	}
	out := map[string]any{"@odata.context": s.odataContext("users" + selectSuffix(names)), "value": page}
	if strings.EqualFold(q.Get("$count"), "true") {
		out["@odata.count"] = total
	}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("id")
	p, uerr := parseUserBody(r, false)
	if uerr != nil {
		s.writeUserError(w, uerr)
		return
	}
	err := s.mutate(func(st *State) error {
		id, e := s.liveUserLocked(st, key)
		if e != nil {
			return e
		}
		u := st.Users[id]
		if v, ok := p.strings["userPrincipalName"]; ok && v != nil && !strings.EqualFold(*v, u.UserPrincipalName) {
			if !domainVerifiedLocked(st, upnDomain(*v)) {
				return userBadRequest("%s", msgUnverifiedDomain)
			}
			if upnTakenLocked(st, *v, id) {
				return userBadRequest("%s", msgDuplicateUPN)
			}
		}
		if v, ok := p.strings["usageLocation"]; ok && v == nil && len(u.AssignedLicenses) > 0 {
			return invalidUserValue("usageLocation") // a licensed user keeps a usage location (UNCONFIRMED wording)
		}
		applyPatch(&u, p, time.Now().UTC())
		st.Users[id] = u
		return nil
	})
	if err != nil {
		s.writeUserError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("id")
	err := s.mutate(func(st *State) error {
		id, e := s.liveUserLocked(st, key)
		if e != nil {
			return e
		}
		s.softDeleteLocked(st, id)
		return nil
	})
	if err != nil {
		s.writeUserError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- seed and test helpers -----------------------------------------------------------------

// seedUsers copies Seed.Users into the state (after the domains and SKUs).
func seedUsers(st *State, sd *Seed) error {
	for _, su := range sd.Users {
		u := su.User
		if !validUPNSyntax(u.UserPrincipalName) {
			return fmt.Errorf("seed: user %q: not a valid userPrincipalName", u.UserPrincipalName)
		}
		local, _, _ := strings.Cut(u.UserPrincipalName, "@")
		if u.ID == "" {
			u.ID = derivedGUID(st.TenantID, "user", strings.ToLower(u.UserPrincipalName))
		}
		u.ID = strings.ToLower(u.ID)
		if !isGUID(u.ID) {
			return fmt.Errorf("seed: user %s: id %q is not a GUID", u.UserPrincipalName, u.ID)
		}
		if u.DisplayName == "" {
			u.DisplayName = local
		}
		if u.MailNickname == "" {
			u.MailNickname = local
		}
		u.AccountEnabled = su.AccountEnabled == nil || *su.AccountEnabled
		u.PasswordHash, u.PasswordSalt = "", ""
		if su.Password != "" {
			u.PasswordHash, u.PasswordSalt = hashPassword(su.Password)
		}
		if u.CreatedDateTime.IsZero() {
			u.CreatedDateTime = time.Now().UTC().Truncate(time.Second)
		}
		if u.Deleted && u.DeletedDateTime.IsZero() {
			u.DeletedDateTime = u.CreatedDateTime
		}
		if st.Users == nil {
			st.Users = map[string]User{}
		}
		if _, dup := st.Users[u.ID]; dup || upnTakenLocked(st, u.UserPrincipalName, "") {
			return fmt.Errorf("seed: user %s appears twice", u.UserPrincipalName)
		}
		for i, l := range u.AssignedLicenses {
			u.AssignedLicenses[i].SkuID = strings.ToLower(l.SkuID)
			if skuLocked(st, l.SkuID) == nil {
				return fmt.Errorf("seed: user %s: licence %s is not a SKU of the tenant", u.UserPrincipalName, l.SkuID)
			}
		}
		if !u.Deleted {
			consumeLicences(st, u.AssignedLicenses, +1)
		}
		st.Users[u.ID] = u
	}
	return nil
}

// Users returns a copy of every user of the tenant, deleted ones included (Deleted set), sorted by
// UPN. For tests: it bypasses the fault knobs and the read-after-write lag.
func (s *Server) Users() []User {
	var out []User
	s.read(func(st *State) {
		for _, u := range st.Users {
			u.BusinessPhones = append([]string(nil), u.BusinessPhones...)
			u.OtherMails = append([]string(nil), u.OtherMails...)
			u.AssignedLicenses = append([]AssignedLicense(nil), u.AssignedLicenses...)
			out = append(out, u)
		}
	})
	sort.Slice(out, func(i, j int) bool {
		return strings.ToLower(out[i].UserPrincipalName) < strings.ToLower(out[j].UserPrincipalName)
	})
	return out
}

// RemoveUser deletes a user (id or UPN) as an administrator would outside any client under test:
// a soft delete into the deleted items, or with permanently also a purge from there. It bypasses
// the fault knobs; the list_lag index still lists the user for list_lag, as Graph's would.
func (s *Server) RemoveUser(idOrUPN string, permanently bool) error {
	return s.mutate(func(st *State) error {
		id, ok := lookupUserLocked(st, idOrUPN)
		if !ok {
			return userNotFoundError(idOrUPN)
		}
		s.softDeleteLocked(st, id)
		if permanently {
			delete(st.Users, id)
		}
		return nil
	})
}

// CheckUserPassword reports whether password is the current password of the user (id or UPN,
// deleted users included). For tests of password changes; the fake never stores the password.
func (s *Server) CheckUserPassword(idOrUPN, password string) bool {
	ok := false
	s.read(func(st *State) {
		for _, u := range st.Users {
			if (strings.EqualFold(u.ID, idOrUPN) || strings.EqualFold(u.UserPrincipalName, idOrUPN)) && u.PasswordHash != "" {
				ok = subtle.ConstantTimeCompare([]byte(passwordDigest(u.PasswordSalt, password)), []byte(u.PasswordHash)) == 1
			}
		}
	})
	return ok
}
