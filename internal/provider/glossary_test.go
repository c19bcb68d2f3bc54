package provider

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The Chinese guide's glossary ("诊断信息速查") explains every diagnostic summary the provider can
// show. TestDiagnosticGlossaryComplete keeps it complete: it reads the non-test Go files of this
// package, of internal/validators and of internal/diagtext with go/parser, finds every call that
// emits a diagnostic, resolves its summary argument to string constants, and fails for each
// summary the glossary lacks.
//
// Sinks are the framework's diag.Diagnostics methods and internal/diagtext's helpers (summary argument
// index below), and every function of these packages that passes one of its own parameters on as a
// summary (found until nothing changes). A summary is resolved when it is a string literal, a
// constant (declared in any of them, concatenations included), fmt.Sprintf with a constant
// format (each verb becomes "…", e.g. "… WILL BE DELETED"), the result of a function of these
// packages, a field of their struct literals, or a local variable or parameter whose every
// assignment is one of those; anything else fails the test naming file:line, so a title cannot
// slip past it. `go test ./internal/provider -run TestDiagnosticGlossary -v` lists every title;
// a missing one fails with the row to add to the glossary table.

const glossaryFile = "../../templates/guides/migrating-from-tencent-exmail-zh.md.tmpl"

var glossarySinks = map[string]int{
	"AddError": 0, "AddWarning": 0, "AddAttributeError": 1, "AddAttributeWarning": 1,
	"NewErrorDiagnostic": 0, "NewWarningDiagnostic": 0, "NewAttributeErrorDiagnostic": 1, "NewAttributeWarningDiagnostic": 1,
}

// glossaryHelpers are internal/diagtext's functions (package-qualified, as the provider calls them).
var glossaryHelpers = map[string]int{"diagtext.Error": 1, "diagtext.AttributeError": 2, "diagtext.APIError": 1}

type glossaryFunc struct {
	name   string // "diagtext.Error" for internal/diagtext, "name" or "Type.name" here
	decl   *ast.FuncDecl
	params []string
}

type glossaryScan struct {
	fset    *token.FileSet
	consts  map[string]ast.Expr // package-level and local constants, by name
	structs map[string][]string // struct type → field names in order
	funcs   []glossaryFunc
	sinks   map[string]int // callee key → summary argument index
}

func (s *glossaryScan) load(t *testing.T, dir, pkg string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(s.fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					var fields []string
					for _, fl := range st.Fields.List {
						for _, id := range fl.Names {
							fields = append(fields, id.Name)
						}
						if len(fl.Names) == 0 {
							fields = append(fields, "")
						}
					}
					s.structs[ts.Name.Name] = fields
				}
			}
			if g, ok := n.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, sp := range g.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if i < len(vs.Values) {
							s.consts[id.Name] = vs.Values[i]
						}
					}
				}
			}
			return true
		})
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if pkg != "" {
				name = pkg + "." + name
			}
			var params []string
			for _, fl := range fd.Type.Params.List {
				for _, id := range fl.Names {
					params = append(params, id.Name)
				}
				if len(fl.Names) == 0 {
					params = append(params, "_")
				}
			}
			s.funcs = append(s.funcs, glossaryFunc{name, fd, params})
		}
	}
}

// callee is the key of a call: the method or function name for a selector on anything but the
// diag package ("AddError", "helper"), "diagtext.X" for internal/diagtext, the name for a plain call.
func glossaryCallee(c *ast.CallExpr) string {
	switch fn := c.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		if id, ok := fn.X.(*ast.Ident); ok && id.Name == "diagtext" {
			return "diagtext." + fn.Sel.Name
		}
		return fn.Sel.Name
	}
	return ""
}

