// Package dns turns the DNS records Microsoft Graph asks a custom domain to publish
// (verificationDnsRecords and serviceConfigurationRecords) into zone-relative records with
// stable keys, fills in what Graph leaves out from the cloud table, merges SPF, lists the Tencent
// Exmail records the cutover replaces, and renders the result for DNSPod
// (tencentcloud_dnspod_record) or as BIND zone text. Only lookup.go does I/O (DNS queries).
package dns

import (
	"fmt"
	"sort"
	"strings"

	"github.com/m365-migration/terraform-provider-m365/internal/cloud"
)

// Stages accepted in Options.Stage.
const (
	// StageVerification yields only the TXT record that proves domain ownership.
	StageVerification = "verification"
	// StageCutover yields the service records (MX, autodiscover, SPF, ...) and the removals.
	StageCutover = "cutover"
	// StageAll yields both, plus the MX alternative of the verification record.
	StageAll = "all"
)

// ReplacesExmail is the Options.Replaces value that lists Tencent Exmail's records for removal.
const ReplacesExmail = "exmail"

// DefaultTTL is the TTL used when Graph gives none (0), and for records filled from the cloud
// table; Microsoft's guides use one hour everywhere.
const DefaultTTL = 3600

// maxSPFLookups is RFC 7208 §4.6.4's limit on DNS-querying terms in one SPF evaluation; every
// include costs at least one.
const maxSPFLookups = 10

// Record purposes (Record.Purpose).
const (
	PurposeVerification = "verification"
	PurposeMail         = "mail"
	PurposeAutodiscover = "autodiscover"
	PurposeSPF          = "spf"
	PurposeMsoid        = "msoid"
	PurposeTeams        = "teams"
	PurposeMDM          = "mdm"
	PurposeOther        = "other"
)

// Graph supportedService values this package knows by name.
const (
	ServiceEmail  = "Email"
	ServiceTeams  = "OfficeCommunicationsOnline"
	ServiceIntune = "Intune"
	// ServiceOrgID is the supportedService given to the msoid CNAME when Graph does not name
	// one. Which service Graph attaches to msoid in 21Vianet is UNCONFIRMED.
	ServiceOrgID = "OrgIdAuthentication"
)

// Well-known record keys (Record.Key).
const (
	KeyVerificationTXT        = "verification_txt"
	KeyVerificationMX         = "verification_mx"
	KeyMX                     = "mx"
	KeyAutodiscover           = "autodiscover"
	KeySPF                    = "spf"
	KeyMsoid                  = "msoid"
	KeySIP                    = "sip"
	KeyLyncdiscover           = "lyncdiscover"
	KeySIPTLSSRV              = "sip_tls_srv"
	KeySIPFederationTLSTCPSRV = "sipfederationtls_tcp_srv"
	KeyEnterpriseRegistration = "enterpriseregistration"
	KeyEnterpriseEnrollment   = "enterpriseenrollment"
	KeyExmailMX1              = "exmail_mx1"
	KeyExmailMX2              = "exmail_mx2"
	KeyExmailSPF              = "exmail_spf"
)

// ServiceRecord is one domainDnsRecord as Graph returns it, converted from the SDK model by the
// Graph client. Only the fields of its record type matter.
type ServiceRecord struct {
	// RecordType as Graph spells it: "Mx", "Txt", "CName", "Srv" or "Unavailable" (any case).
	RecordType string
	// Label is the host: a FQDN ("autodiscover.contoso.com") or relative; both are accepted.
	Label string
	// SupportedService is "Email", "OfficeCommunicationsOnline", "Intune", ... or "".
	SupportedService string
	IsOptional       bool
	TTL              int

	Text          string // TXT
	MailExchange  string // MX
	CanonicalName string // CNAME
	NameTarget    string // SRV

	Preference int // MX
	Priority   int // SRV
	Weight     int // SRV
	Port       int // SRV
	// Service and Protocol of an SRV record, "_sip"/"sip" and "_tls"/"TLS" alike.
	Service  string
	Protocol string
}

