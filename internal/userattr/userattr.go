// Package userattr is the catalogue of the user attributes the provider carries from a source (a
// CSV export, Tencent Exmail's directory) to Microsoft Graph: for each, its Terraform name, its
// Graph property, its kind, its limits, the CSV headers that give it and its documentation.
//
// internal/usercsv (headers, checks), internal/graph (the $select, the POST and PATCH bodies,
// reading a user) and internal/provider (schemas, state documents, plans) derive everything from
// [All]: adding an attribute is one entry here. The fake (internal/fakecloud) keeps its own list on
// purpose, so that a mistake here is not mirrored by the other side of the wire.
//
// It imports nothing of this module and knows no Terraform types.
package userattr

import (
	"strings"
)

// Kind is the shape of an attribute's value.
type Kind uint8

const (
	// String is one string; "" clears it.
	String Kind = iota
	// List is a list of strings; an empty list clears it.
	List
)

// Check names the syntax rule a value must follow beyond its length.
type Check uint8

const (
	CheckNone         Check = iota
	CheckUPN                // a user principal name (alias@domain, Entra's character rules)
	CheckMailNickname       // an Exchange alias: printable ASCII without space and @ ( ) \ [ ] " ; : < > ,
	CheckCountryCode        // an ISO 3166-1 alpha-2 code
	CheckLanguageTag        // an RFC 4646 language tag
	CheckEmails             // each value an email address
)

// Attr describes one user attribute.
type Attr struct {
	// Name is the attribute's snake_case name: the Terraform attribute, the key of a
	// m365_users_csv columns/defaults option, the key in m365_users' JSON documents.
	Name string
	// OldNames are former spellings still accepted as option keys.
	OldNames []string
	// Graph is the Microsoft Graph user property (https://learn.microsoft.com/graph/api/resources/user),
	// or "" when the attribute is not written through Graph (aliases go through Exchange Online).
	Graph string
	Kind  Kind
	// Limit is the maximum length of a value (of each value of a list) in UTF-16 code units, the
	// unit of Graph's limits; 0 when none is documented.
	Limit int
	// MaxValues is the maximum number of values of a list (0: none documented).
	MaxValues int
	// Split holds the characters separating the values of a list in one CSV cell ("" for a cell
	// that is one value).
	Split string
	// M365Header is the column of the admin centre's "Add multiple users" template that gives the
	// attribute ("" when the template has none).
	M365Header string
	// ExmailHeaders are the columns of a Tencent Exmail address-book export that give it.
	ExmailHeaders []string
	// NoDefault: the value is unique per user, so a CSV default makes no sense.
	NoDefault bool
	Check     Check
	// Doc is the Markdown description, without what each Terraform type adds (how to leave it
	// alone, where a CSV takes it from).
	Doc string
}

// Names of the attributes the code treats specially. Every other attribute is only data.
const (
	UPN           = "user_principal_name"
	MailNickname  = "mail_nickname"
	DisplayName   = "display_name"
	GivenName     = "given_name"
	Surname       = "surname"
	Department    = "department"
	UsageLocation = "usage_location"
	OtherMails    = "other_mails"
	Aliases       = "aliases"
)