// constant resolves e to its string values; ok is false when e is not made of constants.
func (s *glossaryScan) constant(e ast.Expr, seen map[string]bool) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		v, err := strconv.Unquote(x.Value)
		return v, err == nil
	case *ast.ParenExpr:
		return s.constant(x.X, seen)
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		a, ok1 := s.constant(x.X, seen)
		b, ok2 := s.constant(x.Y, seen)
		return a + b, ok1 && ok2
	case *ast.Ident:
		if v, ok := s.consts[x.Name]; ok && !seen[x.Name] {
			seen[x.Name] = true
			return s.constant(v, seen)
		}
	}
	return "", false
}

// eval resolves a summary expression inside fn to its possible values: constants, fmt.Sprintf
// with a constant format (each verb shown as "…"), a call of a function of these packages (its
// returned values at result index res), a field of a struct literal, or a local variable whose
// every assignment is one of those. param is the index of fn's parameter when e is one (resolved
// through fn's callers).
func (s *glossaryScan) eval(fn glossaryFunc, e ast.Expr, res int, depth int) (vals []string, param int, ok bool) {
	param = -1
	if depth > 8 {
		return nil, param, false
	}
	if v, isConst := s.constant(e, map[string]bool{}); isConst {
		return []string{v}, param, true
	}
	switch x := e.(type) {
	case *ast.CallExpr:
		if sel, isSel := x.Fun.(*ast.SelectorExpr); isSel && sel.Sel.Name == "Sprintf" && len(x.Args) > 0 {
			if f, isConst := s.constant(x.Args[0], map[string]bool{}); isConst {
				return []string{glossaryVerb.ReplaceAllString(f, "…")}, param, true
			}
		}
		name := glossaryCallee(x)
		found := false
		ok = true
		for _, g := range s.funcs {
			if g.decl.Name.Name != name || (g.decl.Recv == nil) != isPlainCall(x) {
				continue
			}
			found = true
			ast.Inspect(g.decl.Body, func(n ast.Node) bool {
				if _, isLit := n.(*ast.FuncLit); isLit {
					return false
				}
				r, isRet := n.(*ast.ReturnStmt)
				if !isRet || res >= len(r.Results) {
					return true
				}
				v, _, rok := s.eval(g, r.Results[res], 0, depth+1)
				ok = ok && rok
				vals = append(vals, v...)
				return true
			})
		}
		return vals, param, ok && found
	case *ast.SelectorExpr:
		return s.field(x.Sel.Name, depth)
	case *ast.Ident:
		param = slices.Index(fn.params, x.Name)
		ok = true
		assigned := param >= 0
		ast.Inspect(fn.decl.Body, func(n ast.Node) bool {
			switch a := n.(type) {
			case *ast.AssignStmt:
				for i, l := range a.Lhs {
					if li, isID := l.(*ast.Ident); !isID || li.Name != x.Name {
						continue
					}
					assigned = true
					var v []string
					var aok bool
					switch {
					case len(a.Rhs) == len(a.Lhs):
						v, _, aok = s.eval(fn, a.Rhs[i], 0, depth+1)
					case len(a.Rhs) == 1:
						v, _, aok = s.eval(fn, a.Rhs[0], i, depth+1)
					}
					ok = ok && aok
					vals = append(vals, v...)
				}
			case *ast.ValueSpec:
				for i, li := range a.Names {
					if li.Name != x.Name || i >= len(a.Values) {
						continue
					}
					assigned = true
					v, _, aok := s.eval(fn, a.Values[i], 0, depth+1)
					ok = ok && aok
					vals = append(vals, v...)
				}
			}
			return true
		})
		return vals, param, ok && assigned
	}
	return nil, param, false
}

func isPlainCall(c *ast.CallExpr) bool { _, ok := c.Fun.(*ast.Ident); return ok }

var glossaryVerb = regexp.MustCompile(`%[-+# 0-9.*]*[a-zA-Z]`)

