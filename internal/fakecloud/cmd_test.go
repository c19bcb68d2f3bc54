package fakecloud

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandProcess builds cmd/fakecloud, runs it as a process, uses it through the ready file and
// stops it with SIGTERM.
func TestCommandProcess(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fakecloud")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/fakecloud")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	help, _ := exec.Command(bin, "-h").CombinedOutput()
	for _, flag := range []string{"-ready-file", "-seed", "-state", "-latency", "-write-quota", "-write-window", "-throttle-ratio",
		"-retry-after", "-fail-503-ratio", "-lag", "-fail-after-writes", "-exchange-error-form", "-exchange-redirect",
		"-exchange-page-size", "-exchange-lag", "-exchange-throttle-ratio", "-exchange-concurrency-ratio", "-random-seed",
		"-migration-polls-per-step", "-imap-root-ca"} {
		if !strings.Contains(string(help), flag+" ") && !strings.Contains(string(help), flag+"\n") {
			t.Fatalf("-h does not list %s:\n%s", flag, help)
		}
	}

	seed := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seed, []byte(`{"knobs":{"throttle_ratio":1,"exchange_redirect":true}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready.json")
	state := filepath.Join(dir, "state.json")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-ready-file", ready, "-seed", seed, "-state", state,
		"-throttle-ratio", "0", "-retry-after", "2")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()

	var info ReadyInfo
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(ready)
		if err == nil && json.Unmarshal(b, &info) == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("fakecloud exited early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if info.TenantID == "" || info.ClientSecret == "" || !strings.HasPrefix(info.GraphEndpoint, "https://127.0.0.1:") {
		t.Fatalf("ready info %+v", info)
	}

	// A client that trusts only the CA file from the ready file.
	caPEM, err := os.ReadFile(info.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.PostForm(info.LoginEndpoint+"/"+info.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {info.ClientID}, "client_secret": {info.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || tok["access_token"] == nil {
		t.Fatalf("token from process: %d %v", resp.StatusCode, tok)
	}
	req, _ := http.NewRequest(http.MethodGet, info.GraphEndpoint+"/v1.0/subscribedSkus", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("flag -throttle-ratio 0 must override the seed's 1: %d", resp.StatusCode)
	}
	resp, err = client.Get(info.GraphEndpoint + "/_fake/knobs")
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var k Knobs
	if err := json.Unmarshal(kb, &k); err != nil || !k.ExchangeRedirect || k.RetryAfter != 2 || k.ThrottleRatio != 0 {
		t.Fatalf("knobs in process: %v %s", err, kb)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("state file: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fakecloud did not stop on SIGTERM")
	}
	if _, err := os.Stat(filepath.Dir(info.CACertFile)); !os.IsNotExist(err) {
		t.Fatalf("CA directory not removed: %v", err)
	}
	if _, err := os.Stat(ready); err != nil {
		t.Fatalf("the ready file must stay: %v", err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("the state file must stay: %v", err)
	}
	if stderr.Len() != 0 {
		t.Fatalf("without -v stderr must be quiet: %s", stderr.String())
	}
}
