package graph

import (
	"context"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/domains"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/m365-migration/terraform-provider-m365/internal/dns"
)

// Domain is a tenant domain (https://learn.microsoft.com/graph/api/resources/domain).
type Domain struct {
	ID                 string
	AuthenticationType string
	AvailabilityStatus string
	IsAdminManaged     bool
	IsDefault          bool
	IsInitial          bool
	IsRoot             bool
	IsVerified         bool
	SupportedServices  []string
	// StateOperation and StateStatus describe an asynchronous operation (ForceDelete,
	// Verification) in progress; empty when none.
	StateOperation string
	StateStatus    string
}

// DomainUpdate holds the settable properties; nil/empty fields are left alone.
type DomainUpdate struct {
	IsDefault         *bool
	SupportedServices []string // only Email, OfficeCommunicationsOnline and Yammer are settable
}

// Reference is a directory object that still uses a domain (users, groups, applications).
type Reference struct {
	ID          string
	Type        string // "user", "group", "application", ...
	DisplayName string
	Name        string // UPN, mail or identifier the domain appears in, when Graph returns it
}

func domainFrom(d models.Domainable) *Domain {
	out := &Domain{
		ID:                 deref(d.GetId()),
		AuthenticationType: deref(d.GetAuthenticationType()),
		AvailabilityStatus: deref(d.GetAvailabilityStatus()),
		IsAdminManaged:     deref(d.GetIsAdminManaged()),
		IsDefault:          deref(d.GetIsDefault()),
		IsInitial:          deref(d.GetIsInitial()),
		IsRoot:             deref(d.GetIsRoot()),
		IsVerified:         deref(d.GetIsVerified()),
		SupportedServices:  append([]string{}, d.GetSupportedServices()...),
	}
	if st := d.GetState(); st != nil {
		out.StateOperation = deref(st.GetOperation())
		out.StateStatus = deref(st.GetStatus())
	}
	return out
}

// CreateDomain adds a domain to the tenant (POST /domains). A subdomain of a verified root is
// created verified.
func (c *Client) CreateDomain(ctx context.Context, name string) (*Domain, error) {
	body := models.NewDomain()
	body.SetId(&name)
	d, err := c.domains().Post(ctx, body, nil)
	if err != nil {
		return nil, wrap("add domain "+name, err)
	}
	return domainFrom(d), nil
}

// GetDomain reads one domain.
func (c *Client) GetDomain(ctx context.Context, name string) (*Domain, error) {
	d, err := c.domains().ByDomainId(name).Get(ctx, nil)
	if err != nil {
		return nil, wrap("read domain "+name, err)
	}
	return domainFrom(d), nil
}

// ListDomains reads every domain of the tenant.
func (c *Client) ListDomains(ctx context.Context) ([]Domain, error) {
	resp, err := c.domains().Get(ctx, nil)
	if err != nil {
		return nil, wrap("list domains", err)
	}
	var out []Domain
	for {
		for _, d := range resp.GetValue() {
			out = append(out, *domainFrom(d))
		}
		next := resp.GetOdataNextLink()
		if next == nil || *next == "" {
			return out, nil
		}
		resp, err = c.domains().WithUrl(*next).Get(ctx, nil)
		if err != nil {
			return nil, wrap("list domains", err)
		}
	}
}

// UpdateDomain patches a verified domain.
func (c *Client) UpdateDomain(ctx context.Context, name string, u DomainUpdate) error {
	body := models.NewDomain()
	if u.IsDefault != nil {
		body.SetIsDefault(u.IsDefault)
	}
	if u.SupportedServices != nil {
		body.SetSupportedServices(u.SupportedServices)
	}
	_, err := c.domains().ByDomainId(name).Patch(ctx, body, nil)
	return wrap("update domain "+name, err)
}

// DeleteDomain removes a domain that nothing references any more.
func (c *Client) DeleteDomain(ctx context.Context, name string) error {
	return wrap("delete domain "+name, c.domains().ByDomainId(name).Delete(ctx, nil))
}

// ForceDeleteDomain starts the asynchronous forceDelete, which renames every reference to the
// initial domain (https://learn.microsoft.com/graph/api/domain-forcedelete).
func (c *Client) ForceDeleteDomain(ctx context.Context, name string, disableUserAccounts bool) error {
	body := domains.NewItemForceDeletePostRequestBody()
	body.SetDisableUserAccounts(&disableUserAccounts)
	return wrap("force-delete domain "+name, c.domains().ByDomainId(name).ForceDelete().Post(ctx, body, nil))
}

// VerifyDomain asks Graph to check the domain's verification record.
func (c *Client) VerifyDomain(ctx context.Context, name string) (*Domain, error) {
	d, err := c.domains().ByDomainId(name).Verify().Post(ctx, nil)
	if err != nil {
		return nil, wrap("verify domain "+name, err)
	}
	return domainFrom(d), nil
}

