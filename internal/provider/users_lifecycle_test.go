package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// warningRecorder keeps the warnings the provider returns to Terraform from plans (PlanResourceChange)
// and refreshes (ReadResource): what `terraform plan` prints for a reviewer.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string // summary + "\n" + detail
}

func (w *warningRecorder) record(ds []*tfprotov6.Diagnostic) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range ds {
		if d != nil && d.Severity == tfprotov6.DiagnosticSeverityWarning {
			w.warnings = append(w.warnings, d.Summary+"\n"+d.Detail)
		}
	}
}

// take returns the warnings recorded since the last take.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.warnings
	w.warnings = nil
	return out
}

// expect checks that a warning recorded since the last take contains every part, in order.
func (w *warningRecorder) expect(parts ...string) error {
	got := w.take()
	for _, s := range got {
		rest, ok := s, true
		for _, p := range parts {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("no warning contains %q; warnings: %q", parts, got)
}

// factories serve the provider through the recorder.
func (w *warningRecorder) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"m365": func() (tfprotov6.ProviderServer, error) {
			s, err := providerserver.NewProtocol6WithError(New("test")())()
			if err != nil {
				return nil, err
			}
			return &recordingServer{ProviderServer: s, rec: w}, nil
		},
	}
}

type recordingServer struct {
	tfprotov6.ProviderServer
	rec *warningRecorder
}

func (s *recordingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	resp, err := s.ProviderServer.PlanResourceChange(ctx, req)
	if resp != nil {
		s.rec.record(resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	resp, err := s.ProviderServer.ReadResource(ctx, req)
	if resp != nil {
		s.rec.record(resp.Diagnostics)
	}
	return resp, err
}

// usersNoLicenceConfig is m365_users over upns without licences (read timeout 20 s), and one
// m365_user.
func usersNoLicenceConfig(upns []string) string {
	var b strings.Builder
	b.WriteString("resource \"m365_users\" \"staff\" {\n  password_wo = \"Temp-Passw0rd!x\"\n  timeouts = { read = \"20s\" }\n  users = {\n")
	for _, u := range upns {
		fmt.Fprintf(&b, "    %q = { display_name = %q }\n", u, users.UPNLocal(u))
	}
	b.WriteString("  }\n}\n")
	b.WriteString(`
resource "m365_user" "one" {
  user_principal_name = "solo@corp.com"
  display_name        = "Solo"
  password_wo         = "Solo-Passw0rd!z"
}
`)
	return b.String()
}

// readsByID counts GET /users/{id} sub-requests in the fake's log, and how many answered 404.
func readsByID(f *fakecloud.Server) (reads, notFound int) {
	for _, r := range f.Requests() {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/v1.0/users/") {
			reads++
			if r.Status == 404 {
				notFound++
			}
		}
	}
	return reads, notFound
}

// TestAccUsersListLagRefresh: right after an apply creates users that nothing else touched (no
// licence), a plan runs while the advanced-query list misses them (list_lag) and their first
// reads by id answer 404 (read_after_write_lag). The plan is empty and the users stay in the
// state. Users deleted outside Terraform are dropped, with a warning naming each and the
// evidence: at once when the deleted users hold them, after repeated 404s when they were purged.
func TestAccUsersListLagRefresh(t *testing.T) {
	e := newTestEnv(t, usersSeed(25, 0), fakecloud.Knobs{ListLag: 5 * time.Second, ReadAfterWriteLag: 2 * time.Second})
	rec := &warningRecorder{}
	upns := upnList("l", 1, 5)
	cfg := e.config(usersNoLicenceConfig(upns))
	var gotReads, got404 int
	resource.ParallelTest(t, resource.TestCase{ProtoV6ProviderFactories: rec.factories(), Steps: []resource.TestStep{
		{
			// The framework plans again right after the apply (the lagging moment) and fails the
			// step if that plan is not empty.
			Config: cfg,
		},
		{ // and once more, still inside the lag window
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("m365_users.staff", tfjsonpath.New("ids"), knownvalue.MapSizeExact(5)),
				statecheck.ExpectKnownValue("m365_user.one", tfjsonpath.New("user_principal_name"), knownvalue.StringExact("solo@corp.com")),
			},
			Check: func(*terraformState) error {
				gotReads, got404 = readsByID(e.fake)
				if got404 == 0 {
					return fmt.Errorf("no read by id answered 404 (%d reads): the lag was not exercised", gotReads)
				}
				if all := e.fake.Users(); len(all) != 6 {
					return fmt.Errorf("the tenant has %d users (deleted ones included), want 6: a user was created twice", len(all))
				}
				if ws := rec.take(); len(ws) != 0 {
					return fmt.Errorf("warnings while nothing changed: %q", ws)
				}
				return nil
			},
		},
		{ // deleted outside Terraform (once the index has caught up): dropped, with a warning each
			PreConfig: func() {
				e.fake.SetKnobs(fakecloud.Knobs{ReadAfterWriteLag: 2 * time.Second})
				g := graphClient(t, e)
				live := liveUsers(e.fake)
				for _, u := range []string{"l003@corp.com", "solo@corp.com"} {
					if err := g.DeleteUser(context.Background(), live[u].ID); err != nil {
						t.Fatal(err)
					}
				}
				if err := e.fake.RemoveUser("l004@corp.com", true); err != nil { // purged: no deleted item
					t.Fatal(err)
				}
				rec.take()
			},
			Config:             cfg,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("m365_user.one", plancheck.ResourceActionCreate),
				plancheck.ExpectUnknownValue("m365_users.staff", tfjsonpath.New("ids").AtMapKey("l003@corp.com")),
				plancheck.ExpectUnknownValue("m365_users.staff", tfjsonpath.New("ids").AtMapKey("l004@corp.com")),
				plancheck.ExpectKnownValue("m365_users.staff", tfjsonpath.New("ids").AtMapKey("l002@corp.com"), knownvalue.NotNull()),
			}},
		},
	}})
	t.Logf("plans right after the create: %d reads by id, %d answered 404", gotReads, got404)
	got := rec.take()
	var users, user bool
	for _, w := range got {
		users = users || strings.Contains(w, "Users No Longer In The Tenant") && strings.Contains(w, "l003@corp.com: it is in the deleted users") &&
			strings.Contains(w, "l004@corp.com: ") && strings.Contains(w, "answered 404 and the deleted users do not hold it")
		user = user || strings.Contains(w, "User No Longer In The Tenant") && strings.Contains(w, "solo@corp.com")
	}
	for _, w := range got {
		t.Logf("warning: %s", w)
	}
	if !users || !user {
		t.Fatalf("warnings of the refresh after the out-of-band deletes: %q", got)
	}
}

