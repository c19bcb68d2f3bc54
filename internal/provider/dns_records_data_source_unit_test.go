package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

// TestDNSPodRecordsFitTencentcloud asserts that every attribute of dnspod_records is an argument of
// tencentcloud_dnspod_record with the same type, and that every required argument is present, so
// `each.value.<attr>` can be passed straight through.
func TestDNSPodRecordsFitTencentcloud(t *testing.T) {
	for name, typ := range dnspodAttrTypes {
		arg, ok := tencentcloudArguments[name]
		if !ok {
			t.Errorf("dnspod_records has %q, which tencentcloud_dnspod_record does not accept", name)
			continue
		}
		got := "string"
		if typ.Equal(types.Int64Type) {
			got = "number"
		} else if !typ.Equal(types.StringType) {
			got = typ.String()
		}
		if got != arg.typ {
			t.Errorf("dnspod_records.%s is %s; tencentcloud_dnspod_record.%s is %s", name, got, name, arg.typ)
		}
	}
	for name, arg := range tencentcloudArguments {
		if _, ok := dnspodAttrTypes[name]; !ok && arg.required {
			t.Errorf("required argument %q of tencentcloud_dnspod_record is missing from dnspod_records", name)
		}
	}
	if len(dnspodAttrTypes) != len(tencentcloudArguments) {
		t.Errorf("dnspod_records has %d attributes, tencentcloud_dnspod_record %d arguments", len(dnspodAttrTypes), len(tencentcloudArguments))
	}
}
