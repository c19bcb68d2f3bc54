package usercsv

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
)

// Limits of an IMAP migration CSV (Exchange Online documentation, "CSV files
// for IMAP migration batches").
const (
	MaxMigrationRows  = 50000
	MaxMigrationBytes = 10 * 1024 * 1024
)

// MigrationOptions says how to read an IMAP migration CSV.
type MigrationOptions struct {
	// Name is the file name used in problems; "" gives "content".
	Name string
	// Encoding is an encoding option as for [Decode] ("" means "auto").
	Encoding string
	// Domain, when set, rewrites the domain of every EmailAddress (the Microsoft 365 mailbox) to
	// it, the way the users CSV's domain rewrites user names: zhang.san@corp.com becomes
	// zhang.san@<Domain>, so that one configuration rehearses the move on a staging tenant's
	// *.onmicrosoft.com addresses. UserName (the source login) is left as it is. Duplicates are
	// found after the rewrite.
	Domain string
}

// RewriteDomain returns addr with its domain replaced by domain ("" leaves it unchanged).
func RewriteDomain(addr, domain string) string {
	if domain == "" {
		return addr
	}
	local, _, _ := strings.Cut(addr, "@")
	return local + "@" + strings.ToLower(domain)
}

// MigrationRow is one valid row of an IMAP migration CSV.
type MigrationRow struct {
	Line         int // physical line where the row starts
	EmailAddress string
	UserName     string
	Password     string
	UserRoot     string
}

// MigrationResult is what [ParseMigration] found.
type MigrationResult struct {
	// Rows are the valid rows, in file order.
	Rows []MigrationRow
	// Encoding is the encoding used to read the file (see [Decode]).
	Encoding string
	// Problems lists everything wrong with the file, sorted by line and
	// column. No message contains a password.
	Problems Problems
	// CSV is the valid rows as UTF-8 CSV with the header
	// EmailAddress,UserName,Password (plus UserRoot when the file has that
	// column), in file order, ready to send as New-MigrationBatch -CSVData.
	CSV []byte
}

// migration column indexes.
const (
	mEmail = iota
	mUser
	mPassword
	mRoot
	numMig
)

var migNames = [numMig]string{"EmailAddress", "UserName", "Password", "UserRoot"}

