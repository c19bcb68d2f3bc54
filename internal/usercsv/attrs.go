package usercsv

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

// attr identifies a user attribute: its index in [userattr.All].
type attr int

// catalogue is the catalogue of user attributes; attr indexes it.
var catalogue = userattr.All()

// numAttrs is the number of attributes.
var numAttrs = attr(len(catalogue))

// The attributes the parser treats specially (the user name, the derived nickname and display
// name, the Exmail department path, the aliases that follow the domain rewrite).
var (
	aUPN           = mustAttr(userattr.UPN)
	aMailNickname  = mustAttr(userattr.MailNickname)
	aDisplayName   = mustAttr(userattr.DisplayName)
	aGivenName     = mustAttr(userattr.GivenName)
	aSurname       = mustAttr(userattr.Surname)
	aDepartment    = mustAttr(userattr.Department)
	aUsageLocation = mustAttr(userattr.UsageLocation)
)

func mustAttr(name string) attr {
	a, ok := attrByName(name)
	if !ok {
		panic("usercsv: no attribute " + name + " in the catalogue")
	}
	return a
}

// Limits from Microsoft Graph (https://learn.microsoft.com/graph/api/resources/user) that are not a
// single field length.
const (
	maxUPNLocal  = 64 // characters before the @
	maxUPNDomain = 48 // characters after the @
)

// Attributes returns the snake_case attribute names usable as keys of
// UserOptions.Columns and UserOptions.Defaults, in a fixed order.
func Attributes() []string { return userattr.Names() }

// attrByName finds an attribute by its snake_case name (or a former spelling).
func attrByName(name string) (attr, bool) {
	for a := range numAttrs {
		if catalogue[a].Name == name || slices.Contains(catalogue[a].OldNames, name) {
			return a, true
		}
	}
	return 0, false
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
	if n := utf16Len(upn); n > catalogue[aUPN].Limit {
		out = append(out, finding{fmt.Sprintf("user name %q is %d characters long; the limit is %d", upn, n, catalogue[aUPN].Limit),
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

// listWords are the words of a list attribute's messages; other lists say "values".
var listWords = map[string]struct{ noun, tooMany, format string }{
	userattr.OtherMails: {"address", "keep at most %d alternate addresses", "write alternate addresses as name@domain, separated by ;"},
	userattr.Aliases:    {"alias", "keep at most %d aliases", "write aliases as name@domain, separated by ; or , or one per line"},
}

// checkValue applies the catalogue's rules for attribute a to value v (not the UPN): the kind's
// split, the number of values, each value's length and syntax. label names the column or option
// the value came from.
func checkValue(a attr, v, label string) []finding {
	info := catalogue[a]
	if info.Kind == userattr.List && info.Split != "" {
		return checkList(info, info.SplitCell(v), label)
	}
	// A string, or a list whose cell is one value (business_phones).
	var out []finding
	switch info.Check {
	case userattr.CheckCountryCode:
		if !IsCountryCode(v) {
			out = append(out, finding{fmt.Sprintf("usage location %q is not an ISO 3166-1 alpha-2 country code", v),
				"use a two-letter code such as CN, HK, SG, US or GB"})
		}
		return out
	case userattr.CheckLanguageTag:
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
	case userattr.CheckMailNickname:
		for i := 0; i < len(v); i++ {
			if !mailNicknameChar(v[i]) {
				out = append(out, finding{fmt.Sprintf("mail nickname %q contains %q, which is not allowed", v, string(v[i])),
					`use ASCII letters, digits and . - _ only`})
				break
			}
		}
	}
	if info.Limit > 0 {
		if n := utf16Len(v); n > info.Limit {
			out = append(out, finding{
				fmt.Sprintf("%s is %d characters long; Microsoft Graph allows at most %d for %s", label, n, info.Limit, info.Graph),
				fmt.Sprintf("shorten it to %d characters", info.Limit)})
		}
	}
	return out
}

// checkList applies the rules of a list attribute to its values.
func checkList(info userattr.Attr, vals []string, label string) []finding {
	var out []finding
	w, ok := listWords[info.Name]
	if !ok {
		w.noun, w.tooMany, w.format = "value", "keep at most %d values", "separate the values with ;"
	}
	if info.MaxValues > 0 && len(vals) > info.MaxValues {
		msg := fmt.Sprintf("%s has %d %ses; the limit is %d", label, len(vals), w.noun, info.MaxValues)
		if info.Name == userattr.Aliases {
			msg = fmt.Sprintf("%s has %d aliases; Exchange Online allows %d per mailbox", label, len(vals), info.MaxValues)
		}
		out = append(out, finding{msg, fmt.Sprintf(w.tooMany, info.MaxValues)})
	}
	for _, m := range vals {
		if n := utf16Len(m); info.Limit > 0 && n > info.Limit {
			out = append(out, finding{fmt.Sprintf("%s: %s %q is %d characters long; the limit is %d", label, w.noun, m, n, info.Limit),
				"shorten or remove the " + w.noun})
		} else if info.Check == userattr.CheckEmails {
			if reason, ok := checkEmail(m); !ok {
				out = append(out, finding{fmt.Sprintf("%s: %q is not an email address: %s", label, m, reason), w.format})
			}
		}
	}
	return out
}
