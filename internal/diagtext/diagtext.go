// Package diagtext holds the one wording pattern of the provider's diagnostics: a short Title Case
// summary; then what was being attempted, the cause in the service's own words, and what to do
// next (which permission, which DNS record, which CSV row).
package diagtext

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
)

// Detail formats the body of a diagnostic.
func Detail(attempt, cause, next string) string {
	var b strings.Builder
	b.WriteString("While " + attempt + ", ")
	b.WriteString("the operation failed.\n\n")
	if cause != "" {
		b.WriteString("Cause: " + cause + "\n\n")
	}
	if next != "" {
		b.WriteString(next)
	}
	return strings.TrimRight(b.String(), "\n")
}

// Error appends an error diagnostic in the provider's pattern.
func Error(d *diag.Diagnostics, summary, attempt, cause, next string) {
	d.AddError(summary, Detail(attempt, cause, next))
}

// AttributeError appends an attribute error in the provider's pattern.
func AttributeError(d *diag.Diagnostics, p path.Path, summary, attempt, cause, next string) {
	d.AddAttributeError(p, summary, Detail(attempt, cause, next))
}

// Permissions lists what an operation needs, for 403 answers.
type Permissions struct {
	Graph    []string // application permissions, least privileged first
	Exchange string   // Exchange permission/role text, when Exchange is involved
}

func (p Permissions) text() string {
	var parts []string
	if len(p.Graph) > 0 {
		parts = append(parts, "the Microsoft Graph application permission "+strings.Join(p.Graph, " or ")+" (with admin consent)")
	}
	if p.Exchange != "" {
		parts = append(parts, p.Exchange)
	}
	return strings.Join(parts, ", and ")
}

// ExchangeRole is the standard text for what Exchange cmdlets need.
const ExchangeRole = "the Office 365 Exchange Online application permission Exchange.ManageAsApp (with admin consent) and the Exchange Administrator Entra role assigned to the application's service principal"

// APIError appends a diagnostic for a failed Graph or Exchange call, choosing the advice from
// the kind of failure: credentials, permissions, throttling, or the service's own validation.
func APIError(d *diag.Diagnostics, summary, attempt string, err error, perms Permissions, next string) {
	cause := err.Error()
	advice := next
	switch {
	case graph.IsAuth(err) || exchange.IsKind(err, exchange.KindAuth):
		summary = "Authentication Failed"
		advice = "Check tenant_id, client_id and the credential (client_secret, certificate, OIDC token) in the provider block or the ARM_*/AZURE_* environment variables, and that the environment (global, china, usgovernment, usgovernmentdod) is the tenant's cloud."
	case graph.IsForbidden(err) || exchange.IsKind(err, exchange.KindPermission):
		if t := perms.text(); t != "" {
			advice = "The application needs " + t + ". Grant it in the Entra admin centre (App registrations > API permissions > Grant admin consent), then retry."
		}
	case exchange.IsKind(err, exchange.KindThrottled):
		advice = "The service kept throttling until the operation's timeout. Retry later, or raise the timeout."
	}
	d.AddError(summary, Detail(attempt, cause, advice))
}

// Bug appends the diagnostic for an impossible situation.
func Bug(d *diag.Diagnostics, what string, v any) {
	d.AddError("Unexpected Provider State", fmt.Sprintf("%s: %v. This is always a bug in the provider; please report it.", what, v))
}
