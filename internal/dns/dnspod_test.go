package dns

import (
	"reflect"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
)

func TestDNSPodFromBuild(t *testing.T) {
	records, remove, err := Build(verificationAnswer, teamsIntuneAnswer(), Options{Zone: zone, Env: mustEnv(t, cloud.Global), Stage: "all",
		Replaces: "exmail", Services: []string{"Email", "OfficeCommunicationsOnline"}, KeepSPFIncludes: []string{"spf.mail.qq.com"}})
	if err != nil {
		t.Fatal(err)
	}
	got := DNSPod("Contoso.com.", records, DNSPodOptions{})
	rec := func(sub, typ, value string, mx int64, remark string) DNSPodRecord {
		return DNSPodRecord{Domain: "contoso.com", SubDomain: sub, RecordType: typ, RecordLine: "默认", Value: value, MX: mx, TTL: 3600, Status: "ENABLE", Remark: remark}
	}
	want := map[string]DNSPodRecord{
		"verification_txt":         rec("@", "TXT", "MS=ms36377677", 0, "m365: verification"),
		"mx":                       rec("@", "MX", "contoso-com.mail.protection.outlook.com", 1, "m365: mail"),
		"autodiscover":             rec("autodiscover", "CNAME", "autodiscover.outlook.com", 0, "m365: autodiscover"),
		"spf":                      rec("@", "TXT", "v=spf1 include:spf.protection.outlook.com include:spf.mail.qq.com -all", 0, "m365: spf"),
		"sip":                      rec("sip", "CNAME", "sipdir.online.lync.com", 0, "m365: teams"),
		"lyncdiscover":             rec("lyncdiscover", "CNAME", "webdir.online.lync.com", 0, "m365: teams"),
		"sip_tls_srv":              rec("_sip._tls", "SRV", "100 1 443 sipdir.online.lync.com.", 0, "m365: teams"),
		"sipfederationtls_tcp_srv": rec("_sipfederationtls._tcp", "SRV", "100 1 5061 sipfed.online.lync.com.", 0, "m365: teams"),
	}
	if len(got) != len(want) {
		t.Errorf("got %d DNSPod records, want %d (the 32767 verification MX must be left out): %v", len(got), len(want), mapKeys(got))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %+v\nwant %+v", k, g, w)
		}
	}

	rm := DNSPod(zone, remove, DNSPodOptions{})
	if r := rm["exmail_mx1"]; r.MX != 5 || r.Value != "mxbiz1.qq.com" || r.TTL != 600 {
		t.Errorf("exmail_mx1 = %+v", r)
	}
	if r := rm["exmail_mx2"]; r.MX != 10 || r.Value != "mxbiz2.qq.com" {
		t.Errorf("exmail_mx2 = %+v", r)
	}
	if r := rm["exmail_spf"]; r.Value != "v=spf1 include:spf.mail.qq.com ~all" || r.RecordType != "TXT" || r.MX != 0 {
		t.Errorf("exmail_spf = %+v", r)
	}
}

func mapKeys(m map[string]DNSPodRecord) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDNSPodClampAndTTL(t *testing.T) {
	records := []Record{
		{Key: "mx0", Name: "@", Type: "MX", Value: "a.example.net.", Priority: 0, TTL: 60, Purpose: "mail"},
		{Key: "mx25", Name: "@", Type: "MX", Value: "B.example.net", Priority: 25, TTL: 300, Purpose: "mail"},
		{Key: "mx7", Name: "", Type: "mx", Value: "c.example.net", Priority: 7, TTL: 0, Purpose: "mail"},
		{Key: "cname", Name: "www", Type: "CNAME", Value: "d.example.net.", TTL: 10000000, Purpose: "other"},
		{Key: "srv", Name: "_x._tcp", Type: "SRV", Value: "e.example.net", Priority: 0, Weight: 0, Port: 80, TTL: 900, Purpose: "other"},
		{Key: "txt", Name: "@", Type: "TXT", Value: `a "quoted" text`, TTL: 600, Purpose: "other"},
	}
	cases := []struct {
		opts     DNSPodOptions
		wantTTL  map[string]int64
		wantLine string
	}{
		{DNSPodOptions{}, map[string]int64{"mx0": 600, "mx25": 600, "mx7": 3600, "cname": 604800, "srv": 900, "txt": 600}, "默认"},
		{DNSPodOptions{TTLFloor: 120, RecordLine: "电信"}, map[string]int64{"mx0": 120, "mx25": 300, "mx7": 3600, "cname": 604800, "srv": 900, "txt": 600}, "电信"},
	}
	for _, tc := range cases {
		got := DNSPod(zone, records, tc.opts)
		for k, ttl := range tc.wantTTL {
			if got[k].TTL != ttl {
				t.Errorf("floor %d: %s ttl = %d, want %d", tc.opts.TTLFloor, k, got[k].TTL, ttl)
			}
			if got[k].RecordLine != tc.wantLine || got[k].Weight != nil || got[k].Status != "ENABLE" {
				t.Errorf("%s = %+v", k, got[k])
			}
		}
		for k, mx := range map[string]int64{"mx0": 1, "mx25": 20, "mx7": 7, "cname": 0, "srv": 0, "txt": 0} {
			if got[k].MX != mx {
				t.Errorf("%s mx = %d, want %d", k, got[k].MX, mx)
			}
		}
		for k, v := range map[string]string{"mx0": "a.example.net", "mx25": "b.example.net", "cname": "d.example.net",
			"srv": "0 0 80 e.example.net.", "txt": `a "quoted" text`} {
			if got[k].Value != v {
				t.Errorf("%s value = %q, want %q", k, got[k].Value, v)
			}
		}
		if got["mx7"].SubDomain != "@" || got["mx7"].RecordType != "MX" {
			t.Errorf("mx7 = %+v", got["mx7"])
		}
	}
}