// DomainReferences lists up to top objects that still use the domain.
func (c *Client) DomainReferences(ctx context.Context, name string, top int32) ([]Reference, error) {
	resp, err := c.domains().ByDomainId(name).DomainNameReferences().Get(ctx, &domains.ItemDomainNameReferencesRequestBuilderGetRequestConfiguration{
		QueryParameters: &domains.ItemDomainNameReferencesRequestBuilderGetQueryParameters{Top: &top},
	})
	if err != nil {
		return nil, wrap("list references to domain "+name, err)
	}
	var out []Reference
	for _, o := range resp.GetValue() {
		r := Reference{ID: deref(o.GetId()), Type: strings.TrimPrefix(deref(o.GetOdataType()), "#microsoft.graph.")}
		ad := o.GetAdditionalData()
		switch v := o.(type) {
		case models.Userable:
			r.DisplayName, r.Name = deref(v.GetDisplayName()), deref(v.GetUserPrincipalName())
		case models.Groupable:
			r.DisplayName, r.Name = deref(v.GetDisplayName()), deref(v.GetMail())
		case models.Applicationable:
			r.DisplayName = deref(v.GetDisplayName())
			if uris := v.GetIdentifierUris(); len(uris) > 0 {
				r.Name = uris[0]
			}
		default:
			if s, ok := ad["displayName"].(*string); ok {
				r.DisplayName = deref(s)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// VerificationRecords reads the records that prove ownership (TXT MS=ms…, MX ….msv1.invalid).
func (c *Client) VerificationRecords(ctx context.Context, name string) ([]dns.ServiceRecord, error) {
	resp, err := c.domains().ByDomainId(name).VerificationDnsRecords().Get(ctx, nil)
	if err != nil {
		return nil, wrap("read verification records of "+name, err)
	}
	return recordsFrom(resp.GetValue()), nil
}

// ServiceConfigurationRecords reads the records Microsoft 365 services need (MX, SPF, CNAMEs).
func (c *Client) ServiceConfigurationRecords(ctx context.Context, name string) ([]dns.ServiceRecord, error) {
	resp, err := c.domains().ByDomainId(name).ServiceConfigurationRecords().Get(ctx, nil)
	if err != nil {
		return nil, wrap("read service configuration records of "+name, err)
	}
	return recordsFrom(resp.GetValue()), nil
}

// recordsFrom maps the SDK's polymorphic records (resolved from @odata.type with its leading #,
// https://github.com/microsoftgraph/msgraph-sdk-go/blob/main/models/domain_dns_record.go). A record the SDK could not type keeps its fields in
// AdditionalData; those are read too, so a `#`-less @odata.type does not lose data.
func recordsFrom(in []models.DomainDnsRecordable) []dns.ServiceRecord {
	out := make([]dns.ServiceRecord, 0, len(in))
	for _, r := range in {
		sr := dns.ServiceRecord{
			RecordType:       deref(r.GetRecordType()),
			Label:            deref(r.GetLabel()),
			SupportedService: deref(r.GetSupportedService()),
			IsOptional:       deref(r.GetIsOptional()),
			TTL:              int(deref(r.GetTtl())),
		}
		switch v := r.(type) {
		case models.DomainDnsMxRecordable:
			sr.MailExchange, sr.Preference = deref(v.GetMailExchange()), int(deref(v.GetPreference()))
		case models.DomainDnsTxtRecordable:
			sr.Text = deref(v.GetText())
		case models.DomainDnsCnameRecordable:
			sr.CanonicalName = deref(v.GetCanonicalName())
		case models.DomainDnsSrvRecordable:
			sr.NameTarget = deref(v.GetNameTarget())
			sr.Port, sr.Priority, sr.Weight = int(deref(v.GetPort())), int(deref(v.GetPriority())), int(deref(v.GetWeight()))
			sr.Service, sr.Protocol = deref(v.GetService()), deref(v.GetProtocol())
		default:
			ad := r.GetAdditionalData()
			str := func(k string) string {
				if s, ok := ad[k].(*string); ok {
					return deref(s)
				}
				return ""
			}
			num := func(k string) int {
				switch n := ad[k].(type) {
				case *int32:
					return int(deref(n))
				case *int64:
					return int(deref(n))
				case *float64:
					return int(deref(n))
				}
				return 0
			}
			sr.MailExchange, sr.Text, sr.CanonicalName, sr.NameTarget = str("mailExchange"), str("text"), str("canonicalName"), str("nameTarget")
			sr.Preference, sr.Port, sr.Priority, sr.Weight = num("preference"), num("port"), num("priority"), num("weight")
			sr.Service, sr.Protocol = str("service"), str("protocol")
		}
		out = append(out, sr)
	}
	return out
}
