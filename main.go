// Command terraform-provider-m365 serves the m365 Terraform provider.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	rdebug "runtime/debug"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/m365-migration/terraform-provider-m365/internal/provider"
)

// version is set by goreleaser.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve (prints TF_REATTACH_PROVIDERS)")
	flag.Parse()
	if level := provider.FrameworkLogLevel(os.Getenv); level != "" {
		_ = os.Setenv("TF_LOG_SDK_FRAMEWORK", level)
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// A plan of thousands of users allocates many short-lived values in terraform-plugin-framework;
		// collecting garbage at 5× the live heap instead of 2× takes about 10 % off such a plan. The
		// soft limit brings the usual pace back near 1 GiB, so 50,000 CSV rows stay near 1 GiB of
		// memory instead of 2.7 GiB.
		rdebug.SetGCPercent(400)
		rdebug.SetMemoryLimit(1 << 30)
	}
	defer startProfile()()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/m365-migration/m365",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
