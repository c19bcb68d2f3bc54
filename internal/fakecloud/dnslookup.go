package fakecloud

// The fake's DNS: domain-name checks and direct lookups against the dns_server knob's server, with
// miekg/dns (no system resolver, no cache), as Microsoft's verification asks the public DNS. Other
// fake features that read DNS (DKIM CNAMEs, ...) use lookupDNS too.

import (
	"context"
	"fmt"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// normalizeZone checks a domain name given to Graph (POST /domains, seeds) and returns it in lower
// case without a trailing dot: at least two labels of letters, digits and hyphens (an
// internationalised name in its xn-- form), at most 63 characters a label and 253 in all.
func normalizeZone(zone string) (string, error) {
	z := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(zone)), ".")
	if z == "" {
		return "", fmt.Errorf("invalid zone name %q: the name is empty", zone)
	}
	if _, ok := mdns.IsDomainName(z); !ok || len(z) > 253 {
		return "", fmt.Errorf("invalid zone name %q: not a valid DNS name", zone)
	}
	labels := mdns.SplitDomainName(z)
	if len(labels) < 2 {
		return "", fmt.Errorf("invalid zone name %q: a domain added to Microsoft 365 has at least two labels, e.g. contoso.com", zone)
	}
	for _, l := range labels {
		if len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("invalid zone name %q: the label %q is not a valid host name label", zone, l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return "", fmt.Errorf("invalid zone name %q: the label %q may hold only letters, digits and hyphens", zone, l)
			}
		}
	}
	return z, nil
}

// dnsAnswer is what one lookup found: the answer section (empty for NXDOMAIN) for the question name.
type dnsAnswer struct {
	qname string
	rrs   []mdns.RR
}

// lookupDNS asks server ("host:port") for name/qtype over UDP, again over TCP when the answer is
// truncated. NXDOMAIN is an empty answer; other failure codes are errors.
func lookupDNS(ctx context.Context, server, name string, qtype uint16, timeout time.Duration) (dnsAnswer, error) {
	typ := mdns.TypeToString[qtype]
	qname := mdns.Fqdn(strings.TrimSpace(name))
	if _, ok := mdns.IsDomainName(qname); !ok || strings.TrimSpace(name) == "" {
		return dnsAnswer{}, fmt.Errorf("DNS lookup of %s %q: not a valid domain name", typ, name)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m := new(mdns.Msg)
	m.SetQuestion(qname, qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	var resp *mdns.Msg
	var err error
	for _, network := range []string{"udp", "tcp"} {
		c := &mdns.Client{Net: network, Timeout: timeout}
		resp, _, err = c.ExchangeContext(ctx, m, server)
		if err != nil || !resp.Truncated {
			break
		}
	}
	if err != nil {
		return dnsAnswer{}, fmt.Errorf("DNS lookup of %s %s at %s: %w", typ, qname, server, err)
	}
	switch resp.Rcode {
	case mdns.RcodeSuccess:
		return dnsAnswer{qname: qname, rrs: resp.Answer}, nil
	case mdns.RcodeNameError:
		return dnsAnswer{qname: qname}, nil
	}
	return dnsAnswer{}, fmt.Errorf("DNS lookup of %s %s at %s: the server answered %s", typ, qname, server,
		mdns.RcodeToString[resp.Rcode])
}

// owners returns qname and the names its CNAME chain in the answer leads to (lower case, FQDN).
func (a dnsAnswer) owners() map[string]bool {
	names := map[string]bool{strings.ToLower(a.qname): true}
	for changed := true; changed; {
		changed = false
		for _, rr := range a.rrs {
			if c, ok := rr.(*mdns.CNAME); ok && names[strings.ToLower(c.Hdr.Name)] && !names[strings.ToLower(c.Target)] {
				names[strings.ToLower(c.Target)] = true
				changed = true
			}
		}
	}
	return names
}

// lookupTXT returns the TXT records of name, each with its character-strings joined (following
// CNAMEs in the answer).
func lookupTXT(ctx context.Context, server, name string, timeout time.Duration) ([]string, error) {
	a, err := lookupDNS(ctx, server, name, mdns.TypeTXT, timeout)
	if err != nil {
		return nil, err
	}
	owners := a.owners()
	out := []string{}
	for _, rr := range a.rrs {
		if t, ok := rr.(*mdns.TXT); ok && owners[strings.ToLower(t.Hdr.Name)] {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// lookupMX returns the MX hosts of name (lower case, without the trailing dot).
func lookupMX(ctx context.Context, server, name string, timeout time.Duration) ([]string, error) {
	a, err := lookupDNS(ctx, server, name, mdns.TypeMX, timeout)
	if err != nil {
		return nil, err
	}
	owners := a.owners()
	var out []string
	for _, rr := range a.rrs {
		if mx, ok := rr.(*mdns.MX); ok && owners[strings.ToLower(mx.Hdr.Name)] {
			out = append(out, strings.TrimSuffix(strings.ToLower(mx.Mx), "."))
		}
	}
	return out, nil
}
