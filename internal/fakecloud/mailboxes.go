package fakecloud

// Exchange Online mailboxes of the tenant's users, and the recipient cmdlets that show them.
//
// A mailbox is its own state, separate from licensing: Exchange Online creates it some time after a
// licence with an Exchange Online service plan is assigned, "typically" within 30 minutes and up to
// 24 hours
// (https://learn.microsoft.com/exchange/troubleshoot/user-and-shared-mailboxes/delays-provision-mailbox-sync-changes).
// The knobs mailbox_provision_delay and mailbox_provision_jitter set that time (negative delay:
// never). Until the mailbox is ready:
//
//   - Get-User shows the user with RecipientTypeDetails "User", then "UserMailbox"
//     (https://learn.microsoft.com/powershell/module/exchange/get-user);
//   - Get-Mailbox and Get-Recipient do not show it (-Identity: 404 ManagementObjectNotFoundException);
//   - Graph GET /users/{id}/mailboxSettings answers 404 MailboxNotEnabledForRESTAPI;
//   - an IMAP migration of its address fails with MigrationRecipientNotFoundException.
//
// Removing the last Exchange Online licence: a mailbox still provisioning is cancelled (the record
// goes away; a new licence starts over). A ready mailbox stays: the real service keeps it for a
// 30-day grace period and then disables it
// (https://learn.microsoft.com/microsoft-365/admin/manage/remove-licenses-from-users); the fake
// never disables it. A deleted user's mailbox is invisible and comes back when the user is
// restored.

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Mailbox is the Exchange Online mailbox of a user (State.Mailboxes, keyed by user id).
type Mailbox struct {
	// GUID is the mailbox's Guid (also its ExchangeGuid in the fake).
	GUID string `json:"guid"`
	// LicensedAt is when provisioning started (the Exchange Online licence was assigned).
	LicensedAt time.Time `json:"licensed_at"`
	// ReadyAt is when the mailbox exists (WhenMailboxCreated); zero when it never will
	// (mailbox_provision_delay < 0).
	ReadyAt time.Time `json:"ready_at,omitzero"`
	// EmailAddresses are the proxy addresses once Set-Mailbox -EmailAddresses changed them
	// (prefixed: "SMTP:" the primary, "smtp:" the others); nil: the ones Exchange stamps (see
	// mailboxProxyAddresses).
	EmailAddresses []string `json:"email_addresses,omitempty"`
}

// ready reports whether the mailbox exists at now.
func (m Mailbox) ready(now time.Time) bool {
	return !m.ReadyAt.IsZero() && !now.Before(m.ReadyAt)
}

// Recipient type details used by the fake (RecipientTypeDetails).
const (
	recipientUser        = "User"
	recipientUserMailbox = "UserMailbox"
)

// knownRecipientTypeDetails are values -RecipientTypeDetails accepts
// (https://learn.microsoft.com/powershell/module/exchange/get-recipient); the fake only has users
// and user mailboxes, the others match nothing.
var knownRecipientTypeDetails = []string{"DiscoveryMailbox", "DisabledUser", "DynamicDistributionGroup",
	"EquipmentMailbox", "GroupMailbox", "GuestMailUser", "LegacyMailbox", "LinkedMailbox", "LinkedRoomMailbox",
	"LinkedUser", "MailContact", "MailForestContact", "MailNonUniversalGroup", "MailUniversalDistributionGroup",
	"MailUniversalSecurityGroup", "MailUser", "PublicFolder", "PublicFolderMailbox", "RemoteEquipmentMailbox",
	"RemoteRoomMailbox", "RemoteSharedMailbox", "RemoteTeamMailbox", "RemoteUserMailbox", "RoleGroup",
	"RoomList", "RoomMailbox", "SchedulingMailbox", "SharedMailbox", "SharedWithMailUser", "TeamMailbox",
	"User", "UserMailbox"}

