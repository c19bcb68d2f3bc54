package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

func dkimConfig(resolver, timeout string, publish bool) string {
	cfg := fmt.Sprintf(`
resource "m365_dkim" "d" {
  domain       = "contoso.com"
  dns_resolver = %q
  timeouts = {
    update = %q
  }
}
`, resolver, timeout)
	if publish {
		cfg += `
resource "tencentcloud_dnspod_record" "dkim" {
  for_each    = m365_dkim.d.dnspod_records
  domain      = each.value.domain
  sub_domain  = each.value.sub_domain
  record_type = each.value.record_type
  record_line = each.value.record_line
  value       = each.value.value
  ttl         = each.value.ttl
}
`
	}
	return cfg
}

// TestAccDKIM: the configuration is created with the CNAMEs from the service; enabling fails with
// the diagnostic naming both records and what DNS answers while they are not published; once
// DNSPod publishes them (in the local DNS the fake checks) signing is enabled; import; destroy
// disables signing.
func TestAccDKIM(t *testing.T) {
	server := dnstest.StartForTest(t)
	e := newTestEnv(t, groupSeed(), fakecloud.Knobs{DNSServer: server.Addr})
	factories, _ := withDNSPod(server)
	exo := exoClient(t, e)
	d := "m365_dkim.d"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		CheckDestroy: func(*terraform.State) error {
			cfg, err := exo.GetDkimSigningConfig(context.Background(), "contoso.com")
			if err != nil || cfg.Enabled {
				return fmt.Errorf("after destroy: %+v, %v; want signing disabled", cfg, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{ // created, CNAMEs not published: a warning, and the next plan enables
				Config: e.config(dkimConfig(server.Addr, "3s", false)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(d, tfjsonpath.New("dnspod_records").AtMapKey("dkim_selector1")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(d, tfjsonpath.New("selector1_cname"), knownvalue.StringRegexp(re(`^selector1-contoso-com\._domainkey\.contoso\.[a-z]-v1\.dkim\.mail\.microsoft$`))),
					statecheck.ExpectKnownValue(d, tfjsonpath.New("selector2_cname"), knownvalue.StringRegexp(re(`^selector2-contoso-com\._domainkey\.contoso\.[a-z]-v1\.dkim\.mail\.microsoft$`))),
					statecheck.ExpectKnownValue(d, tfjsonpath.New("status"), knownvalue.StringExact("CnameMissing")),
					statecheck.ExpectKnownValue(d, tfjsonpath.New("key_size"), knownvalue.Int64Exact(2048)),
					statecheck.ExpectKnownValue(d, tfjsonpath.New("enabled"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(d, tfjsonpath.New("dnspod_records").AtMapKey("dkim_selector2").AtMapKey("sub_domain"), knownvalue.StringExact("selector2._domainkey")),
					statecheck.ExpectKnownValue(d, tfjsonpath.New("dnspod_records").AtMapKey("dkim_selector2").AtMapKey("record_type"), knownvalue.StringExact("CNAME")),
					statecheck.ExpectKnownValue(d, tfjsonpath.New("dnspod_records").AtMapKey("dkim_selector2").AtMapKey("ttl"), knownvalue.Int64Exact(3600)),
				},
				ExpectNonEmptyPlan: true,
			},
			{ // enabling fails until the CNAMEs are in DNS
				Config:      e.config(dkimConfig(server.Addr, "3s", false)),
				ExpectError: re(`(?s)DKIM Signing Not Enabled.*CNAME record does not exist for this config.*\[MISSING\] name: selector1\._domainkey\.contoso\.com.*value: selector1-contoso-com\._domainkey.*answers now: no CNAME record.*\[MISSING\] name: selector2\._domainkey\.contoso\.com`),
			},
			{ // published in the local DNS the fake asks: the update enables signing
				PreConfig: func() {
					cfg, err := exo.GetDkimSigningConfig(context.Background(), "contoso.com")
					if err != nil {
						t.Fatal(err)
					}
					for i, target := range []string{cfg.Selector1CNAME, cfg.Selector2CNAME} {
						if err := server.AddRecord(fmt.Sprintf("selector%d._domainkey.contoso.com. 3600 IN CNAME %s.", i+1, target)); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: e.config(dkimConfig(server.Addr, "2m", false)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(d, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(d, tfjsonpath.New("enabled"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(d, tfjsonpath.New("status"), knownvalue.StringExact("Valid")),
					stateCheckFunc(func() error {
						cfg, err := exo.GetDkimSigningConfig(context.Background(), "contoso.com")
						if err != nil || !cfg.Enabled {
							return fmt.Errorf("in Exchange: %+v, %v", cfg, err)
						}
						return nil
					}),
				},
			},
			{
				ResourceName: d, ImportState: true, ImportStateId: "contoso.com", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"timeouts", "dns_resolver"},
			},
		},
	})
}

// TestAccDKIM_dnspod is the flow the guide describes: the first apply creates the configuration
// and publishes dnspod_records at DNSPod (whose keys are known at plan time); the second apply
// enables signing.
func TestAccDKIM_dnspod(t *testing.T) {
	server := dnstest.StartForTest(t)
	e := newTestEnv(t, groupSeed(), fakecloud.Knobs{DNSServer: server.Addr})
	factories, pod := withDNSPod(server)
	d := "m365_dkim.d"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: e.config(dkimConfig(server.Addr, "2m", true)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(`tencentcloud_dnspod_record.dkim["dkim_selector1"]`, plancheck.ResourceActionCreate),
				}},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: e.config(dkimConfig(server.Addr, "2m", true)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(d, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(`tencentcloud_dnspod_record.dkim["dkim_selector1"]`, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(d, tfjsonpath.New("enabled"), knownvalue.Bool(true)),
				},
			},
			forEachCleanup(e.config(dkimConfig(server.Addr, "2m", false))),
		},
	})
	if pod.created != 2 {
		t.Errorf("DNSPod records created: %d, want 2", pod.created)
	}
}
