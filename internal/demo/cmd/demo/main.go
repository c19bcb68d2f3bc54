// Command demo runs examples/exmail-to-m365 against a local Microsoft 365, DNS server and IMAP
// source, with the real terraform CLI (`make demo`): the CSV path, then the source_mode =
// "exmail_api" variant against the local Exmail API. It exits non-zero when any step fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/m365-migration/terraform-provider-m365/internal/demo"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

func main() {
	root := flag.String("root", ".", "repository root")
	work := flag.String("work", ".demo/work", "work directory (emptied first)")
	bin := flag.String("bin", ".demo/bin", "where the provider binary is built")
	flag.Parse()
	os.Exit(run(*root, *work, *bin))
}

func run(root, work, bin string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() { _ = fakecloud.CleanupProcessCA() }()
	rep, err := demo.Run(ctx, demo.Options{RepoRoot: root, WorkDir: work, ProviderDir: bin, Log: os.Stderr})
	if rep != nil {
		_, _ = rep.WriteTo(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		fmt.Fprintln(os.Stderr, "terraform logs:", filepath.Join(work, "logs"))
		return 1
	}
	return runExmailAPI(ctx, root, work+"-exmail-api", bin)
}

// runExmailAPI runs the example's source_mode = "exmail_api" variant (demo.RunExmailAPI).
func runExmailAPI(ctx context.Context, root, work, bin string) int {
	rep, err := demo.RunExmailAPI(ctx, demo.Options{RepoRoot: root, WorkDir: work, ProviderDir: bin, Log: os.Stderr})
	if rep != nil {
		_, _ = rep.WriteTo(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo (exmail_api):", err)
		fmt.Fprintln(os.Stderr, "terraform logs:", filepath.Join(work, "logs"))
		return 1
	}
	return 0
}
