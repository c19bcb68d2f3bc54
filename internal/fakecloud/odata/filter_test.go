package odata

import (
	"fmt"
	"strings"
	"testing"
)

// resolver knows the keys of the objects below, case-insensitively, as fakecloud resolves a
// rendered user's properties.
func resolver(name string) (string, error) {
	for _, k := range []string{"userPrincipalName", "displayName", "accountEnabled", "city", "count"} {
		if strings.EqualFold(k, name) {
			return k, nil
		}
	}
	return "", fmt.Errorf("could not find a property named '%s' on type 'microsoft.graph.user'", name)
}

var (
	alice = map[string]any{"userPrincipalName": "Alice@Example.com", "displayName": "Alice O'Hara",
		"accountEnabled": true, "city": nil, "count": float64(3)}
	bob = map[string]any{"userPrincipalName": "bob@contoso.onmicrosoft.com", "displayName": "Bob",
		"accountEnabled": false, "city": "Paris", "count": float64(0)}
	carol = map[string]any{"userPrincipalName": "carol@example.com", "displayName": nil,
		"accountEnabled": true, "city": "Lyon"} // no "count" key
)

func TestParseAndEvaluate(t *testing.T) {
	objs := map[string]map[string]any{"alice": alice, "bob": bob, "carol": carol}
	cases := []struct {
		src      string
		match    []string // names of objs that match, sorted
		advanced string
	}{
		// eq: strings case-insensitively, booleans, null (a missing key is null).
		{"userPrincipalName eq 'alice@example.com'", []string{"alice"}, ""},
		{"USERPRINCIPALNAME EQ 'ALICE@EXAMPLE.COM'", []string{"alice"}, ""},
		{"accountEnabled eq true", []string{"alice", "carol"}, ""},
		{"accountEnabled eq FALSE", []string{"bob"}, ""},
		{"city eq null", []string{"alice"}, ""},
		{"displayName eq null", []string{"carol"}, ""},
		{"count eq null", []string{"carol"}, ""},
		// A number is never equal to a string or boolean literal (numbers are not supported).
		{"count eq '3'", nil, ""},
		{"accountEnabled eq 'true'", nil, ""},
		// '' is an escaped quote inside a string literal; tabs separate tokens.
		{"displayName eq 'Alice O''Hara'", []string{"alice"}, ""},
		{"displayName\teq\t'bob'", []string{"bob"}, ""},
		// in
		{"userPrincipalName in ('bob@contoso.onmicrosoft.com','CAROL@example.com','x@y.z')", []string{"bob", "carol"}, ""},
		{"city in (null, 'Lyon')", []string{"alice", "carol"}, ""},
		{"city in ('Berlin')", nil, ""},
		// startswith is a basic query; endswith, ne and not are advanced.
		{"startswith(displayName,'al')", []string{"alice"}, ""},
		{"startswith(userPrincipalName,'')", []string{"alice", "bob", "carol"}, ""},
		{"endswith(userPrincipalName,'@EXAMPLE.COM')", []string{"alice", "carol"}, "endsWith"},
		{"endswith(city,'s')", []string{"bob"}, "endsWith"},
		{"city ne null", []string{"bob", "carol"}, "ne"},
		{"not (accountEnabled eq true)", []string{"bob"}, "not"},
		{"not not accountEnabled eq true", []string{"alice", "carol"}, "not"},
		// and binds tighter than or; parentheses group.
		{"city eq 'Paris' or accountEnabled eq true and city eq null", []string{"alice", "bob"}, ""},
		{"(city eq 'Paris' or accountEnabled eq true) and city eq null", []string{"alice"}, ""},
		{"accountEnabled eq true AND endswith(userPrincipalName,'@example.com') Or displayName eq 'bob'",
			[]string{"alice", "bob", "carol"}, "endsWith"},
		// advanced names the last advanced operator read.
		{"endswith(userPrincipalName,'.com') and city ne 'Lyon'", []string{"alice", "bob"}, "ne"},
		{"city ne 'Lyon' and not endswith(userPrincipalName,'.org')", []string{"alice", "bob"}, "endsWith"},
	}
	for _, c := range cases {
		f, advanced, err := Parse(c.src, resolver)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.src, err)
			continue
		}
		if advanced != c.advanced {
			t.Errorf("Parse(%q): advanced %q, want %q", c.src, advanced, c.advanced)
		}
		var got []string
		for _, name := range []string{"alice", "bob", "carol"} {
			if f(objs[name]) {
				got = append(got, name)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.match, ",") {
			t.Errorf("Parse(%q) matches %v, want %v", c.src, got, c.match)
		}
	}
}

// TestStringFunctionsOnNonStrings: startswith and endswith never match a value that is not a
// string (null, boolean, number, missing).
func TestStringFunctionsOnNonStrings(t *testing.T) {
	for _, src := range []string{"startswith(city,'')", "endswith(accountEnabled,'')", "startswith(count,'')"} {
		f, _, err := Parse(src, resolver)
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		for _, o := range []map[string]any{{"city": nil, "accountEnabled": true, "count": float64(1)}, {}} {
			if f(o) {
				t.Errorf("%s matches %v", src, o)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"displayName eq 'open", "unterminated string literal"},
		{"displayName eq 'it''s", "unterminated string literal"},
		{"displayName eq", "unexpected end of the expression"},
		{"", "unexpected end of the expression"},
		{"(displayName eq 'a'", "unexpected end of the expression"},
		{"displayName eq 'a')", "unexpected ')'"},
		{"displayName eq 'a' 'b'", "unexpected 'b'"},
		{"displayName eq 'a' and", "unexpected end of the expression"},
		{"displayName eq bob", "'bob' is not a literal"},
		{"displayName eq (", "'(' is not a literal"},
		{"displayName gt 'a'", "unsupported operator after 'displayName'"},
		{"displayName", "unsupported operator after 'displayName'"},
		{"mail eq 'a@b.c'", "could not find a property named 'mail' on type 'microsoft.graph.user'"},
		{"startswith(mail,'a')", "could not find a property named 'mail' on type 'microsoft.graph.user'"},
		{"startswith(displayName,true)", "unexpected 'true'"},
		{"startswith(displayName 'a')", "unexpected 'a'"},
		{"startswith displayName", "unexpected 'displayName'"},
		{"endswith(displayName,'a'", "unexpected end of the expression"},
		{"displayName in 'a'", "unexpected 'a'"},
		{"displayName in ('a' 'b')", "unexpected 'b'"},
		{"displayName in ('a',)", "')' is not a literal"},
		{"'a' eq displayName", "unexpected 'a'"},
		{"not", "unexpected end of the expression"},
	}
	for _, c := range cases {
		f, advanced, err := Parse(c.src, resolver)
		if err == nil {
			t.Errorf("Parse(%q): no error", c.src)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("Parse(%q): %q, want %q", c.src, err, c.want)
		}
		if f != nil || advanced != "" {
			t.Errorf("Parse(%q): a filter (%v) or advanced %q with the error", c.src, f != nil, advanced)
		}
	}
}
