package dns

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
)

const zone = "contoso.com"

func mustEnv(t *testing.T, name string) cloud.Environment {
	t.Helper()
	env, err := cloud.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// requireRecords compares field by field and reports every difference.
func requireRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d records, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			t.Errorf("missing record %d: %+v", i, want[i])
		case i >= len(want):
			t.Errorf("unexpected record %d: %+v", i, got[i])
		default:
			g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
			for f := 0; f < g.NumField(); f++ {
				if !reflect.DeepEqual(g.Field(f).Interface(), w.Field(f).Interface()) {
					t.Errorf("record %d (%s) field %s = %#v, want %#v", i, want[i].Key,
						g.Type().Field(f).Name, g.Field(f).Interface(), w.Field(f).Interface())
				}
			}
		}
	}
}

// docsAnswer mimics Graph's documented serviceConfigurationRecords answer (FQDN labels, the
// "include: spf" stray space, ~all) plus the autodiscover CNAME.
func docsAnswer(mx, autodiscover, spfInclude string) []ServiceRecord {
	return []ServiceRecord{
		{RecordType: "Mx", Label: "contoso.com", SupportedService: "Email", TTL: 3600, MailExchange: mx, Preference: 0},
		{RecordType: "Txt", Label: "contoso.com", SupportedService: "Email", TTL: 3600, Text: "v=spf1 include: " + spfInclude + " ~all"},
		{RecordType: "CName", Label: "autodiscover.contoso.com", SupportedService: "Email", TTL: 3600, CanonicalName: autodiscover},
	}
}

// relativeAnswer is the same answer with relative labels, odd casing, trailing dots, TTL 0 and
// an "Unavailable" record.
func relativeAnswer(mx, autodiscover, spfInclude string) []ServiceRecord {
	return []ServiceRecord{
		{RecordType: "unavailable", Label: "@", SupportedService: "Email"},
		{RecordType: "CNAME", Label: "Autodiscover", SupportedService: "email", CanonicalName: strings.ToUpper(autodiscover) + "."},
		{RecordType: "TXT", Label: "@", SupportedService: "Email", TTL: 3600, Text: "v=spf1 include:" + spfInclude + " -all"},
		{RecordType: "MX", Label: "contoso.com.", SupportedService: "Email", TTL: 0, MailExchange: mx + "."},
	}
}

