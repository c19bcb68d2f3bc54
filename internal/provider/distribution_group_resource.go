package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

var (
	_ resource.ResourceWithConfigure   = (*distributionGroupResource)(nil)
	_ resource.ResourceWithImportState = (*distributionGroupResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*distributionGroupResource)(nil)
)

// NewDistributionGroupResource is the m365_distribution_group resource.
func NewDistributionGroupResource() resource.Resource { return &distributionGroupResource{} }

type distributionGroupResource struct{ clients *Clients }

type distributionGroupModel struct {
	ID                   types.String   `tfsdk:"id"`
	Name                 types.String   `tfsdk:"name"`
	PrimarySmtpAddress   types.String   `tfsdk:"primary_smtp_address"`
	Email                types.String   `tfsdk:"email"`
	DisplayName          types.String   `tfsdk:"display_name"`
	Alias                types.String   `tfsdk:"alias"`
	Aliases              types.Set      `tfsdk:"aliases"`
	Members              types.Set      `tfsdk:"members"`
	PendingMembers       types.Set      `tfsdk:"pending_members"`
	PendingDomains       types.Set      `tfsdk:"pending_domains"`
	Owners               types.Set      `tfsdk:"owners"`
	AllowExternalSenders types.Bool     `tfsdk:"allow_external_senders"`
	AcceptOnlyFrom       types.Set      `tfsdk:"accept_messages_only_from"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

// distributionGroupPermissions: the cmdlets are in the Distribution Groups role (Organization
// Management, Recipient Management); BypassSecurityGroupManagerCheck needs Organization
// Management or the Security Group Creation and Membership role
// (https://learn.microsoft.com/powershell/module/exchange/set-distributiongroup).
var distributionGroupPermissions = diagtext.Permissions{
	Graph:    []string{"User.Read.All and Domain.Read.All", "Directory.Read.All"},
	Exchange: diagtext.ExchangeRole + " (the Exchange Administrator role includes Organization Management, which BypassSecurityGroupManagerCheck needs)",
}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func emailSet() validator.Set {
	return setvalidator.ValueStringsAre(stringvalidator.RegexMatches(emailRE, "must be an email address such as li.lei@contoso.com"))
}

func (r *distributionGroupResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_distribution_group"
}

func (r *distributionGroupResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An Exchange Online distribution group (`New/Get/Set/Remove-DistributionGroup`, `Update-DistributionGroupMember`): the Microsoft 365 counterpart of a Tencent Exmail 邮件群组. " +
			"Microsoft Graph cannot create or change distribution groups, so every write goes through Exchange, with `BypassSecurityGroupManagerCheck` (an application is never an owner of the group). " +
			"Membership changes are sent as one `Update-DistributionGroupMember`. At plan time every member must already be a user or a group of the tenant (or be listed in `pending_members`, or be unknown until apply), and the addresses must be on verified domains.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The group's Exchange GUID.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "The unique name (at most 64 characters).",
				Validators: []validator.String{stringvalidator.LengthBetween(1, 64)}},
			"primary_smtp_address": schema.StringAttribute{Required: true, MarkdownDescription: "The group's address, on a verified domain of the tenant, e.g. `sales@contoso.com` (Exmail's `groupid`).",
				Validators: []validator.String{stringvalidator.RegexMatches(emailRE, "must be an email address such as sales@contoso.com")}},
			"email": schema.StringAttribute{Computed: true, MarkdownDescription: "The primary address as Exchange reports it; unknown until the group exists, so `members = [m365_distribution_group.x.email]` nests a group created in the same apply.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"display_name": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "Display name (at most 256 characters); defaults to `name`.",
				Validators: []validator.String{stringvalidator.LengthBetween(1, 256)}, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"alias": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "Exchange alias (mail nickname, at most 64 characters); defaults to the service's choice.",
				Validators:    []validator.String{stringvalidator.LengthBetween(1, 64), stringvalidator.RegexMatches(regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+(\\.[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]+)*$"), "may hold letters, digits and !#$%&'*+-/=?^_`{|}~, with dots only between them")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"aliases": schema.SetAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Secondary addresses (`smtp:` proxy addresses), each on a verified domain. The routing address on the initial domain (`*.onmicrosoft.com`) that Exchange adds is not listed.",
				Validators:          []validator.Set{emailSet()}},
			"members": schema.SetAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Members by address: users (user principal name) and other groups (their primary address). At most 10,000.",
				Validators:          []validator.Set{emailSet(), setvalidator.SizeAtMost(exchange.MaxMembersPerUpdate)}},
			"pending_members": schema.SetAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Members and owners that this same apply creates (e.g. users of `m365_users`): the plan does not require them to exist yet, and the apply waits (within the timeout) until Exchange knows them as recipients. Make this resource depend on the resource that creates them.",
				Validators:          []validator.Set{emailSet()}},
			"pending_domains": schema.SetAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Domains that this same apply adds and verifies: the plan does not require them to be verified yet. Make this resource depend on the `m365_domain_verification`."},
			"owners": schema.SetAttribute{ElementType: types.StringType, Required: true,
				MarkdownDescription: "Owners (`ManagedBy`) by user principal name; at least one. Owners are not members unless listed in `members` too.",
				Validators:          []validator.Set{emailSet(), setvalidator.SizeAtLeast(1)}},
			"allow_external_senders": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Whether people outside the organization may send to the group (`RequireSenderAuthenticationEnabled = !allow_external_senders`; Exchange's default rejects them). Exmail's `allow_type` 1 (anyone) maps to `true`, 0 (company members) to `false`."},
			"accept_messages_only_from": schema.SetAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "When set, only these senders (users, or groups whose members may then send) may send to the group (`AcceptMessagesOnlyFromSendersOrMembers`). Exmail's `allow_type` 2 (group members only) is the group's own address; 3 (listed senders) is its `allow_userlist`. Removing the attribute clears the restriction.",
				Validators:          []validator.Set{emailSet()}},
			"timeouts": timeoutsAttribute(ctx, distributionGroupTimeouts),
		},
	}
}

