package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// resolvesTo checks, as mail routing would, that each address is a proxy address of the mailbox
// of the user whose object id the state holds at idPath (Get-Recipient -Identity <address>), and
// that each gone address resolves to no recipient.
func resolvesTo(e *testEnv, res string, idPath func(*terraformState) string, addrs, gone []string) resource.TestCheckFunc {
	return func(s *terraformState) error {
		exo := exoClient(e.t, e)
		ctx := context.Background()
		want := strings.ToLower(idPath(s))
		for _, a := range addrs {
			r, err := exo.Invoke(ctx, "Get-Recipient", map[string]any{"Identity": a})
			if err != nil {
				return fmt.Errorf("%s: mail to %s would bounce: %v", res, a, err)
			}
			if len(r.Objects) != 1 || strings.ToLower(r.Objects[0].String("ExternalDirectoryObjectId")) != want {
				return fmt.Errorf("%s: %s resolves to %v, want the mailbox of %s", res, a, r.Objects, want)
			}
		}
		for _, a := range gone {
			if _, err := exo.Invoke(ctx, "Get-Recipient", map[string]any{"Identity": a}); !exchange.IsNotFound(err) {
				return fmt.Errorf("%s: the removed alias %s still resolves (%v)", res, a, err)
			}
		}
		return nil
	}
}

func stateAttr(res, key string) func(*terraformState) string {
	return func(s *terraformState) string {
		r := s.RootModule().Resources[res]
		if r == nil {
			return ""
		}
		return r.Primary.Attributes[key]
	}
}

// exmailExport is an Exmail address-book export (姓名, 帐号, 部门, 别名) of the users with
// their aliases.
func exmailExport(rows map[string]string) string {
	var b strings.Builder
	b.WriteString("姓名,帐号,部门,别名\n")
	for _, upn := range sortedKeys(rows) {
		fmt.Fprintf(&b, "%s,%s,总部/技术部,\"%s\"\n", users.UPNLocal(upn), upn, strings.ReplaceAll(rows[upn], `"`, `""`))
	}
	return b.String()
}

// TestAccUsersAliases: aliases from the Exmail export's 别名 column reach m365_users, are
// written once the mailboxes exist (the fake provisions them seconds after licensing), changed
// and removed; after each apply mail to an alias resolves to the user's mailbox and a removed
// alias resolves to nothing. The post-apply plan of each step is empty: the refresh reads the
// aliases back as written.
func TestAccUsersAliases(t *testing.T) {
	var start time.Time // set when the first step starts (after t.Parallel's wait)
	e := newTestEnv(t, usersSeed(100, 5), fakecloud.Knobs{})
	dir := t.TempDir()
	cfg := func(name string, rows map[string]string) string {
		path := writeTestFile(t, dir, name, []byte(exmailExport(rows)))
		return e.config(fmt.Sprintf(`
data "m365_users_csv" "staff" {
  path = %q
}
resource "m365_users" "s" {
  users          = data.m365_users_csv.staff.users
  usage_location = "CN"
  licenses       = [{ sku = "O365_BUSINESS_PREMIUM" }]
  password_wo    = "Temp-Passw0rd!x"
}
`, path))
	}
	const addr = "m365_users.s"
	id := func(upn string) func(*terraformState) string { return stateAttr(addr, "ids."+upn) }
	accParallelTest(t,
		resource.TestStep{
			PreConfig: func() { start = time.Now() },
			Config: cfg("v1.csv", map[string]string{
				"li.lei@corp.com":    "lei.li@corp.com;lilei@corp.com",
				"han.mei@corp.com":   "meimei@corp.com\nhan@corp.com",
				"zhang.san@corp.com": "",
			}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("li.lei@corp.com"), userDoc("aliases", []any{"lei.li@corp.com", "lilei@corp.com"})),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("han.mei@corp.com"), userDoc("aliases", []any{"han@corp.com", "meimei@corp.com"})),
			},
			Check: resource.ComposeTestCheckFunc(
				resolvesTo(e, addr, id("li.lei@corp.com"), []string{"lei.li@corp.com", "lilei@corp.com"}, nil),
				resolvesTo(e, addr, id("han.mei@corp.com"), []string{"meimei@corp.com", "han@corp.com"}, nil),
			),
		},
		resource.TestStep{ // changed: one alias swapped, one user's aliases removed, one user given one
			Config: cfg("v2.csv", map[string]string{
				"li.lei@corp.com":    "lei.li@corp.com,li@corp.com",
				"han.mei@corp.com":   "",
				"zhang.san@corp.com": "san@corp.com",
			}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("li.lei@corp.com"), userDoc("aliases", []any{"lei.li@corp.com", "li@corp.com"})),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("zhang.san@corp.com"), userDoc("aliases", []any{"san@corp.com"})),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey("han.mei@corp.com"), knownvalue.StringRegexp(re(`^\{[^}]*"display_name"`))),
			},
			Check: resource.ComposeTestCheckFunc(
				resolvesTo(e, addr, id("li.lei@corp.com"), []string{"lei.li@corp.com", "li@corp.com"}, []string{"lilei@corp.com"}),
				resolvesTo(e, addr, id("zhang.san@corp.com"), []string{"san@corp.com"}, nil),
				// 别名 now empty: the column gives no aliases, so han.mei's are left alone.
				resolvesTo(e, addr, id("han.mei@corp.com"), []string{"meimei@corp.com", "han@corp.com"}, nil),
			),
		},
		resource.TestStep{ // removed: an explicit empty list removes every alias
			Config: e.config(`
resource "m365_users" "s" {
  users = {
    "li.lei@corp.com"    = { display_name = "li.lei", department = "技术部", aliases = [] }
    "han.mei@corp.com"   = { display_name = "han.mei", department = "技术部", aliases = [] }
    "zhang.san@corp.com" = { display_name = "zhang.san", department = "技术部", aliases = ["san@corp.com"] }
  }
  usage_location = "CN"
  licenses       = [{ sku = "O365_BUSINESS_PREMIUM" }]
  password_wo    = "Temp-Passw0rd!x"
}
`),
			Check: resource.ComposeTestCheckFunc(
				resolvesTo(e, addr, id("li.lei@corp.com"), []string{"li.lei@corp.com"}, []string{"lei.li@corp.com", "li@corp.com", "lilei@corp.com"}),
				resolvesTo(e, addr, id("han.mei@corp.com"), []string{"han.mei@corp.com"}, []string{"meimei@corp.com", "han@corp.com"}),
				resolvesTo(e, addr, id("zhang.san@corp.com"), []string{"san@corp.com"}, nil),
			),
		},
	)
	t.Logf("users with aliases: %s (3 steps, mailboxes provisioned with the realistic clock)", time.Since(start).Round(time.Millisecond))
}

