//go:build generate

// Package tools pins the documentation generator outside the provider's module, so its
// dependencies never reach the provider binary.
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)

// Format the examples, then generate docs/ from templates/ and examples/.
//go:generate terraform fmt -recursive ../examples/
//go:generate go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs generate --provider-dir .. --provider-name m365 --rendered-provider-name "Microsoft 365 migration (m365)"
