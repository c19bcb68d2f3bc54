package httpx

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              -1,
		"10":                            10 * time.Second,
		"2.128":                         2128 * time.Millisecond,
		"0":                             0,
		"soon":                          -1,
		"Thu, 26 Nov 2026 03:00:05 GMT": 5 * time.Second,
		"Thu, 26 Nov 2026 02:59:00 GMT": 0,
	}
	for in, want := range cases {
		h := http.Header{}
		if in != "" {
			h.Set("Retry-After", in)
		}
		if got := RetryAfter(h, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", in, got, want)
		}
	}
}

// TestRetryResendsIdenticalBytes: every attempt carries the first attempt's body and headers.
func TestRetryResendsIdenticalBytes(t *testing.T) {
	var calls atomic.Int32
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, b)
		if r.Header.Get("Content-Encoding") != "gzip" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, err := gzip.NewReader(bytes.NewReader(b)); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "0.01")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"id":"contoso.com"}`))
	_ = zw.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(gz.Bytes()))
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := (&http.Client{Transport: NewRetryTransport(nil, RetryPolicy{})}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || len(bodies) != 3 {
		t.Fatalf("status %d after %d attempts", resp.StatusCode, len(bodies))
	}
	for i := range bodies {
		if !bytes.Equal(bodies[i], gz.Bytes()) {
			t.Errorf("attempt %d sent different bytes", i+1)
		}
	}
}

// TestRetryStopsAtTheDeadline: a Retry-After past the context's deadline returns the answer now.
func TestRetryStopsAtTheDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	resp, err := (&http.Client{Transport: NewRetryTransport(nil, RetryPolicy{})}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("status %d after %s; want the 503 at once", resp.StatusCode, time.Since(start))
	}
}

// TestRetryPeeksBodyForPlainTextThrottling: a custom Retryable sees the start of the body, and the
// caller still reads the whole body.
func TestRetryPeeksBodyForPlainTextThrottling(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("You have reached the maximum number of concurrent requests per tenant. Please wait and try again"))
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("other failure"))
	}))
	defer srv.Close()
	policy := RetryPolicy{PeekBody: true, BaseDelay: 5 * time.Millisecond, Retryable: func(resp *http.Response, body []byte) bool {
		return bytes.Contains(body, []byte("concurrent requests"))
	}}
	resp, err := (&http.Client{Transport: NewRetryTransport(nil, policy)}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if calls.Load() != 2 || string(b) != "other failure" {
		t.Fatalf("%d calls, body %q", calls.Load(), b)
	}
}
