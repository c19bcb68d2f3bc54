package provider

import (
	"context"
	"sort"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// This file converts between Terraform values and internal/users: null is an absent (unmanaged)
// attribute, unknown is listed in users.User.Unknown, "" and [] are given as empty. Which
// attributes exist comes from the catalogue (internal/userattr).

// stringList builds a known list, or null for nil.
func stringList(v []string) types.List {
	if v == nil {
		return types.ListNull(types.StringType)
	}
	elems := make([]attr.Value, len(v))
	for i, s := range v {
		elems[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, elems)
}

// isSet reports a known, non-null value.
func isSet(v interface {
	IsNull() bool
	IsUnknown() bool
}) bool {
	return !v.IsNull() && !v.IsUnknown()
}

// putAttr adds Terraform value v of attribute a to u.
func putAttr(u *users.User, a userattr.Attr, v attr.Value) {
	switch {
	case v == nil || v.IsNull():
	case v.IsUnknown():
		u.Unknown = append(u.Unknown, a.Name)
		sort.Strings(u.Unknown)
	case a.Kind == userattr.List:
		if l, ok := v.(types.List); ok {
			u.SetList(a.Name, listStrings(l))
		}
	default:
		if s, ok := v.(types.String); ok {
			u.Set(a.Name, s.ValueString())
		}
	}
}

// attrValue is attribute a of u as a Terraform value: a string, or a list of strings.
func attrValue(u users.User, a userattr.Attr) attr.Value {
	unknown := u.IsUnknown(a.Name)
	if a.Kind == userattr.List {
		if unknown {
			return types.ListUnknown(types.StringType)
		}
		if l, ok := u.LookupList(a.Name); ok {
			return stringList(append([]string{}, l...))
		}
		return types.ListNull(types.StringType)
	}
	if unknown {
		return types.StringUnknown()
	}
	if s, ok := u.Lookup(a.Name); ok {
		return types.StringValue(s)
	}
	return types.StringNull()
}

// m365_user's attributes of the catalogue are every attribute written through Graph; its aliases
// (written through Exchange) are a set of its own model.
func isUserResourceAttr(name string) bool {
	a, ok := userattr.ByName(name)
	return ok && a.Name == name && a.Graph != ""
}

// getUserModel reads a plan, state or configuration of m365_user: the catalogue's attributes into
// m.User, the others into the struct.
func getUserModel(ctx context.Context, get func(context.Context, any) diag.Diagnostics, m *userResourceModel) diag.Diagnostics {
	var obj types.Object
	diags := get(ctx, &obj)
	if diags.HasError() {
		return diags
	}
	rest, restTypes := map[string]attr.Value{}, map[string]attr.Type{}
	allTypes := obj.AttributeTypes(ctx)
	var u users.User
	for name, v := range obj.Attributes() {
		if isUserResourceAttr(name) {
			a, _ := userattr.ByName(name)
			putAttr(&u, a, v)
			continue
		}
		rest[name], restTypes[name] = v, allTypes[name]
	}
	o, d := types.ObjectValue(restTypes, rest)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	diags.Append(o.As(ctx, m, basetypes.ObjectAsOptions{})...)
	m.User = u
	return diags
}

// userResourceAttrTypes are the types of m365_user's attributes, from its schema.
var userResourceAttrTypes = sync.OnceValue(func() map[string]attr.Type {
	var resp resource.SchemaResponse
	(&userResource{}).Schema(context.Background(), resource.SchemaRequest{}, &resp)
	out := make(map[string]attr.Type, len(resp.Schema.Attributes))
	for name, a := range resp.Schema.Attributes {
		out[name] = a.GetType()
	}
	return out
})

// setUserModel writes m to m365_user's plan or state.
func setUserModel(ctx context.Context, set func(context.Context, any) diag.Diagnostics, m *userResourceModel) diag.Diagnostics {
	all := userResourceAttrTypes()
	restTypes := map[string]attr.Type{}
	for name, t := range all {
		if !isUserResourceAttr(name) {
			restTypes[name] = t
		}
	}
	o, diags := types.ObjectValueFrom(ctx, restTypes, m)
	if diags.HasError() {
		return diags
	}
	vals := o.Attributes()
	for name := range all {
		if isUserResourceAttr(name) {
			a, _ := userattr.ByName(name)
			vals[name] = attrValue(m.User, a)
		}
	}
	full, d := types.ObjectValue(all, vals)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	return append(diags, set(ctx, full)...)
}
