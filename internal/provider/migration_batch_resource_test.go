package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// noSecrets fails when any secret appears in the state or the plan as `terraform show -json`
// renders them.
type noSecrets struct{ secrets []string }

func (c noSecrets) find(what string, v any, add func(string)) {
	b, err := json.Marshal(v)
	if err != nil {
		add(fmt.Sprintf("cannot render the %s: %v", what, err))
		return
	}
	for _, s := range c.secrets {
		if strings.Contains(string(b), s) {
			add(fmt.Sprintf("the %s (terraform show -json) contains a CSV password", what))
		}
	}
	if len(b) < 100 {
		add(fmt.Sprintf("the %s is suspiciously small: %s", what, b))
	}
}

func (c noSecrets) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	c.find("state", req.State, func(msg string) { resp.Error = fmt.Errorf("%s", msg) })
}

func (c noSecrets) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	c.find("plan", req.Plan, func(msg string) { resp.Error = fmt.Errorf("%s", msg) })
}

// grepTree fails the test when a file under dir contains a secret; it returns how many files
// were searched.
func grepTree(t *testing.T, dir string, secrets []string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s contains a CSV password", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// batchHCL is the endpoint, the ephemeral CSV read from csvPath, and a batch fed by csv_wo.
func batchHCL(srv *imaptest.Server, csvPath, extra string) string {
	return endpointHCL(srv, "") + fmt.Sprintf(`
ephemeral "m365_imap_migration_csv" "wave1" {
  path = %q
}

resource "m365_migration_batch" "wave1" {
  name              = "wave1"
  source_endpoint   = m365_imap_migration_endpoint.src.name
  csv_wo            = ephemeral.m365_imap_migration_csv.wave1.content
  csv_wo_version    = 1
  preflight_ca_file = %q
  wait_for          = "synced"
  exclude_folders   = ["Junk"]
  %s
}
`, csvPath, srv.CACertFile, extra)
}

func TestAccMigrationBatch(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.Knobs{})
	exo := exoClient(t, e)
	dir := t.TempDir()
	// Everything Terraform writes (working directories with state and plan files, and the
	// TF_LOG=trace log of Terraform and of the provider) is kept and searched for passwords.
	work, logFile := t.TempDir(), filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_ACC_TEMP_DIR", work)
	t.Setenv("TF_ACC_PERSIST_WORKING_DIR", "1")
	t.Setenv("TF_ACC_LOG_PATH", logFile)

	const wrongPassword = "Wrong-pass-5e7d"
	secrets := []string{wrongPassword}
	for _, u := range users {
		secrets = append(secrets, u.Password)
	}
	csv := func(name string, emails []string, wrong map[string]string) string {
		return writeTestFile(t, dir, name, []byte(migrationCSVText(users, emails, wrong)))
	}
	wrongCSV := csv("wrong.csv", []string{"zhang.san@contoso.com", "li.si@contoso.com"}, map[string]string{"li.si@contoso.com": wrongPassword})
	firstCSV := csv("first.csv", []string{"zhang.san@contoso.com", "li.si@contoso.com"}, nil)
	secondCSV := csv("second.csv", []string{"zhang.san@contoso.com", "wang.wu@contoso.com"}, nil)
	addr := "m365_migration_batch.wave1"
	userCheck := func(email, key string, want knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey(email).AtMapKey(key), want)
	}
	hidden := noSecrets{secrets: secrets}
	var setCalls int

	migrationTestSerial(t, resource.TestCase{
		CheckDestroy: func(*terraform.State) error {
			if _, err := exo.GetMigrationBatch(context.Background(), "wave1"); !exchange.IsNotFound(err) {
				return fmt.Errorf("the batch still exists after destroy: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{ // a wrong password stops the apply at the preflight, naming the user; nothing is submitted
				Config:      e.config(batchHCL(srv, wrongCSV, "")),
				ExpectError: re(`(?s)Source Login Failed.*1 of 2 logins failed.*line 3, li.si@contoso.com: .*(?i:authentication).*Nothing was submitted`),
			},
			{
				PreConfig: func() {
					if n := cmdletCalls(e, "New-MigrationBatch"); n != 0 {
						t.Fatalf("New-MigrationBatch ran %d times after a failed preflight", n)
					}
					if n := cmdletCalls(e, "Set-MigrationBatch"); n != 0 {
						t.Fatalf("Set-MigrationBatch ran %d times after a failed preflight", n)
					}
				},
				// create, wait until synced: the synced counts are the source mailboxes' message counts
				Config: e.config(batchHCL(srv, firstCSV, "")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					hidden,
					// the membership is known at plan time, from the write-only CSV
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("li.si@contoso.com"), knownvalue.StringExact("zhang.san@contoso.com")})),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					hidden,
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("total"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("synced"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("failed"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("csv_wo"), knownvalue.Null()),
					userCheck("zhang.san@contoso.com", "items_synced", knownvalue.Int64Exact(expectedMessages["zhang.san@contoso.com"])),
					userCheck("li.si@contoso.com", "items_synced", knownvalue.Int64Exact(expectedMessages["li.si@contoso.com"])),
					userCheck("zhang.san@contoso.com", "items_in_source", knownvalue.Int64Exact(expectedMessages["zhang.san@contoso.com"])),
					userCheck("zhang.san@contoso.com", "status", knownvalue.StringExact("Synced")),
					userCheck("zhang.san@contoso.com", "error", knownvalue.StringExact("")),
					userCheck("li.si@contoso.com", "last_sync", knownvalue.StringRegexp(re(`^20\d\d-\d\d-\d\dT`))),
					userCheck("li.si@contoso.com", "bytes_transferred", knownvalue.NotNull()),
				},
				Check: func(*terraform.State) error {
					if n := cmdletCalls(e, "New-MigrationBatch"); n != 1 {
						return fmt.Errorf("New-MigrationBatch ran %d times, want 1", n)
					}
					got := batchUsers(t, exo, "wave1")
					for email, u := range got {
						if u.SyncedItemCount != expectedMessages[email] {
							return fmt.Errorf("the service shows %d synced items for %s, want %d", u.SyncedItemCount, email, expectedMessages[email])
						}
					}
					return nil
				},
			},
			{ // a plan with nothing changed is empty
				Config:   e.config(batchHCL(srv, firstCSV, "")),
				PlanOnly: true,
			},
			{ // add wang.wu (-AddUsers), drop li.si (Remove-MigrationUser)
				Config: e.config(batchHCL(srv, secondCSV, "")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					hidden,
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("wang.wu@contoso.com"), knownvalue.StringExact("zhang.san@contoso.com")})),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					hidden,
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("total"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("users"), knownvalue.MapSizeExact(2)),
					userCheck("wang.wu@contoso.com", "items_synced", knownvalue.Int64Exact(expectedMessages["wang.wu@contoso.com"])),
					userCheck("wang.wu@contoso.com", "status", knownvalue.StringExact("Synced")),
				},
				Check: func(*terraform.State) error {
					if n := cmdletCalls(e, "Remove-MigrationUser"); n != 1 {
						return fmt.Errorf("Remove-MigrationUser ran %d times, want 1", n)
					}
					if n := cmdletCalls(e, "Set-MigrationBatch"); n != 1 {
						return fmt.Errorf("Set-MigrationBatch ran %d times, want 1 (-AddUsers)", n)
					}
					if n := cmdletCalls(e, "New-MigrationBatch"); n != 1 {
						return fmt.Errorf("New-MigrationBatch ran %d times, want 1", n)
					}
					got := batchUsers(t, exo, "wave1")
					if _, ok := got["li.si@contoso.com"]; ok || len(got) != 2 {
						return fmt.Errorf("the service's members: %s", mustJSON(got))
					}
					setCalls = cmdletCalls(e, "Set-MigrationBatch")
					return nil
				},
			},
			{ // sync_now_trigger: any change runs Set-MigrationBatch -SyncNow
				Config: e.config(batchHCL(srv, secondCSV, `sync_now_trigger = "mx-switched"`)),
				ConfigStateChecks: []statecheck.StateCheck{
					hidden,
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
					userCheck("zhang.san@contoso.com", "items_synced", knownvalue.Int64Exact(expectedMessages["zhang.san@contoso.com"])),
				},
				Check: func(*terraform.State) error {
					if n := cmdletCalls(e, "Set-MigrationBatch"); n != setCalls+1 {
						return fmt.Errorf("Set-MigrationBatch ran %d times, want %d (one -SyncNow)", n, setCalls+1)
					}
					return nil
				},
			},
			{ // the same trigger value does nothing
				Config:   e.config(batchHCL(srv, secondCSV, `sync_now_trigger = "mx-switched"`)),
				PlanOnly: true,
			},
			{ // a user already in another batch stops the plan, naming that batch
				Config: e.config(batchHCL(srv, secondCSV, `sync_now_trigger = "mx-switched"`) + fmt.Sprintf(`
ephemeral "m365_imap_migration_csv" "wave2" {
  path = %q
}

resource "m365_migration_batch" "wave2" {
  name              = "wave2"
  source_endpoint   = m365_imap_migration_endpoint.src.name
  csv_wo            = ephemeral.m365_imap_migration_csv.wave2.content
  preflight_ca_file = %q
}
`, firstCSV, srv.CACertFile)),
				ExpectError: re(`(?s)User Already In Another Migration Batch.*planning the migration batch wave2.*1 of its users.*zhang.san@contoso.com is in migration batch "wave1".*Remove these rows`),
			},
		},
	})
	if n := cmdletCalls(e, "New-MigrationBatch"); n != 1 {
		t.Errorf("New-MigrationBatch ran %d times; the second batch must have stopped at plan time", n)
	}
	// Delete waited for the removal: Get-MigrationBatch was polled after Remove-MigrationBatch
	// until the batch was gone.
	removed, pollsAfter := false, 0
	for _, r := range e.fake.Requests() {
		switch {
		case r.Cmdlet == "Remove-MigrationBatch":
			removed = true
		case removed && r.Cmdlet == "Get-MigrationBatch":
			pollsAfter++
		}
	}
	if !removed || pollsAfter < 2 {
		t.Errorf("destroy did not wait for the removal: Remove-MigrationBatch seen %t, Get-MigrationBatch polls after it %d", removed, pollsAfter)
	}
	n := grepTree(t, work, secrets)
	if n < 3 {
		t.Errorf("only %d files in the working directories: the state was not found", n)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(log), s) {
			t.Errorf("the TF_LOG=trace output contains a CSV password")
		}
	}
	t.Logf("searched %d files of the working directories and %d bytes of trace log for %d passwords", n, len(log), len(secrets))
	if !strings.Contains(string(log), "migration batch progress") || !strings.Contains(string(log), "preflight") {
		t.Errorf("the trace log lacks the provider's own log lines; the search proves nothing (%d bytes)", len(log))
	}
}

