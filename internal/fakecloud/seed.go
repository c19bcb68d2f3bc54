package fakecloud

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
)

// Seed is the initial content of a fake tenant: a struct for tests, a JSON file (-seed) for
// cmd/fakecloud. Empty fields get defaults (see DefaultSeed); a state file, when it exists, wins
// over the seed.
type Seed struct {
	// TenantID is the tenant GUID (random when empty).
	TenantID string `json:"tenant_id"`
	// InitialDomain is the tenant's *.onmicrosoft.com domain (default contoso.onmicrosoft.com).
	InitialDomain string `json:"initial_domain"`
	// Environment is "global" (default), "china", "usgovernment" or "usgovernmentdod"; it decides
	// cloud-specific values such as DNS records.
	Environment string `json:"environment"`
	// Apps are the app registrations that may get tokens. The first one is Server.ClientID().
	// Empty: one app with a random id and secret.
	Apps []App `json:"apps"`
	// SKUs are the subscribed SKUs. nil (absent from JSON): the default set; [] : none.
	SKUs []SKU `json:"skus"`
	// MigrationEndpoints are pre-existing Exchange migration endpoints (handy for paging tests).
	MigrationEndpoints []MigrationEndpoint `json:"migration_endpoints,omitempty"`
	// IMAPRootCAs are PEM files of CAs the migration engine trusts, besides the system pool, when it
	// connects to an endpoint's IMAP server (tests point it at their IMAP server's CA).
	IMAPRootCAs []string `json:"imap_root_cas,omitempty"`
	// Domains are custom domains that exist from the start (the initial domain always does).
	Domains []SeedDomain `json:"domains,omitempty"`
	// DomainReferences simulate directory objects that use a domain: domain name ->
	// [{type: user|group|application, id, display_name, name}] (domains_delete.go). The domain may be
	// one the test adds later; the references apply from then on.
	DomainReferences map[string][]DomainReference `json:"domain_references,omitempty"`
	// Users are users that exist from the start (users.go: SeedUser); their licences add to the
	// SKUs' consumed units.
	Users []SeedUser `json:"users,omitempty"`
	// Exmail is the local Tencent Exmail API's address book (corp id, secrets, departments,
	// members); nil: fakeexmail.DefaultSeed().
	Exmail *fakeexmail.Seed `json:"exmail,omitempty"`
	// Knobs are the initial fault knobs; Options.Knobs and command-line flags override them.
	Knobs Knobs `json:"knobs"`
	// Timing selects a timing profile the knobs start from: "instant" (default, Knobs{}) or
	// "realistic" (RealisticTiming). Non-zero Knobs fields, Options.Knobs and flags override it.
	Timing string `json:"timing,omitempty"`
}

// App is an app registration (service principal) of the fake tenant.
type App struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	DisplayName  string `json:"display_name,omitempty"`
	// AcceptAssertions lets this app authenticate with a client_assertion (certificate or
	// workload-identity credentials). Signatures are not verified.
	AcceptAssertions bool `json:"accept_assertions,omitempty"`
}

// SKU is a subscribed SKU (licence) of the tenant, the source of GET /subscribedSkus.
type SKU struct {
	SkuID            string        `json:"sku_id"`
	SkuPartNumber    string        `json:"sku_part_number"`
	AppliesTo        string        `json:"applies_to"`        // User (default) | Company
	CapabilityStatus string        `json:"capability_status"` // Enabled (default) | Warning | Suspended | Deleted | LockedOut
	Enabled          int           `json:"enabled"`
	Warning          int           `json:"warning"`
	Suspended        int           `json:"suspended"`
	LockedOut        int           `json:"locked_out"`
	Consumed         int           `json:"consumed"`
	ServicePlans     []ServicePlan `json:"service_plans"`
	SubscriptionIDs  []string      `json:"subscription_ids,omitempty"`
}

// ServicePlan is one service plan of a SKU.
type ServicePlan struct {
	ServicePlanID      string `json:"service_plan_id"`
	ServicePlanName    string `json:"service_plan_name"`
	ProvisioningStatus string `json:"provisioning_status"` // Success (default) | Disabled | Error | Pending...
	AppliesTo          string `json:"applies_to"`          // User (default) | Company
}

