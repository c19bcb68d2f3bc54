package provider

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

// m365_users keeps one JSON document per user in its state (`attributes`): see internal/users
// (users.Encode) for why and how.

// attrAliases is the key of a user's email aliases, in users and in the JSON document.
const attrAliases = userattr.Aliases

// usersFromAttributes reads the state's attributes: the users and the licence keys each holds.
// A document that cannot be read (a hand-edited state) is reported in d.
func usersFromAttributes(m types.Map, d *diagList) (map[string]users.User, map[string][]string) {
	out, assigned := map[string]users.User{}, map[string][]string{}
	if m.IsNull() || m.IsUnknown() {
		return out, assigned
	}
	for k, v := range m.Elements() {
		s, ok := v.(types.String)
		if !ok || !isSet(s) {
			continue
		}
		e, ls, err := users.Decode(s.ValueString())
		if err != nil {
			d.AddAttributeError(pathAttributes(k), "Unreadable User Attributes in State",
				"The state's JSON document of "+k+" cannot be read: "+err.Error()+". Remove the resource from the state and apply again with adopt_existing = true.")
			continue
		}
		out[k] = e
		if ls != nil {
			assigned[k] = ls
		}
	}
	return out, assigned
}

// attributesValue is the attributes map of users; withLicenses adds each user's licence keys.
func attributesValue(us map[string]users.User, assigned map[string][]string, withLicenses bool) types.Map {
	vals := make(map[string]attr.Value, len(us))
	for k, e := range us {
		vals[k] = types.StringValue(users.Encode(e, assigned[k], withLicenses))
	}
	return types.MapValueMust(types.StringType, vals)
}

// pathAttributes is the path of one user's document in attributes.
func pathAttributes(upn string) path.Path { return path.Root("attributes").AtMapKey(upn) }

// usersElemSchemas are the attributes of one user of m365_users.users, with their validators: every
// attribute of the catalogue and account_enabled. The attribute itself is dynamic (see
// usersFromRaw), so these are applied by validateUsersValue and listed in the documentation by
// attrsDoc.
func usersElemSchemas() map[string]schema.Attribute {
	elem := userAttributeSchemas()
	elem[userattr.UPN] = schema.StringAttribute{Optional: true,
		MarkdownDescription: "The sign-in name; always the map key (set it only to the same value).", Validators: []validator.String{validators.UserPrincipalName()}}
	elem[userattr.UsageLocation] = schema.StringAttribute{Optional: true, Validators: []validator.String{validators.CountryCode()},
		MarkdownDescription: "This user's usage location; when unset, the resource's `usage_location`."}
	elem[users.AccountEnabled] = schema.BoolAttribute{Optional: true,
		MarkdownDescription: "Whether this user can sign in; when unset, the resource's `account_enabled`."}
	al, _ := userattr.ByName(userattr.Aliases)
	elem[attrAliases] = schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: al.Doc +
		" Unset: the user's aliases are left alone; `[]` removes them all."}
	return elem
}

// attrsDoc lists attributes for a description, one "`name` (type) — description" line each,
// sorted by name: the user attributes of m365_users_csv.users and of m365_users.users.
func attrsDoc[A interface {
	GetType() attr.Type
	IsRequired() bool
	GetMarkdownDescription() string
}](attrs map[string]A) string {
	var b strings.Builder
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		kind := "string"
		switch a.GetType().(type) {
		case basetypes.BoolType:
			kind = "bool"
		case basetypes.Int64Type:
			kind = "number"
		case basetypes.ListType:
			kind = "list of strings"
		}
		if a.IsRequired() {
			kind += ", required"
		}
		fmt.Fprintf(&b, "\n  - `%s` (%s) — %s", name, kind, a.GetMarkdownDescription())
	}
	return b.String()
}

// userProblem is a value of users that does not fit a user's attributes.
type userProblem struct {
	key, attr, msg string
}

