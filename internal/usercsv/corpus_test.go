package usercsv

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "write testdata/bad/* from the corpus table")

// badCase is one file of the corpus of bad CSV files: its content, how it is
// read, and the exact problems expected.
type badCase struct {
	file      string
	migration bool        // an IMAP migration CSV, else a user CSV
	opts      UserOptions // for user CSVs (Name is set to file)
	encoding  string      // for migration CSVs
	data      []byte
	gen       func() []byte // instead of data, for files too large to commit
	want      []string      // exact problem strings, in order
	valid     int           // valid users / rows expected
}

// Passwords used in the migration files: no problem may ever show them.
var corpusPasswords = []string{"Tr0ub4dor&3", "S3cr3t,Pa55", "S3cr3t", "Pa55", "hunter2!", "P@ss w0rd", "correct-horse-9", "Zx!9qLm#2"}

const (
	fixEncUTF8    = `save the file as UTF-8, or set encoding = "gb18030" (or "auto")`
	fixTooMany    = `put quotes around a value that contains a comma (e.g. "Beijing, China"), or remove the extra fields`
	fixDupUser    = "remove one of the two rows, or give this user another address"
	fixAlias      = "shorten the alias"
	fixUsage      = "use a two-letter code such as CN, HK, SG, US or GB"
	fixMigHeader  = "the first line must be the header EmailAddress,UserName,Password (UserRoot is optional)"
	fixEmptyPw    = "fill in the password of the source mailbox (for Tencent Exmail with secure login on, a client-specific password)"
	fixBadEmail   = "write the Microsoft 365 mailbox address, e.g. zhang.san@corp.com"
	fixSplitBatch = "split the users into several files and migration batches"
	fixUnclosed   = `close the quote that opens at line %d, column %d with a " at the end of the field`
	msgUnclosed   = "this quoted field is never closed, so the rest of the file was read as part of it"
)

