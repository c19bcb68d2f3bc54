package usercsv

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// Encoding names reported by [Decode] as the encoding actually used.
const (
	EncodingUTF8    = "utf-8"
	EncodingUTF8BOM = "utf-8-bom"
	EncodingUTF16LE = "utf-16le"
	EncodingUTF16BE = "utf-16be"
	EncodingGB18030 = "gb18030"
)

// Encodings lists the values accepted for an encoding option. Names are
// matched case-insensitively; "" means "auto", "utf8" is "utf-8", "gbk" and
// "gb2312" are read as "gb18030" (a superset of both), and "utf-16le" /
// "utf-16be" set the byte order of UTF-16 without a byte-order mark.
func Encodings() []string {
	return []string{"auto", "utf-8", "utf-16", "gb18030"}
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	// gbFFFD is U+FFFD encoded in GB18030: a legitimate replacement character,
	// as opposed to one produced by the decoder for bad input.
	gbFFFD = []byte{0x84, 0x31, 0xA4, 0x37}
)

// normaliseEncoding maps an encoding option to its canonical name.
func normaliseEncoding(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return "auto", true
	case "utf-8", "utf8":
		return "utf-8", true
	case "utf-16", "utf16", "unicode":
		return "utf-16", true
	case "utf-16le", "utf16le":
		return EncodingUTF16LE, true
	case "utf-16be", "utf16be":
		return EncodingUTF16BE, true
	case "gb18030", "gbk", "gb2312":
		return EncodingGB18030, true
	}
	return "", false
}

// ValidEncoding reports whether s is an accepted encoding option.
func ValidEncoding(s string) bool {
	_, ok := normaliseEncoding(s)
	return ok
}

// Decode turns the bytes of a CSV file into text.
//
// encoding is "auto", "utf-8", "utf-16" or "gb18030" (see [Encodings]). With
// "auto" a byte-order mark decides first (UTF-8 BOM gives "utf-8-bom", UTF-16
// BOMs "utf-16le" / "utf-16be"), then BOM-less UTF-16 (NUL bytes in every other
// position), then valid UTF-8 gives "utf-8", else the text is read as GB18030
// ("gb18030"). A file that is UTF-8 apart from a few bad bytes stays "utf-8"
// and the bad bytes are reported. "utf-16" without a BOM is read as
// little-endian. used is the encoding actually applied.
//
// The BOM is removed and CRLF / CR line ends become LF, so that lines of the
// text are the file's physical lines. Bytes that cannot be decoded become
// U+FFFD and are reported, at most once per line (the first bad byte), at the
// line and character column where they occur (the column counts decoded
// characters before the bad byte, plus one). Problems have no File set.
func Decode(data []byte, encoding string) (text string, used string, problems []Problem) {
	return decode(data, encoding, true)
}

// badSpot is an undecodable sequence: its offset in the decoded (not yet
// newline-normalised) text, where a U+FFFD now stands, and what it was.
type badSpot struct {
	off   int
	kind  string // "byte", "code unit"
	value string // "0xC4", "0xD800 (unpaired surrogate)"
}

// what describes the spot, with or without its value.
func (s badSpot) what(showValue bool) string {
	if !showValue {
		return s.kind
	}
	return s.kind + " " + s.value
}

