package provider

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// exampleConfig reads an example and points it at the test's IMAP server and CSV: each
// replacement must apply exactly once, so that an edited example cannot silently stop being
// tested.
func exampleConfig(t *testing.T, file string, replacements ...string) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/" + file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for i := 0; i+1 < len(replacements); i += 2 {
		if n := strings.Count(text, replacements[i]); n != 1 {
			t.Fatalf("%s: %q occurs %d times, want once; update the test with the example", file, replacements[i], n)
		}
		text = strings.Replace(text, replacements[i], replacements[i+1], 1)
	}
	return text
}

// TestAccMigrationExamples applies the examples of the migration types against the fake and an
// in-process IMAP server standing in for imap.exmail.qq.com.
func TestAccMigrationExamples(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.Knobs{})
	csvFile := writeTestFile(t, t.TempDir(), "wave1.csv",
		[]byte(migrationCSVText(users, []string{"zhang.san@contoso.com", "li.si@contoso.com", "wang.wu@contoso.com"}, nil)))
	server := `remote_server = "imap.exmail.qq.com"`
	local := fmt.Sprintf("remote_server = %q\n  port = %d", srv.Host, srv.Port)
	csvPath := `"${path.module}/wave1.csv"`
	quoted := fmt.Sprintf("%q", csvFile)

	endpoint := exampleConfig(t, "resources/m365_imap_migration_endpoint/resource.tf",
		server+"\n  port          = 993", local)
	batch := exampleConfig(t, "resources/m365_migration_batch/resource.tf",
		server, local, csvPath, quoted,
		`wait_for = "synced"`, fmt.Sprintf("wait_for = \"synced\"\n  preflight_ca_file = %q", srv.CACertFile))
	survey := exampleConfig(t, "data-sources/m365_imap_mailbox_survey/data-source.tf",
		server, local+fmt.Sprintf("\n  ca_file = %q", srv.CACertFile), csvPath, quoted)
	ephemeral := exampleConfig(t, "ephemeral-resources/m365_imap_migration_csv/ephemeral-resource.tf", csvPath, quoted)

	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{
			Config: e.config(endpoint),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("m365_imap_migration_endpoint.exmail", tfjsonpath.New("max_concurrent_incremental_syncs"), knownvalue.Int64Exact(10)),
			},
		},
		{Config: e.config(ephemeral)},
		{
			Config: e.config(survey),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("failed_logins", knownvalue.MapSizeExact(0)),
				statecheck.ExpectKnownOutputValue("not_migrated", knownvalue.MapSizeExact(0)),
				statecheck.ExpectKnownValue("data.m365_imap_mailbox_survey.exmail", tfjsonpath.New("totals").AtMapKey("messages"), knownvalue.Int64Exact(12)),
			},
		},
		{
			Config: e.config(batch),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("m365_migration_batch.wave1", tfjsonpath.New("status"), knownvalue.StringExact("Synced")),
				statecheck.ExpectKnownOutputValue("failed_users", knownvalue.MapSizeExact(0)),
			},
		},
		{ // the cutover gate: every mailbox synced
			Config: e.config(batch + exampleConfig(t, "data-sources/m365_migration_batch/data-source.tf")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("synced", knownvalue.StringExact("3 of 3 mailboxes synced")),
			},
		},
	}})
}
