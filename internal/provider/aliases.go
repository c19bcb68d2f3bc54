package provider

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// Email aliases (secondary SMTP addresses) of m365_user and m365_users. Microsoft Graph cannot
// change them for a cloud user (user.proxyAddresses is read-only there,
// https://learn.microsoft.com/graph/api/resources/user), so they are written through Exchange
// Online: Set-Mailbox -EmailAddresses @{Add=...; Remove=...}
// (https://learn.microsoft.com/powershell/module/exchange/set-mailbox), once the mailbox exists.

// aliasPermissions are what reading and writing aliases needs.
var aliasPermissions = diagtext.Permissions{
	Graph:    []string{"Domain.Read.All", "Directory.Read.All"},
	Exchange: "the Office 365 Exchange Online application permission Exchange.ManageAsApp (with admin consent) and the Exchange Administrator or the Exchange Recipient Administrator Entra role (which holds Recipient Management) assigned to the application's service principal",
}

const (
	// aliasWriteRate and aliasWriteConcurrency pace the Set-Mailbox calls. Microsoft documents no
	// request rate for the Exchange Online admin API (InvokeCommand); it throttles per tenant, with
	// 429 and with "You have reached the maximum number of concurrent requests per tenant", and that
	// budget is shared with the administrators' own PowerShell sessions. 4 writes a second, 3 at
	// once, is deliberately conservative: 1,000 users with aliases take about four minutes, well
	// within the apply's timeout, and the client still backs off when the service throttles.
	aliasWriteRate        = 4
	aliasWriteConcurrency = 3
	// maxAliases: the 300 proxy addresses of a recipient include its primary address and the
	// <alias>@<tenant>.onmicrosoft.com routing address that Exchange Online stamps on it.
	maxAliases = exchange.MaxProxyAddresses - 2
)

// docAliases describes `aliases` of m365_user and m365_users: the catalogue's text.
var docAliases = func() string {
	a, _ := userattr.ByName(userattr.Aliases)
	return a.Doc
}()

// aliasUser is one user's aliases as planned.
type aliasUser struct {
	upn   string
	id    string // object id; "" for a user created by this apply
	want  []string
	have  []string // in the state (null: none managed yet)
	where path.Path
}

// isRoutingAddress reports an address on the tenant's initial domain (contoso.onmicrosoft.com,
// contoso.partner.onmschina.cn for 21Vianet), which Exchange Online stamps on every mailbox and
// which is not an alias the configuration manages.
func isRoutingAddress(a string) bool {
	return strings.HasSuffix(a, ".onmicrosoft.com") || strings.HasSuffix(a, ".onmschina.cn")
}

// aliasProblem is the form problem of one alias, or "".
func aliasProblem(a string) string {
	addr, err := mail.ParseAddress(a)
	if err != nil || addr.Address != a || addr.Name != "" || strings.Count(a, "@") != 1 || !strings.Contains(upnDomain(a), ".") {
		return fmt.Sprintf("%q is not an email address of the form name@domain", a)
	}
	return ""
}

