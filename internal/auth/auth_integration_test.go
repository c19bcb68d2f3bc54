package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/m365-migration/terraform-provider-m365/internal/auth"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

const assertionApp = "5c3b1a7e-9f7d-4c1e-8b0a-2d6f4e8a9c01"

func fakeWithAssertions(t *testing.T) *fakecloud.Server {
	seed := fakecloud.DefaultSeed()
	seed.Apps = append(seed.Apps, fakecloud.App{ClientID: assertionApp, ClientSecret: "unused-secret-0123456789", AcceptAssertions: true})
	return testutil.StartFake(t, seed, fakecloud.Knobs{})
}

func token(t *testing.T, f *fakecloud.Server, s auth.Settings) {
	t.Helper()
	saved := auth.Env
	auth.Env = func(string) (string, bool) { return "", false }
	defer func() { auth.Env = saved }()
	r, err := auth.Resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.NewCredential(r, auth.Options{AuthorityHost: f.LoginEndpoint(), Overridden: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil || tok.Token == "" {
		t.Fatalf("%s: no token: %v", r.Method, err)
	}
}

// TestClientCertificateCredential signs a client assertion with a PEM certificate, inline and from a
// file, as azidentity does, and gets a token from the fake's token endpoint.
func TestClientCertificateCredential(t *testing.T) {
	f := fakeWithAssertions(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "m365-provider"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	path := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, []byte(pemText), 0o600); err != nil {
		t.Fatal(err)
	}
	token(t, f, auth.Settings{TenantID: f.TenantID(), ClientID: assertionApp, ClientCertificatePath: path})
	token(t, f, auth.Settings{TenantID: f.TenantID(), ClientID: assertionApp, ClientCertificate: pemText})
	if n := f.Stats().TokensByAudience["graph"]; n != 2 {
		t.Errorf("tokens issued: %d, want 2", n)
	}
}

// TestOIDCTokenFileCredential reads the federated token from a file at each request.
func TestOIDCTokenFileCredential(t *testing.T) {
	f := fakeWithAssertions(t)
	enc := base64.RawURLEncoding
	now := time.Now().Unix()
	jwt := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		enc.EncodeToString([]byte(`{"iss":"`+assertionApp+`","sub":"`+assertionApp+`","aud":"api://AzureADTokenExchange","exp":`+big.NewInt(now+600).String()+`,"nbf":`+big.NewInt(now-60).String()+`}`)) +
		"." + enc.EncodeToString([]byte("signature"))
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(jwt+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yes := true
	token(t, f, auth.Settings{TenantID: f.TenantID(), ClientID: assertionApp, UseOIDC: &yes, OIDCTokenFilePath: path})
}
