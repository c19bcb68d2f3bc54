package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

// AssignedLicense is one licence of a user: the SKU and the service plans switched off in it.
type AssignedLicense struct {
	SkuID         string
	DisabledPlans []string
}

// User is an Entra user with the properties the provider manages (https://learn.microsoft.com/graph/api/resources/user).
// Values holds the catalogue's attributes that have a Graph property (internal/userattr), by
// attribute name; a property Graph reports as empty (null, "" or []) is absent.
type User struct {
	ID string
	userattr.Values
	AccountEnabled   bool
	AssignedLicenses []AssignedLicense
}

// UPN is the user's principal name.
func (u User) UPN() string { return u.Get(userattr.UPN) }

// NewUser is a user to create. User.ID and User.AssignedLicenses are ignored: licences are
// assigned with AssignLicenses (or in the same $batch by Bulk).
type NewUser struct {
	User
	Password                      string
	ForceChangePasswordNextSignIn bool
}

// UserChanges is a PATCH of a user. Only what is set is sent.
type UserChanges struct {
	// Attrs are the attributes to write, by catalogue name (e.g. "job_title", "usage_location",
	// "user_principal_name"); "" clears a string (sent as JSON null), an empty list clears a list.
	Attrs                         userattr.Values
	AccountEnabled                *bool
	Password                      *string
	ForceChangePasswordNextSignIn *bool
}

// IsEmpty reports whether the changes would send nothing.
func (ch UserChanges) IsEmpty() bool {
	return ch.Attrs.IsEmpty() && ch.AccountEnabled == nil && ch.Password == nil && ch.ForceChangePasswordNextSignIn == nil
}

// graphAttrs are the catalogue's attributes written and read through Graph.
var graphAttrs = func() []userattr.Attr {
	var out []userattr.Attr
	for _, a := range userattr.All() {
		if a.Graph != "" {
			out = append(out, a)
		}
	}
	return out
}()

// userSelect is the $select of every read: all managed properties, including the ones Graph
// returns only on $select (assignedLicenses, usageLocation, accountEnabled, mailNickname...).
var userSelect = func() string {
	names := []string{"id"}
	for _, a := range graphAttrs {
		names = append(names, a.Graph)
	}
	names = append(names, "accountEnabled", "assignedLicenses")
	return strings.Join(names, ",")
}()

// wireUser is the JSON shape of a Graph user.
type wireUser struct {
	ID               string `json:"id"`
	AccountEnabled   *bool  `json:"accountEnabled"`
	AssignedLicenses []struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	} `json:"assignedLicenses"`
}

// parseUser decodes a Graph user object.
func parseUser(b []byte) (*User, error) {
	var w wireUser
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("the user object is not valid JSON: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	u := &User{ID: w.ID}
	for _, a := range graphAttrs {
		v, ok := raw[a.Graph]
		if !ok {
			continue
		}
		if a.Kind == userattr.List {
			var l []string
			if err := json.Unmarshal(v, &l); err != nil {
				return nil, fmt.Errorf("property %s of the user object: %w", a.Graph, err)
			}
			if len(l) > 0 {
				u.SetList(a.Name, l)
			}
			continue
		}
		var s *string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("property %s of the user object: %w", a.Graph, err)
		}
		if s != nil && *s != "" {
			u.Set(a.Name, *s)
		}
	}
	if w.AccountEnabled != nil {
		u.AccountEnabled = *w.AccountEnabled
	}
	for _, l := range w.AssignedLicenses {
		al := AssignedLicense{SkuID: strings.ToLower(l.SkuID)}
		for _, p := range l.DisabledPlans {
			al.DisabledPlans = append(al.DisabledPlans, strings.ToLower(p))
		}
		u.AssignedLicenses = append(u.AssignedLicenses, al)
	}
	return u, nil
}

