package provider

import (
	"context"
	"fmt"
	"net"
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

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

func TestAccIMAPMigrationEndpoint(t *testing.T) {
	srv := imaptest.StartMemServer(t, sourceMailboxes(), imaptest.SecuritySsl)
	// The lag knob makes every new endpoint answer not-found for a while: Create waits it out.
	e := newTestEnv(t, migrationSeed(srv), fakecloud.Knobs{ExchangeLag: 700 * time.Millisecond})
	exo := exoClient(t, e)
	addr := "m365_imap_migration_endpoint.src"
	var guid string
	accParallelTest(t,
		resource.TestStep{ // plan-time check: incremental syncs above migrations (defaults included)
			Config:      e.config(endpointHCL(srv, "max_concurrent_incremental_syncs = 150")),
			ExpectError: re(`(?s)Too Many Incremental Syncs.*\(150\) is greater than max_concurrent_migrations \(100\)`),
		},
		resource.TestStep{
			Config:      e.config(endpointHCL(srv, "max_concurrent_migrations = 10\n  max_concurrent_incremental_syncs = -1")),
			ExpectError: re(`(?s)Too Many Incremental Syncs.*\(Unlimited\) is greater than max_concurrent_migrations \(10\)`),
		},
		resource.TestStep{ // the service connects to the server first: a closed port is refused
			Config: e.config(fmt.Sprintf(`
resource "m365_imap_migration_endpoint" "src" {
  name          = "exmail"
  remote_server = "127.0.0.1"
  port          = %d
}
`, closedPort(t))),
			ExpectError: re(`(?s)Cannot Create Migration Endpoint.*New-MigrationEndpoint.*skip_verification = true`),
		},
		resource.TestStep{ // created after the service verified the TLS server (its CA is trusted by the fake)
			Config: e.config(endpointHCL(srv, "")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("exmail")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("port"), knownvalue.Int64Exact(int64(srv.Port))),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("security"), knownvalue.StringExact("Ssl")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("authentication"), knownvalue.StringExact("Basic")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("max_concurrent_migrations"), knownvalue.Int64Exact(100)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("max_concurrent_incremental_syncs"), knownvalue.Int64Exact(20)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("active_migration_count"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("guid"), knownvalue.StringRegexp(re(`^[0-9a-f-]{36}$`))),
			},
			Check: func(s *terraform.State) error {
				guid = s.RootModule().Resources[addr].Primary.Attributes["guid"]
				ep, err := exo.GetMigrationEndpoint(context.Background(), "exmail")
				if err != nil {
					return err
				}
				if ep.RemoteServer != "127.0.0.1" || ep.Port != int64(srv.Port) || ep.Security != "Ssl" || ep.GUID != guid {
					return fmt.Errorf("the service has %+v", ep)
				}
				return nil
			},
		},
		resource.TestStep{ // in-place update through Set-MigrationEndpoint
			Config: e.config(endpointHCL(srv, "max_concurrent_migrations = 50\n  max_concurrent_incremental_syncs = 10\n  accept_untrusted_certificates = true")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("max_concurrent_migrations"), knownvalue.Int64Exact(50)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("max_concurrent_incremental_syncs"), knownvalue.Int64Exact(10)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("accept_untrusted_certificates"), knownvalue.Bool(true)),
			},
			Check: func(s *terraform.State) error {
				if g := s.RootModule().Resources[addr].Primary.Attributes["guid"]; g != guid {
					return fmt.Errorf("the endpoint was replaced: guid %s, was %s", g, guid)
				}
				if n := cmdletCalls(e, "Set-MigrationEndpoint"); n != 1 {
					return fmt.Errorf("Set-MigrationEndpoint ran %d times, want 1", n)
				}
				ep, err := exo.GetMigrationEndpoint(context.Background(), "exmail")
				if err != nil {
					return err
				}
				if ep.MaxConcurrentMigrations != 50 || ep.MaxConcurrentIncrementalSyncs != 10 || !ep.AcceptUntrustedCertificates {
					return fmt.Errorf("the service has %+v", ep)
				}
				return nil
			},
		},
		resource.TestStep{ // import by name
			ResourceName:            addr,
			ImportState:             true,
			ImportStateId:           "exmail",
			ImportStateVerify:       true,
			ImportStateVerifyIgnore: []string{"timeouts"},
		},
		resource.TestStep{ // a new name replaces it; skip_verification creates one for an unreachable server
			Config: e.config(fmt.Sprintf(`
resource "m365_imap_migration_endpoint" "src" {
  name              = "exmail-2"
  remote_server     = "127.0.0.1"
  port              = %d
  security          = "None"
  authentication    = "Ntlm"
  skip_verification = true
}
`, closedPort(t))),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("security"), knownvalue.StringExact("None")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("authentication"), knownvalue.StringExact("Ntlm")),
			},
			Check: func(*terraform.State) error {
				if _, err := exo.GetMigrationEndpoint(context.Background(), "exmail"); !exchange.IsNotFound(err) {
					return fmt.Errorf("the replaced endpoint still exists: %v", err)
				}
				return nil
			},
		},
	)
	eps, err := exo.ListMigrationEndpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 0 {
		t.Errorf("endpoints left after destroy: %+v", eps)
	}
}

func TestAccIMAPMigrationEndpointGoneOutsideTerraform(t *testing.T) {
	srv := imaptest.StartMemServer(t, sourceMailboxes(), imaptest.SecuritySsl)
	e := newTestEnv(t, migrationSeed(srv), fakecloud.Knobs{})
	exo := exoClient(t, e)
	accParallelTest(t,
		resource.TestStep{Config: e.config(endpointHCL(srv, ""))},
		resource.TestStep{ // removed by someone else: the refresh drops it and the plan creates it again
			PreConfig: func() {
				if err := exo.RemoveMigrationEndpoint(context.Background(), "exmail"); err != nil {
					t.Fatal(err)
				}
			},
			Config: e.config(endpointHCL(srv, "")),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("m365_imap_migration_endpoint.src", plancheck.ResourceActionCreate),
			}},
		},
	)
}