func (r *distributionGroupResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}

// minus returns the entries of a not in b (case-insensitive).
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y string) bool { return strings.EqualFold(x, y) }) {
			out = append(out, x)
		}
	}
	return out
}

// ModifyPlan checks, before anything is written, that the addresses are on verified domains and
// that every new member and owner is already a user or a group of the tenant.
func (r *distributionGroupResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.clients == nil {
		return
	}
	var plan distributionGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *distributionGroupModel
	if !req.State.Raw.IsNull() {
		state = &distributionGroupModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	g := r.clients.Graph
	attempt := "planning the distribution group " + plan.Name.ValueString()

	// Domains of the primary address and the aliases.
	var addrs []string
	if isSet(plan.PrimarySmtpAddress) && (state == nil || !strings.EqualFold(state.PrimarySmtpAddress.ValueString(), plan.PrimarySmtpAddress.ValueString())) {
		addrs = append(addrs, plan.PrimarySmtpAddress.ValueString())
	}
	var stateAliases []string
	if state != nil {
		stateAliases = setStrings(state.Aliases)
	}
	addrs = append(addrs, minus(setStrings(plan.Aliases), stateAliases)...)
	if len(addrs) > 0 {
		ds, err := r.clients.cache().Domains(ctx, g)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Check Group Domains", attempt+" (GET /domains)", err, distributionGroupPermissions, "")
			return
		}
		bad, status, verified := domainCheck(ds, addrs, setStrings(plan.PendingDomains))
		for _, dom := range sortedKeys(bad) {
			p := path.Root("aliases")
			if slices.ContainsFunc(bad[dom], func(a string) bool { return strings.EqualFold(a, plan.PrimarySmtpAddress.ValueString()) }) {
				p = path.Root("primary_smtp_address")
			}
			diagtext.AttributeError(&resp.Diagnostics, p, "Domain Not Verified", attempt,
				fmt.Sprintf("the domain %s %s; the tenant's verified domains are: %s. Addresses on it: %s", dom, status[dom], verified, listUPNs(bad[dom])),
				"Add and verify the domain first (m365_domain and m365_domain_verification), or use an address on a verified domain. "+
					"If this same apply verifies it, list it in pending_domains and make this resource depend on the m365_domain_verification.")
		}
	}

	// Members and owners that are new to this group must exist now.
	pending := setStrings(plan.PendingMembers)
	var stateMembers, stateOwners []string
	if state != nil {
		stateMembers, stateOwners = setStrings(state.Members), setStrings(state.Owners)
	}
	check := func(attr string, list types.Set, old []string, groupsToo bool) {
		if list.IsUnknown() {
			return
		}
		fresh := minus(minus(setStrings(list), old), pending)
		if len(fresh) == 0 {
			return
		}
		missing, unlicensed, err := r.missingRecipients(ctx, fresh, groupsToo)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Check Group Members", attempt+" (looking up its "+attr+")", err, distributionGroupPermissions, "")
			return
		}
		if len(unlicensed) > 0 {
			// Without a licence Exchange Online never gives the user a mailbox, so it can never be
			// a recipient: the apply would wait for it until its timeout.
			diagtext.AttributeError(&resp.Diagnostics, path.Root(attr), "Member Has No Mailbox", attempt,
				fmt.Sprintf("%d users have no licence, so Exchange Online gives them no mailbox and they cannot be in a distribution group: %s", len(unlicensed), listUPNs(unlicensed)),
				"License them with a plan that includes Exchange Online (m365_users licenses), or leave them out.")
		}
		if len(missing) == 0 {
			return
		}
		what := "users or distribution groups"
		if !groupsToo {
			what = "users"
		}
		summary := "Member Not Found"
		switch attr {
		case "owners":
			summary = "Owner Not Found"
		case "accept_messages_only_from":
			summary = "Sender Not Found"
		}
		diagtext.AttributeError(&resp.Diagnostics, path.Root(attr), summary, attempt,
			fmt.Sprintf("%d of the addresses are not %s of the tenant: %s", len(missing), what, listUPNs(missing)),
			"Create them first, or in this same apply: reference the resource that creates them (an unknown value is checked at apply), or list them in pending_members and add depends_on. Check the spelling against the user principal names.")
	}
	check("members", plan.Members, stateMembers, true)
	check("owners", plan.Owners, stateOwners, false)
	var stateAccept []string
	if state != nil {
		stateAccept = setStrings(state.AcceptOnlyFrom)
	}
	if isSet(plan.PrimarySmtpAddress) {
		// The group itself (Exmail's "members only") is created by this resource.
		stateAccept = append(stateAccept, plan.PrimarySmtpAddress.ValueString())
	}
	check("accept_messages_only_from", plan.AcceptOnlyFrom, stateAccept, true)
}

