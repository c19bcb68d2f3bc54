package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/auth"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// userDocCheck checks one key of a user's JSON document in m365_users.attributes.
type userDocCheck struct {
	key  string
	want any
}

// userDoc is a knownvalue check of a user's JSON document: key holds want (a string, bool or
// []any of strings, as encoding/json decodes them).
func userDoc(key string, want any) knownvalue.Check { return userDocCheck{key, want} }

func (c userDocCheck) CheckValue(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected a JSON document, got %T", v)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return fmt.Errorf("not JSON: %v: %s", err, s)
	}
	if got, ok := doc[c.key]; !ok || !reflect.DeepEqual(got, c.want) {
		return fmt.Errorf("%s = %#v, want %#v in %s", c.key, got, c.want, s)
	}
	return nil
}

func (c userDocCheck) String() string { return fmt.Sprintf("%s = %v", c.key, c.want) }

// terraformState is the state a TestStep Check function sees.
type terraformState = terraform.State

// usersSeed is a tenant with the verified domain corp.com and the default SKUs, with seats set
// for O365_BUSINESS_PREMIUM (enabled - consumed = free).
func usersSeed(enabled, consumed int) *fakecloud.Seed {
	seed := fakecloud.DefaultSeed()
	seed.Domains = []fakecloud.SeedDomain{{ID: "corp.com", IsVerified: true}, {ID: "pending.com"}}
	for i := range seed.SKUs {
		if seed.SKUs[i].SkuPartNumber == "O365_BUSINESS_PREMIUM" {
			seed.SKUs[i].Enabled, seed.SKUs[i].Consumed = enabled, consumed
		}
	}
	return seed
}

// adminCSV is an admin-centre template (16 columns) with one row per user name; dept gives the
// department of a user (default "Sales").
func adminCSV(upns []string, dept map[string]string) string {
	var b strings.Builder
	b.WriteString("User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region\n")
	for _, u := range upns {
		d := dept[u]
		if d == "" {
			d = "Sales"
		}
		local := users.UPNLocal(u)
		fmt.Fprintf(&b, "%s,%s,User,%s User,Clerk,%s,,010-1234,,,,,Beijing,,,China\n", u, local, local, d)
	}
	return b.String()
}

func upnList(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%03d@corp.com", prefix, i))
	}
	return out
}

// usersConfig is a data.m365_users_csv over content fed into m365_users with a licence.
func usersConfig(csv string, extra string) string {
	return fmt.Sprintf(`
data "m365_users_csv" "staff" {
  content  = %q
  defaults = { usage_location = "CN" }
}

resource "m365_users" "staff" {
  users       = data.m365_users_csv.staff.users
  password_wo = "Temp-Passw0rd!x"
  licenses = [{ sku = "O365_BUSINESS_PREMIUM" }]
  %s
}
`, csv, extra)
}

// liveUsers counts the fake's users that are not deleted, by UPN.
func liveUsers(f *fakecloud.Server) map[string]fakecloud.User {
	out := map[string]fakecloud.User{}
	for _, u := range f.Users() {
		if !u.Deleted {
			out[strings.ToLower(u.UserPrincipalName)] = u
		}
	}
	return out
}