func TestAccMigrationBatchLifecycle(t *testing.T) {
	users := sourceMailboxes()
	// ghost has a source mailbox and a Microsoft 365 mailbox, but the CSV has a wrong password
	// for it and the preflight is skipped after the first step: the service fails that user.
	users["ghost@contoso.com"] = imaptest.User{Password: "Gh-secret-11aa", Folders: map[string][]imaptest.Message{"INBOX": make([]imaptest.Message, 2)}}
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	seed := migrationSeed(srv)
	seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{UserPrincipalName: "ghost@contoso.com", UsageLocation: "CN",
		AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuExchangeStandard}}}})
	// New objects answer not-found for a while, and some requests are throttled (429, or the
	// concurrency text): every wait and read copes.
	e := newTestEnv(t, seed, fakecloud.Knobs{ExchangeLag: 500 * time.Millisecond,
		ExchangeThrottleRatio: 0.1, ExchangeConcurrencyRatio: 0.05, RetryAfter: 0.01, RandomSeed: 7})
	exo := exoClient(t, e)
	file := writeTestFile(t, t.TempDir(), "wave.csv", []byte(migrationCSVText(users, []string{"zhang.san@contoso.com", "ghost@contoso.com"},
		map[string]string{"ghost@contoso.com": "not-the-password"})))
	addr := "m365_migration_batch.w"
	cfg := func(untrusted bool, extra string) string {
		wait := "synced"
		if strings.Contains(extra, "enabled = false") {
			wait = "none"
		}
		return e.config(endpointHCL(srv, fmt.Sprintf("accept_untrusted_certificates = %t", untrusted)) + fmt.Sprintf(`
resource "m365_migration_batch" "w" {
  name                = "wave-file"
  source_endpoint     = m365_imap_migration_endpoint.src.name
  csv_file            = %q
  wait_for            = %q
  notification_emails = ["admin@contoso.onmicrosoft.com"]
  skip_preflight      = %t
  max_failed_users    = 1
  %s
}
`, file, wait, untrusted, extra))
	}
	// SHA-256 of the sorted addresses, one per line.
	sum := sha256.Sum256([]byte("ghost@contoso.com\nzhang.san@contoso.com\n"))
	membersHash := hex.EncodeToString(sum[:])
	count := func(key string, n int64) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey(key), knownvalue.Int64Exact(n))
	}
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{ // the provider does not trust the server's private CA: the preflight says so, nothing is submitted
			Config:      cfg(false, ""),
			ExpectError: re(`(?s)Source Login Failed.*2 of 2 logins failed.*TLS.*preflight_ca_file.*accept_untrusted_certificates`),
		},
		{ // the endpoint accepts untrusted certificates; the preflight is skipped, so the service fails ghost
			PreConfig: func() {
				if n := cmdletCalls(e, "New-MigrationBatch"); n != 0 {
					t.Fatalf("New-MigrationBatch ran %d times after a failed preflight", n)
				}
			},
			Config: cfg(true, ""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("SyncedWithErrors")),
				count("total", 2), count("synced", 1), count("failed", 1),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("csv_file"), knownvalue.StringExact(file)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("members_sha256"), knownvalue.StringExact(membersHash)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("ghost@contoso.com").AtMapKey("status"), knownvalue.StringExact("Failed")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("ghost@contoso.com").AtMapKey("error"),
					knownvalue.StringRegexp(re(`ImapAuthenticationException`))),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("users").AtMapKey("zhang.san@contoso.com").AtMapKey("items_synced"),
					knownvalue.Int64Exact(expectedMessages["zhang.san@contoso.com"])),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("notification_emails"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("admin@contoso.onmicrosoft.com")})),
			},
		},
		{ // enabled = false stops the batch
			Config: cfg(true, "enabled = false"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Stopped")),
			},
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "Stop-MigrationBatch"); n != 1 {
					return fmt.Errorf("Stop-MigrationBatch ran %d times, want 1", n)
				}
				return nil
			},
		},
		{ // enabled = true starts it again (retrying the failed user) and waits until it is synced
			Config: cfg(true, ""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("SyncedWithErrors")),
				count("synced", 1), count("failed", 1),
			},
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "Start-MigrationBatch"); n != 1 {
					return fmt.Errorf("Start-MigrationBatch ran %d times, want 1", n)
				}
				return nil
			},
		},
		{ // complete = true runs Complete-MigrationBatch and waits for the result
			Config: cfg(true, "complete = true"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("CompletedWithErrors")),
				count("finalized", 1), count("failed", 1),
			},
		},
		{ // removed by the service (retention) or by hand: the refresh leaves state quietly
			PreConfig: func() {
				ctx := context.Background()
				if err := exo.RemoveMigrationBatch(ctx, "wave-file"); err != nil {
					t.Fatal(err)
				}
				err := exchange.WaitUntil(ctx, func(ctx context.Context) (bool, error) {
					_, err := exo.GetMigrationBatch(ctx, "wave-file")
					return exchange.IsNotFound(err), nil
				})
				if err != nil {
					t.Fatal(err)
				}
			},
			Config:             cfg(true, "complete = true"),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
			}},
		},
	}})
	if st := e.fake.Stats().Exchange; st.Throttled == 0 || st.Status[500] == 0 {
		t.Errorf("the fault knobs did not fire (429: %d, 500: %d): the test proves nothing about retries", st.Throttled, st.Status[500])
	}
}

