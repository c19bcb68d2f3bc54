package usercsv

import (
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Header rows of the admin-centre template.
const (
	h16 = "User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax," +
		"Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region"
	h15 = "User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax," +
		"Address,City,State or Province,ZIP or Postal Code,Country or Region"
	// The admin-centre template with Chinese labels (any language is allowed).
	h16zh = "用户名,名字,姓氏,显示名称,职务,部门,办公室号码,办公室电话,移动电话,传真,备用电子邮件地址,地址,城市,省/自治区/直辖市,邮政编码,国家或地区"
)

var bom8 = []byte{0xEF, 0xBB, 0xBF}

// gb encodes UTF-8 text as GB18030.
func gb(s string) []byte {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

// u16le encodes text as UTF-16LE code units; units may be given directly for
// invalid sequences.
func u16le(bom bool, parts ...any) []byte {
	var out []byte
	put := func(u uint16) { out = append(out, byte(u), byte(u>>8)) }
	if bom {
		put(0xFEFF)
	}
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			for _, u := range utf16.Encode([]rune(v)) {
				put(u)
			}
		case uint16:
			put(v)
		}
	}
	return out
}

// u16be encodes text as UTF-16BE.
func u16be(bom bool, s string) []byte {
	le := u16le(bom, s)
	for i := 0; i+1 < len(le); i += 2 {
		le[i], le[i+1] = le[i+1], le[i]
	}
	return le
}

// crlf turns LF line ends into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// cat concatenates byte slices and strings.
func cat(parts ...any) []byte {
	var out []byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v...)
		case []byte:
			out = append(out, v...)
		}
	}
	return out
}

// row16 builds a 16-field template row from the given leading fields.
func row16(fields ...string) string { return padRow(16, fields) }

// row15 builds a 15-field template row.
func row15(fields ...string) string { return padRow(15, fields) }

func padRow(n int, fields []string) string {
	for len(fields) < n {
		fields = append(fields, "")
	}
	return strings.Join(fields, ",")
}

// equalStrings fails the test with a readable diff when got != want.
func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return
	}
	t.Errorf("%s:\n got (%d):\n\t%s\nwant (%d):\n\t%s", what, len(got), strings.Join(got, "\n\t"), len(want), strings.Join(want, "\n\t"))
}