// missingRecipients returns the addresses that are neither a user (Graph, by user principal name)
// nor, when groupsToo, an Exchange distribution group.
//
// unlicensed are users without any licence: they exist but can never be a mail recipient.
func (r *distributionGroupResource) missingRecipients(ctx context.Context, addrs []string, groupsToo bool) (missing, unlicensed []string, err error) {
	users, err := listExisting(ctx, r.clients.Graph, addrs)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range addrs {
		if u, ok := users[strings.ToLower(a)]; ok {
			if len(u.AssignedLicenses) == 0 {
				unlicensed = append(unlicensed, a)
			}
			continue
		}
		if groupsToo {
			_, err := r.clients.Exchange.GetDistributionGroup(ctx, a)
			if err == nil {
				continue
			}
			if !exchange.IsNotFound(err) {
				return nil, nil, err
			}
		}
		missing = append(missing, a)
	}
	return missing, unlicensed, nil
}

// waitRecipients retries a write that the service refuses with not-found (a group just created,
// or a pending member whose mailbox is still being provisioned) until the context ends.
func waitRecipients(ctx context.Context, what string, call func(ctx context.Context) error) error {
	return httpx.Poll(ctx, what, exchange.IsNotFound, func(ctx context.Context) (bool, error) {
		err := call(ctx)
		return err == nil, err
	})
}

