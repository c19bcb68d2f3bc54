// Package bench measures the provider the way a user meets it: the real provider binary under the
// real terraform CLI (internal/e2e) against the local Microsoft 365 run as its own process, with
// latency and a scaled Entra write quota. It is driven by cmd/bench (`make bench`), not by tests.
package bench

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/e2e"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// Quota is a (scaled) Entra write quota: Writes per Window per app and tenant.
type Quota struct {
	Writes int
	Window time.Duration
}

// UsersPerSecond is the quota-bound rate of licensed users: two writes per user (create with
// usageLocation, assignLicense).
func (q Quota) UsersPerSecond() float64 { return float64(q.Writes) / q.Window.Seconds() / 2 }

// String is "600 writes / 15s".
func (q Quota) String() string { return fmt.Sprintf("%d writes / %s", q.Writes, q.Window) }

// Env is what every scenario needs: the built binaries and a scratch directory.
type Env struct {
	Root        string // module root
	Work        string // scratch directory
	ProviderDir string // holds terraform-provider-m365
	FakeBin     string // cmd/fakecloud binary
	Latency     time.Duration
	Logf        func(format string, args ...any)
}

// Phase is one terraform command of a run, measured.
type Phase struct {
	Name      string // create | plan | destroy
	Wall      time.Duration
	Requests  int // Graph requests, $batch sub-requests included
	Writes    int // Graph writes
	Throttled int // 429 answers
	// WritePhase is the time from the first to the last successful write (0 without writes).
	WritePhase time.Duration
	// NoOp is true when `terraform plan -detailed-exitcode` found nothing to do.
	NoOp bool
}

// UsersRun is one create / no-op plan / destroy cycle of N users.
type UsersRun struct {
	Mode   string // "m365_users" or "for_each m365_user"
	N      int
	Quota  Quota
	Phases []Phase
}

// Phase returns the named phase (zero Phase when missing).
func (r UsersRun) Phase(name string) Phase {
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	return Phase{}
}

// Modes of RunUsers.
const (
	ModeBulk    = "m365_users"
	ModeForEach = "for_each m365_user"
)

// usersSeed is the fake tenant: the verified domain corp.com and n+10 O365_BUSINESS_PREMIUM seats.
func usersSeed(n int) *fakecloud.Seed {
	seed := fakecloud.DefaultSeed()
	seed.Domains = []fakecloud.SeedDomain{{ID: "corp.com", IsVerified: true}}
	for i := range seed.SKUs {
		if seed.SKUs[i].SkuPartNumber == "O365_BUSINESS_PREMIUM" {
			seed.SKUs[i].Enabled, seed.SKUs[i].Consumed = n+10, 0
		}
	}
	return seed
}

// AdminCSV is an admin-centre template (16 columns) with n users u00001@corp.com...
func AdminCSV(n int) string {
	var b strings.Builder
	b.WriteString("User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "u%05d@corp.com,U%05d,User,U%05d User,Clerk,Sales,,010-1234,,,,,Beijing,,,China\n", i, i, i)
	}
	return b.String()
}

// benchPassword is the initial password of the benchmark's users (a test value, not a secret).
const benchPassword = "Temp-Passw0rd!x"

func usersHCL(mode string, q Quota) string {
	csv := `
data "m365_users_csv" "staff" {
  path     = "${path.module}/users.csv"
  defaults = { usage_location = "CN" }
}
`
	if mode == ModeBulk {
		return csv + fmt.Sprintf(`
resource "m365_users" "staff" {
  users        = data.m365_users_csv.staff.users
  password_wo  = %q
  licenses     = [{ sku = "O365_BUSINESS_PREMIUM" }]
  write_quota  = %d
  write_window = %q
}
`, benchPassword, q.Writes, q.Window.String())
	}
	return csv + fmt.Sprintf(`
resource "m365_user" "staff" {
  for_each            = data.m365_users_csv.staff.users
  user_principal_name = each.key
  display_name        = each.value.display_name
  department          = each.value.department
  usage_location      = each.value.usage_location
  password_wo         = %q
  licenses            = [{ sku = "O365_BUSINESS_PREMIUM" }]
}
`, benchPassword)
}

