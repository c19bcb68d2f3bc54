package users

import (
	"strings"

	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

// Refresh brings the state's users to what Graph holds: for each listed user (by key), its Graph
// values (keeping the prior form of empty ones, see FromGraph, and the managed aliases, which
// RefreshAliases reads from Exchange), its account setting and its id. It returns, per listed
// user, the keys of the configured licences the user holds with exactly their disabled plans.
// Users that are not listed keep their values.
func Refresh(st *State, listed map[string]graph.User, licences []Licence) map[string][]string {
	assigned := map[string][]string{}
	if st.IDs == nil {
		st.IDs = map[string]string{}
	}
	for k, gu := range listed {
		e, ok := st.Users[k]
		if !ok {
			continue
		}
		aliases, managed := e.LookupList(userattr.Aliases)
		e.Values = FromGraph(e.Values, &gu)
		if managed {
			e.SetList(userattr.Aliases, aliases)
		}
		enabled := gu.AccountEnabled
		e.Enabled = &enabled
		st.Users[k] = e
		st.IDs[k] = gu.ID
		var have []string
		for _, l := range licences {
			if HasLicence(gu.AssignedLicenses, l) {
				have = append(have, l.Key)
			}
		}
		assigned[k] = have
	}
	return assigned
}

// ManagedAliases are the aliases the state manages, by lower-case user name: what RefreshAliases
// needs read.
func ManagedAliases(us map[string]User) map[string][]string {
	out := map[string][]string{}
	for k, e := range us {
		if al, ok := e.LookupList(userattr.Aliases); ok {
			out[strings.ToLower(k)] = al
		}
	}
	return out
}

// RefreshAliases sets the managed aliases of the users to what their mailboxes hold (read, by
// lower-case user name).
func RefreshAliases(us map[string]User, read map[string][]string) {
	for k, e := range us {
		if v, ok := read[strings.ToLower(k)]; ok && e.Has(userattr.Aliases) {
			e.SetList(userattr.Aliases, NormaliseAliases(v))
			us[k] = e
		}
	}
}
