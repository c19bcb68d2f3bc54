// Package provider is the Terraform layer of terraform-provider-m365: schemas, models and the
// glue between Terraform's plan/apply and the clients in internal/graph and internal/exchange.
// Nothing here speaks HTTP.
package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/auth"
	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var (
	_ provider.Provider                       = (*m365Provider)(nil)
	_ provider.ProviderWithEphemeralResources = (*m365Provider)(nil)
	_ provider.ProviderWithValidateConfig     = (*m365Provider)(nil)
)

// New returns the provider factory for the given version ("dev", "test" or a release).
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &m365Provider{version: version} }
}

type m365Provider struct {
	version string
}

type providerModel struct {
	Environment               types.String    `tfsdk:"environment"`
	TenantID                  types.String    `tfsdk:"tenant_id"`
	ClientID                  types.String    `tfsdk:"client_id"`
	ClientSecret              types.String    `tfsdk:"client_secret"`
	ClientCertificate         types.String    `tfsdk:"client_certificate"`
	ClientCertificatePath     types.String    `tfsdk:"client_certificate_path"`
	ClientCertificatePassword types.String    `tfsdk:"client_certificate_password"`
	UseOIDC                   types.Bool      `tfsdk:"use_oidc"`
	OIDCToken                 types.String    `tfsdk:"oidc_token"`
	OIDCTokenFilePath         types.String    `tfsdk:"oidc_token_file_path"`
	UseMSI                    types.Bool      `tfsdk:"use_msi"`
	UseCLI                    types.Bool      `tfsdk:"use_cli"`
	Endpoints                 *endpointsModel `tfsdk:"endpoints"`
	Exmail                    *exmailModel    `tfsdk:"exmail"`
}

type endpointsModel struct {
	Login    types.String `tfsdk:"login"`
	Graph    types.String `tfsdk:"graph"`
	Exchange types.String `tfsdk:"exchange"`
}

func (p *m365Provider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "m365"
	resp.Version = p.version
}

func (p *m365Provider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	hostURL := []validator.String{validators.HTTPSURL()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Moves a company's mail from Tencent Exmail or any IMAP host to Microsoft 365 (worldwide, Office 365 operated by 21Vianet, or US Government).",
		Attributes: map[string]schema.Attribute{
			"environment": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("The Microsoft cloud of the tenant. Valid values: `%s`. Defaults to `global`, or the `ARM_ENVIRONMENT` environment variable. "+
					"`china` is Office 365 operated by 21Vianet.", strings.Join(cloud.Names(), "`, `")),
				Validators: []validator.String{stringvalidator.OneOfCaseInsensitive(cloud.Names()...)},
			},
			"tenant_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The tenant ID (GUID) or its initial domain. Falls back to `ARM_TENANT_ID`, then `AZURE_TENANT_ID`.",
			},
			"client_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The application (client) ID of the app registration. Falls back to `ARM_CLIENT_ID`, then `AZURE_CLIENT_ID`.",
			},
			"client_secret": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "A client secret of the app registration. Falls back to `ARM_CLIENT_SECRET`, then `AZURE_CLIENT_SECRET`. Prefer the environment variable so the secret is not in configuration.",
			},
			"client_certificate": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "A client certificate with its private key: PEM text, or the base64 of a PFX file. Falls back to `ARM_CLIENT_CERTIFICATE`. Conflicts with `client_certificate_path`.",
				Validators:          []validator.String{stringvalidator.ConflictsWith(path.MatchRoot("client_certificate_path"))},
			},
			"client_certificate_path": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Path to a PEM or PFX client certificate with its private key. Falls back to `ARM_CLIENT_CERTIFICATE_PATH`, then `AZURE_CLIENT_CERTIFICATE_PATH`.",
			},
			"client_certificate_password": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "The password of the PFX file, if any. Falls back to `ARM_CLIENT_CERTIFICATE_PASSWORD`, then `AZURE_CLIENT_CERTIFICATE_PASSWORD`.",
			},
			"use_oidc": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Authenticate with a federated (OIDC / workload identity) token, e.g. from GitHub Actions or Kubernetes. Falls back to `ARM_USE_OIDC`.",
			},
			"oidc_token": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "The federated token itself. Falls back to `ARM_OIDC_TOKEN`.",
			},
			"oidc_token_file_path": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "A file holding the federated token, re-read at every token request. Falls back to `ARM_OIDC_TOKEN_FILE_PATH`, then `AZURE_FEDERATED_TOKEN_FILE`.",
			},
			"use_msi": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Authenticate with the managed identity of the machine running Terraform; `client_id` selects a user-assigned identity. Falls back to `ARM_USE_MSI`.",
			},
			"use_cli": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Authenticate with the account signed in to the Azure CLI (`az login`). Falls back to `ARM_USE_CLI`. Exchange cmdlets need an application token, so use it only for Graph-only configurations.",
			},
		},
		Blocks: map[string]schema.Block{
			"endpoints": schema.SingleNestedBlock{
				MarkdownDescription: "Overrides of the cloud's hosts, for a proxy, a sovereign cloud whose hosts changed, or a local emulator. Give host roots like the cloud's own; the provider appends `/{tenant}/oauth2/v2.0/token`, `/v1.0/…` and `/adminapi/beta/{tenant}/InvokeCommand` itself. Token scopes stay the cloud's.",
				Attributes: map[string]schema.Attribute{
					"login":    schema.StringAttribute{Optional: true, MarkdownDescription: "The Entra ID login host root, e.g. `https://login.microsoftonline.com`.", Validators: hostURL},
					"graph":    schema.StringAttribute{Optional: true, MarkdownDescription: "The Microsoft Graph host root, e.g. `https://graph.microsoft.com`.", Validators: hostURL},
					"exchange": schema.StringAttribute{Optional: true, MarkdownDescription: "The Exchange Online admin API host root, e.g. `https://outlook.office365.com`.", Validators: hostURL},
				},
			},
			"exmail": exmailBlock(),
		},
	}
}

