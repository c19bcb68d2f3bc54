package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/dns"
	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

const cutoverConfig = `
data "m365_dns_records" "x" {
  domain   = "contoso.com"
  stage    = "cutover"
  replaces = "exmail"
}

resource "tencentcloud_dnspod_record" "m365" {
  for_each    = data.m365_dns_records.x.dnspod_records
  domain      = each.value.domain
  sub_domain  = each.value.sub_domain
  record_type = each.value.record_type
  record_line = each.value.record_line
  value       = each.value.value
  mx          = each.value.mx
  ttl         = each.value.ttl
  remark      = each.value.remark
}
`

func rec(key, attr string) tfjsonpath.Path {
	return tfjsonpath.New("records").AtMapKey(key).AtMapKey(attr)
}

func pod(key, attr string) tfjsonpath.Path {
	return tfjsonpath.New("dnspod_records").AtMapKey(key).AtMapKey(attr)
}

// TestAccDNSRecords checks the cutover records field by field against
// https://learn.microsoft.com/microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider (global and ?view=o365-21vianet), plans for_each over dnspod_records with known keys, and
// checks that what the DNSPod stand-in published answers in DNS.
func TestAccDNSRecords(t *testing.T) {
	cases := []struct {
		env, mx, autodiscover, spf string
		msoid                      bool
	}{
		{"global", "contoso-com.mail.protection.outlook.com", "autodiscover.outlook.com", "v=spf1 include:spf.protection.outlook.com -all", false},
		{"china", "contoso-com.mail.protection.partner.outlook.cn", "autodiscover.partner.outlook.cn", "v=spf1 include:spf.protection.partner.outlook.cn -all", true},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			server := dnstest.StartForTest(t)
			seed := fakecloud.DefaultSeed()
			seed.Environment = c.env
			seed.Domains = []fakecloud.SeedDomain{{ID: "contoso.com", IsVerified: true, SupportedServices: []string{"Email"}}}
			e := newTestEnv(t, seed, fakecloud.Knobs{})
			factories, _ := withDNSPod(server)
			d := "data.m365_dns_records.x"
			// The domain has a DKIM signing configuration: its CNAMEs join the cutover records
			// exactly as Exchange returns them.
			dkim, err := exoClient(t, e).NewDkimSigningConfig(context.Background(), "contoso.com", 2048)
			if err != nil {
				t.Fatal(err)
			}
			checks := []statecheck.StateCheck{
				statecheck.ExpectKnownValue(d, rec("mx", "name"), knownvalue.StringExact("@")),
				statecheck.ExpectKnownValue(d, rec("mx", "type"), knownvalue.StringExact("MX")),
				statecheck.ExpectKnownValue(d, rec("mx", "value"), knownvalue.StringExact(c.mx)),
				statecheck.ExpectKnownValue(d, rec("mx", "priority"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue(d, rec("mx", "ttl"), knownvalue.Int64Exact(3600)),
				statecheck.ExpectKnownValue(d, rec("autodiscover", "name"), knownvalue.StringExact("autodiscover")),
				statecheck.ExpectKnownValue(d, rec("autodiscover", "type"), knownvalue.StringExact("CNAME")),
				statecheck.ExpectKnownValue(d, rec("autodiscover", "value"), knownvalue.StringExact(c.autodiscover)),
				statecheck.ExpectKnownValue(d, rec("spf", "type"), knownvalue.StringExact("TXT")),
				statecheck.ExpectKnownValue(d, rec("spf", "value"), knownvalue.StringExact(c.spf)),
				statecheck.ExpectKnownValue(d, pod("mx", "mx"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(d, pod("mx", "sub_domain"), knownvalue.StringExact("@")),
				statecheck.ExpectKnownValue(d, pod("mx", "record_line"), knownvalue.StringExact("默认")),
				statecheck.ExpectKnownValue(d, pod("mx", "ttl"), knownvalue.Int64Exact(3600)),
				statecheck.ExpectKnownValue(d, pod("autodiscover", "mx"), knownvalue.Null()),
				statecheck.ExpectKnownValue(d, tfjsonpath.New("remove_records").AtMapKey("exmail_mx1").AtMapKey("value"), knownvalue.StringExact("mxbiz1.qq.com")),
				statecheck.ExpectKnownValue(d, tfjsonpath.New("remove_records").AtMapKey("exmail_mx2").AtMapKey("priority"), knownvalue.Int64Exact(10)),
				statecheck.ExpectKnownValue(d, tfjsonpath.New("remove_records").AtMapKey("exmail_spf").AtMapKey("value"), knownvalue.StringExact("v=spf1 include:spf.mail.qq.com ~all")),
			}
			checks = append(checks,
				statecheck.ExpectKnownValue(d, rec("dkim_selector1", "name"), knownvalue.StringExact("selector1._domainkey")),
				statecheck.ExpectKnownValue(d, rec("dkim_selector1", "type"), knownvalue.StringExact("CNAME")),
				statecheck.ExpectKnownValue(d, rec("dkim_selector1", "value"), knownvalue.StringExact(dkim.Selector1CNAME)),
				statecheck.ExpectKnownValue(d, rec("dkim_selector2", "value"), knownvalue.StringExact(dkim.Selector2CNAME)),
				statecheck.ExpectKnownValue(d, pod("dkim_selector2", "sub_domain"), knownvalue.StringExact("selector2._domainkey")),
				statecheck.ExpectKnownValue(d, rec("dmarc", "name"), knownvalue.StringExact("_dmarc")),
				statecheck.ExpectKnownValue(d, rec("dmarc", "type"), knownvalue.StringExact("TXT")),
				statecheck.ExpectKnownValue(d, rec("dmarc", "value"), knownvalue.StringExact("v=DMARC1; p=none")),
				statecheck.ExpectKnownValue(d, pod("dmarc", "sub_domain"), knownvalue.StringExact("_dmarc")),
			)
			keys := 6
			if c.msoid {
				keys = 7
				checks = append(checks,
					statecheck.ExpectKnownValue(d, rec("msoid", "type"), knownvalue.StringExact("CNAME")),
					statecheck.ExpectKnownValue(d, rec("msoid", "value"), knownvalue.StringExact("clientconfig.partner.microsoftonline-p.net.cn")))
			}
			checks = append(checks, statecheck.ExpectKnownValue(d, tfjsonpath.New("dnspod_records"), knownvalue.MapSizeExact(keys)))
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: factories,
				Steps: []resource.TestStep{{
					Config: e.config(cutoverConfig, fmt.Sprintf("environment = %q", c.env)),
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(`tencentcloud_dnspod_record.m365["mx"]`, plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(`tencentcloud_dnspod_record.m365["spf"]`, plancheck.ResourceActionCreate),
					}},
					ConfigStateChecks: append(checks, stateCheckFunc(func() error {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						defer cancel()
						mx, err := dns.Resolver{Server: server.Addr}.LookupMX(ctx, "contoso.com")
						if err != nil || len(mx) != 1 || mx[0].Host != c.mx || mx[0].Preference != 1 {
							return fmt.Errorf("published MX = %v, %v; want %s priority 1", mx, err, c.mx)
						}
						txt, err := dns.Resolver{Server: server.Addr}.LookupTXT(ctx, "contoso.com")
						if err != nil || len(txt) != 1 || txt[0] != c.spf {
							return fmt.Errorf("published TXT = %v, %v", txt, err)
						}
						if txt, err := (dns.Resolver{Server: server.Addr}).LookupTXT(ctx, "_dmarc.contoso.com"); err != nil || len(txt) != 1 || txt[0] != "v=DMARC1; p=none" {
							return fmt.Errorf("published DMARC = %v, %v", txt, err)
						}
						if cn, err := (dns.Resolver{Server: server.Addr}).LookupCNAME(ctx, "selector1._domainkey.contoso.com"); err != nil || cn != dkim.Selector1CNAME {
							return fmt.Errorf("published DKIM selector1 = %q, %v", cn, err)
						}
						return nil
					})),
				}, forEachCleanup(e.config(`data "m365_dns_records" "x" { domain = "contoso.com" }`, fmt.Sprintf("environment = %q", c.env)))},
			})
		})
	}
}

