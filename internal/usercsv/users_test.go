package usercsv

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
)

func readGood(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "good", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseGood parses a good file and fails on any problem.
func parseGood(t *testing.T, name string, opts UserOptions) *UserResult {
	t.Helper()
	opts.Name = name
	res, err := ParseUsers(readGood(t, name), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("unexpected problems:\n%s", res.Problems.Error())
	}
	return res
}

func checkUsers(t *testing.T, got, want []User) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d users, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Line != want[i].Line || !got[i].Equal(want[i].Values) {
			t.Errorf("user %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestGoodExmailGB18030(t *testing.T) {
	res := parseGood(t, "exmail_gb18030.csv", UserOptions{})
	if res.Encoding != EncodingGB18030 || res.Format != FormatExmail {
		t.Errorf("encoding %q format %q, want gb18030 exmail", res.Encoding, res.Format)
	}
	checkUsers(t, res.Users, []User{
		mkUser(2, "user_principal_name", "zhang.san@corp.com", "mail_nickname", "zhang.san", "display_name", "张三", "job_title", "工程师", "department", "技术部", "mobile_phone", "13800000001", "business_phones", []string{"010-12345678"}, "employee_id", "E001", "aliases", []string{"zs@corp.com"}),
		mkUser(3, "user_principal_name", "li.si@corp.com", "mail_nickname", "li.si", "display_name", "李四", "job_title", "经理", "department", "市场部", "mobile_phone", "13800000002", "employee_id", "E002"),
		mkUser(4, "user_principal_name", "wang.wu@corp.com", "mail_nickname", "wang.wu", "display_name", "王五, 小王", "department", "销售部", "employee_id", "E003"),
	})
}

func TestGoodExmailDomainRewrite(t *testing.T) {
	res := parseGood(t, "exmail_domain_rewrite.csv", UserOptions{Domain: "new.cn", Defaults: map[string]string{"usage_location": "cn"}})
	var upns []string
	for _, u := range res.Users {
		upns = append(upns, u.UPN()+"|"+u.Get("mail_nickname")+"|"+u.Get("usage_location")+"|"+u.Get("job_title"))
	}
	equalStrings(t, "users", upns, []string{
		"zhao.liu@new.cn|zhao.liu|CN|主管",
		"qian.qi@new.cn|qian.qi|CN|", // the full address in 邮箱地址 is preferred, then rewritten
		"sun.ba@new.cn|sun.ba|CN|",
	})
	// Without a domain the bare account names are problems, the full addresses are kept.
	res, err := ParseUsers(readGood(t, "exmail_domain_rewrite.csv"), UserOptions{Name: "x.csv"})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "problems", res.Problems.Strings(), []string{
		`x.csv:2:4: user name "zhao.liu" has no domain — write the full address (e.g. zhao.liu@corp.com) or set domain = "corp.com"`,
	})
	if len(res.Users) != 2 || res.Users[0].UPN() != "qian.qi@old.com" {
		t.Errorf("users = %+v", res.Users)
	}
}

func TestGoodM365Template16(t *testing.T) {
	res := parseGood(t, "m365_16.csv", UserOptions{Format: "m365"})
	if res.Encoding != EncodingUTF8 || res.Format != FormatM365 {
		t.Errorf("encoding %q format %q", res.Encoding, res.Format)
	}
	chris := mkUser(2, "user_principal_name", "chris@contoso.com", "mail_nickname", "chris", "given_name", "Chris", "surname", "Green", "display_name", "Chris Green", "job_title", "IT Manager", "department", "Information Technology", "office_location", "123451", "business_phones", []string{"123-555-1211"}, "mobile_phone", "123-555-6641", "fax_number", "123-555-6700", "other_mails", []string{"chris@contoso.com"}, "street_address", "1 Microsoft way", "city", "Redmond", "state", "Wa", "postal_code", "98052", "country", "United States")
	checkUsers(t, res.Users, []User{
		chris,
		// "space plus comma" blanks are empty
		mkUser(3, "user_principal_name", "ben@contoso.com", "mail_nickname", "ben", "given_name", "Ben", "surname", "Andrews", "display_name", "Ben Andrews"),
		// empty Display Name falls back to First + Last; trailing empty columns are tolerated
		mkUser(4, "user_principal_name", "cody@contoso.com", "mail_nickname", "cody", "given_name", "Cody", "surname", "Godinez", "display_name", "Cody Godinez"),
	})

	// The same file in UTF-16LE with BOM and CRLF, as "Unicode" spreadsheets save it, detected automatically.
	res = parseGood(t, "m365_utf16le.csv", UserOptions{})
	if res.Encoding != EncodingUTF16LE || res.Format != FormatM365 {
		t.Errorf("encoding %q format %q", res.Encoding, res.Format)
	}
	checkUsers(t, res.Users, []User{chris})
}

func TestGoodM365Template15SentenceCase(t *testing.T) {
	res := parseGood(t, "m365_15_sentence_case.csv", UserOptions{})
	if res.Encoding != EncodingUTF8BOM || res.Format != FormatM365 {
		t.Errorf("encoding %q format %q", res.Encoding, res.Format)
	}
	checkUsers(t, res.Users, []User{mkUser(2, "user_principal_name", "chris@contoso.com", "mail_nickname", "chris", "given_name", "Chris", "surname", "Green", "display_name", "Chris Green", "job_title", "IT Manager", "department", "Information Technology", "office_location", "123451", "business_phones", []string{"123-555-1211"}, "mobile_phone", "123-555-6641", "fax_number", "123-555-6700", "street_address", "1 Microsoft way, Building 92", "city", "Redmond", "state", "Wa", "postal_code", "98052", "country", "United States")})
}

func TestGoodM365ChineseHeaderByPosition(t *testing.T) {
	res := parseGood(t, "m365_zh_by_position.csv", UserOptions{Format: "m365"})
	checkUsers(t, res.Users, []User{
		mkUser(2, "user_principal_name", "zhang.san@corp.cn", "mail_nickname", "zhang.san", "given_name", "三", "surname", "张", "display_name", "张三", "job_title", "工程师", "department", "技术部", "office_location", "A-101", "business_phones", []string{"010-1234"}, "mobile_phone", "13800000001", "other_mails", []string{"zs@qq.com"}, "street_address", "长安街1号", "city", "北京", "state", "北京", "postal_code", "100000", "country", "中国"),
		mkUser(3, "user_principal_name", "li.si@corp.cn", "mail_nickname", "li.si", "given_name", "四", "surname", "李", "display_name", "李四"),
	})
	// With auto the translated template is not recognised, and the fix says to set format = "m365".
	res, err := ParseUsers(readGood(t, "m365_zh_by_position.csv"), UserOptions{Name: "zh.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || !strings.HasPrefix(res.Problems[0].String(), `zh.csv:1:1: cannot tell the CSV format from the header; found "用户名", "名字"`) ||
		!strings.Contains(res.Problems[0].Fix, `set format = "m365"`) {
		t.Errorf("problems = %v", res.Problems)
	}
	// A 15-column translated header skips Alternate email address.
	h15zh := strings.Replace(h16zh, "备用电子邮件地址,", "", 1)
	res, err = ParseUsers([]byte(h15zh+"\nwang@corp.cn,,,王,,,,,,,路1号,上海,上海,200000,中国\n"), UserOptions{Format: "m365"})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("%v %v", err, res.Problems)
	}
	if u := res.Users[0]; u.Get("street_address") != "路1号" || u.Get("country") != "中国" || u.GetList("other_mails") != nil {
		t.Errorf("user = %+v", u)
	}
}

func TestGoodCustomColumnsAndDefaults(t *testing.T) {
	res := parseGood(t, "custom.csv", UserOptions{Format: "custom",
		Columns: map[string]string{"user_principal_name": "email", "display_name": "FULL NAME", "department": "Dept",
			"mobile_phone": "Mobile", "usage_location": "Location", "preferred_language": "Lang"},
		Defaults: map[string]string{"usage_location": "CN", "company_name": "Contoso", "department": "General"}})
	if res.Format != FormatCustom {
		t.Errorf("format %q", res.Format)
	}
	checkUsers(t, res.Users, []User{
		mkUser(2, "user_principal_name", "a.b@corp.com", "mail_nickname", "a.b", "display_name", "A B", "department", "General", "company_name", "Contoso", "mobile_phone", "+86 138 0000 0001", "usage_location", "HK", "preferred_language", "zh-HK"),
		mkUser(3, "user_principal_name", "c.d@corp.com", "mail_nickname", "c.d", "display_name", "C D", "department", "Sales", "company_name", "Contoso", "usage_location", "CN"),
	})
	// auto with columns and no preset header is custom.
	res, err := ParseUsers(readGood(t, "custom.csv"), UserOptions{Columns: map[string]string{"user_principal_name": "Email", "display_name": "Full Name"}})
	if err != nil || len(res.Problems) != 0 || res.Format != FormatCustom || len(res.Users) != 2 {
		t.Errorf("%v %v %q %d", err, res.Problems, res.Format, len(res.Users))
	}
}

func TestColumnsOverridePreset(t *testing.T) {
	data := []byte(h16 + ",Usage Location\n" + row16("jay@contoso.com", "Jay", "", "Jay") + ",SG\n")
	res, err := ParseUsers(data, UserOptions{Columns: map[string]string{"usage_location": "usage location"}})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("%v %v", err, res.Problems)
	}
	if res.Users[0].Get("usage_location") != "SG" {
		t.Errorf("usage location %q", res.Users[0].Get("usage_location"))
	}
}

func TestExmailDepartmentLastSegment(t *testing.T) {
	for in, want := range map[string]string{"总部/技术部": "技术部", "总部;技术部": "技术部", "总部／研发中心／前端组": "前端组",
		"技术部": "技术部", "总部/技术部/": "技术部", "总部；市场部": "市场部"} {
		if got := lastSegment(in); got != want {
			t.Errorf("lastSegment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUserOptionsErrors(t *testing.T) {
	for _, c := range []struct {
		opts UserOptions
		want string
	}{
		{UserOptions{Format: "xlsx"}, `unknown format "xlsx"`},
		{UserOptions{Encoding: "latin1"}, `unknown encoding "latin1"`},
		{UserOptions{Format: "custom"}, `format "custom" needs columns`},
		{UserOptions{Format: "custom", Columns: map[string]string{"display_name": "Name"}}, "needs columns.user_principal_name"},
		{UserOptions{Columns: map[string]string{"upn": "Mail"}}, `columns: unknown attribute "upn"`},
		{UserOptions{Defaults: map[string]string{"location": "CN"}}, `defaults: unknown attribute "location"`},
		{UserOptions{Defaults: map[string]string{"usage_location": "China"}}, `defaults.usage_location: usage location "CHINA" is not an ISO 3166-1`},
		{UserOptions{Defaults: map[string]string{"user_principal_name": "x@corp.com"}}, "defaults.user_principal_name: a default cannot be given"},
		{UserOptions{Defaults: map[string]string{"company_name": strings.Repeat("c", 65)}}, "defaults.company_name: defaults.company_name is 65 characters long"},
		{UserOptions{Domain: "corp..com"}, `domain "corp..com" is not a valid domain name`},
	} {
		_, err := ParseUsers([]byte(h16+"\n"), c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.opts, err, c.want)
		}
	}
	if got, want := Attributes(), userattr.Names(); !slices.Equal(got, want) || len(got) < 22 {
		t.Errorf("Attributes() = %v, want the catalogue's %v", got, want)
	}
	for _, a := range Attributes() {
		if _, err := ParseUsers([]byte(h16+"\n"), UserOptions{Columns: map[string]string{a: "User Name"}}); err != nil {
			t.Errorf("attribute %s rejected: %v", a, err)
		}
	}
}

func TestLimitsEveryAttribute(t *testing.T) {
	// One row per limited attribute, exceeding the limit by one; the columns
	// are laid out so that the offending field starts at a column computed from
	// the fixed widths of the fields before it.
	attrs := []string{"display_name", "given_name", "surname", "job_title", "department", "company_name", "employee_id",
		"mobile_phone", "business_phone", "street_address", "city", "state", "postal_code", "country", "mail_nickname"}
	graphName := map[string]string{"display_name": "displayName", "given_name": "givenName", "surname": "surname",
		"job_title": "jobTitle", "department": "department", "company_name": "companyName", "employee_id": "employeeId",
		"mobile_phone": "mobilePhone", "business_phone": "businessPhones", "street_address": "streetAddress", "city": "city",
		"state": "state", "postal_code": "postalCode", "country": "country", "mail_nickname": "mailNickname"}
	limit := map[string]int{"display_name": 256, "given_name": 64, "surname": 64, "job_title": 128, "department": 64,
		"company_name": 64, "employee_id": 16, "mobile_phone": 64, "business_phone": 64, "street_address": 1024, "city": 128,
		"state": 128, "postal_code": 40, "country": 128, "mail_nickname": 64}
	cols := map[string]string{"user_principal_name": "upn", "other_mails": "other"}
	header := []string{"upn"}
	for _, a := range attrs {
		cols[a] = "h_" + a
		header = append(header, "h_"+a)
	}
	header = append(header, "other")
	var b strings.Builder
	b.WriteString(strings.Join(header, ",") + "\n")
	var want []string
	line := 2
	for i, a := range attrs {
		fields := make([]string, len(header))
		fields[0] = fmt.Sprintf("u%02d@corp.com", i) // 12 characters
		fields[1] = "D"
		fields[1+i] = strings.Repeat("x", limit[a]+1)
		b.WriteString(strings.Join(fields, ",") + "\n")
		col := 15 + i // "uNN@corp.com,D," then one comma per empty field
		if i == 0 {
			col = 14
		}
		want = append(want, fmt.Sprintf(`limits.csv:%d:%d: "h_%s" is %d characters long; Microsoft Graph allows at most %d for %s — shorten it to %d characters`,
			line, col, a, limit[a]+1, limit[a], graphName[a], limit[a]))
		line++
	}
	// Limits are in UTF-16 code units: 129 emoji are 258 units.
	fields := make([]string, len(header))
	fields[0], fields[1] = "emoji@corp.com", strings.Repeat("😀", 129)
	b.WriteString(strings.Join(fields, ",") + "\n")
	want = append(want, fmt.Sprintf(`limits.csv:%d:16: "h_display_name" is 258 characters long; Microsoft Graph allows at most 256 for displayName — shorten it to 256 characters`, line))
	line++
	// other_mails: 251 values, and one value of 251 characters.
	many := make([]string, 251)
	for i := range many {
		many[i] = fmt.Sprintf("m%d@x.com", i)
	}
	longMail := strings.Repeat("m", 242) + "@corp.com"
	for _, v := range []string{strings.Join(many, ";"), longMail} {
		fields := make([]string, len(header))
		fields[0], fields[1], fields[len(header)-1] = fmt.Sprintf("o%d@corp.com", line), "D", v
		b.WriteString(strings.Join(fields, ",") + "\n")
		line++
	}
	want = append(want,
		fmt.Sprintf(`limits.csv:%d:30: "other" has 251 addresses; the limit is 250 — keep at most 250 alternate addresses`, line-2),
		fmt.Sprintf(`limits.csv:%d:30: "other": address %q is 251 characters long; the limit is 250 — shorten or remove the address`, line-1, longMail))
	// Exactly at every limit is fine.
	fields = make([]string, len(header))
	fields[0] = "ok@corp.com"
	for i, a := range attrs {
		fields[1+i] = strings.Repeat("y", limit[a])
	}
	fields[len(header)-1] = strings.Join(many[:250], ";")
	b.WriteString(strings.Join(fields, ",") + "\n")

	res, err := ParseUsers([]byte(b.String()), UserOptions{Name: "limits.csv", Format: "custom", Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "problems", res.Problems.Strings(), want)
	if len(res.Users) != 1 || res.Users[0].UPN() != "ok@corp.com" || len(res.Users[0].GetList("other_mails")) != 250 {
		t.Errorf("users = %d", len(res.Users))
	}
}

func TestUsageLocationList(t *testing.T) {
	if n := len(iso3166); n != 249 {
		t.Errorf("%d ISO 3166-1 codes, want 249", n)
	}
	for _, c := range []string{"CN", "cn", "Hk", "US", "GB", "SS", "BQ"} {
		if !IsCountryCode(c) {
			t.Errorf("%s rejected", c)
		}
	}
	for _, c := range []string{"UK", "EU", "XK", "CHN", "", "C"} {
		if IsCountryCode(c) {
			t.Errorf("%s accepted", c)
		}
	}
}

// usersGB18030 builds an Exmail export of n users in GB18030.
func usersGB18030(n int) []byte {
	var b strings.Builder
	b.WriteString("姓名,帐号,部门,职务,手机,电话,编号\r\n")
	for i := range n {
		fmt.Fprintf(&b, "张三%d,zhang.san%d@corp.com,总部/技术部,工程师,138%08d,010-1234%04d,E%d\r\n", i, i, i, i%10000, i)
	}
	return gb(b.String())
}

func TestParseUsers50kRows(t *testing.T) {
	data := usersGB18030(50000)
	// The best of up to three runs, so that a machine busy with other work
	// does not fail the test; one run is enough when it is fast.
	var (
		res     *UserResult
		err     error
		elapsed time.Duration
	)
	for range 3 {
		start := time.Now()
		res, err = ParseUsers(data, UserOptions{})
		if d := time.Since(start); elapsed == 0 || d < elapsed {
			elapsed = d
		}
		if err != nil || elapsed <= 2*time.Second {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || len(res.Users) != 50000 || res.Encoding != EncodingGB18030 {
		t.Fatalf("problems %d users %d encoding %s", len(res.Problems), len(res.Users), res.Encoding)
	}
	if u := res.Users[49999]; u.UPN() != "zhang.san49999@corp.com" || u.Get("display_name") != "张三49999" || u.Line != 50001 {
		t.Errorf("last user %+v", u)
	}
	if elapsed > 2*time.Second {
		t.Errorf("50,000 rows took %v, want under 2s", elapsed)
	}
}

func BenchmarkParseUsers50k(b *testing.B) {
	data := usersGB18030(50000)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		res, err := ParseUsers(data, UserOptions{})
		if err != nil || len(res.Users) != 50000 {
			b.Fatal(err)
		}
	}
}

// TestExmailAliases: the export's 别名 column gives aliases, split on ; , (full-width too) and
// line breaks; a bad alias is reported at its cell.
func TestExmailAliases(t *testing.T) {
	in := "姓名,帐号,别名\n" +
		"李雷,li.lei@contoso.com,\"lei.li@contoso.com;lilei@contoso.com\"\n" +
		"韩梅梅,han.meimei@contoso.com,\"mm@contoso.com，meimei@contoso.com\nhan@contoso.com\"\n" +
		"张三,zhang.san@contoso.com,\n"
	res, err := ParseUsers([]byte(in), UserOptions{Name: "export.csv"})
	if err != nil || len(res.Problems) > 0 || res.Format != FormatExmail {
		t.Fatalf("%v %v %s", err, res.Problems, res.Format)
	}
	want := [][]string{{"lei.li@contoso.com", "lilei@contoso.com"}, {"mm@contoso.com", "meimei@contoso.com", "han@contoso.com"}, nil}
	for i, u := range res.Users {
		if !slices.Equal(u.GetList("aliases"), want[i]) {
			t.Errorf("%s: aliases %q, want %q", u.UPN(), u.GetList("aliases"), want[i])
		}
	}
	res, _ = ParseUsers([]byte("姓名,帐号,别名\n李雷,li.lei@contoso.com,\"lei.li@contoso.com;not an address\"\n"), UserOptions{Name: "export.csv"})
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].String(), `"not an address" is not an email address`) || res.Problems[0].Column != 23 {
		t.Errorf("bad alias: %v", res.Problems)
	}
}

// TestAliasesFollowTheDomainRewrite: domain rewrites the aliases on the user name's own domain
// (a staging rehearsal) and leaves the company's other domains alone.
func TestAliasesFollowTheDomainRewrite(t *testing.T) {
	data := []byte("帐号,姓名,别名\nzhang.san@contoso.com,张三,zs@contoso.com;zhang@gz.contoso.com\n")
	res, err := ParseUsers(data, UserOptions{Name: "x.csv", Format: FormatExmail, Domain: "staging.onmicrosoft.com"})
	if err != nil || len(res.Problems) > 0 || len(res.Users) != 1 {
		t.Fatalf("%v %v %d", err, res.Problems, len(res.Users))
	}
	got := res.Users[0].GetList("aliases")
	if len(got) != 2 || got[0] != "zs@staging.onmicrosoft.com" || got[1] != "zhang@gz.contoso.com" {
		t.Errorf("aliases %v", got)
	}
}

// TestOptionErrorsNameTheOption: every option problem of ParseUsers names its option, so the data
// source points at the attribute without reading the message.
func TestOptionErrorsNameTheOption(t *testing.T) {
	data := []byte("User Name,Display Name\na@corp.com,A\n")
	for _, c := range []struct {
		opts UserOptions
		want string
	}{
		{UserOptions{Columns: map[string]string{"nope": "X"}}, "columns"},
		{UserOptions{Format: FormatCustom}, "columns"},
		{UserOptions{Defaults: map[string]string{"user_principal_name": "x@corp.com"}}, "defaults"},
		{UserOptions{Domain: "not a domain"}, "domain"},
		{UserOptions{Encoding: "latin1"}, "encoding"},
		{UserOptions{Format: "xls"}, "format"},
	} {
		_, err := ParseUsers(data, c.opts)
		errs := OptionErrors(err)
		if len(errs) == 0 || errs[0].Option != c.want {
			t.Errorf("%+v: option errors %v, want one on %s", c.opts, errs, c.want)
		}
	}
}

// mkUser builds an expected user from attribute name, value pairs (a string or a []string).
func mkUser(line int, pairs ...any) User {
	u := User{Line: line}
	for i := 0; i+1 < len(pairs); i += 2 {
		switch v := pairs[i+1].(type) {
		case string:
			u.Set(pairs[i].(string), v)
		case []string:
			u.SetList(pairs[i].(string), v)
		}
	}
	return u
}
