package validators

import (
	"context"
	"fmt"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

var _ validator.String = httpsURLValidator{}

// httpsURLValidator checks that an endpoint override is an absolute https URL without a path.
type httpsURLValidator struct{}

// HTTPSURL checks that an endpoint override is an absolute https URL of a host root (no path or query).
func HTTPSURL() validator.String { return httpsURLValidator{} }

func (httpsURLValidator) Description(context.Context) string {
	return "must be an absolute https URL of a host root, such as https://graph.microsoft.com"
}

func (v httpsURLValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (httpsURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	u, err := url.Parse(req.ConfigValue.ValueString())
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Endpoint",
			fmt.Sprintf("While checking %s, the value %q is not an https host root.\n\nGive the scheme and host (and port) only, for example https://graph.microsoft.com; the provider appends the API paths itself.", req.Path, req.ConfigValue.ValueString()))
	}
}
