package usercsv

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// attr identifies a user attribute.
type attr int

const (
	aUPN attr = iota
	aMailNickname
	aDisplayName
	aGivenName
	aSurname
	aJobTitle
	aDepartment
	aCompanyName
	aEmployeeID
	aOfficeLocation
	aBusinessPhone
	aMobilePhone
	aFaxNumber
	aStreetAddress
	aCity
	aState
	aPostalCode
	aCountry
	aUsageLocation
	aPreferredLanguage
	aOtherMails
	aAliases
	numAttrs
)

// attrInfo describes an attribute: its snake_case name, the Graph property
// and the Graph maximum length in UTF-16 code units (0: none stated).
var attrInfo = [numAttrs]struct {
	name  string
	graph string
	limit int
}{
	aUPN:               {"user_principal_name", "userPrincipalName", 113},
	aMailNickname:      {"mail_nickname", "mailNickname", 64},
	aDisplayName:       {"display_name", "displayName", 256},
	aGivenName:         {"given_name", "givenName", 64},
	aSurname:           {"surname", "surname", 64},
	aJobTitle:          {"job_title", "jobTitle", 128},
	aDepartment:        {"department", "department", 64},
	aCompanyName:       {"company_name", "companyName", 64},
	aEmployeeID:        {"employee_id", "employeeId", 16},
	aOfficeLocation:    {"office_location", "officeLocation", 0},
	aBusinessPhone:     {"business_phone", "businessPhones", 64},
	aMobilePhone:       {"mobile_phone", "mobilePhone", 64},
	aFaxNumber:         {"fax_number", "faxNumber", 0},
	aStreetAddress:     {"street_address", "streetAddress", 1024},
	aCity:              {"city", "city", 128},
	aState:             {"state", "state", 128},
	aPostalCode:        {"postal_code", "postalCode", 40},
	aCountry:           {"country", "country", 128},
	aUsageLocation:     {"usage_location", "usageLocation", 0},
	aPreferredLanguage: {"preferred_language", "preferredLanguage", 0},
	aOtherMails:        {"other_mails", "otherMails", 250}, // per value
	// Email aliases (Exmail 别名), secondary SMTP addresses written through Exchange Online.
	aAliases: {"aliases", "proxyAddresses", 320}, // per value: an SMTP address is at most 320 characters (RFC 5321: 64 + @ + 255)
}

// Limits from Microsoft Graph (https://learn.microsoft.com/graph/api/resources/user) that are not a
// single field length.
const (
	maxUPNLocal       = 64  // characters before the @
	maxUPNDomain      = 48  // characters after the @
	maxOtherMailsVals = 250 // values in otherMails
	// maxAliases: Exchange Online allows 300 proxy addresses per recipient, the primary address
	// and the onmicrosoft routing address included
	// (https://learn.microsoft.com/troubleshoot/exchange/administration/too-many-proxy-addresses-error).
	maxAliases = 298
)

// Attributes returns the snake_case attribute names usable as keys of
// UserOptions.Columns and UserOptions.Defaults, in a fixed order.
func Attributes() []string {
	out := make([]string, numAttrs)
	for a := range numAttrs {
		out[a] = attrInfo[a].name
	}
	return out
}

// attrByName finds an attribute by its snake_case name.
func attrByName(name string) (attr, bool) {
	for a := range numAttrs {
		if attrInfo[a].name == name {
			return a, true
		}
	}
	return 0, false
}

// field returns a pointer to the User field of a (nil for other_mails).
func (u *User) field(a attr) *string {
	switch a {
	case aUPN:
		return &u.UserPrincipalName
	case aMailNickname:
		return &u.MailNickname
	case aDisplayName:
		return &u.DisplayName
	case aGivenName:
		return &u.GivenName
	case aSurname:
		return &u.Surname
	case aJobTitle:
		return &u.JobTitle
	case aDepartment:
		return &u.Department
	case aCompanyName:
		return &u.CompanyName
	case aEmployeeID:
		return &u.EmployeeID
	case aOfficeLocation:
		return &u.OfficeLocation
	case aBusinessPhone:
		return &u.BusinessPhone
	case aMobilePhone:
		return &u.MobilePhone
	case aFaxNumber:
		return &u.FaxNumber
	case aStreetAddress:
		return &u.StreetAddress
	case aCity:
		return &u.City
	case aState:
		return &u.State
	case aPostalCode:
		return &u.PostalCode
	case aCountry:
		return &u.Country
	case aUsageLocation:
		return &u.UsageLocation
	case aPreferredLanguage:
		return &u.PreferredLanguage
	}
	return nil
}

