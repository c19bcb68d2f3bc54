package exchange

import (
	"context"
	"strings"
)

// DistributionGroup is an Exchange Online distribution group as Get-DistributionGroup describes
// it (https://learn.microsoft.com/powershell/module/exchange/get-distributiongroup).
type DistributionGroup struct {
	Identity           string
	GUID               string
	Name               string
	DisplayName        string
	Alias              string
	PrimarySmtpAddress string
	// EmailAddresses are the proxy addresses with their prefixes: "SMTP:" the primary,
	// "smtp:" the secondary ones (the service adds one on the initial domain).
	EmailAddresses []string
	// ManagedBy are the owners as the service names them (names, addresses or ids).
	ManagedBy []string
	// RequireSenderAuthenticationEnabled true (the service default) rejects senders from outside
	// the organization.
	RequireSenderAuthenticationEnabled bool
	// RecipientTypeDetails is MailUniversalDistributionGroup or MailUniversalSecurityGroup.
	RecipientTypeDetails string
	// AcceptMessagesOnlyFromSendersOrMembers are the only senders allowed (by name), when not
	// empty.
	AcceptMessagesOnlyFromSendersOrMembers []string
}

// SecondaryAddresses are the "smtp:" entries of EmailAddresses without the prefix.
func (g *DistributionGroup) SecondaryAddresses() []string {
	var out []string
	for _, a := range g.EmailAddresses {
		if p, rest, ok := strings.Cut(a, ":"); ok && p == "smtp" {
			out = append(out, rest)
		}
	}
	return out
}

func groupFrom(o Object) DistributionGroup {
	return DistributionGroup{
		Identity:                               o.Identity("Identity"),
		GUID:                                   strings.ToLower(o.String("Guid")),
		Name:                                   o.String("Name"),
		DisplayName:                            o.String("DisplayName"),
		Alias:                                  o.String("Alias"),
		PrimarySmtpAddress:                     o.String("PrimarySmtpAddress"),
		EmailAddresses:                         o.Strings("EmailAddresses"),
		ManagedBy:                              o.Strings("ManagedBy"),
		RequireSenderAuthenticationEnabled:     o.Bool("RequireSenderAuthenticationEnabled"),
		RecipientTypeDetails:                   o.String("RecipientTypeDetails"),
		AcceptMessagesOnlyFromSendersOrMembers: o.Strings("AcceptMessagesOnlyFromSendersOrMembers"),
	}
}

func (g DistributionGroup) matches(identity string) bool {
	if strings.EqualFold(g.Identity, identity) || strings.EqualFold(g.GUID, identity) ||
		strings.EqualFold(g.Name, identity) || strings.EqualFold(g.PrimarySmtpAddress, identity) || strings.EqualFold(g.Alias, identity) {
		return true
	}
	for _, a := range g.EmailAddresses {
		if _, rest, ok := strings.Cut(a, ":"); ok && strings.EqualFold(rest, identity) {
			return true
		}
	}
	return false
}

// NewDistributionGroupParams are New-DistributionGroup's parameters
// (https://learn.microsoft.com/powershell/module/exchange/new-distributiongroup).
type NewDistributionGroupParams struct {
	// Name is required, unique and at most 64 characters.
	Name string
	// DisplayName defaults to Name.
	DisplayName        string
	Alias              string
	PrimarySmtpAddress string
	// ManagedBy are the owners. Always send them: who owns a group an application creates without
	// ManagedBy is not documented (UNCONFIRMED).
	ManagedBy []string
	// Members are the first members (at most 10,000).
	Members []string
	// RequireSenderAuthenticationEnabled: false lets people outside the organization send to the
	// group; nil leaves the service default (true: only senders of the organization).
	RequireSenderAuthenticationEnabled *bool
}

// NewDistributionGroup creates a distribution group (Type Distribution).
func (c *Client) NewDistributionGroup(ctx context.Context, p NewDistributionGroupParams) (*DistributionGroup, error) {
	params := map[string]any{
		"Name": p.Name, "Type": "Distribution", "PrimarySmtpAddress": p.PrimarySmtpAddress,
	}
	if p.RequireSenderAuthenticationEnabled != nil {
		params["RequireSenderAuthenticationEnabled"] = *p.RequireSenderAuthenticationEnabled
	}
	if p.DisplayName != "" {
		params["DisplayName"] = p.DisplayName
	}
	if p.Alias != "" {
		params["Alias"] = p.Alias
	}
	if len(p.ManagedBy) > 0 {
		params["ManagedBy"] = p.ManagedBy
	}
	if len(p.Members) > 0 {
		params["Members"] = p.Members
	}
	res, err := c.Invoke(ctx, "New-DistributionGroup", params)
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects {
		if g := groupFrom(o); g.matches(p.PrimarySmtpAddress) || g.matches(p.Name) {
			return &g, nil
		}
	}
	return &DistributionGroup{Identity: p.Name, Name: p.Name, DisplayName: p.DisplayName, Alias: p.Alias,
		PrimarySmtpAddress: p.PrimarySmtpAddress, ManagedBy: p.ManagedBy,
		RequireSenderAuthenticationEnabled: p.RequireSenderAuthenticationEnabled == nil || *p.RequireSenderAuthenticationEnabled}, nil
}

