package cloud

// ProtocolAuth says how a mail protocol signs in, in one cloud.
type ProtocolAuth struct {
	// Protocol is imap, pop, smtp or exchange_activesync.
	Protocol string
	// Methods are the accepted sign-in methods, e.g. "OAuth 2.0 (SASL XOAUTH2)".
	Methods []string
	// BasicAuth says whether a user name and password (or app password) still works, and since
	// or until when.
	BasicAuth string
	// Confirmed is false when the facts come only from a third party (reseller, mirror of a
	// Message Center post).
	Confirmed bool
	// Source is the public page the facts come from.
	Source string
}

// Sources of the client authentication facts.
const (
	// BasicAuthDeprecationURL: Basic authentication is off in Exchange Online for EWS, EAS,
	// POP, IMAP, Remote PowerShell, MAPI, RPC, OAB and Autodiscover, permanently since
	// January 2023 (turned off from October 2022; "no one (you or Microsoft support) can re-enable
	// Basic authentication"); app passwords are refused too. SMTP AUTH is the exception.
	BasicAuthDeprecationURL = "https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/deprecation-of-basic-authentication-exchange-online"
	// OAuthIMAPURL: IMAP, POP and SMTP AUTH accept OAuth 2.0 through SASL XOAUTH2.
	OAuthIMAPURL = "https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth"
	// SMTPAuthRetirementURL: the Exchange team's announcement (Message Center MC786329) of the
	// end of Basic authentication for SMTP AUTH client submission, updated on 2026-01-27: behaviour
	// unchanged until December 2026; at the end of December 2026 Basic authentication for SMTP AUTH
	// is disabled by default in existing tenants (administrators can re-enable it); tenants created
	// after December 2026 don't have it; the final removal date is to be announced in the second
	// half of 2027.
	SMTPAuthRetirementURL = "https://techcommunity.microsoft.com/blog/exchange/exchange-online-to-retire-basic-auth-for-client-submission-smtp-auth/4114750"
	// ChinaBasicAuthURL: a 21Vianet reseller's notice that Basic authentication for Exchange
	// Online operated by 21Vianet (MAPI, Outlook Anywhere, OAB, EWS, POP, IMAP, EAS, Remote
	// PowerShell) was turned off from 2023-03-31. No first-party page was found (UNCONFIRMED).
	ChinaBasicAuthURL = "http://www.cloudrichness.com/sys-nd/542.html"
)

// ClientRecommendation is what the provider tells users to configure on phones and PCs.
const ClientRecommendation = "Use Outlook (Windows, Mac, iOS, Android) or the device's built-in Exchange account (Exchange ActiveSync, found through autodiscover) and sign in with the Microsoft 365 account (modern authentication). " +
	"Use IMAP, POP or SMTP only in a client that supports OAuth 2.0 (XOAUTH2) sign-in with a Microsoft work account: a user name with a password or an app password is refused."

// ClientAuth lists, per protocol, which authentication the cloud's Exchange Online accepts.
func (e Environment) ClientAuth() []ProtocolAuth {
	oauth := []string{"OAuth 2.0 (SASL XOAUTH2)"}
	modern := []string{"OAuth 2.0 (modern authentication)"}
	if e.Name == China {
		const off = "Off since 2023-03-31 according to a 21Vianet reseller (UNCONFIRMED: no first-party notice found). Plan for OAuth only."
		return []ProtocolAuth{
			{Protocol: "imap", Methods: oauth, BasicAuth: off, Source: ChinaBasicAuthURL},
			{Protocol: "pop", Methods: oauth, BasicAuth: off, Source: ChinaBasicAuthURL},
			{Protocol: "smtp", Methods: oauth, BasicAuth: "UNCONFIRMED: no SMTP AUTH timeline for 21Vianet was found; Microsoft's worldwide timeline (disabled by default from the end of December 2026) does not name 21Vianet. Use OAuth 2.0.", Source: SMTPAuthRetirementURL},
			{Protocol: "exchange_activesync", Methods: modern, BasicAuth: off, Source: ChinaBasicAuthURL},
		}
	}
	const off = "Off: Microsoft turned Basic authentication off in Exchange Online from October 2022 and it can no longer be re-enabled; app passwords are refused too."
	return []ProtocolAuth{
		{Protocol: "imap", Methods: oauth, BasicAuth: off, Confirmed: true, Source: BasicAuthDeprecationURL},
		{Protocol: "pop", Methods: oauth, BasicAuth: off, Confirmed: true, Source: BasicAuthDeprecationURL},
		{Protocol: "smtp", Methods: []string{"OAuth 2.0 (SASL XOAUTH2)", "Basic (where SMTP AUTH Basic is still enabled)"},
			BasicAuth: "Unchanged until December 2026 where SMTP AUTH is enabled (it is off in organizations created after January 2020 and under security defaults); at the end of December 2026 it is disabled by default in existing tenants (administrators can re-enable it); tenants created after December 2026 don't have it; Microsoft will announce the final removal date in the second half of 2027 (Message Center MC786329, update of 2026-01-27, read in copies of the post: UNCONFIRMED first-party).",
			Source:    SMTPAuthRetirementURL},
		{Protocol: "exchange_activesync", Methods: modern, BasicAuth: off, Confirmed: true, Source: BasicAuthDeprecationURL},
	}
}
