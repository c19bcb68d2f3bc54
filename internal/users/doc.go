package users

import (
	"encoding/json"
	"slices"
	"sort"

	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

// m365_users keeps one JSON document per user in its state (`attributes`) instead of one
// Terraform object per user. Terraform and terraform-plugin-framework spend CPU on every value of
// a resource in every plan and refresh — decoding, walking it against the schema several times,
// comparing, writing state snapshots — so 1,000 users of 22 attributes each (22,000 values) made a
// no-op plan take about 10 s; one string per user makes it about 1,000 values. Terraform renders a
// changed JSON string as a structured diff (`jsonencode({ ~ department = "Sales" -> "Finance" })`),
// so every per-attribute change still shows in the plan.

// Licenses is the key of the managed licences in a user's JSON document.
const Licenses = "licenses"

// Encode is a user's JSON document: every managed attribute (including "" and [], which clear a
// value), account_enabled, and, when licences are managed, the keys of the licences the user holds.
// Keys are sorted (encoding/json sorts map keys), so the same user always encodes to the same
// string. Unknown attributes are not encoded: a user with some is planned as unknown.
func Encode(u User, licenses []string, withLicenses bool) string {
	doc := map[string]any{}
	for k, v := range u.Strings {
		doc[k] = v
	}
	for k, l := range u.Lists {
		if l == nil {
			l = []string{} // [] clears the attribute: kept apart from null
		}
		doc[k] = l
	}
	if u.Enabled != nil {
		doc[AccountEnabled] = *u.Enabled
	}
	if withLicenses {
		ls := slices.Clone(licenses)
		if ls == nil {
			ls = []string{}
		}
		sort.Strings(ls)
		doc[Licenses] = ls
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // strings, bools and string slices always encode
	}
	return string(b)
}

// Decode reads a user's JSON document back; absent attributes are unmanaged. licenses is nil when
// the document holds none. Keys that are not attributes of the catalogue are ignored (an attribute
// a newer version wrote).
func Decode(s string) (User, []string, error) {
	var u User
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return u, nil, err
	}
	for _, a := range userattr.All() {
		raw, ok := doc[a.Name]
		if !ok {
			continue
		}
		if a.Kind == userattr.List {
			v := []string{}
			if err := json.Unmarshal(raw, &v); err != nil {
				return u, nil, err
			}
			u.SetList(a.Name, v)
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return u, nil, err
		}
		u.Set(a.Name, v)
	}
	if raw, ok := doc[AccountEnabled]; ok {
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return u, nil, err
		}
		u.Enabled = &v
	}
	var licenses []string
	if raw, ok := doc[Licenses]; ok {
		if err := json.Unmarshal(raw, &licenses); err != nil {
			return u, nil, err
		}
		if licenses == nil {
			licenses = []string{}
		}
	}
	return u, licenses, nil
}
