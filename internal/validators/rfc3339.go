package validators

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

var _ validator.String = rfc3339Validator{}

// rfc3339Validator checks a time written as RFC 3339.
type rfc3339Validator struct{}

// RFC3339 checks a time written as RFC 3339 (https://www.rfc-editor.org/rfc/rfc3339).
func RFC3339() validator.String { return rfc3339Validator{} }

func (rfc3339Validator) Description(context.Context) string {
	return "must be an RFC 3339 time such as 2025-07-01T18:00:00Z"
}

func (v rfc3339Validator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (rfc3339Validator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.Parse(time.RFC3339, req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Time",
			fmt.Sprintf("While checking %s, the value %q is not an RFC 3339 time.\n\nWrite it like 2025-07-01T18:00:00Z or 2025-07-02T02:00:00+08:00.", req.Path, req.ConfigValue.ValueString()))
	}
}
