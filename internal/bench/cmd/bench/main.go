// Command bench is `make bench`: it builds the provider and the local Microsoft 365, runs the
// real terraform CLI against them with 50 ms latency and a scaled Entra write quota, and writes
// bench/results.md and bench/results.png.
//
//	go run ./internal/bench/cmd/bench [-out bench] [-bulk 100,1000] [-foreach 100,1000] [-csv-rows 50000] [-mailboxes 200] [-preflight-rounds 3] [-batch 1000]
//
// BENCH_COLD_BUILD=1 also measures a cold build of the provider (empty GOCACHE: several minutes).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/bench"
	"github.com/m365-migration/terraform-provider-m365/internal/e2e"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func sizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run() error {
	out := flag.String("out", "bench", "directory for results.md and results.png (relative to the module root)")
	bulkFlag := flag.String("bulk", "100,1000,5000", "numbers of users for m365_users (\"\" skips)")
	forEachFlag := flag.String("foreach", "100,1000", "numbers of users for for_each over m365_user (\"\" skips)")
	csvRows := flag.Int("csv-rows", 50000, "rows of the GB18030 Exmail export (0 skips)")
	mailboxes := flag.Int("mailboxes", 200, "Dovecot mailboxes for the preflight (0 skips)")
	preflightRounds := flag.Int("preflight-rounds", 1, "rounds of the preflight's timed runs; the median is reported (3 on a busy machine)")
	batchUsers := flag.Int("batch", 1000, "users of the migration batch run: mailbox readiness and no-op refresh (0 skips)")
	batchDelay := flag.Duration("batch-mailbox-delay", 5*time.Second, "the fake's mailbox provisioning delay after licensing, in the batch run")
	batchJitter := flag.Duration("batch-mailbox-jitter", 5*time.Second, "extra per-user provisioning time in [0, jitter), in the batch run")
	latency := flag.Duration("latency", 50*time.Millisecond, "latency of every request to the fake")
	flag.Parse()
	bulkSizes, err := sizes(*bulkFlag)
	if err != nil {
		return err
	}
	feSizes, err := sizes(*forEachFlag)
	if err != nil {
		return err
	}
	root, err := e2e.RepoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "m365-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	env := &bench.Env{Root: root, Work: work, ProviderDir: filepath.Join(work, "bin"), FakeBin: filepath.Join(work, "bin", "fakecloud"),
		Latency: *latency, Logf: logf}
	res := bench.Results{Date: time.Now(), Latency: *latency}
	started := time.Now()

	logf("building the provider and the fake")
	bl, err := env.Build(env.ProviderDir, false)
	if err != nil {
		return err
	}
	if err := e2e.Build(root, "./internal/fakecloud/cmd/fakecloud", env.FakeBin); err != nil {
		return err
	}
	var coldWall time.Duration
	if os.Getenv("BENCH_COLD_BUILD") == "1" {
		logf("cold build (empty GOCACHE): this takes minutes")
		coldDir := filepath.Join(work, "cold")
		if err := os.MkdirAll(coldDir, 0o755); err != nil {
			return err
		}
		coldStart := time.Now()
		if bl, err = env.Build(coldDir, true); err != nil {
			return err
		}
		coldWall = time.Since(coldStart)
	}
	res.Build = &bl

	// Entra: 3,000 writes / 150 s. Scaled 1/10 in time and 5× in rate for N ≤ 1,000 (1,500 / 15 s
	// = 50 users/s), and 20× in rate above (6,000 / 15 s = 200 users/s), so the whole run stays
	// under 10 minutes on two cores.
	quotaFor := func(n int) bench.Quota {
		if n > 1000 {
			return bench.Quota{Writes: 6000, Window: 15 * time.Second}
		}
		return bench.Quota{Writes: 1500, Window: 15 * time.Second}
	}
	res.Notes = append(res.Notes,
		"Quota scale: Entra's 3,000 writes / 150 s is scaled 1/10 in time and 5× in rate (1,500 writes / 15 s = 100 writes/s = 50 users/s) for N ≤ 1,000, "+
			"and 20× in rate (6,000 writes / 15 s = 200 users/s) for N = 5,000, so that the whole bench stays under 10 minutes; the ratios are rate-independent "+
			"as long as the provider, not the machine, is what limits them.")
	type job struct {
		mode string
		n    int
	}
	var jobs []job
	for _, n := range bulkSizes {
		jobs = append(jobs, job{bench.ModeBulk, n})
	}
	for _, n := range feSizes {
		jobs = append(jobs, job{bench.ModeForEach, n})
	}
	for _, j := range jobs {
		r, err := env.RunUsers(j.mode, j.n, quotaFor(j.n))
		if err != nil {
			return err
		}
		res.Users = append(res.Users, r)
	}
	if *batchUsers > 0 {
		logf("migration batch of %d users (mailboxes appear %s + up to %s after licensing)", *batchUsers, *batchDelay, *batchJitter)
		b, err := env.RunBatch(*batchUsers, quotaFor(*batchUsers), *batchDelay, *batchJitter)
		if err != nil {
			return err
		}
		res.Batch = &b
	}
	if *csvRows > 0 {
		logf("m365_users_csv over %d GB18030 rows", *csvRows)
		c, err := env.RunCSV(*csvRows)
		if err != nil {
			return err
		}
		res.CSV = &c
	}
	if *mailboxes > 0 {
		logf("preflight over %d Dovecot mailboxes", *mailboxes)
		p, err := env.RunPreflight(*mailboxes, *preflightRounds)
		if err != nil {
			res.Notes = append(res.Notes, "Preflight not measured: "+err.Error())
			logf("preflight skipped: %v", err)
		} else {
			res.Preflight = &p
		}
	}
	whole := fmt.Sprintf("Whole bench: %s on %s.", time.Since(started).Round(time.Second), hostDesc())
	if coldWall > 0 {
		whole = fmt.Sprintf("Whole bench: %s on %s, of which %s for the cold build (BENCH_COLD_BUILD=1); %s without it.",
			time.Since(started).Round(time.Second), hostDesc(), coldWall.Round(time.Second), (time.Since(started) - coldWall).Round(time.Second))
	}
	res.Notes = append(res.Notes, whole)
	dir := *out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The chart shows the users runs: with -bulk "" -foreach "" there is none to draw.
	chart := ""
	if len(res.Users) > 0 {
		chart = "results.png"
		if err := res.Chart(filepath.Join(dir, chart)); err != nil {
			return err
		}
	}
	md := res.Markdown(chart)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}

func hostDesc() string {
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "\nprocessor")
		if strings.HasPrefix(string(b), "processor") {
			n++
		}
	}
	return fmt.Sprintf("%d CPU cores", n)
}
