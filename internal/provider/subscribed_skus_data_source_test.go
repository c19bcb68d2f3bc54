package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

func TestAccSubscribedSkus(t *testing.T) {
	seed := fakecloud.DefaultSeed()
	seed.SKUs = []fakecloud.SKU{
		{SkuID: "f245ecc8-75af-4f8e-b61f-27d8114de5f3", SkuPartNumber: "O365_BUSINESS_PREMIUM", Enabled: 25, Consumed: 3},
		{SkuID: "4b9405b0-7788-4568-add1-99614e613b69", SkuPartNumber: "EXCHANGESTANDARD", Enabled: 10, Warning: 2, Consumed: 11},
		{SkuID: "c42b9cae-ea4f-4ab7-9717-81576235ccac", SkuPartNumber: "DEVELOPERPACK", Enabled: 1, Consumed: 4, CapabilityStatus: "Warning",
			ServicePlans: []fakecloud.ServicePlan{{ServicePlanID: "9aaf7827-d63c-4b61-89c3-182f06f82e5c", ServicePlanName: "EXCHANGE_S_STANDARD", ProvisioningStatus: "Success", AppliesTo: "User"}}},
	}
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	all := `data "m365_subscribed_skus" "all" {}`
	accParallelTest(t,
		resource.TestStep{
			Config: e.config(all),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("skus"), knownvalue.ListSizeExact(3)),
				// 25 enabled - 3 consumed.
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("by_part_number").AtMapKey("O365_BUSINESS_PREMIUM").AtMapKey("available_units"), knownvalue.Int64Exact(22)),
				// 10 enabled + 2 in warning - 11 consumed.
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("by_part_number").AtMapKey("EXCHANGESTANDARD").AtMapKey("available_units"), knownvalue.Int64Exact(1)),
				// Over-consumed never goes below zero.
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("by_part_number").AtMapKey("DEVELOPERPACK").AtMapKey("available_units"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("by_part_number").AtMapKey("DEVELOPERPACK").AtMapKey("capability_status"), knownvalue.StringExact("Warning")),
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("by_part_number").AtMapKey("DEVELOPERPACK").AtMapKey("service_plans").AtSliceIndex(0).AtMapKey("service_plan_name"), knownvalue.StringExact("EXCHANGE_S_STANDARD")),
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("by_part_number").AtMapKey("EXCHANGESTANDARD").AtMapKey("sku_id"), knownvalue.StringExact("4b9405b0-7788-4568-add1-99614e613b69")),
				// Sorted by part number.
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.all", tfjsonpath.New("skus").AtSliceIndex(0).AtMapKey("sku_part_number"), knownvalue.StringExact("DEVELOPERPACK")),
			},
		},
		resource.TestStep{
			Config: e.config(`data "m365_subscribed_skus" "one" { sku_part_number = "o365_business_premium" }`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.one", tfjsonpath.New("skus"), knownvalue.ListSizeExact(1)),
				statecheck.ExpectKnownValue("data.m365_subscribed_skus.one", tfjsonpath.New("skus").AtSliceIndex(0).AtMapKey("enabled_units"), knownvalue.Int64Exact(25)),
			},
		},
		resource.TestStep{
			Config:      e.config(`data "m365_subscribed_skus" "none" { sku_part_number = "SPE_E5" }`),
			ExpectError: re(`(?s)SKU Not Found.*DEVELOPERPACK, EXCHANGESTANDARD, O365_BUSINESS_PREMIUM`),
		},
	)
	st := e.fake.Stats()
	if st.TokensByAudience["graph"] == 0 {
		t.Fatalf("no Graph token was requested: %+v", st.TokensByAudience)
	}
	if n := st.TokensByAudience["exchange"]; n != 0 {
		t.Errorf("a configuration that only reads SKUs asked for %d Exchange tokens", n)
	}
	if st.Exchange.Requests != 0 {
		t.Errorf("Exchange got %d requests", st.Exchange.Requests)
	}
}