func TestBuildCutoverPerCloud(t *testing.T) {
	cases := []struct {
		env           string
		initialDomain string
		graphMX       string
		autodiscover  string
		spfInclude    string
		extraGraph    []ServiceRecord
		want          []Record
	}{
		{
			env: cloud.Global, graphMX: "contoso-com.mail.protection.outlook.com",
			autodiscover: "autodiscover.outlook.com", spfInclude: "spf.protection.outlook.com",
			// A stray msoid outside 21Vianet breaks sign-in: it must be dropped.
			extraGraph: []ServiceRecord{{RecordType: "CName", Label: "msoid.contoso.com", SupportedService: "Email", CanonicalName: "clientconfig.microsoftonline-p.net"}},
			want: []Record{
				{Key: "mx", Name: "@", FQDN: "contoso.com", Type: "MX", Value: "contoso-com.mail.protection.outlook.com", Priority: 0, TTL: 3600, Purpose: "mail", SupportedService: "Email"},
				{Key: "autodiscover", Name: "autodiscover", FQDN: "autodiscover.contoso.com", Type: "CNAME", Value: "autodiscover.outlook.com", TTL: 3600, Purpose: "autodiscover", SupportedService: "Email"},
				{Key: "spf", Name: "@", FQDN: "contoso.com", Type: "TXT", Value: "v=spf1 include:spf.protection.outlook.com -all", TTL: 3600, Purpose: "spf", SupportedService: "Email"},
			},
		},
		{
			env: cloud.China, graphMX: "contoso-com.mail.protection.partner.outlook.cn",
			autodiscover: "autodiscover.partner.outlook.cn", spfInclude: "spf.protection.partner.outlook.cn",
			extraGraph: []ServiceRecord{{RecordType: "CName", Label: "msoid.contoso.com", TTL: 3600, CanonicalName: "clientconfig.partner.microsoftonline-p.net.cn"}},
			want: []Record{
				{Key: "mx", Name: "@", FQDN: "contoso.com", Type: "MX", Value: "contoso-com.mail.protection.partner.outlook.cn", Priority: 0, TTL: 3600, Purpose: "mail", SupportedService: "Email"},
				{Key: "autodiscover", Name: "autodiscover", FQDN: "autodiscover.contoso.com", Type: "CNAME", Value: "autodiscover.partner.outlook.cn", TTL: 3600, Purpose: "autodiscover", SupportedService: "Email"},
				{Key: "spf", Name: "@", FQDN: "contoso.com", Type: "TXT", Value: "v=spf1 include:spf.protection.partner.outlook.cn -all", TTL: 3600, Purpose: "spf", SupportedService: "Email"},
				{Key: "msoid", Name: "msoid", FQDN: "msoid.contoso.com", Type: "CNAME", Value: "clientconfig.partner.microsoftonline-p.net.cn", TTL: 3600, Purpose: "msoid", SupportedService: "OrgIdAuthentication"},
			},
		},
		{
			env: cloud.USGovernment, initialDomain: "FabrikamGov.onmicrosoft.us",
			graphMX:      "fabrikamgov.mail.protection.office365.us",
			autodiscover: "autodiscover.office365.us", spfInclude: "spf.protection.office365.us",
			extraGraph: []ServiceRecord{{RecordType: "CName", Label: "msoid", SupportedService: "Email", CanonicalName: "clientconfig.microsoftonline-p.net"}},
			want: []Record{
				{Key: "mx", Name: "@", FQDN: "contoso.com", Type: "MX", Value: "fabrikamgov.mail.protection.office365.us", Priority: 0, TTL: 3600, Purpose: "mail", SupportedService: "Email"},
				{Key: "autodiscover", Name: "autodiscover", FQDN: "autodiscover.contoso.com", Type: "CNAME", Value: "autodiscover.office365.us", TTL: 3600, Purpose: "autodiscover", SupportedService: "Email"},
				{Key: "spf", Name: "@", FQDN: "contoso.com", Type: "TXT", Value: "v=spf1 include:spf.protection.office365.us -all", TTL: 3600, Purpose: "spf", SupportedService: "Email"},
			},
		},
	}
	for _, tc := range cases {
		env := mustEnv(t, tc.env)
		answers := map[string][]ServiceRecord{
			"docs FQDN labels":              docsAnswer(tc.graphMX, tc.autodiscover, tc.spfInclude),
			"docs FQDN labels + extra":      append(docsAnswer(tc.graphMX, tc.autodiscover, tc.spfInclude), tc.extraGraph...),
			"relative labels":               relativeAnswer(tc.graphMX, tc.autodiscover, tc.spfInclude),
			"empty answer (table fallback)": nil,
		}
		for name, answer := range answers {
			t.Run(tc.env+"/"+name, func(t *testing.T) {
				got, remove, err := Build(nil, answer, Options{Zone: "Contoso.com.", Env: env, Stage: "cutover", InitialDomain: tc.initialDomain})
				if err != nil {
					t.Fatal(err)
				}
				if remove != nil {
					t.Errorf("remove = %+v without Replaces", remove)
				}
				requireRecords(t, got, tc.want)
			})
		}
	}
}