// decode implements Decode; showBytes=false leaves byte values out of the
// messages (for files that hold passwords).
func decode(data []byte, enc string, showBytes bool) (string, string, []Problem) {
	name, ok := normaliseEncoding(enc)
	if !ok {
		return "", "", []Problem{{Line: 1, Message: fmt.Sprintf("unknown encoding %q", enc),
			Fix: `use "auto", "utf-8", "utf-16" or "gb18030"`}}
	}
	var (
		problems []Problem
		text     string
		used     string
		bad      []badSpot
		describe func(what string) (string, string) // message, fix
	)
	mismatch := func(found, fix string) {
		problems = append(problems, Problem{Line: 1, Column: 1,
			Message: fmt.Sprintf("the file starts with a %s byte-order mark but encoding = %q", found, enc),
			Fix:     fix})
	}
	utf8Explicit := func(what string) (string, string) {
		return "invalid UTF-8 " + what, `save the file as UTF-8, or set encoding = "gb18030" (or "auto")`
	}
	utf8Mostly := func(what string) (string, string) {
		return "invalid UTF-8 " + what, "the rest of the file is UTF-8: retype the character here, or save the file as UTF-8 again"
	}
	utf16Bad := func(what string) (string, string) {
		return "invalid UTF-16 " + what, "save the file as UTF-8"
	}

	switch name {
	case "auto":
		switch {
		case bytes.HasPrefix(data, bomUTF8):
			used = EncodingUTF8BOM
			text, bad = decodeUTF8(data[3:])
			describe = utf8Mostly
		case bytes.HasPrefix(data, bomUTF16LE):
			used = EncodingUTF16LE
			text, bad = decodeUTF16(data[2:], unicode.LittleEndian)
			describe = utf16Bad
		case bytes.HasPrefix(data, bomUTF16BE):
			used = EncodingUTF16BE
			text, bad = decodeUTF16(data[2:], unicode.BigEndian)
			describe = utf16Bad
		default:
			if order, ok := sniffUTF16(data); ok {
				used = EncodingUTF16LE
				if order == unicode.BigEndian {
					used = EncodingUTF16BE
				}
				text, bad = decodeUTF16(data, order)
				describe = utf16Bad
			} else if utf8.Valid(data) || mostlyUTF8(data) {
				used = EncodingUTF8
				text, bad = decodeUTF8(data)
				describe = utf8Mostly
			} else {
				used = EncodingGB18030
				text, bad = decodeGB18030(data)
				describe = func(what string) (string, string) {
					return what + " is neither UTF-8 nor GB18030", "save the file as UTF-8"
				}
			}
		}
	case "utf-8":
		switch {
		case bytes.HasPrefix(data, bomUTF16LE), bytes.HasPrefix(data, bomUTF16BE):
			mismatch("UTF-16", `set encoding = "utf-16" or "auto"`)
			return decodeWith(data, "utf-16", showBytes, problems)
		case bytes.HasPrefix(data, bomUTF8):
			used = EncodingUTF8BOM
			text, bad = decodeUTF8(data[3:])
		default:
			used = EncodingUTF8
			text, bad = decodeUTF8(data)
		}
		describe = utf8Explicit
	case "utf-16", EncodingUTF16LE, EncodingUTF16BE:
		order := unicode.LittleEndian
		if name == EncodingUTF16BE {
			order = unicode.BigEndian
		}
		switch {
		case bytes.HasPrefix(data, bomUTF8):
			mismatch("UTF-8", `set encoding = "utf-8" or "auto"`)
			return decodeWith(data, "utf-8", showBytes, problems)
		case bytes.HasPrefix(data, bomUTF16LE):
			order, data = unicode.LittleEndian, data[2:]
		case bytes.HasPrefix(data, bomUTF16BE):
			order, data = unicode.BigEndian, data[2:]
		}
		used = EncodingUTF16LE
		if order == unicode.BigEndian {
			used = EncodingUTF16BE
		}
		text, bad = decodeUTF16(data, order)
		describe = utf16Bad
	case EncodingGB18030:
		if bytes.HasPrefix(data, bomUTF8) {
			mismatch("UTF-8", `set encoding = "utf-8" or "auto"`)
			return decodeWith(data, "utf-8", showBytes, problems)
		}
		used = EncodingGB18030
		text, bad = decodeGB18030(data)
		describe = func(what string) (string, string) {
			return "invalid GB18030 " + what, `save the file as UTF-8, or set encoding = "auto"`
		}
	}

	if len(bad) > 0 {
		pos := positions(text, bad)
		lastLine := 0
		for i, s := range bad {
			if pos[i].line == lastLine {
				continue // one problem per line: the first bad byte
			}
			lastLine = pos[i].line
			msg, fix := describe(s.what(showBytes))
			problems = append(problems, Problem{Line: pos[i].line, Column: pos[i].col, Message: msg, Fix: fix})
		}
	}
	return normaliseNewlines(text), used, problems
}

// decodeWith decodes data with an explicit encoding after an earlier problem.
func decodeWith(data []byte, enc string, showBytes bool, earlier []Problem) (string, string, []Problem) {
	text, used, ps := decode(data, enc, showBytes)
	return text, used, append(earlier, ps...)
}

// normaliseNewlines turns CRLF and lone CR into LF.
func normaliseNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

type linecol struct{ line, col int }

// positions maps offsets of bad spots (ascending) in un-normalised text to
// 1-based lines and character columns; CRLF, CR and LF each end a line.
func positions(text string, bad []badSpot) []linecol {
	out := make([]linecol, len(bad))
	line, col, k := 1, 1, 0
	for i := 0; i < len(text) && k < len(bad); {
		for k < len(bad) && bad[k].off == i {
			out[k] = linecol{line, col}
			k++
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch r {
		case '\r':
			if i+1 < len(text) && text[i+1] == '\n' {
				size = 2
			}
			line, col = line+1, 1
		case '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += size
	}
	for ; k < len(bad); k++ {
		out[k] = linecol{line, col}
	}
	return out
}

// decodeUTF8 returns data as text, each invalid byte replaced by U+FFFD.
func decodeUTF8(data []byte) (string, []badSpot) {
	if utf8.Valid(data) {
		return string(data), nil
	}
	var b strings.Builder
	b.Grow(len(data) + 16)
	var bad []badSpot
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			bad = append(bad, badSpot{b.Len(), "byte", fmt.Sprintf("0x%02X", data[i])})
			b.WriteRune(utf8.RuneError)
		} else {
			b.Write(data[i : i+size])
		}
		i += size
	}
	return b.String(), bad
}

// mostlyUTF8 reports whether invalid data is nonetheless UTF-8 text with a few
// damaged bytes: more valid multi-byte sequences than invalid bytes. Text in
// GB18030 almost never forms valid multi-byte UTF-8 sequences.
func mostlyUTF8(data []byte) bool {
	valid, invalid := 0, 0
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		} else {
			valid++
		}
		i += size
	}
	return valid > invalid
}

