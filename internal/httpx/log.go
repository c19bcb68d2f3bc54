package httpx

import (
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// LogTransport writes one structured log line per request and answer: method, URL path, status,
// duration and Microsoft's correlation ids. It never logs header values other than those ids,
// query strings or bodies, so no token, secret or password can reach TF_LOG output.
type LogTransport struct {
	Base    http.RoundTripper
	Service string
}

// RoundTrip implements http.RoundTripper.
func (t *LogTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	start := time.Now()
	resp, err := base.RoundTrip(req)
	fields := map[string]any{
		"service":     t.Service,
		"method":      req.Method,
		"host":        req.URL.Host,
		"path":        req.URL.Path,
		"duration_ms": time.Since(start).Milliseconds(),
	}
	if c := req.Header.Get("X-CmdletName"); c != "" {
		fields["cmdlet"] = c
	}
	if a := req.Header.Get("Retry-Attempt"); a != "" {
		fields["retry_attempt"] = a
	}
	if err != nil {
		fields["error"] = err.Error()
		tflog.Debug(req.Context(), "HTTP request failed", fields)
		return nil, err
	}
	fields["status"] = resp.StatusCode
	for _, h := range []string{"request-id", "client-request-id", "Retry-After", "x-ms-throttle-information", "X-ExceptionType"} {
		if v := resp.Header.Get(h); v != "" {
			fields[h] = v
		}
	}
	tflog.Debug(req.Context(), "HTTP request", fields)
	return resp, nil
}
