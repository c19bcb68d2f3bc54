package provider

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	fwdiag "github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// diagList is the framework's diagnostics (the name diag is our wording package).
type diagList = fwdiag.Diagnostics

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// clientsFrom is the Configure step of every resource and data source.
func clientsFrom(providerData any, d *diagList) *Clients {
	if providerData == nil {
		return nil // the provider is not configured yet (validation, or unknown provider values)
	}
	c, ok := providerData.(*Clients)
	if !ok {
		d.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *provider.Clients, got %T. This is always a bug in the provider; please report it.", providerData))
		return nil
	}
	return c
}

func setStrings(s types.Set) []string {
	if s.IsNull() || s.IsUnknown() {
		return nil
	}
	var out []string
	for _, v := range s.Elements() {
		if sv, ok := v.(types.String); ok && !sv.IsUnknown() && !sv.IsNull() {
			out = append(out, sv.ValueString())
		}
	}
	sort.Strings(out)
	return out
}

func listStrings(l types.List) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	for _, v := range l.Elements() {
		if sv, ok := v.(types.String); ok && !sv.IsUnknown() && !sv.IsNull() {
			out = append(out, sv.ValueString())
		}
	}
	return out
}

func stringSet(in []string) types.Set {
	vals := make([]string, 0, len(in))
	vals = append(vals, in...)
	sort.Strings(vals)
	s, _ := types.SetValueFrom(context.Background(), types.StringType, vals)
	return s
}

func sameStrings(a, b []string) bool {
	a, b = sortStrings(a), sortStrings(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// sortedList is a list of the strings, sorted; nil gives an empty list. Large computed
// collections are lists rather than sets: terraform-plugin-framework compares set elements
// pairwise (quadratic; hashicorp/terraform-plugin-framework#1314), which cost seconds per plan
// for a 1,000-user batch.
func sortedList(in []string) types.List {
	out := slices.Clone(in)
	slices.Sort(out)
	elems := make([]attr.Value, len(out))
	for i, s := range out {
		elems[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, elems)
}
