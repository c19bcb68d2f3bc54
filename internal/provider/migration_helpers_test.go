package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/m365-migration/terraform-provider-m365/internal/auth"
	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// Shared by the migration tests: seeded source mailboxes, CSV files, an Exchange client on the
// fake, and the request log.

// sourceMailboxes are the seeded IMAP users. Message counts per user (all folders migrate):
// zhang.san 5, li.si 4, wang.wu 3.
func sourceMailboxes() map[string]imaptest.User {
	msgs := func(n int) []imaptest.Message { return make([]imaptest.Message, n) }
	return map[string]imaptest.User{
		"zhang.san@contoso.com": {Password: "Zs-secret-9f3a", Folders: map[string][]imaptest.Message{"INBOX": msgs(3), "Sent": msgs(2)}},
		"li.si@contoso.com":     {Password: "Ls-secret-7b21", Folders: map[string][]imaptest.Message{"INBOX": msgs(4)}},
		"wang.wu@contoso.com":   {Password: "Ww-secret-04cc", Folders: map[string][]imaptest.Message{"INBOX": msgs(1), "Archive/2024": msgs(2)}},
	}
}

// expectedMessages is the number of messages of each seeded user.
var expectedMessages = map[string]int64{"zhang.san@contoso.com": 5, "li.si@contoso.com": 4, "wang.wu@contoso.com": 3}

// migrationCSVText builds a migration CSV for the given users, taking passwords from users;
// wrong maps an address to a password to use instead.
func migrationCSVText(users map[string]imaptest.User, emails []string, wrong map[string]string) string {
	var b strings.Builder
	b.WriteString("EmailAddress,UserName,Password\n")
	for _, e := range emails {
		pw := users[e].Password
		if w, ok := wrong[e]; ok {
			pw = w
		}
		fmt.Fprintf(&b, "%s,%s,%s\n", e, e, pw)
	}
	return b.String()
}

// writeTestFile writes content to a new file in dir and returns its path.
func writeTestFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// migrationSeed is the default tenant with a licensed mailbox for every seeded source user,
// whose migration engine trusts the IMAP server's CA.
func migrationSeed(srv *imaptest.Server) *fakecloud.Seed {
	seed := fakecloud.DefaultSeed()
	if srv != nil {
		seed.IMAPRootCAs = []string{srv.CACertFile}
	}
	for addr := range sourceMailboxes() {
		seed.Users = append(seed.Users, fakecloud.SeedUser{User: fakecloud.User{
			UserPrincipalName: addr, UsageLocation: "CN",
			AssignedLicenses: []fakecloud.AssignedLicense{{SkuID: fakecloud.SkuExchangeStandard}},
		}})
	}
	return seed
}

// exoClient is an Exchange client on the fake, for checks outside Terraform.
func exoClient(t *testing.T, e *testEnv) *exchange.Client {
	t.Helper()
	r, err := auth.Resolve(auth.Settings{TenantID: e.fake.TenantID(), ClientID: e.fake.ClientID(), ClientSecret: e.fake.ClientSecret()})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.NewCredential(r, auth.Options{AuthorityHost: e.fake.LoginEndpoint(), Overridden: true})
	if err != nil {
		t.Fatal(err)
	}
	env, err := cloud.Lookup(cloud.Global)
	if err != nil {
		t.Fatal(err)
	}
	c, err := exchange.New(exchange.Config{Host: e.fake.ExchangeEndpoint(), Scope: env.ExchangeScope, TenantID: e.fake.TenantID(), Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cmdletCalls counts the InvokeCommand requests of a cmdlet that the fake answered with success
// (throttled attempts that the client retried are not counted).
func cmdletCalls(e *testEnv, cmdlet string) int {
	n := 0
	for _, r := range e.fake.Requests() {
		if strings.EqualFold(r.Cmdlet, cmdlet) && r.Status/100 == 2 {
			n++
		}
	}
	return n
}

// endpointHCL is an m365_imap_migration_endpoint for srv.
func endpointHCL(srv *imaptest.Server, extra string) string {
	return fmt.Sprintf(`
resource "m365_imap_migration_endpoint" "src" {
  name          = "exmail"
  remote_server = %q
  port          = %d
  security      = %q
  %s
}
`, srv.Host, srv.Port, srv.Security, extra)
}

// migrationTest runs steps with the m365 provider and the echo provider (which copies ephemeral
// values into state for assertions), on Terraform 1.11+ (write-only attributes).
func migrationTest(t *testing.T, tc resource.TestCase) {
	t.Helper()
	migrationCase(&tc)
	resource.ParallelTest(t, tc)
}

// migrationTestSerial is migrationTest for tests that set environment variables (t.Setenv
// cannot be used in parallel tests).
func migrationTestSerial(t *testing.T, tc resource.TestCase) {
	t.Helper()
	migrationCase(&tc)
	resource.Test(t, tc)
}

func migrationCase(tc *resource.TestCase) {
	factories := map[string]func() (tfprotov6.ProviderServer, error){"echo": echoprovider.NewProviderServer()}
	for k, v := range testProviders {
		factories[k] = v
	}
	tc.ProtoV6ProviderFactories = factories
	tc.TerraformVersionChecks = append(tc.TerraformVersionChecks, tfversion.SkipBelow(tfversion.Version1_11_0))
}

// batchUsers reads a batch's users through the Exchange client.
func batchUsers(t *testing.T, c *exchange.Client, batch string) map[string]exchange.MigrationUser {
	t.Helper()
	users, err := c.GetMigrationUsers(context.Background(), batch)
	if err != nil {
		t.Fatalf("Get-MigrationUser -BatchId %s: %v", batch, err)
	}
	out := map[string]exchange.MigrationUser{}
	for _, u := range users {
		out[strings.ToLower(u.EmailAddress)] = u
	}
	return out
}

// mustJSON renders v for messages.
func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// newEndpointReady creates a migration endpoint the way an admin would in PowerShell, then waits
// until the service answers for it (the fake keeps a real tenant's replication lag after New-*).
func newEndpointReady(ctx context.Context, exo *exchange.Client, p exchange.NewEndpointParams) error {
	if _, err := exo.NewMigrationEndpoint(ctx, p); err != nil {
		return err
	}
	return exchange.WaitUntil(ctx, func(ctx context.Context) (bool, error) {
		_, err := exo.GetMigrationEndpoint(ctx, p.Name)
		return err == nil, err
	})
}
