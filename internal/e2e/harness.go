// Package e2e runs the real provider binary under the real terraform CLI against the local
// Microsoft 365 started as its own process, exactly as a user (or `make demo`) would: dev_overrides,
// SSL_CERT_FILE, endpoints from the fake's ready file.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Ready is the fake's ready file (DESIGN.md's contract).
type Ready struct {
	LoginEndpoint    string `json:"login_endpoint"`
	GraphEndpoint    string `json:"graph_endpoint"`
	ExchangeEndpoint string `json:"exchange_endpoint"`
	CACertFile       string `json:"ca_cert_file"`
	TenantID         string `json:"tenant_id"`
	ClientID         string `json:"client_id"`
	ClientSecret     string `json:"client_secret"`
	// The local Tencent Exmail API.
	ExmailEndpoint string            `json:"exmail_endpoint"`
	ExmailCorpID   string            `json:"exmail_corp_id"`
	ExmailSecrets  map[string]string `json:"exmail_secrets"`
}

// RepoRoot finds the module root from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

var buildMu sync.Mutex

// Build compiles a package of this module into dir/name (go build's cache makes repeats cheap).
func Build(root, pkg, out string) error {
	buildMu.Lock()
	defer buildMu.Unlock()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, stderr.String())
	}
	return nil
}

// Fake is a running cmd/fakecloud process.
type Fake struct {
	Ready Ready
	cmd   *exec.Cmd
	Log   *bytes.Buffer
}

// StartFake runs the fake binary with the given extra flags and waits for its ready file.
func StartFake(bin, dir string, args ...string) (*Fake, error) {
	ready := filepath.Join(dir, "ready.json")
	_ = os.Remove(ready)
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-ready-file", ready}, args...)...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &Fake{cmd: cmd, Log: &log}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(ready)
		if err == nil && json.Unmarshal(b, &f.Ready) == nil && f.Ready.GraphEndpoint != "" {
			return f, nil
		}
		if time.Now().After(deadline) {
			f.Stop()
			return nil, fmt.Errorf("the fake wrote no ready file in 30 s; its output:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits.
func (f *Fake) Stop() {
	if f.cmd.Process == nil {
		return
	}
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = f.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// ProviderBlock is the provider configuration a user writes for the fake.
func (r Ready) ProviderBlock() string {
	return fmt.Sprintf(`provider "m365" {
  tenant_id     = %q
  client_id     = %q
  client_secret = %q
  endpoints {
    login    = %q
    graph    = %q
    exchange = %q
  }
}
`, r.TenantID, r.ClientID, r.ClientSecret, r.LoginEndpoint, r.GraphEndpoint, r.ExchangeEndpoint)
}

// Terraform runs the terraform CLI in a directory with the provider from dev_overrides.
type Terraform struct {
	Dir         string
	ProviderDir string // directory holding terraform-provider-m365
	Env         []string
	LogPath     string // TF_LOG=trace goes here when set
}

// Run runs one terraform command and returns its combined output.
func (t *Terraform) Run(args ...string) (string, error) {
	rc := filepath.Join(t.Dir, ".terraformrc")
	cfg := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"m365-migration/m365\" = %q\n  }\n  direct {}\n}\n", t.ProviderDir)
	if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	cmd := exec.Command("terraform", args...)
	cmd.Dir = t.Dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_INPUT=0")
	if t.LogPath != "" {
		cmd.Env = append(cmd.Env, "TF_LOG=trace", "TF_LOG_PATH="+t.LogPath)
	}
	cmd.Env = append(cmd.Env, t.Env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// RequiredProviders is the terraform block for the provider's registry address.
const RequiredProviders = `terraform {
  required_providers {
    m365 = {
      source = "m365-migration/m365"
    }
  }
}
`

// FindSecrets returns, for each secret, the files that contain it.
func FindSecrets(secrets []string, files ...string) map[string][]string {
	hits := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(string(b), s) {
				hits[s] = append(hits[s], f)
			}
		}
	}
	return hits
}
