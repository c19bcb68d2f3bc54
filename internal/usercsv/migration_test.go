package usercsv

import (
	"reflect"
	"strings"
	"testing"
)

func TestMigrationGoodAndNormalisedCSV(t *testing.T) {
	// GB18030, CRLF, columns in another order and case, quoted passwords with a
	// comma, a quote and a newline, trailing empty columns, blank lines.
	data := gb("password,USERROOT,emailaddress,UserName,,\r\n" +
		"\"pa,ss\",/users/zs,zhang.san@corp.com,zhang.san@corp.com,,\r\n" +
		"\r\n" +
		"\"say \"\"hi\"\"\n2\",,li.si@corp.com,corp/admin/li.si\r\n" +
		"密码123,,wang.wu@corp.com,wang.wu*admin\r\n")
	res, err := ParseMigration(data, MigrationOptions{Name: "imap.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 {
		t.Fatal(res.Problems.Error())
	}
	if res.Encoding != EncodingGB18030 {
		t.Errorf("encoding %s", res.Encoding)
	}
	want := []MigrationRow{
		{Line: 2, EmailAddress: "zhang.san@corp.com", UserName: "zhang.san@corp.com", Password: "pa,ss", UserRoot: "/users/zs"},
		{Line: 4, EmailAddress: "li.si@corp.com", UserName: "corp/admin/li.si", Password: "say \"hi\"\n2"},
		{Line: 6, EmailAddress: "wang.wu@corp.com", UserName: "wang.wu*admin", Password: "密码123"},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", res.Rows, want)
	}
	wantCSV := "EmailAddress,UserName,Password,UserRoot\n" +
		"zhang.san@corp.com,zhang.san@corp.com,\"pa,ss\",/users/zs\n" +
		"li.si@corp.com,corp/admin/li.si,\"say \"\"hi\"\"\n2\",\n" +
		"wang.wu@corp.com,wang.wu*admin,密码123,\n"
	if string(res.CSV) != wantCSV {
		t.Errorf("CSV:\n%s\nwant:\n%s", res.CSV, wantCSV)
	}

	// Without UserRoot the normalised header has three columns.
	res, err = ParseMigration([]byte("EmailAddress,UserName,Password\na@corp.com,A@CORP.COM,x\n"), MigrationOptions{})
	if err != nil || len(res.Problems) != 0 {
		t.Fatal(err, res.Problems)
	}
	if got := string(res.CSV); got != "EmailAddress,UserName,Password\na@corp.com,A@CORP.COM,x\n" {
		t.Errorf("CSV %q", got)
	}
	if _, err := ParseMigration(nil, MigrationOptions{Encoding: "ebcdic"}); err == nil {
		t.Error("unknown encoding accepted")
	}
}

func TestAdminDelegationForms(t *testing.T) {
	for u, want := range map[string]bool{
		"corp/admin/zhang.san":         true, // Exchange
		"zhang.san@corp.com*admin":     true, // Dovecot SASL
		"#zhang.san@corp.com#admin#":   true, // Mirapoint
		"corp/admin":                   false,
		"corp//zhang.san":              false,
		"a*b*c":                        false,
		"*admin":                       false,
		"#zhang.san#admin#":            false, // the user part must be an address
		"#zhang.san@corp.com#admin":    false,
		"#zhang.san@corp.com#ad min#":  false,
		"zhang.san":                    false,
		"zhang.san@corp.com":           false, // plain address: compared with EmailAddress instead
		"corp/admin/zhang san":         false,
		"#a@corp.com#admin#extra#":     false,
		"corp/admin/zhang.san*admin":   false,
		"zhang.san@corp.com*admin/x/y": false,
	} {
		if got := adminDelegation(u); got != want {
			t.Errorf("adminDelegation(%q) = %v, want %v", u, got, want)
		}
	}
}

// TestMigrationNeverShowsPasswords feeds files where the password ends up in
// every place a message could quote: no header, swapped and shifted columns,
// broken quotes, undecodable bytes, duplicate rows.
func TestMigrationNeverShowsPasswords(t *testing.T) {
	const pw = "Sup3r$ecret!"
	files := map[string][]byte{
		"no header":                []byte("a@corp.com,a@corp.com," + pw + "\n"),
		"password first, no hdr":   []byte(pw + ",a@corp.com,a@corp.com\n"),
		"password in UserName":     []byte("EmailAddress,UserName,Password\na@corp.com," + pw + ",x\n"),
		"password in Email":        []byte("EmailAddress,UserName,Password\n" + pw + ",a@corp.com,x\n"),
		"password with @ in Email": []byte("EmailAddress,UserName,Password\nx" + pw + "@y,a@corp.com,x\n"),
		"password as header":       []byte("EmailAddress,UserName," + pw + "\na@corp.com,a@corp.com,x\n"),
		"extra field":              []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com,Sup3r,$ecret!," + pw + "\n"),
		"missing field":            []byte("EmailAddress,UserName,Password\na@corp.com," + pw + "\n"),
		"unclosed quote":           []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com,\"" + pw + "\n"),
		"bare quote":               []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com,x\"" + pw + "\n"),
		"text after quote":         []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com,\"x\"" + pw + "\n"),
		"bad byte":                 cat("EmailAddress,UserName,Password\na@corp.com,a@corp.com,", pw, []byte{0xC4}, " ", pw, "\n"),
		"bad byte utf-8":           cat("EmailAddress,UserName,Password\na@corp.com,a@corp.com,", pw, []byte{0xFF}, "\n"),
		"duplicate":                []byte("EmailAddress,UserName,Password\na@corp.com,a@corp.com," + pw + "\na@corp.com,a@corp.com," + pw + "\n"),
		"spaced header":            []byte("Email Address,User Name,Password\n" + pw + "," + pw + "," + pw + "\n"),
	}
	for name, data := range files {
		for _, enc := range []string{"auto", "utf-8"} {
			res, err := ParseMigration(data, MigrationOptions{Name: "imap.csv", Encoding: enc})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) == 0 {
				t.Errorf("%s (%s): no problem found", name, enc)
			}
			msg := res.Problems.Error()
			for _, part := range []string{pw, "Sup3r", "ecret", "0xC4", "0xFF"} {
				if strings.Contains(msg, part) {
					t.Errorf("%s (%s): problems show %q:\n%s", name, enc, part, msg)
				}
			}
		}
	}
}

