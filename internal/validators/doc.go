// Package validators holds the provider's custom attribute validators, each built by an exported
// constructor (validators.DomainName(), …), for the checks terraform-plugin-framework-validators
// does not offer. It is Terraform-side: only internal/provider imports it, and it never imports
// the provider. The rules themselves come from the clients' packages (internal/usercsv,
// internal/dns); see https://developer.hashicorp.com/terraform/plugin/framework/validation.
package validators
