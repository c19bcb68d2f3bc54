// Package graph is the provider's small typed client over msgraph-sdk-go. It takes plain Go types
// in and out, so the Terraform layer never imports the SDK's models, and it owns everything the
// wire needs: the base URL and token scope per cloud, the hosts the SDK may send a token to, retries
// that honour Retry-After within the caller's deadline, and waits for read-after-write consistency.
package graph

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoft/kiota-abstractions-go/store"
	khttp "github.com/microsoft/kiota-http-go"
	serform "github.com/microsoft/kiota-serialization-form-go"
	serjson "github.com/microsoft/kiota-serialization-json-go"
	sermultipart "github.com/microsoft/kiota-serialization-multipart-go"
	sertext "github.com/microsoft/kiota-serialization-text-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	msauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"
	"github.com/microsoftgraph/msgraph-sdk-go/domains"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"

	"github.com/m365-migration/terraform-provider-m365/internal/auth"
	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// Config says where Graph is and how to reach it.
type Config struct {
	// Host is the Graph host root, e.g. https://graph.microsoft.com; "/v1.0" is appended.
	Host string
	// Scope is the client-credentials scope, e.g. https://graph.microsoft.com/.default.
	Scope      string
	Credential azcore.TokenCredential
	// Transport is the innermost round tripper (nil: http.DefaultTransport).
	Transport http.RoundTripper
	// Retry tunes the on-the-wire retries of 429/503/504.
	Retry httpx.RetryPolicy
}

// Client talks to Microsoft Graph v1.0.
//
// It builds the request builders it uses (domains, subscribedSkus) directly on the core adapter of
// msgraph-sdk-go-core instead of holding msgraph-sdk-go's GraphServiceClient: that client's
// exported methods reach every request builder of Graph and keep them all in the binary (the
// release build was 130.5 MB with it, 49.4 MB without), and importing its package compiles them
// all. .golangci.yml's depguard denies that package.
type Client struct {
	adapter *msgraphcore.GraphRequestAdapterBase
	baseURL string
	http    *http.Client
}

// sdkVersion is the msgraph-sdk-go version of go.mod, the module whose typed models and request
// builders the client uses. TestRequestBuildersWithoutServiceClient fails when go.mod moves on
// without it.
const sdkVersion = "1.89.0"

// clientOptions are what msgraph-sdk-go's GetDefaultClientOptions returns: no service version
// (v1.0 sends none) and the library version, which the telemetry middleware sends in the
// SdkVersion header ("graph-go/1.89.0, graph-go-core/1.4.0 (hostOS=...)").
func clientOptions() msgraphcore.GraphClientOptions {
	return msgraphcore.GraphClientOptions{GraphServiceLibraryVersion: sdkVersion}
}

// registerSerializers does what msgraph-sdk-go's NewGraphServiceClient does to the process-wide
// kiota registries the adapter reads (nil factories mean those registries): JSON, text, form and
// multipart writers; JSON, text and form parsers.
func registerSerializers() {
	abstractions.RegisterDefaultSerializer(func() serialization.SerializationWriterFactory { return serjson.NewJsonSerializationWriterFactory() })
	abstractions.RegisterDefaultSerializer(func() serialization.SerializationWriterFactory { return sertext.NewTextSerializationWriterFactory() })
	abstractions.RegisterDefaultSerializer(func() serialization.SerializationWriterFactory { return serform.NewFormSerializationWriterFactory() })
	abstractions.RegisterDefaultSerializer(func() serialization.SerializationWriterFactory {
		return sermultipart.NewMultipartSerializationWriterFactory()
	})
	abstractions.RegisterDefaultDeserializer(func() serialization.ParseNodeFactory { return serjson.NewJsonParseNodeFactory() })
	abstractions.RegisterDefaultDeserializer(func() serialization.ParseNodeFactory { return sertext.NewTextParseNodeFactory() })
	abstractions.RegisterDefaultDeserializer(func() serialization.ParseNodeFactory { return serform.NewFormParseNodeFactory() })
}

