package provider

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

// exampleCSV is the Exmail export committed with the examples (GB18030).
func exampleCSV(t *testing.T) string {
	p, err := filepath.Abs("../../examples/data-sources/m365_users_csv/exmail-export-gb18030.csv")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// problemPattern matches the exact text of every problem usercsv finds in content (Terraform
// wraps long lines, so spaces match any white space).
func problemPattern(t *testing.T, content string, opts usercsv.UserOptions) *regexp.Regexp {
	t.Helper()
	res, err := usercsv.ParseUsers([]byte(content), opts)
	if err != nil || len(res.Problems) == 0 {
		t.Fatalf("the test content has no problems (%v)", err)
	}
	var parts []string
	for _, p := range res.Problems {
		parts = append(parts, "Invalid User CSV.*"+regexp.QuoteMeta(p.String()))
	}
	return re("(?s)" + strings.Join(parts, ".*"))
}

func TestAccUsersCSV(t *testing.T) {
	e := newTestEnv(t, nil, fakecloud.Knobs{})
	admin := "User Name,First Name,Last Name,Display Name,Job Title,Department,Office Number,Office Phone,Mobile Phone,Fax,Alternate email address,Address,City,State or Province,ZIP or Postal Code,Country or Region\r\n" +
		"zhang.san@contoso.com,San,Zhang,,Engineer,IT,,010-1234,,,\"a@example.com;b@example.com\",,Beijing,,,China\r\n" +
		"li.si@contoso.com,Si,Li,Li Si (Sales),,  ,,,,,,,,,,\r\n"
	bad := "User Name,First Name,Last Name,Display Name\n" +
		"ok@contoso.com,,,OK\n" +
		"bad user@contoso.com,,,Bad\n" +
		"ok@contoso.com,,,Again\n" +
		"x@contoso.com,,,\n"
	ds := "data.m365_users_csv.x"
	accParallelTest(t,
		resource.TestStep{
			Config: e.config(fmt.Sprintf(`
data "m365_users_csv" "x" {
  content  = %q
  defaults = { usage_location = "CN" }
}
`, admin)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("format"), knownvalue.StringExact("m365")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("encoding"), knownvalue.StringExact("utf-8")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users"), knownvalue.MapSizeExact(2)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("zhang.san@contoso.com"), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"line":            knownvalue.Int64Exact(2),
					"display_name":    knownvalue.StringExact("San Zhang"),
					"mail_nickname":   knownvalue.StringExact("zhang.san"),
					"job_title":       knownvalue.StringExact("Engineer"),
					"business_phones": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("010-1234")}),
					"other_mails":     knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("a@example.com"), knownvalue.StringExact("b@example.com")}),
					"usage_location":  knownvalue.StringExact("CN"),
					"country":         knownvalue.StringExact("China"),
					"fax_number":      knownvalue.Null(),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("li.si@contoso.com"), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"line":            knownvalue.Int64Exact(3),
					"display_name":    knownvalue.StringExact("Li Si (Sales)"),
					"department":      knownvalue.Null(), // a cell of spaces is empty
					"business_phones": knownvalue.Null(),
				})),
			},
		},
		resource.TestStep{ // an Exmail export saved in GB18030, domain rewritten
			Config: e.config(fmt.Sprintf(`
data "m365_users_csv" "x" {
  path   = %q
  domain = "corp.partner.onmschina.cn"
}
`, exampleCSV(t))),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("format"), knownvalue.StringExact("exmail")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("encoding"), knownvalue.StringExact("gb18030")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users"), knownvalue.MapSizeExact(4)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("zhang.san@corp.partner.onmschina.cn"), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"display_name":    knownvalue.StringExact("张三"),
					"department":      knownvalue.StringExact("技术部"),
					"job_title":       knownvalue.StringExact("工程师"),
					"mobile_phone":    knownvalue.StringExact("13800000001"),
					"business_phones": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("010-12345678")}),
					"employee_id":     knownvalue.StringExact("E001"),
					// 别名: the alias keeps its own domain (domain rewrites only the user name).
					// the alias on the user name's own domain moves with the rewrite
					"aliases": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("zs@corp.partner.onmschina.cn")}),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("li.si@corp.partner.onmschina.cn").AtMapKey("aliases"), knownvalue.Null()),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("users").AtMapKey("wang.wu@corp.partner.onmschina.cn").AtMapKey("display_name"), knownvalue.StringExact("王五, 小王")),
			},
		},
		resource.TestStep{ // every problem of the file in one plan, in usercsv's exact words
			Config:      e.config(fmt.Sprintf(`data "m365_users_csv" "x" { content = %q }`, bad)),
			ExpectError: problemPattern(t, bad, usercsv.UserOptions{Name: "content"}),
		},
		resource.TestStep{ // the same, spelled out: line and column of each, both lines of a duplicate
			Config: e.config(fmt.Sprintf(`data "m365_users_csv" "x" { content = %q }`, bad)),
			ExpectError: re(`(?s)content:3:1: user name "bad user@contoso.com" contains characters that are not allowed before the @: " " — use only letters` +
				`.*content:4:1: user name "ok@contoso.com" is a duplicate of line 2 — remove one of the two rows` +
				`.*content:5:17: display name is empty — fill in Display Name \(or First Name and Last Name\)`),
		},
		resource.TestStep{ // a GB18030 file read as UTF-8: undecodable bytes
			Config: e.config(fmt.Sprintf(`
data "m365_users_csv" "x" {
  path     = %q
  encoding = "utf-8"
}
`, exampleCSV(t))),
			ExpectError: re(`(?s)Invalid User CSV.*exmail-export-gb18030.csv:1:1:`),
		},
		resource.TestStep{
			Config:      e.config(`data "m365_users_csv" "x" { path = "/nonexistent/users.csv" }`),
			ExpectError: re(`(?s)Cannot Read User CSV.*/nonexistent/users.csv.*path.module`),
		},
		resource.TestStep{
			Config:      e.config(`data "m365_users_csv" "x" {}`),
			ExpectError: re(`(?s)Missing Attribute Configuration.*Exactly one of these attributes must be configured: \[path,content\]`),
		},
		resource.TestStep{
			Config: e.config(`
data "m365_users_csv" "x" {
  content = "a,b\n1,2\n"
  columns = { mail = "a" }
}
`),
			ExpectError: re(`(?s)Invalid User CSV Options.*columns: unknown attribute "mail"`),
		},
	)
	if n := e.fake.Stats().Graph.Requests; n != 0 {
		t.Errorf("reading CSV files made %d Graph requests; it must make none", n)
	}
}

