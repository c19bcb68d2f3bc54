package dns

import (
	"bytes"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
)

// txtBytes returns the raw character-strings of a TXT record as they go on the wire.
func txtBytes(t *testing.T, txt *mdns.TXT) [][]byte {
	t.Helper()
	rr := &mdns.TXT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeTXT, Class: mdns.ClassINET}, Txt: txt.Txt}
	buf := make([]byte, 65535)
	off, err := mdns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	rdata := buf[11:off] // root name (1) + type, class, ttl, rdlength (10)
	var out [][]byte
	for len(rdata) > 0 {
		n := int(rdata[0])
		out = append(out, rdata[1:1+n])
		rdata = rdata[1+n:]
	}
	return out
}

func TestZoneFileRoundTrip(t *testing.T) {
	for _, envName := range []string{cloud.Global, cloud.China, cloud.USGovernment} {
		t.Run(envName, func(t *testing.T) {
			records, remove, err := Build(verificationAnswer, nil, Options{Zone: zone, Env: mustEnv(t, envName), Stage: "all", Replaces: "exmail",
				Services: []string{"Email", "OfficeCommunicationsOnline", "Intune"}, KeepSPFIncludes: []string{"spf.mail.qq.com"},
				InitialDomain: "contoso.onmicrosoft.us"})
			if err != nil {
				t.Fatal(err)
			}
			long := strings.Repeat("0123456789", 60) + ` with "quotes", a \backslash; and 中文`
			records = append(records, Record{Key: "txt_long", Name: "long", FQDN: "long.contoso.com", Type: "TXT", Value: long, TTL: 300, Purpose: "other"})
			records = append(records, remove...)
			checkZoneRoundTrip(t, records)
		})
	}
}

func checkZoneRoundTrip(t *testing.T, records []Record) {
	t.Helper()
	text := ZoneFile("Contoso.com.", records)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "; ") || !strings.Contains(lines[0], "contoso.com") {
		t.Errorf("no comment header: %q", lines[0])
	}
	if lines[2] != "$ORIGIN contoso.com." {
		t.Errorf("line 3 = %q, want $ORIGIN", lines[2])
	}
	if got := len(lines) - 3; got != len(records) {
		t.Fatalf("%d record lines for %d records:\n%s", got, len(records), text)
	}

	zp := mdns.NewZoneParser(strings.NewReader(text), "", "")
	var rrs []mdns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("miekg/dns cannot parse the zone text: %v\n%s", err, text)
	}
	if len(rrs) != len(records) {
		t.Fatalf("parsed %d RRs, want %d", len(rrs), len(records))
	}
	for i, r := range records {
		rr := rrs[i]
		h := rr.Header()
		if h.Name != r.FQDN+"." || h.Ttl != uint32(r.TTL) || h.Class != mdns.ClassINET || mdns.TypeToString[h.Rrtype] != r.Type {
			t.Errorf("%s: header %s %d %d %s, want %s. %d IN %s (line %q)", r.Key, h.Name, h.Ttl, h.Class, mdns.TypeToString[h.Rrtype],
				r.FQDN, r.TTL, r.Type, lines[i+3])
			continue
		}
		switch v := rr.(type) {
		case *mdns.MX:
			if int(v.Preference) != r.Priority || v.Mx != r.Value+"." {
				t.Errorf("%s: MX %d %s, want %d %s.", r.Key, v.Preference, v.Mx, r.Priority, r.Value)
			}
		case *mdns.CNAME:
			if v.Target != r.Value+"." {
				t.Errorf("%s: CNAME %s, want %s.", r.Key, v.Target, r.Value)
			}
		case *mdns.SRV:
			if int(v.Priority) != r.Priority || int(v.Weight) != r.Weight || int(v.Port) != r.Port || v.Target != r.Value+"." {
				t.Errorf("%s: SRV %d %d %d %s, want %d %d %d %s.", r.Key, v.Priority, v.Weight, v.Port, v.Target, r.Priority, r.Weight, r.Port, r.Value)
			}
		case *mdns.TXT:
			parts := txtBytes(t, v)
			for _, p := range parts {
				if len(p) > 255 {
					t.Errorf("%s: TXT string of %d bytes", r.Key, len(p))
				}
			}
			if joined := bytes.Join(parts, nil); string(joined) != r.Value {
				t.Errorf("%s: TXT %q, want %q", r.Key, joined, r.Value)
			}
			if want := (len(r.Value) + 254) / 255; len(parts) != want {
				t.Errorf("%s: %d TXT strings, want %d", r.Key, len(parts), want)
			}
		default:
			t.Errorf("%s: unexpected RR %T", r.Key, rr)
		}
	}
}

func TestZoneFileContent(t *testing.T) {
	records, _, err := Build(nil, nil, Options{Zone: zone, Stage: "cutover"})
	if err != nil {
		t.Fatal(err)
	}
	text := ZoneFile(zone, records)
	for _, want := range []string{
		"@\t3600\tIN\tMX\t0 contoso-com.mail.protection.outlook.com.\t; mx (mail)\n",
		"autodiscover\t3600\tIN\tCNAME\tautodiscover.outlook.com.\t; autodiscover (autodiscover)\n",
		"@\t3600\tIN\tTXT\t\"v=spf1 include:spf.protection.outlook.com -all\"\t; spf (spf)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("zone text lacks %q:\n%s", want, text)
		}
	}
	if got := quoteTXT(""); got != `""` {
		t.Errorf("empty TXT = %s", got)
	}
	if got := quoteTXT(strings.Repeat("a", 256)); got != `"`+strings.Repeat("a", 255)+`" "a"` {
		t.Errorf("256-byte TXT = %s", got)
	}
}
