package fakecloud

// Exchange Online distribution groups over InvokeCommand: New/Get/Set/Remove-DistributionGroup,
// Add/Remove/Update/Get-DistributionGroupMember
// (https://learn.microsoft.com/powershell/module/exchange/new-distributiongroup and the
// neighbouring cmdlet pages). Graph cannot create or change these groups ("Mail-enabled and
// distribution groups are read-only",
// https://learn.microsoft.com/graph/api/resources/groups-overview); here they exist only on the
// Exchange side.

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DistributionGroup is one Exchange distribution group of the fake tenant.
type DistributionGroup struct {
	GUID               string `json:"guid"`
	Name               string `json:"name"`
	DisplayName        string `json:"display_name"`
	Alias              string `json:"alias"`
	PrimarySmtpAddress string `json:"primary_smtp_address"`
	// EmailAddresses are the proxy addresses with prefixes ("SMTP:" once, "smtp:" others).
	EmailAddresses []string `json:"email_addresses"`
	// ManagedBy and Members are recipients' primary addresses (lower case).
	ManagedBy                          []string `json:"managed_by,omitempty"`
	Members                            []string `json:"members,omitempty"`
	RequireSenderAuthenticationEnabled bool     `json:"require_sender_authentication_enabled"`
	// AcceptMessagesOnlyFrom are the only senders (recipients' primary addresses) allowed, when
	// not empty (AcceptMessagesOnlyFromSendersOrMembers).
	AcceptMessagesOnlyFrom []string  `json:"accept_messages_only_from,omitempty"`
	Type                   string    `json:"type"` // Distribution | Security
	Created                time.Time `json:"created"`
}

// Limits documented on New-DistributionGroup / Update-DistributionGroupMember.
const (
	dgMaxName        = 64
	dgMaxDisplayName = 256
	dgMaxAlias       = 64
	dgMaxMembers     = 10000
	// groupManagerException is the exception of a change by someone not in ManagedBy without
	// BypassSecurityGroupManagerCheck
	// (https://learn.microsoft.com/troubleshoot/exchange/groups-and-distribution-lists/no-sufficient-permissions-moving-dg).
	groupManagerException = "Microsoft.Exchange.Configuration.Tasks.OperationRequiresGroupManagerException"
	adObjectExists        = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"
	recipientTaskError    = "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException"
	memberExistsException = "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException"
)

