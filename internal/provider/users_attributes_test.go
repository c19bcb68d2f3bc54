package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestUsersFromRawConvertsLikeTerraform(t *testing.T) {
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	user := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"display_name": tftypes.String, "employee_id": tftypes.Number,
		"account_enabled": tftypes.String, "other_mails": tftypes.Tuple{ElementTypes: []tftypes.Type{tftypes.String, tftypes.Number}}, "line": tftypes.Number}}
	users := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"li.lei@contoso.com": user}}
	cfg := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"users": tftypes.DynamicPseudoType}}
	raw := tftypes.NewValue(cfg, map[string]tftypes.Value{"users": tftypes.NewValue(users, map[string]tftypes.Value{
		"li.lei@contoso.com": tftypes.NewValue(user, map[string]tftypes.Value{
			"display_name":    str("李雷"),
			"employee_id":     tftypes.NewValue(tftypes.Number, 1024),
			"account_enabled": str("false"),
			"other_mails":     tftypes.NewValue(tftypes.Tuple{ElementTypes: []tftypes.Type{tftypes.String, tftypes.Number}}, []tftypes.Value{str("a@b.cn"), tftypes.NewValue(tftypes.Number, 7)}),
			"line":            tftypes.NewValue(tftypes.Number, 2),
		}),
	})})
	got, ok, problems := usersFromRaw(raw)
	if !ok || len(problems) > 0 {
		t.Fatalf("ok %v problems %v", ok, problems)
	}
	e := got["li.lei@contoso.com"]
	if e.Get("display_name") != "李雷" || e.Get("employee_id") != "1024" || e.Enabled == nil || *e.Enabled ||
		strings.Join(e.GetList("other_mails"), ",") != "a@b.cn,7" || e.Has("department") {
		t.Fatalf("converted %+v", e)
	}
	// Unknown users: not ok, no problem.
	unknown := tftypes.NewValue(cfg, map[string]tftypes.Value{"users": tftypes.NewValue(tftypes.DynamicPseudoType, tftypes.UnknownValue)})
	if _, ok, problems := usersFromRaw(unknown); ok || len(problems) > 0 {
		t.Fatalf("unknown users: ok %v problems %v", ok, problems)
	}
}
