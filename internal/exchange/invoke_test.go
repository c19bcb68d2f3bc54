package exchange_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
	"github.com/m365-migration/terraform-provider-m365/internal/testutil"
)

func newClient(t *testing.T, f *fakecloud.Server, pageSize int) *exchange.Client {
	t.Helper()
	env, _ := cloud.Lookup("global")
	c, err := exchange.New(exchange.Config{
		Host: f.ExchangeEndpoint(), Scope: env.ExchangeScope, TenantID: f.TenantID(),
		Credential: testutil.Credential(t, f, ""), PageSize: pageSize,
		Retry: httpx.RetryPolicy{BaseDelay: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func seededEndpoints(n int) *fakecloud.Seed {
	s := fakecloud.DefaultSeed()
	for i := 0; i < n; i++ {
		s.MigrationEndpoints = append(s.MigrationEndpoints, fakecloud.MigrationEndpoint{
			Name: fmt.Sprintf("ep%02d", i), RemoteServer: "imap.exmail.qq.com", Port: 993, Security: "Ssl",
			MaxConcurrentMigrations: "100", MaxConcurrentIncrementalSyncs: "20",
		})
	}
	return s
}

func TestInvokeReadsLenientlyAndPages(t *testing.T) {
	f := testutil.StartFake(t, seededEndpoints(25), fakecloud.Knobs{})
	c := newClient(t, f, 10)
	eps, err := c.ListMigrationEndpoints(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 25 {
		t.Fatalf("got %d endpoints over the pages, want 25", len(eps))
	}
	if eps[0].MaxConcurrentMigrations != 100 || eps[0].MaxConcurrentIncrementalSyncs != 20 || eps[0].Port != 993 || eps[0].Security != "Ssl" {
		t.Errorf("string counts not decoded: %+v", eps[0])
	}
	st := f.Stats()
	if n := st.ExchangeCmdlets["Get-MigrationEndpoint"]; n != 3 {
		t.Errorf("25 endpoints at page size 10 took %d requests, want 3", n)
	}
	// One Exchange token for all pages, and no Graph token.
	if st.TokensByAudience["exchange"] != 1 || st.TokensByAudience["graph"] != 0 {
		t.Errorf("tokens by audience = %v, want exchange:1 only", st.TokensByAudience)
	}
	for _, r := range f.Requests() {
		if r.Service == "exchange" && !r.AnchorMailbox {
			t.Errorf("request without the APP: X-AnchorMailbox header: %+v", r)
		}
	}
}

func TestInvokeErrorForms(t *testing.T) {
	for _, form := range []string{"pipe", "json"} {
		t.Run(form, func(t *testing.T) {
			f := testutil.StartFake(t, nil, fakecloud.Knobs{ExchangeErrorForm: form})
			c := newClient(t, f, 0)
			_, err := c.GetMigrationEndpoint(ctx(t), "missing")
			if !exchange.IsNotFound(err) {
				t.Fatalf("want a not-found error, got %v", err)
			}
			var e *exchange.Error
			if !asErr(err, &e) || !strings.Contains(e.ExceptionType, "ManagementObjectNotFoundException") || !strings.Contains(e.Message, "missing") {
				t.Errorf("%s form decoded as %+v", form, e)
			}
			_, err = c.Invoke(ctx(t), "New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "x", "RemoteServer": "imap.example.com",
				"MaxConcurrentMigrations": 5, "MaxConcurrentIncrementalSyncs": 10, "SkipVerification": true})
			if !exchange.IsKind(err, exchange.KindValidation) {
				t.Errorf("incremental > migrations: want a validation error, got %v", err)
			}
		})
	}
}

func TestInvokeUnknownCmdletIsPermission(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{})
	c := newClient(t, f, 0)
	_, err := c.Invoke(ctx(t), "Get-TransportRule", nil)
	if !exchange.IsKind(err, exchange.KindPermission) || !strings.Contains(err.Error(), "Exchange.ManageAsApp") {
		t.Fatalf("403 with an empty body should be explained as a permission problem, got %v", err)
	}
}

func TestInvokeRetriesThrottlingAndRedirects(t *testing.T) {
	f := testutil.StartFake(t, seededEndpoints(3), fakecloud.Knobs{
		ExchangeThrottleRatio: 0.3, ExchangeConcurrencyRatio: 0.3, RetryAfter: 0.01, ExchangeRedirect: true, RandomSeed: 7,
	})
	c := newClient(t, f, 0)
	for i := 0; i < 10; i++ {
		eps, err := c.ListMigrationEndpoints(ctx(t))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if len(eps) != 3 {
			t.Fatalf("call %d: %d endpoints", i, len(eps))
		}
	}
	st := f.Stats().Exchange
	if st.Throttled == 0 || st.Status[500] == 0 || st.Status[302] == 0 {
		t.Errorf("the knobs did not bite: %+v", st)
	}
}

func TestInvokeWrongSecretIsAuth(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{})
	env, _ := cloud.Lookup("global")
	c, err := exchange.New(exchange.Config{Host: f.ExchangeEndpoint(), Scope: env.ExchangeScope, TenantID: f.TenantID(), Credential: testutil.Credential(t, f, "wrong")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListMigrationEndpoints(ctx(t))
	if !exchange.IsKind(err, exchange.KindAuth) || !strings.Contains(err.Error(), "AADSTS7000215") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("want an auth error with the AADSTS code and without the secret, got %v", err)
	}
}

func TestInvokeLagAfterCreate(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{ExchangeLag: 300 * time.Millisecond})
	c := newClient(t, f, 0)
	if _, err := c.Invoke(ctx(t), "New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "lagged", "RemoteServer": "imap.example.com", "SkipVerification": true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMigrationEndpoint(ctx(t), "lagged"); !exchange.IsNotFound(err) {
		t.Fatalf("during the lag the endpoint should be not found, got %v", err)
	}
	time.Sleep(350 * time.Millisecond)
	if ep, err := c.GetMigrationEndpoint(ctx(t), "lagged"); err != nil || ep.RemoteServer != "imap.example.com" {
		t.Fatalf("after the lag: %+v, %v", ep, err)
	}
}