// ValidateConfig runs at plan time on the configuration alone.
func (p *m365Provider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	count := 0
	var set []string
	for name, v := range map[string]bool{
		"client_secret":      !m.ClientSecret.IsNull(),
		"client_certificate": !m.ClientCertificate.IsNull() || !m.ClientCertificatePath.IsNull(),
		"use_oidc":           m.UseOIDC.ValueBool(),
		"use_msi":            m.UseMSI.ValueBool(),
		"use_cli":            m.UseCLI.ValueBool(),
	} {
		if v {
			count++
			set = append(set, name)
		}
	}
	if count > 1 {
		resp.Diagnostics.AddError("Conflicting Credentials",
			fmt.Sprintf("While checking the provider configuration, more than one authentication method was found: %s.\n\nKeep exactly one of client_secret, client_certificate/client_certificate_path, use_oidc, use_msi and use_cli.", strings.Join(sortStrings(set), ", ")))
	}
}

// Clients is what resources and data sources receive from Configure.
type Clients struct {
	Env      cloud.Environment
	TenantID string
	Graph    *graph.Client
	Exchange *exchange.Client
	// Endpoints as used (after overrides), for messages.
	LoginHost, GraphHost, ExchangeHost string

	// What the types of one configuration share during one Terraform command: tenant facts,
	// per-user licence locks, the Exmail members planned open for IMAP. Kept here rather than in
	// package variables, so that two provider configurations (aliases) never mix.
	cacheOnce   sync.Once
	tenant      *tenantCache
	userLocksMu sync.Mutex
	userLocks   map[string]*sync.Mutex
	imapPlanned sync.Map
	// ExmailSource is the provider's exmail block; the client is built when an Exmail type first
	// needs it (provider_exmail.go).
	ExmailSource *exmailSource
}

