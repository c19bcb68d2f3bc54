package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// TestStringValidators runs every validator of the package on valid and invalid values: a valid
// value gives no diagnostic, an invalid one exactly one attribute error with the validator's
// summary, the attribute's path and a detail naming the value; null and unknown values are skipped.
func TestStringValidators(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       validator.String
		summary string
		valid   []string
		invalid map[string]string // value → part of the detail
	}{
		{
			name: "CSVEncoding", v: CSVEncoding(), summary: "Unknown CSV Encoding",
			valid:   []string{"utf-8", "GBK", "utf-16le", "auto", ""},
			invalid: map[string]string{"latin1": `"latin1" is not an encoding`, "big5": `"big5" is not an encoding`},
		},
		{
			name: "RFC3339", v: RFC3339(), summary: "Invalid Time",
			valid:   []string{"2025-07-01T18:00:00Z", "2025-07-02T02:00:00+08:00"},
			invalid: map[string]string{"2025-07-01 18:00": "is not an RFC 3339 time", "2025-07-01": "is not an RFC 3339 time", "": "is not an RFC 3339 time"},
		},
		{
			name: "HTTPSURL", v: HTTPSURL(), summary: "Invalid Endpoint",
			valid: []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", "https://127.0.0.1:8443"},
			invalid: map[string]string{
				"http://graph.microsoft.com":      "is not an https host root",
				"https://graph.microsoft.com/v1":  "is not an https host root",
				"https://graph.microsoft.com?x=1": "is not an https host root",
				"graph.microsoft.com":             "is not an https host root",
				"https://":                        "is not an https host root",
			},
		},
		{
			name: "Duration", v: Duration(), summary: "Invalid Duration",
			valid:   []string{"150s", "2m30s", "1h"},
			invalid: map[string]string{"0s": `"0s" is not a positive duration`, "-5s": "is not a positive duration", "150": "is not a positive duration", "": "is not a positive duration"},
		},
		{
			name: "CountryCode", v: CountryCode(), summary: "Invalid Usage Location",
			valid:   []string{"CN", "US", "GB", ""},
			invalid: map[string]string{"cn": `Write it in upper case: "CN".`, "XX": "Use a two-letter upper-case code", "CHN": "is not an ISO 3166-1 alpha-2 country code"},
		},
		{
			name: "UserPrincipalName", v: UserPrincipalName(), summary: "Invalid User Principal Name",
			valid: []string{"zhang.san@contoso.com", "o'brien@contoso.com"},
			invalid: map[string]string{
				"no-at.contoso.com":                "exactly one @",
				"@contoso.com":                     "nothing before the @",
				"x@localhost":                      "is not a domain name",
				"张三@contoso.com":                   "non-ASCII",
				"a b@contoso.com":                  "before the @, which is not allowed",
				strings.Repeat("a", 65) + "@c.com": "the limit is 64",
			},
		},
		{
			name: "DomainName", v: DomainName(), summary: "Invalid Domain Name",
			valid: []string{"contoso.com", "mail.contoso.com.cn"},
			invalid: map[string]string{
				"localhost":           "at least two labels",
				"https://contoso.com": "is not a domain name",
				"contoso..com":        "is not a domain name",
				"":                    "is not a domain name",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if d := tc.v.Description(ctx); d == "" || d != tc.v.MarkdownDescription(ctx) {
				t.Errorf("Description %q, MarkdownDescription %q: want the same non-empty text", d, tc.v.MarkdownDescription(ctx))
			}
			p := path.Root("attr")
			for name, val := range map[string]types.String{"null": types.StringNull(), "unknown": types.StringUnknown()} {
				var resp validator.StringResponse
				tc.v.ValidateString(ctx, validator.StringRequest{Path: p, ConfigValue: val}, &resp)
				if len(resp.Diagnostics) != 0 {
					t.Errorf("%s value: %v, want no diagnostic", name, resp.Diagnostics)
				}
			}
			for _, v := range tc.valid {
				var resp validator.StringResponse
				tc.v.ValidateString(ctx, validator.StringRequest{Path: p, ConfigValue: types.StringValue(v)}, &resp)
				if len(resp.Diagnostics) != 0 {
					t.Errorf("%q: %v, want no diagnostic", v, resp.Diagnostics)
				}
			}
			for v, detail := range tc.invalid {
				var resp validator.StringResponse
				tc.v.ValidateString(ctx, validator.StringRequest{Path: p, ConfigValue: types.StringValue(v)}, &resp)
				if len(resp.Diagnostics) != 1 || resp.Diagnostics.ErrorsCount() != 1 {
					t.Fatalf("%q: %v, want one error", v, resp.Diagnostics)
				}
				d := resp.Diagnostics[0]
				if d.Summary() != tc.summary {
					t.Errorf("%q: summary %q, want %q", v, d.Summary(), tc.summary)
				}
				if !strings.Contains(d.Detail(), detail) || !strings.Contains(d.Detail(), "attr") {
					t.Errorf("%q: detail %q, want it to name the attribute and contain %q", v, d.Detail(), detail)
				}
				if wp, ok := d.(interface{ Path() path.Path }); !ok || !wp.Path().Equal(p) {
					t.Errorf("%q: the diagnostic is not on the attribute's path", v)
				}
			}
		})
	}
}
