package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// TestAccMigrationBatchRetryAfterFailedResubmit: a csv_wo_version bump whose preflight fails
// (a wrong password) keeps the previous version in state, so the corrected CSV under the same new
// version is submitted by the next apply instead of being taken as already done.
func TestAccMigrationBatchRetryAfterFailedResubmit(t *testing.T) {
	users := sourceMailboxes()
	srv := imaptest.StartMemServer(t, users, imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.Knobs{})
	dir := t.TempDir()
	good := writeTestFile(t, dir, "good.csv", []byte(migrationCSVText(users, []string{"zhang.san@contoso.com"}, nil)))
	wrong := writeTestFile(t, dir, "wrong.csv", []byte(migrationCSVText(users, []string{"zhang.san@contoso.com"}, map[string]string{"zhang.san@contoso.com": "Not-the-password-1"})))
	cfg := func(path string, version int) string {
		return e.config(strings.Replace(batchHCL(srv, path, ""), "csv_wo_version    = 1", fmt.Sprintf("csv_wo_version    = %d", version), 1))
	}
	adds := 0
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{Config: cfg(good, 1)},
		{
			Config:      cfg(wrong, 2),
			ExpectError: re(`(?s)Source Login Failed.*zhang.san@contoso.com`),
			PreConfig:   func() { adds = cmdletCalls(e, "Set-MigrationBatch") },
		},
		{
			Config: cfg(good, 2),
			PreConfig: func() {
				if n := cmdletCalls(e, "Set-MigrationBatch"); n != adds {
					t.Errorf("the failed preflight submitted %d Set-MigrationBatch calls", n-adds)
				}
			},
			Check: func(*terraform.State) error {
				if n := cmdletCalls(e, "Set-MigrationBatch"); n != adds+1 {
					return fmt.Errorf("the corrected CSV was not resubmitted: %d Set-MigrationBatch calls since the failure, want 1", n-adds)
				}
				return nil
			},
		},
	}})
}
