// Package cloud describes the Microsoft clouds the provider can talk to: the login, Graph and
// Exchange hosts, the token scopes, the DNS values Microsoft 365 asks a domain to publish and the
// mail-client settings users need after the move. Nothing here does I/O.
package cloud

import (
	"fmt"
	"sort"
	"strings"
)

// Environment names accepted by the provider's `environment` attribute.
const (
	Global          = "global"
	China           = "china"
	USGovernment    = "usgovernment"
	USGovernmentDoD = "usgovernmentdod"
)

// Environment is everything the provider needs to know about one Microsoft cloud.
type Environment struct {
	Name string

	// LoginHost is the Entra ID (Azure AD) authority host root, without a trailing slash.
	LoginHost string
	// GraphHost is the Microsoft Graph host root; the provider appends /v1.0.
	GraphHost string
	// GraphScope is the client-credentials scope for Graph tokens.
	GraphScope string
	// ExchangeHost is the Exchange Online admin API host root; the provider appends
	// /adminapi/beta/{tenant}/InvokeCommand.
	ExchangeHost string
	// ExchangeScope is the client-credentials scope for Exchange tokens.
	ExchangeScope string

	// HostNotes says, for the docs, which of these values are not confirmed by a first-party source.
	HostNotes string

	DNS    DNSValues
	Client ClientSettings
}

// DNSValues are the records Microsoft 365 asks a custom domain to publish for Email in this cloud
// (https://learn.microsoft.com/microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider, and its 21Vianet view ?view=o365-21vianet). The service's own serviceConfigurationRecords answer wins
// when it is available; these values fill in what the service does not return (SPF merging, msoid).
type DNSValues struct {
	// MailProtectionSuffix is appended to the MX token: contoso-com.<suffix>.
	MailProtectionSuffix string
	AutodiscoverTarget   string
	SPFInclude           string
	// MsoidTarget is set only where Microsoft requires the msoid CNAME (21Vianet).
	MsoidTarget string
	// RemoveMsoid is true where a stray msoid CNAME breaks sign-in (US Government).
	RemoveMsoid bool
	// MXTokenFromTenant: GCC High derives the MX token from the tenant's initial domain label.
	MXTokenFromTenant bool

	// Teams / Skype for Business Online (supportedService OfficeCommunicationsOnline). Empty
	// where no first-party value is known. SIPTarget serves both the `sip` CNAME and the
	// `_sip._tls` SRV record (port 443); SIPFederationTarget the `_sipfederationtls._tcp` SRV
	// record (port 5061); both SRV records use priority 100, weight 1.
	SIPTarget           string
	LyncdiscoverTarget  string
	SIPFederationTarget string

	// Intune MDM CNAMEs (supportedService Intune). Empty where no first-party value is known.
	EnterpriseRegistrationTarget string
	EnterpriseEnrollmentTarget   string
}

// ClientSettings are the hosts mail clients use after the cutover.
type ClientSettings struct {
	IMAPHost         string
	IMAPPort         int
	IMAPEncryption   string
	POPHost          string
	POPPort          int
	POPEncryption    string
	SMTPHost         string
	SMTPPort         int
	SMTPEncryption   string
	AutodiscoverHost string
}

