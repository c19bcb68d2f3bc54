package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

// utf16LE encodes s as UTF-16LE with a byte-order mark, as Excel's "Unicode text" does.
func utf16LE(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func TestAccIMAPMigrationCSV(t *testing.T) {
	e := newTestEnv(t, nil, fakecloud.Knobs{})
	dir := t.TempDir()
	users := sourceMailboxes()
	text := migrationCSVText(users, []string{"zhang.san@contoso.com", "li.si@contoso.com", "wang.wu@contoso.com"}, nil)
	text = strings.Replace(text, "li.si@contoso.com,", "Li.Si@contoso.com,", 1) // addresses are lower-cased in emails
	// CRLF line ends and a UTF-16LE BOM: what Excel writes.
	file := writeTestFile(t, dir, "users.csv", utf16LE(strings.ReplaceAll(text, "\n", "\r\n")))
	parsed, err := usercsv.ParseMigration(utf16LE(strings.ReplaceAll(text, "\n", "\r\n")), usercsv.MigrationOptions{})
	if err != nil || len(parsed.Problems) != 0 {
		t.Fatalf("the test CSV itself is bad: %v %v", err, parsed.Problems)
	}
	normalised := sha256.Sum256(parsed.CSV)

	// A file with every kind of problem: a header with a space, a bare UserName, a duplicate
	// address, an empty password.
	bad := "Email Address,UserName,Password\n" +
		"zhang.san@contoso.com,zhang.san,pw-1\n" +
		"li.si@contoso.com,li.si@contoso.com,\n" +
		"ZHANG.SAN@contoso.com,zhang.san@contoso.com,pw-3\n"
	badFile := writeTestFile(t, dir, "bad.csv", []byte(bad))
	badRes, _ := usercsv.ParseMigration([]byte(bad), usercsv.MigrationOptions{Name: badFile})
	if len(badRes.Problems) != 4 {
		t.Fatalf("want 4 problems in the bad CSV, got %v", badRes.Problems)
	}
	var wantProblems []string
	for _, p := range badRes.Problems {
		wantProblems = append(wantProblems, regexp.QuoteMeta(p.String()))
	}

	echo := func(eph string) string {
		return e.config(eph + `
provider "echo" {
  data = {
    emails     = ephemeral.m365_imap_migration_csv.x.emails
    rows       = ephemeral.m365_imap_migration_csv.x.rows
    encoding   = ephemeral.m365_imap_migration_csv.x.detected_encoding
    sha        = sha256(ephemeral.m365_imap_migration_csv.x.content)
    header_ok  = startswith(ephemeral.m365_imap_migration_csv.x.content, "EmailAddress,UserName,Password\n")
    crlf       = strcontains(ephemeral.m365_imap_migration_csv.x.content, "\r")
  }
}
resource "echo" "x" {}
`)
	}
	migrationTest(t, resource.TestCase{Steps: []resource.TestStep{
		{ // every problem is its own error, in the parser's words, located by file:line:column
			Config:      echo(fmt.Sprintf(`ephemeral "m365_imap_migration_csv" "x" { path = %q }`, badFile)),
			ExpectError: re(`(?s)` + strings.Join(wantProblems, ".*")),
		},
		{ // the wording the user sees, literally
			Config: echo(fmt.Sprintf(`ephemeral "m365_imap_migration_csv" "x" { path = %q }`, badFile)),
			ExpectError: re(`(?s)Invalid Migration CSV.*bad.csv:1:1: attribute names can't contain spaces: "Email Address" — use EmailAddress` +
				`.*bad.csv:2:23: UserName must be the full address.*write UserName as zhang.san@contoso.com` +
				`.*bad.csv:3:37: Password is empty` +
				`.*bad.csv:4:1: EmailAddress "ZHANG.SAN@contoso.com" is a duplicate of line 2`),
		},
		{
			Config:      echo(fmt.Sprintf(`ephemeral "m365_imap_migration_csv" "x" { path = %q }`, dir+"/missing.csv")),
			ExpectError: re(`(?s)Cannot Read Migration CSV.*missing.csv`),
		},
		{ // path and content together
			Config:      echo(fmt.Sprintf(`ephemeral "m365_imap_migration_csv" "x" {`+"\n"+`  path = %q`+"\n"+`  content = "x"`+"\n}", file)),
			ExpectError: re(`(?s)Invalid Attribute Combination.*path.*content`),
		},
		{ // an encoding the provider does not read
			Config:      echo(fmt.Sprintf(`ephemeral "m365_imap_migration_csv" "x" {`+"\n"+`  path = %q`+"\n"+`  encoding = "latin1"`+"\n}", file)),
			ExpectError: re(`(?s)Unknown CSV Encoding.*latin1.*auto, utf-8, utf-16, gb18030`),
		},
		{ // a UTF-16 file from Excel: decoded, checked and rewritten as UTF-8
			Config: echo(fmt.Sprintf(`ephemeral "m365_imap_migration_csv" "x" { path = %q }`, file)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("echo.x", tfjsonpath.New("data").AtMapKey("emails"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("li.si@contoso.com"), knownvalue.StringExact("wang.wu@contoso.com"), knownvalue.StringExact("zhang.san@contoso.com")})),
				statecheck.ExpectKnownValue("echo.x", tfjsonpath.New("data").AtMapKey("rows"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue("echo.x", tfjsonpath.New("data").AtMapKey("encoding"), knownvalue.StringExact("utf-16le")),
				statecheck.ExpectKnownValue("echo.x", tfjsonpath.New("data").AtMapKey("sha"), knownvalue.StringExact(hex.EncodeToString(normalised[:]))),
				statecheck.ExpectKnownValue("echo.x", tfjsonpath.New("data").AtMapKey("header_ok"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("echo.x", tfjsonpath.New("data").AtMapKey("crlf"), knownvalue.Bool(false)),
			},
		},
		{ // content is passed through unchanged (Terraform requires it), after the same checks
			Config: e.config(fmt.Sprintf(`
locals { csv = %q }
ephemeral "m365_imap_migration_csv" "x" { content = local.csv }
provider "echo" {
  data = {
    same   = ephemeral.m365_imap_migration_csv.x.content == local.csv
    emails = ephemeral.m365_imap_migration_csv.x.emails
  }
}
resource "echo" "y" {}
`, text)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("echo.y", tfjsonpath.New("data").AtMapKey("same"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("echo.y", tfjsonpath.New("data").AtMapKey("emails"), knownvalue.ListSizeExact(3)),
			},
		},
	}})
}
