package provider

import (
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/exmail"
)

// TestExmailUsersSharesTheCSVConversion: members become exactly the users an Exmail export would
// give m365_users_csv: domain rewrite, defaults, last department segment, Graph checks with the
// member named.
func TestExmailUsersSharesTheCSVConversion(t *testing.T) {
	dir := &exmailDirectory{byID: map[int64]exmail.Department{
		4681599755550737935: {ID: 4681599755550737935, Name: "研发中心", Path: "研发中心"},
		4681599755550741287: {ID: 4681599755550741287, Name: "平台组", Path: "研发中心/平台组"},
	}}
	members := []exmail.Member{
		{UserID: "zhangsan@old.cn", Name: "张三", Department: []int64{4681599755550741287, 4681599755550737935}, Position: "工程师", Mobile: "13800000000", Tel: "010-1234", ExtID: "0007", Enabled: true},
		{UserID: "gone@old.cn", Name: "离职", Enabled: false},
		{UserID: "lisi@old.cn", Name: strings.Repeat("长", 257), Enabled: true},
	}
	users, upnOf, problems := exmailUsers(dir, members, false, "new.com", map[string]string{"usage_location": "CN"})
	if len(problems) != 1 || !strings.Contains(problems[0].text, "member lisi@old.cn") || !strings.Contains(problems[0].text, "256") {
		t.Fatalf("problems = %+v", problems)
	}
	if len(users) != 1 {
		t.Fatalf("users = %+v", users)
	}
	u := users[0]
	if u.UPN() != "zhangsan@new.com" || u.Get("display_name") != "张三" || u.Get("department") != "平台组" || u.Get("job_title") != "工程师" ||
		u.Get("mobile_phone") != "13800000000" || strings.Join(u.GetList("business_phones"), ",") != "010-1234" || u.Get("employee_id") != "0007" ||
		u.Get("usage_location") != "CN" || u.Get("mail_nickname") != "zhangsan" || u.Line != 1 {
		t.Fatalf("user = %+v", u)
	}
	if upnOf["zhangsan@old.cn"] != "zhangsan@new.com" || upnOf["gone@old.cn"] != "" {
		t.Fatalf("upnOf = %v", upnOf)
	}
	all, _, _ := exmailUsers(dir, members[:2], true, "", nil)
	if len(all) != 2 || all[1].UPN() != "gone@old.cn" {
		t.Fatalf("include_disabled: %+v", all)
	}
}

func TestInDepartments(t *testing.T) {
	for _, c := range []struct {
		paths, prefixes []string
		want            bool
	}{
		{[]string{"研发中心/平台组"}, []string{"研发中心"}, true},
		{[]string{"研发中心二部"}, []string{"研发中心"}, false},
		{[]string{"销售部", "研发中心"}, []string{"研发中心"}, true},
		{nil, []string{"研发中心"}, false},
	} {
		if got := inDepartments(c.paths, c.prefixes); got != c.want {
			t.Errorf("inDepartments(%v, %v) = %v", c.paths, c.prefixes, got)
		}
	}
}

func TestExmailPasswordsAreLettersAndDigits(t *testing.T) {
	for i := 0; i < 200; i++ {
		p, err := randomPassword(16, exmailPasswordClasses)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 16 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" ||
			!strings.ContainsAny(p, "0123456789") || !strings.ContainsAny(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || !strings.ContainsAny(p, "abcdefghijklmnopqrstuvwxyz") {
			t.Fatalf("password %q breaks Exmail's letters-and-digits rule", p)
		}
	}
}