// GetDistributionGroup reads one group by GUID, name, alias or address. The answer is checked
// against the identity asked for (a generic Get-* may return every object); a mismatch is
// KindNotFound.
func (c *Client) GetDistributionGroup(ctx context.Context, identity string) (*DistributionGroup, error) {
	res, err := c.Invoke(ctx, "Get-DistributionGroup", map[string]any{"Identity": identity})
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects {
		if g := groupFrom(o); g.matches(identity) {
			return &g, nil
		}
	}
	return nil, &Error{Cmdlet: "Get-DistributionGroup", Kind: KindNotFound, Message: "the distribution group \"" + identity + "\" can't be found"}
}

// SetDistributionGroupParams are Set-DistributionGroup's changes; nil fields are left unchanged.
type SetDistributionGroupParams struct {
	Identity           string
	Name               *string
	DisplayName        *string
	Alias              *string
	PrimarySmtpAddress *string
	// AddAddresses and RemoveAddresses change secondary addresses with the
	// @{Add=...; Remove=...} form, leaving the others alone.
	AddAddresses    []string
	RemoveAddresses []string
	// ManagedBy replaces the owners when not nil.
	ManagedBy                          []string
	RequireSenderAuthenticationEnabled *bool
	// AcceptMessagesOnlyFromSendersOrMembers replaces the list of the only senders allowed when
	// not nil; an empty slice clears it.
	AcceptMessagesOnlyFromSendersOrMembers []string
}

// hashtable renders PowerShell's @{Add=..; Remove=..} as InvokeCommand expects it: a
// #Exchange.GenericHashTable object.
func hashtable(add, remove []string) map[string]any {
	h := map[string]any{"@odata.type": "#Exchange.GenericHashTable"}
	if len(add) > 0 {
		h["Add"] = add
	}
	if len(remove) > 0 {
		h["Remove"] = remove
	}
	return h
}

// SetDistributionGroup changes a group. It sends BypassSecurityGroupManagerCheck: an application
// is never a manager (ManagedBy) of the group, and without the switch the service refuses with
// OperationRequiresGroupManagerException.
func (c *Client) SetDistributionGroup(ctx context.Context, p SetDistributionGroupParams) error {
	params := map[string]any{"Identity": p.Identity, "BypassSecurityGroupManagerCheck": true}
	set := func(k string, v *string) {
		if v != nil {
			params[k] = *v
		}
	}
	set("Name", p.Name)
	set("DisplayName", p.DisplayName)
	set("Alias", p.Alias)
	set("PrimarySmtpAddress", p.PrimarySmtpAddress)
	if len(p.AddAddresses) > 0 || len(p.RemoveAddresses) > 0 {
		add := make([]string, len(p.AddAddresses))
		for i, a := range p.AddAddresses {
			add[i] = "smtp:" + a
		}
		rm := make([]string, len(p.RemoveAddresses))
		for i, a := range p.RemoveAddresses {
			rm[i] = "smtp:" + a
		}
		params["EmailAddresses"] = hashtable(add, rm)
	}
	if p.ManagedBy != nil {
		params["ManagedBy"] = p.ManagedBy
	}
	if p.RequireSenderAuthenticationEnabled != nil {
		params["RequireSenderAuthenticationEnabled"] = *p.RequireSenderAuthenticationEnabled
	}
	if p.AcceptMessagesOnlyFromSendersOrMembers != nil {
		params["AcceptMessagesOnlyFromSendersOrMembers"] = p.AcceptMessagesOnlyFromSendersOrMembers
	}
	if len(params) == 2 {
		return nil
	}
	_, err := c.Invoke(ctx, "Set-DistributionGroup", params)
	return err
}

// RemoveDistributionGroup deletes a group (BypassSecurityGroupManagerCheck, Confirm:$false).
func (c *Client) RemoveDistributionGroup(ctx context.Context, identity string) error {
	_, err := c.Invoke(ctx, "Remove-DistributionGroup", map[string]any{
		"Identity": identity, "BypassSecurityGroupManagerCheck": true, "Confirm": false})
	return err
}

// MaxMembersPerUpdate is Update-DistributionGroupMember's documented limit of members in one call
// (https://learn.microsoft.com/powershell/module/exchange/update-distributiongroupmember).
const MaxMembersPerUpdate = 10000

// UpdateDistributionGroupMember replaces the whole membership in one call (an empty list removes
// every member).
func (c *Client) UpdateDistributionGroupMember(ctx context.Context, identity string, members []string) error {
	if members == nil {
		members = []string{}
	}
	_, err := c.Invoke(ctx, "Update-DistributionGroupMember", map[string]any{
		"Identity": identity, "Members": members, "BypassSecurityGroupManagerCheck": true, "Confirm": false})
	return err
}

// Recipient is one member of a group as Get-DistributionGroupMember lists it.
type Recipient struct {
	Identity             string
	Name                 string
	PrimarySmtpAddress   string
	RecipientTypeDetails string
}

// GetDistributionGroupMember lists a group's members (all pages).
func (c *Client) GetDistributionGroupMember(ctx context.Context, identity string) ([]Recipient, error) {
	res, err := c.Invoke(ctx, "Get-DistributionGroupMember", map[string]any{"Identity": identity, "ResultSize": "Unlimited"})
	if err != nil {
		return nil, err
	}
	out := make([]Recipient, 0, len(res.Objects))
	for _, o := range res.Objects {
		out = append(out, Recipient{Identity: o.Identity("Identity"), Name: o.String("Name"),
			PrimarySmtpAddress: o.String("PrimarySmtpAddress"), RecipientTypeDetails: o.String("RecipientTypeDetails")})
	}
	return out, nil
}
