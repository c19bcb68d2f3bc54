package usercsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Record is one CSV record with the position of each of its fields.
type Record struct {
	// Line is the physical line (1-based) where the record starts.
	Line int
	// Fields are the field values, unquoted, as in the file (not trimmed).
	Fields []string
	// Columns[i] is the 1-based character column where field i starts on its
	// line (the opening quote for a quoted field).
	Columns []int
	// Lines[i] is the physical line where field i starts; it differs from Line
	// only after a quoted field that spans lines.
	Lines []int
}

// pos returns the line and column of field i, or the record's line and column
// 0 when the record has no such field.
func (r Record) pos(i int) (int, int) {
	if i >= 0 && i < len(r.Fields) {
		return r.Lines[i], r.Columns[i]
	}
	return r.Line, 0
}

// blank reports whether every field is empty or only white space.
func (r Record) blank() bool {
	for _, f := range r.Fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// width is the number of fields up to the last one that is not blank: the
// trailing empty columns a spreadsheet adds ("a,b,,,") do not count.
func (r Record) width() int {
	n := len(r.Fields)
	for n > 0 && strings.TrimSpace(r.Fields[n-1]) == "" {
		n--
	}
	return n
}

// ReadRecords splits LF-separated text (as returned by [Decode]) into CSV
// records with encoding/csv (RFC 4180 quoting, no lazy quotes, any number of
// fields per record). Records whose fields are all blank, such as empty lines
// or lines of only commas, are skipped. A malformed record (a bare or
// unclosed quote) is left out and reported as a Problem in file name at the
// line and character column where the fault is; reading goes on with the next
// record. Problems are sorted by line and column.
func ReadRecords(name, text string) ([]Record, []Problem) {
	starts := lineStarts(text)
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = false
	r.ReuseRecord = false

	records := make([]Record, 0, len(starts)) // at most one record per line
	var problems []Problem
	for {
		fields, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				problems = append(problems, Problem{File: name, Line: 1, Message: err.Error()})
				break
			}
			problems = append(problems, parseProblem(name, text, starts, pe))
			continue
		}
		pos := make([]int, 2*len(fields))
		rec := Record{Fields: fields, Columns: pos[:len(fields):len(fields)], Lines: pos[len(fields):]}
		for i := range fields {
			line, byteCol := r.FieldPos(i)
			rec.Lines[i] = line
			rec.Columns[i] = charColumn(text, starts, line, byteCol)
		}
		if len(fields) > 0 {
			rec.Line = rec.Lines[0]
		}
		if rec.blank() {
			continue
		}
		records = append(records, rec)
	}
	sortProblems(problems)
	return records, problems
}

// lineStarts returns the byte offset where each line of text starts.
func lineStarts(text string) []int {
	starts := make([]int, 1, strings.Count(text, "\n")+1)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset converts a 1-based line and byte column into a byte offset of text.
func offset(text string, starts []int, line, byteCol int) int {
	if line < 1 {
		return 0
	}
	if line > len(starts) {
		return len(text)
	}
	off := starts[line-1] + byteCol - 1
	return min(max(off, 0), len(text))
}

// charColumn converts encoding/csv's byte column into a character column.
func charColumn(text string, starts []int, line, byteCol int) int {
	if line < 1 || line > len(starts) {
		return byteCol
	}
	start := starts[line-1]
	end := offset(text, starts, line, byteCol)
	if end < start {
		return byteCol
	}
	return utf8.RuneCountInString(text[start:end]) + 1
}

// lineOf returns the 1-based line and character column of a byte offset.
func lineOf(text string, starts []int, off int) (int, int) {
	line := sort.Search(len(starts), func(i int) bool { return starts[i] > off })
	return line, utf8.RuneCountInString(text[starts[line-1]:off]) + 1
}

// parseProblem explains an encoding/csv parse error. No field content is
// quoted, so that a password never appears in a message.
func parseProblem(name, text string, starts []int, pe *csv.ParseError) Problem {
	off := offset(text, starts, pe.Line, pe.Column)
	p := Problem{File: name, Line: pe.Line, Column: charColumn(text, starts, pe.Line, pe.Column)}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		p.Message = `a quote (") inside a field that does not start with a quote`
		p.Fix = `put the whole field in quotes and double the quote inside it, e.g. "27"" screen"`
	case errors.Is(pe.Err, csv.ErrQuote) && off >= len(text):
		// The quoted field runs to the end of the file: point at its opening quote.
		if qo, ok := unclosedQuote(text, starts[pe.StartLine-1]); ok {
			ql, qc := lineOf(text, starts, qo)
			p.Line, p.Column = ql, qc
			p.Message = "this quoted field is never closed, so the rest of the file was read as part of it"
			p.Fix = fmt.Sprintf(`close the quote that opens at line %d, column %d with a " at the end of the field`, ql, qc)
		} else {
			p.Message = "a quoted field is never closed"
			p.Fix = fmt.Sprintf(`close the quote of the record that starts at line %d`, pe.StartLine)
		}
	case errors.Is(pe.Err, csv.ErrQuote):
		if text[off] == '"' && off+1 < len(text) {
			p.Column++ // encoding/csv points at the closing quote: point at what follows it
		}
		p.Message = "unexpected character after the closing quote of a quoted field"
		p.Fix = `write a quote inside a quoted field as two quotes (""), and put the comma right after the closing quote`
	default:
		p.Message = pe.Err.Error()
	}
	return p
}

// unclosedQuote finds the opening quote of the quoted field that never closes
// in the record starting at byte offset from.
func unclosedQuote(text string, from int) (int, bool) {
	i := from
	for i < len(text) {
		// at the start of a field
		if text[i] != '"' {
			for i < len(text) && text[i] != ',' && text[i] != '\n' {
				i++
			}
			if i >= len(text) || text[i] == '\n' {
				return 0, false // the record ended without an open quote
			}
			i++
			continue
		}
		open := i
		i++
		for {
			j := strings.IndexByte(text[i:], '"')
			if j < 0 {
				return open, true
			}
			i += j + 1
			if i < len(text) && text[i] == '"' {
				i++ // doubled quote
				continue
			}
			break
		}
		for i < len(text) && text[i] != ',' && text[i] != '\n' {
			i++
		}
		if i >= len(text) || text[i] == '\n' {
			return 0, false
		}
		i++
	}
	return 0, false
}
