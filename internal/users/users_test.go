package users

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

func ptr[T any](v T) *T { return &v }

func withList(v userattr.Values, name string, l []string) userattr.Values {
	v.SetList(name, l)
	return v
}

func TestDocRoundTrip(t *testing.T) {
	u := User{Values: withList(withList(userattr.Of("user_principal_name", "li.lei@contoso.com", "display_name", "李雷",
		"job_title", ""), "other_mails", []string{}), "business_phones", []string{"+86 10 1234"}), Enabled: ptr(false)}
	s := Encode(u, []string{"SPE_E3", "O365_BUSINESS_PREMIUM"}, true)
	want := `{"account_enabled":false,"business_phones":["+86 10 1234"],"display_name":"李雷","job_title":"","licenses":["O365_BUSINESS_PREMIUM","SPE_E3"],"other_mails":[],"user_principal_name":"li.lei@contoso.com"}`
	if s != want {
		t.Fatalf("encoded\n %s\nwant\n %s", s, want)
	}
	back, ls, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(u) || back.Has("department") {
		t.Fatalf("decoded %+v, want %+v", back, u)
	}
	if len(ls) != 2 || ls[0] != "O365_BUSINESS_PREMIUM" {
		t.Fatalf("licences %v", ls)
	}
	if again := Encode(back, ls, true); again != s {
		t.Fatalf("not stable:\n %s\n %s", again, s)
	}
	// Without managed licences there is no licenses key; a document without it decodes to nil.
	if _, ls2, _ := Decode(Encode(u, nil, false)); ls2 != nil {
		t.Fatalf("licences %v", ls2)
	}
	if s3 := Encode(u, nil, true); !strings.Contains(s3, `"licenses":[]`) {
		t.Fatalf("managed licences, none held: %s", s3)
	}
	if _, _, err := Decode(`{"display_name":1}`); err == nil {
		t.Fatal("a number as display_name decoded")
	}
	// A key no attribute has (written by a newer version) is ignored.
	if got, _, err := Decode(`{"display_name":"A","shoe_size":"9"}`); err != nil || !got.Equal(User{Values: userattr.Of("display_name", "A")}) {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestFromGraphChangesToKeepUnmanaged(t *testing.T) {
	prior := withList(userattr.Of("department", ""), "business_phones", []string{})
	g := &graph.User{Values: withList(userattr.Of("user_principal_name", "a@corp.com", "display_name", "A", "job_title", "Clerk"), "other_mails", []string{"x@y.com"})}
	f := FromGraph(prior, g)
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"a cleared attribute stays \"\"", f.Get("department") == "" && f.Has("department")},
		{"an unset attribute is absent", !f.Has("city")},
		{"a cleared list stays []", f.Has("business_phones") && len(f.GetList("business_phones")) == 0},
		{"Graph's values are kept", f.Get("job_title") == "Clerk" && len(f.GetList("other_mails")) == 1},
	} {
		if !c.ok {
			t.Errorf("FromGraph: %s: %+v", c.name, f)
		}
	}

	plan := f.Clone()
	plan.Set("job_title", "Manager")
	plan.Delete("city")                     // unmanaged: never sent
	plan.Set("department", "")              // already empty: nothing to send
	plan.Set("mobile_phone", "")            // absent in Graph, "" planned: nothing to send
	plan.SetList("other_mails", []string{}) // cleared
	ch := ChangesTo(plan, f)
	if len(ch.Attrs.Strings) != 1 || ch.Attrs.Get("job_title") != "Manager" {
		t.Errorf("strings = %v", ch.Attrs.Strings)
	}
	if l, ok := ch.Attrs.LookupList("other_mails"); !ok || len(l) != 0 || ch.Attrs.Has("business_phones") {
		t.Errorf("lists = %v", ch.Attrs.Lists)
	}

	// KeepUnmanaged: absent in the configuration keeps the prior value (or absent for a new user);
	// an unknown configured value stays unknown.
	cfg := User{Values: userattr.Of("job_title", "Manager"), Unknown: []string{"surname"}}
	p := User{Values: f.Clone(), Unknown: []string{"city", "surname"}}
	prev := User{Values: f}
	KeepUnmanaged(&p, cfg, &prev)
	if p.Has("city") || p.IsUnknown("city") || p.Get("job_title") != "Clerk" || !p.IsUnknown("surname") {
		t.Errorf("with a prior: %+v", p)
	}
	q := User{Values: f.Clone()}
	KeepUnmanaged(&q, cfg, nil)
	if q.Has("other_mails") || q.Has("department") {
		t.Errorf("a new user's unmanaged attributes must be absent: %+v", q)
	}
}

