package graph_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
	"github.com/m365-migration/terraform-provider-m365/internal/testutil"
)

func newGraph(t *testing.T, f *fakecloud.Server, secret string) *graph.Client {
	t.Helper()
	env, _ := cloud.Lookup("global")
	c, err := graph.New(graph.Config{Host: f.GraphEndpoint(), Scope: env.GraphScope, Credential: testutil.Credential(t, f, secret),
		Retry: httpx.RetryPolicy{BaseDelay: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func TestOneTokenPerAudience(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{})
	c := newGraph(t, f, "")
	for i := 0; i < 3; i++ {
		skus, err := c.ListSubscribedSkus(tctx(t, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(skus) == 0 {
			t.Fatal("no SKUs")
		}
	}
	st := f.Stats()
	if st.TokensByAudience["graph"] != 1 || st.TokensByAudience["exchange"] != 0 {
		t.Errorf("three Graph calls took tokens %v, want graph:1", st.TokensByAudience)
	}
	for _, r := range f.Requests() {
		if r.Service == "graph" && r.Status == 401 {
			t.Errorf("Graph refused a request: the SDK did not attach the token to the overridden host: %+v", r)
		}
	}
}

func TestRetriesThrottlingWithinDeadline(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{ThrottleRatio: 0.5, Fail503Ratio: 0.2, RetryAfter: 0.05, RandomSeed: 3})
	c := newGraph(t, f, "")
	for i := 0; i < 10; i++ {
		if _, err := c.ListSubscribedSkus(tctx(t, 20*time.Second)); err != nil {
			t.Fatalf("call %d failed despite retries: %v", i, err)
		}
	}
	st := f.Stats().Graph
	if st.Throttled == 0 || st.Status[503] == 0 {
		t.Fatalf("the knobs did not bite: %+v", st)
	}
	// With a deadline shorter than Retry-After the answer comes back instead of a wait past it.
	f.SetKnobs(fakecloud.Knobs{ThrottleRatio: 1, RetryAfter: 30})
	start := time.Now()
	_, err := c.ListSubscribedSkus(tctx(t, 2*time.Second))
	var ge *graph.Error
	if err == nil || !asGraphErr(err, &ge) || ge.StatusCode != 429 || ge.Code != "TooManyRequests" {
		t.Fatalf("want the 429 in Graph's words, got %v", err)
	}
	if ge.RetryAfter != 30*time.Second {
		t.Errorf("Retry-After not kept: %v", ge.RetryAfter)
	}
	if time.Since(start) > 1500*time.Millisecond {
		t.Errorf("waited %s although Retry-After was past the deadline", time.Since(start))
	}
}

func TestWrongSecretIsAuthErrorWithoutSecret(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{})
	c := newGraph(t, f, "definitely-wrong-secret")
	_, err := c.ListSubscribedSkus(tctx(t, 10*time.Second))
	if !graph.IsAuth(err) || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("want an auth error with AADSTS7000215, got %v", err)
	}
	if strings.Contains(err.Error(), "definitely-wrong-secret") {
		t.Fatal("the error shows the secret")
	}
	if f.Stats().Graph.Requests != 0 {
		t.Error("Graph was called without a token")
	}
}
