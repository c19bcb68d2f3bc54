package fakecloud

// Set-Mailbox -EmailAddresses: the proxy addresses of a user mailbox
// (https://learn.microsoft.com/powershell/module/exchange/set-mailbox, -EmailAddresses). The
// parameter holds every address of the mailbox, the primary included: "SMTP:" marks the primary
// (once), "smtp:" the others, no prefix is an SMTP address. A plain list replaces the collection;
// the @{Add=...; Remove=...} hashtable, which InvokeCommand carries as an object annotated
// "@odata.type": "#Exchange.GenericHashTable" (string or array values), changes entries and
// leaves the rest. An object without the annotation is refused with
// ParameterTransformationException (see addRemove; the HTTP status, 400 here, is UNCONFIRMED).

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// maxProxyAddresses is the documented limit of proxy addresses of one recipient
// (https://learn.microsoft.com/troubleshoot/exchange/administration/too-many-proxy-addresses-error).
const maxProxyAddresses = 300

func init() {
	registerCmdlet("Set-Mailbox", []string{"Identity", "EmailAddresses", "WindowsEmailAddress", "Confirm", "Force"}, cmdSetMailbox)
}

// primaryOf is the address of the list's "SMTP:" entry, def when there is none.
func primaryOf(proxies []string, def string) string {
	for _, a := range proxies {
		if strings.HasPrefix(a, "SMTP:") {
			return strings.TrimPrefix(a, "SMTP:")
		}
	}
	return def
}

// isSMTPProxy reports an SMTP proxy address (prefix smtp: in any case, or none).
func isSMTPProxy(a string) bool {
	p, _, ok := strings.Cut(a, ":")
	return !ok || strings.EqualFold(p, "smtp")
}

// normaliseProxy writes an entry of -EmailAddresses as the service stores it: an SMTP address
// without a prefix becomes "smtp:"; "SMTP:" stays (the primary); other types are kept.
func normaliseProxy(a string) string {
	a = strings.TrimSpace(a)
	p, rest, ok := strings.Cut(a, ":")
	switch {
	case !ok:
		return "smtp:" + a
	case p == "SMTP":
		return a
	case strings.EqualFold(p, "smtp"):
		return "smtp:" + rest
	}
	return a
}

// mailboxForCmdletLocked finds the live user whose ready mailbox -Identity names.
func mailboxForCmdletLocked(st *State, id string, now time.Time) (User, Mailbox, *ExoError) {
	var found []User
	for _, u := range st.Users {
		mb, ok := readyMailboxLocked(st, u, now)
		if !ok {
			continue
		}
		if matchesIdentity(recipientJSON(st, u, mb, true, "Get-Mailbox"), u, id) {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return User{}, Mailbox{}, objectNotFound(id)
	case 1:
		return found[0], st.Mailboxes[found[0].ID], nil
	}
	return User{}, Mailbox{}, ambiguousIdentity(id)
}

func tooManyProxies(n int) *ExoError {
	return Invalid(recipientTaskError, fmt.Sprintf("There are too many proxy addresses: %d, and maximum supported number of recipient proxy addresses is %d.", n, maxProxyAddresses))
}

func cmdSetMailbox(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(id) == "" {
		return nil, missingMandatory("Identity")
	}
	replace, add, remove, delta, err := addRemove(p, "EmailAddresses")
	if err != nil {
		return nil, err
	}
	if !p.Has("EmailAddresses") {
		return nil, nil // the fake models no other property of Set-Mailbox
	}
	now := time.Now().UTC()
	err = ctx.Mutate(func(st *State) error {
		u, mb, xe := mailboxForCmdletLocked(st, strings.TrimSpace(id), now)
		if xe != nil {
			return xe
		}
		cur := slices.Clone(mailboxProxyAddresses(st, u))
		var next []string
		if delta {
			next = cur
			for _, a := range remove {
				addr := stripPrefix(strings.TrimSpace(a))
				if strings.EqualFold(addr, primaryOf(next, "")) {
					return Invalid(recipientTaskError, "The primary SMTP address can't be removed. Set another primary address first.")
				}
				next = slices.DeleteFunc(next, func(x string) bool {
					return strings.EqualFold(x, normaliseProxy(a)) || (isSMTPProxy(a) && isSMTPProxy(x) && strings.EqualFold(stripPrefix(x), addr))
				})
			}
			for _, a := range add {
				e := normaliseProxy(a)
				if strings.HasPrefix(e, "SMTP:") { // a new primary: the old one becomes secondary
					for i, x := range next {
						if strings.HasPrefix(x, "SMTP:") {
							next[i] = "smtp:" + strings.TrimPrefix(x, "SMTP:")
						}
					}
				}
				addr := stripPrefix(e)
				next = slices.DeleteFunc(next, func(x string) bool {
					return isSMTPProxy(x) && isSMTPProxy(e) && strings.EqualFold(stripPrefix(x), addr)
				})
				next = append(next, e)
			}
		} else {
			for _, a := range replace {
				next = append(next, normaliseProxy(a))
			}
			// No "SMTP:" entry: the current primary stays primary when listed, else the first SMTP
			// address becomes it (how the service picks one here is UNCONFIRMED).
			if primaryOf(next, "") == "" {
				at := slices.IndexFunc(next, func(x string) bool { return isSMTPProxy(x) && strings.EqualFold(stripPrefix(x), primaryOf(cur, "")) })
				if at < 0 {
					at = slices.IndexFunc(next, isSMTPProxy)
				}
				if at >= 0 {
					next[at] = "SMTP:" + stripPrefix(next[at])
				}
			}
		}
		primaries := 0
		for _, x := range next {
			if strings.HasPrefix(x, "SMTP:") {
				primaries++
			}
		}
		if primaries != 1 {
			return Invalid(recipientTaskError, fmt.Sprintf("The e-mail address list of %s must contain exactly one primary SMTP address (SMTP:); it has %d.", u.UserPrincipalName, primaries))
		}
		// Each new SMTP address: its form, an accepted domain, and nobody else holding it.
		seen := map[string]bool{}
		var out []string
		for _, x := range next {
			if isSMTPProxy(x) {
				addr := strings.ToLower(stripPrefix(x))
				if seen[addr] {
					continue
				}
				seen[addr] = true
				if !hasProxyAddress(cur, addr) {
					if e := checkSMTPLocked(st, "EmailAddresses", addr); e != nil {
						return e
					}
					if _, taken := addressHolderExceptLocked(st, addr, u.ID, -1); taken {
						return proxyTaken(st, addr)
					}
				}
			}
			out = append(out, x)
		}
		if len(out) > maxProxyAddresses {
			return tooManyProxies(len(out))
		}
		mb.EmailAddresses = out
		st.Mailboxes[u.ID] = mb
		return nil
	})
	return nil, err
}

// RecipientFor is where mail to addr would be delivered: the user principal name of the live
// user whose mailbox has addr as a proxy address (what Get-Recipient -Identity addr resolves),
// false when no mailbox has it.
func (s *Server) RecipientFor(addr string) (string, bool) {
	var upn string
	var ok bool
	s.read(func(st *State) {
		var u User
		if u, ok = recipientForAddressLocked(st, addr, time.Now().UTC()); ok {
			upn = u.UserPrincipalName
		}
	})
	return upn, ok
}