// TestAccUsersRemovalIsVisible: removing a row releases the user (it stays in the tenant, 0
// DELETE /users) with a warning naming it; with delete_removed_users the warning lists every user
// to be deleted with the count, and they are deleted; removing a SKU warns with the number of
// users losing it.
func TestAccUsersRemovalIsVisible(t *testing.T) {
	e := newTestEnv(t, usersSeed(25, 0), fakecloud.Knobs{})
	rec := &warningRecorder{}
	all := upnList("v", 1, 6)
	addr := "m365_users.staff"
	deletes := func() int {
		n := 0
		for _, r := range e.fake.Requests() {
			if r.Method == "DELETE" && strings.HasPrefix(r.Path, "/v1.0/users/") {
				n++
			}
		}
		return n
	}
	resource.ParallelTest(t, resource.TestCase{ProtoV6ProviderFactories: rec.factories(), Steps: []resource.TestStep{
		{Config: e.config(usersConfig(adminCSV(all, nil), ""))},
		{ // v001 removed: released
			PreConfig: func() { rec.take(); e.fake.ResetStats() },
			Config:    e.config(usersConfig(adminCSV(all[1:], nil), "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("ids"), knownvalue.MapSizeExact(5)),
			},
			Check: func(*terraformState) error {
				if err := rec.expect("Users Released From Management", "1 user will be released from management and stay in the tenant: v001@corp.com."); err != nil {
					return err
				}
				if n := deletes(); n != 0 {
					return fmt.Errorf("%d DELETE /users sent without delete_removed_users", n)
				}
				if u, ok := liveUsers(e.fake)["v001@corp.com"]; !ok || len(u.AssignedLicenses) != 1 {
					return fmt.Errorf("the released user is gone or lost its licence: %+v", u)
				}
				return nil
			},
		},
		{ // v002 and v003 removed with the opt-in: deleted, and the warning says so
			PreConfig: func() { rec.take(); e.fake.ResetStats() },
			Config:    e.config(usersConfig(adminCSV(all[3:], nil), "delete_removed_users = true")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("ids"), knownvalue.MapSizeExact(3)),
			},
			Check: func(*terraformState) error {
				if err := rec.expect("2 USERS WILL BE DELETED", "2 users will be DELETED from the tenant: v002@corp.com, v003@corp.com.", "removed for good 30 days later"); err != nil {
					return err
				}
				if n := deletes(); n != 2 {
					return fmt.Errorf("%d DELETE /users sent, want 2", n)
				}
				live := liveUsers(e.fake)
				for _, u := range []string{"v002@corp.com", "v003@corp.com"} {
					if _, ok := live[u]; ok {
						return fmt.Errorf("%s was not deleted", u)
					}
				}
				if _, ok := live["v001@corp.com"]; !ok {
					return fmt.Errorf("the released v001 was deleted later")
				}
				return nil
			},
		},
		{ // the SKU removed from licenses: the warning counts the users losing it
			PreConfig: func() { rec.take() },
			Config:    e.config(strings.Replace(usersConfig(adminCSV(all[3:], nil), "delete_removed_users = true"), `licenses = [{ sku = "O365_BUSINESS_PREMIUM" }]`, "", 1)),
			Check: func(*terraformState) error {
				if err := rec.expect("Licences Will Be Removed From Users", "O365_BUSINESS_PREMIUM: 3 users lose it: v004@corp.com, v005@corp.com, v006@corp.com"); err != nil {
					return err
				}
				for _, u := range all[3:] {
					if n := len(liveUsers(e.fake)[u].AssignedLicenses); n != 0 {
						return fmt.Errorf("%s still has %d licences", u, n)
					}
				}
				return nil
			},
		},
	}})
}

func TestRemovedUsersWarning(t *testing.T) {
	s, d := removedUsersWarning([]string{"b@x.com", "a@x.com"}, false)
	if s != "Users Released From Management" || !strings.HasPrefix(d, "2 users will be released from management and stay in the tenant: a@x.com, b@x.com.") {
		t.Fatalf("%q / %q", s, d)
	}
	s, d = removedUsersWarning([]string{"a@x.com"}, true)
	if s != "1 USER WILL BE DELETED" || !strings.HasPrefix(d, "1 user will be DELETED from the tenant: a@x.com.") || !strings.Contains(d, "30 days later") {
		t.Fatalf("%q / %q", s, d)
	}
}

func TestLicenceLossWarning(t *testing.T) {
	_, d := licenceLossWarning([]users.SkuLoss{{Name: "E3", Users: []string{"a@x"}}, {Name: "E1", Users: []string{"a@x", "c@x"}}})
	if !strings.Contains(d, "  - E3: 1 user loses it: a@x\n  - E1: 2 users lose it: a@x, c@x") {
		t.Fatalf("%q", d)
	}
}