// readCSVDirect runs the data source's Read outside Terraform.
func readCSVDirect(t *testing.T, content string) (types.Map, time.Duration) {
	t.Helper()
	ctx := context.Background()
	ds := &usersCSVDataSource{}
	var sr datasource.SchemaResponse
	ds.Schema(ctx, datasource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
	}
	vals["content"] = tftypes.NewValue(tftypes.String, content)
	vals["defaults"] = tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, map[string]tftypes.Value{"usage_location": tftypes.NewValue(tftypes.String, "CN")})
	req := datasource.ReadRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: tftypes.NewValue(typ, vals)}}
	resp := datasource.ReadResponse{State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}}
	start := time.Now()
	ds.Read(ctx, req, &resp)
	took := time.Since(start)
	if resp.Diagnostics.HasError() {
		t.Fatalf("read: %v", resp.Diagnostics)
	}
	var m usersCSVModel
	if d := resp.State.Get(ctx, &m); d.HasError() {
		t.Fatalf("state: %v", d)
	}
	return m.Users, took
}

func TestUsersCSVLargeFile(t *testing.T) {
	const n = 50000
	var b strings.Builder
	b.WriteString("姓名,帐号,部门,职务,手机\n")
	for i := range n {
		fmt.Fprintf(&b, "用户%d,user%05d@contoso.com,总部/部门%d,职员,138%08d\n", i, i, i%50, i)
	}
	users, took := readCSVDirect(t, b.String())
	t.Logf("%d rows read into the users map in %v", n, took)
	if len(users.Elements()) != n {
		t.Fatalf("%d users, want %d", len(users.Elements()), n)
	}
	u := users.Elements()["user04242@contoso.com"].(types.Object).Attributes()
	if u["department"].(types.String).ValueString() != "部门42" || u["line"].(types.Int64).ValueInt64() != 4244 || u["usage_location"].(types.String).ValueString() != "CN" {
		t.Fatalf("user04242: %v", u)
	}
	if took > 10*time.Second {
		t.Fatalf("reading %d rows took %v", n, took)
	}
}

// TestAccUsersCSVNameOrder: an admin-centre CSV without a Display Name column plans each derived
// display name in the order of its script (surname first with no space for Chinese, Japanese and
// Korean names, including a compound surname; given name first for Latin ones), and the tenant
// gets those names.
func TestAccUsersCSVNameOrder(t *testing.T) {
	e := newTestEnv(t, usersSeed(25, 3), fakecloud.Knobs{})
	csv := "User Name,First Name,Last Name,Department\n" +
		"zhang.san@corp.com,三,张,技术部\n" +
		"ouyang.xiu@corp.com,修,欧阳,技术部\n" +
		"yamada.taro@corp.com,太郎,山田,Sales\n" +
		"kim.minjun@corp.com,민준,김,Sales\n" +
		"li.si@corp.com,Si,Li,Sales\n"
	want := map[string]string{
		"zhang.san@corp.com":   "张三",
		"ouyang.xiu@corp.com":  "欧阳修",
		"yamada.taro@corp.com": "山田太郎",
		"kim.minjun@corp.com":  "김민준",
		"li.si@corp.com":       "Si Li",
	}
	addr := "m365_users.staff"
	var planned []plancheck.PlanCheck
	for upn, name := range want {
		planned = append(planned, plancheck.ExpectKnownValue(addr, tfjsonpath.New("attributes").AtMapKey(upn), userDoc("display_name", name)))
	}
	accParallelTest(t, resource.TestStep{
		Config:           e.config(usersConfig(csv, "")),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: planned},
		Check: func(*terraformState) error {
			live := liveUsers(e.fake)
			for upn, name := range want {
				if got := live[upn].DisplayName; got != name {
					return fmt.Errorf("%s has display name %q in the tenant, want %q", upn, got, name)
				}
			}
			return nil
		},
	})
}