// fakeAdmin talks to the fake's /_fake routes.
type fakeAdmin struct {
	base string
	hc   *http.Client
}

func newFakeAdmin(r e2e.Ready) (*fakeAdmin, error) {
	pem, err := os.ReadFile(r.CACertFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("the fake's CA file holds no certificate")
	}
	return &fakeAdmin{base: strings.TrimRight(r.GraphEndpoint, "/"), hc: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}}, nil
}

func (a *fakeAdmin) do(method, path string, out any) error {
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

func (a *fakeAdmin) reset() error { return a.do(http.MethodPost, "/_fake/reset-stats", nil) }

func (a *fakeAdmin) measure(p *Phase) error {
	var st fakecloud.Stats
	if err := a.do(http.MethodGet, "/_fake/stats", &st); err != nil {
		return err
	}
	var reqs []fakecloud.RequestRecord
	if err := a.do(http.MethodGet, "/_fake/requests", &reqs); err != nil {
		return err
	}
	p.Requests, p.Writes, p.Throttled = st.Graph.Requests, st.Graph.Writes, st.Graph.Throttled
	var first, last time.Time
	for _, r := range reqs {
		if r.Service == fakecloud.ServiceGraph && r.Write && r.Status < 300 {
			if first.IsZero() || r.Time.Before(first) {
				first = r.Time
			}
			if r.Time.After(last) {
				last = r.Time
			}
		}
	}
	if !first.IsZero() {
		p.WritePhase = last.Sub(first)
	}
	return nil
}

// startFake writes the seed and starts the fake with the latency, the quota and extra flags.
func (e *Env) startFake(dir string, seed *fakecloud.Seed, q Quota, extra ...string) (*e2e.Fake, error) {
	b, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		return nil, err
	}
	seedFile := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seedFile, b, 0o600); err != nil {
		return nil, err
	}
	args := []string{"-seed", seedFile, "-latency", e.Latency.String(), "-random-seed", "7"}
	if q.Writes > 0 {
		args = append(args, "-write-quota", strconv.Itoa(q.Writes), "-write-window", q.Window.String())
	}
	return e2e.StartFake(e.FakeBin, dir, append(args, extra...)...)
}

// terraform returns a runner for dir with the fake's CA trusted.
func (e *Env) terraform(dir string, f *e2e.Fake) *e2e.Terraform {
	return &e2e.Terraform{Dir: dir, ProviderDir: e.ProviderDir,
		Env: []string{"SSL_CERT_FILE=" + f.Ready.CACertFile, "TF_CLI_ARGS_apply=-no-color", "TF_CLI_ARGS_plan=-no-color", "TF_CLI_ARGS_destroy=-no-color"}}
}

