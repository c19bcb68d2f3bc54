package fakecloud

// A subset of OPATH, the -Filter language of Exchange's recipient cmdlets
// (https://learn.microsoft.com/powershell/exchange/recipient-filters and
// https://learn.microsoft.com/powershell/exchange/filter-properties):
//
//	filter     = or
//	or         = and { "-or" and }
//	and        = unary { "-and" unary }
//	unary      = "-not" unary | "(" or ")" | comparison
//	comparison = Property ( "-eq" | "-ne" | "-like" | "-notlike" ) value
//	value      = 'text' ('' inside is a quote) | "text" | $null | $true | $false | bareword
//
// Operators and property names are case-insensitive, as are comparisons. -like takes * wildcards.
// EmailAddresses -eq 'x@y' matches a proxy address with or without its smtp: prefix; with -like the
// prefix is part of the pattern ('smtp:*@contoso.com').

import (
	"fmt"
	"strings"
	"unicode"
)

// opathProperties are the properties a filter may name (others are a binding error).
var opathProperties = []string{"Alias", "Department", "DisplayName", "EmailAddresses", "ExchangeGuid",
	"ExternalDirectoryObjectId", "FirstName", "Guid", "LastName", "Name", "PrimarySmtpAddress", "RecipientType",
	"RecipientTypeDetails", "Title", "UsageLocation", "UserPrincipalName", "WindowsEmailAddress", "WindowsLiveID"}

// opathExpr is a parsed filter.
type opathExpr interface {
	eval(obj map[string]any) (bool, *ExoError)
}

// filterError is the binding error of an unusable -Filter (text modelled on the service's,
// UNCONFIRMED).
func filterError(filter string, pos int) *ExoError {
	return Invalid(ParameterBinding, fmt.Sprintf("Cannot bind parameter 'Filter' to the target. Exception setting "+
		"\"Filter\": \"Invalid filter syntax. For a description of the filter parameter syntax see the command help.\n"+
		"\"%s\" at position %d.\"", filter, pos+1))
}

func unknownFilterProperty(name string) *ExoError {
	return Invalid(ParameterBinding, fmt.Sprintf("Cannot bind parameter 'Filter' to the target. Exception setting "+
		"\"Filter\": \"'%s' is not a recognized filterable property. For more information about filterable "+
		"properties, see the command help.\"", name))
}

type opathToken struct {
	kind byte // '(' ')' 'o' operator (-xx), 's' quoted string, 'w' word ($null, bareword, property)
	text string
	pos  int
}

func tokenizeOPATH(src string) ([]opathToken, *ExoError) {
	var out []opathToken
	rs := []rune(src)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == ')':
			out = append(out, opathToken{kind: byte(r), text: string(r), pos: i})
			i++
		case r == '\'' || r == '"':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(rs) {
				if rs[i] == r {
					if i+1 < len(rs) && rs[i+1] == r { // doubled quote
						b.WriteRune(r)
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteRune(rs[i])
				i++
			}
			if !closed {
				return nil, filterError(src, start)
			}
			out = append(out, opathToken{kind: 's', text: b.String(), pos: start})
		default:
			start := i
			for i < len(rs) && !unicode.IsSpace(rs[i]) && rs[i] != '(' && rs[i] != ')' && rs[i] != '\'' && rs[i] != '"' {
				i++
			}
			word := string(rs[start:i])
			kind := byte('w')
			if strings.HasPrefix(word, "-") {
				kind = 'o'
			}
			out = append(out, opathToken{kind: kind, text: word, pos: start})
		}
	}
	return out, nil
}

type opathParser struct {
	src  string
	toks []opathToken
	i    int
}

// parseOPATH parses a -Filter string.
func parseOPATH(src string) (opathExpr, *ExoError) {
	toks, err := tokenizeOPATH(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, filterError(src, 0)
	}
	p := &opathParser{src: src, toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.fail()
	}
	return e, nil
}

func (p *opathParser) fail() *ExoError {
	if p.i < len(p.toks) {
		return filterError(p.src, p.toks[p.i].pos)
	}
	return filterError(p.src, len([]rune(p.src)))
}

