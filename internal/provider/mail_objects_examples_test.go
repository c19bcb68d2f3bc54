package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// TestAccExamplesMailObjects runs the distribution group and DKIM examples against the fake, as
// they are published in the docs.
func TestAccExamplesMailObjects(t *testing.T) {
	t.Run("distribution_group", func(t *testing.T) {
		e := newTestEnv(t, groupSeed(), fakecloud.Knobs{})
		accParallelTest(t, resource.TestStep{Config: e.config(readExample(t, "examples/resources/m365_distribution_group/resource.tf"))})
	})
	t.Run("dkim", func(t *testing.T) {
		dns := dnstest.StartForTest(t)
		e := newTestEnv(t, groupSeed(), fakecloud.Knobs{DNSServer: dns.Addr})
		factories, pod := withDNSPod(dns)
		cfg := e.config(readExample(t, "examples/resources/m365_dkim/resource.tf"))
		resource.ParallelTest(t, resource.TestCase{ProtoV6ProviderFactories: factories, Steps: []resource.TestStep{
			// First apply: configuration and CNAMEs; the next plan enables signing.
			{Config: cfg, ExpectNonEmptyPlan: true},
			{Config: cfg},
			forEachCleanup(e.config(`
resource "m365_dkim" "contoso" {
  domain = "contoso.com"
}
`)),
		}})
		if pod.created != 2 {
			t.Errorf("the example published %d records, want the two selector CNAMEs", pod.created)
		}
	})
}