func TestAccUsersLifecycle(t *testing.T) {
	e := newTestEnv(t, usersSeed(25, 3), fakecloud.Knobs{})
	first := upnList("u", 1, 5)
	second := append(upnList("u", 2, 5), upnList("u", 6, 7)...) // u001 removed, u006/u007 added
	addr := "m365_users.staff"
	accParallelTest(t,
		resource.TestStep{
			Config: e.config(usersConfig(adminCSV(first, nil), "")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("ids"), knownvalue.MapSizeExact(5)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("users"), knownvalue.Null()), // write-only: never stored
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes"), knownvalue.MapSizeExact(5)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("u003@corp.com"), userDoc("department", "Sales")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("u003@corp.com"), userDoc("usage_location", "CN")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("u003@corp.com"), userDoc("licenses", []any{"O365_BUSINESS_PREMIUM"})),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("initial_passwords"), knownvalue.Null()),
			},
			Check: func(*terraformState) error {
				live := liveUsers(e.fake)
				if len(live) != 5 {
					return fmt.Errorf("the tenant has %d users, want 5", len(live))
				}
				u := live["u003@corp.com"]
				if u.Department != "Sales" || u.UsageLocation != "CN" || len(u.AssignedLicenses) != 1 || u.AssignedLicenses[0].SkuID != fakecloud.SkuBusinessPremium {
					return fmt.Errorf("u003 in the tenant: %+v", u)
				}
				if !e.fake.CheckUserPassword("u003@corp.com", "Temp-Passw0rd!x") {
					return fmt.Errorf("u003 does not have the configured password")
				}
				return nil
			},
		},
		resource.TestStep{ // the same configuration again: nothing to do
			Config:           e.config(usersConfig(adminCSV(first, nil), "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		resource.TestStep{ // rows added, changed, removed (released): each user's change is in the plan
			Config: e.config(usersConfig(adminCSV(second, map[string]string{"u004@corp.com": "Finance"}), "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("u004@corp.com"), userDoc("department", "Finance")),
				plancheck.ExpectUnknownValue(addr, tfjsonpath.New("ids").AtMapKey("u006@corp.com")),
				plancheck.ExpectKnownValue(addr, tfjsonpath.New("ids").AtMapKey("u002@corp.com"), knownvalue.NotNull()),
			}},
			Check: func(*terraformState) error {
				live := liveUsers(e.fake)
				if len(live) != 7 {
					return fmt.Errorf("the tenant has %d live users, want 7", len(live))
				}
				if _, ok := live["u001@corp.com"]; !ok {
					return fmt.Errorf("u001 was deleted; removing a row only releases it by default")
				}
				if live["u004@corp.com"].Department != "Finance" {
					return fmt.Errorf("u004's department is %q", live["u004@corp.com"].Department)
				}
				if live["u007@corp.com"].ID == "" || len(live["u007@corp.com"].AssignedLicenses) != 1 {
					return fmt.Errorf("u007: %+v", live["u007@corp.com"])
				}
				return nil
			},
		},
		resource.TestStep{
			Config:           e.config(usersConfig(adminCSV(second, map[string]string{"u004@corp.com": "Finance"}), "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	)
}

func TestAccUsersPlanChecks(t *testing.T) {
	seed := usersSeed(100, 5) // 95 free
	seed.Users = []fakecloud.SeedUser{{User: fakecloud.User{UserPrincipalName: "taken1@corp.com"}}, {User: fakecloud.User{UserPrincipalName: "taken2@corp.com"}}}
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	many := upnList("m", 1, 120)
	accParallelTest(t,
		resource.TestStep{ // 120 new users, 95 free seats
			Config:      e.config(usersConfig(adminCSV(many, nil), "")),
			ExpectError: re(`(?s)Not Enough Licences.*needs 120 O365_BUSINESS_PREMIUM seats, 95 are free: buy 25 or remove 25 users`),
		},
		resource.TestStep{ // a SKU the tenant does not have: the tenant's are listed
			Config:      e.config(strings.Replace(usersConfig(adminCSV(many[:2], nil), ""), `sku = "O365_BUSINESS_PREMIUM"`, `sku = "SPE_E5"`, 1)),
			ExpectError: re(`(?s)Unknown Licence SKU.*the tenant has no SKU "SPE_E5"; its assignable SKUs are: EXCHANGESTANDARD, FLOW_FREE, O365_BUSINESS_PREMIUM`),
		},
		resource.TestStep{ // a plan the SKU does not have
			Config:      e.config(strings.Replace(usersConfig(adminCSV(many[:2], nil), ""), `sku = "O365_BUSINESS_PREMIUM"`, `sku = "O365_BUSINESS_PREMIUM", disabled_plans = ["YAMMER"]`, 1)),
			ExpectError: re(`(?s)Unknown Service Plan.*has no service plan "YAMMER"; its plans are: EXCHANGE_S_STANDARD, TEAMS1`),
		},
		resource.TestStep{ // licences without a usage location
			Config: e.config(`
resource "m365_users" "staff" {
  users = {
    "a@corp.com" = { display_name = "A" }
    "b@corp.com" = { display_name = "B", usage_location = "HK" }
  }
  generate_initial_passwords = true
  licenses = [{ sku = "O365_BUSINESS_PREMIUM" }]
}
`),
			ExpectError: re(`(?s)Usage Location Required.*1 user have none: a@corp.com`),
		},
		resource.TestStep{ // domains that are not verified, or not the tenant's
			Config: e.config(`
resource "m365_users" "staff" {
  users = {
    "a@pending.com" = { display_name = "A" }
    "b@other.com"   = { display_name = "B" }
    "c@corp.com"    = { display_name = "C" }
  }
  generate_initial_passwords = true
}
`),
			ExpectError: re(`(?s)Domain Not Verified.*pending.com is in the tenant but not verified yet.*Domain Not Verified.*the domain other.com is not a domain of the tenant;.*Users on it: b@other.com`),
		},
		resource.TestStep{ // users that exist but are not managed here, all of them listed
			Config:      e.config(usersConfig(adminCSV([]string{"taken1@corp.com", "new1@corp.com", "taken2@corp.com"}, nil), "")),
			ExpectError: re(`(?s)Users Already Exist.*2 users already exist in the tenant and are not managed by this resource: taken1@corp.com, taken2@corp.com.*adopt_existing = true.*terraform import`),
		},
		resource.TestStep{ // no password for new users
			Config: e.config(`
resource "m365_users" "staff" {
  users = { "a@corp.com" = { display_name = "A" } }
}
`),
			ExpectError: re(`(?s)Password Required.*password_wo.*generate_initial_passwords = true`),
		},
	)
	if w := e.fake.Stats().Graph.Writes; w != 0 {
		t.Fatalf("plans that stop on bad input wrote %d times to Graph", w)
	}
}

func TestAccUsersPartialFailureConverges(t *testing.T) {
	e := newTestEnv(t, usersSeed(100, 0), fakecloud.Knobs{})
	ten, twenty := upnList("p", 1, 10), upnList("p", 1, 20)
	addr := "m365_users.staff"
	var liveAfterFailure int
	accParallelTest(t,
		resource.TestStep{Config: e.config(usersConfig(adminCSV(ten, nil), ""))},
		resource.TestStep{ // ten more users; Graph fails every write after the 7th
			PreConfig:   func() { e.fake.SetKnobs(fakecloud.Knobs{FailAfterWrites: 7}) },
			Config:      e.config(usersConfig(adminCSV(twenty, nil), "")),
			ExpectError: re(`(?s)Some Users Were Not Written.*p0\d\d@corp.com \((create|update)\):.*InternalServerError`),
		},
		resource.TestStep{ // what was written is in the state: refresh-only shows it
			PreConfig: func() {
				liveAfterFailure = len(liveUsers(e.fake))
				e.fake.SetKnobs(fakecloud.Knobs{})
				if liveAfterFailure <= 10 || liveAfterFailure >= 20 {
					t.Errorf("after the failure the tenant has %d users; want some but not all of the ten new ones", liveAfterFailure)
				}
			},
			RefreshState:       true,
			ExpectNonEmptyPlan: true,
			Check: func(s *terraformState) error {
				attrs := s.RootModule().Resources[addr].Primary.Attributes
				if attrs["ids.%"] != fmt.Sprint(liveAfterFailure) {
					return fmt.Errorf("state has %s ids, the tenant %d users", attrs["ids.%"], liveAfterFailure)
				}
				return nil
			},
		},
		resource.TestStep{ // apply again: converges, no duplicate
			Config: e.config(usersConfig(adminCSV(twenty, nil), "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
			}},
			Check: func(*terraformState) error {
				all := e.fake.Users()
				if len(all) != 20 {
					return fmt.Errorf("the tenant has %d users (deleted included), want exactly 20", len(all))
				}
				for _, u := range all {
					if u.Deleted || len(u.AssignedLicenses) != 1 {
						return fmt.Errorf("user %s: deleted %t, licences %v", u.UserPrincipalName, u.Deleted, u.AssignedLicenses)
					}
				}
				return nil
			},
		},
		resource.TestStep{
			Config:           e.config(usersConfig(adminCSV(twenty, nil), "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	)
}

func TestAccUsersFailedCreateThenAdopt(t *testing.T) {
	e := newTestEnv(t, usersSeed(100, 0), fakecloud.Knobs{})
	ten := upnList("c", 1, 10)
	addr := "m365_users.staff"
	accParallelTest(t,
		resource.TestStep{ // the first apply fails part-way: Terraform marks the resource tainted
			PreConfig:   func() { e.fake.SetKnobs(fakecloud.Knobs{FailAfterWrites: 9}) },
			Config:      e.config(usersConfig(adminCSV(ten, nil), "")),
			ExpectError: re(`(?s)Some Users Were Not Written`),
		},
		resource.TestStep{ // replacing it would meet its own users: the plan says what to do
			PreConfig:   func() { e.fake.SetKnobs(fakecloud.Knobs{}) },
			Config:      e.config(usersConfig(adminCSV(ten, nil), "")),
			ExpectError: re(`(?s)Users Already Exist.*terraform untaint`),
		},
		resource.TestStep{ // with adopt_existing the replacement keeps and adopts them
			Config: e.config(usersConfig(adminCSV(ten, nil), "adopt_existing = true")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
			}},
			Check: func(*terraformState) error {
				all := e.fake.Users()
				if len(all) != 10 {
					return fmt.Errorf("the tenant has %d users (deleted included), want exactly 10", len(all))
				}
				for _, u := range all {
					if u.Deleted || len(u.AssignedLicenses) != 1 {
						return fmt.Errorf("user %s: deleted %t, licences %v", u.UserPrincipalName, u.Deleted, u.AssignedLicenses)
					}
				}
				return nil
			},
		},
		resource.TestStep{
			Config:           e.config(usersConfig(adminCSV(ten, nil), "adopt_existing = true")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	)
}

func TestAccUsersAdoptExisting(t *testing.T) {
	seed := usersSeed(100, 0)
	for _, u := range []string{"a001@corp.com", "a002@corp.com", "a003@corp.com"} {
		seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: u, Department: "Old"}, Password: "Seed-Passw0rd!"})
	}
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	five := upnList("a", 1, 5)
	accParallelTest(t,
		resource.TestStep{
			Config:      e.config(usersConfig(adminCSV(five, nil), "")),
			ExpectError: re(`(?s)Users Already Exist.*3 users already exist.*a001@corp.com, a002@corp.com, a003@corp.com`),
		},
		resource.TestStep{
			Config: e.config(usersConfig(adminCSV(five, nil), "adopt_existing = true")),
			Check: func(*terraformState) error {
				all := e.fake.Users()
				if len(all) != 5 {
					return fmt.Errorf("the tenant has %d users, want 5", len(all))
				}
				for _, u := range all {
					if u.Department != "Sales" || len(u.AssignedLicenses) != 1 || u.UsageLocation != "CN" {
						return fmt.Errorf("user %s not brought to the configuration: %+v", u.UserPrincipalName, u)
					}
				}
				if !e.fake.CheckUserPassword("a001@corp.com", "Seed-Passw0rd!") {
					return fmt.Errorf("adopting a001 changed its password")
				}
				if !e.fake.CheckUserPassword("a005@corp.com", "Temp-Passw0rd!x") {
					return fmt.Errorf("the new user a005 does not have the configured password")
				}
				return nil
			},
		},
		resource.TestStep{
			Config:           e.config(usersConfig(adminCSV(five, nil), "adopt_existing = true")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	)
}

// graphClient is a Graph client on the fake, for tests that change the tenant behind
// Terraform's back.
func graphClient(t *testing.T, e *testEnv) *graph.Client {
	t.Helper()
	r, err := auth.Resolve(auth.Settings{TenantID: e.fake.TenantID(), ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret()})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.NewCredential(r, auth.Options{AuthorityHost: e.fake.LoginEndpoint(), Overridden: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.New(graph.Config{Host: e.fake.GraphEndpoint(), Scope: "https://graph.microsoft.com/.default", Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAccUsersDriftAndRefreshCost(t *testing.T) {
	e := newTestEnv(t, usersSeed(100, 0), fakecloud.Knobs{})
	users := upnList("d", 1, 30)
	addr := "m365_users.staff"
	cfg := e.config(usersConfig(adminCSV(users, nil), ""))
	var refreshRequests int
	accParallelTest(t,
		resource.TestStep{Config: cfg},
		resource.TestStep{ // refresh + plan of 30 users with nothing to do: a handful of requests
			PreConfig:        func() { e.fake.ResetStats() },
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check: func(*terraformState) error {
				st := e.fake.Stats()
				// HTTP requests, not $batch sub-requests: right after the create the users are
				// missing from the lagging advanced-query list (list_lag) and are read by id, 20
				// per $batch request.
				refreshRequests = 0
				for _, r := range e.fake.Requests() {
					if r.Service == "graph" && r.BatchID == "" {
						refreshRequests++
					}
				}
				if st.Graph.Writes != 0 {
					return fmt.Errorf("a no-op apply wrote %d times", st.Graph.Writes)
				}
				return nil
			},
		},
		resource.TestStep{ // someone changes users in the admin centre: the plan shows each change back
			PreConfig: func() {
				g := graphClient(t, e)
				ctx := context.Background()
				u := liveUsers(e.fake)["d007@corp.com"]
				if err := g.UpdateUser(ctx, u.ID, graph.UserChanges{Attrs: userattr.Of("department", "Changed", "usage_location", "US")}); err != nil {
					t.Fatal(err)
				}
				if err := g.AssignLicenses(ctx, liveUsers(e.fake)["d008@corp.com"].ID, nil, []string{fakecloud.SkuBusinessPremium}); err != nil {
					t.Fatal(err)
				}
			},
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("d007@corp.com"), userDoc("department", "Sales")),
				plancheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("d007@corp.com"), userDoc("usage_location", "CN")),
				plancheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("d008@corp.com"), userDoc("licenses", []any{"O365_BUSINESS_PREMIUM"})),
			}},
			Check: func(*terraformState) error {
				live := liveUsers(e.fake)
				if live["d007@corp.com"].Department != "Sales" || live["d007@corp.com"].UsageLocation != "CN" {
					return fmt.Errorf("d007 not restored: %+v", live["d007@corp.com"])
				}
				if len(live["d008@corp.com"].AssignedLicenses) != 1 {
					return fmt.Errorf("d008's licence not restored")
				}
				if len(live) != 30 {
					return fmt.Errorf("%d live users", len(live))
				}
				return nil
			},
		},
	)
	t.Logf("refresh and plan of 30 unchanged users: %d Graph HTTP requests", refreshRequests)
	if refreshRequests > 10 {
		t.Errorf("a no-op run over 30 users made %d Graph requests; want a handful, independent of the number of users", refreshRequests)
	}
}