// utf16Len is the length of s in UTF-16 code units, the unit of Graph's
// length limits.
func utf16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// isASCII reports whether s has only ASCII characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// finding is a problem without a position: what is wrong and how to fix it.
type finding struct{ msg, fix string }

// upnLocalChar reports whether c may appear before the @ of a UPN:
// A-Z a-z 0-9 ' . - _ ! # ^ ~.
func upnLocalChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("'.-_!#^~", c) >= 0
}

// checkUPN applies the Entra ID rules for a user principal name.
func checkUPN(upn string) []finding {
	var out []finding
	if n := strings.Count(upn, "@"); n != 1 {
		return append(out, finding{
			fmt.Sprintf("user name %q must contain exactly one @, it has %d", upn, n),
			"write it as alias@domain, e.g. zhang.san@corp.com"})
	}
	at := strings.IndexByte(upn, '@')
	local, domain := upn[:at], upn[at+1:]
	if !isASCII(upn) {
		out = append(out, finding{
			fmt.Sprintf("user name %q contains non-ASCII characters", upn),
			"use a pinyin or Latin alias such as zhang.san@corp.com and keep the Chinese name in the display name"})
	}
	if local == "" {
		out = append(out, finding{fmt.Sprintf("user name %q has nothing before the @", upn),
			"write it as alias@domain"})
	} else {
		var badChars []string
		seen := map[byte]bool{}
		for i := 0; i < len(local); i++ {
			c := local[i]
			if c < utf8.RuneSelf && !upnLocalChar(c) && !seen[c] {
				seen[c] = true
				badChars = append(badChars, fmt.Sprintf("%q", string(c)))
			}
		}
		if len(badChars) > 0 {
			out = append(out, finding{
				fmt.Sprintf("user name %q contains characters that are not allowed before the @: %s", upn, strings.Join(badChars, " ")),
				"use only letters, digits and ' . - _ ! # ^ ~ before the @"})
		}
		switch {
		case strings.HasPrefix(local, "."):
			out = append(out, finding{fmt.Sprintf("user name %q starts with a dot", upn), "remove the leading dot"})
		case strings.HasSuffix(local, "."):
			out = append(out, finding{fmt.Sprintf("user name %q has a dot right before the @", upn), "remove the dot before the @"})
		}
		if strings.Contains(local, "..") {
			out = append(out, finding{fmt.Sprintf("user name %q contains two dots in a row", upn), `replace ".." with a single dot`})
		}
	}
	if !validDomain(domain) {
		out = append(out, finding{fmt.Sprintf("user name %q: %q is not a valid domain name", upn, domain),
			`use a domain of the tenant such as corp.com (or set domain to rewrite every address)`})
	}
	if n := utf16Len(upn); n > attrInfo[aUPN].limit {
		out = append(out, finding{fmt.Sprintf("user name %q is %d characters long; the limit is %d", upn, n, attrInfo[aUPN].limit),
			"shorten the alias"})
	}
	if n := utf16Len(local); n > maxUPNLocal {
		out = append(out, finding{fmt.Sprintf("user name %q has %d characters before the @; the limit is %d", upn, n, maxUPNLocal),
			"shorten the alias"})
	}
	if n := utf16Len(domain); n > maxUPNDomain {
		out = append(out, finding{fmt.Sprintf("user name %q has %d characters after the @; the limit is %d", upn, n, maxUPNDomain),
			"use a shorter domain of the tenant"})
	}
	return out
}

