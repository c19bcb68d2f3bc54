package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/graph"
)

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		pw, err := generatePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 16 {
			t.Fatalf("%d characters", len(pw))
		}
		for _, class := range []string{pwUpper, pwLower, pwDigits, pwSymbols} {
			if !strings.ContainsAny(pw, class) {
				t.Fatalf("a password lacks one of %q", class)
			}
		}
		if strings.ContainsAny(pw, `"',;\ 0O1lI`) {
			t.Fatalf("a password has a quote, separator or look-alike character")
		}
		if seen[pw] {
			t.Fatalf("the same password twice")
		}
		seen[pw] = true
	}
}

var testSkus = []graph.SubscribedSku{
	{SkuID: "f245ecc8-75af-4f8e-b61f-27d8114de5f3", SkuPartNumber: "O365_BUSINESS_PREMIUM", AppliesTo: "User", Enabled: 10, Consumed: 4,
		ServicePlans: []graph.ServicePlan{{ID: "57ff2da0-773e-42df-b2af-ffb7a2317929", Name: "TEAMS1"}, {ID: "9aaf7827-d63c-4b61-89c3-182f06f82e5c", Name: "EXCHANGE_S_STANDARD"}}},
	{SkuID: "4b9405b0-7788-4568-add1-99614e613b69", SkuPartNumber: "EXCHANGESTANDARD", AppliesTo: "User"},
	{SkuID: "6470687e-a428-4b7a-bef2-8a291ad947c9", SkuPartNumber: "WINDOWS_STORE", AppliesTo: "Company"},
}

func lic(sku string, plans ...string) licenseModel {
	dp := types.SetNull(types.StringType)
	if plans != nil {
		dp = stringSet(plans)
	}
	return licenseModel{Sku: types.StringValue(sku), DisabledPlans: dp}
}

func TestResolveLicenses(t *testing.T) {
	ix := newSkuIndex(testSkus)
	got, probs := resolveLicenses(ix, []licenseModel{lic("o365_business_premium", "teams1", "57FF2DA0-773E-42DF-B2AF-FFB7A2317929"), lic("4b9405b0-7788-4568-add1-99614e613b69")})
	if len(probs) != 0 || len(got) != 2 {
		t.Fatalf("got %+v, problems %+v", got, probs)
	}
	if got[0].SkuID != testSkus[0].SkuID || len(got[0].Disabled) != 1 || got[0].Disabled[0] != "57ff2da0-773e-42df-b2af-ffb7a2317929" {
		t.Fatalf("plan names and ids of the same plan must collapse: %+v", got[0])
	}
	_, probs = resolveLicenses(ix, []licenseModel{lic("SPE_E5"), lic("EXCHANGESTANDARD"), lic("4B9405B0-7788-4568-ADD1-99614E613B69"), lic("O365_BUSINESS_PREMIUM", "YAMMER")})
	var msgs []string
	for _, p := range probs {
		msgs = append(msgs, p.summary+": "+p.cause)
	}
	want := []string{
		`Unknown Licence SKU: the tenant has no SKU "SPE_E5"; its assignable SKUs are: EXCHANGESTANDARD, O365_BUSINESS_PREMIUM`,
		`Duplicate Licence: "EXCHANGESTANDARD" and "4B9405B0-7788-4568-ADD1-99614E613B69" are the same SKU (EXCHANGESTANDARD)`,
		`Unknown Service Plan: the SKU O365_BUSINESS_PREMIUM has no service plan "YAMMER"; its plans are: EXCHANGE_S_STANDARD, TEAMS1`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

func TestHasLicense(t *testing.T) {
	ix := newSkuIndex(testSkus)
	want, _ := resolveLicenses(ix, []licenseModel{lic("O365_BUSINESS_PREMIUM", "TEAMS1")})
	for _, c := range []struct {
		assigned []graph.AssignedLicense
		ok       bool
	}{
		{nil, false},
		{[]graph.AssignedLicense{{SkuID: testSkus[0].SkuID}}, false},
		{[]graph.AssignedLicense{{SkuID: strings.ToUpper(testSkus[0].SkuID), DisabledPlans: []string{"57FF2DA0-773E-42DF-B2AF-FFB7A2317929"}}}, true},
		{[]graph.AssignedLicense{{SkuID: testSkus[1].SkuID, DisabledPlans: []string{"57ff2da0-773e-42df-b2af-ffb7a2317929"}}}, false},
	} {
		if got := hasLicense(c.assigned, want[0]); got != c.ok {
			t.Errorf("hasLicense(%+v) = %t", c.assigned, got)
		}
	}
}

func TestSeatShortfall(t *testing.T) {
	got := seatShortfall("O365_BUSINESS_PREMIUM", 120, 95, "users")
	if got != "needs 120 O365_BUSINESS_PREMIUM seats, 95 are free: buy 25 or remove 25 users" {
		t.Fatal(got)
	}
}

func TestDomainCheck(t *testing.T) {
	ds := []graph.Domain{{ID: "contoso.onmicrosoft.com", IsVerified: true}, {ID: "Corp.com", IsVerified: true}, {ID: "new.com"}}
	bad, status, verified := domainCheck(ds, []string{"a@corp.com", "b@NEW.com", "c@other.com", "d@soon.com", "e@other.com"}, []string{"soon.com"})
	if verified != "contoso.onmicrosoft.com, corp.com" {
		t.Errorf("verified: %q", verified)
	}
	if len(bad) != 2 || strings.Join(bad["other.com"], ",") != "c@other.com,e@other.com" || strings.Join(bad["new.com"], ",") != "b@NEW.com" {
		t.Errorf("bad: %v", bad)
	}
	if status["new.com"] != "is in the tenant but not verified yet" || status["other.com"] != "is not a domain of the tenant" {
		t.Errorf("status: %v", status)
	}
}