// pathParameters are those GraphServiceClient hands every request builder: the base URL that
// fills the "{+baseurl}" of the URL templates (query parameters stay with the template).
func (c *Client) pathParameters() map[string]string {
	return map[string]string{"baseurl": c.baseURL}
}

// domains is GraphServiceClient.Domains(): /domains.
func (c *Client) domains() *domains.DomainsRequestBuilder {
	return domains.NewDomainsRequestBuilderInternal(c.pathParameters(), c.adapter)
}

// subscribedSkus is GraphServiceClient.SubscribedSkus(): /subscribedSkus.
func (c *Client) subscribedSkus() *subscribedskus.SubscribedSkusRequestBuilder {
	return subscribedskus.NewSubscribedSkusRequestBuilderInternal(c.pathParameters(), c.adapter)
}

// defaultValidHosts are the hosts msgraph-sdk-go-core attaches a token to by default
// (https://learn.microsoft.com/graph/sdks/national-clouds). Any other host would silently get no Authorization header.
var defaultValidHosts = []string{
	"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "graph.microsoft.de",
	"microsoftgraph.chinacloudapi.cn", "canary.graph.microsoft.com",
}

// New builds a client. It performs no network call; the first request fetches the token.
func New(cfg Config) (*Client, error) {
	if cfg.Credential == nil {
		return nil, errors.New("graph: no credential")
	}
	u, err := url.Parse(strings.TrimRight(cfg.Host, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("graph: the endpoint %q is not an absolute URL such as https://graph.microsoft.com", cfg.Host)
	}
	hosts := append([]string{u.Hostname()}, defaultValidHosts...)
	auth, err := msauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cfg.Credential, []string{cfg.Scope}, hosts)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	retry := cfg.Retry
	retry.OnRetry = observeRetries(cfg.Retry.OnRetry) // lets Bulk see 429s of the $batch POST itself
	wire := httpx.NewRetryTransport(&httpx.LogTransport{Base: base, Service: "graph"}, retry)
	opts := clientOptions()
	var mw []khttp.Middleware
	for _, m := range msgraphcore.GetDefaultMiddlewaresWithOptions(&opts) {
		switch m.(type) {
		case *khttp.RetryHandler, khttp.RetryHandler:
			// Replaced by httpx.RetryTransport below the compression handler: kiota's retry
			// resends an uncompressed body under a gzip header (https://github.com/microsoft/kiota-http-go/issues/183).
			continue
		}
		mw = append(mw, m)
	}
	hc := &http.Client{
		Transport:     khttp.NewCustomTransportWithParentTransport(wire, mw...),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	adapter, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, opts, nil, nil, hc)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	baseURL := u.String() + "/v1.0"
	adapter.SetBaseUrl(baseURL)
	// What NewGraphServiceClient did after the base URL was set: the default serializers, then
	// the backing store (parsed models start clean; PATCH bodies carry only what was set).
	registerSerializers()
	adapter.EnableBackingStore(store.BackingStoreFactoryInstance)
	return &Client{adapter: adapter, baseURL: baseURL, http: hc}, nil
}

// BaseURL is the Graph URL requests go to, with the version.
func (c *Client) BaseURL() string { return c.baseURL }

// Error is a failed Graph call in plain terms.
type Error struct {
	Op         string // what was attempted, e.g. "list subscribed SKUs"
	StatusCode int
	Code       string // Graph error.code, e.g. Request_ResourceNotFound
	Message    string // Graph error.message, in the service's words
	RequestID  string
	Date       string
	RetryAfter time.Duration
	// Auth is set when no token could be obtained (the request never reached Graph).
	Auth bool
	err  error
}

