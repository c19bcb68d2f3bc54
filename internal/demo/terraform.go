package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// runner runs the terraform CLI in the example's copy, one log file per step.
type runner struct {
	tf     string
	dir    string
	logDir string
	env    []string
	log    func(format string, args ...any)
}

// apply runs `terraform apply` with vars (written to a -var-file; nothing secret goes there) and
// returns its combined output, also kept in <logDir>/<step>.log.
func (r *runner) apply(ctx context.Context, step string, vars map[string]any, extra ...string) (string, error) {
	b, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return "", err
	}
	varFile := filepath.Join(r.logDir, step+".tfvars.json")
	if err := os.WriteFile(varFile, b, 0o600); err != nil {
		return "", err
	}
	args := append([]string{"apply", "-auto-approve", "-input=false", "-no-color", "-var-file=" + varFile}, extra...)
	start := time.Now()
	out, err := r.run(ctx, step, args...)
	r.log("   terraform apply (%s): %s", step, time.Since(start).Round(100*time.Millisecond))
	return out, err
}

// outputs returns the root module's outputs.
func (r *runner) outputs(ctx context.Context) (map[string]json.RawMessage, error) {
	cmd := exec.CommandContext(ctx, r.tf, "output", "-json", "-no-color")
	cmd.Dir, cmd.Env = r.dir, r.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("terraform output: %v\n%s", err, stderr.String())
	}
	var raw map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("terraform output: %w", err)
	}
	out := map[string]json.RawMessage{}
	for k, v := range raw {
		out[k] = v.Value
	}
	return out, nil
}

func (r *runner) run(ctx context.Context, step string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.tf, args...)
	cmd.Dir, cmd.Env = r.dir, r.env
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	logFile := filepath.Join(r.logDir, step+".log")
	_ = os.WriteFile(logFile, out, 0o600)
	if err != nil {
		return string(out), fmt.Errorf("terraform %s (%s) failed: %v; log %s\n%s", args[0], step, err, logFile, tail(string(out), 60))
	}
	return string(out), nil
}