// aliasRE: letters, digits and !#$%&'*+-/=?^_`{|}~, dots only between other characters.
var aliasRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+(\\.[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+)*$")

var dgCommon = []string{"Identity", "BypassSecurityGroupManagerCheck"}

func init() {
	registerCmdlet("New-DistributionGroup", []string{"Name", "DisplayName", "Alias", "PrimarySmtpAddress", "Type", "Members",
		"ManagedBy", "RequireSenderAuthenticationEnabled", "Notes", "Description", "MemberJoinRestriction", "MemberDepartRestriction",
		"IgnoreNamingPolicy", "CopyOwnerToMember", "RoomList", "OrganizationalUnit", "ModeratedBy", "ModerationEnabled"}, cmdNewDistributionGroup)
	registerCmdlet("Get-DistributionGroup", []string{"Identity", "ResultSize", "Filter", "RecipientTypeDetails", "Anr", "SortBy"}, cmdGetDistributionGroup)
	registerCmdlet("Set-DistributionGroup", append([]string{"Name", "DisplayName", "Alias", "PrimarySmtpAddress", "EmailAddresses",
		"ManagedBy", "RequireSenderAuthenticationEnabled", "HiddenFromAddressListsEnabled", "AcceptMessagesOnlyFromSendersOrMembers",
		"MemberJoinRestriction", "MemberDepartRestriction", "Description"}, dgCommon...), cmdSetDistributionGroup)
	registerCmdlet("Remove-DistributionGroup", dgCommon, cmdRemoveDistributionGroup)
	registerCmdlet("Update-DistributionGroupMember", append([]string{"Members"}, dgCommon...), cmdUpdateDistributionGroupMember)
	registerCmdlet("Add-DistributionGroupMember", append([]string{"Member"}, dgCommon...), cmdAddDistributionGroupMember)
	registerCmdlet("Remove-DistributionGroupMember", append([]string{"Member"}, dgCommon...), cmdRemoveDistributionGroupMember)
	registerCmdlet("Get-DistributionGroupMember", []string{"Identity", "ResultSize", "IncludeSoftDeletedObjects"}, cmdGetDistributionGroupMember)
}

// groupNotFound is the standard "couldn't be found" text of an Identity that matches nothing.
func groupNotFound(id string) *ExoError {
	return NotFound(fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on 'fakecloud.PROD.OUTLOOK.COM'.", id))
}

// recipientNotFound is the text of a Member/ManagedBy value that is not a recipient (the wording
// of the service's identity resolution; for these parameters UNCONFIRMED).
func recipientNotFound(id string) *ExoError {
	return NotFound(fmt.Sprintf("Couldn't find object \"%s\". Please make sure that it was spelled correctly or specify a different object.", id))
}

// findGroupLocked finds a group by GUID, name, alias or any of its addresses.
func findGroupLocked(st *State, id string) int {
	id = strings.TrimSpace(id)
	for i, g := range st.DistributionGroups {
		if strings.EqualFold(g.GUID, id) || strings.EqualFold(g.Name, id) || strings.EqualFold(g.Alias, id) {
			return i
		}
		for _, a := range g.EmailAddresses {
			if strings.EqualFold(stripPrefix(a), id) {
				return i
			}
		}
	}
	return -1
}

func stripPrefix(a string) string {
	if p, rest, ok := strings.Cut(a, ":"); ok && strings.EqualFold(p, "smtp") {
		return rest
	}
	return a
}

// recipientLocked resolves a Member/ManagedBy value to a recipient: a live user (by user
// principal name, or by object id) or a distribution group. It returns the recipient's primary
// address, its Name and RecipientTypeDetails.
func recipientLocked(st *State, id string) (addr, name, typ string, ok bool) {
	id = strings.TrimSpace(id)
	now := time.Now()
	for _, u := range st.Users {
		if u.Deleted {
			continue
		}
		if strings.EqualFold(u.UserPrincipalName, id) || strings.EqualFold(u.ID, id) {
			// Only a mail-enabled recipient can be a member: a user whose mailbox is still being
			// provisioned is not one yet (Get-Recipient does not know it).
			if _, ok := readyMailboxLocked(st, u, now); !ok {
				return "", "", "", false
			}
			name := u.MailNickname
			if name == "" {
				name, _, _ = strings.Cut(u.UserPrincipalName, "@")
			}
			return strings.ToLower(u.UserPrincipalName), name, "UserMailbox", true
		}
	}
	if i := findGroupLocked(st, id); i >= 0 {
		g := st.DistributionGroups[i]
		return strings.ToLower(g.PrimarySmtpAddress), g.Name, groupTypeDetails(g), true
	}
	return "", "", "", false
}

func groupTypeDetails(g DistributionGroup) string {
	if g.Type == "Security" {
		return "MailUniversalSecurityGroup"
	}
	return "MailUniversalDistributionGroup"
}

// addressHolderLocked names the recipient that already uses an SMTP address (skip: the group
// being changed).
func addressHolderLocked(st *State, addr string, skip int) (string, bool) {
	return addressHolderExceptLocked(st, addr, "", skip)
}

// addressHolderExceptLocked names the recipient that already uses an SMTP address: a user (its
// user principal name, or any proxy address of its mailbox) other than skipUser (a user id), or
// a distribution group other than the one at index skipGroup.
func addressHolderExceptLocked(st *State, addr, skipUser string, skipGroup int) (string, bool) {
	for _, u := range st.Users {
		if u.Deleted || u.ID == skipUser {
			continue
		}
		if strings.EqualFold(u.UserPrincipalName, addr) {
			return u.UserPrincipalName, true
		}
		if _, has := st.Mailboxes[u.ID]; has && hasProxyAddress(mailboxProxyAddresses(st, u), addr) {
			return u.UserPrincipalName, true
		}
	}
	for i, g := range st.DistributionGroups {
		if i == skipGroup {
			continue
		}
		for _, a := range g.EmailAddresses {
			if strings.EqualFold(stripPrefix(a), addr) {
				return g.Name, true
			}
		}
	}
	return "", false
}

// proxyTaken is the documented text of an address another recipient holds
// (https://learn.microsoft.com/troubleshoot/exchange/email-alias/proxy-address-being-used); the
// exception type over InvokeCommand is UNCONFIRMED.
func proxyTaken(st *State, addr string) *ExoError {
	return AlreadyExists(adObjectExists, fmt.Sprintf("The proxy address \"SMTP:%s\" is already being used by \"fakecloud.prod.outlook.com/Microsoft Exchange Hosted Organizations/%s/%s\". Choose another proxy address.",
		addr, st.InitialDomain, addr))
}

// checkSMTPLocked validates an address: its form and an accepted (verified) domain of the tenant.
// The refusal text for a domain that is not accepted is UNCONFIRMED.
func checkSMTPLocked(st *State, param, addr string) *ExoError {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(addr, " ,;<>") || !aliasRE.MatchString(local) {
		return Invalid(ParameterBinding, fmt.Sprintf("Cannot process argument transformation on parameter '%s'. The email address \"%s\" isn't correct. Please use this format: user name, the @ sign, followed by the domain name. For example, tonysmith@contoso.com or tony.smith@contoso.com.", param, addr))
	}
	d, known := st.Domains[strings.ToLower(domain)]
	if !known || !d.IsVerified {
		return Invalid(recipientTaskError, fmt.Sprintf("The domain %s of the address %s isn't an accepted domain for your organization. Add and verify the domain, or use an address on an accepted domain.", domain, addr))
	}
	return nil
}

// recipientNames renders recipients as the service lists them in ManagedBy and similar
// properties: by name, not by address.
func recipientNames(st *State, addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, m := range addrs {
		if _, name, _, ok := recipientLocked(st, m); ok {
			out = append(out, name)
		}
	}
	return out
}

func groupObject(st *State, g DistributionGroup) map[string]any {
	owners := recipientNames(st, g.ManagedBy)
	return map[string]any{
		"Identity": g.Name, "Guid": g.GUID, "Guid@odata.type": "#Guid", "Name": g.Name, "DisplayName": g.DisplayName,
		"Alias": g.Alias, "PrimarySmtpAddress": g.PrimarySmtpAddress, "WindowsEmailAddress": g.PrimarySmtpAddress,
		"EmailAddresses@odata.type": "#Collection(String)", "EmailAddresses": g.EmailAddresses,
		"ManagedBy@odata.type": "#Collection(String)", "ManagedBy": owners,
		"AcceptMessagesOnlyFromSendersOrMembers@odata.type": "#Collection(String)", "AcceptMessagesOnlyFromSendersOrMembers": recipientNames(st, g.AcceptMessagesOnlyFrom),
		"RequireSenderAuthenticationEnabled": g.RequireSenderAuthenticationEnabled,
		"RecipientType":                      groupTypeDetails(g), "RecipientTypeDetails": groupTypeDetails(g),
		"GroupType": "Universal", "MemberJoinRestriction": "Closed", "MemberDepartRestriction": "Open",
		"HiddenFromAddressListsEnabled": false, "ReportToOriginatorEnabled": true,
		"WhenCreated": g.Created.Format(time.RFC3339), "WhenCreated@data.type": "System.DateTime",
	}
}

// resolveRecipientsLocked turns Member/ManagedBy values into primary addresses, refusing values
// that are not recipients.
func resolveRecipientsLocked(st *State, values []string) ([]string, *ExoError) {
	out := make([]string, 0, len(values))
	for _, v := range values {
		addr, _, _, ok := recipientLocked(st, v)
		if !ok {
			return nil, recipientNotFound(v)
		}
		if !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out, nil
}

func cmdNewDistributionGroup(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	name, err := p.String("Name")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		return nil, missingMandatory("Name")
	}
	display, _ := p.String("DisplayName")
	alias, _ := p.String("Alias")
	primary, err := p.String("PrimarySmtpAddress")
	if err != nil {
		return nil, err
	}
	typ, _ := p.String("Type")
	members, err := p.Strings("Members")
	if err != nil {
		return nil, err
	}
	owners, err := p.Strings("ManagedBy")
	if err != nil {
		return nil, err
	}
	rsa := true // the documented default: senders outside the organization are rejected
	if p.Has("RequireSenderAuthenticationEnabled") {
		if rsa, err = p.Bool("RequireSenderAuthenticationEnabled"); err != nil {
			return nil, err
		}
	}
	switch {
	case len([]rune(name)) > dgMaxName:
		return nil, Invalid(ParameterBinding, fmt.Sprintf("Cannot validate argument on parameter 'Name'. The length of the argument is too long. Shorten the length of the argument to less than or equal to \"%d\" and then try the command again.", dgMaxName))
	case len([]rune(display)) > dgMaxDisplayName:
		return nil, Invalid(ParameterBinding, fmt.Sprintf("Cannot validate argument on parameter 'DisplayName'. The length of the argument is too long. Shorten the length of the argument to less than or equal to \"%d\" and then try the command again.", dgMaxDisplayName))
	case len(members) > dgMaxMembers:
		return nil, Invalid(recipientTaskError, fmt.Sprintf("The number of members (%d) exceeds the limit of %d for one command.", len(members), dgMaxMembers))
	}
	if typ == "" {
		typ = "Distribution"
	}
	if typ != "Distribution" && typ != "Security" {
		return nil, Invalid(ParameterBinding, fmt.Sprintf("Cannot process argument transformation on parameter 'Type'. Cannot convert value \"%s\" to type \"Microsoft.Exchange.Management.RecipientTasks.GroupType\". Error: \"Unable to match the identifier name %s to a valid enumerator name. Specify one of the following enumerator names and try again: Distribution, Security\"", typ, typ))
	}
	if display == "" {
		display = name
	}
	if alias == "" {
		alias = strings.Map(func(r rune) rune {
			if r < 128 && aliasRE.MatchString(string(r)) {
				return r
			}
			return -1
		}, name)
	}
	if len(alias) > dgMaxAlias || !aliasRE.MatchString(alias) {
		return nil, Invalid(ParameterBinding, fmt.Sprintf("Cannot validate argument on parameter 'Alias'. The argument \"%s\" does not match the \"^[^\\s\\\"\\(\\)<>@,;:\\[\\]\\\\]{1,64}$\" pattern or contains characters an alias can't hold. Supply an argument that matches the pattern and try the command again.", alias))
	}
	var out map[string]any
	err = ctx.Mutate(func(st *State) error {
		if primary == "" {
			primary = alias + "@" + st.InitialDomain
		}
		primary = strings.ToLower(primary)
		if e := checkSMTPLocked(st, "PrimarySmtpAddress", primary); e != nil {
			return e
		}
		for _, g := range st.DistributionGroups {
			if strings.EqualFold(g.Name, name) {
				return AlreadyExists(adObjectExists, fmt.Sprintf("Active Directory operation failed on fakecloud.PROD.OUTLOOK.COM. The object 'CN=%s,OU=%s,OU=Microsoft Exchange Hosted Organizations,DC=fakecloud,DC=PROD,DC=OUTLOOK,DC=COM' already exists.", name, st.InitialDomain))
			}
		}
		if _, taken := addressHolderLocked(st, primary, -1); taken {
			return proxyTaken(st, primary)
		}
		mem, e := resolveRecipientsLocked(st, members)
		if e != nil {
			return e
		}
		own, e := resolveRecipientsLocked(st, owners)
		if e != nil {
			return e
		}
		g := DistributionGroup{GUID: newGUID(), Name: name, DisplayName: display, Alias: alias, PrimarySmtpAddress: primary,
			EmailAddresses: []string{"SMTP:" + primary}, ManagedBy: own, Members: mem, RequireSenderAuthenticationEnabled: rsa,
			Type: typ, Created: time.Now().UTC()}
		if routing := strings.ToLower(alias + "@" + st.InitialDomain); routing != primary {
			g.EmailAddresses = append(g.EmailAddresses, "smtp:"+routing)
		}
		st.DistributionGroups = append(st.DistributionGroups, g)
		out = groupObject(st, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	guid, _ := out["Guid"].(string)
	ctx.MarkCreated("distributiongroup", guid)
	return []map[string]any{out}, nil
}

// groupForCmdlet finds the group an Identity names, honouring the exchange_lag knob.
func groupForCmdlet(ctx *CmdletContext, st *State, id string) (int, *ExoError) {
	if strings.TrimSpace(id) == "" {
		return -1, missingMandatory("Identity")
	}
	i := findGroupLocked(st, id)
	if i < 0 || ctx.Lagging("distributiongroup", st.DistributionGroups[i].GUID) {
		return -1, groupNotFound(id)
	}
	return i, nil
}

// managerCheck refuses a change without BypassSecurityGroupManagerCheck: the caller is an
// application, which is never among a group's owners.
func managerCheck(p Params) error {
	bypass, err := p.Bool("BypassSecurityGroupManagerCheck")
	if err != nil {
		return err
	}
	if !bypass {
		return newExoError(http.StatusBadRequest, "BadRequest", groupManagerException,
			"You don't have sufficient permissions. This operation can only be performed by a manager of the group.")
	}
	return nil
}

func cmdGetDistributionGroup(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	var nf *ExoError
	ctx.Read(func(st *State) {
		if id != "" {
			i, e := groupForCmdlet(ctx, st, id)
			if e != nil {
				nf = e
				return
			}
			out = append(out, groupObject(st, st.DistributionGroups[i]))
			return
		}
		for _, g := range st.DistributionGroups {
			if !ctx.Lagging("distributiongroup", g.GUID) {
				out = append(out, groupObject(st, g))
			}
		}
	})
	if nf != nil {
		return nil, nf
	}
	return out, nil
}

// addRemove reads a multi-valued parameter given as a list (replace) or as the
// #Exchange.GenericHashTable {Add, Remove} form.
func addRemove(p Params, name string) (replace []string, add []string, remove []string, isDelta bool, err error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return nil, nil, nil, false, nil
	}
	if m, isMap := v.(map[string]any); isMap {
		if t, _ := m["@odata.type"].(string); t != "#Exchange.GenericHashTable" {
			return nil, nil, nil, false, Invalid("Microsoft.Exchange.Data.ParameterTransformationException",
				fmt.Sprintf("Cannot process argument transformation on parameter '%s'. JProperty not convertible to %s; annotate the hashtable with \"@odata.type\": \"#Exchange.GenericHashTable\".", name, name))
		}
		sub := Params(m)
		if add, err = sub.Strings("Add"); err != nil {
			return
		}
		if remove, err = sub.Strings("Remove"); err != nil {
			return
		}
		return nil, add, remove, true, nil
	}
	replace, err = p.Strings(name)
	return replace, nil, nil, false, err
}

func cmdSetDistributionGroup(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	if err := managerCheck(p); err != nil {
		return nil, err
	}
	name, _ := p.String("Name")
	display, _ := p.String("DisplayName")
	alias, _ := p.String("Alias")
	primary, _ := p.String("PrimarySmtpAddress")
	addrReplace, addrAdd, addrRemove, addrDelta, err := addRemove(p, "EmailAddresses")
	if err != nil {
		return nil, err
	}
	ownReplace, ownAdd, ownRemove, ownDelta, err := addRemove(p, "ManagedBy")
	if err != nil {
		return nil, err
	}
	acceptSet := p.Has("AcceptMessagesOnlyFromSendersOrMembers")
	accept, err := p.Strings("AcceptMessagesOnlyFromSendersOrMembers")
	if err != nil {
		return nil, err
	}
	if p.Has("EmailAddresses") && p.Has("PrimarySmtpAddress") {
		return nil, Invalid(recipientTaskError, "The EmailAddresses and PrimarySmtpAddress parameters can't be used together.")
	}
	err = ctx.Mutate(func(st *State) error {
		i, e := groupForCmdlet(ctx, st, id)
		if e != nil {
			return e
		}
		g := st.DistributionGroups[i]
		g.EmailAddresses = slices.Clone(g.EmailAddresses)
		if name != "" && !strings.EqualFold(name, g.Name) {
			if len([]rune(name)) > dgMaxName {
				return Invalid(ParameterBinding, "Cannot validate argument on parameter 'Name'. The length of the argument is too long.")
			}
			for j, o := range st.DistributionGroups {
				if j != i && strings.EqualFold(o.Name, name) {
					return AlreadyExists(adObjectExists, fmt.Sprintf("Active Directory operation failed on fakecloud.PROD.OUTLOOK.COM. The object 'CN=%s' already exists.", name))
				}
			}
			g.Name = name
		}
		if display != "" {
			g.DisplayName = display
		}
		if alias != "" {
			if !aliasRE.MatchString(alias) || len(alias) > dgMaxAlias {
				return Invalid(ParameterBinding, fmt.Sprintf("Cannot validate argument on parameter 'Alias'. The argument \"%s\" is not a valid alias.", alias))
			}
			g.Alias = alias
		}
		setPrimary := func(addr string) *ExoError {
			addr = strings.ToLower(addr)
			if e := checkSMTPLocked(st, "PrimarySmtpAddress", addr); e != nil {
				return e
			}
			if _, taken := addressHolderLocked(st, addr, i); taken {
				return proxyTaken(st, addr)
			}
			var rest []string
			for _, a := range g.EmailAddresses {
				if strings.HasPrefix(a, "SMTP:") {
					rest = append(rest, "smtp:"+strings.TrimPrefix(a, "SMTP:"))
				} else if !strings.EqualFold(stripPrefix(a), addr) {
					rest = append(rest, a)
				}
			}
			g.PrimarySmtpAddress = addr
			g.EmailAddresses = append([]string{"SMTP:" + addr}, rest...)
			return nil
		}
		if primary != "" {
			if e := setPrimary(primary); e != nil {
				return e
			}
		}
		addSecondary := func(a string) *ExoError {
			addr := strings.ToLower(stripPrefix(a))
			if strings.HasPrefix(a, "SMTP:") {
				return setPrimary(addr)
			}
			if e := checkSMTPLocked(st, "EmailAddresses", addr); e != nil {
				return e
			}
			if _, taken := addressHolderLocked(st, addr, i); taken {
				return proxyTaken(st, addr)
			}
			if !slices.ContainsFunc(g.EmailAddresses, func(x string) bool { return strings.EqualFold(stripPrefix(x), addr) }) {
				g.EmailAddresses = append(g.EmailAddresses, "smtp:"+addr)
			}
			return nil
		}
		switch {
		case addrDelta:
			for _, a := range addrRemove {
				addr := stripPrefix(a)
				if strings.EqualFold(addr, g.PrimarySmtpAddress) {
					return Invalid(recipientTaskError, "The primary SMTP address can't be removed. Set another primary address first.")
				}
				g.EmailAddresses = slices.DeleteFunc(g.EmailAddresses, func(x string) bool { return strings.EqualFold(stripPrefix(x), addr) })
			}
			for _, a := range addrAdd {
				if e := addSecondary(a); e != nil {
					return e
				}
			}
		case addrReplace != nil:
			g.EmailAddresses = []string{"SMTP:" + g.PrimarySmtpAddress}
			for _, a := range addrReplace {
				if e := addSecondary(a); e != nil {
					return e
				}
			}
		}
		if len(g.EmailAddresses) > 300 {
			return Invalid(recipientTaskError, fmt.Sprintf("There are too many proxy addresses: %d, and maximum supported number of recipient proxy addresses is 300", len(g.EmailAddresses)))
		}
		switch {
		case ownDelta:
			rm, e := resolveRecipientsLocked(st, ownRemove)
			if e != nil {
				return e
			}
			add, e := resolveRecipientsLocked(st, ownAdd)
			if e != nil {
				return e
			}
			g.ManagedBy = slices.DeleteFunc(slices.Clone(g.ManagedBy), func(x string) bool { return slices.Contains(rm, x) })
			for _, a := range add {
				if !slices.Contains(g.ManagedBy, a) {
					g.ManagedBy = append(g.ManagedBy, a)
				}
			}
		case ownReplace != nil:
			own, e := resolveRecipientsLocked(st, ownReplace)
			if e != nil {
				return e
			}
			g.ManagedBy = own
		}
		if acceptSet {
			// The list replaces the previous one (use AcceptMessagesOnlyFrom/...DLMembers to add
			// or remove entries); an empty list lets everyone allowed by
			// RequireSenderAuthenticationEnabled send again.
			senders, e := resolveRecipientsLocked(st, accept)
			if e != nil {
				return e
			}
			g.AcceptMessagesOnlyFrom = senders
		}
		if p.Has("RequireSenderAuthenticationEnabled") {
			rsa, err := p.Bool("RequireSenderAuthenticationEnabled")
			if err != nil {
				return err
			}
			g.RequireSenderAuthenticationEnabled = rsa
		}
		st.DistributionGroups[i] = g
		return nil
	})
	return nil, err
}

func cmdRemoveDistributionGroup(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	if err := managerCheck(p); err != nil {
		return nil, err
	}
	return nil, ctx.Mutate(func(st *State) error {
		i, e := groupForCmdlet(ctx, st, id)
		if e != nil {
			return e
		}
		addr := strings.ToLower(st.DistributionGroups[i].PrimarySmtpAddress)
		st.DistributionGroups = slices.Delete(st.DistributionGroups, i, i+1)
		// A removed group stops being a member of other groups.
		for j := range st.DistributionGroups {
			st.DistributionGroups[j].Members = slices.DeleteFunc(slices.Clone(st.DistributionGroups[j].Members), func(m string) bool { return m == addr })
		}
		return nil
	})
}

func cmdUpdateDistributionGroupMember(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	if err := managerCheck(p); err != nil {
		return nil, err
	}
	members, err := p.Strings("Members")
	if err != nil {
		return nil, err
	}
	if len(members) > dgMaxMembers {
		return nil, Invalid(recipientTaskError, fmt.Sprintf("The number of members (%d) exceeds the limit of %d for one command.", len(members), dgMaxMembers))
	}
	return nil, ctx.Mutate(func(st *State) error {
		i, e := groupForCmdlet(ctx, st, id)
		if e != nil {
			return e
		}
		mem, e := resolveRecipientsLocked(st, members)
		if e != nil {
			return e
		}
		if slices.Contains(mem, strings.ToLower(st.DistributionGroups[i].PrimarySmtpAddress)) {
			return Invalid(recipientTaskError, "A group can't be a member of itself.")
		}
		st.DistributionGroups[i].Members = mem
		return nil
	})
}

func cmdAddDistributionGroupMember(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	return nil, changeOneMember(ctx, p, true)
}

func cmdRemoveDistributionGroupMember(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	return nil, changeOneMember(ctx, p, false)
}

func changeOneMember(ctx *CmdletContext, p Params, add bool) error {
	id, err := p.String("Identity")
	if err != nil {
		return err
	}
	member, err := p.String("Member")
	if err != nil {
		return err
	}
	if member == "" {
		return missingMandatory("Member")
	}
	if err := managerCheck(p); err != nil {
		return err
	}
	return ctx.Mutate(func(st *State) error {
		i, e := groupForCmdlet(ctx, st, id)
		if e != nil {
			return e
		}
		addr, _, _, ok := recipientLocked(st, member)
		if !ok {
			return recipientNotFound(member)
		}
		g := &st.DistributionGroups[i]
		has := slices.Contains(g.Members, addr)
		switch {
		case add && has:
			// The exception name is seen in third-party handlers; the text is UNCONFIRMED.
			return Invalid(memberExistsException, fmt.Sprintf("The recipient \"%s\" is already a member of the group \"%s\".", member, g.Name))
		case !add && !has:
			return Invalid(recipientTaskError, fmt.Sprintf("The recipient \"%s\" isn't a member of the group \"%s\".", member, g.Name))
		case add:
			g.Members = append(slices.Clone(g.Members), addr)
		default:
			g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == addr })
		}
		return nil
	})
}

func cmdGetDistributionGroupMember(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	var nf *ExoError
	ctx.Read(func(st *State) {
		i, e := groupForCmdlet(ctx, st, id)
		if e != nil {
			nf = e
			return
		}
		for _, m := range st.DistributionGroups[i].Members {
			addr, name, typ, ok := recipientLocked(st, m)
			if !ok {
				continue
			}
			out = append(out, map[string]any{"Identity": name, "Name": name, "PrimarySmtpAddress": addr,
				"RecipientType": typ, "RecipientTypeDetails": typ})
		}
	})
	if nf != nil {
		return nil, nf
	}
	return out, nil
}
