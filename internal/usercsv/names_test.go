package usercsv

import "testing"

func TestFullName(t *testing.T) {
	for _, c := range []struct{ given, surname, want string }{
		{"三", "张", "张三"},
		{"修", "欧阳", "欧阳修"}, // compound surname in the surname column
		{"小明", "司马", "司马小明"},
		{" 三 ", " 张 ", "张三"},          // cells are trimmed
		{"太郎", "山田", "山田太郎"},          // Japanese kanji
		{"たろう", "やまだ", "やまだたろう"},      // hiragana
		{"タロー", "ヤマダ", "ヤマダタロー"},      // katakana with the prolonged sound mark
		{"민준", "김", "김민준"},            // Hangul
		{"San", "Zhang", "San Zhang"}, // pinyin is Latin: given name first
		{"Anne-Marie", "O'Neil", "Anne-Marie O'Neil"},
		{"José", "Müller", "José Müller"},
		{"David", "王", "David 王"}, // mixed scripts keep the Latin order
		{"三", "", "三"},
		{"", "Zhang", "Zhang"},
		{"", "", ""},
	} {
		if got := FullName(c.given, c.surname); got != c.want {
			t.Errorf("FullName(%q, %q) = %q, want %q", c.given, c.surname, got, c.want)
		}
	}
}