// catalogue is every attribute, in the order of the documentation.
var catalogue = []Attr{
	{Name: UPN, Graph: "userPrincipalName", Limit: 113, M365Header: "User Name", ExmailHeaders: []string{"帐号", "账号", "邮箱", "邮箱地址"},
		NoDefault: true, Check: CheckUPN,
		Doc: "The sign-in name, `alias@domain` (Graph `userPrincipalName`, at most 113 characters, 64 before the `@`). The domain must be a verified domain of the tenant."},
	{Name: MailNickname, Graph: "mailNickname", Limit: 64, NoDefault: true, Check: CheckMailNickname,
		Doc: "The mail alias (Graph `mailNickname`, at most 64 characters). Defaults to the part of the user name before the `@`."},
	{Name: DisplayName, Graph: "displayName", Limit: 256, M365Header: "Display Name", ExmailHeaders: []string{"姓名"},
		Doc: "The name shown in the address book (Graph `displayName`, at most 256 characters)."},
	{Name: GivenName, Graph: "givenName", Limit: 64, M365Header: "First Name", Doc: "First name (at most 64 characters)."},
	{Name: Surname, Graph: "surname", Limit: 64, M365Header: "Last Name", Doc: "Last name (at most 64 characters)."},
	{Name: "job_title", Graph: "jobTitle", Limit: 128, M365Header: "Job Title", ExmailHeaders: []string{"职务", "职位"},
		Doc: "Job title (at most 128 characters)."},
	{Name: Department, Graph: "department", Limit: 64, M365Header: "Department", ExmailHeaders: []string{"部门", "所属部门"},
		Doc: "Department (at most 64 characters)."},
	{Name: "company_name", Graph: "companyName", Limit: 64, Doc: "Company name (at most 64 characters)."},
	{Name: "employee_id", Graph: "employeeId", Limit: 16, ExmailHeaders: []string{"编号"}, Doc: "Employee identifier (at most 16 characters)."},
	{Name: "office_location", Graph: "officeLocation", M365Header: "Office Number", Doc: "Office location."},
	{Name: "business_phones", OldNames: []string{"business_phone"}, Graph: "businessPhones", Kind: List, Limit: 64,
		M365Header: "Office Phone", ExmailHeaders: []string{"电话", "座机"},
		Doc: "Business phone numbers (Graph `businessPhones`; Graph accepts one number)."},
	{Name: "mobile_phone", Graph: "mobilePhone", Limit: 64, M365Header: "Mobile Phone", ExmailHeaders: []string{"手机"},
		Doc: "Mobile phone number (at most 64 characters)."},
	{Name: "fax_number", Graph: "faxNumber", M365Header: "Fax", Doc: "Fax number."},
	{Name: "street_address", Graph: "streetAddress", Limit: 1024, M365Header: "Address", Doc: "Street address (at most 1,024 characters)."},
	{Name: "city", Graph: "city", Limit: 128, M365Header: "City", Doc: "City (at most 128 characters)."},
	{Name: "state", Graph: "state", Limit: 128, M365Header: "State or Province", Doc: "State or province (at most 128 characters)."},
	{Name: "postal_code", Graph: "postalCode", Limit: 40, M365Header: "ZIP or Postal Code", Doc: "Postal code (at most 40 characters)."},
	{Name: "country", Graph: "country", Limit: 128, M365Header: "Country or Region", Doc: "Country or region, free text (at most 128 characters)."},
	{Name: UsageLocation, Graph: "usageLocation", Check: CheckCountryCode,
		Doc: "Where the user uses Microsoft 365 services: an ISO 3166-1 alpha-2 code such as `CN`. Required before a licence can be assigned."},
	{Name: "preferred_language", Graph: "preferredLanguage", Check: CheckLanguageTag,
		Doc: "Preferred language, an RFC 4646 tag such as `zh-CN`."},
	// https://learn.microsoft.com/graph/api/resources/user: otherMails holds at most 250 values of
	// at most 250 characters.
	{Name: OtherMails, Graph: "otherMails", Kind: List, Limit: 250, MaxValues: 250, Split: ";,；，",
		M365Header: "Alternate email address", Check: CheckEmails,
		Doc: "Alternate email addresses (Graph `otherMails`)."},
	// Email aliases (Exmail's 别名), secondary SMTP addresses written through Exchange Online. An
	// SMTP address is at most 320 characters (RFC 5321: 64 + @ + 255); Exchange Online allows 300
	// proxy addresses per recipient, the primary address and the onmicrosoft routing address
	// included (https://learn.microsoft.com/troubleshoot/exchange/administration/too-many-proxy-addresses-error).
	{Name: Aliases, Kind: List, Limit: 320, MaxValues: 298, Split: ";,；，\n\r", ExmailHeaders: []string{"别名"}, Check: CheckEmails,
		Doc: "Email aliases: secondary SMTP addresses on which the mailbox also receives mail, such as `lei.li@contoso.com` (Exmail's 别名). " +
			"Written through Exchange Online (`Set-Mailbox -EmailAddresses @{Add=...; Remove=...}`) once the user's mailbox exists, so the user needs an Exchange Online licence. " +
			"Each must be on a verified domain of the tenant and not used by another recipient (checked at plan time); at most 298 per user (Exchange's 300 proxy addresses include the primary and the onmicrosoft address). " +
			"The user's primary address and its onmicrosoft routing address are not aliases and are never removed."},
}

// All returns every attribute, in the order of the documentation. The slice is shared: do not
// modify it.
func All() []Attr { return catalogue }

// Names returns every attribute's name, in the order of All.
func Names() []string {
	out := make([]string, len(catalogue))
	for i, a := range catalogue {
		out[i] = a.Name
	}
	return out
}

// byName indexes the catalogue by name and former spellings.
var byName = func() map[string]int {
	m := map[string]int{}
	for i, a := range catalogue {
		m[a.Name] = i
		for _, o := range a.OldNames {
			m[o] = i
		}
	}
	return m
}()

// ByName finds an attribute by its name or a former spelling.
func ByName(name string) (Attr, bool) {
	if i, ok := byName[name]; ok {
		return catalogue[i], true
	}
	return Attr{}, false
}

// ByGraph finds an attribute by its Graph property, in any case.
func ByGraph(property string) (Attr, bool) {
	for _, a := range catalogue {
		if a.Graph != "" && strings.EqualFold(a.Graph, property) {
			return a, true
		}
	}
	return Attr{}, false
}

// SplitCell splits one CSV cell (or one default) of a list attribute into its values, trimmed,
// without empty ones. For an attribute without separators the whole trimmed cell is one value.
func (a Attr) SplitCell(cell string) []string {
	var parts []string
	if a.Split == "" {
		parts = []string{cell}
	} else {
		parts = strings.FieldsFunc(cell, func(r rune) bool { return strings.ContainsRune(a.Split, r) })
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
