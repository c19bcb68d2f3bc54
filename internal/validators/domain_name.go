package validators

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/m365-migration/terraform-provider-m365/internal/dns"
)

var _ validator.String = domainNameValidator{}

// domainNameValidator checks a DNS domain name at plan time.
type domainNameValidator struct{}

// DomainName checks a fully qualified DNS domain name of at least two labels (dns.NormalizeZone).
func DomainName() validator.String { return domainNameValidator{} }

func (domainNameValidator) Description(context.Context) string {
	return "must be a fully qualified domain name such as contoso.com"
}

func (v domainNameValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (domainNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := dns.NormalizeZone(req.ConfigValue.ValueString()); err != nil || !strings.Contains(strings.Trim(req.ConfigValue.ValueString(), "."), ".") {
		msg := "it needs at least two labels"
		if err != nil {
			msg = err.Error()
		}
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Domain Name",
			fmt.Sprintf("While checking %s, the value %q is not a domain name: %s.\n\nGive the fully qualified name, e.g. contoso.com, without a scheme, path or trailing dot.", req.Path, req.ConfigValue.ValueString(), msg))
	}
}
