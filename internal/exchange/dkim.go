package exchange

import (
	"context"
	"strings"
)

// DkimSigningConfig is a domain's DKIM signing configuration (Get-DkimSigningConfig,
// https://learn.microsoft.com/powershell/module/exchange/get-dkimsigningconfig).
type DkimSigningConfig struct {
	Identity string
	Domain   string
	Enabled  bool
	// Status is NoDKIMKeys, CnameMissing or Valid.
	Status string
	// Selector1CNAME and Selector2CNAME are the targets of the selector1._domainkey and
	// selector2._domainkey CNAMEs, exactly as the service returns them. Their format changed in
	// May 2025 (…<prefix>.<char>-v1.dkim.mail.microsoft instead of …<initial domain>); never build
	// them by hand
	// (https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure).
	Selector1CNAME   string
	Selector2CNAME   string
	Selector1KeySize int64
	Selector2KeySize int64
}

func dkimFrom(o Object) DkimSigningConfig {
	d := DkimSigningConfig{
		Identity: o.Identity("Identity"), Domain: o.String("Domain"), Enabled: o.Bool("Enabled"), Status: o.String("Status"),
		Selector1CNAME: strings.TrimSuffix(o.String("Selector1CNAME"), "."), Selector2CNAME: strings.TrimSuffix(o.String("Selector2CNAME"), "."),
		Selector1KeySize: o.IntOr("Selector1KeySize", 0), Selector2KeySize: o.IntOr("Selector2KeySize", 0),
	}
	if d.Domain == "" {
		d.Domain = o.String("Name")
	}
	if d.Domain == "" {
		d.Domain = d.Identity
	}
	return d
}

// NewDkimSigningConfig creates the DKIM signing configuration of a custom domain with signing
// disabled, Microsoft's documented first step: the selector CNAMEs must be published before
// signing can be enabled. keySize 0 lets the service choose (1024).
func (c *Client) NewDkimSigningConfig(ctx context.Context, domain string, keySize int64) (*DkimSigningConfig, error) {
	params := map[string]any{"DomainName": domain, "Enabled": false}
	if keySize > 0 {
		params["KeySize"] = keySize
	}
	res, err := c.Invoke(ctx, "New-DkimSigningConfig", params)
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects {
		if d := dkimFrom(o); strings.EqualFold(d.Domain, domain) || strings.EqualFold(d.Identity, domain) {
			return &d, nil
		}
	}
	return c.GetDkimSigningConfig(ctx, domain)
}

// GetDkimSigningConfig reads a domain's configuration. A domain without one may make the service
// list every configuration, so the answer is checked against the domain; a mismatch is
// KindNotFound.
func (c *Client) GetDkimSigningConfig(ctx context.Context, domain string) (*DkimSigningConfig, error) {
	res, err := c.Invoke(ctx, "Get-DkimSigningConfig", map[string]any{"Identity": domain})
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects {
		if d := dkimFrom(o); strings.EqualFold(d.Domain, domain) || strings.EqualFold(d.Identity, domain) {
			return &d, nil
		}
	}
	return nil, &Error{Cmdlet: "Get-DkimSigningConfig", Kind: KindNotFound, Message: "the domain " + domain + " has no DKIM signing configuration"}
}

// SetDkimSigningConfig switches signing on or off. Switching it on fails with
// KindDKIMCNAMEMissing until Microsoft sees both selector CNAMEs in DNS.
func (c *Client) SetDkimSigningConfig(ctx context.Context, domain string, enabled bool) error {
	_, err := c.Invoke(ctx, "Set-DkimSigningConfig", map[string]any{"Identity": domain, "Enabled": enabled})
	return err
}
