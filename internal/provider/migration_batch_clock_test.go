package provider

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// The batch against a tenant that keeps a real tenant's clock (issue 11): mailboxes appear a while
// after licensing, initial syncs take several polls, waits end early.

// clockSeed is the migration tenant with contoso.com verified and no user yet: the test creates
// them with m365_users, so their mailboxes are provisioned during the test.
func clockSeed(srv *imaptest.Server) *fakecloud.Seed {
	seed := fakecloud.DefaultSeed()
	seed.IMAPRootCAs = []string{srv.CACertFile}
	seed.Domains = []fakecloud.SeedDomain{{ID: "contoso.com", IsVerified: true, SupportedServices: []string{"Email"}}}
	return seed
}

// usersAndBatchHCL creates the given users (licensed, so that their mailboxes get provisioned) and
// a batch of the same users in one configuration.
func usersAndBatchHCL(srv *imaptest.Server, csvFile string, emails []string, batchExtra string) string {
	var users strings.Builder
	for _, e := range emails {
		fmt.Fprintf(&users, "    %q = { display_name = %q }\n", e, strings.Split(e, "@")[0])
	}
	return endpointHCL(srv, "accept_untrusted_certificates = true") + fmt.Sprintf(`
resource "m365_users" "staff" {
  users = {
%s  }
  usage_location      = "CN"
  password_wo         = "Temp-Passw0rd!x"
  password_wo_version = 1
  licenses            = [{ sku = "O365_BUSINESS_PREMIUM" }]
}

resource "m365_migration_batch" "w" {
  name            = "wave"
  source_endpoint = m365_imap_migration_endpoint.src.name
  csv_file        = %q
  targets         = keys(m365_users.staff.attributes)
  wait_for        = "synced"
  %s
}
`, users.String(), csvFile, batchExtra)
}

// earlySubmissions lists every New-MigrationBatch or Set-MigrationBatch -AddUsers row that the
// fake received before that user's mailbox existed (the request log names each submitted row).
func earlySubmissions(e *testEnv) (early []string, rows int) {
	for _, r := range e.fake.Requests() {
		for _, addr := range r.MigrationRows {
			rows++
			at, ok := e.fake.MailboxReadyAt(addr)
			if !ok || at.After(r.Time) {
				early = append(early, fmt.Sprintf("%s %s at %s (mailbox ready %t at %s)", r.Cmdlet, addr, r.Time.Format(time.RFC3339Nano), ok, at.Format(time.RFC3339Nano)))
			}
		}
	}
	return early, rows
}

// TestAccMigrationBatchWaitsForMailboxes: users and batch in one apply against a tenant that takes
// seconds to provision each mailbox: the batch is submitted only after every mailbox exists, and
// every user reaches Synced. Then a user added later waits for its own mailbox before -AddUsers.
func TestAccMigrationBatchWaitsForMailboxes(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	knobs := fakecloud.RealisticTiming()
	knobs.MailboxProvisionDelay, knobs.MailboxProvisionJitter = 3*time.Second, 2*time.Second
	e := newTestEnv(t, clockSeed(srv), knobs)
	dir := t.TempDir()
	two := []string{"li.si@contoso.com", "zhang.san@contoso.com"}
	all := []string{"li.si@contoso.com", "wang.wu@contoso.com", "zhang.san@contoso.com"}
	csv2 := writeTestFile(t, dir, "two.csv", []byte(migrationCSVText(users, two, nil)))
	csv3 := writeTestFile(t, dir, "three.csv", []byte(migrationCSVText(users, all, nil)))
	addr := "m365_migration_batch.w"
	noEarlyRows := func(wantRows int) error {
		early, rows := earlySubmissions(e)
		if len(early) > 0 {
			return fmt.Errorf("rows submitted before their mailbox existed: %v", early)
		}
		if rows != wantRows {
			return fmt.Errorf("the request log names %d submitted rows, want %d", rows, wantRows)
		}
		return nil
	}
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{
			Config: e.config(usersAndBatchHCL(srv, csv2, two, "")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("zhang.san@contoso.com").AtMapKey("items_synced"),
					knownvalue.Int64Exact(expectedMessages["zhang.san@contoso.com"])),
			},
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "New-MigrationBatch"); n != 1 {
					return fmt.Errorf("New-MigrationBatch ran %d times, want 1", n)
				}
				t.Logf("Get-Mailbox requests while 2 mailboxes were provisioned: %d", cmdletCalls(e, "Get-Mailbox"))
				return noEarlyRows(2)
			},
		},
		{ // wang.wu is created and added in the same apply: -AddUsers waits for his mailbox
			Config: e.config(usersAndBatchHCL(srv, csv3, all, "")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("wang.wu@contoso.com").AtMapKey("status_summary"), knownvalue.StringExact("Synced")),
			},
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "Set-MigrationBatch"); n != 1 {
					return fmt.Errorf("Set-MigrationBatch ran %d times, want 1 (-AddUsers)", n)
				}
				if err := cmdletCounts(e, map[string]int{"Remove-MigrationBatch": 0})(nil); err != nil {
					return err
				}
				return noEarlyRows(3)
			},
		},
	}})
}

