package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testBins builds the provider and the fake once per test binary.
func testBins(t *testing.T) (providerDir, fakeBin string) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("end-to-end tests run with TF_ACC=1 (make test)")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	binOnce.Do(func() {
		// Built once and shared by every test of the binary, so it must outlive the first test's
		// t.TempDir; TestMain removes it.
		dir, err := os.MkdirTemp("", "m365-e2e-bin-") //nolint:usetesting // shared across tests, removed by TestMain
		if err != nil {
			binErr = err
			return
		}
		binDir = dir
		if binErr = Build(root, ".", filepath.Join(dir, "terraform-provider-m365")); binErr != nil {
			return
		}
		binErr = Build(root, "./internal/fakecloud/cmd/fakecloud", filepath.Join(dir, "fakecloud"))
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir, filepath.Join(binDir, "fakecloud")
}

// TestReadyFileContractAndNoSecretInTrace is the foundation's end-to-end proof: the standalone fake
// writes the ready file, a configuration built only from it reads the seeded SKUs through the real
// provider binary, and neither the client secret nor any token appears in the TF_LOG=trace log,
// the state or `terraform show -json`.
func TestReadyFileContractAndNoSecretInTrace(t *testing.T) {
	providerDir, fakeBin := testBins(t)
	work := t.TempDir()
	seed := filepath.Join(work, "seed.json")
	if err := os.WriteFile(seed, []byte(`{
  "skus": [
    {"sku_id": "f245ecc8-75af-4f8e-b61f-27d8114de5f3", "sku_part_number": "O365_BUSINESS_PREMIUM", "enabled": 300, "warning": 5, "consumed": 120},
    {"sku_id": "4b9405b0-7788-4568-add1-99614e613b69", "sku_part_number": "EXCHANGESTANDARD", "enabled": 50, "consumed": 50}
  ]
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fake, err := StartFake(fakeBin, work, "-seed", seed)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()
	raw, err := os.ReadFile(filepath.Join(work, "ready.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"login_endpoint", "graph_endpoint", "exchange_endpoint", "ca_cert_file", "tenant_id", "client_id", "client_secret"} {
		if s, _ := fields[k].(string); s == "" {
			t.Errorf("ready file lacks %s: %s", k, raw)
		}
	}
	cfgDir := filepath.Join(work, "tf")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := RequiredProviders + fake.Ready.ProviderBlock() + `
data "m365_subscribed_skus" "all" {}
output "free" {
  value = { for k, s in data.m365_subscribed_skus.all.by_part_number : k => s.available_units }
}
`
	if err := os.WriteFile(filepath.Join(cfgDir, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tf := &Terraform{Dir: cfgDir, ProviderDir: providerDir, LogPath: filepath.Join(work, "trace.log"),
		Env: []string{"SSL_CERT_FILE=" + fake.Ready.CACertFile}}
	if out, err := tf.Run("apply", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
	out, err := tf.Run("output", "-json", "free")
	if err != nil {
		t.Fatalf("terraform output: %v\n%s", err, out)
	}
	var free map[string]int
	if err := json.Unmarshal([]byte(out), &free); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if free["O365_BUSINESS_PREMIUM"] != 185 || free["EXCHANGESTANDARD"] != 0 {
		t.Errorf("free seats = %v, want O365_BUSINESS_PREMIUM 185 (300+5-120), EXCHANGESTANDARD 0", free)
	}
	show, err := tf.Run("show", "-json")
	if err != nil {
		t.Fatalf("terraform show: %v", err)
	}
	showFile := filepath.Join(work, "show.json")
	_ = os.WriteFile(showFile, []byte(show), 0o600)
	trace, _ := os.ReadFile(tf.LogPath)
	if !strings.Contains(string(trace), "HTTP request") || !strings.Contains(string(trace), "/v1.0/subscribedSkus") {
		t.Fatalf("the trace log does not show the provider's request logging (is TF_LOG reaching the provider?)")
	}
	// The secret is in main.tf by design; it must be nowhere else. Tokens the fake issued must not
	// appear either: read them back from the fake's own log is not possible, so look for the
	// Authorization header's shape instead.
	hits := FindSecrets([]string{fake.Ready.ClientSecret}, tf.LogPath, filepath.Join(cfgDir, "terraform.tfstate"), showFile)
	if len(hits) > 0 {
		t.Errorf("the client secret leaked into %v", hits)
	}
	if strings.Contains(string(trace), "Bearer ") {
		t.Errorf("a bearer token appears in the trace log")
	}
}