// hasMailboxPlan reports whether one of the licences includes an enabled Exchange Online plan
// that gives the user a mailbox: EXCHANGE_S_STANDARD, EXCHANGE_S_ENTERPRISE, EXCHANGE_S_DESKLESS
// and the other EXCHANGE_S_* plans, except EXCHANGE_S_FOUNDATION (the Exchange "foundation" that
// SKUs without mail carry) and the EXCHANGE_S_ARCHIVE* add-ons
// (https://learn.microsoft.com/entra/identity/users/licensing-service-plan-reference).
func hasMailboxPlan(st *State, lic []AssignedLicense) bool {
	for _, l := range lic {
		k := skuLocked(st, l.SkuID)
		if k == nil {
			continue
		}
		for _, p := range k.ServicePlans {
			name := strings.ToUpper(p.ServicePlanName)
			if strings.HasPrefix(name, "EXCHANGE_S_") && name != "EXCHANGE_S_FOUNDATION" &&
				!strings.HasPrefix(name, "EXCHANGE_S_ARCHIVE") && !containsFold(l.DisabledPlans, p.ServicePlanID) {
				return true
			}
		}
	}
	return false
}

// mailboxDelay is the provisioning time of a user's mailbox under k; false means never.
// The jitter is a hash of the user id in [0, MailboxProvisionJitter).
func mailboxDelay(k Knobs, userID string) (time.Duration, bool) {
	if k.MailboxProvisionDelay < 0 {
		return 0, false
	}
	d := k.MailboxProvisionDelay
	if k.MailboxProvisionJitter > 0 {
		h := fnv.New64a()
		_, _ = h.Write([]byte(strings.ToLower(userID)))
		d += time.Duration(h.Sum64() % uint64(k.MailboxProvisionJitter))
	}
	return d, true
}

// mailboxLicencesChangedLocked is the hook assignLicense calls after changing u's licences (the
// state is locked for writing): a first Exchange Online licence starts provisioning, the loss of
// the last one cancels a provisioning that has not finished (see the file comment).
func (s *Server) mailboxLicencesChangedLocked(st *State, u User) {
	now := time.Now().UTC()
	mb, has := st.Mailboxes[u.ID]
	switch exo := hasMailboxPlan(st, u.AssignedLicenses); {
	case exo && !has:
		if st.Mailboxes == nil {
			st.Mailboxes = map[string]Mailbox{}
		}
		mb = Mailbox{GUID: derivedGUID(st.TenantID, "mailbox-object", u.ID, now.Format(time.RFC3339Nano)), LicensedAt: now}
		if d, ok := mailboxDelay(s.Knobs(), u.ID); ok {
			mb.ReadyAt = now.Add(d)
		}
		st.Mailboxes[u.ID] = mb
	case !exo && has && !mb.ready(now):
		delete(st.Mailboxes, u.ID)
	}
}

// seedMailboxes gives every seeded user with an Exchange Online licence a mailbox that exists from
// the start (also used for state files written before mailboxes were modelled).
func seedMailboxes(st *State) {
	for id, u := range st.Users {
		if _, has := st.Mailboxes[id]; has || !hasMailboxPlan(st, u.AssignedLicenses) {
			continue
		}
		if st.Mailboxes == nil {
			st.Mailboxes = map[string]Mailbox{}
		}
		st.Mailboxes[id] = Mailbox{GUID: derivedGUID(st.TenantID, "mailbox-object", id),
			LicensedAt: u.CreatedDateTime, ReadyAt: u.CreatedDateTime}
	}
}

// readyMailboxLocked returns the mailbox of a live user when it exists at now.
func readyMailboxLocked(st *State, u User, now time.Time) (Mailbox, bool) {
	if u.Deleted {
		return Mailbox{}, false
	}
	mb, ok := st.Mailboxes[u.ID]
	if !ok || !mb.ready(now) {
		return Mailbox{}, false
	}
	return mb, true
}

// mailboxAlias is the mailbox's Alias: the user's mailNickname, else the UPN's local part.
func mailboxAlias(u User) string {
	if u.MailNickname != "" {
		return u.MailNickname
	}
	local, _, _ := strings.Cut(u.UserPrincipalName, "@")
	return local
}

// mailboxProxyAddresses are EmailAddresses of a user mailbox: SMTP:<UPN> (primary) and
// smtp:<alias>@<initial domain>, as Exchange Online stamps them for a cloud user. The SIP: and
// SPO: entries of a real mailbox are left out.
func mailboxProxyAddresses(st *State, u User) []string {
	if mb, ok := st.Mailboxes[u.ID]; ok && mb.EmailAddresses != nil {
		return mb.EmailAddresses
	}
	out := []string{"SMTP:" + u.UserPrincipalName}
	initial := mailboxAlias(u) + "@" + st.InitialDomain
	if !strings.EqualFold(initial, u.UserPrincipalName) {
		out = append(out, "smtp:"+initial)
	}
	return out
}

