package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

func userConfig(upn, extra string) string {
	return fmt.Sprintf(`
resource "m365_user" "u" {
  user_principal_name = %q
  display_name        = "Zhang San"
  department          = "Engineering"
  usage_location      = "CN"
  %s
}
`, upn, extra)
}

func TestAccUserPasswordWriteOnly(t *testing.T) {
	e := newTestEnv(t, usersSeed(25, 3), fakecloud.Knobs{})
	const upn = "zhang.san@corp.com"
	pw1, pw2, pw3 := "First-Passw0rd!a", "Second-Passw0rd!b", "Third-Passw0rd!c"
	addr := "m365_user.u"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{
			{
				Config: e.config(userConfig(upn, fmt.Sprintf(`password_wo = %q
  password_wo_version = 1
  licenses = [{ sku = "O365_BUSINESS_PREMIUM", disabled_plans = ["TEAMS1"] }]`, pw1))),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("password_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("initial_password"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("mail_nickname"), knownvalue.StringExact("zhang.san")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("job_title"), knownvalue.Null()),
				},
				Check: func(*terraformState) error {
					u := liveUsers(e.fake)[upn]
					if !e.fake.CheckUserPassword(upn, pw1) || !u.ForceChangePasswordNextSignIn {
						return fmt.Errorf("the user does not have password_wo (force change %t)", u.ForceChangePasswordNextSignIn)
					}
					if len(u.AssignedLicenses) != 1 || len(u.AssignedLicenses[0].DisabledPlans) != 1 || u.AssignedLicenses[0].DisabledPlans[0] != "57ff2da0-773e-42df-b2af-ffb7a2317929" {
						return fmt.Errorf("licences in the tenant: %+v", u.AssignedLicenses)
					}
					return nil
				},
			},
			{ // a new password with the same version is not sent
				Config: e.config(userConfig(upn, fmt.Sprintf(`password_wo = %q
  password_wo_version = 1
  licenses = [{ sku = "O365_BUSINESS_PREMIUM", disabled_plans = ["TEAMS1"] }]`, pw2))),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraformState) error {
					if !e.fake.CheckUserPassword(upn, pw1) {
						return fmt.Errorf("the password changed without a version bump")
					}
					return nil
				},
			},
			{ // version bump: the password is sent again; licence plans change too
				Config: e.config(userConfig(upn, fmt.Sprintf(`password_wo = %q
  password_wo_version = 2
  licenses = [{ sku = "O365_BUSINESS_PREMIUM" }]`, pw3))),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				Check: func(*terraformState) error {
					u := liveUsers(e.fake)[upn]
					if !e.fake.CheckUserPassword(upn, pw3) || e.fake.CheckUserPassword(upn, pw1) {
						return fmt.Errorf("the version bump did not change the password")
					}
					if len(u.AssignedLicenses) != 1 || len(u.AssignedLicenses[0].DisabledPlans) != 0 {
						return fmt.Errorf("licences in the tenant: %+v", u.AssignedLicenses)
					}
					return nil
				},
			},
			{ // import by user name: the same state, passwords excepted
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           upn,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"password_wo", "password_wo_version", "timeouts"},
			},
			{ // licences removed
				Config: e.config(userConfig(upn, fmt.Sprintf(`password_wo = %q
  password_wo_version = 2
  licenses = []`, pw3))),
				Check: func(*terraformState) error {
					if l := liveUsers(e.fake)[upn].AssignedLicenses; len(l) != 0 {
						return fmt.Errorf("licences left: %+v", l)
					}
					return nil
				},
			},
		},
	})
}

