package fakecloud

// Domain verification and DNS records: POST /v1.0/domains/{id}/verify
// (https://learn.microsoft.com/graph/api/domain-verify) against the DNS server of the dns_server knob,
// and the verificationDnsRecords and serviceConfigurationRecords a domain asks to publish, per
// supportedServices and per cloud.

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// verificationCode is the tenant's deterministic "ms########" for a domain.
func verificationCode(tenantID, domain string) string {
	h := sha256.Sum256([]byte(strings.ToLower(tenantID) + "\x00" + strings.ToLower(domain)))
	return fmt.Sprintf("ms%08d", binary.BigEndian.Uint64(h[:8])%100000000)
}

// verificationFailed is the verify error (https://learn.microsoft.com/graph/api/domain-verify; the prefix is what the legacy PowerShell
// showed; the Graph wording is UNCONFIRMED).
func verificationFailed(what string) *apiError {
	return badRequest("Domain verification failed with the following error: %s", what)
}

// checkVerificationDNS asks the knob's DNS server for the TXT (or the MX alternative) at the apex.
func (s *Server) checkVerificationDNS(r *http.Request, d Domain) *apiError {
	k := s.Knobs()
	txt := "MS=" + d.VerificationCode
	mx := d.VerificationCode + ".msv1.invalid"
	if k.DNSServer == "" {
		return verificationFailed(fmt.Sprintf("Could not find the DNS record %s (TXT) or %s (MX) for %s. "+
			"(fakecloud: no dns_server knob is set and auto_verify is off.)", txt, mx, d.ID))
	}
	values, err := lookupTXT(r.Context(), k.DNSServer, d.ID, 2*time.Second)
	if err != nil {
		return verificationFailed(fmt.Sprintf("Could not look up the DNS records of %s: %v", d.ID, err))
	}
	for _, v := range values {
		if strings.EqualFold(strings.TrimSpace(v), txt) {
			return nil
		}
	}
	mxs, err := lookupMX(r.Context(), k.DNSServer, d.ID, 2*time.Second)
	if err == nil {
		for _, m := range mxs {
			if strings.EqualFold(m, mx) {
				return nil
			}
		}
	}
	seen := "none"
	if len(values) > 0 {
		seen = strings.Join(values, ", ")
	}
	return verificationFailed(fmt.Sprintf("Could not find the DNS record %s (TXT) or %s (MX) for %s. TXT records found: %s. "+
		"DNS changes can take up to 72 hours to propagate.", txt, mx, d.ID, seen))
}

func (s *Server) handleVerifyDomain(w http.ResponseWriter, r *http.Request) {
	id := domainID(r)
	d, aerr := s.liveDomain(id, false)
	if aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	if d.IsVerified {
		s.writeAPIError(w, badRequest("Domain is already verified."))
		return
	}
	var ancestor string
	s.read(func(st *State) { ancestor = verifiedAncestor(st, id) })
	if ancestor == "" && !s.Knobs().AutoVerify {
		if aerr := s.checkVerificationDNS(r, d); aerr != nil {
			s.writeAPIError(w, aerr)
			return
		}
	}
	var out map[string]any
	err := s.mutate(func(st *State) error {
		cur, ok := st.Domains[id]
		if !ok {
			return domainNotFound(id)
		}
		cur.IsVerified = true
		st.Domains[id] = cur
		recomputeRoots(st)
		out = domainJSON(st.Domains[id])
		return nil
	})
	if err != nil {
		s.writeAPIError(w, err)
		return
	}
	out["availabilityStatus"] = "AvailableImmediately"
	out["@odata.context"] = s.odataContext("domains/$entity")
	writeJSON(w, http.StatusOK, out)
}