func TestEffective(t *testing.T) {
	state := map[string]User{"old@corp.com": {Values: withList(userattr.Of("user_principal_name", "old@corp.com", "mail_nickname", "o",
		"display_name", "Old", "city", "Beijing"), "aliases", []string{"x@corp.com"}), Enabled: ptr(true)}}
	cases := []struct {
		name   string
		config User
		d      Defaults
		key    string
		check  func(User) bool
	}{
		{"new user: user name from the key, nickname from it, shared usage location and account setting",
			User{Values: userattr.Of("display_name", "N")}, Defaults{UsageLocation: "CN", HasUsageLocation: true, Enabled: ptr(true)}, "n.ew@corp.com",
			func(u User) bool {
				return u.UPN() == "n.ew@corp.com" && u.Get("mail_nickname") == "n.ew" && u.Get("usage_location") == "CN" && *u.Enabled && !u.Has("city")
			}},
		{"own usage location wins", User{Values: userattr.Of("display_name", "N", "usage_location", "HK")},
			Defaults{UsageLocation: "CN", HasUsageLocation: true}, "n@corp.com", func(u User) bool { return u.Get("usage_location") == "HK" }},
		{"unknown shared usage location makes the user's unknown", User{Values: userattr.Of("display_name", "N")},
			Defaults{UsageLocationUnknown: true}, "n@corp.com", func(u User) bool { return u.IsUnknown("usage_location") && !u.Has("usage_location") }},
		{"existing user: unmanaged attributes and aliases keep the state's, no nickname derived", User{Values: userattr.Of("display_name", "Old 2")},
			Defaults{}, "old@corp.com", func(u User) bool {
				return u.Get("city") == "Beijing" && u.Get("mail_nickname") == "o" && slices.Equal(u.GetList("aliases"), []string{"x@corp.com"})
			}},
		{"aliases are normalised; [] stays []", User{Values: withList(userattr.Of("display_name", "A"), "aliases", []string{" B@Corp.com", "a@corp.com", "b@corp.com"})},
			Defaults{}, "a@corp.com", func(u User) bool { return slices.Equal(u.GetList("aliases"), []string{"a@corp.com", "b@corp.com"}) }},
		{"removing all aliases", User{Values: withList(userattr.Of("display_name", "Old"), "aliases", []string{})},
			Defaults{}, "old@corp.com", func(u User) bool { l, ok := u.LookupList("aliases"); return ok && len(l) == 0 }},
	}
	for _, c := range cases {
		got := Effective(map[string]User{c.key: c.config}, state, c.d)[c.key]
		if !c.check(got) {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
}

// buildAndFold plans d from prior, answers the ops with answer, and folds the results.
func buildAndFold(t *testing.T, d Desired, prior State, existing map[string]graph.User, answer func(graph.BulkOp) graph.BulkResult) (*Plan, Outcome) {
	t.Helper()
	n := 0
	p, err := Build(d, prior, existing, func() (string, error) { n++; return "Generated-" + strings.Repeat("x", n), nil })
	if err != nil {
		t.Fatal(err)
	}
	var results []graph.BulkResult
	for _, op := range p.Ops {
		results = append(results, answer(op))
	}
	return p, p.Fold(d, prior, results)
}

func ok(op graph.BulkOp) graph.BulkResult {
	r := graph.BulkResult{Key: op.Key}
	if op.Create != nil {
		r.User = &graph.User{ID: "id-" + op.Key}
	}
	return r
}

func TestBuildAndFold(t *testing.T) {
	e3 := Licence{Key: "SPE_E3", SkuID: "e3"}
	bp := Licence{Key: "O365_BUSINESS_PREMIUM", SkuID: "bp"}
	user := func(name string) User {
		return User{Values: userattr.Of("user_principal_name", name, "display_name", name, "usage_location", "CN"), Enabled: ptr(true)}
	}
	prior := State{
		Users:    map[string]User{"keep@c.com": user("keep@c.com"), "gone@c.com": user("gone@c.com")},
		IDs:      map[string]string{"keep@c.com": "id-keep", "gone@c.com": "id-gone"},
		Assigned: map[string][]string{"keep@c.com": {"O365_BUSINESS_PREMIUM"}, "gone@c.com": {"O365_BUSINESS_PREMIUM"}},
	}
	changed := user("keep@c.com")
	changed.Set("department", "Sales")

	cases := []struct {
		name     string
		d        Desired
		prior    State
		existing map[string]graph.User
		answer   func(graph.BulkOp) graph.BulkResult
		wantOps  []string // "kind key" in order
		check    func(*testing.T, *Plan, Outcome)
	}{
		{
			name: "create with licence and generated password",
			d: Desired{Users: map[string]User{"new@c.com": user("new@c.com")}, Want: []Licence{e3}, ManageLicences: true,
				GeneratePasswords: true, ForceChange: true},
			answer:  ok,
			wantOps: []string{"create new@c.com"},
			check: func(t *testing.T, p *Plan, o Outcome) {
				op := p.Ops[0]
				if op.Create.Password != "Generated-x" || !op.Create.ForceChangePasswordNextSignIn || len(op.AssignAdd) != 1 || op.Create.UPN() != "new@c.com" {
					t.Errorf("op %+v", op)
				}
				if o.State.IDs["new@c.com"] != "id-new@c.com" || o.State.Initial["new@c.com"] != "Generated-x" ||
					!slices.Equal(o.State.Assigned["new@c.com"], []string{"SPE_E3"}) || !o.Wrote || len(o.Failures) != 0 {
					t.Errorf("outcome %+v", o)
				}
			},
		},
		{
			name:     "an existing user is refused without adopt_existing",
			d:        Desired{Users: map[string]User{"x@c.com": user("x@c.com")}},
			existing: map[string]graph.User{"x@c.com": {ID: "id-x", Values: userattr.Of("user_principal_name", "x@c.com")}},
			answer:   ok,
			check: func(t *testing.T, p *Plan, o Outcome) {
				if len(o.Failures) != 1 || o.Failures[0].Refused == "" || o.State.Users["x@c.com"].Has("display_name") {
					t.Errorf("outcome %+v", o)
				}
			},
		},
		{
			name:     "adopt: PATCH only what differs, licences it lacks",
			d:        Desired{Users: map[string]User{"x@c.com": user("x@c.com")}, AdoptExisting: true, Want: []Licence{e3}},
			existing: map[string]graph.User{"x@c.com": {ID: "id-x", AccountEnabled: true, Values: userattr.Of("user_principal_name", "x@c.com", "display_name", "Someone")}},
			answer:   ok,
			wantOps:  []string{"adopt x@c.com"},
			check: func(t *testing.T, p *Plan, o Outcome) {
				ch := p.Ops[0].Update
				if ch == nil || ch.Attrs.Get("display_name") != "x@c.com" || ch.Attrs.Get("usage_location") != "CN" || ch.Attrs.Has("user_principal_name") ||
					ch.AccountEnabled != nil || len(p.Ops[0].AssignAdd) != 1 || o.State.IDs["x@c.com"] != "id-x" {
					t.Errorf("op %+v / %+v", p.Ops[0], ch)
				}
			},
		},
		{
			name:    "update, SKU swap, release a removed user",
			d:       Desired{Users: map[string]User{"keep@c.com": changed}, Want: []Licence{e3}, Old: []Licence{bp}, ManageLicences: true},
			prior:   prior,
			answer:  ok,
			wantOps: []string{"update keep@c.com"},
			check: func(t *testing.T, p *Plan, o Outcome) {
				op := p.Ops[0]
				if op.Update.Attrs.Get("department") != "Sales" || len(op.AssignAdd) != 1 || !slices.Equal(op.AssignRemove, []string{"bp"}) {
					t.Errorf("op %+v", op)
				}
				if !slices.Equal(p.Released, []string{"gone@c.com"}) || o.State.Users["gone@c.com"].Has("display_name") || o.State.IDs["gone@c.com"] != "" {
					t.Errorf("released %v, state %+v", p.Released, o.State)
				}
				if o.State.Users["keep@c.com"].Get("department") != "Sales" || !slices.Equal(o.State.Assigned["keep@c.com"], []string{"SPE_E3"}) {
					t.Errorf("state %+v", o.State)
				}
			},
		},
		{
			name:  "delete_removed_users deletes; a 404 counts as deleted",
			d:     Desired{Users: map[string]User{"keep@c.com": user("keep@c.com")}, DeleteRemoved: true, Old: []Licence{bp}, Want: []Licence{bp}},
			prior: prior,
			answer: func(op graph.BulkOp) graph.BulkResult {
				return graph.BulkResult{Key: op.Key, Err: &graph.Error{StatusCode: 404}}
			},
			wantOps: []string{"delete gone@c.com"},
			check: func(t *testing.T, p *Plan, o Outcome) {
				if _, in := o.State.Users["gone@c.com"]; in || len(o.Failures) != 0 {
					t.Errorf("outcome %+v", o)
				}
			},
		},
		{
			name: "a failed update keeps the prior values and the password version",
			d: Desired{Users: map[string]User{"keep@c.com": changed, "gone@c.com": user("gone@c.com")}, Want: []Licence{bp}, Old: []Licence{bp},
				Password: "N3w-Passw0rd!", ResetPasswords: true},
			prior: prior,
			answer: func(op graph.BulkOp) graph.BulkResult {
				if op.Key == "keep@c.com" {
					return graph.BulkResult{Key: op.Key, Err: errors.New("Request_BadRequest")}
				}
				return ok(op)
			},
			wantOps: []string{"update gone@c.com", "update keep@c.com"},
			check: func(t *testing.T, p *Plan, o Outcome) {
				if o.State.Users["keep@c.com"].Has("department") || len(o.Failures) != 1 || o.Failures[0].Key != "keep@c.com" || !o.ResetFailed {
					t.Errorf("outcome %+v", o)
				}
				if pw := p.Ops[0].Update.Password; pw == nil || *pw != "N3w-Passw0rd!" {
					t.Errorf("reset not sent: %+v", p.Ops[0].Update)
				}
			},
		},
		{
			name: "a create that failed before Graph answered is remembered for the next apply",
			d:    Desired{Users: map[string]User{"new@c.com": user("new@c.com")}, AttemptedBefore: map[string]bool{"other@c.com": true}},
			answer: func(op graph.BulkOp) graph.BulkResult {
				return graph.BulkResult{Key: op.Key, Err: errors.New("timeout")}
			},
			wantOps: []string{"create new@c.com"},
			check: func(t *testing.T, p *Plan, o Outcome) {
				if !slices.Equal(o.Attempted, []string{"new@c.com"}) || o.Wrote {
					t.Errorf("outcome %+v", o)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, o := buildAndFold(t, c.d, c.prior, c.existing, c.answer)
			var ops []string
			for i, op := range p.Ops {
				ops = append(ops, p.Kind(i).String()+" "+op.Key)
			}
			if !slices.Equal(ops, c.wantOps) {
				t.Fatalf("ops %v, want %v", ops, c.wantOps)
			}
			c.check(t, p, o)
		})
	}
}

func TestAliasWrites(t *testing.T) {
	d := Desired{Users: map[string]User{
		"a@c.com": {Values: withList(userattr.Of(), "aliases", []string{"a1@c.com", "a2@c.com"})},
		"b@c.com": {Values: userattr.Of("display_name", "B")}, // unmanaged
		"n@c.com": {Values: withList(userattr.Of(), "aliases", []string{"n1@c.com"})},
	}}
	prior := State{Users: map[string]User{"a@c.com": {Values: withList(userattr.Of(), "aliases", []string{"a1@c.com", "old@c.com"})}}}
	now := State{Users: map[string]User{"a@c.com": d.Users["a@c.com"], "b@c.com": d.Users["b@c.com"], "n@c.com": d.Users["n@c.com"]},
		IDs: map[string]string{"a@c.com": "1", "b@c.com": "2", "n@c.com": "3"}}
	w := AliasWrites(d, prior, now)
	if len(w) != 2 || w[0].UPN != "a@c.com" || !slices.Equal(w[0].Add, []string{"a2@c.com"}) || !slices.Equal(w[0].Remove, []string{"old@c.com"}) ||
		w[1].UPN != "n@c.com" {
		t.Fatalf("writes %+v", w)
	}
	KeepUnwrittenAliases(&now, prior, w, map[string]bool{"n@c.com": true})
	if !slices.Equal(now.Users["a@c.com"].GetList("aliases"), []string{"a1@c.com", "old@c.com"}) || len(now.Users["n@c.com"].GetList("aliases")) != 1 {
		t.Fatalf("after a failed write: %+v", now.Users)
	}
}

func TestRefresh(t *testing.T) {
	st := State{Users: map[string]User{
		"a@c.com": {Values: withList(userattr.Of("user_principal_name", "a@c.com", "department", "", "city", "Old"), "aliases", []string{"x@c.com"})},
		"b@c.com": {Values: userattr.Of("user_principal_name", "b@c.com", "city", "Kept")},
	}}
	listed := map[string]graph.User{"a@c.com": {ID: "id-a", AccountEnabled: false, Values: userattr.Of("user_principal_name", "a@c.com", "city", "New"),
		AssignedLicenses: []graph.AssignedLicense{{SkuID: "E3", DisabledPlans: []string{"P2", "p1"}}, {SkuID: "bp", DisabledPlans: []string{"x"}}}}}
	assigned := Refresh(&st, listed, []Licence{{Key: "SPE_E3", SkuID: "e3", Disabled: []string{"p1", "p2"}}, {Key: "BP", SkuID: "bp"}})
	a := st.Users["a@c.com"]
	if a.Get("city") != "New" || !a.Has("department") || a.Enabled == nil || *a.Enabled || st.IDs["a@c.com"] != "id-a" ||
		!slices.Equal(a.GetList("aliases"), []string{"x@c.com"}) {
		t.Errorf("a: %+v", a)
	}
	// BP is held with another disabled plan: not the configured licence.
	if !slices.Equal(assigned["a@c.com"], []string{"SPE_E3"}) || st.Users["b@c.com"].Get("city") != "Kept" {
		t.Errorf("assigned %v, b %+v", assigned, st.Users["b@c.com"])
	}
	RefreshAliases(st.Users, map[string][]string{"a@c.com": {"Y@c.com", "x@c.com"}, "b@c.com": {"z@c.com"}})
	if !slices.Equal(st.Users["a@c.com"].GetList("aliases"), []string{"x@c.com", "y@c.com"}) || st.Users["b@c.com"].Has("aliases") {
		t.Errorf("aliases: %+v", st.Users)
	}
	if m := ManagedAliases(st.Users); len(m) != 1 {
		t.Errorf("managed %v", m)
	}
}

func TestLicenceChanges(t *testing.T) {
	e3 := Licence{Key: "SPE_E3", SkuID: "e3", Disabled: []string{"teams"}}
	bp := Licence{Key: "BP", SkuID: "bp"}
	other := Licence{Key: "X", SkuID: "x"}
	cases := []struct {
		name      string
		want, old []Licence
		assigned  []graph.AssignedLicense
		add       []string
		remove    []string
	}{
		{"nothing to do", []Licence{e3}, []Licence{e3}, []graph.AssignedLicense{{SkuID: "E3", DisabledPlans: []string{"TEAMS"}}}, nil, nil},
		{"other disabled plans are re-sent", []Licence{e3}, []Licence{e3}, []graph.AssignedLicense{{SkuID: "e3"}}, []string{"e3"}, nil},
		{"swap: add the new, remove the old it holds", []Licence{bp}, []Licence{e3, other}, []graph.AssignedLicense{{SkuID: "e3"}}, []string{"bp"}, []string{"e3"}},
		{"a licence assigned otherwise is left alone", nil, nil, []graph.AssignedLicense{{SkuID: "x"}}, nil, nil},
	}
	for _, c := range cases {
		add, remove := LicenceChanges(c.want, c.old, c.assigned)
		var got []string
		for _, a := range add {
			got = append(got, a.SkuID)
		}
		if !slices.Equal(got, c.add) || !slices.Equal(remove, c.remove) {
			t.Errorf("%s: add %v remove %v, want %v %v", c.name, got, remove, c.add, c.remove)
		}
	}
}

func TestLicenceLosses(t *testing.T) {
	ids := map[string]string{"e3": "id-e3", "id-e3": "id-e3", "e1": "id-e1"}
	skuID := func(k string) string {
		if v, ok := ids[strings.ToLower(k)]; ok {
			return v
		}
		return k
	}
	assigned := map[string][]string{"a@x": {"E3", "E1"}, "b@x": {"E3"}, "c@x": {"E1"}, "gone@x": {"E3"}}
	staying := map[string]User{"a@x": {}, "b@x": {}, "c@x": {}}
	// E3 removed, E1 written as it was: two staying users lose E3 (gone@x is not counted).
	got := LicenceLosses([]string{"E3", "E1"}, []string{"e1"}, skuID, assigned, staying)
	if len(got) != 1 || got[0].Name != "E3" || strings.Join(got[0].Users, ",") != "a@x,b@x" {
		t.Fatalf("%+v", got)
	}
	// The same SKU written as its id: no loss.
	if got := LicenceLosses([]string{"E3"}, []string{"ID-E3"}, skuID, assigned, staying); len(got) != 0 {
		t.Fatalf("re-spelling is a loss: %+v", got)
	}
}