// validDomain checks a DNS domain name: at least two labels of letters,
// digits and inner hyphens, each at most 63 characters.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// checkEmail checks an email address such as an alternate email or the
// EmailAddress of a migration row; the reason does not quote the value.
func checkEmail(addr string) (reason string, ok bool) {
	if n := strings.Count(addr, "@"); n != 1 {
		if n == 0 {
			return "it has no @", false
		}
		return "it has more than one @", false
	}
	if !isASCII(addr) {
		return "it contains non-ASCII characters", false
	}
	at := strings.IndexByte(addr, '@')
	local, domain := addr[:at], addr[at+1:]
	if local == "" {
		return "nothing before the @", false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c == 0x7F || strings.IndexByte(`"(),:;<>[\]`, c) >= 0 {
			return `it contains a space, a control character or one of " ( ) , : ; < > [ \ ] before the @`, false
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "misplaced dot before the @", false
	}
	if !validDomain(domain) {
		return "the part after the @ is not a domain name", false
	}
	return "", true
}

// mailNicknameChar reports whether c may appear in a mail nickname (an
// Exchange alias): printable ASCII without space and @ ( ) \ [ ] " ; : < > ,.
func mailNicknameChar(c byte) bool {
	return c > ' ' && c < 0x7F && strings.IndexByte(`@()\[]";:<>,`, c) < 0
}

// checkValue applies the Graph limits for attribute a to value v (not the
// UPN). label names the column or option the value came from.
func checkValue(a attr, v, label string) []finding {
	var out []finding
	info := attrInfo[a]
	switch a {
	case aAliases:
		vals := splitAliases(v)
		if len(vals) > maxAliases {
			out = append(out, finding{fmt.Sprintf("%s has %d aliases; Exchange Online allows %d per mailbox", label, len(vals), maxAliases),
				"keep at most 298 aliases"})
		}
		for _, m := range vals {
			if n := utf16Len(m); n > info.limit {
				out = append(out, finding{fmt.Sprintf("%s: alias %q is %d characters long; the limit is %d", label, m, n, info.limit),
					"shorten or remove the alias"})
			} else if reason, ok := checkEmail(m); !ok {
				out = append(out, finding{fmt.Sprintf("%s: %q is not an email address: %s", label, m, reason),
					"write aliases as name@domain, separated by ; or , or one per line"})
			}
		}
		return out
	case aOtherMails:
		vals := splitList(v)
		if len(vals) > maxOtherMailsVals {
			out = append(out, finding{fmt.Sprintf("%s has %d addresses; the limit is %d", label, len(vals), maxOtherMailsVals),
				"keep at most 250 alternate addresses"})
		}
		for _, m := range vals {
			if n := utf16Len(m); n > info.limit {
				out = append(out, finding{fmt.Sprintf("%s: address %q is %d characters long; the limit is %d", label, m, n, info.limit),
					"shorten or remove the address"})
			} else if reason, ok := checkEmail(m); !ok {
				out = append(out, finding{fmt.Sprintf("%s: %q is not an email address: %s", label, m, reason),
					"write alternate addresses as name@domain, separated by ;"})
			}
		}
		return out
	case aUsageLocation:
		if !IsCountryCode(v) {
			out = append(out, finding{fmt.Sprintf("usage location %q is not an ISO 3166-1 alpha-2 country code", v),
				"use a two-letter code such as CN, HK, SG, US or GB"})
		}
		return out
	case aPreferredLanguage:
		ok := true
		for _, r := range v {
			if r >= utf8.RuneSelf || (!unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-') {
				ok = false
				break
			}
		}
		if ok {
			_, err := language.Parse(v)
			ok = err == nil
		}
		if !ok {
			out = append(out, finding{fmt.Sprintf("preferred language %q is not an RFC 4646 language tag", v),
				"use a tag such as zh-CN or en-US"})
		}
		return out
	case aMailNickname:
		for i := 0; i < len(v); i++ {
			if !mailNicknameChar(v[i]) {
				out = append(out, finding{fmt.Sprintf("mail nickname %q contains %q, which is not allowed", v, string(v[i])),
					`use ASCII letters, digits and . - _ only`})
				break
			}
		}
	}
	if info.limit > 0 {
		if n := utf16Len(v); n > info.limit {
			out = append(out, finding{
				fmt.Sprintf("%s is %d characters long; Microsoft Graph allows at most %d for %s", label, n, info.limit, info.graph),
				fmt.Sprintf("shorten it to %d characters", info.limit)})
		}
	}
	return out
}

// splitList splits a list of addresses on ; and , and drops empty items.
// splitAliases splits an Exmail 别名 cell: aliases separated by ; , (ASCII or full-width) or
// line breaks.
func splitAliases(v string) []string {
	parts := strings.FieldsFunc(v, func(r rune) bool {
		return r == ';' || r == ',' || r == '；' || r == '，' || r == '\n' || r == '\r'
	})
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitList(v string) []string {
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == '；' || r == '，' })
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