// TestAccMigrationBatchMailboxesNeverReady: a mailbox that does not appear within the timeout
// stops the apply with one error naming every such user, and nothing is submitted.
func TestAccMigrationBatchMailboxesNeverReady(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	knobs := fakecloud.RealisticTiming()
	knobs.MailboxProvisionDelay = -1 // never: the 24 hours of a real tenant, scaled past the timeout
	e := newTestEnv(t, clockSeed(srv), knobs)
	two := []string{"li.si@contoso.com", "zhang.san@contoso.com"}
	csv := writeTestFile(t, t.TempDir(), "two.csv", []byte(migrationCSVText(users, two, nil)))
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{{
		Config:      e.config(usersAndBatchHCL(srv, csv, two, `timeouts = { create = "4s" }`)),
		ExpectError: re(`(?s)Mailboxes Not Ready.*2 users still have no mailbox.*li.si@contoso.com.*zhang.san@contoso.com.*Nothing was submitted`),
	}}})
	for _, c := range []string{"New-MigrationBatch", "Set-MigrationBatch", "Start-MigrationBatch"} {
		if n := cmdletCalls(e, c); n != 0 {
			t.Errorf("%s ran %d times for users without a mailbox", c, n)
		}
	}
	if n := cmdletCalls(e, "Get-Mailbox"); n == 0 || n > 12 {
		t.Errorf("Get-Mailbox ran %d times in a 4 s wait: want a few polls (each checks every user)", n)
	}
}

// TestAccMigrationBatchInterruptedWait: the create wait times out while the batch syncs; the batch
// stays in the state untainted with its status, the next plan updates it in place (no
// replacement), and the next apply waits until Synced. Remove-MigrationBatch is never sent.
func TestAccMigrationBatchInterruptedWait(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	knobs := fakecloud.RealisticTiming()
	knobs.MigrationPollsPerStep = 6 // Starting and Syncing take 6 polls each: longer than 2 s of polling
	e := newTestEnv(t, migrationSeed(srv), knobs)
	all := []string{"li.si@contoso.com", "wang.wu@contoso.com", "zhang.san@contoso.com"}
	csv := writeTestFile(t, t.TempDir(), "three.csv", []byte(migrationCSVText(users, all, nil)))
	addr := "m365_migration_batch.w"
	cfg := func(timeouts string) string {
		return e.config(endpointHCL(srv, "accept_untrusted_certificates = true") + fmt.Sprintf(`
resource "m365_migration_batch" "w" {
  name            = "wave"
  source_endpoint = m365_imap_migration_endpoint.src.name
  csv_file        = %q
  wait_for        = "synced"
  timeouts        = %s
}
`, csv, timeouts))
	}
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{ // the wait ends early: a warning, not an error, so the batch is not tainted
			Config:             cfg(`{ create = "2s", update = "5m" }`),
			ExpectNonEmptyPlan: true, // the next plan resumes the wait
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr(addr, "id", "wave"),
				func(s *terraform.State) error {
					rs := s.RootModule().Resources[addr]
					if rs == nil || rs.Primary == nil || rs.Primary.Tainted {
						return fmt.Errorf("the batch is missing or tainted after the interrupted wait: %+v", rs)
					}
					if st := rs.Primary.Attributes["status"]; st == "Synced" || st == "" {
						return fmt.Errorf("status %q: the test did not interrupt the wait", st)
					}
					return nil
				}),
		},
		{ // the next plan is an in-place update, and the apply waits until Synced
			Config: cfg(`{ create = "2s", update = "5m" }`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("synced"), knownvalue.Int64Exact(3)),
			},
			Check: cmdletCounts(e, map[string]int{"New-MigrationBatch": 1, "Remove-MigrationBatch": 0}),
		},
	}})
}