// checkAliases is the plan-time check of the aliases: each an address on a verified domain of the
// tenant (or one of pending domains), not held by another recipient, at most maxAliases per user,
// no alias twice or as another user's sign-in name. It reads the tenant only for the aliases
// being added: the domains (cached) and one Get-Recipient lookup for all of them.
func checkAliases(ctx context.Context, clients *Clients, aus []aliasUser, pending []string, d *diagList) {
	const attempt = "planning the email aliases"
	owner := map[string]string{} // alias -> user
	upns := map[string]bool{}
	for _, u := range aus {
		upns[strings.ToLower(u.upn)] = true
	}
	var added []string
	addedBy := map[string]aliasUser{}
	for _, u := range aus {
		if len(u.want) > maxAliases {
			diagtext.AttributeError(d, u.where, "Too Many Aliases", attempt+" of "+u.upn,
				fmt.Sprintf("%s has %d aliases; Exchange Online allows %d proxy addresses per recipient, its primary address and its onmicrosoft address included", u.upn, len(u.want), exchange.MaxProxyAddresses),
				fmt.Sprintf("Keep at most %d aliases for this user.", maxAliases))
		}
		for _, a := range u.want {
			if msg := aliasProblem(a); msg != "" {
				diagtext.AttributeError(d, u.where, "Invalid Alias", attempt+" of "+u.upn, msg, "Write each alias as name@domain, on a verified domain of the tenant.")
				continue
			}
			la := strings.ToLower(a)
			switch {
			case la == strings.ToLower(u.upn):
				diagtext.AttributeError(d, u.where, "Alias Is The Primary Address", attempt+" of "+u.upn,
					fmt.Sprintf("%s is the user's own sign-in name and primary address, not an alias", a), "Remove it from the aliases.")
			case upns[la]:
				diagtext.AttributeError(d, u.where, "Alias Is Another User", attempt+" of "+u.upn,
					fmt.Sprintf("%s is the sign-in name of another user of this configuration", a), "Remove it from the aliases of "+u.upn+".")
			case owner[la] != "" && owner[la] != u.upn:
				diagtext.AttributeError(d, u.where, "Duplicate Alias", attempt,
					fmt.Sprintf("%s is an alias of both %s and %s; an address belongs to one recipient", a, owner[la], u.upn), "Keep it on one user only.")
			}
			owner[la] = u.upn
		}
		add, _ := users.AliasDiff(u.want, u.have)
		for _, a := range add {
			if aliasProblem(a) == "" {
				added = append(added, a)
				addedBy[a] = u
			}
		}
	}
	if len(added) == 0 || d.HasError() {
		return
	}
	tc := clients.cache()
	ds, err := tc.Domains(ctx, clients.Graph)
	if err != nil {
		diagtext.APIError(d, "Cannot Check Alias Domains", attempt+": reading the tenant's domains (GET /domains)", err, aliasPermissions, "")
		return
	}
	bad, status, verified := domainCheck(ds, added, pending)
	for _, dom := range sortedKeys(bad) {
		for _, a := range bad[dom] {
			u := addedBy[a]
			diagtext.AttributeError(d, u.where, "Alias Domain Not Verified", attempt+" of "+u.upn,
				fmt.Sprintf("the alias %s of %s is on %s, which %s; Exchange Online accepts addresses only on the tenant's accepted (verified) domains: %s", a, u.upn, dom, status[dom], verified),
				"Add and verify the domain first (m365_domain and m365_domain_verification; list it in pending_domains when this apply verifies it), or drop the alias.")
		}
	}
	if d.HasError() {
		return
	}
	holders, err := clients.Exchange.AddressHolders(ctx, added)
	if err != nil {
		diagtext.APIError(d, "Cannot Check Aliases", attempt+": looking for recipients that already have the new aliases (Get-Recipient)", err, aliasPermissions, "")
		return
	}
	for _, h := range holders {
		u := addedBy[h.Address]
		if (u.id != "" && strings.EqualFold(h.ExternalDirectoryObjectID, u.id)) || strings.EqualFold(h.PrimarySmtpAddress, u.upn) {
			continue // the user has it already (added outside Terraform)
		}
		holder := firstNonEmpty(h.PrimarySmtpAddress, h.Name)
		fix := "Choose another alias, or remove it from " + holder + " first (Exchange admin centre: Recipients, or Set-Mailbox/Set-DistributionGroup -EmailAddresses @{Remove=...})."
		if _, ours := upns[strings.ToLower(h.PrimarySmtpAddress)]; ours {
			fix = "Move it in two applies: remove it from " + holder + " and apply, then add it to " + u.upn + " and apply again."
		}
		diagtext.AttributeError(d, u.where, "Alias Already In Use", attempt+" of "+u.upn,
			fmt.Sprintf("the alias %s of %s already belongs to another recipient: %s (%s)", h.Address, u.upn, holder, h.RecipientTypeDetails), fix)
	}
}

// usersAliases are the m365_users users whose aliases are managed, as checkAliases takes them.
func usersAliases(planUsers, stateUsers map[string]users.User, ids map[string]string) []aliasUser {
	var out []aliasUser
	for _, k := range sortedKeys(planUsers) {
		want, managed := planUsers[k].LookupList(userattr.Aliases)
		if !managed {
			continue
		}
		u := aliasUser{upn: k, id: ids[k], want: want, where: userPath(k, attrAliases)}
		if have, ok := stateUsers[k].LookupList(userattr.Aliases); ok {
			u.have = have
		}
		out = append(out, u)
	}
	return out
}

// warnAliasesWithoutLicence warns when new users get aliases but the configuration gives them no
// licence: without an Exchange Online licence no mailbox appears, and the apply would wait for it
// until its timeout. (An adopted user may hold a licence assigned otherwise, so it is a warning.)
func warnAliasesWithoutLicence(d *diagList, where path.Path, upns []string) {
	if len(upns) == 0 {
		return
	}
	d.AddAttributeWarning(where, "Aliases Need A Mailbox",
		fmt.Sprintf("%s get aliases but this configuration assigns them no licence: %s. Aliases are written once the user's Exchange Online mailbox exists, "+
			"which needs a licence that includes Exchange Online; without one the apply waits for the mailbox until its timeout and then fails naming the users. "+
			"Set licenses (e.g. O365_BUSINESS_PREMIUM or EXCHANGESTANDARD), or make sure the users hold such a licence already.", plural(len(upns), "new user"), listUPNs(upns)))
}