// usersFromRaw reads the configured users straight from the raw configuration. users is dynamic:
// Terraform then passes the value as written (a map of objects from m365_users_csv, an object of
// objects from a literal) without checking it against a nested schema — which, for thousands of
// users, made every plan walk tens of thousands of values several times in the framework and in
// Terraform. The shape is checked here instead, with Terraform's conversions: numbers and bools
// become strings, a tuple or set of strings a list. ok is false when the users are known only
// after apply.
func usersFromRaw(raw tftypes.Value) (out map[string]users.User, ok bool, problems []userProblem) {
	var obj map[string]tftypes.Value
	if err := raw.As(&obj); err != nil {
		return nil, false, []userProblem{{msg: err.Error()}}
	}
	u, found := obj["users"]
	if !found || !u.IsKnown() {
		return nil, false, nil
	}
	out = map[string]users.User{}
	if u.IsNull() {
		return out, true, nil
	}
	elems, isCollection := rawElements(u)
	if !isCollection {
		return nil, false, []userProblem{{msg: "users must be a map of users keyed by user principal name, such as data.m365_users_csv.staff.users; got " + typeName(u)}}
	}
	known := usersElemSchemas()
	ok = true
	for k, ev := range elems {
		if !ev.IsKnown() {
			ok = false
			continue
		}
		if ev.IsNull() {
			problems = append(problems, userProblem{key: k, msg: "the user is null; give it at least display_name"})
			continue
		}
		attrs, isObj := rawElements(ev)
		if !isObj {
			problems = append(problems, userProblem{key: k, msg: "a user must be an object of attributes such as { display_name = \"...\" }; got " + typeName(ev)})
			continue
		}
		var e users.User
		for name, v := range attrs {
			if name == "line" { // m365_users_csv's row number
				continue
			}
			if _, ok := known[name]; !ok {
				problems = append(problems, userProblem{key: k, attr: name, msg: "is not an attribute of a user; the attributes are " + strings.Join(sortedKeys(known), ", ")})
				continue
			}
			var err string
			var val attr.Value
			a, isAttr := userattr.ByName(name)
			switch {
			case name == users.AccountEnabled:
				var b types.Bool
				b, err = rawBool(v)
				if b.IsUnknown() {
					e.Unknown = append(e.Unknown, users.AccountEnabled)
				} else if isSet(b) {
					enabled := b.ValueBool()
					e.Enabled = &enabled
				}
			case isAttr && a.Kind == userattr.List:
				val, err = rawStringList(v)
			case isAttr:
				val, err = rawString(v)
			}
			if err != "" {
				problems = append(problems, userProblem{key: k, attr: name, msg: err})
				continue
			}
			if isAttr {
				putAttr(&e, a, val)
			}
		}
		sort.Strings(e.Unknown)
		out[k] = e
	}
	if !ok {
		return nil, false, problems
	}
	return out, true, problems
}

// rawElements are the elements of a map or the attributes of an object.
func rawElements(v tftypes.Value) (map[string]tftypes.Value, bool) {
	if !v.Type().Is(tftypes.Map{}) && !v.Type().Is(tftypes.Object{}) {
		return nil, false
	}
	var m map[string]tftypes.Value
	if err := v.As(&m); err != nil {
		return nil, false
	}
	return m, true
}

// typeName names a value's type for a message.
func typeName(v tftypes.Value) string {
	switch {
	case v.Type().Is(tftypes.String):
		return "a string"
	case v.Type().Is(tftypes.Number):
		return "a number"
	case v.Type().Is(tftypes.Bool):
		return "a bool"
	case v.Type().Is(tftypes.List{}), v.Type().Is(tftypes.Tuple{}), v.Type().Is(tftypes.Set{}):
		return "a list"
	}
	return v.Type().String()
}

// rawString converts like Terraform converts to string: numbers and bools become their text.
func rawString(v tftypes.Value) (types.String, string) {
	switch {
	case v.Type() == nil || v.IsNull():
		return types.StringNull(), ""
	case !v.IsKnown():
		return types.StringUnknown(), ""
	case v.Type().Is(tftypes.String):
		var s string
		_ = v.As(&s)
		return types.StringValue(s), ""
	case v.Type().Is(tftypes.Number):
		var f big.Float
		_ = v.As(&f)
		return types.StringValue(f.Text('f', -1)), ""
	case v.Type().Is(tftypes.Bool):
		var b bool
		_ = v.As(&b)
		return types.StringValue(strconv.FormatBool(b)), ""
	}
	return types.StringNull(), "must be a string, got " + typeName(v)
}

