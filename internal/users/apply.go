package users

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

// Licence is a configured licence resolved against the tenant's SKUs.
type Licence struct {
	Key      string   // as configured: a part number or a SKU id
	SkuID    string   // lower case
	Disabled []string // plan ids, sorted
}

// Assigned is the licence in Graph's terms.
func (l Licence) Assigned() graph.AssignedLicense {
	return graph.AssignedLicense{SkuID: l.SkuID, DisabledPlans: append([]string{}, l.Disabled...)}
}

// HasLicence reports whether assigned holds l with exactly its disabled plans.
func HasLicence(assigned []graph.AssignedLicense, l Licence) bool {
	for _, a := range assigned {
		if strings.EqualFold(a.SkuID, l.SkuID) {
			d := slices.Clone(a.DisabledPlans)
			for i := range d {
				d[i] = strings.ToLower(d[i])
			}
			sort.Strings(d)
			return slices.Equal(slices.Compact(d), l.Disabled)
		}
	}
	return false
}

// LicenceChanges is the assignLicense of one user (m365_user) holding assigned: the wanted
// licences it lacks (or holds with other disabled plans), and the SKUs of old that are no longer
// wanted and that it holds. Licences assigned otherwise are left alone.
func LicenceChanges(want, old []Licence, assigned []graph.AssignedLicense) (add []graph.AssignedLicense, remove []string) {
	keep := map[string]bool{}
	for _, w := range want {
		keep[w.SkuID] = true
		if !HasLicence(assigned, w) {
			add = append(add, w.Assigned())
		}
	}
	for _, o := range old {
		if !keep[o.SkuID] && HasSku(assigned, o.SkuID) {
			remove = append(remove, o.SkuID)
		}
	}
	return add, remove
}

// HasSku reports whether assigned holds the SKU, whatever its disabled plans.
func HasSku(assigned []graph.AssignedLicense, skuID string) bool {
	return slices.ContainsFunc(assigned, func(a graph.AssignedLicense) bool { return strings.EqualFold(a.SkuID, skuID) })
}

// SkuLoss is a SKU removed from the configured licences and the managed users that hold it.
type SkuLoss struct {
	Name  string
	Users []string
}

// LicenceLosses lists, per SKU in old and not in new (configured keys, compared by SKU id through
// skuID, which maps a key to its id or returns the key itself when unknown), the users that stay
// managed (in staying) and hold it according to assigned, sorted.
func LicenceLosses(oldKeys, newKeys []string, skuID func(key string) string, assigned map[string][]string, staying map[string]User) []SkuLoss {
	kept := map[string]bool{}
	for _, k := range newKeys {
		kept[strings.ToLower(skuID(k))] = true
	}
	var out []SkuLoss
	for _, key := range oldKeys {
		id := strings.ToLower(skuID(key))
		if kept[id] {
			continue
		}
		loss := SkuLoss{Name: key}
		for _, k := range slices.Sorted(maps.Keys(assigned)) {
			if _, ok := staying[k]; !ok {
				continue
			}
			for _, held := range assigned[k] {
				if strings.ToLower(skuID(held)) == id {
					loss.Users = append(loss.Users, k)
					break
				}
			}
		}
		if len(loss.Users) > 0 {
			out = append(out, loss)
		}
	}
	return out
}

// State is what m365_users holds: the users with their managed values, their object ids, the keys
// of the licences each holds, and the generated initial passwords. The zero State is "no state yet"
// (a create): Users is nil.
type State struct {
	Users    map[string]User
	IDs      map[string]string
	Assigned map[string][]string
	Initial  map[string]string
}

// Desired is what an apply must reach.
type Desired struct {
	// Users are the effective users (see Effective).
	Users map[string]User
	// Want are the configured licences, Old the ones of the state, resolved.
	Want, Old []Licence
	// ManageLicences: licences are configured (even as []); the state then records them per user.
	ManageLicences    bool
	AdoptExisting     bool
	DeleteRemoved     bool
	GeneratePasswords bool
	// Password is password_wo ("" when not configured); ResetPasswords sends it to existing users.
	Password       string
	ResetPasswords bool
	ForceChange    bool
	// AttemptedBefore are the lower-case user names whose create failed in an earlier apply: a user
	// Graph created before failing is taken over, not refused.
	AttemptedBefore map[string]bool
}