// createBody is the POST /users body of u. The password appears only in this body, never in a log
// or an error.
func createBody(u NewUser) map[string]any {
	body := map[string]any{
		"accountEnabled": u.AccountEnabled,
		"passwordProfile": map[string]any{
			"password":                      u.Password,
			"forceChangePasswordNextSignIn": u.ForceChangePasswordNextSignIn,
		},
	}
	for _, a := range graphAttrs {
		if a.Kind == userattr.List {
			if l := u.GetList(a.Name); len(l) > 0 {
				body[a.Graph] = l
			}
		} else if v := u.Get(a.Name); v != "" {
			body[a.Graph] = v
		}
	}
	return body
}

// patchBody is the PATCH /users/{id} body of ch.
func patchBody(ch UserChanges) (map[string]any, error) {
	body := map[string]any{}
	for _, name := range sortedMapKeys(ch.Attrs.Strings) {
		a, ok := userattr.ByName(name)
		if !ok || a.Graph == "" || a.Kind != userattr.String {
			return nil, fmt.Errorf("%q is not a user property this client can set", name)
		}
		if v := ch.Attrs.Strings[name]; v == "" {
			body[a.Graph] = nil
		} else {
			body[a.Graph] = v
		}
	}
	for name, l := range ch.Attrs.Lists {
		a, ok := userattr.ByName(name)
		if !ok || a.Graph == "" || a.Kind != userattr.List {
			return nil, fmt.Errorf("%q is not a user property this client can set", name)
		}
		body[a.Graph] = nonNil(l)
	}
	if ch.AccountEnabled != nil {
		body["accountEnabled"] = *ch.AccountEnabled
	}
	if ch.Password != nil || ch.ForceChangePasswordNextSignIn != nil {
		pp := map[string]any{}
		if ch.Password != nil {
			pp["password"] = *ch.Password
		}
		if ch.ForceChangePasswordNextSignIn != nil {
			pp["forceChangePasswordNextSignIn"] = *ch.ForceChangePasswordNextSignIn
		}
		body["passwordProfile"] = pp
	}
	return body, nil
}

// assignBody is the POST /users/{id}/assignLicense body. Both arrays are always sent
// (https://learn.microsoft.com/graph/api/user-assignlicense: whether they are required is UNCONFIRMED).
func assignBody(add []AssignedLicense, remove []string) map[string]any {
	adds := make([]map[string]any, 0, len(add))
	for _, l := range add {
		adds = append(adds, map[string]any{"skuId": l.SkuID, "disabledPlans": nonNil(l.DisabledPlans)})
	}
	return map[string]any{"addLicenses": adds, "removeLicenses": nonNil(remove)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// errorMappings maps every failed answer to Graph's ODataError, so wrap can read code and message.
var errorMappings = abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// userPath is the path of a user addressed by id or UPN.
func userPath(idOrUPN string) string { return "/users/" + url.PathEscape(idOrUPN) }

// newRequest builds a request for path (under /v1.0) with an optional JSON body.
func (c *Client) newRequest(method abstractions.HttpMethod, path string, query url.Values, body any) (*abstractions.RequestInformation, error) {
	u, err := url.Parse(c.baseURL + path)
	if err != nil {
		return nil, err
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	ri := abstractions.NewRequestInformation()
	ri.Method = method
	ri.SetUri(*u)
	ri.Headers.Add("Accept", "application/json")
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		ri.SetStreamContentAndContentType(b, "application/json")
	}
	return ri, nil
}

// sendJSON sends ri and returns the answer body (nil for 204).
func (c *Client) sendJSON(ctx context.Context, ri *abstractions.RequestInformation) ([]byte, error) {
	res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMappings)
	if err != nil {
		return nil, err
	}
	b, _ := res.([]byte)
	return b, nil
}

// recentWindow is how long a user this process created counts as "just created": a 404 on it is
// then read-after-write lag and is retried, while a 404 on any other user is returned at once.
const recentWindow = 10 * time.Minute

// lagBound bounds the lag retries of one call (Entra replicates in seconds; a user that stays
// missing this long was deleted by someone else).
const lagBound = time.Minute

// userMemory is per-client state of the users API: the evidence of recent creations.
type userMemory struct {
	mu      sync.Mutex
	created map[string]time.Time // lower(id or UPN) -> when this process created it
	upnOf   map[string]string    // lower(id) -> lower(UPN), to forget both
	serial  bool                 // Graph refused mixed dependsOn patterns: build chains
	buckets map[string]*tokenBucket
}

func (m *userMemory) serialBatches() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.serial
}