// rawBool accepts a bool, or the strings "true" and "false".
func rawBool(v tftypes.Value) (types.Bool, string) {
	switch {
	case v.Type() == nil || v.IsNull():
		return types.BoolNull(), ""
	case !v.IsKnown():
		return types.BoolUnknown(), ""
	case v.Type().Is(tftypes.Bool):
		var b bool
		_ = v.As(&b)
		return types.BoolValue(b), ""
	case v.Type().Is(tftypes.String):
		var s string
		_ = v.As(&s)
		if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
			return types.BoolValue(b), ""
		}
	}
	return types.BoolNull(), "must be true or false, got " + typeName(v)
}

// rawStringList accepts a list, tuple or set of strings (numbers and bools converted).
func rawStringList(v tftypes.Value) (types.List, string) {
	switch {
	case v.Type() == nil || v.IsNull():
		return types.ListNull(types.StringType), ""
	case !v.IsKnown():
		return types.ListUnknown(types.StringType), ""
	case v.Type().Is(tftypes.List{}), v.Type().Is(tftypes.Tuple{}), v.Type().Is(tftypes.Set{}):
	default:
		return types.ListNull(types.StringType), "must be a list of strings, such as [\"+86 10 1234 5678\"], got " + typeName(v)
	}
	var elems []tftypes.Value
	_ = v.As(&elems)
	out := make([]string, 0, len(elems))
	for _, el := range elems {
		if !el.IsKnown() {
			return types.ListUnknown(types.StringType), ""
		}
		s, msg := rawString(el)
		if msg != "" || s.IsNull() {
			return types.ListNull(types.StringType), "must be a list of strings (no nulls), got an element that is " + typeName(el)
		}
		out = append(out, s.ValueString())
	}
	return stringList(out), ""
}

// userPath is the path of a user, or of one of its attributes, in users.
func userPath(key, attr string) path.Path {
	p := path.Root("users")
	if key != "" {
		p = p.AtMapKey(key)
	}
	if attr != "" {
		p = p.AtName(attr)
	}
	return p
}

// reportUserProblems turns problems into one diagnostic each.
func reportUserProblems(problems []userProblem, d *diagList) {
	sort.Slice(problems, func(i, j int) bool {
		if problems[i].key != problems[j].key {
			return problems[i].key < problems[j].key
		}
		return problems[i].attr < problems[j].attr
	})
	for _, p := range problems {
		what := "users"
		if p.key != "" {
			what = fmt.Sprintf("users[%q]", p.key)
		}
		if p.attr != "" {
			what += "." + p.attr
		}
		diagtext.AttributeError(d, userPath(p.key, p.attr), "Invalid User Attribute", "checking "+what, what+" "+p.msg,
			"Give each user an object of the attributes listed in the m365_users documentation, as data.m365_users_csv.x.users does.")
	}
}

// validateUsersValue checks users at validation time: its shape (usersFromRaw), a display_name
// for every user, and each attribute's validators (user name, usage location, lengths).
func validateUsersValue(ctx context.Context, config tfsdk.Config, d *diagList) {
	us, _, problems := usersFromRaw(config.Raw)
	reportUserProblems(problems, d)
	elem := usersElemSchemas()
	for _, k := range sortedKeys(us) {
		e := us[k]
		if !e.Has(userattr.DisplayName) && !e.IsUnknown(userattr.DisplayName) {
			diagtext.AttributeError(d, userPath(k, userattr.DisplayName), "Missing Display Name", fmt.Sprintf("checking users[%q]", k),
				"Microsoft Graph needs a display name for every user", "Give the user a display_name (m365_users_csv builds it from first and last name).")
		}
		for _, name := range sortedKeys(e.Strings) {
			sa, ok := elem[name].(schema.StringAttribute)
			if !ok {
				continue
			}
			for _, v := range sa.Validators {
				vr := validator.StringResponse{}
				v.ValidateString(ctx, validator.StringRequest{Path: userPath(k, name), PathExpression: userPath(k, name).Expression(),
					Config: config, ConfigValue: types.StringValue(e.Strings[name])}, &vr)
				d.Append(vr.Diagnostics...)
			}
		}
	}
}