func (p *opathParser) operator(name string) bool {
	if p.i < len(p.toks) && p.toks[p.i].kind == 'o' && strings.EqualFold(p.toks[p.i].text, name) {
		p.i++
		return true
	}
	return false
}

func (p *opathParser) or() (opathExpr, *ExoError) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.operator("-or") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = opathBool{or: true, l: left, r: right}
	}
	return left, nil
}

func (p *opathParser) and() (opathExpr, *ExoError) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.operator("-and") {
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = opathBool{l: left, r: right}
	}
	return left, nil
}

func (p *opathParser) unary() (opathExpr, *ExoError) {
	if p.operator("-not") {
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return opathNot{e}, nil
	}
	if p.i < len(p.toks) && p.toks[p.i].kind == '(' {
		p.i++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.toks) || p.toks[p.i].kind != ')' {
			return nil, p.fail()
		}
		p.i++
		return e, nil
	}
	return p.comparison()
}

func (p *opathParser) comparison() (opathExpr, *ExoError) {
	if p.i >= len(p.toks) || p.toks[p.i].kind != 'w' || strings.HasPrefix(p.toks[p.i].text, "$") {
		return nil, p.fail()
	}
	name := p.toks[p.i].text
	canonical := ""
	for _, known := range opathProperties {
		if strings.EqualFold(known, name) {
			canonical = known
		}
	}
	if canonical == "" {
		return nil, unknownFilterProperty(name)
	}
	p.i++
	if p.i >= len(p.toks) || p.toks[p.i].kind != 'o' {
		return nil, p.fail()
	}
	op := strings.ToLower(p.toks[p.i].text)
	switch op {
	case "-eq", "-ne", "-like", "-notlike":
	default:
		return nil, p.fail()
	}
	p.i++
	if p.i >= len(p.toks) || (p.toks[p.i].kind != 's' && p.toks[p.i].kind != 'w') {
		return nil, p.fail()
	}
	t := p.toks[p.i]
	p.i++
	c := opathCompare{prop: canonical, op: op, value: t.text}
	if t.kind == 'w' {
		switch strings.ToLower(t.text) {
		case "$null":
			c.null = true
		case "$true":
			c.value = "True"
		case "$false":
			c.value = "False"
		}
	}
	return c, nil
}

type opathBool struct {
	or   bool
	l, r opathExpr
}

func (b opathBool) eval(o map[string]any) (bool, *ExoError) {
	l, err := b.l.eval(o)
	if err != nil {
		return false, err
	}
	if l == b.or { // true -or ..., false -and ...
		return l, nil
	}
	return b.r.eval(o)
}

type opathNot struct{ e opathExpr }

func (n opathNot) eval(o map[string]any) (bool, *ExoError) {
	v, err := n.e.eval(o)
	return !v, err
}

type opathCompare struct {
	prop, op, value string
	null            bool
}

// values are the property's values as strings (none when absent, null or empty).
func opathValues(o map[string]any, prop string) []string {
	switch v := o[prop].(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []string:
		return v
	case bool:
		if v {
			return []string{"True"}
		}
		return []string{"False"}
	}
	return nil
}

func (c opathCompare) eval(o map[string]any) (bool, *ExoError) {
	vals := opathValues(o, c.prop)
	var hit bool
	switch {
	case c.null:
		hit = len(vals) == 0
	case c.op == "-eq" || c.op == "-ne":
		if c.prop == "EmailAddresses" {
			hit = hasProxyAddress(vals, c.value) || containsFold(vals, c.value)
		} else {
			hit = containsFold(vals, c.value)
		}
	default:
		for _, v := range vals {
			hit = hit || wildcardMatch(c.value, v)
		}
	}
	if c.op == "-ne" || c.op == "-notlike" {
		return !hit, nil
	}
	return hit, nil
}

// wildcardMatch matches s against a pattern with * wildcards, case-insensitively.
func wildcardMatch(pattern, s string) bool {
	p, t := strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == t
	}
	if !strings.HasPrefix(t, parts[0]) {
		return false
	}
	t = t[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(t, mid)
		if i < 0 {
			return false
		}
		t = t[i+len(mid):]
	}
	return strings.HasSuffix(t, parts[len(parts)-1])
}
