// Package odata parses and evaluates the subset of OData $filter expressions
// (https://learn.microsoft.com/graph/filter-query-parameter) that fakecloud's Graph collections
// support: eq, ne, in, startswith(), endswith(), not, and, or and parentheses, with string,
// boolean and null literals. ne, not and endswith are advanced queries
// (https://learn.microsoft.com/graph/aad-advanced-queries): Parse reports them so the caller can
// ask for the advanced-query parameters as Graph does.
//
// It evaluates against rendered objects (the JSON map a collection returns) and imports no package
// of this module.
package odata

import (
	"errors"
	"fmt"
	"strings"
)

// Filter decides whether a rendered object matches a $filter.
type Filter func(obj map[string]any) bool

// Resolver maps a property name as written in an expression to the key of the rendered object
// (Graph matches names case-insensitively); its error, in Graph's words, fails the parse.
type Resolver func(name string) (string, error)

// Parse parses the $filter expression src, resolving property names with resolve. advanced names
// the last advanced-query operator of the expression ("ne", "not" or "endsWith"; "" when none).
// Graph answers a parse error with "Invalid filter clause: " and the error's text.
func Parse(src string, resolve Resolver) (f Filter, advanced string, err error) {
	toks, err := tokenizeFilter(src)
	if err != nil {
		return nil, "", err
	}
	p := &filterParser{toks: toks, resolve: resolve}
	f, err = p.or()
	if err != nil {
		return nil, "", err
	}
	if p.pos != len(p.toks) {
		return nil, "", fmt.Errorf("unexpected '%s'", p.toks[p.pos].text)
	}
	return f, p.advanced, nil
}

// filterToken is a token of a $filter expression.
type filterToken struct {
	kind byte // 'i' identifier/keyword, 's' string literal, or one of ( ) ,
	text string
}

func tokenizeFilter(src string) ([]filterToken, error) {
	var out []filterToken
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case ' ', '\t':
			i++
		case '(', ')', ',':
			out = append(out, filterToken{kind: c, text: string(c)})
			i++
		case '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(src) {
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(src[i])
				i++
			}
			if !closed {
				return nil, errors.New("unterminated string literal")
			}
			out = append(out, filterToken{kind: 's', text: b.String()})
		default:
			j := i
			for j < len(src) && strings.IndexByte(" \t(),'", src[j]) < 0 {
				j++
			}
			out = append(out, filterToken{kind: 'i', text: src[i:j]})
			i = j
		}
	}
	return out, nil
}

// filterParser is a recursive-descent parser for the subset of OData $filter the fake supports:
// eq, ne, in, startswith(), endswith(), not, and, or, parentheses; string, boolean and null
// literals. ne, not and endswith are advanced queries (https://learn.microsoft.com/graph/aad-advanced-queries).
type filterParser struct {
	toks     []filterToken
	pos      int
	advanced string
	resolve  Resolver
}

func (p *filterParser) peek() (filterToken, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return filterToken{}, false
}

func (p *filterParser) keyword(word string) bool {
	t, ok := p.peek()
	if ok && t.kind == 'i' && strings.EqualFold(t.text, word) {
		p.pos++
		return true
	}
	return false
}

func (p *filterParser) expect(kind byte) (filterToken, error) {
	t, ok := p.peek()
	if !ok || t.kind != kind {
		if !ok {
			return t, errors.New("unexpected end of the expression")
		}
		return t, fmt.Errorf("unexpected '%s'", t.text)
	}
	p.pos++
	return t, nil
}

func (p *filterParser) or() (Filter, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(o map[string]any) bool { return l(o) || right(o) }
	}
	return left, nil
}

func (p *filterParser) and() (Filter, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(o map[string]any) bool { return l(o) && right(o) }
	}
	return left, nil
}

func (p *filterParser) unary() (Filter, error) {
	if p.keyword("not") {
		p.advanced = "not"
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(o map[string]any) bool { return !f(o) }, nil
	}
	if t, ok := p.peek(); ok && t.kind == '(' {
		p.pos++
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		return f, nil
	}
	return p.comparison()
}

// property resolves a property name of a rendered object (with the caller's Resolver).
func (p *filterParser) property(name string) (string, error) {
	return p.resolve(name)
}

// literal reads a string, boolean or null literal.
func (p *filterParser) literal() (any, error) {
	t, ok := p.peek()
	if !ok {
		return nil, errors.New("unexpected end of the expression")
	}
	p.pos++
	switch {
	case t.kind == 's':
		return t.text, nil
	case t.kind == 'i' && strings.EqualFold(t.text, "true"):
		return true, nil
	case t.kind == 'i' && strings.EqualFold(t.text, "false"):
		return false, nil
	case t.kind == 'i' && strings.EqualFold(t.text, "null"):
		return nil, nil
	}
	return nil, fmt.Errorf("'%s' is not a literal", t.text)
}

func filterEqual(v, lit any) bool {
	switch l := lit.(type) {
	case nil:
		return v == nil
	case string:
		s, ok := v.(string)
		return ok && strings.EqualFold(s, l)
	case bool:
		b, ok := v.(bool)
		return ok && b == l
	}
	return false
}

func (p *filterParser) comparison() (Filter, error) {
	t, err := p.expect('i')
	if err != nil {
		return nil, err
	}
	fn := strings.ToLower(t.text)
	if fn == "startswith" || fn == "endswith" {
		if fn == "endswith" {
			p.advanced = "endsWith"
		}
		if _, err := p.expect('('); err != nil {
			return nil, err
		}
		nameTok, err := p.expect('i')
		if err != nil {
			return nil, err
		}
		prop, err := p.property(nameTok.text)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(','); err != nil {
			return nil, err
		}
		lit, err := p.expect('s')
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		want := strings.ToLower(lit.text)
		return func(o map[string]any) bool {
			s, ok := o[prop].(string)
			if !ok {
				return false
			}
			if fn == "startswith" {
				return strings.HasPrefix(strings.ToLower(s), want)
			}
			return strings.HasSuffix(strings.ToLower(s), want)
		}, nil
	}
	prop, err := p.property(t.text)
	if err != nil {
		return nil, err
	}
	switch {
	case p.keyword("eq"):
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		return func(o map[string]any) bool { return filterEqual(o[prop], lit) }, nil
	case p.keyword("ne"):
		p.advanced = "ne"
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		return func(o map[string]any) bool { return !filterEqual(o[prop], lit) }, nil
	case p.keyword("in"):
		if _, err := p.expect('('); err != nil {
			return nil, err
		}
		var lits []any
		for {
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			lits = append(lits, lit)
			if tk, ok := p.peek(); ok && tk.kind == ',' {
				p.pos++
				continue
			}
			break
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		return func(o map[string]any) bool {
			for _, l := range lits {
				if filterEqual(o[prop], l) {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, fmt.Errorf("unsupported operator after '%s'", t.text)
}
