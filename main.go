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
	if os.Getenv("GOGC") == "" {
		// A plan of thousands of users allocates many short-lived values in terraform-plugin-framework;
		// collecting garbage at 4× the live heap instead of 2× takes about 10 % off such a plan.
		rdebug.SetGCPercent(400)
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
