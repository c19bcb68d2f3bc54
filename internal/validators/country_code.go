package validators

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

var _ validator.String = countryCodeValidator{}

// countryCodeValidator checks an ISO 3166-1 alpha-2 code at plan time.
type countryCodeValidator struct{}

// CountryCode checks an upper-case ISO 3166-1 alpha-2 country code (a usage location); "" is
// accepted.
func CountryCode() validator.String { return countryCodeValidator{} }

func (countryCodeValidator) Description(context.Context) string {
	return "must be an ISO 3166-1 alpha-2 country code such as CN, HK, SG, US or GB"
}

func (v countryCodeValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (countryCodeValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	v := req.ConfigValue.ValueString()
	if v == "" || (len(v) == 2 && usercsv.IsCountryCode(v) && strings.ToUpper(v) == v) {
		return
	}
	fix := "Use a two-letter upper-case code such as CN, HK, SG, US or GB."
	if usercsv.IsCountryCode(v) {
		fix = fmt.Sprintf("Write it in upper case: %q.", strings.ToUpper(v))
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid Usage Location",
		diagtext.Detail("checking "+req.Path.String(), fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code", v), fix))
}
