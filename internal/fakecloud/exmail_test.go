package fakecloud

import (
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
)

// TestExmailServedWithReadyFields checks the wiring: the ready file names the Exmail API, its corp
// id and one secret per app, and the API answers over the fake's TLS with the seeded members.
func TestExmailServedWithReadyFields(t *testing.T) {
	seed := DefaultSeed()
	seed.Exmail = &fakeexmail.Seed{CorpID: "wm0123456789abcdef", Members: []fakeexmail.Member{{UserID: "a@example.cn", Name: "A", DepartmentPaths: []string{"研发中心"}}}}
	f := newFixture(t, Options{Seed: seed})
	ready := filepath.Join(t.TempDir(), "ready.json")
	if err := f.s.WriteReadyFile(ready); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ready)
	if err != nil {
		t.Fatal(err)
	}
	var info ReadyInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	if info.ExmailCorpID != "wm0123456789abcdef" || !strings.HasPrefix(info.ExmailEndpoint, "https://127.0.0.1:") ||
		len(info.ExmailSecrets) != 3 || info.ExmailSecrets["contacts"] == "" || info.ExmailSecrets["options"] == "" || info.ExmailSecrets["log"] == "" {
		t.Fatalf("ready info %s", b)
	}
	get := func(u string) map[string]any {
		resp, err := f.c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return decodeJSON(t, body)
	}
	tok := get(info.ExmailEndpoint + "/cgi-bin/gettoken?" + url.Values{"corpid": {info.ExmailCorpID}, "corpsecret": {info.ExmailSecrets["contacts"]}}.Encode())
	if tok["errcode"] != float64(0) || tok["access_token"] == nil {
		t.Fatalf("gettoken: %v", tok)
	}
	list := get(info.ExmailEndpoint + "/cgi-bin/user/list?department_id=1&fetch_child=1&access_token=" + tok["access_token"].(string))
	if users, _ := list["userlist"].([]any); len(users) != 1 {
		t.Fatalf("user/list: %v", list)
	}
	bad := get(info.ExmailEndpoint + "/cgi-bin/gettoken?corpid=" + info.ExmailCorpID + "&corpsecret=wrong")
	if bad["errcode"] != float64(40001) || bad["errmsg"] != "invalid credential" {
		t.Fatalf("wrong secret: %v", bad)
	}
}