// Record is one DNS record to publish (or to remove), relative to the zone.
type Record struct {
	// Key is stable across runs and input order, for Terraform for_each.
	Key string
	// Name is relative to the zone: "@", "autodiscover", "_sip._tls".
	Name string
	// FQDN is the absolute owner name without a trailing dot.
	FQDN string
	// Type is "MX", "TXT", "CNAME" or "SRV".
	Type string
	// Value is the target host (lowercase, no trailing dot) or the TXT text.
	Value string
	// Priority is the MX preference or the SRV priority.
	Priority int
	TTL      int
	// Port and Weight are set for SRV records.
	Port   int
	Weight int
	// Service and Protocol are set for SRV records, as "_sip" and "_tls".
	Service  string
	Protocol string
	// Purpose is one of the Purpose* constants.
	Purpose string
	// Optional is Graph's isOptional.
	Optional bool
	// SupportedService is Graph's supportedService, or the one implied by a well-known record
	// when Graph gave none.
	SupportedService string
}

// Options select and shape the records Build returns.
type Options struct {
	// Zone is the custom domain, e.g. "contoso.com".
	Zone string
	// Env is the Microsoft cloud; the zero value means cloud Global.
	Env cloud.Environment
	// Stage is StageVerification, StageCutover or StageAll; "" means StageAll.
	Stage string
	// Services lists the supportedService values whose records the cutover publishes
	// (case-insensitive); nil or empty means ["Email"].
	Services []string
	// Replaces is "" or ReplacesExmail.
	Replaces string
	// KeepSPFIncludes are other senders merged into the one SPF record, in order, e.g.
	// "spf.mail.qq.com"; an "include:" prefix is accepted.
	KeepSPFIncludes []string
	// InitialDomain is the tenant's initial domain (contoso.onmicrosoft.com / .us); US
	// Government clouds need it for the MX target when Graph does not return the MX record.
	InitialDomain string
	// DKIM adds the two DKIM selector CNAMEs to the cutover records when not nil.
	DKIM *DKIM
	// DMARC adds the _dmarc TXT record to the cutover records when not nil.
	DMARC *DMARC
	// TTL, when > 0, is the TTL of every record returned (Graph's and the table's alike); 0 keeps
	// Graph's TTLs and DefaultTTL for the rest.
	TTL int
}

// wellKnown describes a record Microsoft documents, recognised by type and relative name.
type wellKnown struct {
	key, typ, name, purpose, service string
}

var wellKnowns = []wellKnown{
	{KeyMX, "MX", "@", PurposeMail, ServiceEmail},
	{KeyAutodiscover, "CNAME", "autodiscover", PurposeAutodiscover, ServiceEmail},
	{KeySPF, "TXT", "@", PurposeSPF, ServiceEmail},
	{KeyMsoid, "CNAME", "msoid", PurposeMsoid, ServiceOrgID},
	{KeySIP, "CNAME", "sip", PurposeTeams, ServiceTeams},
	{KeyLyncdiscover, "CNAME", "lyncdiscover", PurposeTeams, ServiceTeams},
	{KeySIPTLSSRV, "SRV", "_sip._tls", PurposeTeams, ServiceTeams},
	{KeySIPFederationTLSTCPSRV, "SRV", "_sipfederationtls._tcp", PurposeTeams, ServiceTeams},
	{KeyEnterpriseRegistration, "CNAME", "enterpriseregistration", PurposeMDM, ServiceIntune},
	{KeyEnterpriseEnrollment, "CNAME", "enterpriseenrollment", PurposeMDM, ServiceIntune},
}