// cmdletCounts checks how many times each cmdlet succeeded so far.
func cmdletCounts(e *testEnv, want map[string]int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for c, n := range want {
			if got := cmdletCalls(e, c); got != n {
				return fmt.Errorf("%s ran %d times, want %d", c, got, n)
			}
		}
		return nil
	}
}

// TestAccMigrationBatchFailedUsersFailApply: a user that fails its sync fails the apply (here an
// update that adds it), naming the user, the service's error and the fix; the next plan retries
// it; max_failed_users accepts it.
func TestAccMigrationBatchFailedUsersFailApply(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.RealisticTiming())
	dir := t.TempDir()
	one := writeTestFile(t, dir, "one.csv", []byte(migrationCSVText(users, []string{"zhang.san@contoso.com"}, nil)))
	// li.si's password is wrong and the preflight is off: the service fails him.
	two := writeTestFile(t, dir, "two.csv", []byte(migrationCSVText(users, []string{"li.si@contoso.com", "zhang.san@contoso.com"},
		map[string]string{"li.si@contoso.com": "stale-password"})))
	addr := "m365_migration_batch.w"
	cfg := func(file, extra string) string {
		return e.config(endpointHCL(srv, "accept_untrusted_certificates = true") + fmt.Sprintf(`
resource "m365_migration_batch" "w" {
  name            = "wave"
  source_endpoint = m365_imap_migration_endpoint.src.name
  csv_file        = %q
  wait_for        = "synced"
  skip_preflight  = true
  %s
}
`, file, extra))
	}
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{Config: cfg(one, "")},
		{
			Config:      cfg(two, ""),
			ExpectError: re(`(?s)Migration Users Failed.*1 of 2 users failed.*li.si@contoso.com: .*ImapAuthenticationException.*fix: the source server refused the login.*Start-MigrationBatch`),
		},
		{ // the failure is in the state; the next plan retries it (an update, not a replacement)
			Config:   cfg(two, ""),
			PlanOnly: true, ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
			}},
		},
		{ // accepting one failure ends it
			Config: cfg(two, "max_failed_users = 1"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("failed"), knownvalue.Int64Exact(1)),
			},
			Check: cmdletCounts(e, map[string]int{"Remove-MigrationBatch": 0}),
		},
	}})
}

// TestAccMigrationBatchReplacementGuard: a change Exchange cannot make in place stops the plan
// while the batch holds synced mail; allow_replace lets it through with a warning; removing the
// resource warns.
func TestAccMigrationBatchReplacementGuard(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.RealisticTiming())
	csv := writeTestFile(t, t.TempDir(), "one.csv", []byte(migrationCSVText(users, []string{"zhang.san@contoso.com"}, nil)))
	cfg := func(extra string) string {
		return e.config(endpointHCL(srv, "accept_untrusted_certificates = true") + fmt.Sprintf(`
resource "m365_migration_batch" "w" {
  name            = "wave"
  source_endpoint = m365_imap_migration_endpoint.src.name
  csv_file        = %q
  wait_for        = "synced"
  %s
}
`, csv, extra))
	}
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{Config: cfg("")},
		{
			Config:      cfg(`exclude_folders = ["Junk"]`),
			ExpectError: re(`(?s)Change Would Replace A Synced Migration Batch.*exclude_folders.*1 users with synced mail.*allow_replace = true`),
		},
		{
			Config:   cfg("exclude_folders = [\"Junk\"]\n  allow_replace = true"),
			PlanOnly: true, ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("m365_migration_batch.w", plancheck.ResourceActionDestroyBeforeCreate),
			}},
		},
	}})
	if n := cmdletCalls(e, "Remove-MigrationBatch"); n != 1 { // the test's own destroy at the end
		t.Errorf("Remove-MigrationBatch ran %d times, want 1 (the final destroy)", n)
	}
}

