package dns

import (
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
)

func TestDMARCValue(t *testing.T) {
	cases := []struct {
		in   DMARC
		want string
		err  string
	}{
		{DMARC{}, "v=DMARC1; p=none", ""},
		{DMARC{Policy: "none", RUA: []string{"dmarc@contoso.com"}}, "v=DMARC1; p=none; rua=mailto:dmarc@contoso.com", ""},
		{DMARC{Policy: "Quarantine", Pct: 25, RUA: []string{"mailto:a@contoso.com", "b@contoso.com"}}, "v=DMARC1; p=quarantine; pct=25; rua=mailto:a@contoso.com,mailto:b@contoso.com", ""},
		{DMARC{Policy: "reject", Pct: 100}, "v=DMARC1; p=reject", ""},
		{DMARC{Policy: "block"}, "", `unknown DMARC policy "block"`},
		{DMARC{RUA: []string{"not an address"}}, "", "is not an email address"},
		{DMARC{Pct: 101}, "", "not between 1 and 100"},
	}
	for _, c := range cases {
		got, err := DMARCValue(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%+v: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestBuildMailAuthAndTTL(t *testing.T) {
	env, _ := cloud.Lookup(cloud.China)
	d := DKIM{Selector1CNAME: "selector1-contoso-com._domainkey.contoso.partner.onmschina.cn.", Selector2CNAME: "selector2-contoso-com._domainkey.contoso.partner.onmschina.cn"}
	recs, _, err := Build(nil, nil, Options{Zone: "contoso.com", Env: env, Stage: StageCutover, DKIM: &d, DMARC: &DMARC{RUA: []string{"d@contoso.com"}}, TTL: 600})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Record{}
	for _, r := range recs {
		by[r.Key] = r
		if r.TTL != 600 {
			t.Errorf("%s TTL %d, want 600", r.Key, r.TTL)
		}
	}
	if r := by[KeyDKIMSelector1]; r.Name != "selector1._domainkey" || r.Type != "CNAME" || r.Value != "selector1-contoso-com._domainkey.contoso.partner.onmschina.cn" || r.FQDN != "selector1._domainkey.contoso.com" {
		t.Errorf("selector1: %+v", r)
	}
	if r := by[KeyDMARC]; r.Name != "_dmarc" || r.Value != "v=DMARC1; p=none; rua=mailto:d@contoso.com" {
		t.Errorf("dmarc: %+v", r)
	}
	if r := by[KeySPF]; r.Value != "v=spf1 include:spf.protection.partner.outlook.cn -all" {
		t.Errorf("21Vianet SPF: %+v", r)
	}
	pod := DNSPod("contoso.com", recs, DNSPodOptions{})
	if p := pod[KeyDKIMSelector2]; p.SubDomain != "selector2._domainkey" || p.RecordType != "CNAME" || p.TTL != 600 {
		t.Errorf("DNSPod selector2: %+v", p)
	}
	// Without DKIM/DMARC options nothing is added; the verification stage never has them.
	recs, _, _ = Build(nil, nil, Options{Zone: "contoso.com", Stage: StageVerification, DKIM: &d, DMARC: &DMARC{}})
	for _, r := range recs {
		if r.Purpose == PurposeDKIM || r.Purpose == PurposeDMARC {
			t.Errorf("verification stage has %s", r.Key)
		}
	}
}