func TestAccMigrationBatchImport(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.Knobs{})
	exo := exoClient(t, e)
	ctx := context.Background()
	text := migrationCSVText(users, []string{"li.si@contoso.com", "wang.wu@contoso.com"}, nil)
	file := writeTestFile(t, t.TempDir(), "legacy.csv", []byte(text))
	// A batch made in PowerShell before Terraform.
	if err := newEndpointReady(ctx, exo, exchange.NewEndpointParams{Name: "exmail", RemoteServer: srv.Host, Port: int64(srv.Port), Security: "Ssl"}); err != nil {
		t.Fatal(err)
	}
	if _, err := exo.NewMigrationBatch(ctx, exchange.BatchSpec{Name: "legacy", SourceEndpoint: "exmail", CSV: []byte(text), AutoStart: true}); err != nil {
		t.Fatal(err)
	}
	config := e.config(fmt.Sprintf(`
resource "m365_migration_batch" "legacy" {
  name            = "legacy"
  source_endpoint = "exmail"
  csv_file        = %q
}
`, file))
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{ // creating it again is refused at plan time, with the import command
			Config:      config,
			ExpectError: re(`(?s)Migration Batch Already Exists.*terraform import <address of this m365_migration_batch> legacy`),
		},
		{
			Config:             config,
			ResourceName:       "m365_migration_batch.legacy",
			ImportState:        true,
			ImportStateId:      "legacy",
			ImportStatePersist: true,
			ImportStateCheck: func(states []*terraform.InstanceState) error {
				a := states[0].Attributes
				if a["members.#"] != "2" || a["source_endpoint"] != "exmail" || a["counts.total"] != "2" {
					return fmt.Errorf("imported: %s", mustJSON(a))
				}
				return nil
			},
		},
		{ // after import the CSV matches the members: nothing to add or remove
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectKnownValue("m365_migration_batch.legacy", tfjsonpath.New("members"), knownvalue.ListSizeExact(2)),
			}},
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "Set-MigrationBatch") + cmdletCalls(e, "Remove-MigrationUser"); n != 0 {
					return fmt.Errorf("the first apply after import changed the membership (%d calls)", n)
				}
				return nil
			},
		},
	}})
}