// writeAliases waits for the users' mailboxes (exchange.WaitForMailboxes: a few requests per
// round however many users) and then sends one Set-Mailbox per user, paced. It returns the users
// whose aliases were written; every failure is reported in d, naming the user.
func writeAliases(ctx context.Context, exo *exchange.Client, writes []users.AliasWrite, d *diagList) map[string]bool {
	done := map[string]bool{}
	if len(writes) == 0 {
		return done
	}
	const attempt = "writing the email aliases"
	upns := make([]string, len(writes))
	for i, w := range writes {
		upns[i] = w.UPN
	}
	ready := map[string]bool{}
	err := exo.WaitForMailboxes(ctx, upns, func(r, total int) {
		tflog.Debug(ctx, "waiting for mailboxes before writing aliases", map[string]any{"ready": r, "total": total})
	})
	var nr *exchange.MailboxesNotReadyError
	switch {
	case errors.As(err, &nr):
		for _, u := range upns {
			ready[strings.ToLower(u)] = !slices.Contains(nr.Missing, strings.ToLower(u))
		}
		diagtext.Error(d, "Mailboxes Not Ready For Aliases", attempt,
			fmt.Sprintf("%s had no Exchange Online mailbox after %s, so their aliases were not written: %s", plural(len(nr.Missing), "user"), nr.Waited.Round(time.Second), strings.Join(nr.Missing, ", ")),
			"Aliases need a mailbox: give these users a licence with Exchange Online. A mailbox usually appears within minutes of the licence, sometimes only after hours; apply again later (the aliases are retried), or raise the timeouts.")
	case err != nil:
		diagtext.APIError(d, "Cannot Check Mailboxes", attempt+": waiting for the mailboxes (Get-Mailbox)", err, aliasPermissions, "Apply again; the aliases are retried.")
		return done
	default:
		for _, u := range upns {
			ready[strings.ToLower(u)] = true
		}
	}
	lim := rate.NewLimiter(rate.Limit(aliasWriteRate), 1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(aliasWriteConcurrency)
	var mu sync.Mutex
	var failures []string
	started := time.Now()
	for _, w := range writes {
		if !ready[strings.ToLower(w.UPN)] {
			continue
		}
		g.Go(func() error {
			if err := lim.Wait(gctx); err != nil {
				return err
			}
			err := exo.SetMailboxAddresses(gctx, w.UPN, w.Add, w.Remove)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, fmt.Sprintf("  - %s: %s (%s)", w.UPN, err.Error(), aliasAdvice(err)))
				return nil
			}
			done[strings.ToLower(w.UPN)] = true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		failures = append(failures, "  - stopped: "+err.Error())
	}
	tflog.Info(ctx, "wrote email aliases", map[string]any{"mailboxes": len(done), "failed": len(failures), "seconds": time.Since(started).Seconds()})
	if len(failures) > 0 {
		sort.Strings(failures)
		diagtext.Error(d, "Some Aliases Were Not Written", attempt,
			fmt.Sprintf("Set-Mailbox failed for %s:\n%s", plural(len(failures), "user"), strings.Join(failures, "\n")),
			"The users' other changes are in the state. Fix the causes and apply again: only the aliases not written are retried. "+
				"Exchange needs "+aliasPermissions.Exchange+".")
	}
	return done
}

// aliasAdvice is the next step for a refused Set-Mailbox.
func aliasAdvice(err error) string {
	switch {
	case exchange.IsKind(err, exchange.KindAddressTaken):
		return "another recipient has this address: remove it there first or choose another alias"
	case exchange.IsKind(err, exchange.KindDomainNotAccepted):
		return "the domain is not an accepted domain: verify it in the tenant first"
	case exchange.IsKind(err, exchange.KindTooManyAddresses):
		return fmt.Sprintf("a mailbox has at most %d proxy addresses", exchange.MaxProxyAddresses)
	case exchange.IsKind(err, exchange.KindPermission):
		return "the application lacks the Exchange permission"
	}
	return "apply again"
}

// readAliases reads the aliases of the given users (keyed by lower-case user principal name) with
// one Get-Mailbox: filtered for a few users, one listing of the user mailboxes (1,000 per page)
// for many; never one request per user. A user's aliases are its mailbox's
// secondary SMTP addresses except its sign-in name and its onmicrosoft routing address, keeping
// any of those the prior value lists. Users without a mailbox are left out of the result.
func readAliases(ctx context.Context, exo *exchange.Client, prior map[string][]string) (map[string][]string, error) {
	boxes, err := exo.MailboxesByAddress(ctx, sortedKeys(prior))
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, m := range boxes {
		upn := strings.ToLower(m.UserPrincipalName)
		had, ok := prior[upn]
		if !ok {
			continue
		}
		primary := strings.ToLower(m.PrimarySmtpAddress)
		have := []string{}
		for _, a := range m.EmailAddresses {
			if slices.Contains(had, a) || (a != primary && a != upn && !isRoutingAddress(a)) {
				have = append(have, a)
			}
		}
		out[upn] = users.NormaliseAliases(have)
	}
	return out, nil
}
