package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
)

var (
	_ resource.ResourceWithConfigure      = (*imapMigrationEndpointResource)(nil)
	_ resource.ResourceWithImportState    = (*imapMigrationEndpointResource)(nil)
	_ resource.ResourceWithValidateConfig = (*imapMigrationEndpointResource)(nil)
)

// NewIMAPMigrationEndpointResource is the m365_imap_migration_endpoint resource.
func NewIMAPMigrationEndpointResource() resource.Resource { return &imapMigrationEndpointResource{} }

type imapMigrationEndpointResource struct{ clients *Clients }

// migrationPermissions is what every migration cmdlet needs.
var migrationPermissions = diagtext.Permissions{Exchange: diagtext.ExchangeRole}

// Service defaults of New-MigrationEndpoint (https://learn.microsoft.com/powershell/module/exchangepowershell/new-migrationendpoint).
const (
	defaultMaxConcurrentMigrations       = 100
	defaultMaxConcurrentIncrementalSyncs = 20
)

type imapMigrationEndpointModel struct {
	ID                            types.String   `tfsdk:"id"`
	Name                          types.String   `tfsdk:"name"`
	RemoteServer                  types.String   `tfsdk:"remote_server"`
	Port                          types.Int64    `tfsdk:"port"`
	Security                      types.String   `tfsdk:"security"`
	Authentication                types.String   `tfsdk:"authentication"`
	AcceptUntrustedCertificates   types.Bool     `tfsdk:"accept_untrusted_certificates"`
	MaxConcurrentMigrations       types.Int64    `tfsdk:"max_concurrent_migrations"`
	MaxConcurrentIncrementalSyncs types.Int64    `tfsdk:"max_concurrent_incremental_syncs"`
	SkipVerification              types.Bool     `tfsdk:"skip_verification"`
	GUID                          types.String   `tfsdk:"guid"`
	ActiveMigrationCount          types.Int64    `tfsdk:"active_migration_count"`
	ActiveIncrementalSyncCount    types.Int64    `tfsdk:"active_incremental_sync_count"`
	Timeouts                      timeouts.Value `tfsdk:"timeouts"`
}

func (r *imapMigrationEndpointResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_imap_migration_endpoint"
}

func (r *imapMigrationEndpointResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	concurrency := []validator.Int64{int64validator.Any(int64validator.AtLeast(1), int64validator.OneOf(exchange.Unlimited))}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An Exchange Online IMAP migration endpoint (`New-MigrationEndpoint -IMAP`): the source IMAP server that " +
			"`m365_migration_batch` copies mail from, e.g. Tencent Exmail's `imap.exmail.qq.com:993` with SSL. Changes are applied in place " +
			"with `Set-MigrationEndpoint`, except `name`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The endpoint's name.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{
				Required: true, MarkdownDescription: "Name of the endpoint, used by `m365_migration_batch.source_endpoint`. Changing it replaces the endpoint.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.LengthBetween(1, 256)},
			},
			"remote_server": schema.StringAttribute{
				Required: true, MarkdownDescription: "The source IMAP server's host name, e.g. `imap.exmail.qq.com`.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"port": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(993),
				MarkdownDescription: "IMAP port. Default `993`.", Validators: []validator.Int64{int64validator.Between(1, 65535)},
			},
			"security": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("Ssl"),
				MarkdownDescription: "`Ssl` (implicit TLS, default), `Tls` (STARTTLS) or `None`. Always sent: the service's own default is not documented.",
				Validators:          []validator.String{stringvalidator.OneOf(securityValues...)},
			},
			"authentication": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("Basic"),
				MarkdownDescription: "`Basic` (default) or `Ntlm`.", Validators: []validator.String{stringvalidator.OneOf("Basic", "Ntlm")},
			},
			"accept_untrusted_certificates": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Accept the server's certificate even when it is not trusted. Microsoft recommends against it in production. Default `false`.",
			},
			"max_concurrent_migrations": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(defaultMaxConcurrentMigrations),
				MarkdownDescription: "Mailboxes migrated at once during the initial sync. Default `100`; `-1` means Unlimited.",
				Validators:          concurrency,
			},
			"max_concurrent_incremental_syncs": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(defaultMaxConcurrentIncrementalSyncs),
				MarkdownDescription: "Incremental syncs at once. Default `20`; `-1` means Unlimited. Must not exceed `max_concurrent_migrations` (checked at plan time).",
				Validators:          concurrency,
			},
			"skip_verification": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Create or change the endpoint without the service first connecting to the server. Default `false`: " +
					"Exchange Online checks that it can reach the server, and refuses the endpoint otherwise.",
			},
			"guid": schema.StringAttribute{Computed: true, MarkdownDescription: "The endpoint's GUID.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"active_migration_count": schema.Int64Attribute{
				Computed: true, MarkdownDescription: "Mailboxes in their initial sync through this endpoint, at the last refresh.",
			},
			"active_incremental_sync_count": schema.Int64Attribute{
				Computed: true, MarkdownDescription: "Incremental syncs running through this endpoint, at the last refresh.",
			},
			"timeouts": timeoutsAttribute(ctx, migrationEndpointTimeouts),
		},
	}
}