// sniffUTF16 recognises BOM-less UTF-16 by its NUL bytes: text files in UTF-8
// or GB18030 have none, while ASCII-range text in UTF-16 has one in every
// character.
func sniffUTF16(data []byte) (unicode.Endianness, bool) {
	if len(data) < 4 || len(data)%2 != 0 || bytes.IndexByte(data, 0) < 0 {
		return unicode.LittleEndian, false
	}
	even, odd := 0, 0
	for i, c := range data {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	half := len(data) / 4 // at least half of the characters
	switch {
	case odd >= half && even == 0:
		return unicode.LittleEndian, true
	case even >= half && odd == 0:
		return unicode.BigEndian, true
	}
	return unicode.LittleEndian, false
}

// decodeUTF16 decodes BOM-less UTF-16 in the given byte order. The fast path is
// golang.org/x/text; when it produced U+FFFD, the text is decoded again unit by
// unit to tell real U+FFFD characters from unpaired surrogates and to locate
// them.
func decodeUTF16(data []byte, order unicode.Endianness) (string, []badSpot) {
	out, err := unicode.UTF16(order, unicode.IgnoreBOM).NewDecoder().Bytes(data)
	if err == nil && !bytes.ContainsRune(out, utf8.RuneError) {
		return string(out), nil
	}
	unit := func(i int) uint16 {
		if order == unicode.BigEndian {
			return uint16(data[i])<<8 | uint16(data[i+1])
		}
		return uint16(data[i+1])<<8 | uint16(data[i])
	}
	var b strings.Builder
	var bad []badSpot
	for i := 0; i < len(data); {
		if i+1 >= len(data) {
			bad = append(bad, badSpot{b.Len(), "byte", fmt.Sprintf("0x%02X (odd number of bytes)", data[i])})
			b.WriteRune(utf8.RuneError)
			break
		}
		u := unit(i)
		switch {
		case utf16.IsSurrogate(rune(u)):
			if u < 0xDC00 && i+3 < len(data) {
				if r := utf16.DecodeRune(rune(u), rune(unit(i+2))); r != utf8.RuneError {
					b.WriteRune(r)
					i += 4
					continue
				}
			}
			bad = append(bad, badSpot{b.Len(), "code unit", fmt.Sprintf("0x%04X (unpaired surrogate)", u)})
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(rune(u))
		}
		i += 2
	}
	return b.String(), bad
}

// decodeGB18030 decodes GB18030 with golang.org/x/text. When the decoder
// produced U+FFFD, the text is decoded again sequence by sequence (the same
// sequence boundaries as x/text uses) to locate the bad bytes.
func decodeGB18030(data []byte) (string, []badSpot) {
	dec := simplifiedchinese.GB18030.NewDecoder()
	out, err := dec.Bytes(data)
	if err == nil && !bytes.ContainsRune(out, utf8.RuneError) {
		return string(out), nil
	}
	var b strings.Builder
	var bad []badSpot
	for i := 0; i < len(data); {
		n, ok := gbSequence(data, i)
		if ok && n > 1 {
			r, err := decodeOne(dec, data[i:i+n])
			if err == nil && (r != "\uFFFD" || bytes.Equal(data[i:i+n], gbFFFD)) {
				b.WriteString(r)
				i += n
				continue
			}
			if n == 4 {
				n = 1 // x/text resumes after the first byte of an out-of-range sequence
			}
			ok = false
		}
		if !ok {
			bad = append(bad, badSpot{b.Len(), "byte", fmt.Sprintf("0x%02X", data[i])})
			b.WriteRune(utf8.RuneError)
		} else if data[i] == 0x80 {
			b.WriteRune('€') // WHATWG / Code Page 936, as x/text decodes it
		} else {
			b.WriteByte(data[i])
		}
		i += n
	}
	return b.String(), bad
}

// decodeOne decodes one complete GB18030 sequence.
func decodeOne(dec *encoding.Decoder, seq []byte) (string, error) {
	out, err := dec.Bytes(seq)
	return string(out), err
}

// gbSequence returns the length of the GB18030 sequence at data[i] and whether
// it is well formed: one byte (ASCII, or 0x80 for the euro sign), two bytes
// (lead 0x81–0xFE, trail 0x40–0x7E or 0x80–0xFE) or four bytes (lead, 0x30–0x39,
// 0x81–0xFE, 0x30–0x39). A malformed sequence has length 1.
func gbSequence(data []byte, i int) (int, bool) {
	c0 := data[i]
	switch {
	case c0 <= 0x80:
		return 1, true
	case c0 == 0xFF || i+1 >= len(data):
		return 1, false
	}
	c1 := data[i+1]
	switch {
	case (0x40 <= c1 && c1 <= 0x7E) || (0x80 <= c1 && c1 <= 0xFE):
		return 2, true
	case 0x30 <= c1 && c1 <= 0x39:
		if i+3 < len(data) {
			c2, c3 := data[i+2], data[i+3]
			if 0x81 <= c2 && c2 <= 0xFE && 0x30 <= c3 && c3 <= 0x39 {
				return 4, true
			}
		}
	}
	return 1, false
}
