package provider

import (
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// liveTest skips unless M365_LIVE=1 and credentials are in the environment (ARM_TENANT_ID,
// ARM_CLIENT_ID, ARM_CLIENT_SECRET, optionally ARM_ENVIRONMENT): these tests talk to a real tenant.
func liveTest(t *testing.T) {
	t.Helper()
	if os.Getenv("M365_LIVE") != "1" {
		t.Skip("live tests run only with M365_LIVE=1 and ARM_* credentials of a test tenant")
	}
	for _, k := range []string{"ARM_TENANT_ID", "ARM_CLIENT_ID"} {
		if os.Getenv(k) == "" {
			t.Fatalf("M365_LIVE=1 needs %s", k)
		}
	}
}

// TestLiveSubscribedSkus reads the real tenant's SKUs (read-only).
func TestLiveSubscribedSkus(t *testing.T) {
	liveTest(t)
	accTest(t, resource.TestStep{
		Config: `provider "m365" {}
data "m365_subscribed_skus" "all" {}`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("id"), knownvalue.StringExact(os.Getenv("ARM_TENANT_ID"))),
		},
	})
}