func (r *imapMigrationEndpointResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks max_concurrent_incremental_syncs ≤ max_concurrent_migrations, with the
// service defaults for the one not set.
func (r *imapMigrationEndpointResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m imapMigrationEndpointModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.MaxConcurrentMigrations.IsUnknown() || m.MaxConcurrentIncrementalSyncs.IsUnknown() {
		return
	}
	mig, inc := int64(defaultMaxConcurrentMigrations), int64(defaultMaxConcurrentIncrementalSyncs)
	if !m.MaxConcurrentMigrations.IsNull() {
		mig = m.MaxConcurrentMigrations.ValueInt64()
	}
	if !m.MaxConcurrentIncrementalSyncs.IsNull() {
		inc = m.MaxConcurrentIncrementalSyncs.ValueInt64()
	}
	if incrementalExceeds(inc, mig) {
		resp.Diagnostics.AddAttributeError(path.Root("max_concurrent_incremental_syncs"), "Too Many Incremental Syncs",
			fmt.Sprintf("While checking the endpoint, max_concurrent_incremental_syncs (%s) is greater than max_concurrent_migrations (%s); "+
				"Exchange Online requires it to be less than or equal.\n\nLower max_concurrent_incremental_syncs or raise max_concurrent_migrations (unset, they are 20 and 100).",
				unlimitedText(inc), unlimitedText(mig)))
	}
}

// incrementalExceeds applies the service's rule with -1 as Unlimited.
func incrementalExceeds(inc, mig int64) bool {
	switch {
	case mig == exchange.Unlimited:
		return false
	case inc == exchange.Unlimited:
		return true
	}
	return inc > mig
}

func unlimitedText(n int64) string {
	if n == exchange.Unlimited {
		return "Unlimited"
	}
	return fmt.Sprint(n)
}

func (r *imapMigrationEndpointResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan imapMigrationEndpointModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, migrationEndpointTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := plan.Name.ValueString()
	mig, inc := plan.MaxConcurrentMigrations.ValueInt64(), plan.MaxConcurrentIncrementalSyncs.ValueInt64()
	_, err := r.clients.Exchange.NewMigrationEndpoint(ctx, exchange.NewEndpointParams{
		Name: name, RemoteServer: plan.RemoteServer.ValueString(), Port: plan.Port.ValueInt64(),
		Security: plan.Security.ValueString(), Authentication: plan.Authentication.ValueString(),
		AcceptUntrustedCertificates: plan.AcceptUntrustedCertificates.ValueBool(),
		MaxConcurrentMigrations:     &mig, MaxConcurrentIncrementalSyncs: &inc,
		SkipVerification: plan.SkipVerification.ValueBool(),
	})
	if err != nil {
		attempt := fmt.Sprintf("creating the IMAP migration endpoint %s for %s:%d (New-MigrationEndpoint)", name, plan.RemoteServer.ValueString(), plan.Port.ValueInt64())
		switch {
		case exchange.IsKind(err, exchange.KindAlreadyExists):
			diagtext.Error(&resp.Diagnostics, "Migration Endpoint Already Exists", attempt, err.Error(),
				fmt.Sprintf("Import it instead of creating it:\n\n  terraform import <address of this m365_imap_migration_endpoint> %s", name))
		case exchange.IsKind(err, exchange.KindValidation) && !plan.SkipVerification.ValueBool():
			diagtext.Error(&resp.Diagnostics, "Cannot Create Migration Endpoint", attempt, err.Error(),
				"Exchange Online connects to the IMAP server before it creates the endpoint. Check remote_server, port and security, "+
					"that the server is reachable from the internet and that its certificate is trusted (or set accept_untrusted_certificates). "+
					"skip_verification = true creates the endpoint without the check.")
		default:
			diagtext.APIError(&resp.Diagnostics, "Cannot Create Migration Endpoint", attempt, err, migrationPermissions, "")
		}
		return
	}
	plan.ID = types.StringValue(name)
	// A new endpoint may answer not-found for a while: wait until it can be read.
	gone := r.refresh(ctx, &plan, &resp.Diagnostics, true)
	if gone || resp.Diagnostics.HasError() {
		// Keep what was created in state so that the next apply converges.
		fillEndpointUnknowns(&plan)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// fillEndpointUnknowns replaces computed unknowns by empty values.
func fillEndpointUnknowns(m *imapMigrationEndpointModel) {
	if m.GUID.IsUnknown() {
		m.GUID = types.StringValue("")
	}
	if m.ActiveMigrationCount.IsUnknown() {
		m.ActiveMigrationCount = types.Int64Value(0)
	}
	if m.ActiveIncrementalSyncCount.IsUnknown() {
		m.ActiveIncrementalSyncCount = types.Int64Value(0)
	}
}

// refresh reads the endpoint into m. With create set, not-found is replication lag and is waited
// out; otherwise it means the endpoint is gone.
func (r *imapMigrationEndpointResource) refresh(ctx context.Context, m *imapMigrationEndpointModel, diags *diagList, create bool) (gone bool) {
	name := m.ID.ValueString()
	var ep *exchange.Endpoint
	err := exchange.WaitUntil(ctx, func(ctx context.Context) (bool, error) {
		var err error
		ep, err = r.clients.Exchange.GetMigrationEndpoint(ctx, name)
		if err != nil && exchange.IsNotFound(err) && !create {
			return true, nil
		}
		return err == nil, err
	})
	if err != nil {
		diagtext.APIError(diags, "Cannot Read Migration Endpoint", "reading the IMAP migration endpoint "+name+" (Get-MigrationEndpoint)", err, migrationPermissions, "")
		return false
	}
	if ep == nil {
		return true
	}
	if ep.EndpointType != "" && !strings.EqualFold(ep.EndpointType, "IMAP") {
		diagtext.Error(diags, "Not An IMAP Endpoint", "reading the migration endpoint "+name,
			"its type is "+ep.EndpointType, "m365_imap_migration_endpoint manages IMAP endpoints only; remove this one from the configuration or import an IMAP endpoint.")
		return false
	}
	m.Name = types.StringValue(ep.Identity)
	m.RemoteServer = types.StringValue(ep.RemoteServer)
	if ep.Port != 0 {
		m.Port = types.Int64Value(ep.Port)
	}
	if ep.Security != "" {
		m.Security = types.StringValue(canonical(ep.Security, securityValues))
	}
	if ep.Authentication != "" {
		m.Authentication = types.StringValue(canonical(ep.Authentication, []string{"Basic", "Ntlm"}))
	}
	m.AcceptUntrustedCertificates = types.BoolValue(ep.AcceptUntrustedCertificates)
	m.MaxConcurrentMigrations = types.Int64Value(ep.MaxConcurrentMigrations)
	m.MaxConcurrentIncrementalSyncs = types.Int64Value(ep.MaxConcurrentIncrementalSyncs)
	m.GUID = types.StringValue(ep.GUID)
	m.ActiveMigrationCount = types.Int64Value(ep.ActiveMigrationCount)
	m.ActiveIncrementalSyncCount = types.Int64Value(ep.ActiveIncrementalSyncCount)
	if m.SkipVerification.IsNull() || m.SkipVerification.IsUnknown() {
		m.SkipVerification = types.BoolValue(false)
	}
	return false
}

// canonical returns the spelling of v in values (case-insensitive), or v.
func canonical(v string, values []string) string {
	for _, c := range values {
		if strings.EqualFold(v, c) {
			return c
		}
	}
	return v
}

func (r *imapMigrationEndpointResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m imapMigrationEndpointModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, migrationEndpointTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if gone := r.refresh(ctx, &m, &resp.Diagnostics, false); gone {
		tflog.Info(ctx, "migration endpoint no longer exists; removing it from state", map[string]any{"endpoint": m.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *imapMigrationEndpointResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state imapMigrationEndpointModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, migrationEndpointTimeouts.Update)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plan.ID = state.ID
	name := state.ID.ValueString()
	p := exchange.SetEndpointParams{Identity: name, SkipVerification: plan.SkipVerification.ValueBool()}
	changed := false
	if !plan.RemoteServer.Equal(state.RemoteServer) {
		v := plan.RemoteServer.ValueString()
		p.RemoteServer, changed = &v, true
	}
	if !plan.Port.Equal(state.Port) {
		v := plan.Port.ValueInt64()
		p.Port, changed = &v, true
	}
	if !plan.Security.Equal(state.Security) {
		v := plan.Security.ValueString()
		p.Security, changed = &v, true
	}
	if !plan.Authentication.Equal(state.Authentication) {
		v := plan.Authentication.ValueString()
		p.Authentication, changed = &v, true
	}
	if !plan.AcceptUntrustedCertificates.Equal(state.AcceptUntrustedCertificates) {
		v := plan.AcceptUntrustedCertificates.ValueBool()
		p.AcceptUntrustedCertificates, changed = &v, true
	}
	if !plan.MaxConcurrentMigrations.Equal(state.MaxConcurrentMigrations) {
		v := plan.MaxConcurrentMigrations.ValueInt64()
		p.MaxConcurrentMigrations, changed = &v, true
	}
	if !plan.MaxConcurrentIncrementalSyncs.Equal(state.MaxConcurrentIncrementalSyncs) {
		v := plan.MaxConcurrentIncrementalSyncs.ValueInt64()
		p.MaxConcurrentIncrementalSyncs, changed = &v, true
	}
	if changed {
		warnings, err := r.clients.Exchange.SetMigrationEndpoint(ctx, p)
		if err != nil {
			next := ""
			if exchange.IsKind(err, exchange.KindValidation) && !plan.SkipVerification.ValueBool() {
				next = "If the service could not connect to the new server settings, check them, or set skip_verification = true."
			}
			diagtext.APIError(&resp.Diagnostics, "Cannot Update Migration Endpoint", "changing the IMAP migration endpoint "+name+" (Set-MigrationEndpoint)", err, migrationPermissions, next)
			return
		}
		for _, w := range warnings {
			tflog.Info(ctx, "Set-MigrationEndpoint warning", map[string]any{"endpoint": name, "warning": w})
		}
		// Wait until a read shows the change (read-after-write consistency).
		err = exchange.WaitUntil(ctx, func(ctx context.Context) (bool, error) {
			ep, err := r.clients.Exchange.GetMigrationEndpoint(ctx, name)
			if err != nil {
				return false, err
			}
			return endpointMatches(ep, plan), nil
		})
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Migration Endpoint Change Not Visible", "waiting for the endpoint "+name+" to show the new settings", err, migrationPermissions, "Retry the apply.")
			return
		}
	}
	r.refresh(ctx, &plan, &resp.Diagnostics, false)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// endpointMatches reports whether the service shows the planned settings.
func endpointMatches(ep *exchange.Endpoint, m imapMigrationEndpointModel) bool {
	return strings.EqualFold(ep.RemoteServer, m.RemoteServer.ValueString()) && ep.Port == m.Port.ValueInt64() &&
		strings.EqualFold(ep.Security, m.Security.ValueString()) && strings.EqualFold(ep.Authentication, m.Authentication.ValueString()) &&
		ep.AcceptUntrustedCertificates == m.AcceptUntrustedCertificates.ValueBool() &&
		ep.MaxConcurrentMigrations == m.MaxConcurrentMigrations.ValueInt64() && ep.MaxConcurrentIncrementalSyncs == m.MaxConcurrentIncrementalSyncs.ValueInt64()
}

func (r *imapMigrationEndpointResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m imapMigrationEndpointModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, migrationEndpointTimeouts.Delete)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := m.ID.ValueString()
	if err := r.clients.Exchange.RemoveMigrationEndpoint(ctx, name); err != nil && !exchange.IsNotFound(err) {
		diagtext.APIError(&resp.Diagnostics, "Cannot Delete Migration Endpoint", "removing the IMAP migration endpoint "+name+" (Remove-MigrationEndpoint)", err, migrationPermissions,
			"An endpoint cannot be removed while a migration batch uses it: remove the batches first (a reference from m365_migration_batch.source_endpoint makes Terraform do so).")
		return
	}
	err := exchange.WaitUntil(ctx, func(ctx context.Context) (bool, error) {
		_, err := r.clients.Exchange.GetMigrationEndpoint(ctx, name)
		if exchange.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Migration Endpoint Deletion Not Finished", "waiting for the endpoint "+name+" to disappear", err, migrationPermissions, "Raise timeouts.delete, then destroy again.")
	}
}

func (r *imapMigrationEndpointResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.TrimSpace(req.ID)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("skip_verification"), false)...)
}