// hasProxyAddress reports whether addr (with or without an smtp: prefix) is one of the list's.
func hasProxyAddress(list []string, addr string) bool {
	addr = strings.TrimSpace(addr)
	if p, rest, ok := strings.Cut(addr, ":"); ok && strings.EqualFold(p, "smtp") {
		addr = rest
	}
	for _, a := range list {
		_, bare, _ := strings.Cut(a, ":")
		if strings.EqualFold(bare, addr) {
			return true
		}
	}
	return false
}

// recipientForAddressLocked finds the live user whose ready mailbox has addr as a proxy address.
func recipientForAddressLocked(st *State, addr string, now time.Time) (User, bool) {
	for _, u := range st.Users {
		if _, ok := readyMailboxLocked(st, u, now); ok && hasProxyAddress(mailboxProxyAddresses(st, u), addr) {
			return u, true
		}
	}
	return User{}, false
}

// quotaText renders a quota as Exchange does, e.g. "99 GB (106,300,440,576 bytes)".
func quotaText(gb int64) string {
	return fmt.Sprintf("%d GB (%s bytes)", gb, groupThousands(gb<<30))
}

// recipientJSON renders a user the way the recipient cmdlets do. cmdlet decides the property set:
// Get-User (every user; "User" until the mailbox exists), Get-Mailbox or Get-Recipient (mailboxes).
// Name and Identity are the ExternalDirectoryObjectId, as for recipients created since 2022
// (Microsoft 365 message center MC365786; https://office365itpros.com/2022/04/21/exchange-online-distinguished-names/;
// whether every tenant has the change is UNCONFIRMED).
func recipientJSON(st *State, u User, mb Mailbox, hasMailbox bool, cmdlet string) map[string]any {
	details := recipientUser
	if hasMailbox {
		details = recipientUserMailbox
	}
	o := map[string]any{
		"Identity":                  u.ID,
		"Name":                      u.ID,
		"DisplayName":               u.DisplayName,
		"ExternalDirectoryObjectId": u.ID,
		"RecipientType":             details,
		"RecipientTypeDetails":      details,
		"Guid@odata.type":           "#Guid",
		"Guid":                      derivedGUID(st.TenantID, "recipient", u.ID),
		"WhenCreated":               exoTime(u.CreatedDateTime, false),
		"WhenCreatedUTC":            exoTime(u.CreatedDateTime, true),
		"IsValid":                   true,
		"ObjectState":               "Unchanged",
	}
	primary, proxies := "", []string{}
	if hasMailbox {
		proxies = mailboxProxyAddresses(st, u)
		primary = primaryOf(proxies, u.UserPrincipalName)
	}
	switch cmdlet {
	case "Get-User":
		o["UserPrincipalName"] = u.UserPrincipalName
		o["WindowsEmailAddress"] = primary
		o["FirstName"] = u.GivenName
		o["LastName"] = u.Surname
		o["Title"] = u.JobTitle
		o["Department"] = u.Department
		o["UsageLocation"] = u.UsageLocation
		o["AccountDisabled"] = !u.AccountEnabled
		o["IsDirSynced"] = false
	case "Get-Mailbox":
		o["Alias"] = mailboxAlias(u)
		o["UserPrincipalName"] = u.UserPrincipalName
		o["PrimarySmtpAddress"] = primary
		o["WindowsEmailAddress"] = primary
		o["EmailAddresses@odata.type"] = "#Collection(String)"
		o["EmailAddresses"] = proxies
		o["ExchangeGuid@odata.type"] = "#Guid"
		o["ExchangeGuid"] = mb.GUID
		o["Guid"] = mb.GUID
		o["WhenMailboxCreated@data.type"] = "System.DateTime" // sic, as in a captured answer
		o["WhenMailboxCreated"] = exoTime(mb.ReadyAt, false)
		o["IssueWarningQuota"] = quotaText(98)
		o["ProhibitSendQuota"] = quotaText(99)
		o["ProhibitSendReceiveQuota"] = quotaText(100)
		o["UsageLocation"] = u.UsageLocation
		o["IsMailboxEnabled"] = true
		o["IsInactiveMailbox"] = false
		o["IsSoftDeletedByRemove"] = false
		o["HiddenFromAddressListsEnabled"] = false
		o["AccountDisabled"] = !u.AccountEnabled
	default: // Get-Recipient
		o["Alias"] = mailboxAlias(u)
		o["PrimarySmtpAddress"] = primary
		o["WindowsLiveID"] = u.UserPrincipalName
		o["EmailAddresses@odata.type"] = "#Collection(String)"
		o["EmailAddresses"] = proxies
		o["ExchangeGuid@odata.type"] = "#Guid"
		o["ExchangeGuid"] = mb.GUID
		o["Guid"] = mb.GUID
	}
	return o
}

