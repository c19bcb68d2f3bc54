package validators

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

var _ validator.String = csvEncodingValidator{}

// csvEncodingValidator accepts the encodings usercsv reads.
type csvEncodingValidator struct{}

// CSVEncoding accepts the encodings internal/usercsv reads.
func CSVEncoding() validator.String { return csvEncodingValidator{} }

func (csvEncodingValidator) Description(context.Context) string {
	return "must be one of " + strings.Join(usercsv.Encodings(), ", ")
}

func (v csvEncodingValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (csvEncodingValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if !usercsv.ValidEncoding(req.ConfigValue.ValueString()) {
		resp.Diagnostics.AddAttributeError(req.Path, "Unknown CSV Encoding",
			fmt.Sprintf("While checking %s, the value %q is not an encoding the provider reads.\n\nUse one of %s (utf-16le/utf-16be for UTF-16 without a byte-order mark; gbk and gb2312 are read as gb18030).",
				req.Path, req.ConfigValue.ValueString(), strings.Join(usercsv.Encodings(), ", ")))
	}
}