func (e *Error) Error() string {
	switch {
	case e.Auth:
		return fmt.Sprintf("%s: could not get a Microsoft Graph token: %s", e.Op, e.Message)
	case e.Code != "":
		s := fmt.Sprintf("%s: Graph answered %d %s: %s", e.Op, e.StatusCode, e.Code, e.Message)
		if e.RequestID != "" {
			s += fmt.Sprintf(" (request-id %s, date %s)", e.RequestID, e.Date)
		}
		return s
	case e.StatusCode != 0:
		return fmt.Sprintf("%s: Graph answered %d: %s", e.Op, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Op, e.Message)
}

func (e *Error) Unwrap() error { return e.err }

// IsNotFound reports a 404 from Graph.
func IsNotFound(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.StatusCode == http.StatusNotFound
}

// IsForbidden reports a 403 (missing application permission or directory role).
func IsForbidden(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.StatusCode == http.StatusForbidden
}

// IsAuth reports that no token could be obtained.
func IsAuth(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Auth
}

// wrap converts what the SDK returns into *Error.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	out := &Error{Op: op, err: err}
	var oe *odataerrors.ODataError
	var ae *azidentity.AuthenticationFailedError
	switch {
	case errors.As(err, &oe):
		out.StatusCode = oe.ResponseStatusCode
		if me := oe.GetErrorEscaped(); me != nil {
			out.Code = deref(me.GetCode())
			out.Message = deref(me.GetMessage())
			if ie := me.GetInnerError(); ie != nil {
				out.RequestID = deref(ie.GetRequestId())
				if d := ie.GetDate(); d != nil {
					out.Date = d.UTC().Format(time.RFC3339)
				}
			}
		}
		if oe.ResponseHeaders != nil {
			if v := oe.ResponseHeaders.Get("Retry-After"); len(v) > 0 {
				h := http.Header{}
				h.Set("Retry-After", v[0])
				if d := httpx.RetryAfter(h, time.Now()); d >= 0 {
					out.RetryAfter = d
				}
			}
		}
		if out.Message == "" {
			out.Message = "no error message in the answer"
		}
	case errors.As(err, &ae):
		out.Auth = true
		out.Message = auth.Explain(ae)
	default:
		var ce interface{ NonRetriable() }
		if errors.As(err, &ce) || strings.Contains(err.Error(), "authentication failed") || strings.Contains(err.Error(), "Credential") {
			out.Auth = true
		}
		out.Message = err.Error()
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Problem is what an admin must fix about a refused Graph write. Graph answers these with the
// generic Request_BadRequest code and tells them apart only in error.message
// (https://learn.microsoft.com/graph/api/user-post-users, https://learn.microsoft.com/graph/errors),
// so the client reads its messages here, once, and callers decide on the Problem.
type Problem int

// Problems of refused writes.
const (
	ProblemOther Problem = iota
	// ProblemNameTaken: "Another object with the same value for property userPrincipalName
	// already exists" (a live or a deleted user holds the name).
	ProblemNameTaken
	// ProblemPassword: the password does not meet the complexity requirements.
	ProblemPassword
	// ProblemDomain: the user principal name's domain is not a verified domain of the tenant.
	ProblemDomain
	// ProblemPrivileges: Authorization_RequestDenied / "Insufficient privileges".
	ProblemPrivileges
)

// ProblemOf classifies err (nil or not a Graph error: ProblemOther).
func ProblemOf(err error) Problem {
	var e *Error
	if !errors.As(err, &e) {
		return ProblemOther
	}
	msg := strings.ToLower(e.Message)
	switch {
	case strings.EqualFold(e.Code, "Authorization_RequestDenied") || strings.Contains(msg, "insufficient privileges"):
		return ProblemPrivileges
	case strings.Contains(msg, "already exists"):
		return ProblemNameTaken
	case strings.Contains(msg, "password"):
		return ProblemPassword
	case strings.Contains(msg, "domain"):
		return ProblemDomain
	}
	return ProblemOther
}