// TestAccUserAliases: m365_user's aliases added, changed and removed, each resolving (or not) to
// the user's mailbox after the apply; an alias added outside Terraform is drift, removed by the
// next apply.
func TestAccUserAliases(t *testing.T) {
	e := newTestEnv(t, usersSeed(100, 5), fakecloud.Knobs{})
	cfg := func(aliases string) string {
		return e.config(fmt.Sprintf(`
resource "m365_user" "u" {
  user_principal_name = "wang.wu@corp.com"
  display_name        = "王五"
  usage_location      = "CN"
  licenses            = [{ sku = "O365_BUSINESS_PREMIUM" }]
  password_wo         = "Temp-Passw0rd!x"
  %s
}
`, aliases))
	}
	const addr = "m365_user.u"
	id := stateAttr(addr, "id")
	accParallelTest(t,
		resource.TestStep{
			Config: cfg(`aliases = ["wu.wang@corp.com", "Wangwu@corp.com"]`),
			Check:  resolvesTo(e, addr, id, []string{"wu.wang@corp.com", "wangwu@corp.com"}, nil),
		},
		resource.TestStep{
			Config: cfg(`aliases = ["wu.wang@corp.com", "ww@corp.com"]`),
			Check:  resolvesTo(e, addr, id, []string{"wu.wang@corp.com", "ww@corp.com"}, []string{"wangwu@corp.com"}),
		},
		resource.TestStep{ // an alias added outside Terraform shows in the plan...
			PreConfig: func() {
				if err := exoClient(t, e).SetMailboxAddresses(context.Background(), "wang.wu@corp.com", []string{"extra@corp.com"}, nil); err != nil {
					t.Fatal(err)
				}
			},
			Config:             cfg(`aliases = ["wu.wang@corp.com", "ww@corp.com"]`),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		},
		resource.TestStep{ // ...and the apply removes it
			Config: cfg(`aliases = ["wu.wang@corp.com", "ww@corp.com"]`),
			Check:  resolvesTo(e, addr, id, []string{"wu.wang@corp.com", "ww@corp.com"}, []string{"extra@corp.com"}),
		},
		resource.TestStep{
			Config: cfg(`aliases = []`),
			Check:  resolvesTo(e, addr, id, []string{"wang.wu@corp.com"}, []string{"wu.wang@corp.com", "ww@corp.com"}),
		},
	)
}

func TestAliasDiff(t *testing.T) {
	add, remove := users.AliasDiff([]string{"B@x.com", "a@x.com", " c@x.com", "a@x.com"}, []string{"a@X.com", "d@x.com"})
	if fmt.Sprint(add) != "[b@x.com c@x.com]" || fmt.Sprint(remove) != "[d@x.com]" {
		t.Errorf("add %v remove %v", add, remove)
	}
	for a, bad := range map[string]bool{"a@x.com": false, "a b@x.com": true, "a@x": true, "A <a@x.com>": true, "a@@x.com": true, "": true} {
		if got := aliasProblem(a) != ""; got != bad {
			t.Errorf("aliasProblem(%q) = %v", a, got)
		}
	}
}