// field resolves a struct field used as a summary: the values given to it in every struct literal
// (keyed or positional) of each struct type of these packages that has the field.
func (s *glossaryScan) field(name string, depth int) (vals []string, param int, ok bool) {
	param = -1
	found := false
	ok = true
	for typ, fields := range s.structs {
		idx := slices.Index(fields, name)
		if idx < 0 {
			continue
		}
		for _, fn := range s.funcs {
			ast.Inspect(fn.decl.Body, func(n ast.Node) bool {
				cl, isLit := n.(*ast.CompositeLit)
				if !isLit {
					return true
				}
				if id, isID := cl.Type.(*ast.Ident); !isID || id.Name != typ {
					return true
				}
				for i, el := range cl.Elts {
					var v ast.Expr
					if kv, isKV := el.(*ast.KeyValueExpr); isKV {
						if k, isID := kv.Key.(*ast.Ident); isID && k.Name == name {
							v = kv.Value
						}
					} else if i == idx {
						v = el
					}
					if v == nil {
						continue
					}
					found = true
					got, _, vok := s.eval(fn, v, 0, depth+1)
					ok = ok && vok
					vals = append(vals, got...)
				}
				return true
			})
		}
	}
	return vals, param, ok && found
}

// glossaryTitles returns every diagnostic summary of the provider, with where each comes from, and
// the call sites whose summary it cannot resolve.
func glossaryTitles(t *testing.T) (map[string][]string, []string) {
	t.Helper()
	s := &glossaryScan{fset: token.NewFileSet(), consts: map[string]ast.Expr{}, structs: map[string][]string{}, sinks: map[string]int{}}
	s.load(t, "../diagtext", "diagtext")
	s.load(t, "../validators", "") // its functions are keyed like this package's: validators.X(…) calls X
	s.load(t, ".", "")
	for k, v := range glossarySinks {
		s.sinks[k] = v
	}
	for k, v := range glossaryHelpers {
		s.sinks[k] = v
	}
	titles := map[string][]string{}
	var unresolved []string
	for changed := true; changed; {
		changed = false
		titles, unresolved = map[string][]string{}, nil
		for _, fn := range s.funcs {
			ast.Inspect(fn.decl.Body, func(n ast.Node) bool {
				c, isCall := n.(*ast.CallExpr)
				if !isCall {
					return true
				}
				idx, sink := s.sinks[glossaryCallee(c)]
				if !sink || idx >= len(c.Args) {
					return true
				}
				arg := c.Args[idx]
				// Re-emitting a diagnostic already made elsewhere (d.Summary()) adds no title.
				if call, ok := arg.(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Summary" {
						return true
					}
				}
				vals, param, ok := s.eval(fn, arg, 0, 0)
				where := s.fset.Position(c.Pos()).String()
				if param >= 0 {
					if _, known := s.sinks[fn.name]; !known {
						s.sinks[fn.name] = param
						changed = true
					}
				} else if !ok {
					unresolved = append(unresolved, where)
				}
				for _, v := range vals {
					titles[v] = append(titles[v], where)
				}
				return true
			})
		}
	}
	return titles, unresolved
}

func TestDiagnosticGlossaryComplete(t *testing.T) {
	titles, unresolved := glossaryTitles(t)
	for _, u := range unresolved {
		t.Errorf("%s: the diagnostic summary is not a constant this test can follow; use a string constant (or a variable assigned only constants)", u)
	}
	if len(titles) < 50 {
		t.Fatalf("found only %d diagnostic titles: the extraction is broken", len(titles))
	}
	guide, err := os.ReadFile(glossaryFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for title := range titles {
		names = append(names, title)
	}
	sort.Strings(names)
	for _, title := range names {
		t.Logf("%s", title)
		if !strings.Contains(string(guide), "| `"+title+"` |") {
			t.Errorf("diagnostic %q (%s) has no entry in the glossary of %s: add a row | `%s` | 说明 | 解决办法 |",
				title, strings.Join(titles[title], ", "), filepath.Base(glossaryFile), title)
		}
	}
	t.Logf("%d diagnostic titles", len(names))
}
