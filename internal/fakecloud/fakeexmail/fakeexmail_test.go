package fakeexmail

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// call sends one request and returns the raw answer and its decoded envelope.
func call(t *testing.T, base, method, path string, q url.Values, body string) (string, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path+"?"+q.Encode(), rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s %s: HTTP %d %s", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var env map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&env); err != nil {
		t.Fatalf("%s: not JSON: %s", path, b)
	}
	return string(b), env
}

func code(env map[string]any) string { return env["errcode"].(json.Number).String() }

// TestDocumentedShapes checks the wire shapes against the documented ones, without the product's
// client: the envelope on every answer, per-app tokens, methods, 64-bit ids in raw JSON, string
// option values, "update" for useroption/update, and the limits.
func TestDocumentedShapes(t *testing.T) {
	fx, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fx.Handler())
	defer hs.Close()
	sec := fx.Secrets()
	token := func(app string) string {
		_, env := call(t, hs.URL, http.MethodGet, "/cgi-bin/gettoken", url.Values{"corpid": {fx.CorpID()}, "corpsecret": {sec[app]}}, "")
		if code(env) != "0" || env["errmsg"] != "ok" || env["expires_in"].(json.Number).String() != "7200" || len(env["access_token"].(string)) < 64 {
			t.Fatalf("gettoken: %v", env)
		}
		return env["access_token"].(string)
	}
	contacts, options := token(AppContacts), token(AppOptions)
	tq := func(tok string, kv ...string) url.Values {
		q := url.Values{"access_token": {tok}}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}

	raw, env := call(t, hs.URL, http.MethodGet, "/cgi-bin/department/list", tq(contacts, "id", "1"), "")
	if code(env) != "0" || !regexp.MustCompile(`"id":\d{17,19},`).MatchString(raw) {
		t.Fatalf("department/list must carry 64-bit ids as JSON numbers: %s", raw)
	}
	if strings.Contains(raw, `\u`) {
		t.Fatalf("Chinese must be raw UTF-8: %s", raw)
	}
	for _, c := range []struct {
		method, path string
		q            url.Values
		body, want   string
	}{
		{http.MethodPost, "/cgi-bin/user/get", tq(contacts, "userid", "lisi@example.cn"), "", "43001"},                 // wrong method
		{http.MethodGet, "/cgi-bin/user/get", url.Values{"userid": {"lisi@example.cn"}}, "", "41001"},                  // no token
		{http.MethodGet, "/cgi-bin/user/get", tq("bogus", "userid", "lisi@example.cn"), "", "40014"},                   // unknown token
		{http.MethodPost, "/cgi-bin/useroption/get", tq(contacts), `{"userid":"lisi@example.cn","type":[2]}`, "40014"}, // another app's token
		{http.MethodGet, "/cgi-bin/user/get", tq(contacts, "userid", "nobody@example.cn"), "", "60111"},                // unknown member
		{http.MethodGet, "/cgi-bin/user/list", tq(contacts, "department_id", "42", "fetch_child", "1"), "", "60003"},   // unknown department
		{http.MethodPost, "/cgi-bin/user/update", tq(contacts), `{"userid":"lisi@example.cn","slaves":["a@x.cn","b@x.cn","c@x.cn","d@x.cn","e@x.cn","f@x.cn"]}`, "60125"},
		{http.MethodPost, "/cgi-bin/user/update", tq(contacts), `{"userid":"lisi@example.cn","slaves":["san.zhang@example.cn"]}`, "60126"}, // another member's alias
		{http.MethodPost, "/cgi-bin/user/update", tq(contacts), `{"userid":"lisi@example.cn","password":"has space 1"}`, "60127"},
		{http.MethodPost, "/cgi-bin/user/batchcheck", tq(contacts), `{"userlist":["` + strings.Repeat(`a@x.cn","`, 20) + `b@x.cn"]}`, "40058"},
		{http.MethodPost, "/cgi-bin/user/update", tq(contacts), `not json`, "47001"},
	} {
		_, env := call(t, hs.URL, c.method, c.path, c.q, c.body)
		if code(env) != c.want || env["errmsg"] == "" {
			t.Errorf("%s %s %s: %v, want errcode %s", c.method, c.path, c.body, env, c.want)
		}
	}
	if fx.Stats().Writes != 0 {
		t.Fatalf("refused requests wrote: %+v", fx.Stats())
	}

	raw, env = call(t, hs.URL, http.MethodGet, "/cgi-bin/user/get", tq(contacts, "userid", "zhangsan@example.cn"), "")
	if code(env) != "0" || env["gender"] != "1" || env["enable"].(json.Number).String() != "1" || strings.Contains(raw, "password") {
		t.Fatalf("user/get: %s", raw)
	}
	raw, env = call(t, hs.URL, http.MethodPost, "/cgi-bin/useroption/get", tq(options), `{"userid":"lisi@example.cn","type":[1,2,3,4]}`)
	if code(env) != "0" || !strings.Contains(raw, `{"type":2,"value":"1"}`) {
		t.Fatalf("useroption/get: values are strings: %s", raw)
	}
	_, env = call(t, hs.URL, http.MethodPost, "/cgi-bin/useroption/update", tq(options), `{"userid":"lisi@example.cn","option":[{"type":2,"value":"0"},{"type":4,"value":"1"}]}`)
	if code(env) != "0" || env["errmsg"] != "update" {
		t.Fatalf("useroption/update: %v", env)
	}
	if m, _ := fx.Member("lisi@example.cn"); m.IMAP || m.SecureLogin {
		t.Fatalf("IMAP must be off and type 4 ignored: %+v", m)
	}
	_, env = call(t, hs.URL, http.MethodPost, "/cgi-bin/user/update", tq(contacts), `{"userid":"lisi@example.cn","password":"NewPass2024","cpwd_login":"1"}`)
	if code(env) != "0" || env["errmsg"] != "updated" {
		t.Fatalf("user/update: %v", env)
	}
	if err := fx.IMAPLogin("lisi@example.cn", "NewPass2024"); err == nil || err.Error() != IMAPRefusal {
		t.Fatalf("IMAP is off: the login must be refused with Exmail's text, got %v", err)
	}
	fx.SetIMAP("lisi@example.cn", true)
	if err := fx.IMAPLogin("lisi@example.cn", "NewPass2024"); err != nil {
		t.Fatal(err)
	}
	_, env = call(t, hs.URL, http.MethodPost, "/cgi-bin/log/login", url.Values{"access_token": {token(AppLog)}}, `{"userid":"lisi@example.cn","begin_date":"2024-01-01","end_date":"2024-12-31"}`)
	if code(env) != "601002" {
		t.Fatalf("a range over the limit: %v", env)
	}
	_, env = call(t, hs.URL, http.MethodGet, "/cgi-bin/gettoken", url.Values{"corpid": {fx.CorpID()}, "corpsecret": {"wrong"}}, "")
	if code(env) != "40001" || env["errmsg"] != "invalid credential" {
		t.Fatalf("wrong secret: %v", env)
	}
	for _, r := range fx.Requests() {
		if strings.Contains(r, sec[AppContacts]) || strings.Contains(r, contacts) {
			t.Fatalf("a secret or token is in the request log: %s", r)
		}
	}
}
