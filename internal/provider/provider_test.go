package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// TestMain points the process at the local Microsoft 365's CA (one CA per process: Go loads the
// system roots once) and at the terraform binary on PATH (terraform-plugin-testing must never
// download one).
func TestMain(m *testing.M) {
	_, caFile, err := fakecloud.ProcessCA()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake CA:", err)
		os.Exit(1)
	}
	_ = os.Setenv("SSL_CERT_FILE", caFile)
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if p, err := exec.LookPath("terraform"); err == nil {
			_ = os.Setenv("TF_ACC_TERRAFORM_PATH", p)
		}
	}
	// Credentials of the machine running the tests must not leak into them, except for the live
	// tests, which use nothing else.
	for _, kv := range os.Environ() {
		if os.Getenv("M365_LIVE") == "1" {
			break
		}
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ARM_") || (strings.HasPrefix(k, "AZURE_") && k != "AZURE_SDK_GO_LOGGING") {
			_ = os.Unsetenv(k)
		}
	}
	code := m.Run()
	_ = fakecloud.CleanupProcessCA()
	os.Exit(code)
}

var testProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"m365": providerserver.NewProtocol6WithError(New("test")()),
}

// testEnv is one local tenant for one test.
type testEnv struct {
	t    *testing.T
	fake *fakecloud.Server
}

// The fake keeps a real tenant's clock by default (fakecloud.RealisticTiming, scaled to seconds:
// mailboxes provisioned seconds after licensing, lagging advanced-query lists, a first GET that
// answers 404, batches that take several polls per status), so that every acceptance test meets
// them. A test that needs the instant tenant sets seed.Timing = fakecloud.TimingInstant and says why.
func newTestEnv(t *testing.T, seed *fakecloud.Seed, knobs fakecloud.Knobs) *testEnv {
	t.Helper()
	if seed == nil {
		seed = fakecloud.DefaultSeed()
	}
	if seed.Timing == "" {
		seed.Timing = fakecloud.TimingRealistic
	}
	f, err := fakecloud.Start(fakecloud.Options{Seed: seed, Knobs: knobs})
	if err != nil {
		t.Fatalf("starting the local Microsoft 365: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return &testEnv{t: t, fake: f}
}

// providerBlock is the provider configuration that reaches the fake, as a user would write it.
func (e *testEnv) providerBlock(extra ...string) string {
	return fmt.Sprintf(`
provider "m365" {
  tenant_id     = %q
  client_id     = %q
  client_secret = %q
  %s
  endpoints {
    login    = %q
    graph    = %q
    exchange = %q
  }
}
`, e.fake.TenantID(), e.fake.ClientID(), e.fake.ClientSecret(), strings.Join(extra, "\n  "),
		e.fake.LoginEndpoint(), e.fake.GraphEndpoint(), e.fake.ExchangeEndpoint())
}

func (e *testEnv) config(body string, extra ...string) string {
	return e.providerBlock(extra...) + body
}

// accPreCheck skips nothing: the fake is always there. It only insists on TF_ACC, which
// resource.Test checks itself.
func accTest(t *testing.T, steps ...resource.TestStep) {
	t.Helper()
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: steps})
}

// accParallelTest is accTest for tests that set no environment variables: each test has its own
// fake, so they run side by side (most of their time is spent waiting on terraform).
func accParallelTest(t *testing.T, steps ...resource.TestStep) {
	t.Helper()
	resource.ParallelTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: steps})
}

// re compiles an expected-error pattern; a literal space matches any run of white space, since
// Terraform wraps diagnostic text.
func re(s string) *regexp.Regexp { return regexp.MustCompile(strings.ReplaceAll(s, " ", `\s+`)) }

func TestAccProviderConfigErrors(t *testing.T) {
	e := newTestEnv(t, nil, fakecloud.Knobs{})
	read := `data "m365_subscribed_skus" "all" {}`
	endpoints := fmt.Sprintf(`endpoints {
    login    = %q
    graph    = %q
    exchange = %q
  }`, e.fake.LoginEndpoint(), e.fake.GraphEndpoint(), e.fake.ExchangeEndpoint())
	accTest(t,
		resource.TestStep{ // wrong secret: the service's AADSTS text, and what to check
			Config: fmt.Sprintf(`provider "m365" {
  tenant_id     = %q
  client_id     = %q
  client_secret = "not-the-secret"
  %s
}
`, e.fake.TenantID(), e.fake.ClientID(), endpoints) + read,
			ExpectError: re(`(?s)Authentication Failed.*AADSTS7000215.*Check tenant_id, client_id`),
		},
		resource.TestStep{ // missing tenant
			Config: fmt.Sprintf(`provider "m365" {
  client_id     = %q
  client_secret = %q
  %s
}
`, e.fake.ClientID(), e.fake.ClientSecret(), endpoints) + read,
			ExpectError: re(`(?s)Missing Tenant ID.*ARM_TENANT_ID`),
		},
		resource.TestStep{ // unknown environment: plan-time validation
			Config:      e.config(read, `environment = "mars"`),
			ExpectError: re(`(?s)environment.*value must be one of.*global`),
		},
		resource.TestStep{ // two credentials
			Config:      e.config(read, `use_cli = true`),
			ExpectError: re(`(?s)Conflicting Credentials.*client_secret, use_cli`),
		},
		resource.TestStep{ // unknown tenant
			Config: fmt.Sprintf(`provider "m365" {
  tenant_id     = "00000000-0000-0000-0000-00000000dead"
  client_id     = %q
  client_secret = %q
  %s
}
`, e.fake.ClientID(), e.fake.ClientSecret(), endpoints) + read,
			ExpectError: re(`(?s)Authentication Failed`),
		},
		resource.TestStep{ // an endpoint that is not a host root
			Config: fmt.Sprintf(`provider "m365" {
  tenant_id     = %q
  client_id     = %q
  client_secret = %q
  endpoints {
    graph = "%s/v1.0"
  }
}
`, e.fake.TenantID(), e.fake.ClientID(), e.fake.ClientSecret(), e.fake.GraphEndpoint()) + read,
			ExpectError: re(`(?s)Invalid Endpoint.*host root`),
		},
	)
	if n := e.fake.Stats().Graph.Requests; n != 0 {
		t.Errorf("Graph got %d requests; failing configurations must not reach it", n)
	}
}

// stateCheckFunc is a ConfigStateChecks entry that checks the world outside Terraform (the fake,
// DNS), since the legacy Check functions cannot address for_each instances.
type stateCheckFunc func() error

func (f stateCheckFunc) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f()
}