func (m *userMemory) setSerialBatches() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.serial = true
}

// memories holds each client's userMemory, made on first use.
var memories struct {
	mu sync.Mutex
	m  map[*Client]*userMemory
}

func (c *Client) memory() *userMemory {
	memories.mu.Lock()
	defer memories.mu.Unlock()
	if m, ok := memories.m[c]; ok {
		return m
	}
	if memories.m == nil {
		memories.m = map[*Client]*userMemory{}
	}
	m := &userMemory{created: map[string]time.Time{}, upnOf: map[string]string{}}
	memories.m[c] = m
	return m
}

// rememberCreated records that this process created the user with this id and UPN.
func (c *Client) rememberCreated(id, upn string) {
	m := c.memory()
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for k, t := range m.created {
		if now.Sub(t) > recentWindow {
			delete(m.created, k)
			delete(m.upnOf, k)
		}
	}
	id, upn = strings.ToLower(id), strings.ToLower(upn)
	m.created[id] = now
	if upn != "" {
		m.created[upn] = now
		m.upnOf[id] = upn
	}
}

// forgetCreated drops the evidence of a user this process deleted: a 404 on it is no lag.
func (c *Client) forgetCreated(idOrUPN string) {
	m := c.memory()
	m.mu.Lock()
	defer m.mu.Unlock()
	k := strings.ToLower(idOrUPN)
	if upn, ok := m.upnOf[k]; ok {
		delete(m.created, upn)
	}
	for id, upn := range m.upnOf {
		if upn == k {
			delete(m.created, id)
			delete(m.upnOf, id)
		}
	}
	delete(m.created, k)
	delete(m.upnOf, k)
}

// createdRecently reports whether this process created the user in the last recentWindow.
func (c *Client) createdRecently(idOrUPN string) bool {
	m := c.memory()
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.created[strings.ToLower(idOrUPN)]
	return ok && time.Since(t) <= recentWindow
}

// onRecentUser runs call; when it answers 404 for a user this process has just created, it is
// read-after-write lag (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/) and call is repeated with a growing delay
// until it answers something else or ctx ends (lagBound without a deadline). A 404 on any other
// user is returned at once.
func (c *Client) onRecentUser(ctx context.Context, idOrUPN string, call func(ctx context.Context) error) error {
	err := call(ctx)
	if err == nil || !IsNotFound(err) || !c.createdRecently(idOrUPN) {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, lagBound)
	defer cancel()
	last := err
	werr := WaitUntil(ctx, "user "+idOrUPN+" to replicate", func(ctx context.Context) (bool, error) {
		last = call(ctx)
		return last == nil, last
	})
	if werr != nil && last != nil && IsNotFound(last) {
		return last
	}
	return werr
}

// CreateUser creates a user (POST /users) and returns it as written, with the id Graph assigned.
// The answer of the write is trusted: nothing is read back (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/).
func (c *Client) CreateUser(ctx context.Context, u NewUser) (*User, error) {
	op := "create user " + u.UPN()
	ri, err := c.newRequest(abstractions.POST, "/users", nil, createBody(u))
	if err != nil {
		return nil, &Error{Op: op, Message: err.Error(), err: err}
	}
	b, err := c.sendJSON(ctx, ri)
	if err != nil {
		return nil, wrap(op, err)
	}
	return c.createdUser(op, u, b)
}

