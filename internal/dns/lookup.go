package dns

// This file is the one part of the package that does I/O: it asks a DNS server what it answers
// now, so that m365_domain_verification can tell the admin whether the records have propagated.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// DefaultLookupTimeout bounds one lookup (the UDP query and a TCP retry together) when
// Resolver.Timeout is zero.
const DefaultLookupTimeout = 5 * time.Second

// lookupUDPSize is the EDNS0 buffer size announced over UDP (the DNS Flag Day 2020 value); a
// larger answer comes back truncated and is asked again over TCP.
const lookupUDPSize = 1232

// resolvConfPath is where Resolver finds its server when none is given; tests point it elsewhere.
var resolvConfPath = "/etc/resolv.conf"

// MX is one mail exchanger: Host is lowercase without the trailing dot.
type MX struct {
	Host       string
	Preference int
}

// Resolver asks one DNS server directly (no system resolver, no cache).
type Resolver struct {
	// Server is "host:port" ("host" alone means port 53). Empty means the first nameserver of
	// /etc/resolv.conf; when there is none the lookup fails; there is deliberately no public
	// fallback such as 8.8.8.8.
	Server string
	// Timeout bounds each lookup, UDP and TCP retry together; zero means DefaultLookupTimeout.
	// A context deadline that comes sooner wins.
	Timeout time.Duration
}

