package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// TestAccMigrationDovecot runs the survey, the preflight and a batch against a real Dovecot with
// maildir users, started in a temporary directory on a loopback port. Without Dovecot the test is
// skipped, unless M365_REQUIRE_DOVECOT=1 (CI) makes it fail.
func TestAccMigrationDovecot(t *testing.T) {
	users := surveyMailboxes()
	srv := imaptest.StartDovecot(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.Knobs{})
	dir := t.TempDir()
	const wrong = "Not-the-pw-77"
	emails := []string{"zhang.san@contoso.com", "li.si@contoso.com", "wang.wu@contoso.com"}
	surveyCSV := writeTestFile(t, dir, "survey.csv", []byte(migrationCSVText(users, emails, map[string]string{"wang.wu@contoso.com": wrong})))
	goodCSV := writeTestFile(t, dir, "good.csv", []byte(migrationCSVText(users, emails, nil)))
	secrets := []string{wrong}
	for _, u := range users {
		secrets = append(secrets, u.Password)
	}
	batch := func(csvPath string) string {
		return endpointHCL(srv, "") + fmt.Sprintf(`
ephemeral "m365_imap_migration_csv" "d" {
  path = %q
}

resource "m365_migration_batch" "d" {
  name              = "dovecot"
  source_endpoint   = m365_imap_migration_endpoint.src.name
  csv_wo            = ephemeral.m365_imap_migration_csv.d.content
  preflight_ca_file = %q
  wait_for          = "synced"
}
`, csvPath, srv.CACertFile)
	}
	addr := "m365_migration_batch.d"
	user := func(email string) tfjsonpath.Path { return tfjsonpath.New("users").AtMapKey(email) }
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{
			Config:            e.config(surveyHCL(srv, surveyCSV)),
			ConfigStateChecks: surveyChecks(secrets),
		},
		{ // Dovecot's own answer to the wrong password, and nothing submitted
			Config:      e.config(batch(surveyCSV)),
			ExpectError: re(`(?s)Source Login Failed.*1 of 3 logins failed.*line 4, wang.wu@contoso.com: .*(?i:authentication failed|AUTHENTICATIONFAILED)`),
		},
		{
			PreConfig: func() {
				if n := cmdletCalls(e, "New-MigrationBatch"); n != 0 {
					t.Fatalf("New-MigrationBatch ran %d times after a failed preflight", n)
				}
			},
			Config: e.config(batch(goodCSV)),
			ConfigStateChecks: []statecheck.StateCheck{
				noSecrets{secrets: secrets},
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("counts").AtMapKey("synced"), knownvalue.Int64Exact(3)),
				// zhang.san: INBOX 3 + Sent 2; "Projects/2024" is not migrated.
				statecheck.ExpectKnownValue(addr, user("zhang.san@contoso.com").AtMapKey("items_synced"), knownvalue.Int64Exact(5)),
				statecheck.ExpectKnownValue(addr, user("wang.wu@contoso.com").AtMapKey("items_synced"), knownvalue.Int64Exact(expectedMessages["wang.wu@contoso.com"])),
				// li.si: one message over 35 MB is skipped.
				statecheck.ExpectKnownValue(addr, user("li.si@contoso.com").AtMapKey("items_synced"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(addr, user("li.si@contoso.com").AtMapKey("items_skipped"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(addr, user("li.si@contoso.com").AtMapKey("items_in_source"), knownvalue.Int64Exact(2)),
			},
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "New-MigrationBatch"); n != 1 {
					return fmt.Errorf("New-MigrationBatch ran %d times, want 1", n)
				}
				return nil
			},
		},
	}})
}
