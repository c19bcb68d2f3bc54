// Package exchange is a client for Exchange Online's admin API InvokeCommand endpoint
// (POST {host}/adminapi/beta/{tenant}/InvokeCommand), the HTTP form of the PowerShell cmdlets
// that manage migration endpoints and batches
// (https://learn.microsoft.com/powershell/module/exchangepowershell/new-migrationbatch and its
// siblings). The endpoint is undocumented: its shapes are observed in the ExchangeOnlineManagement
// module's traffic (UNCONFIRMED; see https://michev.info/blog/post/5822/all-you-need-to-know-about-exchange-online-admin-api-or-how-to-run-cmdlets-without-powershell),
// so this client decodes leniently and classifies the service's errors.
package exchange

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/m365-migration/terraform-provider-m365/internal/auth"
	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// Config says where the Exchange admin API is and how to reach it.
type Config struct {
	// Host is the Exchange host root, e.g. https://outlook.office365.com.
	Host string
	// Scope is the client-credentials scope, e.g. https://outlook.office365.com/.default.
	Scope string
	// TenantID is the tenant GUID (or initial domain) used in the path and the anchor header.
	TenantID   string
	Credential azcore.TokenCredential
	// Transport is the innermost round tripper (nil: http.DefaultTransport).
	Transport http.RoundTripper
	Retry     httpx.RetryPolicy
	// PageSize is sent as Prefer: odata.maxpagesize (default 1000).
	PageSize int
}

// Client runs cmdlets.
type Client struct {
	cfg  Config
	url  string
	http *http.Client
}

// concurrencyText is the plain-text throttling answer the service may send with any status
// (observed by the ExoHelper module, https://github.com/GreyCorbel/ExoHelper; UNCONFIRMED).
const concurrencyText = "maximum number of concurrent requests"

// New builds a client. It performs no network call.
func New(cfg Config) (*Client, error) {
	if cfg.Credential == nil {
		return nil, errors.New("exchange: no credential")
	}
	u, err := url.Parse(strings.TrimRight(cfg.Host, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("exchange: the endpoint %q is not an absolute URL such as https://outlook.office365.com", cfg.Host)
	}
	if cfg.TenantID == "" {
		return nil, errors.New("exchange: no tenant")
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 1000
	}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	policy := cfg.Retry
	policy.PeekBody = true
	policy.Retryable = func(resp *http.Response, body []byte) bool {
		return httpx.DefaultRetryable(resp, body) || bytes.Contains(body, []byte(concurrencyText))
	}
	wire := httpx.NewRetryTransport(&httpx.LogTransport{Base: base, Service: "exchange"}, policy)
	c := &Client{
		cfg: cfg,
		url: u.String() + "/adminapi/beta/" + url.PathEscape(cfg.TenantID) + "/InvokeCommand",
		http: &http.Client{
			Transport: wire,
			// Redirects are followed by hand so that the POST body is sent again (Go turns a
			// 302 POST into a GET without a body).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	return c, nil
}

// URL is the InvokeCommand URL.
func (c *Client) URL() string { return c.url }

// Object is one item of a cmdlet's output: a property bag, with the `@odata` annotations removed.
type Object map[string]json.RawMessage

// Result is a cmdlet's output.
type Result struct {
	Objects  []Object
	Warnings []string
}

type invokeBody struct {
	CmdletInput cmdletInput `json:"CmdletInput"`
}

type cmdletInput struct {
	CmdletName string         `json:"CmdletName"`
	Parameters map[string]any `json:"Parameters,omitempty"`
}

type envelope struct {
	Value    []map[string]json.RawMessage `json:"value"`
	NextLink string                       `json:"@odata.nextLink"`
	Warnings []string                     `json:"@adminapi.warnings"`
	Errors   json.RawMessage              `json:"@adminapi.errors"`
}

// Invoke runs one cmdlet and follows @odata.nextLink to the end.
func (c *Client) Invoke(ctx context.Context, cmdlet string, params map[string]any) (*Result, error) {
	body, err := json.Marshal(invokeBody{CmdletInput: cmdletInput{CmdletName: cmdlet, Parameters: params}})
	if err != nil {
		return nil, fmt.Errorf("%s: encoding parameters: %w", cmdlet, err)
	}
	res := &Result{}
	target := c.url
	for page := 0; target != ""; page++ {
		env, err := c.post(ctx, cmdlet, target, body)
		if err != nil {
			return nil, err
		}
		for _, v := range env.Value {
			res.Objects = append(res.Objects, stripAnnotations(v))
		}
		res.Warnings = append(res.Warnings, env.Warnings...)
		if e := adminErrors(cmdlet, env.Errors); e != nil {
			return res, e
		}
		target = env.NextLink
		if page > 10000 {
			return nil, fmt.Errorf("%s: the service kept sending @odata.nextLink after 10000 pages", cmdlet)
		}
	}
	return res, nil
}

func (c *Client) post(ctx context.Context, cmdlet, target string, body []byte) (*envelope, error) {
	tok, err := c.cfg.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.cfg.Scope}})
	if err != nil {
		return nil, &Error{Cmdlet: cmdlet, Kind: KindAuth, Message: auth.Explain(err), err: err}
	}
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-ResponseFormat", "json")
		req.Header.Set("X-CmdletName", cmdlet)
		req.Header.Set("X-ClientApplication", "terraform-provider-m365")
		req.Header.Set("X-AnchorMailbox", "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"+c.cfg.TenantID)
		req.Header.Set("Prefer", fmt.Sprintf("odata.maxpagesize=%d", c.cfg.PageSize))
		req.Header.Set("client-request-id", newGUID())
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, &Error{Cmdlet: cmdlet, Kind: KindOther, Message: err.Error(), err: err}
		}
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		_ = resp.Body.Close()
		if rerr != nil {
			return nil, &Error{Cmdlet: cmdlet, Kind: KindOther, HTTPStatus: resp.StatusCode, Message: "reading the answer: " + rerr.Error()}
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			loc, err := resp.Location()
			if err != nil || hops >= 5 {
				return nil, &Error{Cmdlet: cmdlet, Kind: KindOther, HTTPStatus: resp.StatusCode, Message: "the service redirected without a usable Location, or more than 5 times"}
			}
			// The regional redirect sometimes names port 446, which clients rewrite to 443
			// (observed by third-party clients of the endpoint; UNCONFIRMED).
			if loc.Port() == "446" {
				loc.Host = loc.Hostname() + ":443"
			}
			target = loc.String()
			continue
		}
		if resp.StatusCode == http.StatusNoContent || (resp.StatusCode/100 == 2 && len(bytes.TrimSpace(data)) == 0) {
			return &envelope{}, nil
		}
		if resp.StatusCode/100 != 2 {
			return nil, decodeError(cmdlet, resp, data)
		}
		var env envelope
		if err := json.Unmarshal(data, &env); err != nil {
			return nil, &Error{Cmdlet: cmdlet, Kind: KindOther, HTTPStatus: resp.StatusCode, Message: "the answer is not the expected JSON: " + truncate(string(data), 200)}
		}
		return &env, nil
	}
}

func stripAnnotations(v map[string]json.RawMessage) Object {
	o := make(Object, len(v))
	for k, raw := range v {
		if strings.Contains(k, "@odata") || strings.HasPrefix(k, "@") {
			continue
		}
		o[k] = raw
	}
	return o
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