// OpKind says what a write does for a user.
type OpKind int

const (
	OpCreate OpKind = iota
	OpAdopt
	OpUpdate
	OpDelete
)

func (k OpKind) String() string { return [...]string{"create", "adopt", "update", "delete"}[k] }

// Classify sorts the users into those to create (not in the state, or without an id), to update
// and to remove, each sorted.
func Classify(d Desired, prior State) (creates, updates, removes []string) {
	for k := range d.Users {
		if _, ok := prior.Users[k]; ok && prior.IDs[k] != "" {
			updates = append(updates, k)
		} else {
			creates = append(creates, k)
		}
	}
	for k := range prior.Users {
		if _, ok := d.Users[k]; !ok {
			removes = append(removes, k)
		}
	}
	sort.Strings(creates)
	sort.Strings(updates)
	sort.Strings(removes)
	return creates, updates, removes
}

// Failure is one user that could not be written.
type Failure struct {
	Key  string
	Kind OpKind
	// Refused is set for a user that was not attempted; Err for a write that failed.
	Refused string
	Err     error
}

// Plan is the writes of one apply, in the order of Ops.
type Plan struct {
	Ops []graph.BulkOp
	// Released are the removed users that leave the state without a write.
	Released []string
	// Refused are the users not attempted (an existing user that is not adopted).
	Refused []Failure

	kinds     []OpKind
	passwords []string // per op: the password a create sent
	creates   []string
	updates   []string
	removes   []string
	ids       map[string]string // the state's ids, with the adopted users'
}

