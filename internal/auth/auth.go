// Package auth turns the provider's credential settings into an azidentity credential for one
// Microsoft cloud. It resolves the ARM_* / AZURE_* environment fallbacks, refuses missing or
// conflicting settings with one clear message, and never requests a token itself: tokens are
// fetched lazily, per audience, by the Graph and Exchange clients.
package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Method names one way of authenticating.
type Method string

// The supported methods, in the order the environment fallbacks are considered.
const (
	MethodClientSecret      Method = "client_secret"
	MethodClientCertificate Method = "client_certificate"
	MethodOIDC              Method = "oidc"
	MethodManagedIdentity   Method = "managed_identity"
	MethodAzureCLI          Method = "azure_cli"
)

// Settings are the credential inputs as configured in the provider block; empty strings and nil
// booleans mean "not set in configuration" and fall back to the environment.
type Settings struct {
	TenantID                  string
	ClientID                  string
	ClientSecret              string
	ClientCertificate         string // base64 PFX, or PEM text (certificate + key)
	ClientCertificatePath     string
	ClientCertificatePassword string
	UseOIDC                   *bool
	OIDCToken                 string
	OIDCTokenFilePath         string
	UseMSI                    *bool
	UseCLI                    *bool
}

// Resolved is Settings after the environment fallbacks, with the one chosen method.
type Resolved struct {
	Settings
	Method Method
	// Sources names where each value came from ("tenant_id" or "ARM_TENANT_ID"), for messages.
	Sources map[string]string
}

// Env is the process environment lookup, replaceable in tests.
var Env = os.LookupEnv

func fromEnv(cur *string, sources map[string]string, attr string, names ...string) {
	if *cur != "" {
		sources[attr] = attr
		return
	}
	for _, n := range names {
		if v, ok := Env(n); ok && strings.TrimSpace(v) != "" {
			*cur = strings.TrimSpace(v)
			sources[attr] = n
			return
		}
	}
}