func TestAccUserInitialPassword(t *testing.T) {
	e := newTestEnv(t, usersSeed(25, 3), fakecloud.Knobs{})
	accTest(t,
		resource.TestStep{
			Config: e.config(userConfig("gen@corp.com", `generate_initial_password = true`) + `
resource "m365_user" "plain" {
  user_principal_name = "plain@corp.com"
  display_name        = "Plain"
  password_wo         = "Plain-Passw0rd!z"
}
`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("m365_user.plain", tfjsonpath.New("initial_password"), knownvalue.Null()),
				statecheck.ExpectKnownValue("m365_user.u", tfjsonpath.New("initial_password"), knownvalue.StringRegexp(regexpMust(`^.{16}$`))),
			},
			Check: func(s *terraformState) error {
				pw := s.RootModule().Resources["m365_user.u"].Primary.Attributes["initial_password"]
				if !e.fake.CheckUserPassword("gen@corp.com", pw) {
					return fmt.Errorf("initial_password is not the user's password")
				}
				if !liveUsers(e.fake)["gen@corp.com"].ForceChangePasswordNextSignIn {
					return fmt.Errorf("the generated password is not temporary")
				}
				return nil
			},
		},
		resource.TestStep{ // stable: nothing to do, the password stays
			Config: e.config(userConfig("gen@corp.com", `generate_initial_password = true`) + `
resource "m365_user" "plain" {
  user_principal_name = "plain@corp.com"
  display_name        = "Plain"
  password_wo         = "Plain-Passw0rd!z"
}
`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	)
}

func TestAccUserPlanChecks(t *testing.T) {
	seed := usersSeed(4, 2) // 2 free O365_BUSINESS_PREMIUM seats
	seed.Users = []fakecloud.SeedUser{{User: fakecloud.User{UserPrincipalName: "taken@corp.com"}}}
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	lic := `password_wo = "Some-Passw0rd!1"
  licenses = [{ sku = "O365_BUSINESS_PREMIUM" }]`
	accTest(t,
		resource.TestStep{ // for_each over three users, two free seats: counted across the instances
			Config: e.config(`
locals {
  people = toset(["f1@corp.com", "f2@corp.com", "f3@corp.com"])
}
resource "m365_user" "each" {
  for_each            = local.people
  user_principal_name = each.key
  display_name        = each.key
  usage_location      = "CN"
  password_wo         = "Some-Passw0rd!1"
  licenses            = [{ sku = "O365_BUSINESS_PREMIUM" }]
}
`),
			ExpectError: re(`(?s)Not Enough Licences.*needs 3 O365_BUSINESS_PREMIUM seats, 2 are free: buy 1 or remove 1 users`),
		},
		resource.TestStep{
			Config:      e.config(userConfig("taken@corp.com", `password_wo = "Some-Passw0rd!1"`)),
			ExpectError: re(`(?s)User Already Exists.*terraform import <address of this m365_user> taken@corp.com`),
		},
		resource.TestStep{
			Config:      e.config(userConfig("x@pending.com", `password_wo = "Some-Passw0rd!1"`)),
			ExpectError: re(`(?s)Domain Not Verified.*pending.com is in the tenant but not verified yet; the tenant's verified domains are: contoso.onmicrosoft.com, corp.com`),
		},
		resource.TestStep{ // pending_domains accepts a domain the same apply verifies
			Config:   e.config(userConfig("x@pending.com", `password_wo = "Some-Passw0rd!1"`+"\n  pending_domains = [\"pending.com\"]")),
			PlanOnly: true, ExpectNonEmptyPlan: true,
		},
		resource.TestStep{
			Config:      e.config(strings.Replace(userConfig("y@corp.com", lic), `usage_location      = "CN"`, "", 1)),
			ExpectError: re(`(?s)Usage Location Required.*Set usage_location`),
		},
		resource.TestStep{
			Config:      e.config(userConfig("y@corp.com", strings.Replace(lic, "O365_BUSINESS_PREMIUM", "VISIOCLIENT", 1))),
			ExpectError: re(`(?s)Unknown Licence SKU.*no SKU "VISIOCLIENT"`),
		},
		resource.TestStep{
			Config:      e.config(userConfig("y@corp.com", "")),
			ExpectError: re(`(?s)Password Required.*password_wo.*generate_initial_password = true`),
		},
		resource.TestStep{
			Config:      e.config(userConfig("y@corp.com", `password_wo = "Some-Passw0rd!1"`+"\n  generate_initial_password = true")),
			ExpectError: re(`(?s)Conflicting Password Settings`),
		},
		resource.TestStep{
			Config:      e.config(strings.Replace(userConfig("y@corp.com", `password_wo = "Some-Passw0rd!1"`), `"CN"`, `"cn"`, 1)),
			ExpectError: re(`(?s)Invalid Usage Location.*Write it in upper case: "CN"`),
		},
		resource.TestStep{
			Config:      e.config(userConfig("张三@corp.com", `password_wo = "Some-Passw0rd!1"`)),
			ExpectError: re(`(?s)Invalid User Principal Name.*non-ASCII`),
		},
	)
	if w := e.fake.Stats().Graph.Writes; w != 0 {
		t.Fatalf("plans that stop on bad input wrote %d times to Graph", w)
	}
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// secretScan fails when any secret appears in what it is given.
func secretScan(what string, data []byte, secrets []string) error {
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			return fmt.Errorf("secret #%d of %d appears in %s", indexOf(secrets, s)+1, len(secrets), what)
		}
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// noSecretsInShow checks `terraform show -json` (the state as the testing framework reads it).
type noSecretsInShow struct{ secrets []string }

func (c noSecretsInShow) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	b, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = err
		return
	}
	resp.Error = secretScan("terraform show -json", b, c.secrets)
}

// noSecretsInPlan checks the plan as `terraform show -json <plan>` gives it.
type noSecretsInPlan struct{ secrets []string }

func (c noSecretsInPlan) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	b, err := json.Marshal(req.Plan)
	if err != nil {
		resp.Error = err
		return
	}
	resp.Error = secretScan("the plan", b, c.secrets)
	if resp.Error != nil {
		for _, sec := range c.secrets {
			if i := bytes.Index(b, []byte(sec)); i >= 0 {
				resp.Error = fmt.Errorf("%w: ...%s...", resp.Error, b[max(0, i-300):i])
			}
		}
	}
}

