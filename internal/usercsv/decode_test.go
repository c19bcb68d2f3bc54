package usercsv

import (
	"testing"
)

func TestDecodeEncodings(t *testing.T) {
	const text = "姓名,邮箱\n张三,zhang.san@corp.com\n"
	for _, c := range []struct {
		name, enc string
		data      []byte
		used      string
	}{
		{"utf-8", "auto", []byte(text), EncodingUTF8},
		{"utf-8 BOM", "auto", cat(bom8, text), EncodingUTF8BOM},
		{"utf-8 BOM explicit", "UTF8", cat(bom8, text), EncodingUTF8BOM},
		{"utf-16le BOM", "auto", u16le(true, text), EncodingUTF16LE},
		{"utf-16be BOM", "auto", u16be(true, text), EncodingUTF16BE},
		{"utf-16le no BOM sniffed", "", u16le(false, text), EncodingUTF16LE},
		{"utf-16be no BOM sniffed", "auto", u16be(false, text), EncodingUTF16BE},
		{"utf-16 no BOM is little-endian", "utf-16", u16le(false, text), EncodingUTF16LE},
		{"utf-16 honours a BE BOM", "utf-16", u16be(true, text), EncodingUTF16BE},
		{"utf-16be forced", "utf-16be", u16be(false, text), EncodingUTF16BE},
		{"gb18030", "auto", gb(text), EncodingGB18030},
		{"gb18030 explicit", "gb18030", gb(text), EncodingGB18030},
		{"gbk alias", "GBK", gb(text), EncodingGB18030},
	} {
		got, used, ps := Decode(c.data, c.enc)
		if got != text || used != c.used || len(ps) != 0 {
			t.Errorf("%s: Decode = %q, %q, %v; want %q, %q", c.name, got, used, ps, text, c.used)
		}
	}
}

func TestDecodeNewlines(t *testing.T) {
	got, _, _ := Decode([]byte("a\r\nb\rc\nd\r\n\r\ne"), "auto")
	if want := "a\nb\nc\nd\n\ne"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got, _, _ = Decode(u16le(true, "a\r\nb\rc"), "auto")
	if want := "a\nb\nc"; got != want {
		t.Errorf("utf-16: got %q, want %q", got, want)
	}
}

func TestDecodeBadBytePositions(t *testing.T) {
	const fixUTF8 = `save the file as UTF-8, or set encoding = "gb18030" (or "auto")`
	for _, c := range []struct {
		name, enc string
		data      []byte
		text      string
		want      []string
	}{
		{"column counts characters", "utf-8", cat("ab\nпр", []byte{0xC4}, "x\n"), "ab\nпр\uFFFDx\n",
			[]string{"2:3: invalid UTF-8 byte 0xC4 — " + fixUTF8}},
		{"one problem per line, every line", "utf-8", cat([]byte{0xC4, 0xC5}, "a\r\n", "b", []byte{0xFF}, "\r", []byte{0x80}), "\uFFFD\uFFFDa\nb\uFFFD\n\uFFFD",
			[]string{"1:1: invalid UTF-8 byte 0xC4 — " + fixUTF8, "2:2: invalid UTF-8 byte 0xFF — " + fixUTF8, "3:1: invalid UTF-8 byte 0x80 — " + fixUTF8}},
		{"gb18030 bad byte; U+FFFD and euro are real characters", "gb18030",
			cat(gb("张"), []byte{0x84, 0x31, 0xA4, 0x37}, []byte{0x80}, "\n", gb("李四"), []byte{0xFF}, "x"), "张\uFFFD€\n李四\uFFFDx",
			[]string{`2:3: invalid GB18030 byte 0xFF — save the file as UTF-8, or set encoding = "auto"`}},
		{"gb18030 truncated sequence", "gb18030", cat("ab", []byte{0xD5}), "ab\uFFFD",
			[]string{`1:3: invalid GB18030 byte 0xD5 — save the file as UTF-8, or set encoding = "auto"`}},
		{"auto: neither UTF-8 nor GB18030", "auto", cat(gb("张三,"), []byte{0xFF}, "\n"), "张三,\uFFFD\n",
			[]string{"1:4: byte 0xFF is neither UTF-8 nor GB18030 — save the file as UTF-8"}},
		{"utf-16 unpaired surrogate", "utf-16", u16le(false, "ab\r\nc", uint16(0xDC00), "d", uint16(0xD83D), uint16(0xDE00)), "ab\nc\uFFFDd😀",
			[]string{"2:2: invalid UTF-16 code unit 0xDC00 (unpaired surrogate) — save the file as UTF-8"}},
		{"utf-16 odd length", "utf-16", cat(u16le(false, "ab"), []byte{0x41}), "ab\uFFFD",
			[]string{"1:3: invalid UTF-16 byte 0x41 (odd number of bytes) — save the file as UTF-8"}},
		{"utf-16 legitimate U+FFFD", "utf-16", u16le(true, "a\uFFFDb"), "a\uFFFDb", nil},
		{"explicit utf-8 on a UTF-16 file", "utf-8", u16le(true, "ab"), "ab",
			[]string{`1:1: the file starts with a UTF-16 byte-order mark but encoding = "utf-8" — set encoding = "utf-16" or "auto"`}},
		{"explicit utf-16 on a UTF-8 BOM file", "utf-16", cat(bom8, "ab"), "ab",
			[]string{`1:1: the file starts with a UTF-8 byte-order mark but encoding = "utf-16" — set encoding = "utf-8" or "auto"`}},
		{"unknown encoding", "latin1", []byte("ab"), "",
			[]string{`1: unknown encoding "latin1" — use "auto", "utf-8", "utf-16" or "gb18030"`}},
	} {
		text, _, ps := Decode(c.data, c.enc)
		if text != c.text {
			t.Errorf("%s: text %q, want %q", c.name, text, c.text)
		}
		equalStrings(t, c.name, Problems(ps).Strings(), c.want)
	}
}

func TestDecodeAutoHeuristics(t *testing.T) {
	// GB18030 text never passes for UTF-8, even with Latin letters around.
	for _, s := range []string{"张三", "姓名,帐号,部门\n李四,li.si@corp.com,市场部\n", "a王b", "总部/技术部;研发中心"} {
		if _, used, _ := Decode(gb(s), "auto"); used != EncodingGB18030 {
			t.Errorf("%q in GB18030 read as %s", s, used)
		}
	}
	// A UTF-8 file with one damaged byte stays UTF-8 and the byte is reported.
	data := cat("张三,李四,王五\n", []byte{0xE5}, "x\n")
	text, used, ps := Decode(data, "auto")
	if used != EncodingUTF8 || len(ps) != 1 || ps[0].Line != 2 || ps[0].Column != 1 || text != "张三,李四,王五\n\uFFFDx\n" {
		t.Errorf("used %s problems %v text %q", used, ps, text)
	}
	// Plain ASCII with a NUL is not mistaken for UTF-16.
	if _, used, _ := Decode([]byte("abc\x00def,ghi\n"), "auto"); used != EncodingUTF8 {
		t.Errorf("NUL in ASCII read as %s", used)
	}
}

func TestValidEncoding(t *testing.T) {
	for _, e := range append(Encodings(), "", "UTF-8", "utf8", "utf-16le", "UTF-16BE", "gbk", "GB2312") {
		if !ValidEncoding(e) {
			t.Errorf("%q rejected", e)
		}
	}
	for _, e := range []string{"latin1", "big5", "utf-32", "ascii"} {
		if ValidEncoding(e) {
			t.Errorf("%q accepted", e)
		}
	}
}
