package auth

import (
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestResolve(t *testing.T) {
	yes := true
	cases := []struct {
		name     string
		settings Settings
		env      map[string]string
		method   Method
		errLike  string
		sources  map[string]string
	}{
		{name: "secret in config", settings: Settings{TenantID: "t", ClientID: "c", ClientSecret: "s"}, method: MethodClientSecret,
			sources: map[string]string{"client_secret": "client_secret"}},
		{name: "ARM fallbacks", env: map[string]string{"ARM_TENANT_ID": "t", "ARM_CLIENT_ID": "c", "ARM_CLIENT_SECRET": "s"}, method: MethodClientSecret,
			sources: map[string]string{"tenant_id": "ARM_TENANT_ID", "client_secret": "ARM_CLIENT_SECRET"}},
		{name: "AZURE fallbacks after ARM", env: map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, method: MethodClientSecret,
			sources: map[string]string{"tenant_id": "AZURE_TENANT_ID"}},
		{name: "ARM wins over AZURE", env: map[string]string{"ARM_TENANT_ID": "arm", "AZURE_TENANT_ID": "azure", "ARM_CLIENT_ID": "c", "ARM_CLIENT_SECRET": "s"}, method: MethodClientSecret,
			sources: map[string]string{"tenant_id": "ARM_TENANT_ID"}},
		{name: "config wins over env", settings: Settings{TenantID: "cfg", ClientID: "c", ClientSecret: "s"}, env: map[string]string{"ARM_TENANT_ID": "env"}, method: MethodClientSecret,
			sources: map[string]string{"tenant_id": "tenant_id"}},
		{name: "certificate path", settings: Settings{TenantID: "t", ClientID: "c", ClientCertificatePath: "/x.pem"}, method: MethodClientCertificate},
		{name: "workload identity file", env: map[string]string{"ARM_TENANT_ID": "t", "ARM_CLIENT_ID": "c", "AZURE_FEDERATED_TOKEN_FILE": "/tok"}, method: MethodOIDC},
		{name: "msi without client id", settings: Settings{TenantID: "t", UseMSI: &yes}, method: MethodManagedIdentity},
		{name: "cli", settings: Settings{TenantID: "t", UseCLI: &yes}, method: MethodAzureCLI},
		{name: "missing tenant", settings: Settings{ClientID: "c", ClientSecret: "s"}, errLike: "tenant_id is not set"},
		{name: "no credential", settings: Settings{TenantID: "t", ClientID: "c"}, errLike: "no credentials are configured"},
		{name: "two credentials, one from env", settings: Settings{TenantID: "t", ClientID: "c", ClientSecret: "s"}, env: map[string]string{"ARM_USE_MSI": "true"},
			errLike: "client_secret (from client_secret), managed_identity (from ARM_USE_MSI)"},
		{name: "secret without client id", settings: Settings{TenantID: "t", ClientSecret: "s"}, errLike: "client_id is not set but client_secret"},
		{name: "oidc without token", settings: Settings{TenantID: "t", ClientID: "c", UseOIDC: &yes}, errLike: "no token is configured"},
		{name: "inline and path certificate", settings: Settings{TenantID: "t", ClientID: "c", ClientCertificate: "x", ClientCertificatePath: "/x"}, errLike: "both set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			saved := Env
			Env = env(c.env)
			defer func() { Env = saved }()
			r, err := Resolve(c.settings)
			if c.errLike != "" {
				if err == nil || !strings.Contains(err.Error(), c.errLike) {
					t.Fatalf("want an error containing %q, got %v", c.errLike, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != c.method {
				t.Errorf("method %s, want %s", r.Method, c.method)
			}
			for k, v := range c.sources {
				if r.Sources[k] != v {
					t.Errorf("source of %s = %q, want %q", k, r.Sources[k], v)
				}
			}
		})
	}
}

func TestCertificateErrorsNeverShowTheSecret(t *testing.T) {
	r := Resolved{Settings: Settings{TenantID: "t", ClientID: "c", ClientCertificate: "bm90IGEgY2VydA==", ClientCertificatePassword: "pfx-password-123"}, Method: MethodClientCertificate}
	_, err := NewCredential(r, Options{AuthorityHost: "https://login.microsoftonline.com"})
	if err == nil {
		t.Fatal("a base64 blob that is not a certificate was accepted")
	}
	if strings.Contains(err.Error(), "pfx-password-123") {
		t.Fatalf("the error shows the password: %v", err)
	}
}
