package provider

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// m365_users keeps one JSON document per user in its state (`attributes`) instead of one
// Terraform object per user. Terraform and terraform-plugin-framework spend CPU on every value of
// a resource in every plan and refresh — decoding, walking it against the schema several times,
// comparing, writing state snapshots — so 1,000 users of 22 attributes each (22,000 values) made a
// no-op plan take about 10 s; one string per user makes it about 1,000 values. Terraform renders a
// changed JSON string as a structured diff (`jsonencode({ ~ department = "Sales" -> "Finance" })`),
// so every per-attribute change still shows in the plan.

// attrLicenses is the key of the managed licences in a user's JSON document.
const attrLicenses = "licenses"

// encodeUserAttributes is a user's JSON document: every attribute that is not null (including ""
// and [], which clear a value), account_enabled, and, when licences are managed, the SKUs the user
// holds with the configured disabled plans. Keys are sorted (encoding/json sorts map keys), so the
// same user always encodes to the same string.
func encodeUserAttributes(e usersElem, licenses []string, withLicenses bool) string {
	doc := map[string]any{}
	for i, p := range e.strs() {
		if !p.IsNull() && !p.IsUnknown() {
			doc[userStringAttrs[i].name] = p.ValueString()
		}
	}
	for name, l := range map[string]types.List{"business_phones": e.BusinessPhones, "other_mails": e.OtherMails} {
		if isSet(l) {
			v := listStrings(l)
			if v == nil {
				v = []string{} // [] clears the attribute: kept apart from null
			}
			doc[name] = v
		}
	}
	if isSet(e.AccountEnabled) {
		doc["account_enabled"] = e.AccountEnabled.ValueBool()
	}
	if withLicenses {
		ls := append([]string{}, licenses...)
		sort.Strings(ls)
		doc[attrLicenses] = ls
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // strings, bools and string slices always encode
	}
	return string(b)
}

// decodeUserAttributes reads a user's JSON document back; absent attributes are null. licenses is
// nil when the document holds none.
func decodeUserAttributes(s string) (usersElem, []string, error) {
	e := usersElem{userFields: nullUserFields(), AccountEnabled: types.BoolNull()}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return e, nil, err
	}
	for i, p := range e.strs() {
		if raw, ok := doc[userStringAttrs[i].name]; ok {
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return e, nil, err
			}
			*p = types.StringValue(v)
		}
	}
	for name, l := range map[string]*types.List{"business_phones": &e.BusinessPhones, "other_mails": &e.OtherMails} {
		if raw, ok := doc[name]; ok {
			v := []string{}
			if err := json.Unmarshal(raw, &v); err != nil {
				return e, nil, err
			}
			*l = stringList(v)
		}
	}
	if raw, ok := doc["account_enabled"]; ok {
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return e, nil, err
		}
		e.AccountEnabled = types.BoolValue(v)
	}
	var licenses []string
	if raw, ok := doc[attrLicenses]; ok {
		if err := json.Unmarshal(raw, &licenses); err != nil {
			return e, nil, err
		}
		if licenses == nil {
			licenses = []string{}
		}
	}
	return e, licenses, nil
}

// usersFromAttributes reads the state's attributes: the users and the licence keys each holds.
// A document that cannot be read (a hand-edited state) is reported in d.
func usersFromAttributes(m types.Map, d *diagList) (map[string]usersElem, map[string][]string) {
	users, assigned := map[string]usersElem{}, map[string][]string{}
	if m.IsNull() || m.IsUnknown() {
		return users, assigned
	}
	for k, v := range m.Elements() {
		s, ok := v.(types.String)
		if !ok || !isSet(s) {
			continue
		}
		e, ls, err := decodeUserAttributes(s.ValueString())
		if err != nil {
			d.AddAttributeError(pathAttributes(k), "Unreadable User Attributes in State",
				"The state's JSON document of "+k+" cannot be read: "+err.Error()+". Remove the resource from the state and apply again with adopt_existing = true.")
			continue
		}
		users[k] = e
		if ls != nil {
			assigned[k] = ls
		}
	}
	return users, assigned
}

// attributesValue is the attributes map of users; withLicenses adds each user's licence keys.
func attributesValue(users map[string]usersElem, assigned map[string][]string, withLicenses bool) types.Map {
	vals := make(map[string]attr.Value, len(users))
	for k, e := range users {
		vals[k] = types.StringValue(encodeUserAttributes(e, assigned[k], withLicenses))
	}
	return types.MapValueMust(types.StringType, vals)
}