// keyRank orders the output: well-known keys first in this order, then the rest by key.
var keyRank = func() map[string]int {
	order := []string{KeyVerificationTXT, KeyVerificationMX}
	for _, w := range wellKnowns {
		order = append(order, w.key)
	}
	order = append(order, KeyDKIMSelector1, KeyDKIMSelector2, KeyDMARC, KeyExmailMX1, KeyExmailMX2, KeyExmailSPF)
	m := make(map[string]int, len(order))
	for i, k := range order {
		m[k] = i
	}
	return m
}()

// isVerificationMX reports whether an MX record is Microsoft's ownership-proof alternative
// (ms########.msv1.invalid, preference 32767) rather than a mail route.
func isVerificationMX(r Record) bool {
	return r.Type == "MX" && (strings.HasSuffix(r.Value, ".msv1.invalid") || r.Priority == 32767)
}

func isSPF(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	return t == "v=spf1" || strings.HasPrefix(t, "v=spf1 ")
}

func classify(r Record) *wellKnown {
	for i := range wellKnowns {
		w := &wellKnowns[i]
		if w.typ != r.Type || w.name != r.Name {
			continue
		}
		if w.key == KeySPF && !isSPF(r.Value) {
			return nil
		}
		if w.key == KeyMX && isVerificationMX(r) {
			return nil
		}
		return w
	}
	return nil
}

// graphServices are Graph's supportedService enum values (https://learn.microsoft.com/graph/api/resources/domaindnsrecord), by lowercase name.
var graphServices = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{ServiceEmail, "Sharepoint", "EmailInternalRelayOnly", ServiceTeams, "SharePointDefaultDomain",
		"FullRedelegation", "SharePointPublic", ServiceOrgID, "Yammer", ServiceIntune} {
		m[strings.ToLower(s)] = s
	}
	return m
}()

// canonicalService spells a known supportedService as Graph documents it; unknown values are
// kept as given (trimmed).
func canonicalService(s string) string {
	s = strings.TrimSpace(s)
	if c, ok := graphServices[strings.ToLower(s)]; ok {
		return c
	}
	return s
}

// convert normalises one Graph record. ok is false for "Unavailable" and unknown types and for
// records without a value.
func convert(sr ServiceRecord, zone string) (Record, bool) {
	typ := strings.ToUpper(strings.TrimSpace(sr.RecordType))
	r := Record{
		Type:             typ,
		Name:             relativeName(sr.Label, zone),
		TTL:              sr.TTL,
		Optional:         sr.IsOptional,
		SupportedService: canonicalService(sr.SupportedService),
	}
	if r.TTL <= 0 {
		r.TTL = DefaultTTL
	}
	switch typ {
	case "MX":
		r.Value, r.Priority = normalizeHost(sr.MailExchange), sr.Preference
	case "CNAME":
		r.Value = normalizeHost(sr.CanonicalName)
	case "TXT":
		r.Value = strings.TrimSpace(sr.Text)
	case "SRV":
		r.Value = normalizeHost(sr.NameTarget)
		r.Priority, r.Weight, r.Port = sr.Priority, sr.Weight, sr.Port
		r.Service, r.Protocol = srvPart(sr.Service), srvPart(sr.Protocol)
		if r.Service != "" && r.Protocol != "" {
			// Graph may put _service._proto in the label, or only in the service/protocol
			// fields with the label being the zone (UNCONFIRMED): accept both.
			prefix := r.Service + "." + r.Protocol
			switch {
			case r.Name == "@":
				r.Name = prefix
			case r.Name != prefix && !strings.HasPrefix(r.Name, prefix+"."):
				r.Name = prefix + "." + r.Name
			}
		} else if parts := strings.SplitN(r.Name, ".", 3); len(parts) >= 2 &&
			strings.HasPrefix(parts[0], "_") && strings.HasPrefix(parts[1], "_") {
			r.Service, r.Protocol = parts[0], parts[1]
		}
	default:
		return Record{}, false
	}
	if r.Value == "" {
		return Record{}, false
	}
	r.FQDN = fqdn(r.Name, zone)
	return r, true
}

