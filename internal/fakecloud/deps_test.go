package fakecloud

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoProductImports: the fake is the other side of the wire; it must not share code with the
// product it tests. Its packages (the test binaries included) may depend only on fakecloud's own
// packages and on the test servers internal/imaptest and internal/dnstest.
func TestNoProductImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	const module = "github.com/m365-migration/terraform-provider-m365/"
	out, err := exec.Command(goBin, "list", "-deps", "-test", "-f", "{{.ImportPath}}", module+"internal/fakecloud/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := []string{"internal/fakecloud", "internal/imaptest", "internal/dnstest"}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, _, _ := strings.Cut(strings.TrimSpace(line), " ") // "p [p.test]" for test variants
		rest, ok := strings.CutPrefix(pkg, module)
		if !ok {
			continue
		}
		seen++
		rest = strings.TrimSuffix(rest, ".test")
		ok = false
		for _, a := range allowed {
			ok = ok || rest == a || strings.HasPrefix(rest, a+"/")
		}
		if !ok {
			t.Errorf("internal/fakecloud depends on the product package %s", pkg)
		}
	}
	if seen == 0 {
		t.Fatalf("go list found no package of the module:\n%s", out)
	}
}