// Build plans the writes from prior to d. existing are the users that already exist among those to
// create, by lower-case user name; newPassword generates an initial password.
func Build(d Desired, prior State, existing map[string]graph.User, newPassword func() (string, error)) (*Plan, error) {
	p := &Plan{ids: maps.Clone(prior.IDs)}
	if p.ids == nil {
		p.ids = map[string]string{}
	}
	p.creates, p.updates, p.removes = Classify(d, prior)
	wantBySku := map[string]Licence{}
	for _, w := range d.Want {
		wantBySku[w.SkuID] = w
	}
	oldByKey := map[string]Licence{}
	changedSku := map[string]bool{} // SKUs whose disabled plans changed
	for _, o := range d.Old {
		oldByKey[o.Key] = o
		if w, ok := wantBySku[o.SkuID]; ok && !slices.Equal(w.Disabled, o.Disabled) {
			changedSku[o.SkuID] = true
		}
	}
	add := func(op graph.BulkOp, kind OpKind, password string) {
		p.Ops = append(p.Ops, op)
		p.kinds = append(p.kinds, kind)
		p.passwords = append(p.passwords, password)
	}
	for _, k := range p.creates {
		pu := d.Users[k]
		if ex, ok := existing[strings.ToLower(k)]; ok {
			if !d.AdoptExisting && !d.AttemptedBefore[strings.ToLower(k)] {
				p.Refused = append(p.Refused, Failure{Key: k, Kind: OpCreate,
					Refused: "a user with this name already exists and is not managed by this resource; set adopt_existing = true to take it over"})
				continue
			}
			ch := ChangesTo(pu.Values, FromGraph(userattr.Values{}, &ex))
			if pu.Enabled != nil && *pu.Enabled != ex.AccountEnabled {
				v := *pu.Enabled
				ch.AccountEnabled = &v
			}
			op := graph.BulkOp{Key: k, UpdateID: ex.ID, Update: &ch}
			for _, w := range d.Want {
				if !HasLicence(ex.AssignedLicenses, w) {
					op.AssignAdd = append(op.AssignAdd, w.Assigned())
				}
			}
			p.ids[k] = ex.ID
			add(op, OpAdopt, "")
			continue
		}
		pw := d.Password
		if d.GeneratePasswords {
			g, err := newPassword()
			if err != nil {
				return nil, err
			}
			pw = g
		}
		nu := graph.NewUser{User: ToGraph(pu), Password: pw, ForceChangePasswordNextSignIn: d.ForceChange}
		var assign []graph.AssignedLicense
		for _, w := range d.Want {
			assign = append(assign, w.Assigned())
		}
		add(graph.BulkOp{Key: k, Create: &nu, AssignAdd: assign}, OpCreate, pw)
	}
	for _, k := range p.updates {
		pu, su := d.Users[k], prior.Users[k]
		ch := ChangesTo(pu.Values, su.Values)
		if pu.Enabled != nil && (su.Enabled == nil || *su.Enabled != *pu.Enabled) {
			v := *pu.Enabled
			ch.AccountEnabled = &v
		}
		if d.ResetPasswords {
			pw, force := d.Password, d.ForceChange
			ch.Password, ch.ForceChangePasswordNextSignIn = &pw, &force
		}
		op := graph.BulkOp{Key: k, UpdateID: p.ids[k]}
		if !ch.IsEmpty() {
			op.Update = &ch
		}
		heldSku := map[string]bool{}
		for _, key := range prior.Assigned[k] {
			if o, ok := oldByKey[key]; ok {
				heldSku[o.SkuID] = true
			}
			for _, w := range d.Want {
				if w.Key == key {
					heldSku[w.SkuID] = true
				}
			}
		}
		for _, w := range d.Want {
			if !heldSku[w.SkuID] || changedSku[w.SkuID] {
				op.AssignAdd = append(op.AssignAdd, w.Assigned())
			}
		}
		for _, o := range d.Old {
			if _, keep := wantBySku[o.SkuID]; !keep && heldSku[o.SkuID] {
				op.AssignRemove = append(op.AssignRemove, o.SkuID)
			}
		}
		if op.Update == nil && len(op.AssignAdd) == 0 && len(op.AssignRemove) == 0 {
			continue
		}
		add(op, OpUpdate, "")
	}
	// Removed users are released (they leave the state, nothing is sent) unless the configuration
	// opts in to deleting them; the plan warned either way.
	for _, k := range p.removes {
		if p.ids[k] == "" {
			continue
		}
		if !d.DeleteRemoved {
			p.Released = append(p.Released, k)
			continue
		}
		add(graph.BulkOp{Key: k, Delete: p.ids[k]}, OpDelete, "")
	}
	return p, nil
}

// Kind is what op i does.
func (p *Plan) Kind(i int) OpKind { return p.kinds[i] }

// Outcome is what an apply leaves.
type Outcome struct {
	// State is the new state: every success applied, every failure left as it was.
	State State
	// Failures are the refused users and the failed writes, sorted by user.
	Failures []Failure
	// Attempted are the users whose create failed and that are not in the state: the next apply
	// takes them over if Graph created them after all.
	Attempted []string
	// Wrote is false when nothing at all was written (nor is anything in the state).
	Wrote bool
	// ResetFailed: some password resets may have failed, so the password version must stay.
	ResetFailed bool
}

