package exchange

import (
	"context"
	"strings"
)

// Endpoint is an IMAP migration endpoint as Get-MigrationEndpoint describes it.
type Endpoint struct {
	Identity                      string
	GUID                          string
	EndpointType                  string
	RemoteServer                  string
	Port                          int64
	Security                      string
	Authentication                string
	AcceptUntrustedCertificates   bool
	MaxConcurrentMigrations       int64 // -1 = Unlimited
	MaxConcurrentIncrementalSyncs int64 // -1 = Unlimited
	ActiveMigrationCount          int64
	ActiveIncrementalSyncCount    int64
}

func endpointFrom(o Object) Endpoint {
	unl := func(k string) int64 {
		if o.Unlimited(k) {
			return -1
		}
		return o.IntOr(k, 0)
	}
	return Endpoint{
		Identity:                      o.Identity("Identity"),
		GUID:                          strings.ToLower(o.String("Guid")),
		EndpointType:                  o.String("EndpointType"),
		RemoteServer:                  o.String("RemoteServer"),
		Port:                          o.IntOr("Port", 0),
		Security:                      o.String("Security"),
		Authentication:                o.String("Authentication"),
		AcceptUntrustedCertificates:   o.Bool("AcceptUntrustedCertificates"),
		MaxConcurrentMigrations:       unl("MaxConcurrentMigrations"),
		MaxConcurrentIncrementalSyncs: unl("MaxConcurrentIncrementalSyncs"),
		ActiveMigrationCount:          o.IntOr("ActiveMigrationCount", 0),
		ActiveIncrementalSyncCount:    o.IntOr("ActiveIncrementalSyncCount", 0),
	}
}

// GetMigrationEndpoint reads one endpoint by name or GUID. A generic Exchange Get-* with an
// identity that matches nothing may return every object (https://learn.microsoft.com/powershell/module/exchangepowershell/get-migrationendpoint), so the answer is
// checked against the identity asked for; a mismatch is reported as not found.
func (c *Client) GetMigrationEndpoint(ctx context.Context, identity string) (*Endpoint, error) {
	res, err := c.Invoke(ctx, "Get-MigrationEndpoint", map[string]any{"Identity": identity})
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects {
		ep := endpointFrom(o)
		if strings.EqualFold(ep.Identity, identity) || strings.EqualFold(ep.GUID, identity) {
			return &ep, nil
		}
	}
	return nil, &Error{Cmdlet: "Get-MigrationEndpoint", Kind: KindNotFound, Message: "the migration endpoint \"" + identity + "\" can't be found"}
}

// ListMigrationEndpoints reads every endpoint (all pages).
func (c *Client) ListMigrationEndpoints(ctx context.Context) ([]Endpoint, error) {
	res, err := c.Invoke(ctx, "Get-MigrationEndpoint", nil)
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, 0, len(res.Objects))
	for _, o := range res.Objects {
		out = append(out, endpointFrom(o))
	}
	return out, nil
}
