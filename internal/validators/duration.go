package validators

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
)

var _ validator.String = durationValidator{}

// durationValidator checks a Go duration string.
type durationValidator struct{}

// Duration checks a positive Go duration string (https://pkg.go.dev/time#ParseDuration).
func Duration() validator.String { return durationValidator{} }

func (durationValidator) Description(context.Context) string {
	return "must be a positive duration such as 150s or 2m30s"
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if d, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration",
			diagtext.Detail("checking "+req.Path.String(), fmt.Sprintf("%q is not a positive duration", req.ConfigValue.ValueString()), "Write it like 150s or 2m30s."))
	}
}