// Well-known SKU ids used by DefaultSeed.
const (
	SkuBusinessPremium  = "f245ecc8-75af-4f8e-b61f-27d8114de5f3" // O365_BUSINESS_PREMIUM
	SkuExchangeStandard = "4b9405b0-7788-4568-add1-99614e613b69" // EXCHANGESTANDARD
	SkuFlowFree         = "f30db892-07e9-47e9-837c-80727f46fd3d" // FLOW_FREE
	SkuWindowsStore     = "6470687e-a428-4b7a-bef2-8a291ad947c9" // WINDOWS_STORE (applies to Company)
)

// DefaultInitialDomain is the initial domain of a seed that names none.
const DefaultInitialDomain = "contoso.onmicrosoft.com"

// Environments accepted in Seed.Environment.
var seedEnvironments = []string{"global", "china", "usgovernment", "usgovernmentdod"}

// DefaultSeed returns a tenant with a random GUID, one app with a random client id and a random
// 40-character secret, and four SKUs: O365_BUSINESS_PREMIUM (25 enabled, 3 consumed),
// EXCHANGESTANDARD (10 enabled, 2 warning, 0 consumed), FLOW_FREE (10000 enabled, 1 consumed) and
// the Company-applied WINDOWS_STORE.
func DefaultSeed() *Seed {
	return &Seed{
		TenantID:      newGUID(),
		InitialDomain: DefaultInitialDomain,
		Environment:   "global",
		Apps: []App{{
			ClientID:     newGUID(),
			ClientSecret: randomSecret(40),
			DisplayName:  "terraform-provider-m365",
		}},
		SKUs: defaultSKUs(),
	}
}

// defaultSKUs are the SKUs of DefaultSeed. Service-plan ids are the published ones for these
// plans; the plan lists are shortened.
func defaultSKUs() []SKU {
	exo := ServicePlan{ServicePlanID: "9aaf7827-d63c-4b61-89c3-182f06f82e5c", ServicePlanName: "EXCHANGE_S_STANDARD",
		ProvisioningStatus: "Success", AppliesTo: "User"}
	return []SKU{
		{SkuID: SkuBusinessPremium, SkuPartNumber: "O365_BUSINESS_PREMIUM", AppliesTo: "User", CapabilityStatus: "Enabled",
			Enabled: 25, Consumed: 3, ServicePlans: []ServicePlan{exo,
				{ServicePlanID: "57ff2da0-773e-42df-b2af-ffb7a2317929", ServicePlanName: "TEAMS1", ProvisioningStatus: "Success", AppliesTo: "User"}}},
		{SkuID: SkuExchangeStandard, SkuPartNumber: "EXCHANGESTANDARD", AppliesTo: "User", CapabilityStatus: "Enabled",
			Enabled: 10, Warning: 2, Consumed: 0, ServicePlans: []ServicePlan{exo}},
		{SkuID: SkuFlowFree, SkuPartNumber: "FLOW_FREE", AppliesTo: "User", CapabilityStatus: "Enabled",
			Enabled: 10000, Consumed: 1, ServicePlans: []ServicePlan{
				{ServicePlanID: "50e68c76-46c6-4674-81f9-75456511b170", ServicePlanName: "FLOW_P2_VIRAL", ProvisioningStatus: "Success", AppliesTo: "User"}}},
		{SkuID: SkuWindowsStore, SkuPartNumber: "WINDOWS_STORE", AppliesTo: "Company", CapabilityStatus: "Enabled",
			Enabled: 1000000, Consumed: 0, ServicePlans: []ServicePlan{
				{ServicePlanID: "a420f25f-a7b3-4ff5-a9d0-5d58f73b537d", ServicePlanName: "WINDOWS_STORE", ProvisioningStatus: "Success", AppliesTo: "Company"}}},
	}
}