// less is the canonical order of normalised records; it makes keys independent of input order.
func less(a, b Record) bool {
	switch {
	case a.Type != b.Type:
		return a.Type < b.Type
	case a.Name != b.Name:
		return a.Name < b.Name
	case a.Priority != b.Priority:
		return a.Priority < b.Priority
	case a.Weight != b.Weight:
		return a.Weight < b.Weight
	case a.Port != b.Port:
		return a.Port < b.Port
	case a.Value != b.Value:
		return a.Value < b.Value
	case a.TTL != b.TTL:
		return a.TTL < b.TTL
	case a.SupportedService != b.SupportedService:
		return a.SupportedService < b.SupportedService
	}
	return !a.Optional && b.Optional
}

// normalizeAll converts, drops exact duplicates and sorts canonically.
func normalizeAll(in []ServiceRecord, zone string) []Record {
	seen := make(map[Record]bool, len(in))
	out := make([]Record, 0, len(in))
	for _, sr := range in {
		r, ok := convert(sr, zone)
		if !ok || seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

// Build turns Graph's verification and service-configuration records into the records to
// publish for opts.Stage, and (for a cutover that replaces Tencent Exmail) the records to remove.
//
// The result is complete even when Graph returns fewer records (before the domain is verified):
// the Email MX, autodiscover CNAME and SPF TXT are filled from the cloud table, the msoid CNAME is
// added where the cloud requires it (21Vianet) and dropped everywhere else, and Teams or Intune
// records are filled from the table when Graph returned none for a requested service. The SPF
// record is always exactly one: Microsoft's include, then KeepSPFIncludes, then "-all".
//
// Errors: an invalid zone name, an unknown stage or Replaces value, an invalid KeepSPFIncludes
// entry, an SPF record with more than 10 includes, and a US Government MX that Graph did not
// return while InitialDomain is empty or invalid.
func Build(verification, service []ServiceRecord, opts Options) (records []Record, remove []Record, err error) {
	zone, err := NormalizeZone(opts.Zone)
	if err != nil {
		return nil, nil, err
	}
	stage := strings.ToLower(strings.TrimSpace(opts.Stage))
	switch stage {
	case "":
		stage = StageAll
	case StageVerification, StageCutover, StageAll:
	default:
		return nil, nil, fmt.Errorf("unknown stage %q: valid values are %s, %s and %s",
			opts.Stage, StageVerification, StageCutover, StageAll)
	}
	replaces := strings.ToLower(strings.TrimSpace(opts.Replaces))
	if replaces != "" && replaces != ReplacesExmail {
		return nil, nil, fmt.Errorf("unknown replaces value %q: valid values are %q (Tencent Exmail) or empty", opts.Replaces, ReplacesExmail)
	}
	env := opts.Env
	if env.DNS.MailProtectionSuffix == "" {
		env, _ = cloud.Lookup(cloud.Global)
	}

	if stage != StageCutover {
		records = append(records, verificationRecords(verification, zone, stage == StageAll)...)
	}
	if stage != StageVerification {
		rs, err := cutoverRecords(service, zone, env, opts)
		if err != nil {
			return nil, nil, err
		}
		records = append(records, rs...)
		if opts.DKIM != nil {
			records = append(records, DKIMRecords(zone, *opts.DKIM)...)
		}
		if opts.DMARC != nil {
			r, err := DMARCRecord(zone, *opts.DMARC)
			if err != nil {
				return nil, nil, err
			}
			records = append(records, r)
		}
		if replaces == ReplacesExmail {
			remove = exmailRecords(zone)
		}
	}
	if opts.TTL > 0 {
		for i := range records {
			records[i].TTL = opts.TTL
		}
	}
	sortRecords(records)
	return records, remove, nil
}

func verificationRecords(in []ServiceRecord, zone string, withMX bool) []Record {
	var txt, mx *Record
	for _, r := range normalizeAll(in, zone) {
		switch r.Type {
		case "TXT":
			// Prefer Microsoft's MS=ms######## text over any other TXT Graph might add.
			if txt == nil || (!hasMSPrefix(txt.Value) && hasMSPrefix(r.Value)) {
				txt = &r
			}
		case "MX":
			if mx == nil || (!isVerificationMX(*mx) && isVerificationMX(r)) {
				mx = &r
			}
		}
	}
	var out []Record
	if txt != nil {
		txt.Key, txt.Purpose = KeyVerificationTXT, PurposeVerification
		out = append(out, *txt)
	}
	if withMX && mx != nil {
		mx.Key, mx.Purpose = KeyVerificationMX, PurposeVerification
		out = append(out, *mx)
	}
	return out
}

func hasMSPrefix(s string) bool {
	return strings.HasPrefix(strings.ToUpper(s), "MS=")
}

func cutoverRecords(in []ServiceRecord, zone string, env cloud.Environment, opts Options) ([]Record, error) {
	wanted := map[string]bool{}
	for _, s := range opts.Services {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			wanted[s] = true
		}
	}
	if len(wanted) == 0 {
		wanted[strings.ToLower(ServiceEmail)] = true
	}
	wantEmail := wanted[strings.ToLower(ServiceEmail)]

	byKey := map[string]Record{}
	perService := map[string]int{} // records kept per (lowercase) supportedService
	var generics []Record
	var spfTexts []string
	var spfBase *Record

	for _, r := range normalizeAll(in, zone) {
		wk := classify(r)
		if r.SupportedService == "" && wk != nil {
			r.SupportedService = wk.service
		}
		if wk != nil && wk.key == KeyMsoid {
			// msoid is a sign-in record, not tied to a requested service: required in 21Vianet,
			// harmful elsewhere (https://learn.microsoft.com/microsoft-365/enterprise/external-domain-name-system-records; https://learn.microsoft.com/microsoft-365/enterprise/dns-records-for-office-365-gcc-high says remove it).
			if env.DNS.MsoidTarget != "" && !env.DNS.RemoveMsoid {
				if _, taken := byKey[KeyMsoid]; !taken {
					r.Key, r.Purpose = KeyMsoid, PurposeMsoid
					byKey[KeyMsoid] = r
				}
			}
			continue
		}
		svc := strings.ToLower(r.SupportedService)
		if !wanted[svc] {
			continue
		}
		if wk != nil && isVerificationMX(r) {
			continue
		}
		perService[svc]++
		switch {
		case wk == nil:
			r.Purpose = PurposeOther
			generics = append(generics, r)
		case wk.key == KeySPF:
			spfTexts = append(spfTexts, r.Value)
			if spfBase == nil {
				base := r
				spfBase = &base
			}
		default:
			r.Purpose = wk.purpose
			if _, taken := byKey[wk.key]; taken {
				generics = append(generics, r)
				continue
			}
			r.Key = wk.key
			byKey[wk.key] = r
		}
	}

	fill := func(key, typ, name, value, purpose, service string, prio, weight, port int) {
		if _, ok := byKey[key]; ok || value == "" {
			return
		}
		r := Record{Key: key, Name: name, FQDN: fqdn(name, zone), Type: typ, Value: value, TTL: DefaultTTL,
			Priority: prio, Weight: weight, Port: port, Purpose: purpose, SupportedService: service}
		if typ == "SRV" {
			parts := strings.SplitN(name, ".", 3)
			r.Service, r.Protocol = parts[0], parts[1]
		}
		byKey[key] = r
	}
	d := env.DNS

	if wantEmail {
		if _, ok := byKey[KeyMX]; !ok {
			target, err := mxTarget(zone, env, opts.InitialDomain)
			if err != nil {
				return nil, err
			}
			fill(KeyMX, "MX", "@", target, PurposeMail, ServiceEmail, 0, 0, 0)
		}
		fill(KeyAutodiscover, "CNAME", "autodiscover", d.AutodiscoverTarget, PurposeAutodiscover, ServiceEmail, 0, 0, 0)
		spf, err := buildSPF(zone, spfTexts, d.SPFInclude, opts.KeepSPFIncludes)
		if err != nil {
			return nil, err
		}
		r := Record{TTL: DefaultTTL, SupportedService: ServiceEmail}
		if spfBase != nil {
			r = *spfBase
		}
		r.Key, r.Name, r.FQDN, r.Type, r.Value, r.Purpose = KeySPF, "@", zone, "TXT", spf, PurposeSPF
		byKey[KeySPF] = r
	}
	if d.MsoidTarget != "" && !d.RemoveMsoid {
		fill(KeyMsoid, "CNAME", "msoid", normalizeHost(d.MsoidTarget), PurposeMsoid, ServiceOrgID, 0, 0, 0)
	}
	// Teams and Intune: Graph's answer wins whenever it has any record for the service; the
	// table fills only an empty answer (e.g. before verification), so a Teams-only tenant whose
	// answer omits the legacy Skype records does not get them back.
	if wanted[strings.ToLower(ServiceTeams)] && perService[strings.ToLower(ServiceTeams)] == 0 {
		fill(KeySIP, "CNAME", "sip", d.SIPTarget, PurposeTeams, ServiceTeams, 0, 0, 0)
		fill(KeyLyncdiscover, "CNAME", "lyncdiscover", d.LyncdiscoverTarget, PurposeTeams, ServiceTeams, 0, 0, 0)
		fill(KeySIPTLSSRV, "SRV", "_sip._tls", d.SIPTarget, PurposeTeams, ServiceTeams, 100, 1, 443)
		fill(KeySIPFederationTLSTCPSRV, "SRV", "_sipfederationtls._tcp", d.SIPFederationTarget, PurposeTeams, ServiceTeams, 100, 1, 5061)
	}
	if wanted[strings.ToLower(ServiceIntune)] && perService[strings.ToLower(ServiceIntune)] == 0 {
		fill(KeyEnterpriseRegistration, "CNAME", "enterpriseregistration", d.EnterpriseRegistrationTarget, PurposeMDM, ServiceIntune, 0, 0, 0)
		fill(KeyEnterpriseEnrollment, "CNAME", "enterpriseenrollment", d.EnterpriseEnrollmentTarget, PurposeMDM, ServiceIntune, 0, 0, 0)
	}

	out := make([]Record, 0, len(byKey)+len(generics))
	used := map[string]bool{KeyVerificationTXT: true, KeyVerificationMX: true}
	for k, r := range byKey {
		used[k] = true
		out = append(out, r)
	}
	// generics are in canonical order, so their suffixes do not depend on input order.
	for _, r := range generics {
		base := strings.ToLower(r.Type)
		if p := keyPart(r.Name); p != "" {
			base += "_" + p
		}
		key := base
		for n := 2; used[key]; n++ {
			key = fmt.Sprintf("%s_%d", base, n)
		}
		used[key] = true
		r.Key = key
		out = append(out, r)
	}
	return out, nil
}

// mxTarget is the fallback MX host: the domain key under the cloud's protection suffix, or in US
// Government the first label of the tenant's initial domain.
func mxTarget(zone string, env cloud.Environment, initialDomain string) (string, error) {
	if !env.DNS.MXTokenFromTenant {
		return env.MXTarget(zone), nil
	}
	initial := normalizeHost(initialDomain)
	if initial == "" {
		return "", fmt.Errorf("cannot work out the MX record of %s in %s: Graph did not return it, and there the target is "+
			"<tenant>.%s where <tenant> is the first label of the tenant's initial domain (e.g. contoso.onmicrosoft.us); "+
			"give the initial domain, or read the records again once the domain is verified",
			zone, env.Name, env.DNS.MailProtectionSuffix)
	}
	if err := checkHostName(initial, false); err != nil {
		return "", fmt.Errorf("invalid initial domain %q: %s", initialDomain, err)
	}
	return strings.SplitN(initial, ".", 2)[0] + "." + env.DNS.MailProtectionSuffix, nil
}

// buildSPF merges Microsoft's include (from Graph's SPF texts, else the cloud table) and the
// kept includes into one "v=spf1 include:... -all" text.
func buildSPF(zone string, texts []string, cloudInclude string, keep []string) (string, error) {
	var includes []string
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			includes = append(includes, h)
		}
	}
	for _, t := range texts {
		for _, h := range spfIncludes(t) {
			add(h)
		}
	}
	if len(includes) == 0 {
		add(normalizeHost(cloudInclude))
	}
	for _, k := range keep {
		h := normalizeHost(k)
		if len(h) >= len("include:") && h[:len("include:")] == "include:" {
			h = strings.TrimSpace(h[len("include:"):])
		}
		if h == "" {
			continue
		}
		if err := checkHostName(h, true); err != nil {
			return "", fmt.Errorf("invalid SPF include %q for %s: %s; give the host name another sender publishes "+
				"its SPF policy under, e.g. spf.mail.qq.com", k, zone, err)
		}
		add(h)
	}
	if len(includes) > maxSPFLookups {
		return "", fmt.Errorf("the SPF record for %s would have %d includes (%s); SPF allows at most %d DNS lookups "+
			"(RFC 7208 §4.6.4), so receivers would reject it: drop or flatten some kept includes",
			zone, len(includes), strings.Join(includes, ", "), maxSPFLookups)
	}
	var b strings.Builder
	b.WriteString("v=spf1")
	for _, h := range includes {
		b.WriteString(" include:")
		b.WriteString(h)
	}
	b.WriteString(" -all")
	return b.String(), nil
}