// createdUser builds the result of a create from what was written and the answer's id.
func (c *Client) createdUser(op string, u NewUser, answer []byte) (*User, error) {
	got, err := parseUser(answer)
	if err != nil || got.ID == "" {
		msg := "the answer has no user id"
		if err != nil {
			msg = err.Error()
		}
		return nil, &Error{Op: op, StatusCode: http.StatusCreated, Message: msg}
	}
	out := u.User
	out.ID = got.ID
	out.Values = u.Clone()
	if upn := got.UPN(); upn != "" {
		out.Set(userattr.UPN, upn)
	}
	out.AssignedLicenses = nil
	c.rememberCreated(out.ID, out.UPN())
	return &out, nil
}

// GetUser reads one user by id or UPN with every managed property, licences and usage location
// included. A 404 for a user this process has just created is retried (read-after-write lag).
func (c *Client) GetUser(ctx context.Context, idOrUPN string) (*User, error) {
	op := "read user " + idOrUPN
	var out *User
	err := c.onRecentUser(ctx, idOrUPN, func(ctx context.Context) error {
		ri, err := c.newRequest(abstractions.GET, userPath(idOrUPN), url.Values{"$select": {userSelect}}, nil)
		if err != nil {
			return &Error{Op: op, Message: err.Error(), err: err}
		}
		b, err := c.sendJSON(ctx, ri)
		if err != nil {
			return wrap(op, err)
		}
		u, err := parseUser(b)
		if err != nil {
			return &Error{Op: op, StatusCode: http.StatusOK, Message: err.Error(), err: err}
		}
		out = u
		return nil
	})
	return out, err
}

// ListUsers returns every user of the tenant, or only those whose UPN is on domain when domain is
// set, following @odata.nextLink, 999 per page, with the same properties as GetUser. The domain
// filter is an advanced query (endsWith): it is sent with ConsistencyLevel: eventual and $count.
func (c *Client) ListUsers(ctx context.Context, domain string) ([]User, error) {
	op := "list users"
	q := url.Values{"$select": {userSelect}, "$top": {"999"}}
	if domain != "" {
		op += " of domain " + domain
		q.Set("$filter", "endswith(userPrincipalName,'@"+strings.ReplaceAll(domain, "'", "''")+"')")
		q.Set("$count", "true")
	}
	ri, err := c.newRequest(abstractions.GET, "/users", q, nil)
	if err != nil {
		return nil, &Error{Op: op, Message: err.Error(), err: err}
	}
	var out []User
	for page := 1; ; page++ {
		if domain != "" {
			ri.Headers.Add("ConsistencyLevel", "eventual")
		}
		b, err := c.sendJSON(ctx, ri)
		if err != nil {
			return nil, wrap(op, err)
		}
		var pageBody struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(b, &pageBody); err != nil {
			return nil, &Error{Op: op, StatusCode: http.StatusOK, Message: "page " + fmt.Sprint(page) + " is not valid JSON", err: err}
		}
		for _, raw := range pageBody.Value {
			u, err := parseUser(raw)
			if err != nil {
				return nil, &Error{Op: op, StatusCode: http.StatusOK, Message: err.Error(), err: err}
			}
			out = append(out, *u)
		}
		if pageBody.NextLink == "" {
			return out, nil
		}
		next, err := url.Parse(pageBody.NextLink)
		if err != nil {
			return nil, &Error{Op: op, Message: "the next-page link is not a URL", err: err}
		}
		ri = abstractions.NewRequestInformation()
		ri.Method = abstractions.GET
		ri.SetUri(*next)
		ri.Headers.Add("Accept", "application/json")
	}
}

// UpdateUser applies ch to the user (PATCH /users/{id}); empty changes send nothing.
func (c *Client) UpdateUser(ctx context.Context, id string, ch UserChanges) error {
	op := "update user " + id
	if ch.IsEmpty() {
		return nil
	}
	body, err := patchBody(ch)
	if err != nil {
		return &Error{Op: op, Message: err.Error(), err: err}
	}
	err = c.onRecentUser(ctx, id, func(ctx context.Context) error {
		ri, err := c.newRequest(abstractions.PATCH, userPath(id), nil, body)
		if err != nil {
			return &Error{Op: op, Message: err.Error(), err: err}
		}
		_, err = c.sendJSON(ctx, ri)
		return wrap(op, err)
	})
	if err == nil && c.createdRecently(id) {
		if upn := ch.Attrs.Get(userattr.UPN); upn != "" {
			c.rememberCreated(id, upn)
		}
	}
	return err
}

