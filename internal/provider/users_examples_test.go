package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// usersExample loads an example of the docs, with ${path.module} pointing at its directory.
func usersExample(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../../examples", rel))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "${path.module}", filepath.Dir(p))
}

func TestExamplesUsersFormatted(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH")
	}
	for _, dir := range []string{"data-sources/m365_users_csv", "resources/m365_user", "resources/m365_users"} {
		out, err := exec.Command(tf, "fmt", "-check", "-diff", filepath.Join("../../examples", dir)).CombinedOutput()
		if err != nil {
			t.Errorf("terraform fmt -check %s: %v\n%s", dir, err, out)
		}
	}
}

func TestAccExamplesUsers(t *testing.T) {
	seed := fakecloud.DefaultSeed()
	seed.Domains = []fakecloud.SeedDomain{{ID: "contoso.com", IsVerified: true}}
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	accTest(t,
		resource.TestStep{
			Config: e.config(usersExample(t, "data-sources/m365_users_csv/data-source.tf")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("encoding", knownvalue.StringExact("gb18030")),
				statecheck.ExpectKnownOutputValue("departments", knownvalue.MapExact(map[string]knownvalue.Check{
					"zhang.san@contoso.com": knownvalue.StringExact("技术部"),
					"li.si@contoso.com":     knownvalue.StringExact("市场部"),
					"wang.wu@contoso.com":   knownvalue.StringExact("销售部"),
					"zhao.liu@contoso.com":  knownvalue.StringExact("财务部"),
				})),
			},
		},
		resource.TestStep{
			Config:          e.config(usersExample(t, "resources/m365_users/resource.tf")),
			ConfigVariables: config.Variables{"initial_password": config.StringVariable("Example-Passw0rd!")},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("m365_users.staff", tfjsonpath.New("ids"), knownvalue.MapSizeExact(3)),
			},
			Check: func(*terraformState) error {
				if !e.fake.CheckUserPassword("li.si@contoso.com", "Example-Passw0rd!") {
					return fmt.Errorf("li.si does not have the example's password")
				}
				return nil
			},
		},
	)
	// The m365_user example on a tenant of its own (the users above would be "already there").
	e2 := newTestEnv(t, seed, fakecloud.Knobs{})
	accTest(t,
		resource.TestStep{
			Config:          e2.config(usersExample(t, "resources/m365_user/resource.tf")),
			ConfigVariables: config.Variables{"admin_password": config.StringVariable("Admin-Passw0rd!")},
			ConfigStateChecks: []statecheck.StateCheck{usersStateCheck(func(st *tfjson.State) error {
				live := liveUsers(e2.fake)
				if len(live) != 4 {
					return fmt.Errorf("%d users in the tenant, want the admin and 3 staff", len(live))
				}
				for _, r := range st.Values.RootModule.Resources {
					if r.Address == `m365_user.staff["wang.wu@contoso.com"]` {
						pw, _ := r.AttributeValues["initial_password"].(string)
						if pw == "" || !e2.fake.CheckUserPassword("wang.wu@contoso.com", pw) {
							return fmt.Errorf("wang.wu's initial_password is not its password")
						}
						return nil
					}
				}
				return fmt.Errorf("m365_user.staff[\"wang.wu@contoso.com\"] is not in the state")
			})},
		},
		// The testing framework's legacy state shim cannot read for_each instances with string
		// keys, which its post-test destroy uses: destroy them with an empty configuration.
		resource.TestStep{
			Config: e2.config(""),
			ConfigStateChecks: []statecheck.StateCheck{usersStateCheck(func(*tfjson.State) error {
				if n := len(liveUsers(e2.fake)); n != 0 {
					return fmt.Errorf("%d users left after destroy", n)
				}
				return nil
			})},
		},
	)
}

// usersStateCheck adapts a function to statecheck.StateCheck.
type usersStateCheck func(*tfjson.State) error

func (f usersStateCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f(req.State)
}
