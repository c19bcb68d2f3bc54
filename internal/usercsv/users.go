package usercsv

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

// UserOptions says how to read a user CSV.
type UserOptions struct {
	// Name is the file name used in problems ("users.csv"); "" gives "content".
	Name string
	// Format is "auto" (or ""), "m365", "exmail" or "custom"; see [ParseUsers].
	Format string
	// Encoding is an encoding option as for [Decode] ("" means "auto").
	Encoding string
	// Domain, when set, builds user names from bare account names
	// ("zhang.san" becomes "zhang.san@<Domain>") and REWRITES the domain part
	// of full addresses ("x@old.com" becomes "x@<Domain>").
	Domain string
	// Columns maps attribute names (see [Attributes]) to header names, matched
	// ignoring case and white space. Required for "custom"; with a preset it
	// adds columns or overrides the preset's choice.
	Columns map[string]string
	// Defaults gives attribute values used when a row's value is empty, e.g.
	// usage_location = "CN". user_principal_name and mail_nickname, unique per
	// user, cannot have defaults.
	Defaults map[string]string
}

// User is one valid row of a user CSV, in the catalogue's terms ([userattr.All]): the attributes
// the row gives (or that a default or a derivation fills), never an empty one.
type User struct {
	Line int // physical line where the row starts
	userattr.Values
}

// UPN is the user's principal name.
func (u User) UPN() string { return u.Get(userattr.UPN) }

// UserResult is what [ParseUsers] found.
type UserResult struct {
	// Users are the valid rows, in file order.
	Users []User
	// Encoding is the encoding used to read the file (see [Decode]).
	Encoding string
	// Format is "m365", "exmail" or "custom", or "" when it could not be told.
	Format string
	// Problems lists everything wrong with the file, sorted by line and column.
	Problems Problems
}

// Format names.
const (
	FormatAuto   = "auto"
	FormatM365   = "m365"
	FormatExmail = "exmail"
	FormatCustom = "custom"
)

// m365Template is the admin centre's "Add multiple users" header, in its order (16 columns; the
// older 15-column template lacks "Alternate email address"). The catalogue's M365Header says which
// attribute each column gives; the order matters for templates in other languages, read by position.
var m365Template = []string{"User Name", "First Name", "Last Name", "Display Name", "Job Title", "Department",
	"Office Number", "Office Phone", "Mobile Phone", "Fax", "Alternate email address", "Address", "City",
	"State or Province", "ZIP or Postal Code", "Country or Region"}

const m365AltEmailIndex = 10 // position of "Alternate email address" in m365Template

// m365Keys maps normalised template headers to attributes.
var m365Keys = headerMap(func(a userattr.Attr) []string {
	if a.M365Header == "" {
		return nil
	}
	return []string{a.M365Header}
})

// m365Columns are the attributes of m365Template's columns, in its order.
var m365Columns = func() []attr {
	out := make([]attr, len(m365Template))
	for i, h := range m365Template {
		a, ok := m365Keys[headerKey(h)]
		if !ok {
			panic("usercsv: no attribute of the catalogue has the template header " + h)
		}
		out[i] = a
	}
	return out
}()

// exmailKeys maps the headers of a Tencent Exmail address-book export or import template to
// attributes. Other columns (性别, 生日, 密码...) are ignored. The admin-centre template has no
// alias column: 别名 is Exmail's only.
var exmailKeys = headerMap(func(a userattr.Attr) []string { return a.ExmailHeaders })

// headerMap maps the normalised headers that headers gives for each attribute to the attribute.
func headerMap(headers func(userattr.Attr) []string) map[string]attr {
	m := map[string]attr{}
	for a := range numAttrs {
		for _, h := range headers(catalogue[a]) {
			m[headerKey(h)] = a
		}
	}
	return m
}

// headerKey normalises a header for matching: lower case, without any white
// space (including the full-width space U+3000) or byte-order mark.
func headerKey(h string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '\uFEFF' {
			return -1
		}
		return unicode.ToLower(r)
	}, h)
}