// DeleteUser deletes the user (DELETE /users/{id}): a soft delete, restorable for 30 days, during
// which the UPN stays taken. A user that does not exist answers an error for which IsNotFound is
// true.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	op := "delete user " + id
	err := c.onRecentUser(ctx, id, func(ctx context.Context) error {
		ri, err := c.newRequest(abstractions.DELETE, userPath(id), nil, nil)
		if err != nil {
			return &Error{Op: op, Message: err.Error(), err: err}
		}
		_, err = c.sendJSON(ctx, ri)
		return wrap(op, err)
	})
	if err == nil {
		c.forgetCreated(id)
	}
	return err
}

// AssignLicenses adds and removes licences of a user (POST /users/{id|UPN}/assignLicense) in one
// call. The user needs a usage location first. A 404 for a user this process has just created is
// retried (read-after-write lag).
func (c *Client) AssignLicenses(ctx context.Context, idOrUPN string, add []AssignedLicense, remove []string) error {
	op := "assign licences to " + idOrUPN
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	body := assignBody(add, remove)
	return c.onRecentUser(ctx, idOrUPN, func(ctx context.Context) error {
		ri, err := c.newRequest(abstractions.POST, userPath(idOrUPN)+"/assignLicense", nil, body)
		if err != nil {
			return &Error{Op: op, Message: err.Error(), err: err}
		}
		_, err = c.sendJSON(ctx, ri)
		return wrap(op, err)
	})
}

// errorFromBody builds an *Error from a Graph error body (used for $batch sub-responses).
func errorFromBody(op string, status int, body []byte, retryAfter time.Duration) *Error {
	out := &Error{Op: op, StatusCode: status, RetryAfter: retryAfter}
	var e struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Date      string `json:"date"`
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if len(body) > 0 && json.Unmarshal(body, &e) == nil {
		out.Code = e.Error.Code
		out.Message = e.Error.Message
		out.RequestID = e.Error.InnerError.RequestID
		out.Date = e.Error.InnerError.Date
	}
	if out.Message == "" {
		out.Message = http.StatusText(status)
		if out.Message == "" {
			out.Message = "no error message in the answer"
		}
	}
	return out
}

// GoneUser is a user that a direct read reports gone, with the evidence.
type GoneUser struct {
	// ID is the id (or UPN) that was read.
	ID string
	// InDeletedItems is set when the deleted-items container holds the user: it was deleted
	// (soft delete, restorable for 30 days). UserPrincipalName and DeletedDateTime come from there.
	InDeletedItems                     bool
	UserPrincipalName, DeletedDateTime string
	// NotFoundReads is how many direct reads answered 404, the first and the last Waited apart.
	NotFoundReads int
	Waited        time.Duration
}

// Evidence says, for a message, why the user counts as gone.
func (g GoneUser) Evidence() string {
	if g.InDeletedItems {
		s := "it is in the deleted users (GET /directory/deletedItems/" + g.ID + ")"
		if g.DeletedDateTime != "" {
			s += ", deleted at " + g.DeletedDateTime
		}
		return s
	}
	return fmt.Sprintf("%d reads by id over %s answered 404 and the deleted users do not hold it (deleted permanently, or the application may not read deleted items)",
		g.NotFoundReads, g.Waited.Round(100*time.Millisecond))
}

// absenceWait bounds how long ReadUsersByID keeps reading a user that answers 404 without being
// in the deleted items: longer than Entra's replication lag (seconds,
// https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/), short enough that a refresh of a user deleted permanently does not hang.
var absenceWait = lagBound

// minNotFoundReads and minAbsence are what a user outside the deleted items needs to count as
// gone: at least this many reads by id answering 404 (never one), the first and the last at
// least minAbsence apart (longer than the replication lag a new object usually shows).
const minNotFoundReads = 3

