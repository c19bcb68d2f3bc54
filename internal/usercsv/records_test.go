package usercsv

import (
	"reflect"
	"testing"
)

func TestReadRecordsPositions(t *testing.T) {
	text := "姓名,\"a\nb\",c\n\n,,\n  ,\t\nx,\"y,z\",\"\"\"q\"\"\"\n"
	recs, ps := ReadRecords("f.csv", text)
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	want := []Record{
		{Line: 1, Fields: []string{"姓名", "a\nb", "c"}, Columns: []int{1, 4, 4}, Lines: []int{1, 1, 2}},
		{Line: 6, Fields: []string{"x", "y,z", `"q"`}, Columns: []int{1, 3, 9}, Lines: []int{6, 6, 6}},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records:\n got %+v\nwant %+v", recs, want)
	}
}

func TestReadRecordsErrorsContinue(t *testing.T) {
	const fixBare = `put the whole field in quotes and double the quote inside it, e.g. "27"" screen"`
	text := "h1,h2\n名字,a\"b\nok,1\n\"x\"y,2\nlast,3\n"
	recs, ps := ReadRecords("f.csv", text)
	equalStrings(t, "problems", Problems(ps).Strings(), []string{
		`f.csv:2:5: a quote (") inside a field that does not start with a quote — ` + fixBare,
		`f.csv:4:4: unexpected character after the closing quote of a quoted field — write a quote inside a quoted field as two quotes (""), and put the comma right after the closing quote`,
	})
	var lines []int
	for _, r := range recs {
		lines = append(lines, r.Line)
	}
	if !reflect.DeepEqual(lines, []int{1, 3, 5}) {
		t.Errorf("record lines %v", lines)
	}
}

func TestReadRecordsUnclosedQuote(t *testing.T) {
	for _, c := range []struct {
		text string
		want string
	}{
		{"a,\"x\"\"y\",b,\"open\nmore\n", "f.csv:1:12: " + msgUnclosed + ` — close the quote that opens at line 1, column 12 with a " at the end of the field`},
		{"h\n\"a\nb\",\"c\nd", "f.csv:3:4: " + msgUnclosed + ` — close the quote that opens at line 3, column 4 with a " at the end of the field`},
		{"h\n张,\"", "f.csv:2:3: " + msgUnclosed + ` — close the quote that opens at line 2, column 3 with a " at the end of the field`},
	} {
		_, ps := ReadRecords("f.csv", c.text)
		equalStrings(t, c.text, Problems(ps).Strings(), []string{c.want})
	}
}

func TestProblemString(t *testing.T) {
	ps := Problems{
		{File: "u.csv", Line: 3, Column: 0, Message: "whole line", Fix: "fix it"},
		{File: "u.csv", Line: 2, Column: 7, Message: "field", Fix: "fix it"},
		{File: "u.csv", Message: "whole file", Fix: "split it"},
		{File: "u.csv", Line: 2, Column: 1, Message: "no fix"},
	}
	sortProblems(ps)
	equalStrings(t, "strings", ps.Strings(), []string{
		"u.csv: whole file — split it",
		"u.csv:2:1: no fix",
		"u.csv:2:7: field — fix it",
		"u.csv:3: whole line — fix it",
	})
	if got, want := ps.Error(), "u.csv: whole file — split it\nu.csv:2:1: no fix\nu.csv:2:7: field — fix it\nu.csv:3: whole line — fix it"; got != want {
		t.Errorf("Error() = %q", got)
	}
	var err error = ps
	if err.Error() == "" {
		t.Error("empty error")
	}
}
