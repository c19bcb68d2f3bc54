package fakecloud

// DKIM signing configurations over InvokeCommand: New/Get/Set-DkimSigningConfig
// (https://learn.microsoft.com/powershell/module/exchange/new-dkimsigningconfig and
// https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure). A custom
// domain has no configuration until New-DkimSigningConfig; then Enabled is false and Status
// CnameMissing until Set-DkimSigningConfig -Enabled $true finds both selector CNAMEs in DNS (the
// server of the dns_server knob).

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DKIM CNAME formats (Knobs.DKIMCNAMEFormat).
const (
	// DKIMFormatV1 is the format of custom domains set up since May 2025:
	// selector1-contoso-com._domainkey.<initial domain prefix>.<partition char>-v1.dkim.mail.microsoft.
	DKIMFormatV1 = "v1"
	// DKIMFormatLegacy is the earlier format: selector1-contoso-com._domainkey.<initial domain>.
	DKIMFormatLegacy = "legacy"
)

// DkimSigningConfig is one domain's DKIM signing configuration.
type DkimSigningConfig struct {
	Domain         string    `json:"domain"`
	GUID           string    `json:"guid"`
	Enabled        bool      `json:"enabled"`
	Status         string    `json:"status"` // CnameMissing | Valid
	Selector1CNAME string    `json:"selector1_cname"`
	Selector2CNAME string    `json:"selector2_cname"`
	KeySize        int       `json:"key_size"`
	Created        time.Time `json:"created"`
}

const dkimValidationException = "Microsoft.Exchange.Management.Tasks.ValidationException"

func init() {
	registerCmdlet("New-DkimSigningConfig", []string{"DomainName", "Enabled", "KeySize", "BodyCanonicalization", "HeaderCanonicalization"}, cmdNewDkimSigningConfig)
	registerCmdlet("Get-DkimSigningConfig", []string{"Identity"}, cmdGetDkimSigningConfig)
	registerCmdlet("Set-DkimSigningConfig", []string{"Identity", "Enabled", "BodyCanonicalization", "HeaderCanonicalization", "PublishTxtRecords"}, cmdSetDkimSigningConfig)
}

// dkimCNAMEs issues the two selector targets of a domain in the configured format. The partition
// character of the v1 format is assigned by Microsoft per domain ("n", "r", "q" seen); here it is
// derived from the domain name. The 21Vianet form is UNCONFIRMED: the legacy form on the tenant's
// initial domain (*.partner.onmschina.cn) is used there by default.
func dkimCNAMEs(st *State, k Knobs, domain string) (string, string) {
	format := k.DKIMCNAMEFormat
	if format == "" {
		format = DKIMFormatLegacy
		if st.Environment == "" || st.Environment == "global" {
			format = DKIMFormatV1
		}
	}
	dashed := strings.ReplaceAll(domain, ".", "-")
	suffix := st.InitialDomain
	if format == DKIMFormatV1 {
		prefix, _, _ := strings.Cut(st.InitialDomain, ".")
		h := fnv.New32a()
		_, _ = h.Write([]byte(domain))
		const chars = "nrqpstuvwxyz"
		suffix = fmt.Sprintf("%s.%c-v1.dkim.mail.microsoft", prefix, chars[h.Sum32()%uint32(len(chars))])
	}
	return "selector1-" + dashed + "._domainkey." + suffix, "selector2-" + dashed + "._domainkey." + suffix
}

func dkimObject(c DkimSigningConfig) map[string]any {
	return map[string]any{
		"Identity": c.Domain, "Name": c.Domain, "Domain": c.Domain, "Guid": c.GUID, "Guid@odata.type": "#Guid",
		"Enabled": c.Enabled, "Status": c.Status, "Selector1CNAME": c.Selector1CNAME, "Selector2CNAME": c.Selector2CNAME,
		"Selector1KeySize": c.KeySize, "Selector2KeySize": c.KeySize, "BodyCanonicalization": "Relaxed", "HeaderCanonicalization": "Relaxed",
		"KeyCreationTime": c.Created.Format(time.RFC3339), "KeyCreationTime@data.type": "System.DateTime",
	}
}