// TestAccMigrationBatchManyUsersInOtherBatch: with many new members the plan-time check lists
// every migration user once (paged) instead of asking per address, and names each conflict.
func TestAccMigrationBatchManyUsersInOtherBatch(t *testing.T) {
	e := newTestEnv(t, fakecloud.DefaultSeed(), fakecloud.Knobs{ExchangePageSize: 5})
	exo := exoClient(t, e)
	ctx := context.Background()
	if err := newEndpointReady(ctx, exo, exchange.NewEndpointParams{Name: "exmail", RemoteServer: "127.0.0.1", Port: int64(closedPort(t)),
		Security: "Ssl", SkipVerification: true}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("EmailAddress,UserName,Password\n")
	var emails []string
	for i := 1; i <= 12; i++ {
		addr := fmt.Sprintf("u%02d@contoso.com", i)
		emails = append(emails, addr)
		fmt.Fprintf(&b, "%s,%s,pw-%d\n", addr, addr, i)
	}
	if _, err := exo.NewMigrationBatch(ctx, exchange.BatchSpec{Name: "old", SourceEndpoint: "exmail", CSV: []byte(b.String())}); err != nil {
		t.Fatal(err)
	}
	if err := exchange.WaitUntil(ctx, func(ctx context.Context) (bool, error) { // replication lag after New-*
		_, err := exo.GetMigrationBatch(ctx, "old")
		return err == nil, err
	}); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "fresh@contoso.com,fresh@contoso.com,pw-13\n")
	file := writeTestFile(t, t.TempDir(), "new.csv", []byte(b.String()))
	e.fake.ResetStats()
	want := `(?s)User Already In Another Migration Batch.*12 of its users`
	for _, addr := range emails {
		want += `.*` + addr + ` is in migration batch "old"`
	}
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{{
		Config: e.config(fmt.Sprintf(`
resource "m365_migration_batch" "new" {
  name            = "new"
  source_endpoint = "exmail"
  csv_file        = %q
}
`, file)),
		ExpectError: re(want),
	}}})
	n := cmdletCalls(e, "Get-MigrationUser")
	t.Logf("Get-MigrationUser requests (pages): %d", n)
	if n == 0 || n > 6 {
		t.Errorf("Get-MigrationUser ran %d times; want one paged listing (3 pages of 5) per plan", n)
	}
	if n := cmdletCalls(e, "New-MigrationBatch"); n != 0 {
		t.Errorf("New-MigrationBatch ran %d times after a failed plan", n)
	}
}
