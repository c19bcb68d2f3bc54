package dns

import (
	"fmt"
	"net/mail"
	"strings"
)

// Keys and purposes of the mail-authentication records.
const (
	KeyDKIMSelector1 = "dkim_selector1"
	KeyDKIMSelector2 = "dkim_selector2"
	KeyDMARC         = "dmarc"
	PurposeDKIM      = "dkim"
	PurposeDMARC     = "dmarc"
)

// DMARC policies, in the order Microsoft recommends rolling them out: none (monitor, with
// reports), then quarantine, then reject
// (https://learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure).
const (
	DMARCNone       = "none"
	DMARCQuarantine = "quarantine"
	DMARCReject     = "reject"
)

// DKIM are the selector CNAME targets of a domain's DKIM signing configuration, exactly as
// Exchange Online's Get-DkimSigningConfig returns them (Selector1CNAME, Selector2CNAME). They are
// never derived from the domain name: their format changed in May 2025
// (https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure).
type DKIM struct {
	Selector1CNAME string
	Selector2CNAME string
}

// DMARC is the domain's DMARC policy record.
type DMARC struct {
	// Policy is DMARCNone, DMARCQuarantine or DMARCReject.
	Policy string
	// RUA are the addresses aggregate reports go to (written as mailto: URIs).
	RUA []string
	// Pct is the share of failing mail the policy applies to (1-100); 0 leaves it out (100).
	Pct int
}

// DKIMRecords are the two selector CNAMEs (selector1._domainkey, selector2._domainkey) of zone.
// A selector the service did not return is left out.
func DKIMRecords(zone string, d DKIM) []Record {
	zone = normalizeHost(zone)
	var out []Record
	for i, target := range []string{d.Selector1CNAME, d.Selector2CNAME} {
		target = normalizeHost(target)
		if target == "" {
			continue
		}
		name := fmt.Sprintf("selector%d._domainkey", i+1)
		out = append(out, Record{Key: fmt.Sprintf("dkim_selector%d", i+1), Name: name, FQDN: fqdn(name, zone), Type: "CNAME",
			Value: target, TTL: DefaultTTL, Purpose: PurposeDKIM, SupportedService: ServiceEmail})
	}
	return out
}

// DMARCValue renders the TXT text, e.g. "v=DMARC1; p=none; rua=mailto:dmarc@contoso.com".
func DMARCValue(d DMARC) (string, error) {
	p := strings.ToLower(strings.TrimSpace(d.Policy))
	if p == "" {
		p = DMARCNone
	}
	switch p {
	case DMARCNone, DMARCQuarantine, DMARCReject:
	default:
		return "", fmt.Errorf("unknown DMARC policy %q: use %s, %s or %s", d.Policy, DMARCNone, DMARCQuarantine, DMARCReject)
	}
	if d.Pct < 0 || d.Pct > 100 {
		return "", fmt.Errorf("DMARC pct %d is not between 1 and 100", d.Pct)
	}
	parts := []string{"v=DMARC1", "p=" + p}
	if d.Pct > 0 && d.Pct < 100 {
		parts = append(parts, fmt.Sprintf("pct=%d", d.Pct))
	}
	if len(d.RUA) > 0 {
		uris := make([]string, 0, len(d.RUA))
		for _, a := range d.RUA {
			a = strings.TrimPrefix(strings.TrimSpace(a), "mailto:")
			if addr, err := mail.ParseAddress(a); err != nil || addr.Address != a {
				return "", fmt.Errorf("DMARC report address %q is not an email address", a)
			}
			uris = append(uris, "mailto:"+a)
		}
		parts = append(parts, "rua="+strings.Join(uris, ","))
	}
	return strings.Join(parts, "; "), nil
}

// DMARCRecord is the TXT record at _dmarc.
func DMARCRecord(zone string, d DMARC) (Record, error) {
	v, err := DMARCValue(d)
	if err != nil {
		return Record{}, err
	}
	zone = normalizeHost(zone)
	return Record{Key: KeyDMARC, Name: "_dmarc", FQDN: fqdn("_dmarc", zone), Type: "TXT", Value: v, TTL: DefaultTTL,
		Purpose: PurposeDMARC, SupportedService: ServiceEmail}, nil
}