var minAbsence = 10 * time.Second

// readChunk is the ids of one $batch request of a round and which of them are also looked up in
// the deleted items.
type readChunkIDs struct {
	ids         []string
	withDeleted map[string]bool
}

// chunkReads packs the reads of a round into $batch requests of at most maxBatchSize
// sub-requests: one per id, two (with its deleted item) for ids that already answered 404.
func chunkReads(ids []string, seen404 func(id string) bool) []readChunkIDs {
	var out []readChunkIDs
	cur, n := readChunkIDs{withDeleted: map[string]bool{}}, 0
	for _, id := range ids {
		k := 1
		if seen404(id) {
			k = 2
		}
		if n+k > maxBatchSize {
			out = append(out, cur)
			cur, n = readChunkIDs{withDeleted: map[string]bool{}}, 0
		}
		cur.ids = append(cur.ids, id)
		cur.withDeleted[id] = k == 2
		n += k
	}
	if len(cur.ids) > 0 {
		out = append(out, cur)
	}
	return out
}

// readOutcome is what one round learned about one id.
type readOutcome int

const (
	readPending  readOutcome = iota // no answer that settles it (429, 5xx, 424, no response)
	readFound                       // 200 on /users/{id}
	readNotFound                    // 404 on /users/{id}, not in the deleted items (yet)
	readDeleted                     // 404 on /users/{id} and 200 on /directory/deletedItems/{id}
)

// classifyRead settles one id from the statuses of its two reads (0: no answer). A user found
// wins over anything the deleted items say; a refusal of the deleted-items read (403 without
// User.Read.All or User.DeleteRestore.All, 400) only removes that evidence. Any other failure of
// the user read is an error for the caller.
func classifyRead(userStatus, deletedStatus int) (readOutcome, bool) {
	switch {
	case userStatus == http.StatusOK:
		return readFound, true
	case userStatus == http.StatusNotFound && deletedStatus == http.StatusOK:
		return readDeleted, true
	case userStatus == http.StatusNotFound:
		return readNotFound, true
	case userStatus == 0 || userStatus == http.StatusTooManyRequests || userStatus == http.StatusFailedDependency || userStatus >= 500:
		return readPending, true
	}
	return readPending, false
}

