package provider

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// This file holds what m365_users_csv, m365_user and m365_users share: the CSV-mappable user
// attributes and their Graph names, licences resolved against /subscribedSkus, the plan-time
// checks, a short-lived per-tenant cache of the reads those checks need, temporary passwords and
// the per-user lock of licence changes.

// userPermissions are what creating users and assigning licences needs (https://learn.microsoft.com/graph/api/user-post-users,
// https://learn.microsoft.com/graph/api/user-assignlicense).
var userPermissions = diagtext.Permissions{Graph: []string{"User.ReadWrite.All", "Directory.ReadWrite.All"}}

// passwordPermissions are what resetting a password needs in application-only access.
var passwordPermissions = diagtext.Permissions{Graph: []string{"User.ReadWrite.All"},
	Exchange: "at least the User Administrator Entra role on the application's service principal (Privileged Authentication Administrator to reset the password of an administrator)"}

// userCheckPermissions are what the plan-time reads need.
var userCheckPermissions = diagtext.Permissions{Graph: []string{"User.Read.All and Domain.Read.All and LicenseAssignment.Read.All", "Directory.Read.All"}}

// upnDomain is the lower-case domain of a user name ("" without an @).
func upnDomain(upn string) string {
	at := strings.LastIndexByte(upn, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(upn[at+1:])
}

// graphMessage is Graph's own words for a failed call.
func graphMessage(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) && ge.Message != "" {
		if ge.Code != "" {
			return ge.Code + ": " + ge.Message
		}
		return ge.Message
	}
	return err.Error()
}

// ---------------------------------------------------------------------------------------------
// Licences

// licenseModel is one element of `licenses`.
type licenseModel struct {
	Sku           types.String `tfsdk:"sku"`
	DisabledPlans types.Set    `tfsdk:"disabled_plans"`
}

var licenseAttrTypes = map[string]attr.Type{
	"sku":            types.StringType,
	"disabled_plans": types.SetType{ElemType: types.StringType},
}

var licenseObjectType = types.ObjectType{AttrTypes: licenseAttrTypes}

// licensesFromSet reads a `licenses` set; ok is false when it or an element is unknown.
func licensesFromSet(ctx context.Context, s types.Set) (out []licenseModel, ok bool) {
	if s.IsUnknown() {
		return nil, false
	}
	if s.IsNull() {
		return nil, true
	}
	if d := s.ElementsAs(ctx, &out, false); d.HasError() {
		return nil, false
	}
	for _, l := range out {
		if l.Sku.IsUnknown() || l.DisabledPlans.IsUnknown() {
			return nil, false
		}
	}
	return out, true
}

// licensesToSet builds a `licenses` set value.
func licensesToSet(ls []licenseModel) types.Set {
	elems := make([]attr.Value, 0, len(ls))
	for _, l := range ls {
		dp := l.DisabledPlans
		if dp.IsNull() || dp.IsUnknown() {
			dp = types.SetNull(types.StringType)
		}
		elems = append(elems, types.ObjectValueMust(licenseAttrTypes, map[string]attr.Value{"sku": l.Sku, "disabled_plans": dp}))
	}
	return types.SetValueMust(licenseObjectType, elems)
}

// skuIndex finds tenant SKUs by part number (any case) or GUID.
type skuIndex struct {
	skus  []graph.SubscribedSku
	byKey map[string]int
}

func newSkuIndex(skus []graph.SubscribedSku) skuIndex {
	ix := skuIndex{skus: skus, byKey: map[string]int{}}
	for i, s := range skus {
		ix.byKey[strings.ToLower(s.SkuPartNumber)] = i
		ix.byKey[strings.ToLower(s.SkuID)] = i
	}
	return ix
}

func (ix skuIndex) find(key string) (graph.SubscribedSku, bool) {
	i, ok := ix.byKey[strings.ToLower(strings.TrimSpace(key))]
	if !ok {
		return graph.SubscribedSku{}, false
	}
	return ix.skus[i], true
}