func TestAccMailClientSettings(t *testing.T) {
	seed := fakecloud.DefaultSeed()
	seed.Environment = "china"
	e := newTestEnv(t, seed, fakecloud.Knobs{})
	d := "data.m365_mail_client_settings.x"
	accParallelTest(t, resource.TestStep{
		Config: e.config(`data "m365_mail_client_settings" "x" {}`, `environment = "china"`),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(d, tfjsonpath.New("imap_host"), knownvalue.StringExact("partner.outlook.cn")),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("imap_port"), knownvalue.Int64Exact(993)),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("smtp_host"), knownvalue.StringExact("smtp.partner.outlook.cn")),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("smtp_port"), knownvalue.Int64Exact(587)),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("smtp_encryption"), knownvalue.StringExact("STARTTLS")),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("authentication").AtMapKey("imap").AtMapKey("methods"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("OAuth 2.0 (SASL XOAUTH2)")})),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("authentication").AtMapKey("imap").AtMapKey("confirmed"), knownvalue.Bool(false)),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("authentication").AtMapKey("smtp").AtMapKey("basic_auth"), knownvalue.StringRegexp(re(`^UNCONFIRMED`))),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("recommendation"), knownvalue.StringRegexp(re(`Outlook.*Exchange ActiveSync.*OAuth 2\.0`))),
		},
	})
	global := newTestEnv(t, nil, fakecloud.Knobs{})
	accTest(t, resource.TestStep{
		Config: global.config(`data "m365_mail_client_settings" "x" {}`),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(d, tfjsonpath.New("authentication").AtMapKey("pop").AtMapKey("confirmed"), knownvalue.Bool(true)),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("authentication").AtMapKey("pop").AtMapKey("source"), knownvalue.StringExact("https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/deprecation-of-basic-authentication-exchange-online")),
			statecheck.ExpectKnownValue(d, tfjsonpath.New("authentication").AtMapKey("smtp").AtMapKey("basic_auth"), knownvalue.StringRegexp(re(`end of December 2026 it is disabled by default`))),
		},
	})
}