func boolFromEnv(cur **bool, sources map[string]string, attr string, names ...string) {
	if *cur != nil {
		sources[attr] = attr
		return
	}
	for _, n := range names {
		if v, ok := Env(n); ok && v != "" {
			b, err := strconv.ParseBool(v)
			if err == nil {
				*cur = &b
				sources[attr] = n
			}
			return
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// Resolve applies the environment fallbacks and chooses the authentication method. The error
// text is complete enough to be shown to the user as it is.
func Resolve(s Settings) (Resolved, error) {
	src := map[string]string{}
	fromEnv(&s.TenantID, src, "tenant_id", "ARM_TENANT_ID", "AZURE_TENANT_ID")
	fromEnv(&s.ClientID, src, "client_id", "ARM_CLIENT_ID", "AZURE_CLIENT_ID")
	fromEnv(&s.ClientSecret, src, "client_secret", "ARM_CLIENT_SECRET", "AZURE_CLIENT_SECRET")
	fromEnv(&s.ClientCertificate, src, "client_certificate", "ARM_CLIENT_CERTIFICATE")
	fromEnv(&s.ClientCertificatePath, src, "client_certificate_path", "ARM_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PATH")
	fromEnv(&s.ClientCertificatePassword, src, "client_certificate_password", "ARM_CLIENT_CERTIFICATE_PASSWORD", "AZURE_CLIENT_CERTIFICATE_PASSWORD")
	fromEnv(&s.OIDCToken, src, "oidc_token", "ARM_OIDC_TOKEN")
	fromEnv(&s.OIDCTokenFilePath, src, "oidc_token_file_path", "ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE")
	boolFromEnv(&s.UseOIDC, src, "use_oidc", "ARM_USE_OIDC")
	boolFromEnv(&s.UseMSI, src, "use_msi", "ARM_USE_MSI")
	boolFromEnv(&s.UseCLI, src, "use_cli", "ARM_USE_CLI")

	r := Resolved{Settings: s, Sources: src}
	if s.TenantID == "" {
		return r, errors.New("tenant_id is not set. Set tenant_id in the provider block, or the ARM_TENANT_ID (or AZURE_TENANT_ID) environment variable, to the tenant's GUID or its initial *.onmicrosoft.com domain")
	}

	type candidate struct {
		method Method
		why    string
	}
	var found []candidate
	if s.ClientSecret != "" {
		found = append(found, candidate{MethodClientSecret, src["client_secret"]})
	}
	if s.ClientCertificate != "" || s.ClientCertificatePath != "" {
		why := src["client_certificate"]
		if why == "" {
			why = src["client_certificate_path"]
		}
		found = append(found, candidate{MethodClientCertificate, why})
	}
	if isTrue(s.UseOIDC) || (s.UseOIDC == nil && (s.OIDCToken != "" || s.OIDCTokenFilePath != "")) {
		found = append(found, candidate{MethodOIDC, firstNonEmpty(src["use_oidc"], src["oidc_token"], src["oidc_token_file_path"])})
	}
	if isTrue(s.UseMSI) {
		found = append(found, candidate{MethodManagedIdentity, src["use_msi"]})
	}
	if isTrue(s.UseCLI) {
		found = append(found, candidate{MethodAzureCLI, src["use_cli"]})
	}
	switch len(found) {
	case 0:
		return r, errors.New("no credentials are configured. Set one of: client_secret (ARM_CLIENT_SECRET), client_certificate or client_certificate_path (ARM_CLIENT_CERTIFICATE_PATH), use_oidc with oidc_token or oidc_token_file_path (ARM_OIDC_TOKEN_FILE_PATH, AZURE_FEDERATED_TOKEN_FILE), use_msi = true (ARM_USE_MSI), or use_cli = true (ARM_USE_CLI)")
	case 1:
	default:
		parts := make([]string, len(found))
		for i, f := range found {
			parts[i] = fmt.Sprintf("%s (from %s)", f.method, f.why)
		}
		return r, fmt.Errorf("more than one authentication method is configured: %s. Keep exactly one: remove the others from the provider block or unset their environment variables", strings.Join(parts, ", "))
	}
	r.Method = found[0].method
	if r.Method != MethodAzureCLI && r.Method != MethodManagedIdentity && s.ClientID == "" {
		return r, fmt.Errorf("client_id is not set but %s authentication needs it. Set client_id in the provider block, or ARM_CLIENT_ID (or AZURE_CLIENT_ID), to the application (client) ID of the app registration", r.Method)
	}
	if r.Method == MethodOIDC && s.OIDCToken == "" && s.OIDCTokenFilePath == "" {
		return r, errors.New("use_oidc is true but no token is configured. Set oidc_token or oidc_token_file_path (ARM_OIDC_TOKEN, ARM_OIDC_TOKEN_FILE_PATH or AZURE_FEDERATED_TOKEN_FILE)")
	}
	if s.ClientCertificate != "" && s.ClientCertificatePath != "" {
		return r, errors.New("client_certificate and client_certificate_path are both set. Keep one of them")
	}
	return r, nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// Options tune the credential for a cloud.
type Options struct {
	// AuthorityHost is the login host root, e.g. https://login.microsoftonline.com.
	AuthorityHost string
	// Overridden is true when the authority is not the cloud's own (a proxy or an emulator):
	// instance discovery is then skipped, as it would ask login.microsoft.com about it.
	Overridden bool
}

// NewCredential builds the azidentity credential for r. It performs no network call.
func NewCredential(r Resolved, o Options) (azcore.TokenCredential, error) {
	host := strings.TrimRight(o.AuthorityHost, "/") + "/"
	copts := policy.ClientOptions{Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: host, Services: map[azcloud.ServiceName]azcloud.ServiceConfiguration{}}}
	switch r.Method {
	case MethodClientSecret:
		return azidentity.NewClientSecretCredential(r.TenantID, r.ClientID, r.ClientSecret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions: copts, DisableInstanceDiscovery: o.Overridden,
		})
	case MethodClientCertificate:
		data, err := certificateBytes(r.Settings)
		if err != nil {
			return nil, err
		}
		var pw []byte
		if r.ClientCertificatePassword != "" {
			pw = []byte(r.ClientCertificatePassword)
		}
		certs, key, err := azidentity.ParseCertificates(data, pw)
		if err != nil {
			return nil, fmt.Errorf("the client certificate could not be read (PEM with certificate and private key, or PFX/PKCS#12; check client_certificate_password): %w", err)
		}
		return azidentity.NewClientCertificateCredential(r.TenantID, r.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: copts, DisableInstanceDiscovery: o.Overridden, SendCertificateChain: true,
		})
	case MethodOIDC:
		token, path := r.OIDCToken, r.OIDCTokenFilePath
		get := func(context.Context) (string, error) {
			if token != "" {
				return token, nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("reading the OIDC token file %s: %w", path, err)
			}
			return strings.TrimSpace(string(b)), nil
		}
		return azidentity.NewClientAssertionCredential(r.TenantID, r.ClientID, get, &azidentity.ClientAssertionCredentialOptions{
			ClientOptions: copts, DisableInstanceDiscovery: o.Overridden,
		})
	case MethodManagedIdentity:
		opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: copts}
		if r.ClientID != "" {
			opts.ID = azidentity.ClientID(r.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(opts)
	case MethodAzureCLI:
		return azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: r.TenantID})
	}
	return nil, fmt.Errorf("unknown authentication method %q", r.Method)
}

func certificateBytes(s Settings) ([]byte, error) {
	if s.ClientCertificatePath != "" {
		b, err := os.ReadFile(s.ClientCertificatePath)
		if err != nil {
			return nil, fmt.Errorf("reading client_certificate_path: %w", err)
		}
		return b, nil
	}
	v := strings.TrimSpace(s.ClientCertificate)
	if strings.HasPrefix(v, "-----BEGIN") {
		return []byte(v), nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, errors.New("client_certificate is neither PEM text nor base64: give the PEM (certificate and key) or the base64 of a PFX file")
	}
	return b, nil
}

// Explain reduces a token failure to the service's own sentence (the AADSTS code and its text),
// without azidentity's request dump; other errors are returned as they are.
func Explain(err error) string {
	msg := err.Error()
	var ae *azidentity.AuthenticationFailedError
	if errors.As(err, &ae) {
		if i := strings.Index(msg, "AADSTS"); i >= 0 {
			line := msg[i:]
			if j := strings.IndexAny(line, "\"\r\n"); j > 0 {
				line = line[:j]
			}
			return line
		}
	}
	return msg
}