// ReadUsersByID reads users directly by id (or UPN), not through a list: GET /users/{id} with
// every managed property, many per $batch request (20 sub-requests each; a single read goes as a
// plain GET), and, for an id that answered 404, the deleted item with the same id
// (GET /directory/deletedItems/{id}) in the same request. It is how a refresh tells a user that
// a lagging advanced-query list left out (created seconds ago: Microsoft's eventually consistent
// index, https://learn.microsoft.com/graph/aad-advanced-queries) from one that is gone.
//
// A user is gone only on evidence: it is in the deleted items (a soft delete), or every read
// answered 404 for the whole wait (at least three reads, at least minAbsence apart). Ids that answer 404 are read again with backoff (WaitUntil:
// from 250 ms, doubling, at most 5 s) until they are found, appear in the deleted items, or the
// wait ends: absenceWait, and at most 80 % of what is left of ctx, so the caller can still finish.
// found is keyed by the ids as given; throttled or failed reads are read again, and an id that
// never got a 200 or a 404 fails the call.
func (c *Client) ReadUsersByID(ctx context.Context, ids []string) (found map[string]User, gone []GoneUser, err error) {
	found = map[string]User{}
	if len(ids) == 0 {
		return found, nil, nil
	}
	started := time.Now()
	wait := absenceWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)*8/10)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()

	type idState struct {
		outcome           readOutcome
		n404              int
		first404, settled time.Time
		upn, del          string
	}
	states := map[string]*idState{}
	pending := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, dup := states[id]; !dup {
			states[id] = &idState{}
			pending = append(pending, id)
		}
	}
	var fatal error
	rounds := 0
	werr := WaitUntil(wctx, fmt.Sprintf("%d users to be readable by id", len(pending)), func(ctx context.Context) (bool, error) {
		rounds++
		for _, chunk := range chunkReads(pending, func(id string) bool { return states[id].n404 > 0 }) {
			answers, err := c.readChunk(ctx, chunk.ids, chunk.withDeleted)
			if err != nil {
				if ctx.Err() != nil {
					return false, nil //nolint:nilerr // the wait ran out: WaitUntil reports the deadline, not this read
				}
				fatal = err
				return false, err
			}
			for _, id := range chunk.ids {
				a := answers[id]
				outcome, ok := classifyRead(a.userStatus, a.deletedStatus)
				if !ok {
					fatal = a.userErr
					return false, fatal
				}
				st := states[id]
				if outcome == readPending && st.n404 > 0 {
					outcome = readNotFound // a throttled re-read changes nothing of what was seen
				}
				st.outcome = outcome
				if a.userStatus == http.StatusNotFound {
					st.n404++
					if st.first404.IsZero() {
						st.first404 = time.Now()
					}
					st.settled = time.Now()
				}
				switch outcome {
				case readFound:
					found[id] = *a.user
				case readDeleted:
					st.upn, st.del = a.deletedUPN, a.deletedAt
				}
			}
		}
		var still []string
		for _, id := range pending {
			if o := states[id].outcome; o == readNotFound || o == readPending {
				still = append(still, id)
			}
		}
		if len(still) > 0 {
			tflog.Info(ctx, "users not readable by id yet (404: replication lag or deletion); reading them again", map[string]any{
				"round": rounds, "still_missing": len(still), "of": len(ids), "waited_ms": time.Since(started).Milliseconds()})
		}
		pending = still
		return len(pending) == 0, nil
	})
	if fatal != nil {
		return nil, nil, fatal
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, &Error{Op: "read users by id", Message: errors.Join(err, werr).Error(), err: err}
	}
	var unsettled []string
	for _, id := range sortedKeysOf(states) {
		st := states[id]
		switch st.outcome {
		case readDeleted:
			gone = append(gone, GoneUser{ID: id, InDeletedItems: true, UserPrincipalName: st.upn, DeletedDateTime: st.del, NotFoundReads: st.n404, Waited: st.settled.Sub(started)})
		case readNotFound:
			if st.n404 < minNotFoundReads || st.settled.Sub(st.first404) < minAbsence {
				unsettled = append(unsettled, id) // a few 404s in a short time are no evidence
				continue
			}
			gone = append(gone, GoneUser{ID: id, NotFoundReads: st.n404, Waited: st.settled.Sub(st.first404)})
		case readPending:
			unsettled = append(unsettled, id)
		}
	}
	if len(unsettled) > 0 {
		msg := fmt.Sprintf("the reads of %s by id settled nothing within %s (throttled, failing, or too few 404 answers to tell lag from deletion)", strings.Join(unsettled, ", "), wait.Round(time.Second))
		return nil, nil, &Error{Op: "read users by id", Message: msg, err: werr}
	}
	return found, gone, nil
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readAnswer is what one $batch round answered for one id.
type readAnswer struct {
	userStatus, deletedStatus int
	user                      *User
	userErr                   error
	deletedUPN, deletedAt     string
}