// LoadSeed reads a seed JSON file. Unknown fields are an error so typos show up.
func LoadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading seed: %w", err)
	}
	var s Seed
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	return &s, nil
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// toState validates the seed and fills defaults, producing a fresh State.
func (sd *Seed) toState() (*State, error) {
	st := &State{
		Version:       stateVersion,
		TenantID:      strings.ToLower(sd.TenantID),
		InitialDomain: strings.ToLower(sd.InitialDomain),
		Environment:   strings.ToLower(sd.Environment),
	}
	if st.TenantID == "" {
		st.TenantID = newGUID()
	}
	if !isGUID(st.TenantID) {
		return nil, fmt.Errorf("seed: tenant_id %q is not a GUID", sd.TenantID)
	}
	if st.InitialDomain == "" {
		st.InitialDomain = DefaultInitialDomain
	}
	if st.Environment == "" {
		st.Environment = "global"
	}
	known := false
	for _, e := range seedEnvironments {
		known = known || e == st.Environment
	}
	if !known {
		return nil, fmt.Errorf("seed: environment %q is not one of %s", sd.Environment, strings.Join(seedEnvironments, ", "))
	}

	st.Apps = append([]App(nil), sd.Apps...)
	if len(st.Apps) == 0 {
		st.Apps = []App{{ClientID: newGUID(), ClientSecret: randomSecret(40), DisplayName: "terraform-provider-m365"}}
	}
	seen := map[string]bool{}
	for i := range st.Apps {
		a := &st.Apps[i]
		a.ClientID = strings.ToLower(a.ClientID)
		if a.ClientID == "" {
			a.ClientID = newGUID()
		}
		if seen[a.ClientID] {
			return nil, fmt.Errorf("seed: app client_id %s appears twice", a.ClientID)
		}
		seen[a.ClientID] = true
		if a.ClientSecret == "" && !a.AcceptAssertions {
			a.ClientSecret = randomSecret(40)
		}
	}

	if sd.SKUs == nil {
		st.SKUs = defaultSKUs()
	} else {
		st.SKUs = make([]SKU, 0, len(sd.SKUs))
		for _, k := range sd.SKUs {
			k.SkuID = strings.ToLower(k.SkuID)
			if !isGUID(k.SkuID) {
				return nil, fmt.Errorf("seed: sku %q: sku_id %q is not a GUID", k.SkuPartNumber, k.SkuID)
			}
			if k.AppliesTo == "" {
				k.AppliesTo = "User"
			}
			if k.CapabilityStatus == "" {
				k.CapabilityStatus = "Enabled"
			}
			k.ServicePlans = append([]ServicePlan(nil), k.ServicePlans...)
			for i := range k.ServicePlans {
				if k.ServicePlans[i].ProvisioningStatus == "" {
					k.ServicePlans[i].ProvisioningStatus = "Success"
				}
				if k.ServicePlans[i].AppliesTo == "" {
					k.ServicePlans[i].AppliesTo = k.AppliesTo
				}
			}
			st.SKUs = append(st.SKUs, k)
		}
	}
	for i := range st.SKUs {
		if len(st.SKUs[i].SubscriptionIDs) == 0 {
			st.SKUs[i].SubscriptionIDs = []string{derivedGUID(st.TenantID, "subscription", st.SKUs[i].SkuID)}
		}
	}

	for _, e := range sd.MigrationEndpoints {
		ep, err := normalizeSeedEndpoint(e)
		if err != nil {
			return nil, fmt.Errorf("seed: migration endpoint %q: %w", e.Name, err)
		}
		for _, old := range st.MigrationEndpoints {
			if strings.EqualFold(old.Name, ep.Name) {
				return nil, fmt.Errorf("seed: migration endpoint %q appears twice", ep.Name)
			}
		}
		st.MigrationEndpoints = append(st.MigrationEndpoints, ep)
	}
	if err := seedDomains(st, sd); err != nil {
		return nil, err
	}
	if err := seedUsers(st, sd); err != nil {
		return nil, err
	}
	seedMailboxes(st) // seeded users with an Exchange Online licence have their mailbox from the start
	return st, nil
}

// newGUID returns a random (version 4) GUID in lower case.
func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return formatGUID(b[:])
}

// derivedGUID is a stable GUID derived from its parts (for seed data that must not change between
// runs of the same seed).
func derivedGUID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := h[:16]
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	return formatGUID(b)
}

func formatGUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomSecret returns n characters drawn from the alphabet Entra uses for client secrets.
func randomSecret(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-"
	out := make([]byte, n)
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	for i := range out {
		out[i] = alphabet[int(buf[i])%len(alphabet)]
	}
	return string(out)
}