// ParseUsers reads a user CSV and checks every row against the Microsoft
// Graph rules for creating users.
//
// Formats:
//   - "m365": the admin centre's "Add multiple users" template, 16 columns
//     (User Name, First Name, Last Name, Display Name, Job Title, Department,
//     Office Number, Office Phone, Mobile Phone, Fax, Alternate email address,
//     Address, City, State or Province, ZIP or Postal Code, Country or Region)
//     or the older 15 without Alternate email address. Headers are matched by
//     name ignoring case and spaces; a header in another language is taken by
//     position when it has exactly 15 or 16 columns. Office Phone gives
//     business_phone, Alternate email address other_mails (several separated
//     by ;), Address street_address, Office Number office_location and
//     Country or Region country.
//   - "exmail": a Tencent Exmail export: 姓名 (display name), 帐号/账号/邮箱/
//     邮箱地址 (account), 部门 (department), 职务/职位 (job title), 手机
//     (mobile), 电话/座机 (business phone), 编号 (employee id), 别名 (aliases,
//     separated by ; , or line breaks); other columns
//     are ignored. A department path such as "总部/技术部" or "总部;技术部"
//     keeps only its last segment ("技术部"), since Graph's department is a
//     single name.
//   - "custom": the columns given in opts.Columns.
//   - "auto": exmail when a header is an Exmail account header, m365 when the
//     headers are the English template, custom when opts.Columns is set.
//
// A value of only white space is empty ("space plus comma" blanks). A row may
// have fewer fields than the header (the missing ones are empty) or extra
// empty ones, but not more non-empty ones. Rows whose fields are all empty are
// skipped. mail_nickname defaults to the part of
// the user name before the @, display_name to FullName(given_name, surname):
// "given_name surname" for Latin names, surname then given name with no space
// for Chinese, Japanese and Korean ones (张 + 三 → 张三). Limits
// are Graph's (stricter admin-centre wizard limits do not apply, nor does its
// 249-row cap).
//
// The error is only for unusable options (unknown format, encoding or
// attribute, custom without columns, a bad domain or default). Everything
// wrong with the data is in result.Problems, all of it in one pass, and
// result.Users holds the rows that are valid.
func ParseUsers(data []byte, opts UserOptions) (*UserResult, error) {
	p, err := newUserParser(opts)
	if err != nil {
		return nil, err
	}
	res := &UserResult{}
	text, used, ps := decode(data, opts.Encoding, true)
	res.Encoding = used
	p.problems = withFile(ps, p.name)
	records, ps := ReadRecords(p.name, text)
	p.problems = append(p.problems, ps...)

	switch {
	case len(records) == 0 && strings.TrimSpace(text) == "":
		p.add(1, 0, "no users: the file is empty", "add the header row and one row per user")
	case len(records) == 0:
		p.add(1, 0, "no users: no readable header row", "fix the other problems of this file; the first line must be the header")
	default:
		ok := p.mapHeader(records[0])
		res.Format = p.format
		if ok {
			rows := records[1:]
			if len(rows) == 0 && len(ps) == 0 {
				p.add(records[0].Line, 0, "no users: the file has a header row but no user rows",
					"add one row per user below the header")
			}
			res.Users = make([]User, 0, len(rows))
			for _, rec := range rows {
				if u, ok := p.row(rec); ok {
					res.Users = append(res.Users, u)
				}
			}
		}
	}
	sortProblems(p.problems)
	res.Problems = p.problems
	return res, nil
}

// userParser holds the state of one ParseUsers call.
type userParser struct {
	name       string
	format     string // requested, then detected
	domain     string
	columns    map[attr]string
	colOrder   []attr   // attributes of columns, sorted
	defaults   []string // by attr
	hasDefault []bool

	headers  []string // header cells as written, trimmed
	labels   []string // headers quoted for messages
	width    int
	cols     [][]int        // field indexes per attribute, in preference order
	seen     map[string]int // lower-case UPN -> line
	problems []Problem
}

