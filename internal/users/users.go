// Package users is the logic of the m365_users and m365_user resources without Terraform types:
// what a configured user becomes in the plan (Effective), what must be written to reach it
// (ChangesTo, Build), and what the state becomes once Graph has answered (Fold). The provider
// converts Terraform values to and from these types and words the diagnostics; the clients
// (internal/graph, internal/exchange) do the writing.
//
// Every attribute comes from the catalogue (internal/userattr): nothing here names one, except the
// user name, the mail nickname derived from it, the usage location and the aliases, which the
// resources treat specially.
package users

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

// AccountEnabled is the name of the account setting, which is not a catalogue attribute (no CSV
// gives it) but is managed per user like one.
const AccountEnabled = "account_enabled"

// User is one user of a configuration, a plan or a state.
type User struct {
	// Values are the managed attributes: an attribute that is absent is not managed (Graph's value
	// is left alone); "" or an empty list clears it.
	userattr.Values
	// Enabled is account_enabled; nil when not managed.
	Enabled *bool
	// Unknown names the attributes whose configured value is known only after apply
	// (AccountEnabled included). They are absent from Values.
	Unknown []string
}

// UPN is the user's principal name.
func (u User) UPN() string { return u.Get(userattr.UPN) }

// IsUnknown reports an attribute known only after apply.
func (u User) IsUnknown(name string) bool { return slices.Contains(u.Unknown, name) }

// HasUnknown reports a user with a value known only after apply.
func (u User) HasUnknown() bool { return len(u.Unknown) > 0 }

// Clone is a deep copy.
func (u User) Clone() User {
	out := User{Values: u.Values.Clone(), Unknown: slices.Clone(u.Unknown)}
	if u.Enabled != nil {
		v := *u.Enabled
		out.Enabled = &v
	}
	return out
}

// Equal reports the same managed values, account setting and unknowns.
func (u User) Equal(o User) bool {
	if (u.Enabled == nil) != (o.Enabled == nil) || (u.Enabled != nil && *u.Enabled != *o.Enabled) {
		return false
	}
	return u.Values.Equal(o.Values) && slices.Equal(u.Unknown, o.Unknown)
}

// SameAttr reports whether attribute name is the same in a and b: both absent, both unknown, or
// the same value.
func SameAttr(a, b User, name string) bool {
	if a.IsUnknown(name) || b.IsUnknown(name) {
		return a.IsUnknown(name) && b.IsUnknown(name)
	}
	if la, ok := a.LookupList(name); ok {
		lb, ok := b.LookupList(name)
		return ok && slices.Equal(la, lb)
	}
	if _, ok := b.LookupList(name); ok {
		return false
	}
	va, oka := a.Lookup(name)
	vb, okb := b.Lookup(name)
	return oka == okb && va == vb
}

// copyAttr makes attribute a of dst what it is in src (absent when absent).
func copyAttr(dst *userattr.Values, src userattr.Values, a userattr.Attr) {
	dst.Delete(a.Name)
	if a.Kind == userattr.List {
		if l, ok := src.LookupList(a.Name); ok {
			dst.SetList(a.Name, slices.Clone(l))
		}
	} else if s, ok := src.Lookup(a.Name); ok {
		dst.Set(a.Name, s)
	}
}

// graphAttrs are the catalogue's attributes written through Graph (all but the aliases).
var graphAttrs = sync.OnceValue(func() []userattr.Attr {
	var out []userattr.Attr
	for _, a := range userattr.All() {
		if a.Graph != "" {
			out = append(out, a)
		}
	}
	return out
})

// KeepUnmanaged sets every Graph attribute the configuration leaves null to its prior value: null
// means "not managed by Terraform", so Graph's value, whatever it is, is never a change. Without a
// prior (a new user), unmanaged attributes are absent. An attribute known only after apply stays so.
func KeepUnmanaged(plan *User, config User, prior *User) {
	for _, a := range graphAttrs() {
		if config.Has(a.Name) || config.IsUnknown(a.Name) {
			continue
		}
		plan.Unknown = slices.DeleteFunc(plan.Unknown, func(n string) bool { return n == a.Name })
		if prior != nil {
			copyAttr(&plan.Values, prior.Values, a)
		} else {
			plan.Delete(a.Name)
		}
	}
}

// FromGraph turns a Graph user into a user's values, keeping the prior value's form for what Graph
// reports as empty: "" stays "", [] stays [], anything else becomes absent. So a value cleared on
// purpose with "" does not show as a change, and an unmanaged empty one stays null. Attributes not
// read through Graph (the aliases) are not set.
func FromGraph(prior userattr.Values, g *graph.User) userattr.Values {
	var out userattr.Values
	for _, a := range graphAttrs() {
		if a.Kind == userattr.List {
			switch l := g.GetList(a.Name); {
			case len(l) > 0:
				out.SetList(a.Name, slices.Clone(l))
			default:
				if p, ok := prior.LookupList(a.Name); ok && len(p) == 0 {
					out.SetList(a.Name, []string{})
				}
			}
			continue
		}
		switch v := g.Get(a.Name); {
		case v != "":
			out.Set(a.Name, v)
		default:
			if p, ok := prior.Lookup(a.Name); ok && p == "" {
				out.Set(a.Name, "")
			}
		}
	}
	return out
}