func corpus() []badCase {
	x := strings.Repeat
	long64 := x("l", 64)
	dom49 := x("d", 45) + ".com"
	cases := []badCase{
		// ---- encodings ----
		{file: "u_gb18030_as_utf8.csv", opts: UserOptions{Format: "exmail", Encoding: "utf-8"},
			data: gb("姓名,邮箱\n张三,zhang.san@corp.com\n"),
			want: []string{
				"u_gb18030_as_utf8.csv:1:1: invalid UTF-8 byte 0xD0 — " + fixEncUTF8,
				"u_gb18030_as_utf8.csv:2:1: invalid UTF-8 byte 0xD5 — " + fixEncUTF8,
			}},
		{file: "u_undecodable_gb18030.csv",
			data: cat(gb("姓名,邮箱\n张三,zhang.san@corp.com\n李"), []byte{0xFF}, gb("四,li.si@corp.com\n")),
			want: []string{
				"u_undecodable_gb18030.csv:3:2: byte 0xFF is neither UTF-8 nor GB18030 — save the file as UTF-8",
			}, valid: 1},
		{file: "u_utf8_stray_byte.csv",
			data: cat("姓名,邮箱\n张三,zhang.san@corp.com\n李四,li", []byte{0xC4}, "si@corp.com\n"),
			want: []string{
				"u_utf8_stray_byte.csv:3:6: invalid UTF-8 byte 0xC4 — the rest of the file is UTF-8: retype the character here, or save the file as UTF-8 again",
			}, valid: 1},
		{file: "u_utf16le_bom_long_display.csv",
			data: u16le(true, crlf(h16+"\n"+
				"chris@contoso.com,Chris,Green,Chris Green,IT Manager,Information Technology,123451,123-555-1211,123-555-6641,123-555-6700,chris@contoso.com,1 Microsoft way,Redmond,Wa,98052,United States\n"+
				row16("amy@contoso.com", "Amy", "Lee", x("A", 257))+"\n")),
			want: []string{
				`u_utf16le_bom_long_display.csv:3:25: "Display Name" is 257 characters long; Microsoft Graph allows at most 256 for displayName — shorten it to 256 characters`,
			}, valid: 1},
		{file: "u_utf16le_lone_surrogate.csv",
			data: u16le(true, h15+"\r\n"+"bob@contoso.com,Bob,,Bob ", uint16(0xD800), "X,,,,,,,,,,,\r\n"),
			want: []string{
				"u_utf16le_lone_surrogate.csv:2:26: invalid UTF-16 code unit 0xD800 (unpaired surrogate) — save the file as UTF-8",
			}},
		{file: "u_utf8_bom_crlf_dots.csv",
			data: cat(bom8, crlf(h15+"\n"+row15("a.@contoso.com", "", "", "A")+"\n"+row15("b..c@contoso.com", "", "", "B")+"\n"+
				row15(".d@contoso.com", "", "", "D")+"\n"+row15("e@contoso.com", "", "", "E")+"\n")),
			want: []string{
				`u_utf8_bom_crlf_dots.csv:2:1: user name "a.@contoso.com" has a dot right before the @ — remove the dot before the @`,
				`u_utf8_bom_crlf_dots.csv:3:1: user name "b..c@contoso.com" contains two dots in a row — replace ".." with a single dot`,
				`u_utf8_bom_crlf_dots.csv:4:1: user name ".d@contoso.com" starts with a dot — remove the leading dot`,
			}, valid: 1},
		{file: "u_gb18030_option_on_utf8_bom.csv", opts: UserOptions{Encoding: "gb18030"},
			data: cat(bom8, "姓名,邮箱\n张三,zhang.san@corp.com\n"),
			want: []string{
				`u_gb18030_option_on_utf8_bom.csv:1:1: the file starts with a UTF-8 byte-order mark but encoding = "gb18030" — set encoding = "utf-8" or "auto"`,
			}, valid: 1},

		// ---- CSV syntax ----
		{file: "u_quoted_newline.csv",
			data: []byte(h16 + "\n" +
				`ann@contoso.com,Ann,Lee,Ann Lee,,,,,,,,"1 Main St,` + "\n" + `Floor 2",` + x("C", 129) + ",WA,98052,US\n" +
				row16("bad user@contoso.com", "", "", "Bad") + "\n" +
				row16("carl@contoso.com", "Carl", "Diaz", `"Diaz, Carl"`) + "\n"),
			want: []string{
				`u_quoted_newline.csv:3:10: "City" is 129 characters long; Microsoft Graph allows at most 128 for city — shorten it to 128 characters`,
				`u_quoted_newline.csv:4:1: user name "bad user@contoso.com" contains characters that are not allowed before the @: " " — use only letters, digits and ' . - _ ! # ^ ~ before the @`,
			}, valid: 1},
		{file: "u_unclosed_quote.csv",
			data: []byte(h16 + "\n" + row16("chris@contoso.com", "Chris", "Green", "Chris Green") + "\n" +
				row16("dan@contoso.com", "Dan", "", `"Dan`) + "\n" + row16("eve@contoso.com", "Eve", "", "Eve") + "\n"),
			want: []string{
				"u_unclosed_quote.csv:3:22: " + msgUnclosed + " — " + fmt.Sprintf(fixUnclosed, 3, 22),
			}, valid: 1},
		{file: "u_bare_quote.csv",
			data: []byte(h16 + "\n" + row16("fay@contoso.com", "Fay", "", "Fay", `27" Monitor Buyer`) + "\n" +
				row16("gil@contoso.com", "Gil", "", "Gil") + "\n"),
			want: []string{
				`u_bare_quote.csv:2:28: a quote (") inside a field that does not start with a quote — put the whole field in quotes and double the quote inside it, e.g. "27"" screen"`,
			}, valid: 1},
		{file: "u_text_after_closing_quote.csv",
			data: []byte(h16 + "\n" + row16("gus@contoso.com", "Gus", "", `"Gus"x`) + "\n" + row16("gil@contoso.com", "Gil", "", "Gil") + "\n"),
			want: []string{
				`u_text_after_closing_quote.csv:2:27: unexpected character after the closing quote of a quoted field — write a quote inside a quoted field as two quotes (""), and put the comma right after the closing quote`,
			}, valid: 1},
		{file: "u_too_many_fields.csv",
			data: []byte(h16 + "\n" + "hal@contoso.com,Hal,,Hal,,,,,,,,1 Road,Beijing, China,BJ,100000,CN\n" +
				row16("ivy@contoso.com", "Ivy", "", "Ivy") + ",,,\n"),
			want: []string{
				"u_too_many_fields.csv:2:65: the row has 17 fields but the header has 16 columns — " + fixTooMany,
			}, valid: 1},

		// ---- header ----
		{file: "u_unknown_header.csv",
			data: []byte("Name,Mail,Phone\nA,a@corp.com,1\n"),
			want: []string{
				`u_unknown_header.csv:1:1: cannot tell the CSV format from the header; found "Name", "Mail", "Phone" — set format = "m365" or "exmail" if the file is one of those, or format = "custom" with columns = { user_principal_name = "<header>", display_name = "<header>" }`,
			}},
		{file: "u_m365_unknown_column.csv",
			data: []byte(h16 + ",Usage Location\n" + row16("jay@contoso.com", "Jay", "", "Jay") + ",CN\n"),
			want: []string{
				`u_m365_unknown_column.csv:1:202: column "Usage Location" is not in the admin-centre template — use the template's header names (User Name, First Name, Last Name, Display Name, ...), map the column with columns, or set format = "custom"`,
			}, valid: 1},
		{file: "u_m365_missing_display.csv",
			data: []byte("User Name,Job Title\na@contoso.com,CEO\n"),
			want: []string{
				`u_m365_missing_display.csv:1: missing column "Display Name" — add the Display Name column (or First Name and Last Name)`,
			}},
		{file: "u_exmail_missing_account.csv", opts: UserOptions{Format: "exmail"},
			data: []byte("姓名,部门\n张三,技术部\n"),
			want: []string{
				`u_exmail_missing_account.csv:1: missing account column: the header has none of 帐号, 账号, 邮箱, 邮箱地址 — add the account column, or set format = "custom" with columns`,
			}},
		{file: "u_custom_missing_column.csv", opts: UserOptions{Format: "custom", Columns: map[string]string{"user_principal_name": "E-mail", "display_name": "Name"}},
			data: []byte("Email,Name\na@corp.com,A\n"),
			want: []string{
				`u_custom_missing_column.csv:1: column "E-mail" (columns.user_principal_name) is not in the header; found "Email", "Name" — correct the header name in columns, or the header of the file`,
			}},
		{file: "u_empty.csv", data: []byte{},
			want: []string{"u_empty.csv:1: no users: the file is empty — add the header row and one row per user"}},
		{file: "u_header_only.csv", data: []byte(h16 + "\n,,,,\n\n"),
			want: []string{"u_header_only.csv:1: no users: the file has a header row but no user rows — add one row per user below the header"}},

		// ---- values ----
		{file: "u_upn_rules.csv",
			data: []byte(h15 + "\n" +
				row15("张三@corp.com", "", "", "N2") + "\n" +
				row15("a@b@corp.com", "", "", "N3") + "\n" +
				row15("nodomain", "", "", "N4") + "\n" +
				row15(long64+"l@corp.com", "", "", "N5") + "\n" +
				row15("a@"+dom49, "", "", "N6") + "\n" +
				row15(long64+"@"+dom49, "", "", "N7") + "\n" +
				row15("", "", "", "N8") + "\n" +
				row15("x@corp..com", "", "", "N9") + "\n" +
				row15("o'brien!#^~_-.x@corp.com", "", "", "N10") + "\n" +
				row15("a(b)@corp.com", "", "", "N11") + "\n"),
			want: []string{
				`u_upn_rules.csv:2:1: user name "张三@corp.com" contains non-ASCII characters — use a pinyin or Latin alias such as zhang.san@corp.com and keep the Chinese name in the display name`,
				`u_upn_rules.csv:3:1: user name "a@b@corp.com" must contain exactly one @, it has 2 — write it as alias@domain, e.g. zhang.san@corp.com`,
				`u_upn_rules.csv:4:1: user name "nodomain" has no domain — write the full address (e.g. nodomain@corp.com) or set domain = "corp.com"`,
				`u_upn_rules.csv:5:1: user name "` + long64 + `l@corp.com" has 65 characters before the @; the limit is 64 — ` + fixAlias,
				`u_upn_rules.csv:6:1: user name "a@` + dom49 + `" has 49 characters after the @; the limit is 48 — use a shorter domain of the tenant`,
				`u_upn_rules.csv:7:1: user name "` + long64 + "@" + dom49 + `" is 114 characters long; the limit is 113 — ` + fixAlias,
				`u_upn_rules.csv:7:1: user name "` + long64 + "@" + dom49 + `" has 49 characters after the @; the limit is 48 — use a shorter domain of the tenant`,
				`u_upn_rules.csv:8:1: user name is empty — fill in the user's sign-in address, e.g. zhang.san@corp.com`,
				`u_upn_rules.csv:9:1: user name "x@corp..com": "corp..com" is not a valid domain name — use a domain of the tenant such as corp.com (or set domain to rewrite every address)`,
				`u_upn_rules.csv:11:1: user name "a(b)@corp.com" contains characters that are not allowed before the @: "(" ")" — use only letters, digits and ' . - _ ! # ^ ~ before the @`,
			}, valid: 1},
		{file: "u_duplicates.csv",
			data: []byte(h15 + "\n" + row15("jo@contoso.com", "", "", "Jo") + "\n" + row15("kim@contoso.com", "", "", "Kim") + "\n" +
				row15("JO@Contoso.com", "", "", "Jo 2") + "\n" + row15("kim@contoso.com", "", "", "Kim 2") + "\n"),
			want: []string{
				`u_duplicates.csv:4:1: user name "JO@Contoso.com" is a duplicate of line 2 — ` + fixDupUser,
				`u_duplicates.csv:5:1: user name "kim@contoso.com" is a duplicate of line 3 — ` + fixDupUser,
			}, valid: 2},
		{file: "u_duplicates_after_domain_rewrite.csv", opts: UserOptions{Domain: "corp.com"},
			data: []byte("姓名,帐号\n张三,zhang.san\n张三丰,zhang.san@old.com\n"),
			want: []string{
				`u_duplicates_after_domain_rewrite.csv:3:5: user name "zhang.san@corp.com" is a duplicate of line 2 — ` + fixDupUser,
			}, valid: 1},
		{file: "u_bare_account_no_domain.csv",
			data: []byte("姓名,帐号\n张三,zhang.san\n"),
			want: []string{
				`u_bare_account_no_domain.csv:2:4: user name "zhang.san" has no domain — write the full address (e.g. zhang.san@corp.com) or set domain = "corp.com"`,
			}},
		{file: "u_display_name_empty.csv",
			data: []byte(h16 + "\n" + "kai@contoso.com, , , ," + x(" ,", 11) + " \n" + row16("lia@contoso.com", "Lia", "Wu", " ") + "\n"),
			want: []string{
				`u_display_name_empty.csv:2:21: display name is empty — fill in Display Name (or First Name and Last Name)`,
			}, valid: 1},
		{file: "u_bad_usage_location.csv",
			opts: UserOptions{Format: "custom", Columns: map[string]string{"user_principal_name": "Email", "display_name": "Name", "usage_location": "Location"}},
			data: []byte("Email,Name,Location\na@corp.com,A,China\nb@corp.com,B,cn\nc@corp.com,C,XX\nd@corp.com,D,USA\n"),
			want: []string{
				`u_bad_usage_location.csv:2:14: usage location "China" is not an ISO 3166-1 alpha-2 country code — ` + fixUsage,
				`u_bad_usage_location.csv:4:14: usage location "XX" is not an ISO 3166-1 alpha-2 country code — ` + fixUsage,
				`u_bad_usage_location.csv:5:14: usage location "USA" is not an ISO 3166-1 alpha-2 country code — ` + fixUsage,
			}, valid: 1},
		{file: "u_preferred_language.csv",
			opts: UserOptions{Format: "custom", Columns: map[string]string{"user_principal_name": "Email", "display_name": "Name", "preferred_language": "Lang"}},
			data: []byte("Email,Name,Lang\na@corp.com,A,zh_CN\nb@corp.com,B,zh-CN\n"),
			want: []string{
				`u_preferred_language.csv:2:14: preferred language "zh_CN" is not an RFC 4646 language tag — use a tag such as zh-CN or en-US`,
			}, valid: 1},
		{file: "u_other_mails.csv",
			data: []byte(h16 + "\n" + row16("max@contoso.com", "", "", "Max", "", "", "", "", "", "", "not-an-email") + "\n" +
				row16("ned@contoso.com", "", "", "Ned", "", "", "", "", "", "", "né@mail.com;ok@mail.com") + "\n" +
				row16("oz@contoso.com", "", "", "Oz", "", "", "", "", "", "", `"a@x.com, b@y.com"`) + "\n"),
			want: []string{
				`u_other_mails.csv:2:29: "Alternate email address": "not-an-email" is not an email address: it has no @ — write alternate addresses as name@domain, separated by ;`,
				`u_other_mails.csv:3:29: "Alternate email address": "né@mail.com" is not an email address: it contains non-ASCII characters — write alternate addresses as name@domain, separated by ;`,
			}, valid: 1},
		{file: "u_mail_nickname.csv",
			opts: UserOptions{Format: "custom", Columns: map[string]string{"user_principal_name": "Email", "display_name": "Name", "mail_nickname": "Alias"}},
			data: []byte("Email,Name,Alias\na@corp.com,A,a b\nb@corp.com,B,\n"),
			want: []string{
				`u_mail_nickname.csv:2:14: mail nickname "a b" contains " ", which is not allowed — use ASCII letters, digits and . - _ only`,
			}, valid: 1},

		// ---- IMAP migration CSV ----
		{file: "m_email_address_with_space.csv", migration: true,
			data: []byte("Email Address,User Name,Password\nzhang.san@corp.com,zhang.san@corp.com,Tr0ub4dor&3\n"),
			want: []string{
				`m_email_address_with_space.csv:1:1: attribute names can't contain spaces: "Email Address" — use EmailAddress`,
				`m_email_address_with_space.csv:1:15: attribute names can't contain spaces: "User Name" — use UserName`,
			}, valid: 1},
		{file: "m_bare_username.csv", migration: true,
			data: []byte("EmailAddress,UserName,Password\nzhang.san@corp.com,zhang.san,hunter2!\nli.si@corp.com,li.si@corp.com,Zx!9qLm#2\n"),
			want: []string{
				`m_bare_username.csv:2:20: UserName must be the full address (Tencent Exmail logs in with zhang.san@corp.com) — write UserName as zhang.san@corp.com`,
			}, valid: 1},
		{file: "m_utf16le_bare_username.csv", migration: true,
			data: u16le(true, "EmailAddress,UserName,Password\r\nwang.wu@corp.com,wang.wu,P@ss w0rd\r\n"),
			want: []string{
				`m_utf16le_bare_username.csv:2:18: UserName must be the full address (Tencent Exmail logs in with wang.wu@corp.com) — write UserName as wang.wu@corp.com`,
			}},
		{file: "m_empty_password.csv", migration: true,
			data: []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com,\nb@corp.com,b@corp.com,   \n"),
			want: []string{
				"m_empty_password.csv:2:23: Password is empty — " + fixEmptyPw,
				"m_empty_password.csv:3:23: Password is empty — " + fixEmptyPw,
			}},
		{file: "m_duplicate_email.csv", migration: true,
			data: []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com,Tr0ub4dor&3\nb@corp.com,b@corp.com,hunter2!\nA@Corp.com,A@Corp.com,correct-horse-9\n"),
			want: []string{
				`m_duplicate_email.csv:4:1: EmailAddress "A@Corp.com" is a duplicate of line 2 — a mailbox can be in the file only once: remove one of the two rows`,
			}, valid: 2},
		{file: "m_unknown_column.csv", migration: true,
			data: []byte("EmailAddress,UserName,Password,Quota\na@corp.com,a@corp.com,hunter2!,5GB\n"),
			want: []string{
				`m_unknown_column.csv:1:32: unknown column "Quota" — a migration CSV has only EmailAddress, UserName, Password and UserRoot: remove this column`,
			}, valid: 1},
		{file: "m_missing_password_column.csv", migration: true,
			data: []byte("EmailAddress,UserName\na@corp.com,a@corp.com\n"),
			want: []string{"m_missing_password_column.csv:1: missing column Password — " + fixMigHeader}},
		{file: "m_wrong_field_count.csv", migration: true,
			data: []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com,S3cr3t,Pa55\nb@corp.com,b@corp.com\n" +
				"c@corp.com,c@corp.com,\"S3cr3t,Pa55\"\nd@corp.com,d@corp.com,hunter2!,,\n"),
			want: []string{
				`m_wrong_field_count.csv:2:30: the row has 4 fields but the header has 3 — put quotes around a value that contains a comma, e.g. "pa,ss"`,
				`m_wrong_field_count.csv:3: the row has 2 fields but the header has 3 — add the missing fields: every row needs EmailAddress, UserName and Password (an empty value still needs its comma)`,
			}, valid: 2},
		{file: "m_no_header.csv", migration: true,
			data: []byte("zhang.san@corp.com,zhang.san@corp.com,Tr0ub4dor&3\n"),
			want: []string{
				"m_no_header.csv:1:1: the first line is not the header EmailAddress,UserName,Password — add the header line EmailAddress,UserName,Password (and UserRoot if needed) above the first row",
			}},
		{file: "m_bad_email.csv", migration: true,
			data: []byte("EmailAddress,UserName,Password\nzhang.san,zhang.san,hunter2!\na@b,a@b,hunter2!\na b@corp.com,a b@corp.com,hunter2!\n,x@corp.com,hunter2!\n"),
			want: []string{
				"m_bad_email.csv:2:1: EmailAddress is not a valid email address: it has no @ — " + fixBadEmail,
				"m_bad_email.csv:3:1: EmailAddress is not a valid email address: the part after the @ is not a domain name — " + fixBadEmail,
				`m_bad_email.csv:4:1: EmailAddress is not a valid email address: it contains a space, a control character or one of " ( ) , : ; < > [ \ ] before the @ — ` + fixBadEmail,
				"m_bad_email.csv:5:1: EmailAddress is empty — fill in the user's Microsoft 365 mailbox address",
			}},
		{file: "m_username_forms.csv", migration: true,
			data: []byte("EmailAddress,UserName,Password,UserRoot\n" +
				"terry@corp.com,corp/admin/terry,Tr0ub4dor&3,\n" +
				"ann@corp.com,ann*admin,hunter2!,/users/ann\n" +
				"bob@corp.com,#bob@corp.com#admin#,Zx!9qLm#2,\n" +
				"cat@corp.com,cat@old.com,correct-horse-9,\n" +
				"dan@corp.com,,P@ss w0rd,\n" +
				"EVE@corp.com,eve@CORP.com,hunter2!,\n"),
			want: []string{
				`m_username_forms.csv:5:14: UserName is not the same address as EmailAddress "cat@corp.com" — use the address the source server logs in with in both columns, or an admin form: Domain/Admin_UserName/User_UserName, User_UserName*Admin_UserName or #user@domain#Admin_UserName#`,
				"m_username_forms.csv:6:14: UserName is empty — fill in the address the source server logs in with, usually the same as EmailAddress",
			}, valid: 4},
		{file: "m_gb18030_as_utf8.csv", migration: true, encoding: "utf-8",
			data: cat("EmailAddress,UserName,Password\na@corp.com,a@corp.com,", gb("密码"), "1\n"),
			want: []string{
				"m_gb18030_as_utf8.csv:2:23: invalid UTF-8 byte — " + fixEncUTF8,
			}},
		{file: "m_unclosed_quote.csv", migration: true,
			data: []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com,\"Tr0ub4dor&3\nb@corp.com,b@corp.com,hunter2!\n"),
			want: []string{
				"m_unclosed_quote.csv:2:23: " + msgUnclosed + " — " + fmt.Sprintf(fixUnclosed, 2, 23),
			}},
		{file: "m_empty.csv", migration: true, data: []byte("\r\n"),
			want: []string{"m_empty.csv:1: no users: the file is empty — " + fixMigHeader + ", then one row per mailbox"}},
		{file: "m_header_only.csv", migration: true, data: []byte("EmailAddress,UserName,Password\r\n"),
			want: []string{"m_header_only.csv:1: no users: the file has only the header row — add one row per mailbox: EmailAddress,UserName,Password"}},
		{file: "m_too_many_rows.csv", migration: true, gen: func() []byte { return migrationRows(MaxMigrationRows+1, "") },
			want: []string{
				"m_too_many_rows.csv:50002: the file has 50001 rows; a migration CSV can have at most 50,000 — " + fixSplitBatch,
			}, valid: MaxMigrationRows + 1},
	}
	big := migrationRows(48000, "/"+x("r", 200))
	cases = append(cases, badCase{file: "m_larger_than_10MB.csv", migration: true, gen: func() []byte { return big },
		want: []string{
			fmt.Sprintf("m_larger_than_10MB.csv: the file is %d bytes; a migration CSV can be at most 10 MB (10485760 bytes) — %s", len(big), fixSplitBatch),
		}, valid: 48000})
	return cases
}

