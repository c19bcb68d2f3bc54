package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imapcheck"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// surveyMailboxes: zhang.san has 5 messages that migrate and a folder whose name holds a "/"
// (not migrated); li.si has one message over 35 MB.
func surveyMailboxes() map[string]imaptest.User {
	users := sourceMailboxes()
	users["zhang.san@contoso.com"] = imaptest.User{Password: users["zhang.san@contoso.com"].Password, Folders: map[string][]imaptest.Message{
		"INBOX": make([]imaptest.Message, 3), "Sent": make([]imaptest.Message, 2), `Projects\/2024`: make([]imaptest.Message, 1),
	}}
	users["li.si@contoso.com"] = imaptest.User{Password: users["li.si@contoso.com"].Password, Folders: map[string][]imaptest.Message{
		"INBOX": {{}, {Size: imapcheck.MaxItemBytes + 1024}},
	}}
	return users
}

func surveyHCL(srv *imaptest.Server, csvFile string) string {
	return fmt.Sprintf(`
data "m365_imap_mailbox_survey" "s" {
  csv_file      = %q
  remote_server = %q
  port          = %d
  security      = %q
  ca_file       = %q
  concurrency   = 2
}
`, csvFile, srv.Host, srv.Port, srv.Security, srv.CACertFile)
}

// surveyChecks are the expectations for surveyMailboxes surveyed with wang.wu's password wrong
// (CSV line 4); none of the secrets may reach the state.
func surveyChecks(secrets []string) []statecheck.StateCheck {
	ds := "data.m365_imap_mailbox_survey.s"
	user := func(email string) tfjsonpath.Path { return tfjsonpath.New("users").AtMapKey(email) }
	return []statecheck.StateCheck{
		noSecrets{secrets: secrets},
		statecheck.ExpectKnownValue(ds, user("zhang.san@contoso.com").AtMapKey("login_ok"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue(ds, user("zhang.san@contoso.com").AtMapKey("messages"), knownvalue.Int64Exact(5)),
		statecheck.ExpectKnownValue(ds, user("zhang.san@contoso.com").AtMapKey("folders"), knownvalue.ListSizeExact(3)),
		statecheck.ExpectKnownValue(ds, user("zhang.san@contoso.com").AtMapKey("skipped_folders"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("Projects/2024")})),
		statecheck.ExpectKnownValue(ds, user("zhang.san@contoso.com").AtMapKey("folders").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("INBOX")),
		statecheck.ExpectKnownValue(ds, user("li.si@contoso.com").AtMapKey("items_over_35mb"), knownvalue.Int64Exact(1)),
		statecheck.ExpectKnownValue(ds, user("li.si@contoso.com").AtMapKey("messages"), knownvalue.Int64Exact(2)),
		statecheck.ExpectKnownValue(ds, user("li.si@contoso.com").AtMapKey("over_item_limit"), knownvalue.Bool(false)),
		statecheck.ExpectKnownValue(ds, user("wang.wu@contoso.com").AtMapKey("login_ok"), knownvalue.Bool(false)),
		statecheck.ExpectKnownValue(ds, user("wang.wu@contoso.com").AtMapKey("login_error_kind"), knownvalue.StringExact("auth")),
		statecheck.ExpectKnownValue(ds, user("wang.wu@contoso.com").AtMapKey("login_error"), knownvalue.StringRegexp(re(`(?i)auth|invalid|fail`))),
		statecheck.ExpectKnownValue(ds, user("wang.wu@contoso.com").AtMapKey("line"), knownvalue.Int64Exact(4)),
		statecheck.ExpectKnownValue(ds, tfjsonpath.New("totals").AtMapKey("users"), knownvalue.Int64Exact(3)),
		statecheck.ExpectKnownValue(ds, tfjsonpath.New("totals").AtMapKey("logins_failed"), knownvalue.Int64Exact(1)),
		statecheck.ExpectKnownValue(ds, tfjsonpath.New("totals").AtMapKey("messages"), knownvalue.Int64Exact(7)),
		statecheck.ExpectKnownValue(ds, tfjsonpath.New("totals").AtMapKey("items_over_35mb"), knownvalue.Int64Exact(1)),
		statecheck.ExpectKnownValue(ds, tfjsonpath.New("totals").AtMapKey("skipped_folders"), knownvalue.Int64Exact(1)),
	}
}

func TestAccIMAPMailboxSurvey(t *testing.T) {
	users := surveyMailboxes()
	// Delimiter "." so that a folder name can hold a "/", as on Tencent Exmail.
	srv := imaptest.StartMemServerWith(t, users, imaptest.MemOptions{Security: imaptest.SecuritySsl, Delimiter: '.'})
	e := newTestEnv(t, nil, fakecloud.Knobs{})
	dir := t.TempDir()
	emails := []string{"zhang.san@contoso.com", "li.si@contoso.com", "wang.wu@contoso.com"}
	file := writeTestFile(t, dir, "survey.csv", []byte(migrationCSVText(users, emails, map[string]string{"wang.wu@contoso.com": "Not-the-pw-77"})))
	bad := writeTestFile(t, dir, "bad.csv", []byte("EmailAddress,UserName,Password\nzhang.san@contoso.com,zhang.san,x\n"))
	secrets := []string{"Not-the-pw-77"}
	for _, u := range users {
		secrets = append(secrets, u.Password)
	}
	accParallelTest(t,
		resource.TestStep{
			Config:            e.config(surveyHCL(srv, file)),
			ConfigStateChecks: surveyChecks(secrets),
		},
		resource.TestStep{ // the CSV is checked like the batch's
			Config:      e.config(surveyHCL(srv, bad)),
			ExpectError: re(`(?s)Invalid Migration CSV.*bad.csv:2:23: UserName must be the full address`),
		},
	)
	if n := e.fake.Stats().Exchange.Requests + e.fake.Stats().Graph.Requests; n != 0 {
		t.Errorf("the survey made %d requests to Microsoft 365; it only talks to the source server", n)
	}
}
