package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// Fault suite (issue 7): under 30 % 429 with Retry-After, 5 % 503 and read-after-write lag the
// bulk path converges with nothing lost and nothing doubled, counted in the fake; a crash after K
// writes followed by a re-apply converges; Exchange faults do not break batch creation or user
// additions.

// graphFaults are the Graph faults of the suite.
func graphFaults() fakecloud.Knobs {
	return fakecloud.Knobs{ThrottleRatio: 0.3, RetryAfter: 0.05, Fail503Ratio: 0.05,
		ReadAfterWriteLag: 500 * time.Millisecond, RandomSeed: 11}
}

// checkExactUsers asserts that the tenant holds exactly want users, each once, none deleted,
// each with one O365_BUSINESS_PREMIUM licence and the CSV's department.
func checkExactUsers(f *fakecloud.Server, want []string) error {
	all := f.Users()
	seen := map[string]int{}
	var problems []string
	for _, u := range all {
		upn := strings.ToLower(u.UserPrincipalName)
		seen[upn]++
		if u.Deleted {
			problems = append(problems, upn+" deleted")
		}
		if len(u.AssignedLicenses) != 1 || u.AssignedLicenses[0].SkuID != fakecloud.SkuBusinessPremium {
			problems = append(problems, fmt.Sprintf("%s licences %v", upn, u.AssignedLicenses))
		}
		if u.Department != "Sales" || u.UsageLocation != "CN" {
			problems = append(problems, fmt.Sprintf("%s department %q usage location %q", upn, u.Department, u.UsageLocation))
		}
	}
	missing, dup := 0, 0
	for _, upn := range want {
		switch n := seen[upn]; {
		case n == 0:
			missing++
		case n > 1:
			dup += n - 1
		}
	}
	if missing > 0 || dup > 0 || len(all) != len(want) || len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], "…")
		}
		return fmt.Errorf("tenant: %d users (want %d), %d missing, %d duplicates; %s", len(all), len(want), missing, dup, strings.Join(problems, "; "))
	}
	return nil
}

// TestAccSuiteFaultsBulkUsers applies 1,000 licensed users under graphFaults (M365_FAULT_USERS=N
// for another count), checks that the tenant holds each exactly once, then terraform-plugin-testing
// plans again (the refresh under the same faults must find nothing to do) and destroys them. The
// write quota is Entra's 3,000 writes scaled to 15 s instead of 150 s, as in the scale tests and
// the bench: the faults are the subject here, and at the real quota the client's pacing alone (about
// 20 writes/s) makes the 2,000 writes of the apply and the 1,000 of the destroy last 150 s.
func TestAccSuiteFaultsBulkUsers(t *testing.T) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("M365_FAULT_USERS")); err == nil && v > 0 {
		n = v
	}
	e := newTestEnv(t, usersSeed(n+10, 0), graphFaults())
	upns := upnList("f", 1, n)
	cfg := e.config(usersConfig(adminCSV(upns, nil), "concurrency = 8\n  write_quota = 3000\n  write_window = \"15s\""))
	start := time.Now()
	accTest(t,
		resource.TestStep{
			Config: cfg,
			Check: func(*terraform.State) error {
				st := e.fake.Stats()
				t.Logf("%d users under faults in %s: %d Graph requests, %d writes, %d throttled, 503s %d",
					n, time.Since(start).Round(time.Second), st.Graph.Requests, st.Graph.Writes, st.Graph.Throttled, st.Graph.Status[503])
				if st.Graph.Throttled == 0 || st.Graph.Status[503] == 0 {
					return fmt.Errorf("the faults did not fire (429s %d, 503s %d)", st.Graph.Throttled, st.Graph.Status[503])
				}
				return checkExactUsers(e.fake, upns)
			},
		}, // terraform-plugin-testing then plans again: the refresh under the same faults must find nothing to do
	)
}