// Fold applies the results of p.Ops (in order; nil when nothing was sent) to prior.
func (p *Plan) Fold(d Desired, prior State, results []graph.BulkResult) Outcome {
	wantKeys := make([]string, 0, len(d.Want))
	for _, w := range d.Want {
		wantKeys = append(wantKeys, w.Key)
	}
	st := State{Users: map[string]User{}, IDs: p.ids, Assigned: map[string][]string{}, Initial: maps.Clone(prior.Initial)}
	if st.Initial == nil {
		st.Initial = map[string]string{}
	}
	maps.Copy(st.Users, prior.Users)
	maps.Copy(st.Assigned, prior.Assigned)
	for _, k := range p.removes {
		if p.ids[k] == "" || slices.Contains(p.Released, k) {
			delete(st.Users, k)
			delete(st.Initial, k)
		}
	}
	for _, k := range p.updates {
		// Updates with nothing to write take the plan as is.
		st.Users[k] = d.Users[k]
		st.Assigned[k] = wantKeys
	}
	out := Outcome{Failures: slices.Clone(p.Refused), Wrote: len(p.updates) > 0 || prior.Users != nil}
	var attemptedNow []string
	for i, res := range results {
		k, kind := p.Ops[i].Key, p.kinds[i]
		switch kind {
		case OpCreate:
			if res.User != nil {
				out.Wrote = true
				st.Users[k] = d.Users[k]
				st.IDs[k] = res.User.ID
				st.Assigned[k] = nil
				if res.Err == nil {
					st.Assigned[k] = wantKeys
				}
				if d.GeneratePasswords {
					st.Initial[k] = p.passwords[i]
				}
			} else if res.Err != nil {
				attemptedNow = append(attemptedNow, k)
			}
		case OpAdopt:
			if res.Err == nil {
				out.Wrote = true
				st.Users[k] = d.Users[k]
				st.Assigned[k] = wantKeys
				if d.GeneratePasswords {
					st.Initial[k] = ""
				}
			} else {
				delete(st.IDs, k)
				attemptedNow = append(attemptedNow, k)
			}
		case OpUpdate:
			if res.Err != nil {
				st.Users[k] = prior.Users[k]
				st.Assigned[k] = prior.Assigned[k]
			}
		case OpDelete:
			if res.Err == nil || graph.IsNotFound(res.Err) {
				delete(st.Users, k)
				res.Err = nil
			}
		}
		if res.Err != nil {
			out.Failures = append(out.Failures, Failure{Key: k, Kind: kind, Err: res.Err})
		}
	}
	// Keep only the users in the new state in the per-user maps.
	for k := range st.IDs {
		if _, ok := st.Users[k]; !ok {
			delete(st.IDs, k)
		}
	}
	for k := range st.Assigned {
		if _, ok := st.Users[k]; !ok {
			delete(st.Assigned, k)
		}
	}
	// Users whose create failed earlier and that are still not in the state stay "ours".
	out.Attempted = attemptedNow
	for k := range d.Users {
		if _, in := st.Users[k]; !in && d.AttemptedBefore[strings.ToLower(k)] && !slices.Contains(attemptedNow, k) {
			out.Attempted = append(out.Attempted, k)
		}
	}
	sort.Strings(out.Attempted)
	out.Wrote = out.Wrote || len(out.Failures) == 0
	// Which resets failed is not told apart: with any failure, the version stays for all.
	out.ResetFailed = len(out.Failures) > 0 && d.ResetPasswords && slices.Contains(p.kinds, OpUpdate)
	sort.SliceStable(out.Failures, func(i, j int) bool { return out.Failures[i].Key < out.Failures[j].Key })
	out.State = st
	return out
}

// AliasWrite is one user's aliases to add and remove through Exchange Online.
type AliasWrite struct {
	UPN         string
	Add, Remove []string
}

// AliasWrites are the alias changes of the users now in the state whose managed aliases change.
func AliasWrites(d Desired, prior, now State) []AliasWrite {
	var out []AliasWrite
	keys := slices.Sorted(maps.Keys(now.Users))
	for _, k := range keys {
		pu, planned := d.Users[k]
		want, managed := pu.LookupList(userattr.Aliases)
		if !planned || !managed || now.IDs[k] == "" {
			continue
		}
		have := prior.Users[k].GetList(userattr.Aliases)
		add, remove := AliasDiff(want, have)
		if len(add)+len(remove) == 0 {
			continue
		}
		out = append(out, AliasWrite{UPN: k, Add: add, Remove: remove})
	}
	return out
}

// KeepUnwrittenAliases puts back the prior aliases of the users whose alias write failed, so the
// next plan retries it. written holds lower-case user names.
func KeepUnwrittenAliases(now *State, prior State, writes []AliasWrite, written map[string]bool) {
	al := mustAttr(userattr.Aliases)
	for _, w := range writes {
		if written[strings.ToLower(w.UPN)] {
			continue
		}
		u := now.Users[w.UPN].Clone()
		u.Delete(userattr.Aliases)
		if su, ok := prior.Users[w.UPN]; ok {
			copyAttr(&u.Values, su.Values, al)
		}
		now.Users[w.UPN] = u
	}
}