// ParseMigration reads an IMAP migration CSV: a header of exactly
// EmailAddress, UserName, Password and optionally UserRoot (any order, any
// case), then one row per mailbox.
//
// It checks the header (no spaces in names, no unknown or repeated column),
// the documented limits (at most 50,000 rows and 10 MB), that every row has
// the header's number of fields, the EmailAddress syntax and uniqueness, that
// Password is not empty, and that UserName is the same address as
// EmailAddress (case-insensitive) or one of the documented admin-delegation
// forms: Domain/Admin_UserName/User_UserName (Exchange),
// User_UserName*Admin_UserName (Dovecot SASL) or #user@domain#Admin_UserName#
// (Mirapoint). A UserName on another domain is reported too: the source and
// target addresses are expected to be the same during a move of the domain.
//
// Problem messages quote no field value other than valid email addresses and
// recognised header names, so a password can never appear in them, even in a
// shifted or header-less file. The error is only for an unknown encoding.
func ParseMigration(data []byte, opts MigrationOptions) (*MigrationResult, error) {
	if !ValidEncoding(opts.Encoding) {
		return nil, fmt.Errorf(`unknown encoding %q: use one of %s`, opts.Encoding, strings.Join(Encodings(), ", "))
	}
	name := opts.Name
	if name == "" {
		name = "content"
	}
	res := &MigrationResult{}
	var problems []Problem
	add := func(line, col int, msg, fix string) {
		problems = append(problems, Problem{File: name, Line: line, Column: col, Message: msg, Fix: fix})
	}
	if len(data) > MaxMigrationBytes {
		add(0, 0, fmt.Sprintf("the file is %d bytes; a migration CSV can be at most 10 MB (%d bytes)", len(data), MaxMigrationBytes),
			"split the users into several files and migration batches")
	}
	text, used, ps := decode(data, opts.Encoding, false)
	res.Encoding = used
	problems = append(problems, withFile(ps, name)...)
	records, ps := ReadRecords(name, text)
	problems = append(problems, ps...)

	finish := func() (*MigrationResult, error) {
		sortProblems(problems)
		res.Problems = problems
		return res, nil
	}
	const headerFix = "the first line must be the header EmailAddress,UserName,Password (UserRoot is optional)"
	if len(records) == 0 {
		if strings.TrimSpace(text) == "" {
			add(1, 0, "no users: the file is empty", headerFix+", then one row per mailbox")
		} else {
			add(1, 0, "no users: no readable header row", "fix the other problems of this file; "+headerFix)
		}
		return finish()
	}

	// Header.
	h := records[0]
	width := h.width()
	for _, f := range h.Fields {
		if strings.ContainsRune(f, '\uFFFD') {
			return finish() // the header has undecodable bytes, reported by Decode
		}
	}
	col := [numMig]int{-1, -1, -1, -1}
	var unknown []int
	recognised := 0
	for i := range width {
		cell := strings.TrimSpace(strings.TrimPrefix(h.Fields[i], "\uFEFF"))
		k, spaced := -1, false
		for j, n := range migNames {
			if strings.EqualFold(cell, n) {
				k = j
			} else if headerKey(cell) == strings.ToLower(n) {
				k, spaced = j, true
			}
		}
		line, c := h.pos(i)
		switch {
		case k < 0:
			unknown = append(unknown, i)
		case col[k] >= 0:
			add(line, c, fmt.Sprintf("column %s appears twice in the header", migNames[k]), "remove the second one")
		default:
			col[k] = i
			recognised++
			if spaced {
				add(line, c, fmt.Sprintf("attribute names can't contain spaces: %q", cell), "use "+migNames[k])
			}
		}
	}
	if recognised == 0 {
		// Probably a file without a header: its first line may hold a
		// password, so nothing of it is quoted.
		add(h.Line, 1, "the first line is not the header EmailAddress,UserName,Password", "add the header line "+
			"EmailAddress,UserName,Password (and UserRoot if needed) above the first row")
		return finish()
	}
	missing := false
	for k := range mRoot {
		if col[k] < 0 {
			missing = true
			add(h.Line, 0, "missing column "+migNames[k], headerFix)
		}
	}
	for _, i := range unknown {
		line, c := h.pos(i)
		cell := strings.TrimSpace(h.Fields[i])
		// An unknown name is quoted only when the header is otherwise complete:
		// in an incomplete one it may be a value, even a password.
		msg := fmt.Sprintf("unknown column %q", cell)
		switch {
		case cell == "":
			msg = "empty column name"
		case missing:
			msg = fmt.Sprintf("unknown column %d in the header", i+1)
		}
		add(line, c, msg, "a migration CSV has only EmailAddress, UserName, Password and UserRoot: remove this column")
	}
	if missing {
		return finish()
	}
	rows := records[1:]
	if len(rows) == 0 {
		if len(ps) == 0 {
			add(h.Line, 0, "no users: the file has only the header row", "add one row per mailbox: EmailAddress,UserName,Password")
		}
		return finish()
	}
	if len(rows) > MaxMigrationRows {
		add(rows[MaxMigrationRows].Line, 0,
			fmt.Sprintf("the file has %d rows; a migration CSV can have at most 50,000", len(rows)),
			"split the users into several files and migration batches")
	}

	// Rows.
	seen := map[string]int{}
	for _, rec := range rows {
		if n := rec.width(); n > width {
			i := width
			for strings.TrimSpace(rec.Fields[i]) == "" {
				i++
			}
			line, c := rec.pos(i)
			add(line, c, fmt.Sprintf("the row has %d fields but the header has %d", n, width),
				`put quotes around a value that contains a comma, e.g. "pa,ss"`)
			continue
		}
		if len(rec.Fields) < width {
			add(rec.Line, 0, fmt.Sprintf("the row has %d fields but the header has %d", len(rec.Fields), width),
				"add the missing fields: every row needs EmailAddress, UserName and Password (an empty value still needs its comma)")
			continue
		}
		undecodable := false
		for _, f := range rec.Fields {
			undecodable = undecodable || strings.ContainsRune(f, '\uFFFD')
		}
		if undecodable {
			continue // reported by Decode
		}
		r := MigrationRow{
			Line:         rec.Line,
			EmailAddress: strings.TrimSpace(rec.Fields[col[mEmail]]),
			UserName:     strings.TrimSpace(rec.Fields[col[mUser]]),
			Password:     rec.Fields[col[mPassword]],
		}
		if col[mRoot] >= 0 {
			r.UserRoot = strings.TrimSpace(rec.Fields[col[mRoot]])
		}
		ok := true
		bad := func(k int, msg, fix string) {
			line, c := rec.pos(col[k])
			add(line, c, msg, fix)
			ok = false
		}
		emailOK := false
		switch reason, valid := checkEmail(r.EmailAddress); {
		case r.EmailAddress == "":
			bad(mEmail, "EmailAddress is empty", "fill in the user's Microsoft 365 mailbox address")
		case !valid:
			bad(mEmail, "EmailAddress is not a valid email address: "+reason, "write the Microsoft 365 mailbox address, e.g. zhang.san@corp.com")
		default:
			emailOK = true
			key := strings.ToLower(RewriteDomain(r.EmailAddress, opts.Domain))
			if first, dup := seen[key]; dup {
				bad(mEmail, fmt.Sprintf("EmailAddress %q is a duplicate of line %d", r.EmailAddress, first),
					"a mailbox can be in the file only once: remove one of the two rows")
			} else {
				seen[key] = rec.Line
			}
		}
		switch {
		case r.UserName == "":
			bad(mUser, "UserName is empty", "fill in the address the source server logs in with, usually the same as EmailAddress")
		case !emailOK, strings.EqualFold(r.UserName, r.EmailAddress), adminDelegation(r.UserName):
		case !strings.Contains(r.UserName, "@"):
			bad(mUser, fmt.Sprintf("UserName must be the full address (Tencent Exmail logs in with %s)", r.EmailAddress),
				"write UserName as "+r.EmailAddress)
		default:
			bad(mUser, fmt.Sprintf("UserName is not the same address as EmailAddress %q", r.EmailAddress),
				"use the address the source server logs in with in both columns, or an admin form: "+
					"Domain/Admin_UserName/User_UserName, User_UserName*Admin_UserName or #user@domain#Admin_UserName#")
		}
		if strings.TrimSpace(r.Password) == "" {
			bad(mPassword, "Password is empty",
				"fill in the password of the source mailbox (for Tencent Exmail with secure login on, a client-specific password)")
		}
		if !ok {
			continue
		}
		r.EmailAddress = RewriteDomain(r.EmailAddress, opts.Domain)
		res.Rows = append(res.Rows, r)
	}
	res.CSV = WriteMigration(res.Rows, col[mRoot] >= 0)
	if len(data) <= MaxMigrationBytes && len(res.CSV) > MaxMigrationBytes {
		add(0, 0, fmt.Sprintf("the CSV is %d bytes once converted to UTF-8; a migration CSV can be at most 10 MB (%d bytes)", len(res.CSV), MaxMigrationBytes),
			"split the users into several files and migration batches")
	}
	return finish()
}