func (p *m365Provider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if anyUnknown(m) {
		// Values computed by other resources: configure later (the framework calls Configure again).
		resp.Diagnostics.AddWarning("Provider Configuration Unknown", "Some provider settings depend on values known only after apply; data sources of this provider cannot be read during this plan.")
		return
	}
	envName := m.Environment.ValueString()
	if envName == "" {
		if v := os.Getenv("ARM_ENVIRONMENT"); v != "" {
			envName = v
		} else {
			envName = cloud.Global
		}
	}
	env, err := cloud.Lookup(envName)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("environment"), "Unknown Environment",
			fmt.Sprintf("While configuring the provider, the environment could not be used: %s.\n\nSet environment (or ARM_ENVIRONMENT) to one of %s.", err, strings.Join(cloud.Names(), ", ")))
		return
	}
	s := auth.Settings{
		TenantID:                  m.TenantID.ValueString(),
		ClientID:                  m.ClientID.ValueString(),
		ClientSecret:              m.ClientSecret.ValueString(),
		ClientCertificate:         m.ClientCertificate.ValueString(),
		ClientCertificatePath:     m.ClientCertificatePath.ValueString(),
		ClientCertificatePassword: m.ClientCertificatePassword.ValueString(),
		OIDCToken:                 m.OIDCToken.ValueString(),
		OIDCTokenFilePath:         m.OIDCTokenFilePath.ValueString(),
		UseOIDC:                   boolPtr(m.UseOIDC),
		UseMSI:                    boolPtr(m.UseMSI),
		UseCLI:                    boolPtr(m.UseCLI),
	}
	resolved, err := auth.Resolve(s)
	if err != nil {
		summary := "Invalid Provider Credentials"
		if resolved.TenantID == "" {
			summary = "Missing Tenant ID"
		}
		resp.Diagnostics.AddError(summary, "While configuring the provider, the credentials could not be used.\n\nCause: "+err.Error())
		return
	}
	login, graphHost, exoHost := env.LoginHost, env.GraphHost, env.ExchangeHost
	overridden := false
	if m.Endpoints != nil {
		if v := m.Endpoints.Login.ValueString(); v != "" {
			login, overridden = strings.TrimRight(v, "/"), true
		}
		if v := m.Endpoints.Graph.ValueString(); v != "" {
			graphHost = strings.TrimRight(v, "/")
		}
		if v := m.Endpoints.Exchange.ValueString(); v != "" {
			exoHost = strings.TrimRight(v, "/")
		}
	}
	cred, err := auth.NewCredential(resolved, auth.Options{AuthorityHost: login, Overridden: overridden})
	if err != nil {
		resp.Diagnostics.AddError("Invalid Provider Credentials", "While configuring the provider, the "+string(resolved.Method)+" credential could not be built.\n\nCause: "+err.Error())
		return
	}
	gc, err := graph.New(graph.Config{Host: graphHost, Scope: env.GraphScope, Credential: cred})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoints").AtName("graph"), "Invalid Graph Endpoint", err.Error())
		return
	}
	ec, err := exchange.New(exchange.Config{Host: exoHost, Scope: env.ExchangeScope, TenantID: resolved.TenantID, Credential: cred})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoints").AtName("exchange"), "Invalid Exchange Endpoint", err.Error())
		return
	}
	tflog.Debug(ctx, "configured m365 provider", map[string]any{
		"environment": env.Name, "auth_method": string(resolved.Method), "login": login, "graph": gc.BaseURL(), "exchange": ec.URL(),
	})
	c := &Clients{Env: env, TenantID: resolved.TenantID, Graph: gc, Exchange: ec, LoginHost: login, GraphHost: graphHost, ExchangeHost: exoHost,
		ExmailSource: newExmailSource(m.Exmail)}
	resp.DataSourceData = c
	resp.ResourceData = c
	resp.EphemeralResourceData = c
}

func (p *m365Provider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewDomainResource,
		NewDomainVerificationResource,
		NewUserResource, NewUsersResource,
		NewIMAPMigrationEndpointResource, NewMigrationBatchResource,
		NewDistributionGroupResource, NewDKIMResource,
		NewExmailIMAPAccessResource,
	}
}

func (p *m365Provider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewSubscribedSkusDataSource,
		NewDNSRecordsDataSource,
		NewMailClientSettingsDataSource,
		NewUsersCSVDataSource,
		NewIMAPMailboxSurveyDataSource,
		NewMigrationBatchDataSource,
		NewExmailDirectoryDataSource,
	}
}

func (p *m365Provider) EphemeralResources(context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{NewIMAPMigrationCSVEphemeralResource}
}

func boolPtr(b types.Bool) *bool {
	if b.IsNull() || b.IsUnknown() {
		return nil
	}
	v := b.ValueBool()
	return &v
}

func anyUnknown(m providerModel) bool {
	vals := []interface{ IsUnknown() bool }{m.Environment, m.TenantID, m.ClientID, m.ClientSecret, m.ClientCertificate,
		m.ClientCertificatePath, m.ClientCertificatePassword, m.UseOIDC, m.OIDCToken, m.OIDCTokenFilePath, m.UseMSI, m.UseCLI}
	if m.Endpoints != nil {
		vals = append(vals, m.Endpoints.Login, m.Endpoints.Graph, m.Endpoints.Exchange)
	}
	vals = append(vals, m.Exmail.values()...)
	for _, v := range vals {
		if v.IsUnknown() {
			return true
		}
	}
	return false
}
