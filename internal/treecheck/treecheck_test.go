package treecheck

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outsidePath matches a citation of a file that is not in the repository: a research note
// (reference/<name>.md) or an absolute path of a development machine. The pattern is built from
// pieces so that this file does not match itself.
var outsidePath = regexp.MustCompile(`reference` + `/[A-Za-z0-9_.-]+\.md` + `|` + `/wo` + `rk/` + `|` + `/ro` + `ot/`)

// checkedExt are the files whose text reaches readers: code comments, documentation, templates
// and examples.
var checkedExt = map[string]bool{".go": true, ".md": true, ".tmpl": true, ".tf": true}

// TestNoCitationOutsideTheRepository fails on every line of a .go, .md, .tmpl or .tf file that
// names a reference/<name>.md note or a machine path, naming each file:line.
func TestNoCitationOutsideTheRepository(t *testing.T) {
	root := moduleRoot(t)
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !checkedExt[filepath.Ext(path)] {
			return nil
		}
		checked++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for n := 1; sc.Scan(); n++ {
			if m := outsidePath.FindString(sc.Text()); m != "" {
				t.Errorf("%s:%d: cites %q, which is not in the repository: cite the public documentation by URL instead", filepath.ToSlash(rel), n, m)
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files under %s: the walk did not see the repository", checked, root)
	}
}

// moduleRoot is the directory holding go.mod, found upwards from the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func TestOutsidePathPattern(t *testing.T) {
	for _, s := range []string{"see reference/" + "graph-api.md §1", "/wo" + "rk/shared/x", "/ro" + "ot/go/pkg"} {
		if !outsidePath.MatchString(s) {
			t.Errorf("%q is not caught", s)
		}
	}
	for _, s := range []string{"https://learn.microsoft.com/graph/api/resources/domain", "internal/work.go", "the reference orders the two"} {
		if outsidePath.MatchString(s) {
			t.Errorf("%q is caught but cites nothing outside the repository", s)
		}
	}
}