// migrationRows builds a valid migration CSV with n rows (and a UserRoot
// column when root is set).
func migrationRows(n int, root string) []byte {
	var b bytes.Buffer
	b.WriteString("EmailAddress,UserName,Password")
	if root != "" {
		b.WriteString(",UserRoot")
	}
	b.WriteString("\r\n")
	for i := range n {
		fmt.Fprintf(&b, "u%06d@corp.com,u%06d@corp.com,Tr0ub4dor&3", i, i)
		if root != "" {
			b.WriteString("," + root)
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func TestCorpusBad(t *testing.T) {
	cases := corpus()
	committed := 0
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.file] {
			t.Fatalf("duplicate corpus file %s", c.file)
		}
		names[c.file] = true
		t.Run(c.file, func(t *testing.T) {
			var data []byte
			if c.gen != nil {
				data = c.gen()
				path := filepath.Join(t.TempDir(), c.file)
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				committed++
				path := filepath.Join("testdata", "bad", c.file)
				if *updateCorpus {
					if err := os.WriteFile(path, c.data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				data, err = os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -run TestCorpusBad -update-corpus to write the corpus)", err)
				}
				if !bytes.Equal(data, c.data) {
					t.Fatalf("%s differs from the corpus table; run with -update-corpus", path)
				}
			}
			var got Problems
			var valid int
			if c.migration {
				res, err := ParseMigration(data, MigrationOptions{Name: c.file, Encoding: c.encoding})
				if err != nil {
					t.Fatal(err)
				}
				got, valid = res.Problems, len(res.Rows)
				msg := res.Problems.Error()
				for _, pw := range corpusPasswords {
					if strings.Contains(msg, pw) {
						t.Errorf("problems show the password %q:\n%s", pw, msg)
					}
				}
			} else {
				opts := c.opts
				opts.Name = c.file
				res, err := ParseUsers(data, opts)
				if err != nil {
					t.Fatal(err)
				}
				got, valid = res.Problems, len(res.Users)
			}
			equalStrings(t, "problems", got.Strings(), c.want)
			if valid != c.valid {
				t.Errorf("valid rows = %d, want %d", valid, c.valid)
			}
			if len(c.want) > 0 && got.Error() != strings.Join(c.want, "\n") {
				t.Errorf("Error() = %q", got.Error())
			}
		})
	}
	if n := len(cases); n < 30 {
		t.Errorf("corpus has %d files, want at least 30", n)
	}
	t.Logf("%d bad files (%d committed under testdata/bad)", len(cases), committed)
}