func TestAccSuiteFaultsCrashThenReapply(t *testing.T) {
	e := newTestEnv(t, usersSeed(100, 0), fakecloud.Knobs{})
	first, all := upnList("k", 1, 20), upnList("k", 1, 60)
	// The 40 new users take 80 writes (counted from this step); after 30 the process "dies": every
	// further write fails (the provider retries each failing write with backoff before giving up).
	// Under read-after-write lag creates go ahead of their licences, so 30 writes leave some of the
	// new users created, with or without a licence, and the others missing.
	crash := graphFaults()
	crash.FailAfterWrites = 30
	var afterCrash int
	accTest(t,
		resource.TestStep{Config: e.config(usersConfig(adminCSV(first, nil), ""))},
		resource.TestStep{
			PreConfig:   func() { e.fake.SetKnobs(crash) },
			Config:      e.config(usersConfig(adminCSV(all, nil), "")),
			ExpectError: re(`(?s)Some Users Were Not Written.*k\d\d\d@corp.com \((create|update)\):.*InternalServerError`),
		},
		resource.TestStep{ // re-apply, still under the throttling faults: converges, no duplicate
			PreConfig: func() {
				afterCrash = len(e.fake.Users())
				if afterCrash <= 20 || afterCrash >= 60 {
					t.Errorf("after the crash the tenant has %d users; want some but not all of the new ones", afterCrash)
				}
				e.fake.SetKnobs(graphFaults())
			},
			Config: e.config(usersConfig(adminCSV(all, nil), "")),
			Check:  func(*terraform.State) error { return checkExactUsers(e.fake, all) },
		},
		resource.TestStep{
			Config:           e.config(usersConfig(adminCSV(all, nil), "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	)
	t.Logf("crash after 30 writes left %d of 60 users; the re-apply converged", afterCrash)
}

// faultBatch is the migration-batch scenario of the suite: a go-imap source, the fake with knobs,
// a batch "wave-faults" fed from a CSV of the given mailboxes, and a check of its members.
type faultBatch struct {
	e       *testEnv
	exo     *exchange.Client
	cfg     func(emails ...string) string
	members func(want ...string) error
}

func newFaultBatch(t *testing.T, knobs fakecloud.Knobs) *faultBatch {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), knobs)
	exo := exoClient(t, e)
	dir := t.TempDir()
	fb := &faultBatch{e: e, exo: exo}
	fb.cfg = func(emails ...string) string {
		file := writeTestFile(t, dir, strings.Join(emails, "+")+".csv", []byte(migrationCSVText(users, emails, nil)))
		return e.config(endpointHCL(srv, "") + fmt.Sprintf(`
ephemeral "m365_imap_migration_csv" "w" {
  path = %q
}

resource "m365_migration_batch" "w" {
  name              = "wave-faults"
  source_endpoint   = m365_imap_migration_endpoint.src.name
  csv_wo            = ephemeral.m365_imap_migration_csv.w.content
  csv_wo_version    = 1
  preflight_ca_file = %q
  wait_for          = "synced"
}
`, file, srv.CACertFile))
	}
	fb.members = func(want ...string) error {
		got := batchUsers(t, exo, "wave-faults")
		if len(got) != len(want) {
			return fmt.Errorf("the batch has %d users, want %d: %v", len(got), len(want), mustJSON(got))
		}
		for _, w := range want {
			if _, ok := got[w]; !ok {
				return fmt.Errorf("%s is not in the batch: %v", w, mustJSON(got))
			}
		}
		return nil
	}
	return fb
}

// oneBatchOf checks that New-MigrationBatch succeeded once in all and the batch holds exactly want.
func (fb *faultBatch) oneBatchOf(want ...string) func(*terraform.State) error {
	return func(*terraform.State) error {
		if n := cmdletCalls(fb.e, "New-MigrationBatch"); n != 1 {
			return fmt.Errorf("New-MigrationBatch succeeded %d times, want 1", n)
		}
		return fb.members(want...)
	}
}

// TestAccSuiteFaultsMigrationBatch: batch creation and user additions under Exchange throttling
// (429), the concurrency-limit 500 and New-* lag converge: one batch, each user once.
func TestAccSuiteFaultsMigrationBatch(t *testing.T) {
	fb := newFaultBatch(t, fakecloud.Knobs{ExchangeThrottleRatio: 0.3, ExchangeConcurrencyRatio: 0.1,
		ExchangeLag: 700 * time.Millisecond, RetryAfter: 0.05, RandomSeed: 5})
	e := fb.e
	one := []string{"zhang.san@contoso.com"}
	three := []string{"zhang.san@contoso.com", "li.si@contoso.com", "wang.wu@contoso.com"}
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{
			Config: fb.cfg(one...),
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "New-MigrationBatch"); n != 1 {
					return fmt.Errorf("New-MigrationBatch succeeded %d times, want 1", n)
				}
				if n := cmdletCalls(e, "New-MigrationEndpoint"); n != 1 {
					return fmt.Errorf("New-MigrationEndpoint succeeded %d times, want 1", n)
				}
				st := e.fake.Stats()
				if st.Exchange.Throttled == 0 || st.Exchange.Status[500] == 0 {
					return fmt.Errorf("the Exchange faults did not fire (429s %d, 500s %d)", st.Exchange.Throttled, st.Exchange.Status[500])
				}
				return fb.members(one...)
			},
		},
		{ // two users added under the same faults
			Config: fb.cfg(three...),
			Check:  fb.oneBatchOf(three...),
		},
		{Config: fb.cfg(three...), PlanOnly: true},
	}})
	if _, err := fb.exo.GetMigrationBatch(context.Background(), "wave-faults"); err == nil {
		t.Errorf("the batch still exists after destroy")
	}
}