var environments = map[string]Environment{
	Global: {
		Name:          Global,
		LoginHost:     "https://login.microsoftonline.com",
		GraphHost:     "https://graph.microsoft.com",
		GraphScope:    "https://graph.microsoft.com/.default",
		ExchangeHost:  "https://outlook.office365.com",
		ExchangeScope: "https://outlook.office365.com/.default",
		DNS: DNSValues{
			MailProtectionSuffix: "mail.protection.outlook.com",
			AutodiscoverTarget:   "autodiscover.outlook.com",
			SPFInclude:           "spf.protection.outlook.com",
			// https://learn.microsoft.com/microsoft-365/enterprise/external-domain-name-system-records.
			SIPTarget:                    "sipdir.online.lync.com",
			LyncdiscoverTarget:           "webdir.online.lync.com",
			SIPFederationTarget:          "sipfed.online.lync.com",
			EnterpriseRegistrationTarget: "enterpriseregistration.windows.net",
			EnterpriseEnrollmentTarget:   "enterpriseenrollment.manage.microsoft.com",
		},
		Client: ClientSettings{
			IMAPHost: "outlook.office365.com", IMAPPort: 993, IMAPEncryption: "SSL",
			POPHost: "outlook.office365.com", POPPort: 995, POPEncryption: "SSL",
			SMTPHost: "smtp.office365.com", SMTPPort: 587, SMTPEncryption: "STARTTLS",
			AutodiscoverHost: "autodiscover.outlook.com",
		},
	},
	China: {
		Name: China,
		// azcore's cloud.AzureChina uses login.chinacloudapi.cn; current Entra docs also list
		// login.partner.microsoftonline.cn. Both are in use (UNCONFIRMED which is canonical);
		// we follow azcore and keep the host overridable through endpoints.login.
		LoginHost:  "https://login.chinacloudapi.cn",
		GraphHost:  "https://microsoftgraph.chinacloudapi.cn",
		GraphScope: "https://microsoftgraph.chinacloudapi.cn/.default",
		// The module's host is partner.outlook.cn; the v2.0 Admin API docs list outlook.office365.cn.
		// Which one serves beta InvokeCommand is UNCONFIRMED; partner.outlook.cn is the best sourced.
		ExchangeHost:  "https://partner.outlook.cn",
		ExchangeScope: "https://partner.outlook.cn/.default",
		HostNotes:     "The login host (login.chinacloudapi.cn, also published as login.partner.microsoftonline.cn) and the Exchange host (partner.outlook.cn, also published as outlook.office365.cn) are not confirmed by a first-party source; override them in `endpoints` if your tenant answers elsewhere.",
		DNS: DNSValues{
			MailProtectionSuffix: "mail.protection.partner.outlook.cn",
			AutodiscoverTarget:   "autodiscover.partner.outlook.cn",
			SPFInclude:           "spf.protection.partner.outlook.cn",
			MsoidTarget:          "clientconfig.partner.microsoftonline-p.net.cn",
			// https://learn.microsoft.com/microsoft-365/admin/get-help-with-domains/create-dns-records-at-any-dns-hosting-provider?view=o365-21vianet; Intune CNAMEs for 21Vianet are UNCONFIRMED, left empty.
			SIPTarget:           "sipdir.online.partner.lync.cn",
			LyncdiscoverTarget:  "webdir.online.partner.lync.cn",
			SIPFederationTarget: "sipfed.online.partner.lync.cn",
		},
		Client: ClientSettings{
			IMAPHost: "partner.outlook.cn", IMAPPort: 993, IMAPEncryption: "SSL",
			POPHost: "partner.outlook.cn", POPPort: 995, POPEncryption: "SSL",
			SMTPHost: "smtp.partner.outlook.cn", SMTPPort: 587, SMTPEncryption: "STARTTLS",
			AutodiscoverHost: "autodiscover.partner.outlook.cn",
		},
	},
	USGovernment: {
		Name:          USGovernment,
		LoginHost:     "https://login.microsoftonline.us",
		GraphHost:     "https://graph.microsoft.us",
		GraphScope:    "https://graph.microsoft.us/.default",
		ExchangeHost:  "https://outlook.office365.us",
		ExchangeScope: "https://outlook.office365.us/.default",
		HostNotes:     "The Exchange host outlook.office365.us is the documented GCC High admin API host; that it serves beta InvokeCommand is UNCONFIRMED.",
		DNS: DNSValues{
			MailProtectionSuffix: "mail.protection.office365.us",
			AutodiscoverTarget:   "autodiscover.office365.us",
			SPFInclude:           "spf.protection.office365.us",
			RemoveMsoid:          true,
			MXTokenFromTenant:    true,
			// MicrosoftDocs/microsoft-365-docs@microsoft-365/enterprise/dns-records-for-office-365-gcc-high.md
			// ("Skype for Business Online" tables). Intune CNAMEs for GCC High: UNCONFIRMED, left empty.
			SIPTarget:           "sipdir.online.gov.skypeforbusiness.us",
			LyncdiscoverTarget:  "webdir.online.gov.skypeforbusiness.us",
			SIPFederationTarget: "sipfed.online.gov.skypeforbusiness.us",
		},
		Client: ClientSettings{
			IMAPHost: "outlook.office365.us", IMAPPort: 993, IMAPEncryption: "SSL",
			POPHost: "outlook.office365.us", POPPort: 995, POPEncryption: "SSL",
			SMTPHost: "smtp.office365.us", SMTPPort: 587, SMTPEncryption: "STARTTLS",
			AutodiscoverHost: "autodiscover.office365.us",
		},
	},
	USGovernmentDoD: {
		Name:       USGovernmentDoD,
		LoginHost:  "https://login.microsoftonline.us",
		GraphHost:  "https://dod-graph.microsoft.us",
		GraphScope: "https://dod-graph.microsoft.us/.default",
		// The module's DoD host is webmail.apps.mil; the v2.0 docs and ScubaGear use
		// outlook-dod.office365.us. UNCONFIRMED which one serves beta InvokeCommand.
		ExchangeHost:  "https://outlook-dod.office365.us",
		ExchangeScope: "https://outlook-dod.office365.us/.default",
		HostNotes:     "The Exchange host (outlook-dod.office365.us; the PowerShell module uses webmail.apps.mil) is not confirmed for InvokeCommand.",
		DNS: DNSValues{
			MailProtectionSuffix: "mail.protection.office365.us",
			AutodiscoverTarget:   "autodiscover.office365.us",
			SPFInclude:           "spf.protection.office365.us",
			RemoveMsoid:          true,
			MXTokenFromTenant:    true,
		},
		Client: ClientSettings{
			IMAPHost: "outlook-dod.office365.us", IMAPPort: 993, IMAPEncryption: "SSL",
			POPHost: "outlook-dod.office365.us", POPPort: 995, POPEncryption: "SSL",
			SMTPHost: "smtp-dod.office365.us", SMTPPort: 587, SMTPEncryption: "STARTTLS",
			AutodiscoverHost: "autodiscover.office365.us",
		},
	},
}

// Names lists the accepted environment names, sorted with global first.
func Names() []string {
	names := make([]string, 0, len(environments))
	for n := range environments {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i] == Global || names[j] == Global {
			return names[i] == Global
		}
		return names[i] < names[j]
	})
	return names
}

// Lookup returns the environment with the given name (case-insensitive).
func Lookup(name string) (Environment, error) {
	env, ok := environments[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Environment{}, fmt.Errorf("unknown environment %q: valid values are %s", name, strings.Join(Names(), ", "))
	}
	return env, nil
}

// MXTarget returns the Exchange Online Protection host for a domain, e.g.
// contoso-com.mail.protection.outlook.com. Prefer the service's own answer when it has one.
func (e Environment) MXTarget(domain string) string {
	token := strings.ReplaceAll(strings.ToLower(strings.TrimSuffix(domain, ".")), ".", "-")
	return token + "." + e.DNS.MailProtectionSuffix
}
