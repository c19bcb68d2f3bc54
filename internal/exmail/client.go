// Package exmail is a client for Tencent Exmail's (腾讯企业邮箱) open API, the current protocol on
// https://api.exmail.qq.com (https://exmail.qq.com/qy_mng_logic/doc#10001): the address book
// (通讯录管理: departments, members, aliases, batchcheck, member password), the per-member
// function settings (功能设置: the IMAP/SMTP switch and the 安全登录 state) and the system log
// (系统日志: login log).
//
// Each of those apps has its own secret (corpsecret); a token obtained with one works only on that
// app's endpoints. Tokens are cached for their lifetime and fetched again, once, when the service
// answers one of the invalid/expired-token codes. Every answer is an errcode/errmsg envelope; a
// non-zero errcode becomes an *Error keeping both. Requests are paced (golang.org/x/time/rate) and
// retried on "system busy". No secret, token or password is ever logged or put in an error: the
// access_token and corpsecret query parameters are redacted from every URL the package reports.
//
// The package knows nothing of Terraform.
package exmail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// DefaultEndpoint is the API's host root.
const DefaultEndpoint = "https://api.exmail.qq.com"

// App is one of the open API's apps; each has its own secret.
type App string

// The apps this client uses.
const (
	Contacts App = "contacts" // 通讯录管理: departments, members, aliases, passwords
	Options  App = "options"  // 功能设置: useroption (IMAP/SMTP, POP/SMTP, 安全登录)
	Log      App = "log"      // 系统日志: log/login
)

// AppName is the app's name in the Exmail admin console.
func (a App) AppName() string {
	switch a {
	case Contacts:
		return "通讯录管理"
	case Options:
		return "功能设置"
	case Log:
		return "系统日志"
	}
	return string(a)
}

// Error codes the client acts on. 40001 is documented ("invalid credential", wrong corp id or
// secret); 40014 is what SDKs refresh the token on; 42001 (expired) and -1 (busy) are the WeCom
// codes and UNCONFIRMED for Exmail, as are the "not found" codes: the client treats each of them
// by code and keeps errmsg for the user.
const (
	CodeBusy          = -1
	CodeInvalidSecret = 40001
	CodeInvalidToken  = 40014
	CodeMissingToken  = 41001
	CodeExpiredToken  = 42001
	CodeLogRange      = 601002
)

// notFoundCodes are the errcodes read as "no such member/department" (WeCom's 60111, 60003,
// 60123; UNCONFIRMED for Exmail).
var notFoundCodes = map[int]bool{60111: true, 60003: true, 60123: true}

// Error is a non-zero errcode answer.
type Error struct {
	Code    int
	Message string // errmsg, in the service's words
	Path    string // the endpoint, e.g. /cgi-bin/user/get
}

func (e *Error) Error() string {
	return fmt.Sprintf("exmail %s: errcode %d: %s", e.Path, e.Code, e.Message)
}

// Code returns the errcode of an *Error in err's chain, or 0.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsNotFound reports an unknown member or department.
func IsNotFound(err error) bool { return notFoundCodes[Code(err)] }

// IsInvalidCredential reports a wrong corp id or app secret.
func IsInvalidCredential(err error) bool { return Code(err) == CodeInvalidSecret }

// Config configures New.
type Config struct {
	// Endpoint is the host root (default DefaultEndpoint); the client appends /cgi-bin/....
	Endpoint string
	CorpID   string
	// Secrets holds the secret of each app the caller will use; a call to an app without one
	// fails with ErrNoSecret.
	Secrets map[App]string
	// HTTPClient, when nil, is a client with a 60 s timeout that logs each exchange through
	// httpx.LogTransport (service "exmail").
	HTTPClient *http.Client
	// RequestsPerSecond paces requests (default 5; no rate is documented, Tencent calls its
	// limits confidential).
	RequestsPerSecond float64
	// BusyRetries is how often a "system busy" answer is retried (default 4).
	BusyRetries int
}

// ErrNoSecret is returned for a call to an app whose secret was not configured.
type ErrNoSecret struct{ App App }

func (e *ErrNoSecret) Error() string {
	return fmt.Sprintf("no secret configured for the Exmail app %s (%s)", e.App, e.App.AppName())
}

// Client is safe for concurrent use.
type Client struct {
	base    string
	corpID  string
	secrets map[App]string
	http    *http.Client
	limiter *rate.Limiter
	retries int

	mu     sync.Mutex
	tokens map[App]cachedToken
	// tokenFetches counts gettoken calls (tests).
	tokenFetches int
}

type cachedToken struct {
	value   string
	expires time.Time
}

