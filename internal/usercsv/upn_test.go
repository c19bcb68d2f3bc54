package usercsv

import (
	"strings"
	"testing"
)

func TestUPNProblem(t *testing.T) {
	for upn, want := range map[string]string{
		"zhang.san@contoso.com":                  "",
		"o'brien@contoso.com":                    "",
		"no-at.contoso.com":                      "exactly one @",
		"a@b@contoso.com":                        "exactly one @",
		"@contoso.com":                           "nothing before the @",
		"x@localhost":                            "not a domain name",
		"张三@contoso.com":                         "non-ASCII",
		"a b@contoso.com":                        `contains " " before the @`,
		strings.Repeat("a", 65) + "@c.com":       "before the @; the limit is 64",
		"a@" + strings.Repeat("d", 110) + ".com": "the limit is 113",
	} {
		got := UPNProblem(upn)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("UPNProblem(%q) = %q, want %q", upn, got, want)
		}
	}
}
