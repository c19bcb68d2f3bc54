package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// readExample returns an example file without its terraform {} block (the tests address the
// in-process providers by their default source).
func readExample(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`(?s)terraform \{.*?\n\}\n`).ReplaceAllString(string(b), "")
}

// TestAccExamplesDomainsAndDNS runs the examples of the domain, DNS, SKU and client-settings
// types against the fake, as they are published in the docs.
func TestAccExamplesDomainsAndDNS(t *testing.T) {
	t.Run("subscribed_skus", func(t *testing.T) {
		e := newTestEnv(t, nil, fakecloud.Knobs{})
		accParallelTest(t, resource.TestStep{Config: e.config(readExample(t, "examples/data-sources/m365_subscribed_skus/data-source.tf"))})
	})
	t.Run("mail_client_settings", func(t *testing.T) {
		e := newTestEnv(t, nil, fakecloud.Knobs{})
		accParallelTest(t, resource.TestStep{Config: e.config(readExample(t, "examples/data-sources/m365_mail_client_settings/data-source.tf"))})
	})
	t.Run("domain", func(t *testing.T) {
		e := newTestEnv(t, nil, fakecloud.Knobs{})
		accParallelTest(t, resource.TestStep{Config: e.config(readExample(t, "examples/resources/m365_domain/resource.tf"))})
	})
	t.Run("domain_verification", func(t *testing.T) {
		dns := dnstest.StartForTest(t)
		e := newTestEnv(t, nil, fakecloud.Knobs{DNSServer: dns.Addr})
		factories, pod := withDNSPod(dns)
		cfg := e.config(readExample(t, "examples/resources/m365_domain_verification/resource.tf"))
		resource.ParallelTest(t, resource.TestCase{ProtoV6ProviderFactories: factories, Steps: []resource.TestStep{
			// The domain's settings are applied by the apply after verification.
			{Config: cfg, ExpectNonEmptyPlan: true},
			forEachCleanup(e.config(`
resource "m365_domain" "company" {
  name               = "contoso.com"
  supported_services = ["Email"]
}
`)),
		}})
		if pod.created != 1 {
			t.Errorf("the example published %d records, want the TXT only", pod.created)
		}
	})
	t.Run("dns_records", func(t *testing.T) {
		dns := dnstest.StartForTest(t)
		seed := fakecloud.DefaultSeed()
		seed.Domains = []fakecloud.SeedDomain{{ID: "contoso.com", IsVerified: true, SupportedServices: []string{"Email"}}}
		e := newTestEnv(t, seed, fakecloud.Knobs{})
		factories, pod := withDNSPod(dns)
		resource.ParallelTest(t, resource.TestCase{ProtoV6ProviderFactories: factories, Steps: []resource.TestStep{
			{Config: e.config(readExample(t, "examples/data-sources/m365_dns_records/data-source.tf"))},
			forEachCleanup(e.config(`data "m365_dns_records" "x" { domain = "contoso.com" }`)),
		}})
		if pod.created != 4 {
			t.Errorf("the example published %d records, want MX, autodiscover, SPF and DMARC", pod.created)
		}
	})
}
