package dns

import (
	"fmt"
	"strings"
)

// NormalizeZone lowercases a domain name, drops one trailing dot and checks that it is a
// registrable-looking host name: at least two labels of 1–63 letters, digits or hyphens (no
// leading or trailing hyphen), at most 253 characters, and a top-level label that is not all
// digits. Internationalised names must be given in their ASCII (punycode, "xn--") form.
func NormalizeZone(zone string) (string, error) {
	z := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(zone)), ".")
	if err := checkHostName(z, false); err != nil {
		return "", fmt.Errorf("invalid zone name %q: %s", zone, err)
	}
	if !strings.Contains(z, ".") {
		return "", fmt.Errorf("invalid zone name %q: a domain added to Microsoft 365 has at least two labels, e.g. contoso.com", zone)
	}
	return z, nil
}

// checkHostName validates a lowercase host name without a trailing dot. allowUnderscore admits
// underscores, as in SPF include targets such as _spf.google.com.
func checkHostName(name string, allowUnderscore bool) error {
	if name == "" {
		return fmt.Errorf("the name is empty")
	}
	if len(name) > 253 {
		return fmt.Errorf("the name is %d characters long; DNS allows at most 253", len(name))
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return fmt.Errorf("the name has an empty label (two dots in a row, or a leading dot)")
		}
		if len(l) > 63 {
			return fmt.Errorf("the label %q is %d characters long; DNS allows at most 63", l, len(l))
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("the label %q starts or ends with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			case c == '_' && allowUnderscore:
			case c >= 0x80:
				return fmt.Errorf("the name contains non-ASCII characters; give an internationalised name in its punycode (xn--) form")
			default:
				return fmt.Errorf("the label %q contains %q; only letters, digits and hyphens are allowed", l, string(c))
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("the top-level label %q is all digits (an IP address is not a domain)", tld)
	}
	return nil
}

// normalizeHost lowercases a target host and drops spaces and the trailing dot.
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// relativeName turns a Graph label into a name relative to zone: "contoso.com", "contoso.com.",
// "@" and "" become "@"; "autodiscover.contoso.com" and "autodiscover" become "autodiscover".
// Graph's label format (FQDN or relative) is UNCONFIRMED, so both are accepted.
func relativeName(label, zone string) string {
	l := normalizeHost(label)
	switch {
	case l == "" || l == "@" || l == zone:
		return "@"
	case strings.HasSuffix(l, "."+zone):
		return strings.TrimSuffix(l, "."+zone)
	}
	return l
}

// fqdn joins a relative name and the zone, without a trailing dot.
func fqdn(name, zone string) string {
	if name == "@" || name == "" {
		return zone
	}
	return name + "." + zone
}

// srvPart normalises an SRV service or protocol as Graph may send it ("_sip", "sip", "TLS",
// "_tls"; the exact format is UNCONFIRMED) to the owner-name form "_sip", "_tls".
func srvPart(s string) string {
	s = strings.TrimLeft(strings.ToLower(strings.TrimSpace(s)), "_")
	if s == "" {
		return ""
	}
	return "_" + s
}

// keyPart turns a name into a key fragment: lowercase, every run of non-alphanumeric characters
// replaced by one underscore, no leading or trailing underscore ("@" gives "").
func keyPart(s string) string {
	var b strings.Builder
	pendingSep := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(r)
			continue
		}
		pendingSep = true
	}
	return b.String()
}