// partNumbers lists the assignable part numbers, sorted, for messages.
func (ix skuIndex) partNumbers() string {
	var names []string
	for _, s := range ix.skus {
		if s.AppliesTo == "" || strings.EqualFold(s.AppliesTo, "User") {
			names = append(names, s.SkuPartNumber)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// name is the part number of a SKU id (the id itself when unknown).
func (ix skuIndex) name(skuID string) string {
	if s, ok := ix.find(skuID); ok && s.SkuPartNumber != "" {
		return s.SkuPartNumber
	}
	return skuID
}

// resolvedLicense is a configured licence in Graph's terms.
type resolvedLicense struct {
	Key        string // as configured (part number or GUID)
	SkuID      string
	PartNumber string
	Disabled   []string // service plan ids, sorted
}

func (r resolvedLicense) assigned() graph.AssignedLicense { return r.licence().Assigned() }

// licence is r in the terms of internal/users.
func (r resolvedLicense) licence() users.Licence {
	return users.Licence{Key: r.Key, SkuID: r.SkuID, Disabled: r.Disabled}
}

// licences converts resolved licences.
func licences(rs []resolvedLicense) []users.Licence {
	out := make([]users.Licence, len(rs))
	for i, r := range rs {
		out[i] = r.licence()
	}
	return out
}

// licenseProblem is a licence that cannot be resolved.
type licenseProblem struct{ summary, cause, fix string }

// resolveLicenses maps configured licences to SKU and plan ids.
func resolveLicenses(ix skuIndex, ls []licenseModel) ([]resolvedLicense, []licenseProblem) {
	var out []resolvedLicense
	var probs []licenseProblem
	seen := map[string]string{}
	for _, l := range ls {
		key := l.Sku.ValueString()
		sku, ok := ix.find(key)
		if !ok {
			probs = append(probs, licenseProblem{"Unknown Licence SKU",
				fmt.Sprintf("the tenant has no SKU %q; its assignable SKUs are: %s", key, ix.partNumbers()),
				"Use one of the part numbers above (or its SKU id), or buy the subscription first. data.m365_subscribed_skus lists them with their free seats."})
			continue
		}
		if prev, dup := seen[sku.SkuID]; dup {
			probs = append(probs, licenseProblem{"Duplicate Licence",
				fmt.Sprintf("%q and %q are the same SKU (%s)", prev, key, sku.SkuPartNumber),
				"Keep one entry per SKU."})
			continue
		}
		seen[sku.SkuID] = key
		r := resolvedLicense{Key: key, SkuID: sku.SkuID, PartNumber: sku.SkuPartNumber}
		for _, p := range setStrings(l.DisabledPlans) {
			id, ok := findPlan(sku, p)
			if !ok {
				var names []string
				for _, sp := range sku.ServicePlans {
					names = append(names, sp.Name)
				}
				sort.Strings(names)
				probs = append(probs, licenseProblem{"Unknown Service Plan",
					fmt.Sprintf("the SKU %s has no service plan %q; its plans are: %s", sku.SkuPartNumber, p, strings.Join(names, ", ")),
					"Use a plan name or id from the list in disabled_plans."})
				continue
			}
			r.Disabled = append(r.Disabled, id)
		}
		sort.Strings(r.Disabled)
		r.Disabled = dedupe(r.Disabled)
		out = append(out, r)
	}
	return out, probs
}

func findPlan(sku graph.SubscribedSku, key string) (string, bool) {
	for _, sp := range sku.ServicePlans {
		if strings.EqualFold(sp.Name, key) || strings.EqualFold(sp.ID, key) {
			return strings.ToLower(sp.ID), true
		}
	}
	return "", false
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// hasLicense reports whether the user has the SKU with exactly the configured disabled plans.
func hasLicense(assigned []graph.AssignedLicense, r resolvedLicense) bool {
	return users.HasLicence(assigned, r.licence())
}

// seatShortfall is the message for a SKU without enough free seats.
func seatShortfall(partNumber string, need, free int, what string) string {
	short := need - free
	return fmt.Sprintf("needs %d %s seats, %d are free: buy %d or remove %d %s", need, partNumber, free, short, short, what)
}

// ---------------------------------------------------------------------------------------------
// Plan-time reads, cached per tenant for a few seconds so that a for_each over m365_user costs
// one read for all its instances.

const tenantCacheTTL = 15 * time.Second

type tenantCache struct {
	skuMu   sync.Mutex
	skus    []graph.SubscribedSku
	skusAt  time.Time
	domMu   sync.Mutex
	domains []graph.Domain
	domAt   time.Time
	usrMu   sync.Mutex
	users   map[string]map[string]graph.User // domain -> lower UPN -> user
	usersAt map[string]time.Time

	resMu        sync.Mutex
	reservations map[string][]string // lower UPN -> SKU ids a planned m365_user will newly take
}

func newTenantCache() *tenantCache {
	return &tenantCache{users: map[string]map[string]graph.User{}, usersAt: map[string]time.Time{}, reservations: map[string][]string{}}
}

// SKUs returns the tenant's SKUs; fresh says whether a cached copy may be used.
func (tc *tenantCache) SKUs(ctx context.Context, c *graph.Client, fresh bool) ([]graph.SubscribedSku, error) {
	tc.skuMu.Lock()
	defer tc.skuMu.Unlock()
	if !fresh && tc.skus != nil && time.Since(tc.skusAt) < tenantCacheTTL {
		return tc.skus, nil
	}
	skus, err := c.ListSubscribedSkus(ctx)
	if err != nil {
		return nil, err
	}
	if skus == nil {
		skus = []graph.SubscribedSku{}
	}
	tc.skus, tc.skusAt = skus, time.Now()
	return skus, nil
}

// Domains returns the tenant's domains.
func (tc *tenantCache) Domains(ctx context.Context, c *graph.Client) ([]graph.Domain, error) {
	tc.domMu.Lock()
	defer tc.domMu.Unlock()
	if tc.domains != nil && time.Since(tc.domAt) < tenantCacheTTL {
		return tc.domains, nil
	}
	ds, err := c.ListDomains(ctx)
	if err != nil {
		return nil, err
	}
	if ds == nil {
		ds = []graph.Domain{}
	}
	tc.domains, tc.domAt = ds, time.Now()
	return ds, nil
}

// UsersOf returns the users whose UPN is on domain, by lower-case UPN.
func (tc *tenantCache) UsersOf(ctx context.Context, c *graph.Client, domain string) (map[string]graph.User, error) {
	tc.usrMu.Lock()
	defer tc.usrMu.Unlock()
	if m, ok := tc.users[domain]; ok && time.Since(tc.usersAt[domain]) < tenantCacheTTL {
		return m, nil
	}
	list, err := c.ListUsers(ctx, domain)
	if err != nil {
		return nil, err
	}
	m := make(map[string]graph.User, len(list))
	for _, u := range list {
		m[strings.ToLower(u.UPN())] = u
	}
	tc.users[domain], tc.usersAt[domain] = m, time.Now()
	return m, nil
}

// reserve records the SKUs a planned m365_user newly takes and returns, per SKU id, how many
// seats all the m365_user resources planned so far in this run need.
func (tc *tenantCache) reserve(upn string, skuIDs []string) map[string]int {
	tc.resMu.Lock()
	defer tc.resMu.Unlock()
	key := strings.ToLower(upn)
	if len(skuIDs) == 0 {
		delete(tc.reservations, key)
	} else {
		tc.reservations[key] = skuIDs
	}
	need := map[string]int{}
	for _, ids := range tc.reservations {
		for _, id := range ids {
			need[id]++
		}
	}
	return need
}

// release forgets a reservation once the user is being written (its seats then show as consumed).
func (tc *tenantCache) release(upn string) {
	tc.resMu.Lock()
	defer tc.resMu.Unlock()
	delete(tc.reservations, strings.ToLower(upn))
}

// forgetSKUs drops the cached SKUs (after licence writes the seat counts changed).
func (tc *tenantCache) forgetSKUs() {
	tc.skuMu.Lock()
	tc.skus = nil
	tc.skuMu.Unlock()
}

// domainCheck splits user names by whether their domain is a verified domain of the tenant.
// pending are domains this same apply verifies (accepted as if verified). It returns, per bad
// domain, the users on it, and a text describing the tenant's verified domains.
func domainCheck(domains []graph.Domain, upns []string, pending []string) (bad map[string][]string, status map[string]string, verified string) {
	known := map[string]graph.Domain{}
	var names []string
	for _, d := range domains {
		known[strings.ToLower(d.ID)] = d
		if d.IsVerified {
			names = append(names, strings.ToLower(d.ID))
		}
	}
	sort.Strings(names)
	ok := map[string]bool{}
	for _, p := range pending {
		ok[strings.ToLower(strings.TrimSpace(p))] = true
	}
	bad = map[string][]string{}
	status = map[string]string{}
	for _, u := range upns {
		dom := upnDomain(u)
		if ok[dom] {
			continue
		}
		d, found := known[dom]
		if found && d.IsVerified {
			continue
		}
		bad[dom] = append(bad[dom], u)
		if found {
			status[dom] = "is in the tenant but not verified yet"
		} else {
			status[dom] = "is not a domain of the tenant"
		}
	}
	if len(names) == 0 {
		return bad, status, "none"
	}
	return bad, status, strings.Join(names, ", ")
}

// domainFix is the advice for an unverified UPN domain.
const domainFix = "Add and verify the domain first (m365_domain and m365_domain_verification), or use one of the verified domains. " +
	"If this same apply verifies it, list it in pending_domains and make this resource depend on the m365_domain_verification."

// listUPNs formats user names for a message, all of them, sorted.
func listUPNs(upns []string) string {
	s := sortStrings(upns)
	return strings.Join(s, ", ")
}

// ---------------------------------------------------------------------------------------------
// Passwords, locks and private state.

// Password classes for generated temporary passwords: Entra's rule is 8-256 characters from at
// least three of four classes (https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy). Look-alike characters and quotes
// are left out so the password can be read out or pasted into a CSV.
const (
	pwUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwLower   = "abcdefghijkmnopqrstuvwxyz"
	pwDigits  = "23456789"
	pwSymbols = "!#$%&*+-=?@^_"
)

// generatePassword returns a 16-character temporary password with every class present, from
// crypto/rand.
func generatePassword() (string, error) {
	return randomPassword(16, []string{pwUpper, pwLower, pwDigits, pwSymbols})
}

// randomPassword returns n characters from crypto/rand with at least one of each class, shuffled.
func randomPassword(n int, classes []string) (string, error) {
	all := strings.Join(classes, "")
	out := make([]byte, n)
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		out[i] = set[k.Int64()]
	}
	// Shuffle so the classes are not in fixed positions.
	for i := n - 1; i > 0; i-- {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		j := int(k.Int64())
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

// lockUser serialises licence changes per user: assignLicense rewrites the user's licence set,
// so two concurrent calls could lose an add or a remove. The locks live in the configured
// clients (one set per provider configuration), not in package state.
func (c *Clients) lockUser(id string) func() {
	c.userLocksMu.Lock()
	if c.userLocks == nil {
		c.userLocks = map[string]*sync.Mutex{}
	}
	mu, ok := c.userLocks[strings.ToLower(id)]
	if !ok {
		mu = &sync.Mutex{}
		c.userLocks[strings.ToLower(id)] = mu
	}
	c.userLocksMu.Unlock()
	mu.Lock()
	return mu.Unlock
}

// cache is the tenant facts (SKUs, domains, users by domain, planned licence reservations) shared
// by the types of one provider configuration.
func (c *Clients) cache() *tenantCache {
	c.cacheOnce.Do(func() { c.tenant = newTenantCache() })
	return c.tenant
}

// Private state keys.
const (
	// privReplacing marks a plan made for a new object. Terraform passes the planned private
	// state to the Delete half of a replacement (a tainted resource, or -replace), and to nothing
	// else that deletes, so Delete can tell "replace" from "destroy".
	privReplacing = "replacing"
	// privAttempted lists user names whose create failed in an earlier apply of m365_users: Graph
	// may have created them anyway, so the next apply adopts them instead of calling them
	// foreign.
	privAttempted = "attempted"
)

type privateData interface {
	GetKey(ctx context.Context, key string) ([]byte, diagList)
	SetKey(ctx context.Context, key string, value []byte) diagList
}

func privateStrings(ctx context.Context, p privateData, key string) []string {
	if p == nil {
		return nil
	}
	b, _ := p.GetKey(ctx, key)
	if len(b) == 0 {
		return nil
	}
	var out []string
	_ = json.Unmarshal(b, &out)
	return out
}

func setPrivateStrings(ctx context.Context, p privateData, key string, v []string) {
	if p == nil {
		return
	}
	if len(v) == 0 {
		p.SetKey(ctx, key, nil)
		return
	}
	b, _ := json.Marshal(sortStrings(v))
	p.SetKey(ctx, key, b)
}

func markReplacing(ctx context.Context, p privateData) {
	if p != nil {
		p.SetKey(ctx, privReplacing, []byte(`true`))
	}
}

func isReplacing(ctx context.Context, p privateData) bool {
	if p == nil {
		return false
	}
	b, _ := p.GetKey(ctx, privReplacing)
	return string(b) == "true"
}
