package exchange

import (
	"context"
	"strings"
)

// Email aliases (secondary SMTP addresses) of a mailbox. Microsoft Graph cannot change them for a
// cloud user (user.proxyAddresses is read-only in Graph,
// https://learn.microsoft.com/graph/api/resources/user), so they go through Set-Mailbox
// -EmailAddresses (https://learn.microsoft.com/powershell/module/exchange/set-mailbox).

// MaxProxyAddresses is the most proxy addresses one recipient may have
// (https://learn.microsoft.com/troubleshoot/exchange/administration/too-many-proxy-addresses-error).
const MaxProxyAddresses = 300

// SetMailboxAddresses adds and removes secondary SMTP addresses of a mailbox in one Set-Mailbox,
// leaving every other address (the primary, the onmicrosoft routing address, SIP:, X500:) alone:
// the @{Add=...; Remove=...} form, which InvokeCommand takes as an object annotated
// "@odata.type": "#Exchange.GenericHashTable" (without the annotation the service cannot convert
// the object to proxy addresses). Addresses are sent with the smtp: prefix (secondary). Errors
// of kind KindAddressTaken, KindDomainNotAccepted and KindTooManyAddresses name the refusals the
// documentation describes.
func (c *Client) SetMailboxAddresses(ctx context.Context, identity string, add, remove []string) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	_, err := c.Invoke(ctx, "Set-Mailbox", map[string]any{
		"Identity":       identity,
		"EmailAddresses": hashtable(smtpSecondary(add), smtpSecondary(remove)),
	})
	return err
}

func smtpSecondary(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = "smtp:" + strings.TrimSpace(a)
	}
	return out
}

// AddressHolder is a recipient that has one of the addresses looked for.
type AddressHolder struct {
	Address                   string // the address looked for, lower-cased
	Name                      string
	PrimarySmtpAddress        string
	ExternalDirectoryObjectID string // the Entra object id; empty for a distribution group
	RecipientTypeDetails      string
}

// AddressHolders finds the recipients (mailboxes, distribution groups, contacts...) that already
// have any of the addresses as a proxy address: one Get-Recipient with an OPATH filter for up to
// 20 addresses, else one listing of every recipient (1,000 per page); never one request per
// address.
func (c *Client) AddressHolders(ctx context.Context, addrs []string) ([]AddressHolder, error) {
	want := map[string]bool{}
	for _, a := range addrs {
		want[strings.ToLower(strings.TrimSpace(a))] = true
	}
	if len(want) == 0 {
		return nil, nil
	}
	params := map[string]any{"ResultSize": "Unlimited"}
	if len(want) <= mailboxFilterLimit {
		params["Filter"] = addressFilter(sortedKeys(want))
	}
	res, err := c.Invoke(ctx, "Get-Recipient", params)
	if err != nil {
		return nil, err
	}
	var out []AddressHolder
	for _, o := range res.Objects {
		for _, p := range o.Strings("EmailAddresses") {
			prefix, addr, ok := strings.Cut(p, ":")
			addr = strings.ToLower(addr)
			if !ok || !strings.EqualFold(prefix, "smtp") || !want[addr] {
				continue
			}
			out = append(out, AddressHolder{Address: addr, Name: o.String("Name"), PrimarySmtpAddress: o.String("PrimarySmtpAddress"),
				ExternalDirectoryObjectID: strings.ToLower(o.String("ExternalDirectoryObjectId")),
				RecipientTypeDetails:      o.String("RecipientTypeDetails")})
		}
	}
	return out, nil
}

// MailboxesByAddress returns the user mailboxes that have any of the addresses (user principal
// names or proxy addresses): one Get-Mailbox with an OPATH filter for up to 20 addresses, else
// one listing of every user mailbox (1,000 per page).
func (c *Client) MailboxesByAddress(ctx context.Context, addrs []string) ([]Mailbox, error) {
	want := map[string]bool{}
	for _, a := range addrs {
		want[strings.ToLower(strings.TrimSpace(a))] = true
	}
	if len(want) == 0 {
		return nil, nil
	}
	filter := ""
	if len(want) <= mailboxFilterLimit {
		filter = addressFilter(sortedKeys(want))
	}
	return c.ListMailboxes(ctx, filter)
}