// spfIncludes returns the include targets of an SPF text, tolerating "include: host" with a
// stray space (as in Graph's documentation example).
func spfIncludes(text string) []string {
	fields := strings.Fields(text)
	var out []string
	for i := 0; i < len(fields); i++ {
		f := strings.ToLower(fields[i])
		f = strings.TrimLeft(f, "+") // "+include:" is the explicit pass qualifier
		if !strings.HasPrefix(f, "include:") {
			continue
		}
		h := strings.TrimPrefix(f, "include:")
		if h == "" && i+1 < len(fields) {
			i++
			h = strings.ToLower(fields[i])
		}
		if h = normalizeHost(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// exmailRecords are Tencent Exmail's standard records (as Tencent's setup guides and zone dumps show them; no first-party page found): MX 5 mxbiz1.qq.com,
// MX 10 mxbiz2.qq.com and its SPF TXT. Their TTL is DNSPod's default (600); a consumer should
// match existing records by name, type and value.
func exmailRecords(zone string) []Record {
	return []Record{
		{Key: KeyExmailMX1, Name: "@", FQDN: zone, Type: "MX", Value: "mxbiz1.qq.com", Priority: 5, TTL: 600, Purpose: PurposeMail},
		{Key: KeyExmailMX2, Name: "@", FQDN: zone, Type: "MX", Value: "mxbiz2.qq.com", Priority: 10, TTL: 600, Purpose: PurposeMail},
		{Key: KeyExmailSPF, Name: "@", FQDN: zone, Type: "TXT", Value: "v=spf1 include:spf.mail.qq.com ~all", TTL: 600, Purpose: PurposeSPF},
	}
}

// sortRecords orders well-known keys first (verification, mail, autodiscover, SPF, msoid,
// Teams, Intune), then everything else by key.
func sortRecords(rs []Record) {
	sort.SliceStable(rs, func(i, j int) bool {
		ri, iok := keyRank[rs[i].Key]
		rj, jok := keyRank[rs[j].Key]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return rs[i].Key < rs[j].Key
	})
}