// pathAttributes is the path of one user's document in attributes.
func pathAttributes(upn string) path.Path { return path.Root("attributes").AtMapKey(upn) }

// writeOnlyAttributes turns the element attributes of m365_user into the write-only, optional
// attributes of m365_users.users (a write-only nested attribute must have only write-only,
// non-computed children). Required stays required; descriptions and validators are kept.
func writeOnlyAttributes(in map[string]schema.Attribute) map[string]schema.Attribute {
	out := make(map[string]schema.Attribute, len(in))
	for name, a := range in {
		switch v := a.(type) {
		case schema.StringAttribute:
			out[name] = schema.StringAttribute{Required: v.Required, Optional: !v.Required, WriteOnly: true, MarkdownDescription: v.MarkdownDescription, Validators: v.Validators}
		case schema.BoolAttribute:
			out[name] = schema.BoolAttribute{Optional: true, WriteOnly: true, MarkdownDescription: v.MarkdownDescription, Validators: v.Validators}
		case schema.ListAttribute:
			out[name] = schema.ListAttribute{Optional: true, WriteOnly: true, ElementType: v.ElementType, MarkdownDescription: v.MarkdownDescription, Validators: v.Validators}
		default:
			panic(fmt.Sprintf("writeOnlyAttributes: %s is a %T", name, a))
		}
	}
	return out
}

// usersFromRaw reads the configured users straight from the raw configuration: for thousands of
// users the framework's reflection (types.Map.ElementsAs) costs about ten times more. ok is false
// when the users are known only after apply.
func usersFromRaw(raw tftypes.Value) (users map[string]usersElem, ok bool, err error) {
	var obj map[string]tftypes.Value
	if err := raw.As(&obj); err != nil {
		return nil, false, err
	}
	u, found := obj["users"]
	if !found || !u.IsKnown() {
		return nil, false, nil
	}
	users = map[string]usersElem{}
	if u.IsNull() {
		return users, true, nil
	}
	var elems map[string]tftypes.Value
	if err := u.As(&elems); err != nil {
		return nil, false, err
	}
	for k, ev := range elems {
		if !ev.IsKnown() {
			return nil, false, nil
		}
		e := usersElem{userFields: nullUserFields(), AccountEnabled: types.BoolNull()}
		if ev.IsNull() {
			users[k] = e
			continue
		}
		var attrs map[string]tftypes.Value
		if err := ev.As(&attrs); err != nil {
			return nil, false, err
		}
		for i, p := range e.strs() {
			if *p, err = rawString(attrs[userStringAttrs[i].name]); err != nil {
				return nil, false, err
			}
		}
		if e.BusinessPhones, err = rawStringList(attrs["business_phones"]); err != nil {
			return nil, false, err
		}
		if e.OtherMails, err = rawStringList(attrs["other_mails"]); err != nil {
			return nil, false, err
		}
		if v := attrs["account_enabled"]; v.Type() != nil {
			switch {
			case !v.IsKnown():
				e.AccountEnabled = types.BoolUnknown()
			case !v.IsNull():
				var b bool
				if err := v.As(&b); err != nil {
					return nil, false, err
				}
				e.AccountEnabled = types.BoolValue(b)
			}
		}
		users[k] = e
	}
	return users, true, nil
}

func rawString(v tftypes.Value) (types.String, error) {
	switch {
	case v.Type() == nil || v.IsNull():
		return types.StringNull(), nil
	case !v.IsKnown():
		return types.StringUnknown(), nil
	}
	var s string
	err := v.As(&s)
	return types.StringValue(s), err
}

func rawStringList(v tftypes.Value) (types.List, error) {
	switch {
	case v.Type() == nil || v.IsNull():
		return types.ListNull(types.StringType), nil
	case !v.IsKnown():
		return types.ListUnknown(types.StringType), nil
	}
	var elems []tftypes.Value
	if err := v.As(&elems); err != nil {
		return types.ListNull(types.StringType), err
	}
	out := make([]string, 0, len(elems))
	for _, el := range elems {
		if !el.IsKnown() {
			return types.ListUnknown(types.StringType), nil
		}
		s, err := rawString(el)
		if err != nil {
			return types.ListNull(types.StringType), err
		}
		out = append(out, s.ValueString())
	}
	return stringList(out), nil
}
