package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// TestGzipBodiesAndReadAfterWriteLag: the SDK's compression handler gzips POST bodies (the fake
// rejects a body that is not what its Content-Encoding says), and a new object that 404s for a
// while is waited out on evidence by WaitUntil.
func TestGzipBodiesAndReadAfterWriteLag(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{ReadAfterWriteLag: 700 * time.Millisecond})
	c := newGraph(t, f, "")
	ctx := tctx(t, 20*time.Second)
	if _, err := c.CreateDomain(ctx, "lagging.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDomain(ctx, "lagging.example"); !graph.IsNotFound(err) {
		t.Fatalf("right after create the fake should answer 404 (lag), got %v", err)
	}
	start := time.Now()
	var reads int
	err := graph.WaitUntil(ctx, "the new domain", func(ctx context.Context) (bool, error) {
		reads++
		d, err := c.GetDomain(ctx, "lagging.example")
		return err == nil && d.ID == "lagging.example", err
	})
	if err != nil {
		t.Fatal(err)
	}
	if reads < 2 || time.Since(start) > 5*time.Second {
		t.Errorf("WaitUntil took %d reads in %s", reads, time.Since(start))
	}
	var gz bool
	for _, r := range f.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/domains") {
			gz = r.ContentEncoding == "gzip" && r.Status == 201
		}
	}
	if !gz {
		t.Error("POST /domains was not sent gzip-compressed, or was refused")
	}
}

// TestRetryResendsTheCompressedBody: a gzip POST answered 429 is retried with the same
// compressed bytes (kiota's own retry handler would resend the raw body under a gzip header,
// https://github.com/microsoft/kiota-http-go/issues/183).
func TestRetryResendsTheCompressedBody(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{ThrottleRatio: 0.6, RetryAfter: 0.02, RandomSeed: 11})
	c := newGraph(t, f, "")
	for i := 0; i < 8; i++ {
		name := fmt.Sprintf("retry%d.example", i)
		if _, err := c.CreateDomain(tctx(t, 20*time.Second), name); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	st := f.Stats().Graph
	if st.Throttled == 0 {
		t.Fatal("no 429 was injected")
	}
	if st.Status[400] != 0 {
		t.Errorf("%d requests were refused as unreadable bodies", st.Status[400])
	}
}

// recordingTransport keeps the requests that reach the wire.
type recordingTransport struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, r.Clone(r.Context()))
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestRequestBuildersWithoutServiceClient: the client builds msgraph-sdk-go's request builders on
// the core adapter itself; the wire must be what GraphServiceClient sent: the base URL with
// /v1.0, the builder's query parameters ($select of /subscribedSkus), the SdkVersion telemetry
// header naming the msgraph-sdk-go version of go.mod, and typed bodies parsed (domains list).
func TestRequestBuildersWithoutServiceClient(t *testing.T) {
	f := testutil.StartFake(t, nil, fakecloud.Knobs{})
	env, _ := cloud.Lookup("global")
	rt := &recordingTransport{}
	c, err := graph.New(graph.Config{Host: f.GraphEndpoint(), Scope: env.GraphScope, Credential: testutil.Credential(t, f, ""),
		Transport: rt, Retry: httpx.RetryPolicy{BaseDelay: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := tctx(t, 20*time.Second)
	skus, err := c.ListSubscribedSkus(ctx)
	if err != nil || len(skus) == 0 || skus[0].SkuPartNumber == "" {
		t.Fatalf("ListSubscribedSkus = %+v, %v", skus, err)
	}
	if _, err := c.CreateDomain(ctx, "builders.example"); err != nil {
		t.Fatal(err)
	}
	ds, err := c.ListDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ds, func(d graph.Domain) bool { return d.ID == "builders.example" }) {
		t.Errorf("ListDomains = %+v, want builders.example among them", ds)
	}

	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/microsoftgraph/msgraph-sdk-go v(\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod requires no github.com/microsoftgraph/msgraph-sdk-go")
	}
	wantSdk := "graph-go/" + string(m[1]) + ", graph-go-core/"
	base := strings.TrimRight(f.GraphEndpoint(), "/") + "/v1.0"
	var sawSkus, sawDomains bool
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, r := range rt.reqs {
		if !strings.HasPrefix(r.URL.String(), base+"/") {
			continue // token requests
		}
		if got := r.Header.Get("SdkVersion"); !strings.HasPrefix(got, wantSdk) {
			t.Errorf("%s %s: SdkVersion %q, want it to start with %q", r.Method, r.URL.Path, got, wantSdk)
		}
		switch r.URL.Path {
		case "/v1.0/subscribedSkus":
			sawSkus = r.URL.Query().Get("$select") == "id,skuId,skuPartNumber,appliesTo,capabilityStatus,consumedUnits,prepaidUnits,servicePlans"
		case "/v1.0/domains":
			sawDomains = sawDomains || r.Method == http.MethodGet
		}
	}
	if !sawSkus || !sawDomains {
		var urls []string
		for _, r := range rt.reqs {
			urls = append(urls, r.Method+" "+r.URL.String())
		}
		t.Errorf("missing GET %s/subscribedSkus with its $select (%v) or GET %s/domains (%v); sent:\n%s", base, sawSkus, base, sawDomains, strings.Join(urls, "\n"))
	}
}
