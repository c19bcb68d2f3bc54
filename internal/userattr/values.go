package userattr

import (
	"maps"
	"slices"
)

// Values are a user's attribute values by attribute name. A string attribute's value is in
// Strings, a list's in Lists. An attribute that is absent is "not given" (not managed, not in the
// file); present with "" or an empty list it is given as empty, which clears it in Graph.
type Values struct {
	Strings map[string]string
	Lists   map[string][]string
}

// Of builds Values from name, value pairs of string attributes, for tests and literals.
func Of(pairs ...string) Values {
	var v Values
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Set(pairs[i], pairs[i+1])
	}
	return v
}

// Get is a string attribute's value ("" when absent).
func (v Values) Get(name string) string { return v.Strings[name] }

// Lookup is a string attribute's value and whether it is present.
func (v Values) Lookup(name string) (string, bool) {
	s, ok := v.Strings[name]
	return s, ok
}

// Set gives a string attribute a value.
func (v *Values) Set(name, value string) {
	if v.Strings == nil {
		v.Strings = map[string]string{}
	}
	v.Strings[name] = value
}

// GetList is a list attribute's values (nil when absent).
func (v Values) GetList(name string) []string { return v.Lists[name] }

// LookupList is a list attribute's values and whether it is present.
func (v Values) LookupList(name string) ([]string, bool) {
	l, ok := v.Lists[name]
	return l, ok
}

// SetList gives a list attribute its values; nil is stored as an empty list.
func (v *Values) SetList(name string, values []string) {
	if v.Lists == nil {
		v.Lists = map[string][]string{}
	}
	if values == nil {
		values = []string{}
	}
	v.Lists[name] = values
}

// Delete makes an attribute absent.
func (v *Values) Delete(name string) {
	delete(v.Strings, name)
	delete(v.Lists, name)
}

// Has reports whether an attribute is present.
func (v Values) Has(name string) bool {
	_, s := v.Strings[name]
	_, l := v.Lists[name]
	return s || l
}

// IsEmpty reports whether no attribute is present.
func (v Values) IsEmpty() bool { return len(v.Strings) == 0 && len(v.Lists) == 0 }

// Clone is a deep copy.
func (v Values) Clone() Values {
	var out Values
	if v.Strings != nil {
		out.Strings = maps.Clone(v.Strings)
	}
	if v.Lists != nil {
		out.Lists = make(map[string][]string, len(v.Lists))
		for k, l := range v.Lists {
			out.Lists[k] = slices.Clone(l)
			if out.Lists[k] == nil {
				out.Lists[k] = []string{}
			}
		}
	}
	return out
}

// Equal reports whether both hold the same attributes with the same values (nil and empty maps
// are the same; so are nil and empty lists).
func (v Values) Equal(o Values) bool {
	if len(v.Strings) != len(o.Strings) || len(v.Lists) != len(o.Lists) {
		return false
	}
	for k, s := range v.Strings {
		if t, ok := o.Strings[k]; !ok || s != t {
			return false
		}
	}
	for k, l := range v.Lists {
		if m, ok := o.Lists[k]; !ok || !slices.Equal(l, m) {
			return false
		}
	}
	return true
}