// RunUsers creates N users (mode ModeBulk or ModeForEach), plans again (must be a no-op) and
// destroys them, measuring each phase.
func (e *Env) RunUsers(mode string, n int, q Quota) (UsersRun, error) {
	run := UsersRun{Mode: mode, N: n, Quota: q}
	dir, err := os.MkdirTemp(e.Work, "users-")
	if err != nil {
		return run, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	fake, err := e.startFake(dir, usersSeed(n), q)
	if err != nil {
		return run, err
	}
	defer fake.Stop()
	admin, err := newFakeAdmin(fake.Ready)
	if err != nil {
		return run, err
	}
	cfgDir := filepath.Join(dir, "tf")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return run, err
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "users.csv"), []byte(AdminCSV(n)), 0o600); err != nil {
		return run, err
	}
	cfg := e2e.RequiredProviders + fake.Ready.ProviderBlock() + usersHCL(mode, q)
	if err := os.WriteFile(filepath.Join(cfgDir, "main.tf"), []byte(cfg), 0o600); err != nil {
		return run, err
	}
	tf := e.terraform(cfgDir, fake)
	phases := []struct {
		name string
		args []string
	}{
		{"create", []string{"apply", "-auto-approve"}},
		{"plan", []string{"plan", "-detailed-exitcode"}},
		{"destroy", []string{"destroy", "-auto-approve"}},
	}
	for _, ph := range phases {
		if err := admin.reset(); err != nil {
			return run, err
		}
		p := Phase{Name: ph.name}
		start := time.Now()
		out, err := tf.Run(ph.args...)
		p.Wall = time.Since(start)
		if ph.name == "plan" {
			var ee *exec.ExitError
			switch {
			case err == nil:
				p.NoOp = true
			case errors.As(err, &ee) && ee.ExitCode() == 2:
				p.NoOp = false
			default:
				return run, fmt.Errorf("%s %d: terraform plan: %v\n%s", mode, n, err, tail(out))
			}
		} else if err != nil {
			return run, fmt.Errorf("%s %d: terraform %s: %v\n%s", mode, n, ph.name, err, tail(out))
		}
		if err := admin.measure(&p); err != nil {
			return run, err
		}
		run.Phases = append(run.Phases, p)
		e.Logf("%s N=%d %s: %s, %d requests, %d writes, %d throttled", mode, n, ph.name,
			p.Wall.Round(100*time.Millisecond), p.Requests, p.Writes, p.Throttled)
	}
	return run, nil
}

