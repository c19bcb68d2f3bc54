package provider

import (
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// clientsFrom is the Configure step of every resource and data source.
func clientsFrom(providerData any, d *diag.Diagnostics) *Clients {
	if providerData == nil {
		return nil // the provider is not configured yet (validation, or unknown provider values)
	}
	c, ok := providerData.(*Clients)
	if !ok {
		d.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *provider.Clients, got %T. This is always a bug in the provider; please report it.", providerData))
		return nil
	}
	return c
}