// New builds a client.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(cfg.Endpoint, "/")
	if base == "" {
		base = DefaultEndpoint
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("exmail endpoint %q is not an http(s) host root", cfg.Endpoint)
	}
	if cfg.CorpID == "" {
		return nil, errors.New("exmail corp id is empty")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second, Transport: &httpx.LogTransport{Base: http.DefaultTransport, Service: "exmail"}}
	}
	rps := cfg.RequestsPerSecond
	if rps <= 0 {
		rps = 5
	}
	retries := cfg.BusyRetries
	if retries == 0 {
		retries = 4
	}
	secrets := map[App]string{}
	for k, v := range cfg.Secrets {
		if v != "" {
			secrets[k] = v
		}
	}
	return &Client{base: base, corpID: cfg.CorpID, secrets: secrets, http: hc,
		limiter: rate.NewLimiter(rate.Limit(rps), max(1, int(rps))), retries: retries, tokens: map[App]cachedToken{}}, nil
}

// Endpoint is the host root in use.
func (c *Client) Endpoint() string { return c.base }

// CorpID is the corp id in use.
func (c *Client) CorpID() string { return c.corpID }

// HasSecret tells whether the app's secret is configured.
func (c *Client) HasSecret(app App) bool { return c.secrets[app] != "" }

// TokenFetches is the number of gettoken calls so far.
func (c *Client) TokenFetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokenFetches
}

// token returns the app's cached token or fetches one. A token is kept until a minute before
// expires_in runs out.
func (c *Client) token(ctx context.Context, app App) (string, error) {
	secret := c.secrets[app]
	if secret == "" {
		return "", &ErrNoSecret{App: app}
	}
	c.mu.Lock()
	t, ok := c.tokens[app]
	c.mu.Unlock()
	if ok && time.Now().Before(t.expires) {
		return t.value, nil
	}
	q := url.Values{"corpid": {c.corpID}, "corpsecret": {secret}}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.do(ctx, http.MethodGet, "/cgi-bin/gettoken", q, nil, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", &Error{Code: 0, Message: "gettoken answered without access_token", Path: "/cgi-bin/gettoken"}
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	if life <= 0 {
		life = 7200 * time.Second // the documented lifetime
	}
	// Renew a little early, but never keep a token past half its life when it is short.
	life -= min(time.Minute, life/2)
	c.mu.Lock()
	c.tokens[app] = cachedToken{value: out.AccessToken, expires: time.Now().Add(life)}
	c.tokenFetches++
	c.mu.Unlock()
	return out.AccessToken, nil
}

func (c *Client) dropToken(app App, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[app]; ok && t.value == value {
		delete(c.tokens, app)
	}
}

// call runs one business request with the app's token; on an invalid/expired-token answer it
// drops the token and tries once more with a new one.
func (c *Client) call(ctx context.Context, app App, method, path string, q url.Values, body, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx, app)
		if err != nil {
			return err
		}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("access_token", tok)
		err = c.do(ctx, method, path, qq, body, out)
		switch Code(err) {
		case CodeInvalidToken, CodeExpiredToken, CodeMissingToken, CodeInvalidSecret:
			// 40001 on a business call also means "get a new token" to SDKs that met it.
			if attempt == 0 {
				c.dropToken(app, tok)
				continue
			}
		}
		return err
	}
}

// envelope is the errcode/errmsg every answer carries.
type envelope struct {
	ErrCode *json.Number `json:"errcode"`
	ErrMsg  string       `json:"errmsg"`
}

// do sends one request, paced, and retries "system busy" answers with a growing delay. out gets
// the whole answer (decoded with UseNumber semantics where the type asks for json.Number).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // raw UTF-8 Chinese, as the SDKs send it
		if err := enc.Encode(body); err != nil {
			return err
		}
		payload = buf.Bytes()
	}
	delay := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, method, path, q, payload, out)
		if Code(err) != CodeBusy || attempt >= c.retries {
			return err
		}
		if e := httpx.Sleep(ctx, delay); e != nil {
			return errors.Join(err, e)
		}
		delay = min(delay*2, 8*time.Second)
	}
}

func (c *Client) once(ctx context.Context, method, path string, q url.Values, payload []byte, out any) error {
	if err := c.limiter.Wait(ctx); err != nil {
		return err
	}
	u := c.base + path + "?" + q.Encode()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("exmail %s %s: %v", method, path, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error carries the URL with the token or secret: report the path only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("exmail %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("exmail %s %s: reading the answer: %w", method, path, err)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil || env.ErrCode == nil {
		// Not the envelope (a proxy's page, an HTTP error): the status and a bounded excerpt.
		return fmt.Errorf("exmail %s %s: HTTP %d, not an errcode/errmsg answer: %.200q", method, path, resp.StatusCode, data)
	}
	code, err := strconv.Atoi(env.ErrCode.String())
	if err != nil {
		return fmt.Errorf("exmail %s %s: errcode %q is not an integer", method, path, env.ErrCode.String())
	}
	if code != 0 {
		return &Error{Code: code, Message: env.ErrMsg, Path: path}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("exmail %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}