// tail is the end of a long terraform output.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// procPeak samples the peak resident set (VmHWM) of every process running exe until stop is
// closed, and returns the largest, in bytes.
func procPeak(exe string, stop <-chan struct{}) func() int64 {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			entries, _ := os.ReadDir("/proc")
			for _, en := range entries {
				if _, err := strconv.Atoi(en.Name()); err != nil {
					continue
				}
				if p, err := os.Readlink(filepath.Join("/proc", en.Name(), "exe")); err != nil || p != exe {
					continue
				}
				st, err := os.ReadFile(filepath.Join("/proc", en.Name(), "status"))
				if err != nil {
					continue
				}
				for _, line := range strings.Split(string(st), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
						mu.Lock()
						peak = max(peak, kb*1024)
						mu.Unlock()
					}
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// CSVResult is the m365_users_csv measurement.
type CSVResult struct {
	Rows     int
	Bytes    int64
	Wall     time.Duration // terraform plan reading the data source, terraform start-up included
	Baseline time.Duration // the same plan with a 1-row file: terraform and provider start-up
	PeakRSS  int64         // peak resident set of the provider process, bytes
	Encoding string
}

// RunCSV reads a rows-row Exmail export saved in GB18030 through m365_users_csv.
func (e *Env) RunCSV(rows int) (CSVResult, error) {
	res := CSVResult{Rows: rows}
	dir, err := os.MkdirTemp(e.Work, "csv-")
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	fake, err := e.startFake(dir, usersSeed(0), Quota{})
	if err != nil {
		return res, err
	}
	defer fake.Stop()
	measure := func(n int) (time.Duration, int64, string, int64, error) {
		cfgDir := filepath.Join(dir, fmt.Sprintf("tf%d", n))
		if err := os.MkdirAll(cfgDir, 0o755); err != nil {
			return 0, 0, "", 0, err
		}
		data, err := ExmailGB18030(n)
		if err != nil {
			return 0, 0, "", 0, err
		}
		if err := os.WriteFile(filepath.Join(cfgDir, "staff.csv"), data, 0o600); err != nil {
			return 0, 0, "", 0, err
		}
		cfg := e2e.RequiredProviders + fake.Ready.ProviderBlock() + `
data "m365_users_csv" "staff" {
  path     = "${path.module}/staff.csv"
  format   = "exmail"
  encoding = "auto"
  domain   = "corp.com"
}
output "count" { value = length(data.m365_users_csv.staff.users) }
output "encoding" { value = data.m365_users_csv.staff.encoding }
`
		if err := os.WriteFile(filepath.Join(cfgDir, "main.tf"), []byte(cfg), 0o600); err != nil {
			return 0, 0, "", 0, err
		}
		tf := e.terraform(cfgDir, fake)
		stop := make(chan struct{})
		peak := procPeak(filepath.Join(e.ProviderDir, "terraform-provider-m365"), stop)
		start := time.Now()
		out, err := tf.Run("apply", "-auto-approve")
		wall := time.Since(start)
		close(stop)
		p := peak()
		if err != nil {
			return 0, 0, "", 0, fmt.Errorf("m365_users_csv %d rows: %v\n%s", n, err, tail(out))
		}
		cnt, _ := tf.Run("output", "-raw", "count")
		enc, _ := tf.Run("output", "-raw", "encoding")
		if strings.TrimSpace(cnt) != strconv.Itoa(n) {
			return 0, 0, "", 0, fmt.Errorf("m365_users_csv read %q users from %d rows", cnt, n)
		}
		return wall, p, strings.TrimSpace(enc), int64(len(data)), nil
	}
	if res.Baseline, _, _, _, err = measure(1); err != nil {
		return res, err
	}
	res.Wall, res.PeakRSS, res.Encoding, res.Bytes, err = measure(rows)
	return res, err
}

// ExmailGB18030 is a Tencent Exmail export (Chinese headers and names) of n rows, in GB18030.
func ExmailGB18030(n int) ([]byte, error) {
	var b strings.Builder
	b.WriteString("姓名,帐号,部门,职务,手机,电话,编号\n")
	surnames := []string{"张", "王", "李", "赵", "刘", "陈", "杨", "黄"}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s%d,user%06d,销售部,客户经理,138%08d,010-6%07d,E%06d\n", surnames[i%len(surnames)], i, i, i, i, i)
	}
	return encodeGB18030(b.String())
}

// BuildResult is the provider binary's size and build time.
type BuildResult struct {
	Bytes int64
	Wall  time.Duration
	Cold  bool // GOCACHE was a new empty directory
	// ReleaseBytes is the size built with the release's flags (ReleaseFlags), always in the
	// ordinary GOCACHE: the first run compiles every package again (-trimpath and CGO_ENABLED=0
	// change the cache keys), later runs reuse it.
	ReleaseBytes int64
	ReleaseWall  time.Duration
}

// ReleaseFlags are the go build flags and environment of .goreleaser.yml's build (its ldflags
// also set main.version, which changes the size by a few bytes).
const ReleaseFlags = `CGO_ENABLED=0 go build -trimpath -ldflags="-s -w"`

// Build builds the provider into dir and measures it; cold uses an empty GOCACHE. It then builds
// it again with the release flags (in the ordinary GOCACHE) for ReleaseBytes.
func (e *Env) Build(dir string, cold bool) (BuildResult, error) {
	res := BuildResult{Cold: cold}
	out := filepath.Join(dir, "terraform-provider-m365")
	var env []string
	if cold {
		cache, err := os.MkdirTemp(e.Work, "gocache-")
		if err != nil {
			return res, err
		}
		defer func() { _ = os.RemoveAll(cache) }()
		env = append(env, "GOCACHE="+cache)
	}
	var err error
	if res.Bytes, res.Wall, err = e.goBuild(env, out); err != nil {
		return res, err
	}
	res.ReleaseBytes, res.ReleaseWall, err = e.goBuild([]string{"CGO_ENABLED=0"}, out+"-release", "-trimpath", "-ldflags=-s -w")
	return res, err
}

// goBuild runs go build with flags in the module root, with extra environment, into out and
// returns out's size and the wall time.
func (e *Env) goBuild(env []string, out string, flags ...string) (int64, time.Duration, error) {
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, ".")...)
	cmd.Dir = e.Root
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("go build: %v\n%s", err, stderr.String())
	}
	wall := time.Since(start)
	st, err := os.Stat(out)
	if err != nil {
		return 0, 0, err
	}
	return st.Size(), wall, nil
}