func TestHeaderProblems(t *testing.T) {
	res, err := ParseMigration([]byte("EmailAddress,User Root,Password,UserName,emailaddress\na@corp.com,,x,a@corp.com,b@corp.com\n"), MigrationOptions{Name: "m.csv"})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "migration", res.Problems.Strings(), []string{
		`m.csv:1:14: attribute names can't contain spaces: "User Root" — use UserRoot`,
		`m.csv:1:42: column EmailAddress appears twice in the header — remove the second one`,
	})
	// A file that is all one unclosed quoted field has no header at all
	// (column 0, the whole line, sorts before column 1).
	res, _ = ParseMigration([]byte("\"EmailAddress,UserName,Password\na,b,c\n"), MigrationOptions{Name: "m.csv"})
	equalStrings(t, "migration quote", res.Problems.Strings(), []string{
		"m.csv:1: no users: no readable header row — fix the other problems of this file; " + fixMigHeader,
		"m.csv:1:1: " + msgUnclosed + ` — close the quote that opens at line 1, column 1 with a " at the end of the field`,
	})
	users, _ := ParseUsers([]byte("\"User Name,Display Name\na,b\n"), UserOptions{Name: "u.csv"})
	equalStrings(t, "users quote", users.Problems.Strings(), []string{
		"u.csv:1: no users: no readable header row — fix the other problems of this file; the first line must be the header",
		"u.csv:1:1: " + msgUnclosed + ` — close the quote that opens at line 1, column 1 with a " at the end of the field`,
	})
}