// TestAccSuiteFaultsMigrationCrashThenReapply: Exchange "crashes" after the endpoint is created
// (every further write cmdlet fails), then again before users are added; each re-apply converges
// to one batch with exactly the configured users.
func TestAccSuiteFaultsMigrationCrashThenReapply(t *testing.T) {
	fb := newFaultBatch(t, fakecloud.Knobs{})
	e := fb.e
	one := []string{"zhang.san@contoso.com"}
	three := []string{"zhang.san@contoso.com", "li.si@contoso.com", "wang.wu@contoso.com"}
	crash := func(k int) func() { return func() { e.fake.SetKnobs(fakecloud.Knobs{ExchangeFailAfterWrites: k}) } }
	heal := func() { e.fake.SetKnobs(fakecloud.Knobs{ExchangeThrottleRatio: 0.3, RetryAfter: 0.05, RandomSeed: 9}) }
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{ // New-MigrationEndpoint succeeds, New-MigrationBatch does not
			PreConfig:   crash(1),
			Config:      fb.cfg(one...),
			ExpectError: re(`(?s)exchange_fail_after_writes=1 reached`),
		},
		{
			PreConfig: heal,
			Config:    fb.cfg(one...),
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "New-MigrationEndpoint"); n != 1 {
					return fmt.Errorf("New-MigrationEndpoint succeeded %d times, want 1", n)
				}
				if n := cmdletCalls(e, "New-MigrationBatch"); n != 1 {
					return fmt.Errorf("New-MigrationBatch succeeded %d times, want 1", n)
				}
				return fb.members(one...)
			},
		},
		{ // the addition's first write fails
			PreConfig:   crash(-1),
			Config:      fb.cfg(three...),
			ExpectError: re(`(?s)exchange_fail_after_writes=-1 reached`),
		},
		{
			PreConfig: heal,
			Config:    fb.cfg(three...),
			Check:     fb.oneBatchOf(three...),
		},
		{Config: fb.cfg(three...), PlanOnly: true},
	}})
}
