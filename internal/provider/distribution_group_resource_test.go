package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

func groupSeed() *fakecloud.Seed {
	seed := fakecloud.DefaultSeed()
	seed.Domains = []fakecloud.SeedDomain{{ID: "contoso.com", IsVerified: true, SupportedServices: []string{"Email"}}}
	for _, u := range []string{"admin@contoso.com", "li.lei@contoso.com", "han.meimei@contoso.com", "wang.fang@contoso.com"} {
		// Licensed for Exchange Online: only a user with a mailbox is a recipient.
		seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: u, UsageLocation: "CN",
			AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuBusinessPremium}}}})
	}
	return seed
}

func groupConfig(members string, extra ...string) string {
	return fmt.Sprintf(`
resource "m365_distribution_group" "sales" {
  name                   = "sales"
  display_name           = "销售部 Sales"
  primary_smtp_address   = "sales@contoso.com"
  aliases                = ["xiaoshou@contoso.com"]
  members                = %s
  owners                 = ["admin@contoso.com"]
  allow_external_senders = true
  %s
}

# A group created in the same apply is nested through its computed email.
resource "m365_distribution_group" "all" {
  name                 = "all"
  primary_smtp_address = "all@contoso.com"
  members              = [m365_distribution_group.sales.email, "admin@contoso.com"]
  owners               = ["admin@contoso.com"]
}
`, members, strings.Join(extra, "\n  "))
}

// cmdletCount counts the InvokeCommand requests of one cmdlet in the fake's request log.
func cmdletCount(f *fakecloud.Server, cmdlet string) int {
	n := 0
	for _, r := range f.Requests() {
		if strings.EqualFold(r.Cmdlet, cmdlet) {
			n++
		}
	}
	return n
}

// TestAccDistributionGroup: created with members, aliases, owners and the outside-sender rule;
// members changed in exactly one Update-DistributionGroupMember; imported by address; destroyed.
func TestAccDistributionGroup(t *testing.T) {
	e := newTestEnv(t, groupSeed(), fakecloud.Knobs{})
	exo := exoClient(t, e)
	g := "m365_distribution_group.sales"
	members := func(group string, want ...string) stateCheckFunc {
		return func() error {
			got, err := exo.GetDistributionGroupMember(context.Background(), group)
			if err != nil {
				return err
			}
			var addrs []string
			for _, m := range got {
				addrs = append(addrs, m.PrimarySmtpAddress)
			}
			slices.Sort(addrs)
			if !slices.Equal(addrs, want) {
				return fmt.Errorf("members of %s in Exchange: %v, want %v", group, addrs, want)
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			for _, id := range []string{"sales@contoso.com", "all@contoso.com"} {
				if _, err := exo.GetDistributionGroup(context.Background(), id); !exchange.IsNotFound(err) {
					return fmt.Errorf("%s still exists after destroy (%v)", id, err)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: e.config(groupConfig(`["li.lei@contoso.com", "han.meimei@contoso.com"]`)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(g, tfjsonpath.New("email"), knownvalue.StringExact("sales@contoso.com")),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("alias"), knownvalue.StringExact("sales")),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("aliases"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("xiaoshou@contoso.com")})),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("id"), knownvalue.StringRegexp(re(`^[0-9a-f-]{36}$`))),
					members("sales@contoso.com", "han.meimei@contoso.com", "li.lei@contoso.com"),
					members("all@contoso.com", "admin@contoso.com", "sales@contoso.com"),
					stateCheckFunc(func() error {
						grp, err := exo.GetDistributionGroup(context.Background(), "xiaoshou@contoso.com")
						if err != nil {
							return err
						}
						if grp.RequireSenderAuthenticationEnabled || grp.DisplayName != "销售部 Sales" {
							return fmt.Errorf("group in Exchange: %+v", grp)
						}
						return nil
					}),
				},
			},
			{
				PreConfig: e.fake.ResetStats,
				Config:    e.config(groupConfig(`["li.lei@contoso.com", "wang.fang@contoso.com"]`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(g, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("m365_distribution_group.all", plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					members("sales@contoso.com", "li.lei@contoso.com", "wang.fang@contoso.com"),
					stateCheckFunc(func() error {
						if n := cmdletCount(e.fake, "Update-DistributionGroupMember"); n != 1 {
							return fmt.Errorf("%d Update-DistributionGroupMember requests, want exactly 1", n)
						}
						for _, c := range []string{"Add-DistributionGroupMember", "Remove-DistributionGroupMember", "New-DistributionGroup", "Set-DistributionGroup"} {
							if n := cmdletCount(e.fake, c); n != 0 {
								return fmt.Errorf("%d %s requests for a membership change", n, c)
							}
						}
						return nil
					}),
				},
			},
			{ // Exmail allow_type 2: only the group's members may send
				Config: e.config(groupConfig(`["li.lei@contoso.com", "wang.fang@contoso.com"]`, `accept_messages_only_from = ["sales@contoso.com"]`)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(g, tfjsonpath.New("accept_messages_only_from"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("sales@contoso.com")})),
					stateCheckFunc(func() error {
						grp, err := exo.GetDistributionGroup(context.Background(), "sales")
						if err != nil || !slices.Equal(grp.AcceptMessagesOnlyFromSendersOrMembers, []string{"sales"}) {
							return fmt.Errorf("AcceptMessagesOnlyFromSendersOrMembers in Exchange: %+v, %v", grp, err)
						}
						return nil
					}),
				},
			},
			{
				ResourceName: g, ImportState: true, ImportStateId: "sales@contoso.com", ImportStateVerify: true,
				// Exchange lists owners and allowed senders by name (admin, sales), not by address;
				// the next apply writes them once.
				ImportStateVerifyIgnore: []string{"timeouts", "owners", "accept_messages_only_from"},
			},
		},
	})
}

// TestAccDistributionGroup_replicationLag: a new group answers not-found for a while (another
// backend), so the writes after New-DistributionGroup and the read-back wait on evidence.
func TestAccDistributionGroup_replicationLag(t *testing.T) {
	e := newTestEnv(t, groupSeed(), fakecloud.Knobs{ExchangeLag: 1500 * time.Millisecond})
	g := "m365_distribution_group.sales"
	accParallelTest(t, resource.TestStep{
		Config: e.config(groupConfig(`["li.lei@contoso.com"]`)),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(g, tfjsonpath.New("aliases"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("xiaoshou@contoso.com")})),
			statecheck.ExpectKnownValue("m365_distribution_group.all", tfjsonpath.New("members"), knownvalue.SetSizeExact(2)),
		},
	})
}