// ---- cmdlets ---------------------------------------------------------------------------------

func init() {
	registerCmdlet("Get-User", []string{"Identity", "Filter", "RecipientTypeDetails", "ResultSize"}, cmdGetUser)
	registerCmdlet("Get-Mailbox", []string{"Identity", "Filter", "RecipientTypeDetails", "ResultSize"}, cmdGetMailbox)
	registerCmdlet("Get-Recipient", []string{"Identity", "Filter", "RecipientTypeDetails", "RecipientType", "ResultSize"},
		cmdGetRecipient)
	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /v1.0/users/{id}/mailboxSettings", s.handleGetMailboxSettings)
	})
}

// objectNotFound is the recipient cmdlets' 404 text, as InvokeCommand clients report it (the
// domain controller name is made up).
func objectNotFound(id string) *ExoError {
	return NotFound(fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on "+
		"'FAKECLOUD01A001.PROD.OUTLOOK.COM'.", id))
}

// ambiguousIdentity is the error for an -Identity that matches several recipients (text UNCONFIRMED).
func ambiguousIdentity(id string) *ExoError {
	return Invalid("Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException", fmt.Sprintf(
		"The operation couldn't be performed because '%s' matches multiple entries.", id))
}

// moreResultsWarning is the warning of a Get-* cut short by ResultSize.
const moreResultsWarning = "There are more results available than are currently displayed. To view them, increase " +
	"the value for the ResultSize parameter."

// resultSize reads -ResultSize: an integer or "Unlimited" (limit -1); def when absent.
func resultSize(p Params, def int) (int, error) {
	v, err := p.Unlimited("ResultSize", strconv.Itoa(def))
	if err != nil {
		return 0, err
	}
	if v == "Unlimited" {
		return -1, nil
	}
	n, _ := strconv.Atoi(v)
	return n, nil
}

// recipientQuery is what the recipient cmdlets share: the parameters and the candidate set.
// matches applies -RecipientTypeDetails, -RecipientType and -Filter to a recipient object.
func (q *recipientQuery) matches(o map[string]any) (bool, *ExoError) {
	if len(q.details) > 0 && !containsFold(q.details, stringAt(o, "RecipientTypeDetails")) {
		return false, nil
	}
	if len(q.types) > 0 && !containsFold(q.types, stringAt(o, "RecipientType")) {
		return false, nil
	}
	if q.filter == nil {
		return true, nil
	}
	return q.filter.eval(o)
}

type recipientQuery struct {
	cmdlet   string
	identity string
	filter   opathExpr
	details  []string
	types    []string
	limit    int
}

func parseRecipientQuery(cmdlet string, p Params) (*recipientQuery, error) {
	q := &recipientQuery{cmdlet: cmdlet}
	var err error
	if q.identity, err = p.String("Identity"); err != nil {
		return nil, err
	}
	q.identity = strings.TrimSpace(q.identity)
	filter, err := p.String("Filter")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(filter) != "" {
		f, xe := parseOPATH(filter)
		if xe != nil {
			return nil, xe
		}
		q.filter = f
	}
	for _, name := range []string{"RecipientTypeDetails", "RecipientType"} {
		if !p.Has(name) {
			continue
		}
		list, err := p.Strings(name)
		if err != nil {
			return nil, err
		}
		var vals []string
		for _, v := range list {
			for _, part := range strings.Split(v, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				if name == "RecipientTypeDetails" && !containsFold(knownRecipientTypeDetails, part) {
					return nil, Invalid(ParameterBinding, fmt.Sprintf("Cannot process argument transformation on parameter "+
						"'%s'. Cannot convert value \"%s\" to type \"Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails\".",
						name, part))
				}
				vals = append(vals, part)
			}
		}
		if name == "RecipientTypeDetails" {
			q.details = vals
		} else {
			q.types = vals
		}
	}
	if q.limit, err = resultSize(p, 1000); err != nil {
		return nil, err
	}
	return q, nil
}

