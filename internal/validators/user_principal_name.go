package validators

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

var _ validator.String = upnValidator{}

// upnValidator checks the shape of a user principal name at plan time (the domain is checked
// against the tenant in ModifyPlan).
type upnValidator struct{}

// UserPrincipalName checks the shape of a user principal name with usercsv.UPNProblem; whether
// its domain belongs to the tenant is the resource's ModifyPlan's business.
func UserPrincipalName() validator.String { return upnValidator{} }

func (upnValidator) Description(context.Context) string {
	return "must be alias@domain, ASCII, at most 113 characters and 64 before the @"
}

func (v upnValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (upnValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if msg := usercsv.UPNProblem(req.ConfigValue.ValueString()); msg != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid User Principal Name",
			diagtext.Detail("checking "+req.Path.String(), msg, "Write it as alias@domain with letters, digits and ' . - _ ! # ^ ~ before the @, e.g. zhang.san@contoso.com."))
	}
}