func TestAccUsersNoPasswordLeaks(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "trace.log")
	work := t.TempDir()
	t.Setenv("TF_LOG", "trace")
	t.Setenv("TF_LOG_PATH", logFile)
	t.Setenv("TF_ACC_PERSIST_WORKING_DIR", "1")
	e := newTestEnv(t, usersSeed(25, 3), fakecloud.Knobs{})
	single1, single2, bulk1, bulk2 := "Single-Leak-Canary-1a!", "Single-Leak-Canary-2b!", "Bulk-Leak-Canary-3c!", "Bulk-Leak-Canary-4d!"
	secrets := []string{single1, single2, bulk1, bulk2, e.fake.ClientSecret()}
	// The passwords come in through ephemeral variables, as in real use: a literal in the
	// configuration would be repeated by Terraform itself in the plan's configuration section.
	// The client secret comes from ARM_CLIENT_SECRET, as it should: the testing framework logs
	// the configuration text it writes.
	t.Setenv("ARM_CLIENT_SECRET", e.fake.ClientSecret())
	providerBlock := fmt.Sprintf(`
provider "m365" {
  tenant_id = %q
  client_id = %q
  endpoints {
    login    = %q
    graph    = %q
    exchange = %q
  }
}
`, e.fake.TenantID(), e.fake.ClientID(), e.fake.LoginEndpoint(), e.fake.GraphEndpoint(), e.fake.ExchangeEndpoint())
	cfg := func(version int) string {
		return providerBlock + fmt.Sprintf(`
variable "single_pw" {
  type      = string
  ephemeral = true
  sensitive = true
}

variable "bulk_pw" {
  type      = string
  ephemeral = true
  sensitive = true
}

resource "m365_user" "one" {
  user_principal_name = "one@corp.com"
  display_name        = "One"
  usage_location      = "CN"
  password_wo         = var.single_pw
  password_wo_version = %d
  licenses            = [{ sku = "EXCHANGESTANDARD" }]
}

resource "m365_users" "many" {
  users = {
    "m1@corp.com" = { display_name = "M1" }
    "m2@corp.com" = { display_name = "M2" }
  }
  usage_location      = "CN"
  password_wo         = var.bulk_pw
  password_wo_version = %d
  licenses            = [{ sku = "EXCHANGESTANDARD" }]
}
`, version, version)
	}
	vars := func(single, bulk string) config.Variables {
		return config.Variables{"single_pw": config.StringVariable(single), "bulk_pw": config.StringVariable(bulk)}
	}
	checks := []statecheck.StateCheck{noSecretsInShow{secrets}}
	plans := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{noSecretsInPlan{secrets}}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		WorkingDir:               work,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{
			{Config: cfg(1), ConfigVariables: vars(single1, bulk1), ConfigStateChecks: checks, ConfigPlanChecks: plans},
			{Config: cfg(2), ConfigVariables: vars(single2, bulk2), ConfigStateChecks: checks, ConfigPlanChecks: plans,
				Check: func(*terraformState) error {
					for upn, pw := range map[string]string{"one@corp.com": single2, "m1@corp.com": bulk2, "m2@corp.com": bulk2} {
						if !e.fake.CheckUserPassword(upn, pw) {
							return fmt.Errorf("%s did not get the new password", upn)
						}
					}
					return nil
				}},
		},
	})
	trace, err := os.ReadFile(logFile)
	if err != nil || len(trace) == 0 {
		t.Fatalf("no trace log was written (%v)", err)
	}
	if !bytes.Contains(trace, []byte("m365_users applied")) {
		t.Fatalf("the trace log has no provider log lines; the scan would prove nothing")
	}
	if err := secretScan("the TF_LOG=trace log", trace, secrets); err != nil {
		for _, sec := range secrets {
			if i := bytes.Index(trace, []byte(sec)); i >= 0 {
				t.Logf("context: %s", trace[max(0, i-600):min(len(trace), i+100)])
			}
		}
		t.Error(err)
	}
	states := 0
	_ = filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(d.Name(), ".tfstate") {
			return nil //nolint:nilerr // a file that cannot be walked is not a state file to check
		}
		b, _ := os.ReadFile(p)
		states++
		if err := secretScan("the state file "+p, b, secrets); err != nil {
			t.Error(err)
		}
		return nil
	})
	if states == 0 {
		t.Fatalf("no state file found under %s", work)
	}
}