// newUserParser validates the options.
func newUserParser(opts UserOptions) (*userParser, error) {
	p := &userParser{name: opts.Name, seen: map[string]int{},
		defaults: make([]string, numAttrs), hasDefault: make([]bool, numAttrs), cols: make([][]int, numAttrs)}
	if p.name == "" {
		p.name = "content"
	}
	switch f := strings.ToLower(strings.TrimSpace(opts.Format)); f {
	case "", FormatAuto:
		p.format = FormatAuto
	case FormatM365, FormatExmail, FormatCustom:
		p.format = f
	default:
		return nil, optErr("format", fmt.Sprintf(`unknown format %q: use "auto", "m365", "exmail" or "custom"`, opts.Format))
	}
	if !ValidEncoding(opts.Encoding) {
		return nil, optErr("encoding", fmt.Sprintf(`unknown encoding %q: use one of %s`, opts.Encoding, strings.Join(Encodings(), ", ")))
	}
	var errs []error
	p.columns = map[attr]string{}
	for name, header := range opts.Columns {
		a, ok := attrByName(name)
		switch {
		case !ok:
			errs = append(errs, optErr("columns", fmt.Sprintf("columns: unknown attribute %q; known attributes: %s", name, strings.Join(Attributes(), ", "))))
		case headerKey(header) == "":
			errs = append(errs, optErr("columns", fmt.Sprintf("columns.%s: the header name is empty", name)))
		default:
			p.columns[a] = header
			p.colOrder = append(p.colOrder, a)
		}
	}
	sort.Slice(p.colOrder, func(i, j int) bool { return p.colOrder[i] < p.colOrder[j] })
	if p.format == FormatCustom {
		if len(opts.Columns) == 0 {
			errs = append(errs, optErr("columns", `format "custom" needs columns, e.g. columns = { user_principal_name = "Email", display_name = "Name" }`))
		} else if _, ok := p.columns[aUPN]; !ok {
			errs = append(errs, optErr("columns", `format "custom" needs columns.user_principal_name: the header of the sign-in address column`))
		}
	}
	for name, v := range opts.Defaults {
		a, ok := attrByName(name)
		v = strings.TrimSpace(v)
		switch {
		case !ok:
			errs = append(errs, optErr("defaults", fmt.Sprintf("defaults: unknown attribute %q; known attributes: %s", name, strings.Join(Attributes(), ", "))))
		case catalogue[a].NoDefault:
			errs = append(errs, optErr("defaults", fmt.Sprintf("defaults.%s: a default cannot be given, the value must differ for every user", name)))
		case v == "":
		default:
			if a == aUsageLocation {
				v = strings.ToUpper(v)
			}
			for _, f := range checkValue(a, v, "defaults."+name) {
				errs = append(errs, optErr("defaults", fmt.Sprintf("defaults.%s: %s — %s", name, f.msg, f.fix)))
			}
			p.defaults[a], p.hasDefault[a] = v, true
		}
	}
	if d := strings.TrimSpace(opts.Domain); d != "" {
		d = strings.TrimPrefix(d, "@")
		if !validDomain(d) || len(d) > maxUPNDomain {
			errs = append(errs, optErr("domain", fmt.Sprintf("domain %q is not a valid domain name of at most %d characters", opts.Domain, maxUPNDomain)))
		}
		p.domain = d
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func (p *userParser) add(line, col int, msg, fix string) {
	p.problems = append(p.problems, Problem{File: p.name, Line: line, Column: col, Message: msg, Fix: fix})
}

// foundHeaders lists header cells for a message.
func (p *userParser) foundHeaders() string {
	const maxShown = 20
	var q []string
	for i, h := range p.headers[:p.width] {
		if i == maxShown {
			q = append(q, "...")
			break
		}
		q = append(q, fmt.Sprintf("%q", h))
	}
	if len(q) == 0 {
		return "none"
	}
	return strings.Join(q, ", ")
}

// mapHeader decides the format and which column gives which attribute. It
// returns false when rows cannot be read (no user-name column).
func (p *userParser) mapHeader(h Record) bool {
	p.headers = make([]string, len(h.Fields))
	p.labels = make([]string, len(h.Fields))
	keys := make([]string, len(h.Fields))
	for i, f := range h.Fields {
		p.headers[i] = strings.TrimSpace(strings.TrimPrefix(f, "\uFEFF"))
		p.labels[i] = fmt.Sprintf("%q", p.headers[i])
		keys[i] = headerKey(f)
	}
	p.width = h.width()
	keys = keys[:p.width]
	for _, f := range h.Fields {
		if strings.ContainsRune(f, '\uFFFD') {
			return false // the header has undecodable bytes, reported by Decode
		}
	}

	if p.format == FormatAuto {
		hasUserName := false
		for _, k := range keys {
			if a, ok := exmailKeys[k]; ok && a == aUPN {
				p.format = FormatExmail
				break
			}
			if k == headerKey("User Name") {
				hasUserName = true
			}
		}
		switch {
		case p.format != FormatAuto:
		case hasUserName:
			p.format = FormatM365
		case len(p.columns) > 0:
			p.format = FormatCustom
		default:
			p.format = ""
			fix := `set format = "m365" or "exmail" if the file is one of those, or format = "custom" with columns = { user_principal_name = "<header>", display_name = "<header>" }`
			if p.width == 15 || p.width == 16 {
				fix = `if this is the admin-centre template in another language, set format = "m365"; otherwise set format = "custom" with columns = { user_principal_name = "<header>", display_name = "<header>" }`
			}
			p.add(h.Line, 1, "cannot tell the CSV format from the header; found "+p.foundHeaders(), fix)
			return false
		}
	}

	known := make([]bool, p.width)
	switch p.format {
	case FormatM365:
		byPosition := p.width == 15 || p.width == 16
		for _, k := range keys {
			if k == headerKey("User Name") {
				byPosition = false
			}
		}
		if byPosition {
			// A translated template: the wizard takes the columns by position.
			for i := range p.width {
				t := i
				if p.width == 15 && i >= m365AltEmailIndex {
					t++
				}
				p.cols[m365Columns[t]] = append(p.cols[m365Columns[t]], i)
				known[i] = true
			}
		} else {
			for i, k := range keys {
				if a, ok := m365Keys[k]; ok {
					p.cols[a] = append(p.cols[a], i)
					known[i] = true
				}
			}
		}
	case FormatExmail:
		for i, k := range keys {
			if a, ok := exmailKeys[k]; ok {
				p.cols[a] = append(p.cols[a], i)
			}
			known[i] = true // other Exmail columns are ignored
		}
	case FormatCustom:
		for i := range known {
			known[i] = true // columns not mapped are ignored
		}
	}

	// Columns add to or override the preset.
	for _, a := range p.colOrder {
		want := headerKey(p.columns[a])
		idx := -1
		for i, k := range keys {
			if k == want {
				idx = i
				break
			}
		}
		if idx < 0 {
			p.add(h.Line, 0, fmt.Sprintf("column %q (columns.%s) is not in the header; found %s", p.columns[a], catalogue[a].Name, p.foundHeaders()),
				"correct the header name in columns, or the header of the file")
			continue
		}
		p.cols[a] = []int{idx}
		known[idx] = true
	}

	if p.format == FormatM365 {
		for i := range p.width {
			if !known[i] && keys[i] != "" {
				line, col := h.pos(i)
				p.add(line, col, fmt.Sprintf("column %q is not in the admin-centre template", p.headers[i]),
					`use the template's header names (User Name, First Name, Last Name, Display Name, ...), map the column with columns, or set format = "custom"`)
			}
		}
	}

	ok := true
	if len(p.cols[aUPN]) == 0 {
		ok = false
		switch p.format {
		case FormatM365:
			p.add(h.Line, 0, `missing column "User Name"`, "add the sign-in address column User Name, the template's first column")
		case FormatExmail:
			p.add(h.Line, 0, "missing account column: the header has none of 帐号, 账号, 邮箱, 邮箱地址",
				`add the account column, or set format = "custom" with columns`)
		}
		// custom: the missing column was reported above.
	}
	if len(p.cols[aDisplayName]) == 0 && len(p.cols[aGivenName]) == 0 && len(p.cols[aSurname]) == 0 && !p.hasDefault[aDisplayName] {
		ok = false
		switch p.format {
		case FormatM365:
			p.add(h.Line, 0, `missing column "Display Name"`, `add the Display Name column (or First Name and Last Name)`)
		case FormatExmail:
			p.add(h.Line, 0, "missing column 姓名 (display name)", "add the 姓名 column, or map display_name in columns")
		default:
			if _, mapped := p.columns[aDisplayName]; !mapped {
				p.add(h.Line, 0, "no column gives the display name",
					"map display_name (or given_name and surname) in columns, or set defaults.display_name")
			}
		}
	}
	return ok
}

// label names the source of attribute a's value in messages.
func (p *userParser) label(a attr, src int) string {
	if src >= 0 {
		return p.labels[src]
	}
	return "defaults." + catalogue[a].Name
}

// row checks one record and builds the user; ok is false when the row has a
// problem.
func (p *userParser) row(rec Record) (User, bool) {
	if w := rec.width(); w > p.width {
		i := p.width
		for strings.TrimSpace(rec.Fields[i]) == "" {
			i++
		}
		line, col := rec.pos(i)
		p.add(line, col, fmt.Sprintf("the row has %d fields but the header has %d columns", w, p.width),
			`put quotes around a value that contains a comma (e.g. "Beijing, China"), or remove the extra fields`)
		return User{}, false
	}
	for _, f := range rec.Fields {
		if strings.ContainsRune(f, '\uFFFD') {
			return User{}, false // reported by Decode
		}
	}

	var (
		vals = make([]string, numAttrs)
		src  = make([]int, numAttrs) // field index of the value, -1 when none
	)
	for a := range numAttrs {
		src[a] = -1
		for _, i := range p.cols[a] {
			if i >= len(rec.Fields) {
				continue
			}
			if src[a] < 0 {
				src[a] = i
			}
			if v := strings.TrimSpace(rec.Fields[i]); v != "" {
				vals[a], src[a] = v, i
				break
			}
		}
	}
	if p.format == FormatExmail && len(p.cols[aUPN]) > 1 && !strings.Contains(vals[aUPN], "@") {
		// Prefer a full address (邮箱) over a bare account name (帐号).
		for _, i := range p.cols[aUPN] {
			if i < len(rec.Fields) && strings.Contains(rec.Fields[i], "@") {
				vals[aUPN], src[aUPN] = strings.TrimSpace(rec.Fields[i]), i
				break
			}
		}
	}
	if p.format == FormatExmail && vals[aDepartment] != "" {
		vals[aDepartment] = lastSegment(vals[aDepartment])
	}
	fromDefault := make([]bool, numAttrs)
	for a := range numAttrs {
		if vals[a] == "" && p.hasDefault[a] {
			vals[a], fromDefault[a] = p.defaults[a], true
		}
	}
	pos := func(a attr) (int, int) {
		if src[a] >= 0 && !fromDefault[a] {
			return rec.pos(src[a])
		}
		return rec.Line, 0
	}
	ok := true
	bad := func(a attr, msg, fix string) {
		line, col := pos(a)
		p.add(line, col, msg, fix)
		ok = false
	}

	// User principal name.
	upn := vals[aUPN]
	upnOK := false
	srcDomain := "" // the user name's own domain, when domain rewrites it
	switch {
	case upn == "":
		bad(aUPN, "user name is empty", "fill in the user's sign-in address, e.g. zhang.san@corp.com")
	case p.domain == "" && !strings.Contains(upn, "@"):
		bad(aUPN, fmt.Sprintf("user name %q has no domain", upn),
			fmt.Sprintf(`write the full address (e.g. %s@corp.com) or set domain = "corp.com"`, upn))
	default:
		if p.domain != "" {
			if at := strings.LastIndexByte(upn, '@'); at >= 0 {
				srcDomain = upn[at+1:]
				upn = upn[:at]
			}
			upn += "@" + p.domain
		}
		upnOK = true
		for _, f := range checkUPN(upn) {
			bad(aUPN, f.msg, f.fix)
			upnOK = false
		}
		key := strings.ToLower(upn)
		if first, dup := p.seen[key]; dup {
			bad(aUPN, fmt.Sprintf("user name %q is a duplicate of line %d", upn, first),
				"remove one of the two rows, or give this user another address")
		} else {
			p.seen[key] = rec.Line
		}
	}

	// Derived values.
	derivedNick := false
	if vals[aMailNickname] == "" && upnOK {
		vals[aMailNickname] = upn[:strings.IndexByte(upn, '@')]
		derivedNick = true // valid: a UPN's alias is a valid nickname
	}
	displayLabel := ""
	if vals[aDisplayName] == "" {
		vals[aDisplayName] = FullName(vals[aGivenName], vals[aSurname])
		if vals[aDisplayName] == "" {
			fix := "fill in the display name"
			if src[aDisplayName] >= 0 {
				fix = "fill in " + p.headers[src[aDisplayName]]
			}
			if p.format == FormatM365 {
				fix += " (or First Name and Last Name)"
			}
			bad(aDisplayName, "display name is empty", fix)
		} else {
			displayLabel = "display name (first name + last name)"
			line, col := pos(aGivenName)
			if vals[aGivenName] == "" {
				line, col = pos(aSurname)
			}
			for _, f := range checkValue(aDisplayName, vals[aDisplayName], displayLabel) {
				p.add(line, col, f.msg, f.fix)
				ok = false
			}
		}
	}

	// Limits of every other attribute.
	for a := aMailNickname; a < numAttrs; a++ {
		if vals[a] == "" || fromDefault[a] || (a == aDisplayName && displayLabel != "") || (a == aMailNickname && derivedNick) {
			continue
		}
		for _, f := range checkValue(a, vals[a], p.label(a, src[a])) {
			bad(a, f.msg, f.fix)
		}
	}
	if !ok {
		return User{}, false
	}
	vals[aUsageLocation] = strings.ToUpper(vals[aUsageLocation])
	u := User{Line: rec.Line}
	vals[aUPN] = upn
	for a := range numAttrs {
		switch {
		case vals[a] == "":
		case catalogue[a].Kind == userattr.List:
			u.SetList(catalogue[a].Name, catalogue[a].SplitCell(vals[a]))
		default:
			u.Set(catalogue[a].Name, vals[a])
		}
	}
	if aliases := u.GetList(userattr.Aliases); srcDomain != "" {
		// domain rewrites the aliases that share the user name's domain too (a staging
		// rehearsal moves zs@contoso.com with zhang.san@contoso.com); aliases on the company's
		// other domains keep theirs.
		for i, a := range aliases {
			if at := strings.LastIndexByte(a, '@'); at >= 0 && strings.EqualFold(a[at+1:], srcDomain) {
				aliases[i] = a[:at] + "@" + p.domain
			}
		}
	}
	return u, true
}

// lastSegment keeps the last part of an Exmail department path such as
// "总部/技术部" or "总部;技术部".
func lastSegment(dep string) string {
	parts := strings.FieldsFunc(dep, func(r rune) bool { return r == '/' || r == '／' || r == ';' || r == '；' })
	for i := len(parts) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(parts[i]); s != "" {
			return s
		}
	}
	return strings.TrimSpace(dep)
}

// OptionError is a problem with one option of [UserOptions] (not with the file): Option is the
// option's name as the data source spells it (columns, defaults, domain, encoding, format), so a
// caller can point at it without reading the message.
type OptionError struct {
	Option, Message string
}

func (e *OptionError) Error() string { return e.Message }

func optErr(option, msg string) error { return &OptionError{Option: option, Message: msg} }

// OptionErrors lists the option problems of a [ParseUsers] error, sorted by message.
func OptionErrors(err error) []*OptionError {
	var out []*OptionError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var oe *OptionError
		if errors.As(e, &oe) {
			out = append(out, oe)
			return
		}
		if e != nil {
			out = append(out, &OptionError{Option: "format", Message: e.Error()})
		}
	}
	walk(err)
	sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
	return out
}