func TestBuildUSGovernmentMX(t *testing.T) {
	for _, name := range []string{cloud.USGovernment, cloud.USGovernmentDoD} {
		env := mustEnv(t, name)
		_, _, err := Build(nil, nil, Options{Zone: zone, Env: env, Stage: "cutover"})
		if err == nil || !strings.Contains(err.Error(), "initial domain") {
			t.Errorf("%s: empty answer without InitialDomain: err = %v, want an error naming the initial domain", name, err)
		}
		_, _, err = Build(nil, nil, Options{Zone: zone, Env: env, Stage: "cutover", InitialDomain: "bad domain"})
		if err == nil {
			t.Errorf("%s: invalid InitialDomain accepted", name)
		}
		// Graph's own MX wins and needs no initial domain.
		got, _, err := Build(nil, []ServiceRecord{{RecordType: "Mx", Label: zone, SupportedService: "Email", MailExchange: "tenantx.mail.protection.office365.us"}},
			Options{Zone: zone, Env: env, Stage: "cutover"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got[0].Key != "mx" || got[0].Value != "tenantx.mail.protection.office365.us" {
			t.Errorf("%s: mx = %+v", name, got[0])
		}
		// Verification needs no MX at all.
		if _, _, err := Build(nil, nil, Options{Zone: zone, Env: env, Stage: "verification"}); err != nil {
			t.Errorf("%s: verification stage: %v", name, err)
		}
	}
}

func TestBuildZeroEnvironmentIsGlobal(t *testing.T) {
	got, _, err := Build(nil, nil, Options{Zone: zone, Stage: "cutover"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Value != "contoso-com.mail.protection.outlook.com" {
		t.Errorf("mx = %q", got[0].Value)
	}
}

var verificationAnswer = []ServiceRecord{
	{RecordType: "Mx", Label: "contoso.com", TTL: 3600, MailExchange: "ms36377677.msv1.invalid", Preference: 32767},
	{RecordType: "Txt", Label: "contoso.com", TTL: 3600, Text: "MS=ms36377677"},
}

func TestBuildStages(t *testing.T) {
	env := mustEnv(t, cloud.Global)
	vTXT := Record{Key: "verification_txt", Name: "@", FQDN: "contoso.com", Type: "TXT", Value: "MS=ms36377677", TTL: 3600, Purpose: "verification"}
	vMX := Record{Key: "verification_mx", Name: "@", FQDN: "contoso.com", Type: "MX", Value: "ms36377677.msv1.invalid", Priority: 32767, TTL: 3600, Purpose: "verification"}
	service := docsAnswer("contoso-com.mail.protection.outlook.com", "autodiscover.outlook.com", "spf.protection.outlook.com")

	got, remove, err := Build(verificationAnswer, service, Options{Zone: zone, Env: env, Stage: "verification", Replaces: "exmail"})
	if err != nil {
		t.Fatal(err)
	}
	requireRecords(t, got, []Record{vTXT})
	if len(remove) != 0 {
		t.Errorf("verification stage removes %+v; nothing may be removed before cutover", remove)
	}

	got, _, err = Build(verificationAnswer, service, Options{Zone: zone, Env: env, Stage: "Cutover"})
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(got); strings.Join(keys, ",") != "mx,autodiscover,spf" {
		t.Errorf("cutover keys = %v", keys)
	}

	for _, stage := range []string{"all", ""} {
		got, remove, err = Build(verificationAnswer, service, Options{Zone: zone, Env: env, Stage: stage, Replaces: "Exmail"})
		if err != nil {
			t.Fatal(err)
		}
		if keys := keysOf(got); strings.Join(keys, ",") != "verification_txt,verification_mx,mx,autodiscover,spf" {
			t.Errorf("stage %q keys = %v", stage, keys)
		}
		requireRecords(t, got[:2], []Record{vTXT, vMX})
		if len(remove) != 3 {
			t.Errorf("stage %q: %d removals, want 3", stage, len(remove))
		}
	}

	// A verification answer missing the MX alternative still gives the TXT.
	got, _, err = Build(verificationAnswer[1:], nil, Options{Zone: zone, Env: env, Stage: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(got); strings.Join(keys, ",") != "verification_txt,mx,autodiscover,spf" {
		t.Errorf("keys = %v", keys)
	}
}

func keysOf(rs []Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key)
	}
	return out
}

func TestBuildExmailRemovals(t *testing.T) {
	want := []Record{
		{Key: "exmail_mx1", Name: "@", FQDN: "contoso.com", Type: "MX", Value: "mxbiz1.qq.com", Priority: 5, TTL: 600, Purpose: "mail"},
		{Key: "exmail_mx2", Name: "@", FQDN: "contoso.com", Type: "MX", Value: "mxbiz2.qq.com", Priority: 10, TTL: 600, Purpose: "mail"},
		{Key: "exmail_spf", Name: "@", FQDN: "contoso.com", Type: "TXT", Value: "v=spf1 include:spf.mail.qq.com ~all", TTL: 600, Purpose: "spf"},
	}
	// Keeping spf.mail.qq.com merges it into the new SPF; the old record is still removed.
	for _, keep := range [][]string{nil, {"spf.mail.qq.com"}} {
		got, remove, err := Build(nil, nil, Options{Zone: zone, Env: mustEnv(t, cloud.China), Stage: "cutover", Replaces: "exmail", KeepSPFIncludes: keep})
		if err != nil {
			t.Fatal(err)
		}
		requireRecords(t, remove, want)
		for _, r := range got {
			if strings.Contains(r.Value, "qq.com") && r.Key != "spf" {
				t.Errorf("new record %+v still points at Exmail", r)
			}
		}
	}
	_, remove, err := Build(nil, nil, Options{Zone: zone, Stage: "cutover"})
	if err != nil || remove != nil {
		t.Errorf("no Replaces: remove = %+v, err = %v", remove, err)
	}
}

func TestBuildKeepSPFIncludes(t *testing.T) {
	cases := []struct {
		keep    []string
		service []ServiceRecord
		want    string
		wantErr string
	}{
		{keep: []string{"spf.mail.qq.com"}, want: "v=spf1 include:spf.protection.outlook.com include:spf.mail.qq.com -all"},
		{
			keep: []string{"_spf.google.com", "include:spf.mail.qq.com", " SPF.MAIL.QQ.COM. ", "spf.protection.outlook.com", ""},
			want: "v=spf1 include:spf.protection.outlook.com include:_spf.google.com include:spf.mail.qq.com -all",
		},
		{
			// Graph's SPF text is the source of Microsoft's include; it comes first.
			keep:    []string{"spf.mail.qq.com"},
			service: []ServiceRecord{{RecordType: "Txt", Label: zone, SupportedService: "Email", Text: "v=spf1 include: spf.protection.outlook.com ~all"}},
			want:    "v=spf1 include:spf.protection.outlook.com include:spf.mail.qq.com -all",
		},
		{keep: []string{"not a host"}, wantErr: "invalid SPF include"},
		{keep: []string{"ip4:1.2.3.4"}, wantErr: "invalid SPF include"},
		{keep: manyIncludes(9), want: "v=spf1 include:spf.protection.outlook.com " + includeList(9) + " -all"},
		{keep: manyIncludes(10), wantErr: "at most 10"},
	}
	for i, tc := range cases {
		got, _, err := Build(nil, tc.service, Options{Zone: zone, Stage: "cutover", KeepSPFIncludes: tc.keep})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("case %d: err = %v, want %q", i, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var spf []Record
		for _, r := range got {
			if r.Type == "TXT" {
				spf = append(spf, r)
			}
		}
		if len(spf) != 1 || spf[0].Key != "spf" || spf[0].Value != tc.want {
			t.Errorf("case %d: TXT records = %+v, want one spf %q", i, spf, tc.want)
		}
	}
}

func manyIncludes(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("spf%d.example.net", i))
	}
	return out
}

func includeList(n int) string {
	var parts []string
	for _, h := range manyIncludes(n) {
		parts = append(parts, "include:"+h)
	}
	return strings.Join(parts, " ")
}

// teamsIntuneAnswer is Graph's answer for Email, Teams and Intune in the worldwide cloud, with
// both SRV spellings.
func teamsIntuneAnswer() []ServiceRecord {
	return append(docsAnswer("contoso-com.mail.protection.outlook.com", "autodiscover.outlook.com", "spf.protection.outlook.com"),
		ServiceRecord{RecordType: "CName", Label: "sip.contoso.com", SupportedService: "OfficeCommunicationsOnline", TTL: 3600, CanonicalName: "sipdir.online.lync.com"},
		ServiceRecord{RecordType: "CName", Label: "lyncdiscover.contoso.com", SupportedService: "OfficeCommunicationsOnline", TTL: 3600, CanonicalName: "webdir.online.lync.com"},
		ServiceRecord{RecordType: "Srv", Label: "contoso.com", SupportedService: "OfficeCommunicationsOnline", TTL: 3600,
			NameTarget: "sipdir.online.lync.com", Priority: 100, Weight: 1, Port: 443, Service: "sip", Protocol: "TLS"},
		ServiceRecord{RecordType: "Srv", Label: "_sipfederationtls._tcp.contoso.com", SupportedService: "OfficeCommunicationsOnline", TTL: 3600,
			NameTarget: "sipfed.online.lync.com.", Priority: 100, Weight: 1, Port: 5061, Service: "_sipfederationtls", Protocol: "_tcp"},
		ServiceRecord{RecordType: "CName", Label: "enterpriseregistration.contoso.com", SupportedService: "Intune", TTL: 3600, CanonicalName: "enterpriseregistration.windows.net"},
		ServiceRecord{RecordType: "CName", Label: "enterpriseenrollment", SupportedService: "Intune", TTL: 3600, CanonicalName: "enterpriseenrollment.manage.microsoft.com"},
	)
}

func TestBuildTeamsAndIntune(t *testing.T) {
	want := []Record{
		{Key: "sip", Name: "sip", FQDN: "sip.contoso.com", Type: "CNAME", Value: "sipdir.online.lync.com", TTL: 3600, Purpose: "teams", SupportedService: "OfficeCommunicationsOnline"},
		{Key: "lyncdiscover", Name: "lyncdiscover", FQDN: "lyncdiscover.contoso.com", Type: "CNAME", Value: "webdir.online.lync.com", TTL: 3600, Purpose: "teams", SupportedService: "OfficeCommunicationsOnline"},
		{Key: "sip_tls_srv", Name: "_sip._tls", FQDN: "_sip._tls.contoso.com", Type: "SRV", Value: "sipdir.online.lync.com", Priority: 100, Weight: 1, Port: 443,
			Service: "_sip", Protocol: "_tls", TTL: 3600, Purpose: "teams", SupportedService: "OfficeCommunicationsOnline"},
		{Key: "sipfederationtls_tcp_srv", Name: "_sipfederationtls._tcp", FQDN: "_sipfederationtls._tcp.contoso.com", Type: "SRV", Value: "sipfed.online.lync.com", Priority: 100, Weight: 1, Port: 5061,
			Service: "_sipfederationtls", Protocol: "_tcp", TTL: 3600, Purpose: "teams", SupportedService: "OfficeCommunicationsOnline"},
		{Key: "enterpriseregistration", Name: "enterpriseregistration", FQDN: "enterpriseregistration.contoso.com", Type: "CNAME", Value: "enterpriseregistration.windows.net", TTL: 3600, Purpose: "mdm", SupportedService: "Intune"},
		{Key: "enterpriseenrollment", Name: "enterpriseenrollment", FQDN: "enterpriseenrollment.contoso.com", Type: "CNAME", Value: "enterpriseenrollment.manage.microsoft.com", TTL: 3600, Purpose: "mdm", SupportedService: "Intune"},
	}
	services := []string{"email", "OfficeCommunicationsOnline", "INTUNE"}
	for name, answer := range map[string][]ServiceRecord{"graph": teamsIntuneAnswer(), "empty (table fallback)": nil} {
		got, _, err := Build(nil, answer, Options{Zone: zone, Stage: "cutover", Services: services})
		if err != nil {
			t.Fatal(err)
		}
		if keys := keysOf(got[:3]); strings.Join(keys, ",") != "mx,autodiscover,spf" {
			t.Errorf("%s: first keys = %v", name, keys)
		}
		t.Run(name, func(t *testing.T) { requireRecords(t, got[3:], want) })
	}

	// Default Services: Email only.
	got, _, err := Build(nil, teamsIntuneAnswer(), Options{Zone: zone, Stage: "cutover"})
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(got); strings.Join(keys, ",") != "mx,autodiscover,spf" {
		t.Errorf("default services keys = %v", keys)
	}
	// Teams only: no Email records, no SPF.
	got, _, err = Build(nil, teamsIntuneAnswer(), Options{Zone: zone, Stage: "cutover", Services: []string{"OfficeCommunicationsOnline"}})
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(got); strings.Join(keys, ",") != "sip,lyncdiscover,sip_tls_srv,sipfederationtls_tcp_srv" {
		t.Errorf("teams-only keys = %v", keys)
	}
	// Graph's Teams answer wins over the table: a federation-only answer is not completed.
	fedOnly := teamsIntuneAnswer()[6:7]
	got, _, err = Build(nil, fedOnly, Options{Zone: zone, Stage: "cutover", Services: []string{"OfficeCommunicationsOnline"}})
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(got); strings.Join(keys, ",") != "sipfederationtls_tcp_srv" {
		t.Errorf("federation-only keys = %v", keys)
	}
	// China: Teams from the 21Vianet table; no Intune values are known there.
	got, _, err = Build(nil, nil, Options{Zone: zone, Env: mustEnv(t, cloud.China), Stage: "cutover", Services: []string{"OfficeCommunicationsOnline", "Intune"}})
	if err != nil {
		t.Fatal(err)
	}
	wantChina := map[string]string{"msoid": "clientconfig.partner.microsoftonline-p.net.cn", "sip": "sipdir.online.partner.lync.cn",
		"lyncdiscover": "webdir.online.partner.lync.cn", "sip_tls_srv": "sipdir.online.partner.lync.cn", "sipfederationtls_tcp_srv": "sipfed.online.partner.lync.cn"}
	if len(got) != len(wantChina) {
		t.Errorf("china keys = %v", keysOf(got))
	}
	for _, r := range got {
		if wantChina[r.Key] != r.Value {
			t.Errorf("china %s = %q, want %q", r.Key, r.Value, wantChina[r.Key])
		}
	}
}

func TestBuildKeysStableAndDeduplicated(t *testing.T) {
	answer := append(teamsIntuneAnswer(),
		ServiceRecord{RecordType: "Mx", Label: "contoso.com", SupportedService: "Email", MailExchange: "backup.mail.protection.outlook.com", Preference: 10},
		ServiceRecord{RecordType: "Txt", Label: "contoso.com", SupportedService: "Email", Text: "google-site-verification=abc"},
		ServiceRecord{RecordType: "Txt", Label: "contoso.com", SupportedService: "Email", Text: "apple-domain-verification=xyz"},
		ServiceRecord{RecordType: "CName", Label: "selector1._domainkey.contoso.com", SupportedService: "Email", CanonicalName: "selector1-contoso-com._domainkey.contoso.onmicrosoft.com"},
		ServiceRecord{RecordType: "CName", Label: "selector1._domainkey", SupportedService: "Email", CanonicalName: "selector1-contoso-com._domainkey.contoso.onmicrosoft.com"}, // duplicate
		ServiceRecord{RecordType: "Srv", Label: "contoso.com", SupportedService: "Email", NameTarget: "x.example.net", Priority: 1, Weight: 2, Port: 3, Service: "_Autodiscover", Protocol: "TCP"},
	)
	opts := Options{Zone: zone, Stage: "all", Services: []string{"Email", "OfficeCommunicationsOnline", "Intune"}}
	first, _, err := Build(verificationAnswer, answer, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := "verification_txt,verification_mx,mx,autodiscover,spf,sip,lyncdiscover,sip_tls_srv,sipfederationtls_tcp_srv," +
		"enterpriseregistration,enterpriseenrollment,cname_selector1_domainkey,mx_2,srv_autodiscover_tcp,txt,txt_2"
	if got := strings.Join(keysOf(first), ","); got != wantKeys {
		t.Fatalf("keys = %s\nwant   %s", got, wantKeys)
	}
	byKey := map[string]Record{}
	for _, r := range first {
		byKey[r.Key] = r
	}
	if r := byKey["mx"]; r.Value != "contoso-com.mail.protection.outlook.com" {
		t.Errorf("mx = %+v; the lowest preference must hold the well-known key", r)
	}
	if r := byKey["mx_2"]; r.Value != "backup.mail.protection.outlook.com" || r.Priority != 10 || r.Purpose != "mail" {
		t.Errorf("mx_2 = %+v", r)
	}
	if r := byKey["txt"]; r.Value != "apple-domain-verification=xyz" || r.Purpose != "other" {
		t.Errorf("txt = %+v", r)
	}
	if r := byKey["srv_autodiscover_tcp"]; r.Name != "_autodiscover._tcp" || r.Service != "_autodiscover" || r.Protocol != "_tcp" {
		t.Errorf("srv = %+v", r)
	}

	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 50; i++ {
		a := append([]ServiceRecord(nil), answer...)
		v := append([]ServiceRecord(nil), verificationAnswer...)
		rng.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
		rng.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
		got, _, err := Build(v, a, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("permutation %d gave a different answer:\n%+v\nwant\n%+v", i, got, first)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	for _, z := range []string{"", "contoso", "-bad.com", "bad-.com", "a..com", ".contoso.com", "con toso.com", "con_toso.com",
		"例子.com", "1.2.3.4", strings.Repeat("a", 64) + ".com", strings.Repeat("abcdefghi.", 26) + "com"} {
		if _, _, err := Build(nil, nil, Options{Zone: z, Stage: "cutover"}); err == nil || !strings.Contains(err.Error(), "invalid zone name") {
			t.Errorf("zone %q: err = %v", z, err)
		}
	}
	for _, z := range []string{"Contoso.COM.", "xn--fiqs8s.cn", "mail.contoso.co.uk"} {
		got, _, err := Build(nil, nil, Options{Zone: z, Stage: "cutover"})
		if err != nil {
			t.Errorf("zone %q: %v", z, err)
			continue
		}
		if want := strings.TrimSuffix(strings.ToLower(z), "."); got[0].FQDN != want {
			t.Errorf("zone %q: FQDN %q, want %q", z, got[0].FQDN, want)
		}
	}
	if _, _, err := Build(nil, nil, Options{Zone: zone, Stage: "go-live"}); err == nil || !strings.Contains(err.Error(), "unknown stage") {
		t.Errorf("unknown stage: err = %v", err)
	}
	if _, _, err := Build(nil, nil, Options{Zone: zone, Stage: "cutover", Replaces: "gmail"}); err == nil || !strings.Contains(err.Error(), "replaces") {
		t.Errorf("unknown replaces: err = %v", err)
	}
}

func TestRelativeNameAndSRVParts(t *testing.T) {
	for in, want := range map[string]string{
		"contoso.com": "@", "Contoso.com.": "@", "": "@", "@": "@", "autodiscover.contoso.com.": "autodiscover",
		"autodiscover": "autodiscover", "_sip._tls.contoso.com": "_sip._tls", "a.b.contoso.com": "a.b", "notcontoso.com": "notcontoso.com",
	} {
		if got := relativeName(in, zone); got != want {
			t.Errorf("relativeName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"_sip": "_sip", "sip": "_sip", "TLS": "_tls", "_TCP": "_tcp", "": ""} {
		if got := srvPart(in); got != want {
			t.Errorf("srvPart(%q) = %q, want %q", in, got, want)
		}
	}
}