func (r *distributionGroupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m distributionGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Create(ctx, distributionGroupTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	exo := r.clients.Exchange
	name := m.Name.ValueString()
	rsa := !m.AllowExternalSenders.ValueBool()
	p := exchange.NewDistributionGroupParams{
		Name: name, DisplayName: m.DisplayName.ValueString(), Alias: m.Alias.ValueString(),
		PrimarySmtpAddress: m.PrimarySmtpAddress.ValueString(), ManagedBy: setStrings(m.Owners), Members: setStrings(m.Members),
		RequireSenderAuthenticationEnabled: &rsa,
	}
	var created *exchange.DistributionGroup
	err := waitRecipients(ctx, "the members of "+name+" to be recipients", func(ctx context.Context) error {
		var err error
		created, err = exo.NewDistributionGroup(ctx, p)
		return err
	})
	if err != nil {
		next := ""
		if exchange.IsKind(err, exchange.KindAlreadyExists) || exchange.IsKind(err, exchange.KindAddressTaken) {
			next = fmt.Sprintf("The name or an address is taken. If the group already exists, import it:\n\n  terraform import <address of this m365_distribution_group> %s", p.PrimarySmtpAddress)
		}
		diagtext.APIError(&resp.Diagnostics, "Cannot Create Distribution Group", "creating the distribution group "+name, err, distributionGroupPermissions, next)
		return
	}
	id := firstNonEmpty(created.GUID, p.PrimarySmtpAddress)
	m.ID = types.StringValue(id)
	// Saved now: a failure below leaves the group in state for the next apply to converge.
	m.Email = types.StringValue(firstNonEmpty(created.PrimarySmtpAddress, p.PrimarySmtpAddress))
	if m.DisplayName.IsUnknown() {
		m.DisplayName = types.StringValue(firstNonEmpty(created.DisplayName, name))
	}
	if m.Alias.IsUnknown() {
		m.Alias = types.StringValue(created.Alias)
	}
	aliases, accept := setStrings(m.Aliases), setStrings(m.AcceptOnlyFrom)
	if len(aliases) > 0 || len(accept) > 0 {
		set := exchange.SetDistributionGroupParams{Identity: id, AddAddresses: aliases}
		if len(accept) > 0 {
			set.AcceptMessagesOnlyFromSendersOrMembers = accept
		}
		err := waitRecipients(ctx, "the new group "+name+" to be readable", func(ctx context.Context) error {
			return exo.SetDistributionGroup(ctx, set)
		})
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Complete Distribution Group", "setting the secondary addresses and allowed senders of "+name, err, distributionGroupPermissions, "")
		}
	}
	r.read(ctx, &m, &resp.Diagnostics, true)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// read refreshes m from the service; gone reports a group that no longer exists.
func (r *distributionGroupResource) read(ctx context.Context, m *distributionGroupModel, diags *diagList, afterWrite bool) (gone bool) {
	exo := r.clients.Exchange
	id := m.ID.ValueString()
	var g *exchange.DistributionGroup
	get := func(ctx context.Context) (bool, error) {
		var err error
		g, err = exo.GetDistributionGroup(ctx, id)
		return err == nil, err
	}
	var err error
	if afterWrite {
		err = exchange.WaitUntil(ctx, get) // a new group may 404 for a while on another backend
	} else {
		_, err = get(ctx)
	}
	if exchange.IsNotFound(err) && !afterWrite {
		return true
	}
	if err != nil {
		diagtext.APIError(diags, "Cannot Read Distribution Group", "reading the distribution group "+id, err, distributionGroupPermissions, "")
		return false
	}
	members, err := exo.GetDistributionGroupMember(ctx, firstNonEmpty(g.GUID, id))
	if err != nil {
		diagtext.APIError(diags, "Cannot Read Group Members", "reading the members of "+g.Name, err, distributionGroupPermissions, "")
		return false
	}
	m.ID = types.StringValue(firstNonEmpty(g.GUID, id))
	m.Name = types.StringValue(g.Name)
	m.DisplayName = types.StringValue(g.DisplayName)
	m.Alias = types.StringValue(g.Alias)
	m.Email = types.StringValue(g.PrimarySmtpAddress)
	if !strings.EqualFold(m.PrimarySmtpAddress.ValueString(), g.PrimarySmtpAddress) {
		m.PrimarySmtpAddress = types.StringValue(g.PrimarySmtpAddress)
	}
	m.AllowExternalSenders = types.BoolValue(!g.RequireSenderAuthenticationEnabled)
	var aliases []string
	for _, a := range g.SecondaryAddresses() {
		if !isInitialDomainAddress(a) {
			aliases = append(aliases, a)
		}
	}
	m.Aliases = keepCase(m.Aliases, aliases)
	addrs := make([]string, 0, len(members))
	for _, x := range members {
		addrs = append(addrs, x.PrimarySmtpAddress)
	}
	m.Members = keepCase(m.Members, addrs)
	// Exchange lists owners and allowed senders by recipient name, not address: keep the
	// configured addresses while they still match the names one for one.
	m.Owners = byName(m.Owners, g.ManagedBy)
	m.AcceptOnlyFrom = byName(m.AcceptOnlyFrom, g.AcceptMessagesOnlyFromSendersOrMembers)
	if m.PendingMembers.IsUnknown() {
		m.PendingMembers = types.SetNull(types.StringType)
	}
	if m.PendingDomains.IsUnknown() {
		m.PendingDomains = types.SetNull(types.StringType)
	}
	return false
}

// byName keeps the configured addresses while the service's names match them one for one (a
// user's or group's name is usually the part before the @); otherwise it returns the names.
func byName(prior types.Set, names []string) types.Set {
	configured := setStrings(prior)
	match := len(configured) == len(names)
	for _, o := range configured {
		match = match && slices.ContainsFunc(names, func(n string) bool {
			return strings.EqualFold(n, o) || strings.EqualFold(n, users.UPNLocal(o))
		})
	}
	switch {
	case match && !prior.IsUnknown():
		return prior
	case len(names) == 0 && (prior.IsNull() || prior.IsUnknown()):
		return types.SetNull(types.StringType)
	}
	return stringSet(names)
}

// isInitialDomainAddress: the routing address Exchange adds on the tenant's initial domain.
func isInitialDomainAddress(a string) bool {
	d := upnDomain(a)
	for _, suffix := range []string{".onmicrosoft.com", ".onmicrosoft.us", ".onmschina.cn"} {
		if strings.HasSuffix(d, suffix) {
			return true
		}
	}
	return false
}

// keepCase returns the service's list, spelled as in prior when they are equal but for case
// (a null prior stays null when the list is empty).
func keepCase(prior types.Set, got []string) types.Set {
	if !prior.IsUnknown() && sameStrings(setStrings(prior), got) {
		return prior
	}
	return stringSet(lowerAll(got))
}

func (r *distributionGroupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m distributionGroupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, distributionGroupTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if r.read(ctx, &m, &resp.Diagnostics, false) {
		tflog.Info(ctx, "distribution group no longer exists; removing it from state", map[string]any{"id": m.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *distributionGroupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state distributionGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, distributionGroupTimeouts.Update)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	exo := r.clients.Exchange
	id := state.ID.ValueString()
	plan.ID = state.ID
	changed := func(a, b types.String) *string {
		if a.IsUnknown() || a.ValueString() == b.ValueString() {
			return nil
		}
		v := a.ValueString()
		return &v
	}
	set := exchange.SetDistributionGroupParams{
		Identity: id, Name: changed(plan.Name, state.Name), DisplayName: changed(plan.DisplayName, state.DisplayName),
		Alias:        changed(plan.Alias, state.Alias),
		AddAddresses: minus(setStrings(plan.Aliases), setStrings(state.Aliases)), RemoveAddresses: minus(setStrings(state.Aliases), setStrings(plan.Aliases)),
	}
	if !strings.EqualFold(plan.PrimarySmtpAddress.ValueString(), state.PrimarySmtpAddress.ValueString()) {
		set.PrimarySmtpAddress = changed(plan.PrimarySmtpAddress, state.PrimarySmtpAddress)
	}
	if !sameStrings(setStrings(plan.Owners), setStrings(state.Owners)) {
		set.ManagedBy = setStrings(plan.Owners)
	}
	if !sameStrings(setStrings(plan.AcceptOnlyFrom), setStrings(state.AcceptOnlyFrom)) {
		set.AcceptMessagesOnlyFromSendersOrMembers = append([]string{}, setStrings(plan.AcceptOnlyFrom)...)
	}
	if plan.AllowExternalSenders.ValueBool() != state.AllowExternalSenders.ValueBool() {
		rsa := !plan.AllowExternalSenders.ValueBool()
		set.RequireSenderAuthenticationEnabled = &rsa
	}
	if set.PrimarySmtpAddress != nil && (len(set.AddAddresses) > 0 || len(set.RemoveAddresses) > 0) {
		// PrimarySmtpAddress and EmailAddresses can't be sent together: two calls.
		primary := exchange.SetDistributionGroupParams{Identity: id, PrimarySmtpAddress: set.PrimarySmtpAddress}
		if err := exo.SetDistributionGroup(ctx, primary); err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Update Distribution Group", "changing the primary address of "+id, err, distributionGroupPermissions, "")
			return
		}
		set.PrimarySmtpAddress = nil
	}
	if err := exo.SetDistributionGroup(ctx, set); err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Update Distribution Group", "changing the distribution group "+state.Name.ValueString(), err, distributionGroupPermissions, "")
		return
	}
	if !sameStrings(setStrings(plan.Members), setStrings(state.Members)) {
		members := setStrings(plan.Members)
		err := waitRecipients(ctx, "the members of "+id+" to be recipients", func(ctx context.Context) error {
			return exo.UpdateDistributionGroupMember(ctx, id, members)
		})
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Update Group Members", fmt.Sprintf("replacing the members of %s (%d members, one Update-DistributionGroupMember)", state.Name.ValueString(), len(members)), err, distributionGroupPermissions,
				"Check that every member is a mail-enabled user or group of the tenant.")
			return
		}
	}
	r.read(ctx, &plan, &resp.Diagnostics, true)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *distributionGroupResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m distributionGroupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, distributionGroupTimeouts.Delete)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := r.clients.Exchange.RemoveDistributionGroup(ctx, m.ID.ValueString())
	if err != nil && !exchange.IsNotFound(err) {
		diagtext.APIError(&resp.Diagnostics, "Cannot Delete Distribution Group", "removing the distribution group "+m.Name.ValueString(), err, distributionGroupPermissions, "")
	}
}

// ImportState takes the group's address (or name, or GUID).
func (r *distributionGroupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := strings.TrimSpace(req.ID)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("primary_smtp_address"), id)...)
}
