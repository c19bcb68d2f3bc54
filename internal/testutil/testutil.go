// Package testutil holds what the client packages' tests share: starting the local Microsoft 365
// and building real azidentity credentials against it.
package testutil

import (
	"fmt"
	"os"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/m365-migration/terraform-provider-m365/internal/auth"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
)

// Main is a TestMain body: it trusts the process CA of the fake (SSL_CERT_FILE, read once by Go)
// and removes it at exit.
func Main(m *testing.M) {
	_, caFile, err := fakecloud.ProcessCA()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake CA:", err)
		os.Exit(1)
	}
	_ = os.Setenv("SSL_CERT_FILE", caFile)
	code := m.Run()
	_ = fakecloud.CleanupProcessCA()
	os.Exit(code)
}

// StartFake starts a fake for one test.
func StartFake(t testing.TB, seed *fakecloud.Seed, knobs fakecloud.Knobs) *fakecloud.Server {
	t.Helper()
	f, err := fakecloud.Start(fakecloud.Options{Seed: seed, Knobs: knobs})
	if err != nil {
		t.Fatalf("starting the fake: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// Credential is a real client-secret credential against the fake's login endpoint.
func Credential(t testing.TB, f *fakecloud.Server, secret string) azcore.TokenCredential {
	t.Helper()
	if secret == "" {
		secret = f.ClientSecret()
	}
	r, err := auth.Resolve(auth.Settings{TenantID: f.TenantID(), ClientID: f.ClientID(), ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.NewCredential(r, auth.Options{AuthorityHost: f.LoginEndpoint(), Overridden: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}