// matchesIdentity reports whether id names the recipient: ExternalDirectoryObjectId (= Name), the
// mailbox or recipient Guid, UserPrincipalName, an email address, or the alias
// (https://learn.microsoft.com/powershell/module/exchange/get-mailbox, -Identity).
func matchesIdentity(o map[string]any, u User, id string) bool {
	for _, k := range []string{"ExternalDirectoryObjectId", "Guid", "ExchangeGuid", "UserPrincipalName", "PrimarySmtpAddress"} {
		if v := stringAt(o, k); v != "" && strings.EqualFold(v, id) {
			return true
		}
	}
	if strings.EqualFold(u.UserPrincipalName, id) {
		return true
	}
	if list, ok := o["EmailAddresses"].([]string); ok && hasProxyAddress(list, id) {
		return true
	}
	return o["Alias"] != nil && strings.EqualFold(stringAt(o, "Alias"), id)
}

// runRecipientQuery renders the recipients the cmdlet shows and applies the parameters.
func runRecipientQuery(ctx *CmdletContext, q *recipientQuery) ([]map[string]any, error) {
	now := time.Now().UTC()
	type row struct {
		obj   map[string]any
		order time.Time
		id    string
	}
	var rows []row
	var xe *ExoError
	ctx.Read(func(st *State) {
		for _, u := range st.Users {
			if u.Deleted {
				continue
			}
			mb, ok := readyMailboxLocked(st, u, now)
			if !ok && q.cmdlet != "Get-User" {
				continue
			}
			o := recipientJSON(st, u, mb, ok, q.cmdlet)
			if q.identity != "" && !matchesIdentity(o, u, q.identity) {
				continue
			}
			match, err := q.matches(o)
			if err != nil {
				xe = err
				return
			}
			if !match {
				continue
			}
			// Order: mailboxes by the time they appeared, users by creation, so that a listing
			// paged while mailboxes appear only grows at its end.
			order := u.CreatedDateTime
			if ok && q.cmdlet != "Get-User" {
				order = mb.ReadyAt
			}
			rows = append(rows, row{o, order, u.ID})
		}
		if q.cmdlet != "Get-Recipient" {
			return
		}
		// Get-Recipient shows every kind of recipient: the distribution groups too.
		for i, g := range st.DistributionGroups {
			o := groupObject(st, g)
			if q.identity != "" && findGroupLocked(st, q.identity) != i {
				continue
			}
			match, err := q.matches(o)
			if err != nil {
				xe = err
				return
			}
			if !match {
				continue
			}
			rows = append(rows, row{o, g.Created, g.GUID})
		}
	})
	if xe != nil {
		return nil, xe
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].order.Equal(rows[j].order) {
			return rows[i].order.Before(rows[j].order)
		}
		return rows[i].id < rows[j].id
	})
	if q.identity != "" {
		switch len(rows) {
		case 0:
			return nil, objectNotFound(q.identity)
		case 1:
		default:
			return nil, ambiguousIdentity(q.identity)
		}
	}
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.obj)
	}
	if q.limit >= 0 && len(out) > q.limit {
		out = out[:q.limit]
		ctx.Warn("%s", moreResultsWarning)
	}
	return out, nil
}

// cmdGetUser lists directory users, with or without a mailbox.
func cmdGetUser(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	q, err := parseRecipientQuery("Get-User", p)
	if err != nil {
		return nil, err
	}
	return runRecipientQuery(ctx, q)
}

// cmdGetMailbox lists user mailboxes that exist (provisioned).
func cmdGetMailbox(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	q, err := parseRecipientQuery("Get-Mailbox", p)
	if err != nil {
		return nil, err
	}
	return runRecipientQuery(ctx, q)
}

// cmdGetRecipient lists mail recipients; the fake's only recipients are user mailboxes.
func cmdGetRecipient(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	q, err := parseRecipientQuery("Get-Recipient", p)
	if err != nil {
		return nil, err
	}
	return runRecipientQuery(ctx, q)
}

// ---- Graph mailboxSettings -------------------------------------------------------------------

