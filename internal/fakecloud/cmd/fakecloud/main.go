// Command fakecloud runs the local Microsoft 365 (Entra login, Graph subset, Exchange
// InvokeCommand) until SIGTERM or SIGINT.
//
//	go run ./internal/fakecloud/cmd/fakecloud -addr 127.0.0.1:0 -ready-file F [-seed S.json] [-state FILE] [-timing realistic]
//
// When the listeners are up it writes F (JSON: login_endpoint, graph_endpoint, exchange_endpoint,
// ca_cert_file, tenant_id, client_id, client_secret, and for the local Tencent Exmail API
// exmail_endpoint, exmail_corp_id, exmail_secrets). Knob flags override the seed's knobs.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakecloud", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen host:port; port 0 = random ports, port P = login P, graph P+1, exchange P+2")
	readyFile := fs.String("ready-file", "", "write connection details (JSON) to this file once listening")
	seedFile := fs.String("seed", "", "seed JSON file (tenant, apps, skus, migration_endpoints, imap_root_cas, domains, domain_references, knobs)")
	stateFile := fs.String("state", "", "state file: loaded if it exists (wins over the seed), rewritten after every change")
	verbose := fs.Bool("v", false, "log one line per request to stderr")
	timing := fs.String("timing", "", `timing profile the knobs start from: "instant" (default) or "realistic" `+
		"(a real tenant's delays scaled to seconds; overrides the seed's timing field; knob flags still win)")

	var k fakecloud.Knobs
	fs.DurationVar(&k.Latency, "latency", 0, "latency added to every request (all services), e.g. 50ms")
	fs.IntVar(&k.WriteQuota, "write-quota", 0, "Graph writes allowed per -write-window per app+tenant (0 = no quota)")
	fs.DurationVar(&k.WriteWindow, "write-window", 0, "sliding window of the write quota, e.g. 150s")
	fs.Float64Var(&k.ThrottleRatio, "throttle-ratio", 0, "share (0..1) of Graph requests answered 429")
	fs.Float64Var(&k.RetryAfter, "retry-after", 0, "Retry-After seconds for ratio-based 429/503 answers (fractions allowed)")
	fs.Float64Var(&k.Fail503Ratio, "fail-503-ratio", 0, "share (0..1) of Graph requests answered 503")
	fs.DurationVar(&k.ReadAfterWriteLag, "lag", 0, "read-after-write lag: new Graph objects answer 404 for this long")
	fs.IntVar(&k.FailAfterWrites, "fail-after-writes", 0, "after K successful Graph writes, every further write answers 500")
	fs.StringVar(&k.ExchangeErrorForm, "exchange-error-form", "", `InvokeCommand error detail form: "pipe" (default) or "json"`)
	fs.Float64Var(&k.ExchangeThrottleRatio, "exchange-throttle-ratio", 0, "share (0..1) of InvokeCommand requests answered 429")
	fs.Float64Var(&k.ExchangeConcurrencyRatio, "exchange-concurrency-ratio", 0,
		"share (0..1) of InvokeCommand requests answered 500 with the concurrency-limit text")
	fs.BoolVar(&k.ExchangeRedirect, "exchange-redirect", false, "answer InvokeCommand with a 302 to a regional path")
	fs.IntVar(&k.ExchangePageSize, "exchange-page-size", 0, "InvokeCommand page size (default 1000)")
	fs.DurationVar(&k.ExchangeLag, "exchange-lag", 0, "objects made by New-* cmdlets answer not-found for this long")
	fs.StringVar(&k.DNSServer, "dns-server", "", "DNS server (host:port) that domain verification asks for the MS=ms... TXT record")
	fs.BoolVar(&k.AutoVerify, "auto-verify", false, "domain verification always succeeds, without asking DNS")
	fs.StringVar(&k.DKIMCNAMEFormat, "dkim-cname-format", "", "DKIM selector CNAME form: v1 (2025) or legacy; empty: the cloud's default")
	fs.IntVar(&k.MigrationPollsPerStep, "migration-polls-per-step", 0,
		"Get-MigrationBatch polls a batch spends in each transitional status (default 1)")
	fs.BoolVar(&k.StrictBatchDependencies, "strict-batch-dependencies", false,
		"$batch refuses dependsOn patterns that are neither fully parallel nor fully sequential")
	fs.Int64Var(&k.RandomSeed, "random-seed", 0, "seed for the ratios and $batch order (0 = random)")
	fs.DurationVar(&k.MailboxProvisionDelay, "mailbox-provision-delay", 0,
		"time from an Exchange Online licence to its mailbox (0 = at once, negative = never)")
	fs.DurationVar(&k.MailboxProvisionJitter, "mailbox-provision-jitter", 0,
		"extra per-user provisioning time in [0, jitter), derived from the user id")
	fs.DurationVar(&k.ListLag, "list-lag", 0,
		"advanced Graph queries (ConsistencyLevel: eventual) miss users created, and still list users deleted, less than this long ago")
	var imapRootCAs []string
	fs.Func("imap-root-ca", "PEM file of a CA the migration engine trusts for IMAP servers (repeatable; adds to the seed's imap_root_cas)",
		func(v string) error {
			imapRootCAs = append(imapRootCAs, v)
			return nil
		})
	// The local Exmail API's readings of what Tencent does not document (fakeexmail.Options).
	var exmailOpts fakeexmail.Options
	fs.IntVar(&exmailOpts.ExpiredCode, "exmail-expired-code", 0, "Exmail errcode of an expired token: 42001 (default) or 40014")
	fs.BoolVar(&exmailOpts.BoundPasswordIgnored, "exmail-bound-password-ignored", false,
		"Exmail user/update answers \"updated\" but keeps the password of WeChat-bound members (default: errcode 60128)")
	fs.BoolVar(&exmailOpts.CpwdLoginBlocksIMAP, "exmail-cpwd-login-blocks-imap", false, "Exmail refuses IMAP logins while cpwd_login is set")
	fs.BoolVar(&exmailOpts.DepartmentListOneLevel, "exmail-department-list-one-level", false, "Exmail department/list answers one level instead of the subtree")
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), "Usage: fakecloud -addr 127.0.0.1:0 -ready-file F [-seed S.json] [-state FILE] [knob flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "fakecloud: unexpected arguments: %v\n", fs.Args())
		return 2
	}

	seed := fakecloud.DefaultSeed()
	if *seedFile != "" {
		var err error
		if seed, err = fakecloud.LoadSeed(*seedFile); err != nil {
			_, _ = fmt.Fprintf(stderr, "fakecloud: %v\n", err)
			return 1
		}
	}
	// Flags override seed knobs: copy only the flags that were given.
	knobs := seed.Knobs
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "latency":
			knobs.Latency = k.Latency
		case "write-quota":
			knobs.WriteQuota = k.WriteQuota
		case "write-window":
			knobs.WriteWindow = k.WriteWindow
		case "throttle-ratio":
			knobs.ThrottleRatio = k.ThrottleRatio
		case "retry-after":
			knobs.RetryAfter = k.RetryAfter
		case "fail-503-ratio":
			knobs.Fail503Ratio = k.Fail503Ratio
		case "lag":
			knobs.ReadAfterWriteLag = k.ReadAfterWriteLag
		case "fail-after-writes":
			knobs.FailAfterWrites = k.FailAfterWrites
		case "exchange-error-form":
			knobs.ExchangeErrorForm = k.ExchangeErrorForm
		case "exchange-throttle-ratio":
			knobs.ExchangeThrottleRatio = k.ExchangeThrottleRatio
		case "exchange-concurrency-ratio":
			knobs.ExchangeConcurrencyRatio = k.ExchangeConcurrencyRatio
		case "exchange-redirect":
			knobs.ExchangeRedirect = k.ExchangeRedirect
		case "exchange-page-size":
			knobs.ExchangePageSize = k.ExchangePageSize
		case "exchange-lag":
			knobs.ExchangeLag = k.ExchangeLag
		case "dns-server":
			knobs.DNSServer = k.DNSServer
		case "auto-verify":
			knobs.AutoVerify = k.AutoVerify
		case "dkim-cname-format":
			knobs.DKIMCNAMEFormat = k.DKIMCNAMEFormat
		case "migration-polls-per-step":
			knobs.MigrationPollsPerStep = k.MigrationPollsPerStep
		case "strict-batch-dependencies":
			knobs.StrictBatchDependencies = k.StrictBatchDependencies
		case "random-seed":
			knobs.RandomSeed = k.RandomSeed
		case "mailbox-provision-delay":
			knobs.MailboxProvisionDelay = k.MailboxProvisionDelay
		case "mailbox-provision-jitter":
			knobs.MailboxProvisionJitter = k.MailboxProvisionJitter
		case "list-lag":
			knobs.ListLag = k.ListLag
		}
	})
	if err := knobs.Validate(); err != nil {
		_, _ = fmt.Fprintf(stderr, "fakecloud: %v\n", err)
		return 2
	}
	seed.Knobs = knobs
	if *timing != "" {
		seed.Timing = *timing
	}
	if _, err := fakecloud.TimingKnobs(seed.Timing); err != nil {
		_, _ = fmt.Fprintf(stderr, "fakecloud: %v\n", err)
		return 2
	}

	opts := fakecloud.Options{Addr: *addr, Seed: seed, StateFile: *stateFile, IMAPRootCAs: imapRootCAs, ExmailOptions: exmailOpts}
	if *verbose {
		opts.Logf = func(format string, args ...any) {
			_, _ = fmt.Fprintf(stderr, "%s fakecloud: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
		}
	}

	// Catch signals before listening so an early SIGTERM still cleans up.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	srv, err := fakecloud.Start(opts)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "fakecloud: %v\n", err)
		_ = fakecloud.CleanupProcessCA()
		return 1
	}
	if *readyFile != "" {
		if err := srv.WriteReadyFile(*readyFile); err != nil {
			_, _ = fmt.Fprintf(stderr, "fakecloud: writing ready file: %v\n", err)
			_ = srv.Close()
			_ = fakecloud.CleanupProcessCA()
			return 1
		}
	}
	if *verbose {
		_, _ = fmt.Fprintf(stderr, "fakecloud: login %s graph %s exchange %s tenant %s\n",
			srv.LoginEndpoint(), srv.GraphEndpoint(), srv.ExchangeEndpoint(), srv.TenantID())
	}

	<-sigs
	code := 0
	if err := srv.Close(); err != nil {
		_, _ = fmt.Fprintf(stderr, "fakecloud: closing: %v\n", err)
		code = 1
	}
	if err := fakecloud.CleanupProcessCA(); err != nil {
		_, _ = fmt.Fprintf(stderr, "fakecloud: removing CA directory: %v\n", err)
		code = 1
	}
	return code
}
