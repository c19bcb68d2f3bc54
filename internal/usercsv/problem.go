package usercsv

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with an input file, located by physical line and
// character column (both 1-based).
//
// Column 0 means the whole line; Line 0 means the whole file.
type Problem struct {
	File    string
	Line    int
	Column  int
	Message string
	Fix     string
}

// String formats the problem as "file:line:column: message — fix" (with an em
// dash). The column is left out when it is 0, the line too when it is 0, the
// file when it is empty (as in problems from [Decode]), and the " — fix" part
// when there is no fix.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if p.File != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Fix != "" {
		b.WriteString(" \u2014 ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// Problems is a list of problems, sorted by line then column by the functions
// of this package. It implements error.
type Problems []Problem

// Error joins the problems, one per line.
func (ps Problems) Error() string {
	return strings.Join(ps.Strings(), "\n")
}

// Strings returns each problem formatted by [Problem.String].
func (ps Problems) Strings() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// sortProblems orders problems by line then column, keeping the order in which
// they were found for equal positions.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
}

// withFile sets the file name of problems that have none.
func withFile(ps []Problem, name string) []Problem {
	for i := range ps {
		if ps[i].File == "" {
			ps[i].File = name
		}
	}
	return ps
}