// ToGraph is the Graph user to create from planned values: every Graph attribute that is given.
func ToGraph(u User) graph.User {
	var g graph.User
	for _, a := range graphAttrs() {
		copyAttr(&g.Values, u.Values, a)
	}
	if u.Enabled != nil {
		g.AccountEnabled = *u.Enabled
	}
	return g
}

// ChangesTo lists what must be PATCHed to go from current to the planned values: unmanaged
// (absent) planned values are left alone, "" and [] clear.
func ChangesTo(plan, current userattr.Values) graph.UserChanges {
	var ch graph.UserChanges
	for _, a := range graphAttrs() {
		if a.Kind == userattr.List {
			p, ok := plan.LookupList(a.Name)
			if ok && !slices.Equal(p, current.GetList(a.Name)) {
				ch.Attrs.SetList(a.Name, slices.Clone(p))
			}
			continue
		}
		p, ok := plan.Lookup(a.Name)
		if !ok {
			continue
		}
		if cur, has := current.Lookup(a.Name); !has || cur != p {
			if !has && p == "" {
				continue // already empty
			}
			ch.Attrs.Set(a.Name, p)
		}
	}
	return ch
}

// Defaults are the resource-wide settings that apply to users without their own.
type Defaults struct {
	UsageLocation        string
	HasUsageLocation     bool // set in the configuration
	UsageLocationUnknown bool // known only after apply
	Enabled              *bool
	EnabledUnknown       bool
}

// Effective is what the configured users become: the configuration, with the user name from the
// key, the default mail nickname of new users, the resource's usage location and account setting
// for users without their own, and, for attributes left unset, what the state holds (the value
// Graph had at the last refresh). ModifyPlan and apply both use it, so the state an apply writes is
// the plan.
func Effective(config, state map[string]User, d Defaults) map[string]User {
	out := make(map[string]User, len(config))
	for k, cu := range config {
		pu := cu.Clone()
		pr, exists := state[k]
		var prior *User
		if exists {
			prior = &pr
		}
		KeepUnmanaged(&pu, cu, prior)
		pu.Set(userattr.UPN, k)
		if !cu.Has(userattr.MailNickname) && !cu.IsUnknown(userattr.MailNickname) && !exists {
			pu.Set(userattr.MailNickname, UPNLocal(k))
		}
		if !cu.Has(userattr.UsageLocation) && !cu.IsUnknown(userattr.UsageLocation) {
			switch {
			case d.UsageLocationUnknown:
				pu.Delete(userattr.UsageLocation)
				pu.Unknown = append(pu.Unknown, userattr.UsageLocation)
			case d.HasUsageLocation:
				pu.Set(userattr.UsageLocation, d.UsageLocation)
			}
		}
		if cu.Enabled == nil && !cu.IsUnknown(AccountEnabled) {
			switch {
			case d.EnabledUnknown:
				pu.Unknown = append(pu.Unknown, AccountEnabled)
			case d.Enabled != nil:
				v := *d.Enabled
				pu.Enabled = &v
			}
		}
		switch al, ok := cu.LookupList(userattr.Aliases); {
		case ok:
			pu.SetList(userattr.Aliases, NormaliseAliases(al)) // [] stays [], not null
		case exists && !cu.IsUnknown(userattr.Aliases):
			copyAttr(&pu.Values, pr.Values, mustAttr(userattr.Aliases)) // unmanaged: left alone
		}
		sort.Strings(pu.Unknown)
		pu.Unknown = slices.Compact(pu.Unknown)
		out[k] = pu
	}
	return out
}

// NormaliseAliases lower-cases, trims, sorts and de-duplicates addresses.
func NormaliseAliases(v []string) []string {
	out := make([]string, 0, len(v))
	for _, a := range v {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// AliasDiff is what Set-Mailbox adds and removes to go from have to want.
func AliasDiff(want, have []string) (add, remove []string) {
	want, have = NormaliseAliases(want), NormaliseAliases(have)
	for _, a := range want {
		if !slices.Contains(have, a) {
			add = append(add, a)
		}
	}
	for _, a := range have {
		if !slices.Contains(want, a) {
			remove = append(remove, a)
		}
	}
	return add, remove
}

// UPNLocal is the part of a user name before the @.
func UPNLocal(upn string) string {
	if at := strings.LastIndexByte(upn, '@'); at >= 0 {
		return upn[:at]
	}
	return upn
}

func mustAttr(name string) userattr.Attr {
	a, ok := userattr.ByName(name)
	if !ok {
		panic("users: no attribute " + name)
	}
	return a
}