// dnsRecord renders one domainDnsRecord with its derived type's fields in extra.
func dnsRecord(st *State, domain, key, odataType, label, recordType, service string, extra map[string]any) map[string]any {
	m := map[string]any{
		"@odata.type":      "#microsoft.graph." + odataType,
		"id":               derivedGUID(st.TenantID, "dns-record", domain, key),
		"isOptional":       false,
		"label":            label,
		"recordType":       recordType,
		"supportedService": service,
		"ttl":              dnsRecordTTL,
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func txtRecord(st *State, domain, key, label, service, text string) map[string]any {
	return dnsRecord(st, domain, key, "domainDnsTxtRecord", label, "Txt", service, map[string]any{"text": text})
}

func mxRecord(st *State, domain, key, label, service, host string, pref int) map[string]any {
	return dnsRecord(st, domain, key, "domainDnsMxRecord", label, "Mx", service,
		map[string]any{"mailExchange": host, "preference": pref})
}

func cnameRecord(st *State, domain, key, label, service, target string) map[string]any {
	return dnsRecord(st, domain, key, "domainDnsCnameRecord", label, "CName", service, map[string]any{"canonicalName": target})
}

// srvRecord: the label is the full owner name and service/protocol carry their underscores
// (UNCONFIRMED format, https://learn.microsoft.com/graph/api/domain-list-serviceconfigurationrecords; internal/dns accepts either form).
func srvRecord(st *State, domain, key, service, srvService, protocol, target string, port int) map[string]any {
	return dnsRecord(st, domain, key, "domainDnsSrvRecord", srvService+"."+protocol+"."+domain, "Srv", service, map[string]any{
		"nameTarget": target, "port": port, "priority": 100, "weight": 1, "protocol": protocol, "service": srvService,
	})
}

// verificationRecords are the TXT MS=ms######## and the MX ms########.msv1.invalid (https://learn.microsoft.com/microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider).
func verificationRecords(st *State, d Domain) []map[string]any {
	return []map[string]any{
		txtRecord(st, d.ID, "verification-txt", d.ID, "Email", "MS="+d.VerificationCode),
		mxRecord(st, d.ID, "verification-mx", d.ID, "Email", d.VerificationCode+".msv1.invalid", 32767),
	}
}

// cloudDNS are the values each cloud asks a domain to publish (https://learn.microsoft.com/microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider, https://learn.microsoft.com/microsoft-365/enterprise/dns-records-for-office-365-gcc-high).
type cloudDNS struct {
	mailProtection, autodiscover, spfInclude string
	mxTokenFromTenant                        bool
	msoid                                    string // 21Vianet only
	sip, lyncdiscover, sipFederation         string // OfficeCommunicationsOnline; empty: none known
	enterpriseRegistration                   string // Intune; empty: none known
	enterpriseEnrollment                     string
}

var cloudDNSValues = map[string]cloudDNS{
	"global": {
		mailProtection: "mail.protection.outlook.com", autodiscover: "autodiscover.outlook.com",
		spfInclude: "spf.protection.outlook.com",
		sip:        "sipdir.online.lync.com", lyncdiscover: "webdir.online.lync.com", sipFederation: "sipfed.online.lync.com",
		enterpriseRegistration: "enterpriseregistration.windows.net",
		enterpriseEnrollment:   "enterpriseenrollment.manage.microsoft.com",
	},
	"china": {
		mailProtection: "mail.protection.partner.outlook.cn", autodiscover: "autodiscover.partner.outlook.cn",
		spfInclude: "spf.protection.partner.outlook.cn",
		msoid:      "clientconfig.partner.microsoftonline-p.net.cn",
		sip:        "sipdir.online.partner.lync.cn", lyncdiscover: "webdir.online.partner.lync.cn",
		sipFederation: "sipfed.online.partner.lync.cn",
	},
	"usgovernment": {
		mailProtection: "mail.protection.office365.us", autodiscover: "autodiscover.office365.us",
		spfInclude: "spf.protection.office365.us", mxTokenFromTenant: true,
		sip: "sipdir.online.gov.skypeforbusiness.us", lyncdiscover: "webdir.online.gov.skypeforbusiness.us",
		sipFederation: "sipfed.online.gov.skypeforbusiness.us",
	},
	// DoD: the Email values of GCC High; Skype/Teams and Intune values UNCONFIRMED, so none.
	"usgovernmentdod": {
		mailProtection: "mail.protection.office365.us", autodiscover: "autodiscover.office365.us",
		spfInclude: "spf.protection.office365.us", mxTokenFromTenant: true,
	},
}

// serviceRecords are the serviceConfigurationRecords of d: per supportedServices (Email when
// none), per the tenant's cloud. Labels are FQDNs (UNCONFIRMED).
func serviceRecords(st *State, d Domain) []map[string]any {
	c, ok := cloudDNSValues[st.Environment]
	if !ok {
		c = cloudDNSValues["global"]
	}
	services := d.SupportedServices
	if len(services) == 0 {
		services = []string{"Email"}
	}
	id := d.ID
	out := []map[string]any{}
	if hasService(services, "Email") {
		token := strings.ReplaceAll(id, ".", "-")
		if c.mxTokenFromTenant {
			token = strings.SplitN(strings.ToLower(st.InitialDomain), ".", 2)[0]
		}
		out = append(out,
			mxRecord(st, id, "mx", id, "Email", token+"."+c.mailProtection, 0),
			cnameRecord(st, id, "autodiscover", "autodiscover."+id, "Email", c.autodiscover),
			txtRecord(st, id, "spf", id, "Email", "v=spf1 include:"+c.spfInclude+" -all"))
		if c.msoid != "" {
			// The supportedService Graph gives the msoid CNAME is UNCONFIRMED.
			out = append(out, cnameRecord(st, id, "msoid", "msoid."+id, "OrgIdAuthentication", c.msoid))
		}
	}
	if hasService(services, "OfficeCommunicationsOnline") && c.sip != "" {
		const svc = "OfficeCommunicationsOnline"
		out = append(out,
			cnameRecord(st, id, "sip", "sip."+id, svc, c.sip),
			cnameRecord(st, id, "lyncdiscover", "lyncdiscover."+id, svc, c.lyncdiscover),
			srvRecord(st, id, "sip-tls", svc, "_sip", "_tls", c.sip, 443),
			srvRecord(st, id, "sipfederationtls-tcp", svc, "_sipfederationtls", "_tcp", c.sipFederation, 5061))
	}
	if hasService(services, "Intune") && c.enterpriseRegistration != "" {
		out = append(out,
			cnameRecord(st, id, "enterpriseregistration", "enterpriseregistration."+id, "Intune", c.enterpriseRegistration),
			cnameRecord(st, id, "enterpriseenrollment", "enterpriseenrollment."+id, "Intune", c.enterpriseEnrollment))
	}
	return out
}

// writeRecords answers a domain's DNS-record collection built by build.
func (s *Server) writeRecords(w http.ResponseWriter, r *http.Request, nav string, build func(*State, Domain) []map[string]any) {
	id := domainID(r)
	if _, aerr := s.liveDomain(id, false); aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	var recs []map[string]any
	found := false
	s.read(func(st *State) {
		if d, ok := st.Domains[id]; ok {
			found = true
			recs = build(st, d)
		}
	})
	if !found {
		s.writeAPIError(w, domainNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": s.odataContext("domains('" + id + "')/" + nav),
		"value":          recs,
	})
}

func (s *Server) handleVerificationDNSRecords(w http.ResponseWriter, r *http.Request) {
	s.writeRecords(w, r, "verificationDnsRecords", verificationRecords)
}

func (s *Server) handleServiceConfigurationRecords(w http.ResponseWriter, r *http.Request) {
	s.writeRecords(w, r, "serviceConfigurationRecords", serviceRecords)
}
