package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// withDNSPod adds the tencentcloud stand-in that publishes into dns.
func withDNSPod(dns *dnstest.Server) (map[string]func() (tfprotov6.ProviderServer, error), *fakeDNSPod) {
	pod := &fakeDNSPod{dns: dns}
	return map[string]func() (tfprotov6.ProviderServer, error){
		"m365":         providerserver.NewProtocol6WithError(New("test")()),
		"tencentcloud": providerserver.NewProtocol6WithError(pod.provider()),
	}, pod
}

const domainOnly = `
resource "m365_domain" "d" {
  name               = "contoso.com"
  supported_services = ["Email"]
}
`

func verification(resolver, timeout string) string {
	return fmt.Sprintf(`
resource "m365_domain_verification" "v" {
  domain       = m365_domain.d.name
  dns_resolver = %q
  timeouts = {
    create = %q
  }
  depends_on = [tencentcloud_dnspod_record.txt]
}
`, resolver, timeout)
}

const txtAtDNSPod = `
resource "tencentcloud_dnspod_record" "txt" {
  for_each    = { for k, r in m365_domain.d.verification_records : k => r if k == "verification_txt" }
  domain      = m365_domain.d.name
  sub_domain  = each.value.name
  record_type = each.value.type
  record_line = "默认"
  value       = each.value.value
}
`

// TestAccDomain_verifyChain: add → verify fails with the TXT diagnostic while DNS lacks the record
// → record published → verify succeeds → supported_services applied after verification → import.
func TestAccDomain_verifyChain(t *testing.T) {
	dns := dnstest.StartForTest(t)
	e := newTestEnv(t, nil, fakecloud.Knobs{DNSServer: dns.Addr})
	factories, _ := withDNSPod(dns)
	noTXT := strings.Replace(verification(dns.Addr, "4s"), "depends_on = [tencentcloud_dnspod_record.txt]", "", 1)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config:      e.config(domainOnly + noTXT),
				ExpectError: re(`(?s)Domain Verification Failed.*DNSPod sub_domain "@".*value: MS=ms[0-9]{8}.*answers now: no TXT records`),
			},
			{
				Config: e.config(domainOnly + txtAtDNSPod + verification(dns.Addr, "2m")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("m365_domain_verification.v", tfjsonpath.New("is_verified"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("m365_domain.d", tfjsonpath.New("verification_txt"), knownvalue.StringRegexp(re(`^MS=ms[0-9]{8}$`))),
					statecheck.ExpectKnownValue("m365_domain.d", tfjsonpath.New("settings_pending"), knownvalue.Bool(true)),
				},
				// The refresh after this apply sees the domain verified and its services unset:
				// the next apply sets them (Graph accepts them only on verified domains).
				ExpectNonEmptyPlan: true,
			},
			{
				Config: e.config(domainOnly + txtAtDNSPod + verification(dns.Addr, "2m")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("m365_domain.d", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("m365_domain.d", tfjsonpath.New("active_supported_services"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("Email")})),
					statecheck.ExpectKnownValue("m365_domain.d", tfjsonpath.New("settings_pending"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("m365_domain.d", tfjsonpath.New("is_verified"), knownvalue.Bool(true)),
				},
			},
			forEachCleanup(e.config(domainOnly)),
			{
				ResourceName: "m365_domain.d", ImportState: true, ImportStateVerify: true, ImportStateId: "contoso.com",
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
		},
	})
}

// forEachCleanup is a last step without for_each resources: terraform-plugin-testing's
// end-of-test state shim cannot read string-keyed instances.
func forEachCleanup(config string) resource.TestStep {
	return resource.TestStep{Config: config}
}

// TestAccDomain_oneApply: the whole chain in one apply — the verification map's keys are known
// at plan time, so for_each over it plans before the domain exists.
func TestAccDomain_oneApply(t *testing.T) {
	dns := dnstest.StartForTest(t)
	e := newTestEnv(t, nil, fakecloud.Knobs{DNSServer: dns.Addr})
	factories, pod := withDNSPod(dns)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{{
			Config: e.config(domainOnly + txtAtDNSPod + verification(dns.Addr, "2m")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(`tencentcloud_dnspod_record.txt["verification_txt"]`, plancheck.ResourceActionCreate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("m365_domain_verification.v", tfjsonpath.New("is_verified"), knownvalue.Bool(true)),
			},
			ExpectNonEmptyPlan: true,
		}, forEachCleanup(e.config(domainOnly))},
	})
	if pod.created != 1 {
		t.Errorf("DNSPod records created: %d, want 1", pod.created)
	}
}

// TestAccDomain_alreadyInTenant: a domain the tenant has stops the plan with the import command.
func TestAccDomain_alreadyInTenant(t *testing.T) {
	seed := fakecloud.DefaultSeed()
	seed.Domains = []fakecloud.SeedDomain{{ID: "contoso.com", IsVerified: true, SupportedServices: []string{"Email"}}}
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	accParallelTest(t, resource.TestStep{
		Config:      e.config(domainOnly),
		ExpectError: re(`(?s)Domain Already In Tenant.*terraform import <address of this m365_domain> contoso.com`),
	})
	if w := e.fake.Stats().Graph.Writes; w != 0 {
		t.Errorf("the refused plan wrote %d times", w)
	}
}

// TestAccDomain_deleteGuard: destroy refuses while objects use the domain and lists them;
// force_delete uses forceDelete and waits for the domain to go.
func TestAccDomain_deleteGuard(t *testing.T) {
	seed := fakecloud.DefaultSeed()
	seed.DomainReferences = map[string][]fakecloud.DomainReference{"fabrikam.com": {
		{Type: "user", DisplayName: "张三", Name: "zhang.san@fabrikam.com"},
		{Type: "group", DisplayName: "Sales", Name: "sales@fabrikam.com"},
	}}
	e := newTestEnv(t, seed, fakecloud.Knobs{AutoVerify: true})
	cfg := func(force bool) string {
		return e.config(fmt.Sprintf(`
resource "m365_domain" "d" {
  name         = "fabrikam.com"
  force_delete = %t
}
resource "m365_domain_verification" "v" {
  domain = m365_domain.d.name
}
`, force))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			for _, r := range e.fake.Requests() {
				if r.Method == "POST" && strings.HasSuffix(r.Path, "/domains/fabrikam.com/forceDelete") && r.Status == 204 {
					return nil
				}
			}
			return fmt.Errorf("destroy did not use forceDelete")
		},
		Steps: []resource.TestStep{
			{Config: cfg(false)},
			{Config: cfg(false), Destroy: true, ExpectError: re(`(?s)Domain Still In Use.*zhang.san@fabrikam.com.*sales@fabrikam.com.*force_delete = true`)},
			{Config: cfg(true)},
		},
	})
}