func dkimNotFound(id string) *ExoError {
	return NotFound(fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on 'fakecloud.PROD.OUTLOOK.COM'.", id))
}

func cmdNewDkimSigningConfig(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	domain, err := p.String("DomainName")
	if err != nil {
		return nil, err
	}
	if domain == "" || !p.Has("Enabled") {
		return nil, missingMandatory("DomainName", "Enabled")
	}
	enabled, err := p.Bool("Enabled")
	if err != nil {
		return nil, err
	}
	keySize, err := p.Int("KeySize", 1024)
	if err != nil {
		return nil, err
	}
	if keySize != 1024 && keySize != 2048 {
		return nil, Invalid(ParameterBinding, fmt.Sprintf("Cannot validate argument on parameter 'KeySize'. The argument \"%d\" does not belong to the set \"1024,2048\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.", keySize))
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	k := ctx.Server().Knobs()
	var cfg DkimSigningConfig
	var pre *ExoError
	ctx.Read(func(st *State) {
		d, ok := st.Domains[domain]
		switch {
		case !ok || !d.IsVerified:
			pre = Invalid(recipientTaskError, fmt.Sprintf("The domain %s isn't an accepted domain of your organization. Add and verify it first.", domain)) // text UNCONFIRMED
		case st.DkimSigningConfigs[domain].Domain != "":
			pre = AlreadyExists(adObjectExists, fmt.Sprintf("A DKIM signing configuration for the domain %s already exists.", domain)) // text UNCONFIRMED
		}
		s1, s2 := dkimCNAMEs(st, k, domain)
		cfg = DkimSigningConfig{Domain: domain, GUID: newGUID(), Status: "CnameMissing", Selector1CNAME: s1, Selector2CNAME: s2,
			KeySize: keySize, Created: time.Now().UTC()}
	})
	if pre != nil {
		return nil, pre
	}
	if enabled {
		// What New-DkimSigningConfig -Enabled $true does without the CNAMEs is UNCONFIRMED; this
		// fake refuses as Set-DkimSigningConfig does and creates nothing.
		if e := checkDKIMCNAMEs(ctx, k, cfg); e != nil {
			return nil, e
		}
		cfg.Enabled, cfg.Status = true, "Valid"
	}
	err = ctx.Mutate(func(st *State) error {
		if st.DkimSigningConfigs == nil {
			st.DkimSigningConfigs = map[string]DkimSigningConfig{}
		}
		st.DkimSigningConfigs[domain] = cfg
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []map[string]any{dkimObject(cfg)}, nil
}

func cmdGetDkimSigningConfig(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	id = strings.ToLower(strings.TrimSuffix(id, "."))
	var out []map[string]any
	ctx.Read(func(st *State) {
		for _, d := range sortedKeys(st.DkimSigningConfigs) {
			c := st.DkimSigningConfigs[d]
			if id == "" || id == d || strings.EqualFold(id, c.GUID) {
				out = append(out, dkimObject(c))
			}
		}
	})
	if id != "" && len(out) == 0 {
		return nil, dkimNotFound(id)
	}
	return out, nil
}

func cmdSetDkimSigningConfig(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, missingMandatory("Identity")
	}
	id = strings.ToLower(strings.TrimSuffix(id, "."))
	var cfg DkimSigningConfig
	ctx.Read(func(st *State) { cfg = st.DkimSigningConfigs[id] })
	if cfg.Domain == "" {
		return nil, dkimNotFound(id)
	}
	if !p.Has("Enabled") {
		return nil, nil
	}
	enabled, err := p.Bool("Enabled")
	if err != nil {
		return nil, err
	}
	if enabled && !cfg.Enabled {
		if e := checkDKIMCNAMEs(ctx, ctx.Server().Knobs(), cfg); e != nil {
			return nil, e
		}
	}
	return nil, ctx.Mutate(func(st *State) error {
		c, ok := st.DkimSigningConfigs[id]
		if !ok {
			return dkimNotFound(id)
		}
		c.Enabled = enabled
		if enabled {
			c.Status = "Valid"
		}
		st.DkimSigningConfigs[id] = c
		return nil
	})
}

// checkDKIMCNAMEs asks the dns_server knob's server for both selector CNAMEs and answers the
// documented error (pipe form: "<id>|Microsoft.Exchange.Management.Tasks.ValidationException|CNAME
// record does not exist for this config. ...") unless both point at the issued targets.
func checkDKIMCNAMEs(ctx *CmdletContext, k Knobs, cfg DkimSigningConfig) *ExoError {
	ok := k.DNSServer != ""
	for i, want := range []string{cfg.Selector1CNAME, cfg.Selector2CNAME} {
		if !ok {
			break
		}
		got, err := lookupCNAME(ctx.Request.Context(), k.DNSServer, fmt.Sprintf("selector%d._domainkey.%s", i+1, cfg.Domain))
		ok = err == nil && strings.EqualFold(strings.TrimSuffix(got, "."), want)
	}
	if ok {
		return nil
	}
	return Invalid(dkimValidationException, fmt.Sprintf("CNAME record does not exist for this config. Please publish the following two CNAME records first. "+
		"Domain Name : %s Host Name : selector1._domainkey Points to address or value: %s Host Name : selector2._domainkey Points to address or value: %s . "+
		"If you have already published the CNAME records, sync will take a few minutes to as many as 4 days based on your specific DNS. Return and retry this step later.",
		cfg.Domain, cfg.Selector1CNAME, cfg.Selector2CNAME))
}

// lookupCNAME asks one DNS server for the CNAME at name (UDP, then TCP when truncated).
func lookupCNAME(ctx context.Context, server, name string) (string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeCNAME)
	c := &dns.Client{Timeout: 2 * time.Second}
	in, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return "", err
	}
	for _, rr := range in.Answer {
		if cn, ok := rr.(*dns.CNAME); ok {
			return cn.Target, nil
		}
	}
	return "", &net.DNSError{Err: "no CNAME record", Name: name, IsNotFound: true}
}
