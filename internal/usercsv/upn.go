package usercsv

import (
	"fmt"
	"strings"
)

// UPNProblem describes what is wrong with the shape of a user principal name ("" if nothing):
// exactly one @, something before it, a dotted domain after it, ASCII only, at most 113
// characters and 64 before the @, and only A-Z a-z 0-9 ' . - _ ! # ^ ~ before the @
// (userPrincipalName in https://learn.microsoft.com/graph/api/resources/user).
func UPNProblem(upn string) string {
	if strings.Count(upn, "@") != 1 {
		return fmt.Sprintf("%q must contain exactly one @", upn)
	}
	local, dom, _ := strings.Cut(upn, "@")
	dom = strings.ToLower(dom)
	switch {
	case local == "":
		return fmt.Sprintf("%q has nothing before the @", upn)
	case !strings.Contains(dom, ".") || strings.HasPrefix(dom, ".") || strings.HasSuffix(dom, "."):
		return fmt.Sprintf("%q: %q is not a domain name", upn, dom)
	case len(upn) > 113:
		return fmt.Sprintf("%q is %d characters long; the limit is 113", upn, len(upn))
	case len(local) > 64:
		return fmt.Sprintf("%q has %d characters before the @; the limit is 64", upn, len(local))
	}
	for i := 0; i < len(upn); i++ {
		c := upn[i]
		if c >= 0x80 {
			return fmt.Sprintf("%q contains non-ASCII characters", upn)
		}
		if i < len(local) && !upnLocalChar(c) {
			return fmt.Sprintf("%q contains %q before the @, which is not allowed", upn, string(c))
		}
	}
	return ""
}