// adminDelegation reports whether a UserName is one of the documented forms
// that log in with an administrator's credentials:
// Domain/Admin_UserName/User_UserName (Exchange), User_UserName*Admin_UserName
// (Dovecot SASL) and #user@domain#Admin_UserName# (Mirapoint).
func adminDelegation(u string) bool {
	nonEmpty := func(parts []string) bool {
		for _, p := range parts {
			if strings.TrimSpace(p) == "" || strings.ContainsAny(p, " \t") {
				return false
			}
		}
		return true
	}
	switch {
	case strings.HasPrefix(u, "#") && strings.HasSuffix(u, "#") && len(u) > 2:
		parts := strings.Split(u[1:len(u)-1], "#")
		return len(parts) == 2 && nonEmpty(parts) && strings.Count(parts[0], "@") == 1
	case strings.Count(u, "/") == 2 && !strings.ContainsAny(u, "*#"):
		return nonEmpty(strings.Split(u, "/"))
	case strings.Count(u, "*") == 1 && !strings.ContainsAny(u, "/#"):
		return nonEmpty(strings.Split(u, "*"))
	}
	return false
}

// WriteMigration writes rows as an IMAP migration CSV: UTF-8, the header
// EmailAddress,UserName,Password (plus UserRoot withRoot), one row each, quoted as needed. It is
// the one writer of migration CSVs: what New-MigrationBatch and Set-MigrationBatch -AddUsers send
// (https://learn.microsoft.com/exchange/mailbox-migration/migrating-imap-mailboxes/csv-files-for-imap-migration-batches).
func WriteMigration(rows []MigrationRow, withRoot bool) []byte {
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	header := migNames[:mRoot]
	if withRoot {
		header = migNames[:]
	}
	_ = w.Write(header)
	for _, r := range rows {
		rec := []string{r.EmailAddress, r.UserName, r.Password}
		if withRoot {
			rec = append(rec, r.UserRoot)
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return out.Bytes()
}