// TestAccMigrationBatchTargetsAndStaging: every row must have a Microsoft 365 user (a row without
// one stops the plan with its line); users without a row are listed; domain rewrites the rows to
// the staging tenant's *.onmicrosoft.com users; a report address on the moved domain warns.
func TestAccMigrationBatchTargetsAndStaging(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, clockSeed(srv), fakecloud.RealisticTiming())
	dir := t.TempDir()
	// The production file: contoso.com addresses, logins at the source as they are.
	csv := writeTestFile(t, dir, "prod.csv", []byte(migrationCSVText(users, []string{"li.si@contoso.com", "zhang.san@contoso.com"}, nil)))
	staging := []string{"li.si@contoso.onmicrosoft.com", "wang.wu@contoso.onmicrosoft.com", "zhang.san@contoso.onmicrosoft.com"}
	addr := "m365_migration_batch.w"
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{ // without the rewrite, the rows name users nobody creates: the plan stops at their lines
			Config:      e.config(usersAndBatchHCL(srv, csv, staging, "")),
			ExpectError: re(`(?s)Migration Row Without Microsoft 365 User.*2 rows.*line 2: li.si@contoso.com.*line 3: zhang.san@contoso.com`),
		},
		{ // rewritten to the staging domain: every row has its user; wang.wu has no row (a warning)
			Config: e.config(usersAndBatchHCL(srv, csv, staging, `domain = "contoso.onmicrosoft.com"
  notification_emails = ["admin@contoso.onmicrosoft.com"]`)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("li.si@contoso.onmicrosoft.com"), knownvalue.StringExact("zhang.san@contoso.onmicrosoft.com")})),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("zhang.san@contoso.onmicrosoft.com").AtMapKey("items_synced"),
					knownvalue.Int64Exact(expectedMessages["zhang.san@contoso.com"])),
			},
		},
	}})
}

// TestAccMigrationBatchDataSourceGate: the data source is the hard gate of the cutover: a
// postcondition on all_synced fails while a user of the batch failed, naming him, and passes for a
// batch whose every user is synced. A no-op refresh of a batch reads no per-user statistics and
// costs at most three batch requests.
func TestAccMigrationBatchDataSourceGate(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.RealisticTiming())
	dir := t.TempDir()
	bad := writeTestFile(t, dir, "bad.csv", []byte(migrationCSVText(users, []string{"li.si@contoso.com"},
		map[string]string{"li.si@contoso.com": "stale-password"})))
	good := writeTestFile(t, dir, "good.csv", []byte(migrationCSVText(users, []string{"zhang.san@contoso.com"}, nil)))
	gate := func(name string) string {
		return fmt.Sprintf(`
data "m365_migration_batch" %[1]q {
  name = m365_migration_batch.%[1]s.name
  lifecycle {
    postcondition {
      condition     = self.all_synced
      error_message = "not every mailbox of ${self.name} is synced: ${jsonencode(self.failed_users)}"
    }
  }
}
`, name)
	}
	cfg := func(gates ...string) string {
		return e.config(endpointHCL(srv, "accept_untrusted_certificates = true") + fmt.Sprintf(`
resource "m365_migration_batch" "bad" {
  name             = "bad"
  source_endpoint  = m365_imap_migration_endpoint.src.name
  csv_file         = %q
  wait_for         = "synced"
  skip_preflight   = true
  max_failed_users = 1
}

resource "m365_migration_batch" "good" {
  name            = "good"
  source_endpoint = m365_imap_migration_endpoint.src.name
  csv_file        = %q
  wait_for        = "synced"
}
%s`, bad, good, strings.Join(gates, "\n")))
	}
	batchReads := func(from int) (reads, stats int) {
		for _, r := range e.fake.Requests()[from:] {
			switch strings.ToLower(r.Cmdlet) {
			case "get-migrationbatch", "get-migrationuser":
				reads++
			case "get-migrationuserstatistics":
				stats++
			}
		}
		return
	}
	var before int
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{Config: cfg()},
		{
			PreConfig: func() { before = len(e.fake.Requests()) },
			Config:    cfg(),
			PlanOnly:  true,
			Check: func(*terraform.State) error {
				reads, stats := batchReads(before)
				t.Logf("no-op refresh of two batches: %d batch reads, %d statistics reads", reads, stats)
				if reads > 6 || stats != 0 {
					return fmt.Errorf("a no-op refresh of two batches made %d batch reads and %d statistics reads, want at most 6 and 0", reads, stats)
				}
				return nil
			},
		},
		{
			Config:      cfg(gate("good"), gate("bad")),
			ExpectError: re(`(?s)not every mailbox of bad is synced.*li.si@contoso.com.*ImapAuthenticationException.*fix: the source server refused the login`),
		},
		{
			Config: cfg(gate("good")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.m365_migration_batch.good", tfjsonpath.New("all_synced"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("data.m365_migration_batch.good", tfjsonpath.New("synced_users"),
					knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("zhang.san@contoso.com")})),
			},
		},
	}})
}
