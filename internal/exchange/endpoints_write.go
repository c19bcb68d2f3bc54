package exchange

import (
	"context"
	"strings"
)

// Unlimited is the value of MaxConcurrentMigrations / MaxConcurrentIncrementalSyncs that means
// "Unlimited" (as in Endpoint).
const Unlimited int64 = -1

// unlimitedParam renders an Unlimited<int> parameter: "Unlimited" or the number.
func unlimitedParam(n int64) any {
	if n < 0 {
		return "Unlimited"
	}
	return n
}

// NewEndpointParams are New-MigrationEndpoint's IMAP parameters.
type NewEndpointParams struct {
	// Name is required; it cannot be changed later.
	Name         string
	RemoteServer string
	// Port: 0 lets the service choose (993).
	Port int64
	// Security: None | Ssl | Tls. Always send it: the service default is UNCONFIRMED.
	Security string
	// Authentication: Basic | Ntlm; "" lets the service choose (Basic).
	Authentication              string
	AcceptUntrustedCertificates bool
	// MaxConcurrentMigrations and MaxConcurrentIncrementalSyncs: nil lets the service choose (100
	// and 20); Unlimited (-1) sends "Unlimited".
	MaxConcurrentMigrations       *int64
	MaxConcurrentIncrementalSyncs *int64
	// SkipVerification creates the endpoint without connecting to the server first.
	SkipVerification bool
}

// NewMigrationEndpoint creates an IMAP migration endpoint. Unless SkipVerification is set the
// service connects to the server first and refuses an endpoint it cannot reach.
func (c *Client) NewMigrationEndpoint(ctx context.Context, p NewEndpointParams) (*Endpoint, error) {
	params := map[string]any{"IMAP": true, "Name": p.Name, "RemoteServer": p.RemoteServer}
	if p.Port != 0 {
		params["Port"] = p.Port
	}
	if p.Security != "" {
		params["Security"] = p.Security
	}
	if p.Authentication != "" {
		params["Authentication"] = p.Authentication
	}
	if p.AcceptUntrustedCertificates {
		params["AcceptUntrustedCertificates"] = true // a switch on New-MigrationEndpoint
	}
	if p.MaxConcurrentMigrations != nil {
		params["MaxConcurrentMigrations"] = unlimitedParam(*p.MaxConcurrentMigrations)
	}
	if p.MaxConcurrentIncrementalSyncs != nil {
		params["MaxConcurrentIncrementalSyncs"] = unlimitedParam(*p.MaxConcurrentIncrementalSyncs)
	}
	if p.SkipVerification {
		params["SkipVerification"] = true
	}
	res, err := c.Invoke(ctx, "New-MigrationEndpoint", params)
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects {
		if ep := endpointFrom(o); strings.EqualFold(ep.Identity, p.Name) {
			return &ep, nil
		}
	}
	// Some cmdlets answer without the object; the caller reads it back (with the lag in mind).
	return &Endpoint{Identity: p.Name, EndpointType: "IMAP", RemoteServer: p.RemoteServer, Port: p.Port,
		Security: p.Security, Authentication: p.Authentication, AcceptUntrustedCertificates: p.AcceptUntrustedCertificates}, nil
}

// SetEndpointParams are Set-MigrationEndpoint's parameters; nil fields are left unchanged.
// The name cannot be changed.
type SetEndpointParams struct {
	Identity       string
	RemoteServer   *string
	Port           *int64
	Security       *string
	Authentication *string
	// AcceptUntrustedCertificates is a Boolean here (a switch on New-MigrationEndpoint).
	AcceptUntrustedCertificates   *bool
	MaxConcurrentMigrations       *int64
	MaxConcurrentIncrementalSyncs *int64
	SkipVerification              bool
}

// SetMigrationEndpoint changes an endpoint. It returns the service's warnings (e.g. "no settings
// have been modified").
func (c *Client) SetMigrationEndpoint(ctx context.Context, p SetEndpointParams) ([]string, error) {
	params := map[string]any{"Identity": p.Identity}
	if p.RemoteServer != nil {
		params["RemoteServer"] = *p.RemoteServer
	}
	if p.Port != nil {
		params["Port"] = *p.Port
	}
	if p.Security != nil {
		params["Security"] = *p.Security
	}
	if p.Authentication != nil {
		params["Authentication"] = *p.Authentication
	}
	if p.AcceptUntrustedCertificates != nil {
		params["AcceptUntrustedCertificates"] = *p.AcceptUntrustedCertificates
	}
	if p.MaxConcurrentMigrations != nil {
		params["MaxConcurrentMigrations"] = unlimitedParam(*p.MaxConcurrentMigrations)
	}
	if p.MaxConcurrentIncrementalSyncs != nil {
		params["MaxConcurrentIncrementalSyncs"] = unlimitedParam(*p.MaxConcurrentIncrementalSyncs)
	}
	if p.SkipVerification {
		params["SkipVerification"] = true
	}
	res, err := c.Invoke(ctx, "Set-MigrationEndpoint", params)
	if err != nil {
		return nil, err
	}
	return res.Warnings, nil
}

// RemoveMigrationEndpoint deletes an endpoint (Confirm:$false). The service refuses while a batch
// uses it (UNCONFIRMED); remove the batches first.
func (c *Client) RemoveMigrationEndpoint(ctx context.Context, identity string) error {
	_, err := c.Invoke(ctx, "Remove-MigrationEndpoint", map[string]any{"Identity": identity, "Confirm": false})
	return err
}

// ServerTest are Test-MigrationServerAvailability's parameters: either Endpoint (an existing
// endpoint) or the IMAP settings.
type ServerTest struct {
	Endpoint                    string
	RemoteServer                string
	Port                        int64
	Security                    string
	Authentication              string
	AcceptUntrustedCertificates bool
}

// ServerAvailability is Test-MigrationServerAvailability's outcome.
type ServerAvailability struct {
	// Result is Success, Failed or Warning.
	Result          string
	Message         string
	ErrorDetail     string
	SupportsCutover bool
}

// OK reports a successful test.
func (a *ServerAvailability) OK() bool { return strings.EqualFold(a.Result, "Success") }

// TestMigrationServerAvailability asks the service to connect to an IMAP server. A failed
// connection is a normal answer with Result "Failed" (UNCONFIRMED against a 400, which is
// returned as an error).
func (c *Client) TestMigrationServerAvailability(ctx context.Context, t ServerTest) (*ServerAvailability, error) {
	params := map[string]any{}
	if t.Endpoint != "" {
		params["Endpoint"] = t.Endpoint
	} else {
		params["Imap"] = true
		params["RemoteServer"] = t.RemoteServer
		port := t.Port
		if port == 0 {
			port = 993
		}
		params["Port"] = port
		if t.Security != "" {
			params["Security"] = t.Security
		}
		if t.Authentication != "" {
			params["Authentication"] = t.Authentication
		}
		if t.AcceptUntrustedCertificates {
			params["AcceptUntrustedCertificates"] = true
		}
	}
	res, err := c.Invoke(ctx, "Test-MigrationServerAvailability", params)
	if err != nil {
		return nil, err
	}
	if len(res.Objects) == 0 {
		return nil, &Error{Cmdlet: "Test-MigrationServerAvailability", Kind: KindOther, Message: "the service answered without a result"}
	}
	o := res.Objects[0]
	return &ServerAvailability{
		Result: o.String("Result"), Message: o.String("Message"), ErrorDetail: o.String("ErrorDetail"),
		SupportsCutover: o.Bool("SupportsCutover"),
	}, nil
}