// readChunk reads one chunk: GET /users/{id} for each id, and GET /directory/deletedItems/{id}
// for those in withDeleted, in one $batch request (a plain GET when it is a single read).
func (c *Client) readChunk(ctx context.Context, ids []string, withDeleted map[string]bool) (map[string]readAnswer, error) {
	type sub struct {
		id      string
		deleted bool
		ri      *abstractions.RequestInformation
	}
	var subs []sub
	for _, id := range ids {
		ri, err := c.newRequest(abstractions.GET, userPath(id), url.Values{"$select": {userSelect}}, nil)
		if err != nil {
			return nil, &Error{Op: "read user " + id, Message: err.Error(), err: err}
		}
		subs = append(subs, sub{id: id, ri: ri})
		if withDeleted[id] {
			ri, err := c.newRequest(abstractions.GET, "/directory/deletedItems/"+url.PathEscape(id), url.Values{"$select": {"id,userPrincipalName,deletedDateTime"}}, nil)
			if err != nil {
				return nil, &Error{Op: "read deleted user " + id, Message: err.Error(), err: err}
			}
			subs = append(subs, sub{id: id, deleted: true, ri: ri})
		}
	}
	// status and body of each sub-request, in the order of subs (status 0: no answer).
	statuses, bodies := make([]int, len(subs)), make([][]byte, len(subs))
	if len(subs) == 1 {
		b, err := c.sendJSON(ctx, subs[0].ri)
		if err != nil {
			ge, ok := wrap("read user "+ids[0], err).(*Error)
			if !ok || ge.StatusCode == 0 {
				return nil, wrap("read user "+ids[0], err)
			}
			statuses[0], bodies[0] = ge.StatusCode, nil
			if ge.StatusCode != http.StatusNotFound {
				// Keep Graph's words for the error the caller may report.
				bodies[0], _ = json.Marshal(map[string]any{"error": map[string]any{"code": ge.Code, "message": ge.Message}})
			}
		} else {
			statuses[0], bodies[0] = http.StatusOK, b
		}
	} else {
		br := msgraphcore.NewBatchRequest(c.adapter)
		itemIDs := make([]string, len(subs))
		for i, sb := range subs {
			item, err := br.AddBatchRequestStep(*sb.ri)
			if err != nil {
				return nil, &Error{Op: "read user " + sb.id, Message: err.Error(), err: err}
			}
			itemIDs[i] = *item.GetId()
		}
		resp, err := sendBatch(ctx, c, br)
		if err != nil {
			status, _, _, _ := outerStatus(err)
			if status == http.StatusTooManyRequests || status >= 500 || status == 0 {
				return map[string]readAnswer{}, nil // nothing settled: every id stays pending for the next round
			}
			return nil, wrap(fmt.Sprintf("read %d users by id ($batch)", len(ids)), err)
		}
		for i := range subs {
			item := resp.GetResponseById(itemIDs[i])
			if item == nil || item.GetStatus() == nil {
				continue
			}
			statuses[i] = int(*item.GetStatus())
			if b := item.GetBody(); b != nil {
				bodies[i], _ = json.Marshal(b) // values may be *string
			}
		}
	}
	out := map[string]readAnswer{}
	for i, sb := range subs {
		a := out[sb.id]
		if sb.deleted {
			a.deletedStatus = statuses[i]
			if statuses[i] == http.StatusOK {
				var d struct {
					UPN       string `json:"userPrincipalName"`
					DeletedAt string `json:"deletedDateTime"`
				}
				_ = json.Unmarshal(bodies[i], &d)
				a.deletedUPN, a.deletedAt = d.UPN, d.DeletedAt
			}
			out[sb.id] = a
			continue
		}
		a.userStatus = statuses[i]
		switch {
		case statuses[i] == http.StatusOK:
			u, err := parseUser(bodies[i])
			if err != nil {
				return nil, &Error{Op: "read user " + sb.id, StatusCode: http.StatusOK, Message: err.Error(), err: err}
			}
			a.user = u
		case statuses[i] != 0:
			a.userErr = errorFromBody("read user "+sb.id, statuses[i], bodies[i], 0)
		}
		out[sb.id] = a
	}
	return out, nil
}

// sendBatch POSTs one $batch. msgraph-sdk-go-core asserts the answer's type without checking (an
// empty 2xx answer would panic): such a panic becomes an error, never a crash of the provider.
func sendBatch(ctx context.Context, c *Client, br msgraphcore.BatchRequest) (resp msgraphcore.BatchResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("the $batch answer could not be read: %v", p)
		}
	}()
	resp, err = br.Send(ctx, c.adapter)
	if err == nil && resp == nil {
		err = errors.New("the $batch answer is empty")
	}
	return resp, err
}