// LookupTXT returns the TXT records of name, one string per record with its character-strings
// joined (a DKIM key or long SPF record split in 255-byte pieces comes back whole), sorted. A
// name that does not exist (NXDOMAIN) or has no TXT record gives an empty slice and no error.
// CNAMEs in the answer are followed.
func (r Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	qname, rrs, server, err := r.query(ctx, name, mdns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, rr := range answersFor(qname, mdns.TypeTXT, rrs) {
		txt, ok := rr.(*mdns.TXT)
		if !ok {
			continue
		}
		var b strings.Builder
		for _, part := range txt.Txt {
			raw, err := unescapeTXT(part)
			if err != nil {
				return nil, fmt.Errorf("DNS lookup of TXT %s at %s: the answer has a malformed TXT string: %w", qname, server, err)
			}
			b.WriteString(raw)
		}
		out = append(out, b.String())
	}
	sort.Strings(out)
	return out, nil
}

// LookupMX returns the MX records of name, sorted by preference, then host. NXDOMAIN or no MX
// gives an empty slice and no error.
func (r Resolver) LookupMX(ctx context.Context, name string) ([]MX, error) {
	qname, rrs, _, err := r.query(ctx, name, mdns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := []MX{}
	for _, rr := range answersFor(qname, mdns.TypeMX, rrs) {
		mx, ok := rr.(*mdns.MX)
		if !ok {
			continue
		}
		out = append(out, MX{Host: normalizeHost(mx.Mx), Preference: int(mx.Preference)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Preference != out[j].Preference {
			return out[i].Preference < out[j].Preference
		}
		return out[i].Host < out[j].Host
	})
	return out, nil
}

// LookupCNAME returns the target of name's CNAME record, lowercase without the trailing dot
// (one hop: for autodiscover.contoso.com that is autodiscover.outlook.com). A name without a
// CNAME, or that does not exist, gives "" and no error.
func (r Resolver) LookupCNAME(ctx context.Context, name string) (string, error) {
	qname, rrs, _, err := r.query(ctx, name, mdns.TypeCNAME)
	if err != nil {
		return "", err
	}
	for _, rr := range rrs {
		if c, ok := rr.(*mdns.CNAME); ok && strings.EqualFold(c.Hdr.Name, qname) {
			return normalizeHost(c.Target), nil
		}
	}
	return "", nil
}

// server returns the "host:port" to ask.
func (r Resolver) server() (string, error) {
	s := strings.TrimSpace(r.Server)
	if s != "" {
		if _, _, err := net.SplitHostPort(s); err == nil {
			return s, nil
		}
		if host := strings.Trim(s, "[]"); net.ParseIP(host) != nil || !strings.Contains(host, ":") {
			return net.JoinHostPort(host, "53"), nil
		}
		return "", fmt.Errorf("invalid DNS server %q: give host:port, e.g. 192.0.2.53:53 or [2001:db8::53]:53", r.Server)
	}
	cfg, err := mdns.ClientConfigFromFile(resolvConfPath)
	if err != nil {
		return "", fmt.Errorf("no DNS server to ask: none was configured and %s could not be read (%v); set the DNS server explicitly", resolvConfPath, err)
	}
	if len(cfg.Servers) == 0 {
		return "", fmt.Errorf("no DNS server to ask: none was configured and %s lists no nameserver; set the DNS server explicitly", resolvConfPath)
	}
	return net.JoinHostPort(cfg.Servers[0], cfg.Port), nil
}

// query asks for name/qtype over UDP, retrying over TCP when the answer is truncated. It returns
// the question name (FQDN), the answer section (empty on NXDOMAIN) and the server asked.
func (r Resolver) query(ctx context.Context, name string, qtype uint16) (string, []mdns.RR, string, error) {
	typ := mdns.TypeToString[qtype]
	qname := mdns.Fqdn(strings.TrimSpace(name))
	if strings.TrimSpace(name) == "" {
		return "", nil, "", fmt.Errorf("DNS lookup of %s: the name is empty", typ)
	}
	if _, ok := mdns.IsDomainName(qname); !ok {
		return "", nil, "", fmt.Errorf("DNS lookup of %s %q: not a valid domain name", typ, name)
	}
	server, err := r.server()
	if err != nil {
		return "", nil, "", fmt.Errorf("DNS lookup of %s %s: %w", typ, qname, err)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultLookupTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	m := new(mdns.Msg)
	m.SetQuestion(qname, qtype)
	m.RecursionDesired = true
	m.SetEdns0(lookupUDPSize, false)

	resp, err := exchange(ctx, "udp", server, m, timeout)
	if err == nil && resp.Truncated {
		resp, err = exchange(ctx, "tcp", server, m, timeout)
	}
	if err != nil {
		return "", nil, server, fmt.Errorf("DNS lookup of %s %s at %s: %w", typ, qname, server, err)
	}
	switch resp.Rcode {
	case mdns.RcodeSuccess:
		return qname, resp.Answer, server, nil
	case mdns.RcodeNameError:
		return qname, nil, server, nil
	default:
		rc := mdns.RcodeToString[resp.Rcode]
		if rc == "" {
			rc = fmt.Sprintf("rcode %d", resp.Rcode)
		}
		return "", nil, server, fmt.Errorf("DNS lookup of %s %s at %s: the server answered %s; check that it serves or can resolve this domain, or ask another server", typ, qname, server, rc)
	}
}

// exchange sends m over network and reads the answer, giving up when ctx ends (deadline or
// cancellation).
func exchange(ctx context.Context, network, server string, m *mdns.Msg, timeout time.Duration) (*mdns.Msg, error) {
	c := &mdns.Client{Net: network, Timeout: timeout}
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, describe(ctx, network, timeout, err)
	}
	defer func() { _ = conn.Close() }() // a close error cannot change the answer or the error already got
	// ExchangeWithConnContext honours the deadline but not a cancellation: unblock it by hand.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	resp, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	if err != nil {
		return nil, describe(ctx, network, timeout, err)
	}
	return resp, nil
}

// describe turns a transport error into one that says what happened and, for a timeout or a
// cancellation, matches context.DeadlineExceeded or context.Canceled with errors.Is.
func describe(ctx context.Context, network string, timeout time.Duration, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("no answer over %s in time (lookup timeout %s or the caller's deadline): %w", network, timeout, cerr)
		}
		return fmt.Errorf("stopped while waiting for the answer over %s: %w", network, cerr)
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return fmt.Errorf("no answer over %s in time (lookup timeout %s or the caller's deadline): %w", network, timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("over %s: %w", network, err)
}

// answersFor returns the records of type qtype owned by qname or by a name qname leads to
// through the CNAMEs of the answer.
func answersFor(qname string, qtype uint16, rrs []mdns.RR) []mdns.RR {
	names := map[string]bool{strings.ToLower(qname): true}
	for changed := true; changed; {
		changed = false
		for _, rr := range rrs {
			c, ok := rr.(*mdns.CNAME)
			if !ok || !names[strings.ToLower(c.Hdr.Name)] {
				continue
			}
			if t := strings.ToLower(c.Target); !names[t] {
				names[t] = true
				changed = true
			}
		}
	}
	var out []mdns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype && names[strings.ToLower(rr.Header().Name)] {
			out = append(out, rr)
		}
	}
	return out
}

// unescapeTXT undoes the presentation escaping github.com/miekg/dns applies to TXT strings
// ("\"", "\\" and "\DDD" for bytes outside printable ASCII), giving back the raw bytes.
func unescapeTXT(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch {
		case i == len(s):
			return "", errors.New("a trailing backslash")
		case i+2 < len(s) && isDecimal(s[i]) && isDecimal(s[i+1]) && isDecimal(s[i+2]):
			v := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
			if v > 255 {
				return "", fmt.Errorf("the escape \\%s is over 255", s[i:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

func isDecimal(c byte) bool { return c >= '0' && c <= '9' }
