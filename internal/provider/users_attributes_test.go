package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestUserAttributesRoundTrip(t *testing.T) {
	e := usersElem{userFields: nullUserFields(), AccountEnabled: types.BoolValue(false)}
	e.UserPrincipalName = types.StringValue("li.lei@contoso.com")
	e.DisplayName = types.StringValue("李雷")
	e.JobTitle = types.StringValue("") // cleared on purpose: kept apart from null
	e.OtherMails = stringList([]string{})
	e.BusinessPhones = stringList([]string{"+86 10 1234"})
	s := encodeUserAttributes(e, []string{"SPE_E3", "O365_BUSINESS_PREMIUM"}, true)
	want := `{"account_enabled":false,"business_phones":["+86 10 1234"],"display_name":"李雷","job_title":"","licenses":["O365_BUSINESS_PREMIUM","SPE_E3"],"other_mails":[],"user_principal_name":"li.lei@contoso.com"}`
	if s != want {
		t.Fatalf("encoded\n %s\nwant\n %s", s, want)
	}
	back, ls, err := decodeUserAttributes(s)
	if err != nil {
		t.Fatal(err)
	}
	if !back.DisplayName.Equal(e.DisplayName) || !back.JobTitle.Equal(types.StringValue("")) || !back.Department.IsNull() ||
		!back.OtherMails.Equal(e.OtherMails) || !back.BusinessPhones.Equal(e.BusinessPhones) || !back.AccountEnabled.Equal(types.BoolValue(false)) {
		t.Fatalf("decoded %+v", back)
	}
	if len(ls) != 2 || ls[0] != "O365_BUSINESS_PREMIUM" {
		t.Fatalf("licences %v", ls)
	}
	if again := encodeUserAttributes(back, ls, true); again != s {
		t.Fatalf("not stable:\n %s\n %s", again, s)
	}
	// Without managed licences there is no licenses key; a document without it decodes to nil.
	s2 := encodeUserAttributes(e, nil, false)
	if _, ls2, _ := decodeUserAttributes(s2); ls2 != nil {
		t.Fatalf("licences %v from %s", ls2, s2)
	}
	if s3 := encodeUserAttributes(e, nil, true); !strings.Contains(s3, `"licenses":[]`) {
		t.Fatalf("managed licences, none held: %s", s3)
	}
	if _, _, err := decodeUserAttributes(`{"display_name":1}`); err == nil {
		t.Fatal("a number as display_name decoded")
	}
}

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
	if e.DisplayName.ValueString() != "李雷" || e.EmployeeID.ValueString() != "1024" || e.AccountEnabled.ValueBool() || !e.AccountEnabled.Equal(types.BoolValue(false)) ||
		strings.Join(listStrings(e.OtherMails), ",") != "a@b.cn,7" || !e.Department.IsNull() {
		t.Fatalf("converted %+v", e)
	}
	// Unknown users: not ok, no problem.
	unknown := tftypes.NewValue(cfg, map[string]tftypes.Value{"users": tftypes.NewValue(tftypes.DynamicPseudoType, tftypes.UnknownValue)})
	if _, ok, problems := usersFromRaw(unknown); ok || len(problems) > 0 {
		t.Fatalf("unknown users: ok %v problems %v", ok, problems)
	}
}
