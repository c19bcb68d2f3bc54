package provider

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// TestAccUsersScaleReport measures creating N users (M365_USERS_SCALE=N, e.g. 1000) with
// m365_users and with for_each over m365_user, against the fake with 50 ms latency and the
// Entra write quota scaled down 10× in time (300 writes per 15 s: the same 20 writes/s).
// It asserts correctness only; the numbers are logged (timings belong to make bench).
func TestAccUsersScaleReport(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("M365_USERS_SCALE"))
	if n <= 0 {
		t.Skip("set M365_USERS_SCALE=<number of users> to run")
	}
	const quota, window = 300, 15 * time.Second
	knobs := fakecloud.Knobs{Latency: 50 * time.Millisecond, WriteQuota: quota, WriteWindow: window}
	upns := upnList("s", 1, n)
	csv := adminCSV(upns, nil)

	run := func(name, body string) {
		e := newTestEnv(t, usersSeed(n+10, 0), knobs)
		var start time.Time
		var took time.Duration
		var st fakecloud.Stats
		var reqs []fakecloud.RequestRecord
		accTest(t, resource.TestStep{
			PreConfig: func() { start = time.Now() },
			Config:    e.config(body),
			ConfigStateChecks: []statecheck.StateCheck{usersStateCheck(func(*tfjson.State) error {
				took = time.Since(start)
				st, reqs = e.fake.Stats(), e.fake.Requests()
				if got := len(liveUsers(e.fake)); got != n {
					return fmt.Errorf("%d users in the tenant, want %d", got, n)
				}
				if all := len(e.fake.Users()); all != n {
					return fmt.Errorf("%d users (deleted included), want %d: duplicates", all, n)
				}
				return nil
			})},
		}, resource.TestStep{Config: e.config("")}) // destroy (the legacy state shim cannot read for_each keys)
		var first, last time.Time
		writes := 0
		for _, r := range reqs {
			if r.Service == fakecloud.ServiceGraph && r.Write && r.Status < 300 {
				if first.IsZero() || r.Time.Before(first) {
					first = r.Time
				}
				if r.Time.After(last) {
					last = r.Time
				}
				writes++
			}
		}
		rate := float64(writes) / last.Sub(first).Seconds()
		quotaRate := float64(quota) / window.Seconds()
		t.Logf("%s: %d users in %v (plan+apply+refresh); %d Graph requests (%.1f per user), %d writes, %d throttled (%.2f%%); "+
			"write phase %.1f writes/s = %.2f of the quota-bound %.1f writes/s (%.1f users/s)",
			name, n, took.Round(time.Second), st.Graph.Requests, float64(st.Graph.Requests)/float64(n), st.Graph.Writes, st.Graph.Throttled,
			100*float64(st.Graph.Throttled)/float64(max(1, st.Graph.Requests)), rate, rate/quotaRate, quotaRate, rate/2)
	}
	run("m365_users", usersConfig(csv, fmt.Sprintf("write_quota = %d\n  write_window = %q\n  concurrency = 8", quota, window.String())))
	run("for_each m365_user", fmt.Sprintf(`
data "m365_users_csv" "staff" {
  content  = %q
  defaults = { usage_location = "CN" }
}

resource "m365_user" "staff" {
  for_each            = data.m365_users_csv.staff.users
  user_principal_name = each.key
  display_name        = each.value.display_name
  department          = each.value.department
  usage_location      = each.value.usage_location
  password_wo         = "Temp-Passw0rd!x"
  licenses            = [{ sku = "O365_BUSINESS_PREMIUM" }]
}
`, csv))
}