// handleGetMailboxSettings serves GET /users/{id}/mailboxSettings
// (https://learn.microsoft.com/graph/api/user-get-mailboxsettings): 404 MailboxNotEnabledForRESTAPI
// while the user has no mailbox (status 404 as seen by third-party clients, UNCONFIRMED), the
// settings once it exists. The fake does not check permissions (MailboxSettings.Read).
func (s *Server) handleGetMailboxSettings(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("id")
	now := time.Now().UTC()
	var uerr *userError
	var id string
	var ready bool
	s.read(func(st *State) {
		uid, e := s.liveUserLocked(st, key)
		if e != nil {
			uerr = e
			return
		}
		id = uid
		_, ready = readyMailboxLocked(st, st.Users[uid], now)
	})
	if uerr != nil {
		s.writeUserError(w, uerr)
		return
	}
	if !ready {
		graphError(w, http.StatusNotFound, "MailboxNotEnabledForRESTAPI",
			"The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
		return
	}
	day := now.Format("2006-01-02")
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": s.odataContext("users('" + id + "')/mailboxSettings"),
		"archiveFolder":  "AAMkA" + strings.ReplaceAll(derivedGUID(id, "archive"), "-", ""),
		"timeZone":       "UTC",
		"dateFormat":     "M/d/yyyy",
		"timeFormat":     "h:mm tt",
		"userPurpose":    "user",
		"automaticRepliesSetting": map[string]any{
			"status": "disabled", "externalAudience": "all",
			"internalReplyMessage": "", "externalReplyMessage": "",
			"scheduledStartDateTime": map[string]any{"dateTime": day + "T00:00:00.0000000", "timeZone": "UTC"},
			"scheduledEndDateTime":   map[string]any{"dateTime": day + "T01:00:00.0000000", "timeZone": "UTC"},
		},
		"language": map[string]any{"locale": "en-US", "displayName": "English (United States)"},
		"workingHours": map[string]any{
			"daysOfWeek": []string{"monday", "tuesday", "wednesday", "thursday", "friday"},
			"startTime":  "08:00:00.0000000", "endTime": "17:00:00.0000000",
			"timeZone": map[string]any{"name": "UTC"},
		},
		"delegateMeetingMessageDeliveryOptions": "sendToDelegateAndInformationToPrincipal",
	})
}

// ---- test helpers ---------------------------------------------------------------------------

// MailboxReadyAt returns when the mailbox of a user (id or UPN, deleted users included) came into
// existence, and false when it does not exist yet (still provisioning, never, or no Exchange
// Online licence). Acceptance tests compare it with the request log's times.
func (s *Server) MailboxReadyAt(upnOrID string) (time.Time, bool) {
	now := time.Now().UTC()
	var at time.Time
	var ok bool
	s.read(func(st *State) {
		for _, u := range st.Users {
			if !strings.EqualFold(u.ID, upnOrID) && !strings.EqualFold(u.UserPrincipalName, upnOrID) {
				continue
			}
			if mb, has := st.Mailboxes[u.ID]; has && mb.ready(now) {
				at, ok = mb.ReadyAt, true
			}
		}
	})
	return at, ok
}

// MailboxReadyTimes maps the user principal name of every user with a mailbox that exists now to
// when it came into existence (GET /_fake/mailboxes, for drivers that run the fake as a process).
func (s *Server) MailboxReadyTimes() map[string]time.Time {
	now := time.Now().UTC()
	out := map[string]time.Time{}
	s.read(func(st *State) {
		for _, u := range st.Users {
			if mb, has := st.Mailboxes[u.ID]; has && mb.ready(now) {
				out[strings.ToLower(u.UserPrincipalName)] = mb.ReadyAt
			}
		}
	})
	return out
}

// CompleteMailboxProvisioning makes the mailbox of a user (id or UPN) that is provisioning exist
// now, whatever the delay (e.g. after a test of a mailbox that never appears). It fails when the
// user is unknown or has no mailbox provisioning or ready.
func (s *Server) CompleteMailboxProvisioning(upnOrID string) error {
	return s.mutate(func(st *State) error {
		id, ok := lookupUserLocked(st, upnOrID)
		if !ok {
			return fmt.Errorf("fakecloud: no user %q", upnOrID)
		}
		mb, has := st.Mailboxes[id]
		if !has {
			return fmt.Errorf("fakecloud: user %q has no Exchange Online licence, so no mailbox is provisioning", upnOrID)
		}
		now := time.Now().UTC()
		if !mb.ready(now) {
			mb.ReadyAt = now
			st.Mailboxes[id] = mb
		}
		return nil
	})
}
