package usercsv

import (
	"strings"
	"unicode"
)

// eastAsian are the scripts whose names are written surname first with no space between the
// parts: Chinese (张三, 欧阳修), Japanese (山田太郎, やまだたろう) and Korean (김민준). See
// Microsoft's guidance on name formats,
// https://learn.microsoft.com/globalization/locale/name-formatting#east-asian-names.
var eastAsian = []*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul}

// FullName is the display name made of a given name and a surname in the order their script
// uses: surname then given name without a space when every letter of both is Chinese, Japanese or
// Korean (张 + 三 → 张三; a compound surname in the surname column works the same: 欧阳 + 修 →
// 欧阳修), and given name, a space, surname otherwise (San + Zhang → "San Zhang"; a mixed name
// such as David + 王 keeps the Latin order). Either part may be empty.
func FullName(given, surname string) string {
	given, surname = strings.TrimSpace(given), strings.TrimSpace(surname)
	if given == "" || surname == "" {
		return given + surname
	}
	if eastAsianName(given + surname) {
		return surname + given
	}
	return given + " " + surname
}

// eastAsianName reports whether s has letters and every one of them is of an East Asian script
// (letters of no particular script, such as the prolonged sound mark ー, and punctuation do not
// count).
func eastAsianName(s string) bool {
	letters := false
	for _, r := range s {
		switch {
		case unicode.In(r, eastAsian...):
			letters = true
		case unicode.IsLetter(r) && !unicode.Is(unicode.Common, r):
			return false
		}
	}
	return letters
}
