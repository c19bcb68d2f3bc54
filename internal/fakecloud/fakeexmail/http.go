package fakeexmail

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// envelope is the reply of every endpoint: errcode/errmsg plus the payload's fields.
type envelope map[string]any

func reply(code int, msg string) envelope { return envelope{"errcode": code, "errmsg": msg} }

// route is one endpoint: its app, its method and its handler.
type route struct {
	app    string
	method string
	fn     func(s *Server, q url.Values, body map[string]json.RawMessage) envelope
}

var routes = map[string]route{
	"/cgi-bin/department/list":   {AppContacts, http.MethodGet, (*Server).departmentList},
	"/cgi-bin/user/get":          {AppContacts, http.MethodGet, (*Server).userGet},
	"/cgi-bin/user/simplelist":   {AppContacts, http.MethodGet, (*Server).userSimpleList},
	"/cgi-bin/user/list":         {AppContacts, http.MethodGet, (*Server).userList},
	"/cgi-bin/user/update":       {AppContacts, http.MethodPost, (*Server).userUpdate},
	"/cgi-bin/user/batchcheck":   {AppContacts, http.MethodPost, (*Server).batchCheck},
	"/cgi-bin/useroption/get":    {AppOptions, http.MethodPost, (*Server).optionGet},
	"/cgi-bin/useroption/update": {AppOptions, http.MethodPost, (*Server).optionUpdate},
	"/cgi-bin/log/login":         {AppLog, http.MethodPost, (*Server).logLogin},
}

// Handler serves the API under /cgi-bin/.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

var tokenParam = regexp.MustCompile(`(access_token|corpsecret)=[^&]*`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_fake/") && s.fakeHook(w, r) {
		return
	}
	env := s.dispatch(r)
	if s.opts.Logf != nil {
		s.opts.Logf("exmail %s %s -> errcode %v", r.Method, tokenParam.ReplaceAllString(r.URL.RequestURI(), "$1=REDACTED"), env["errcode"])
	}
	b, err := json.Marshal(env)
	if err != nil {
		b = []byte(`{"errcode":-1,"errmsg":"system error"}`)
	}
	// Real answers are HTTP 200 with the errcode in the body (SDKs check errcode only).
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b)
}

func (s *Server) dispatch(r *http.Request) envelope {
	q := r.URL.Query()
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+tokenParam.ReplaceAllString(r.URL.RequestURI(), "$1=REDACTED"))
	s.mu.Unlock()
	if r.URL.Path == "/cgi-bin/gettoken" {
		return s.getToken(q)
	}
	rt, ok := routes[r.URL.Path]
	if !ok {
		return reply(CodeBadParam, "invalid url: "+r.URL.Path)
	}
	if r.Method != rt.method {
		return reply(CodeBadMethod, "require "+rt.method)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	tok := q.Get("access_token")
	if tok == "" {
		return reply(CodeMissingToken, "access_token missing")
	}
	t, ok := s.tokens[tok]
	switch {
	case !ok:
		return reply(CodeInvalidToken, "invalid access_token")
	case !s.opts.Now().Before(t.expires):
		if s.opts.ExpiredCode == CodeInvalidToken {
			return reply(CodeInvalidToken, "invalid access_token")
		}
		return reply(s.opts.ExpiredCode, "access_token expired")
	case t.app != rt.app:
		// A token of another app (UNCONFIRMED code; SDKs treat 40014 as "get a new token").
		return reply(CodeInvalidToken, "invalid access_token: the token's app has no access to "+r.URL.Path)
	}
	if s.busy > 0 {
		s.busy--
		return reply(CodeBusy, "system busy")
	}
	var body map[string]json.RawMessage
	if rt.method == http.MethodPost {
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return reply(CodeBadJSON, "invalid json: "+err.Error())
		}
	}
	return rt.fn(s, q, body)
}

func (s *Server) getToken(q url.Values) envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	corp, secret := q.Get("corpid"), q.Get("corpsecret")
	app := ""
	for a, sec := range s.secrets {
		if secret != "" && sec == secret {
			app = a
		}
	}
	if corp != s.corpID || app == "" {
		return reply(CodeInvalidSecret, "invalid credential")
	}
	tok := randomHex(48)
	s.tokens[tok] = token{app: app, expires: s.opts.Now().Add(s.ttl)}
	s.stats.GetToken++
	s.stats.GetTokenByApp[app]++
	e := reply(CodeOK, "ok")
	e["access_token"] = tok
	e["expires_in"] = int64(s.ttl / time.Second)
	return e
}

// int64Param reads a 64-bit id from the query.
func int64Param(q url.Values, name string, def int64) (int64, bool) {
	v := q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func (s *Server) departmentList(q url.Values, _ map[string]json.RawMessage) envelope {
	id, ok := int64Param(q, "id", RootDepartment)
	if !ok {
		return reply(CodeBadParam, "invalid id")
	}
	if _, ok := s.depts[id]; !ok {
		return reply(CodeDeptNotFound, "department not found")
	}
	// "获取指定部门及其下的子部门": read as the department and all its descendants (the root
	// itself excluded). Whether it is recursive is UNCONFIRMED; DepartmentListOneLevel gives
	// the other reading.
	var list []envelope
	if id != RootDepartment {
		d := s.depts[id]
		list = append(list, deptJSON(d))
	}
	for _, d := range s.subtreeLocked(id) {
		if s.opts.DepartmentListOneLevel && d.ParentID != id {
			continue
		}
		list = append(list, deptJSON(d))
	}
	e := reply(CodeOK, "ok")
	e["department"] = list
	return e
}

func deptJSON(d *Department) envelope {
	return envelope{"id": d.ID, "name": d.Name, "parentid": d.ParentID, "order": d.Order}
}

// membersOfLocked lists members in department id (and its descendants with fetchChild), each once,
// sorted by userid.
func (s *Server) membersOfLocked(id int64, fetchChild bool) []*member {
	in := map[int64]bool{id: true}
	if fetchChild {
		for _, d := range s.subtreeLocked(id) {
			in[d.ID] = true
		}
	}
	var out []*member
	for _, m := range s.members {
		for _, d := range m.Department {
			if in[d] {
				out = append(out, m)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out
}

func (s *Server) memberJSON(m *member, enableString bool) envelope {
	var enable any = 1
	if m.Disabled {
		enable = 0
	}
	if enableString {
		enable = fmt.Sprint(enable)
	}
	cpwd := 0
	if m.CpwdLogin {
		cpwd = 1
	}
	slaves := m.Slaves
	if slaves == nil {
		slaves = []string{}
	}
	return envelope{"userid": m.UserID, "name": m.Name, "department": m.Department, "position": m.Position,
		"mobile": m.Mobile, "tel": m.Tel, "extid": m.ExtID, "gender": m.Gender, "slaves": slaves,
		"enable": enable, "cpwd_login": cpwd}
}

func (s *Server) listParams(q url.Values) (int64, bool, envelope) {
	id, ok := int64Param(q, "department_id", RootDepartment)
	if !ok {
		return 0, false, reply(CodeBadParam, "invalid department_id")
	}
	if _, ok := s.depts[id]; !ok {
		return 0, false, reply(CodeDeptNotFound, "department not found")
	}
	return id, q.Get("fetch_child") == "1", nil
}

func (s *Server) userList(q url.Values, _ map[string]json.RawMessage) envelope {
	return s.listMembers(q, func(m *member) envelope { return s.memberJSON(m, s.opts.UserListEnableString) })
}

func (s *Server) userSimpleList(q url.Values, _ map[string]json.RawMessage) envelope {
	return s.listMembers(q, func(m *member) envelope {
		return envelope{"userid": m.UserID, "name": m.Name, "department": m.Department}
	})
}

// listMembers answers user/list and user/simplelist: department_id, fetch_child, one item each.
func (s *Server) listMembers(q url.Values, item func(*member) envelope) envelope {
	id, child, bad := s.listParams(q)
	if bad != nil {
		return bad
	}
	list := []envelope{}
	for _, m := range s.membersOfLocked(id, child) {
		list = append(list, item(m))
	}
	e := reply(CodeOK, "ok")
	e["userlist"] = list
	return e
}

func (s *Server) userGet(q url.Values, _ map[string]json.RawMessage) envelope {
	m, ok := s.members[strings.ToLower(strings.TrimSpace(q.Get("userid")))]
	if !ok {
		return reply(CodeUserNotFound, "userid not found")
	}
	e := s.memberJSON(m, false)
	e["errcode"], e["errmsg"] = CodeOK, "ok"
	return e
}

var passwordLetters = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// checkPassword is the documented rule ("英文和数字": letters and digits) plus a guess at the
// rest (8 to 32 characters with both letters and digits; UNCONFIRMED).
func checkPassword(p string) bool {
	return len(p) >= 8 && len(p) <= 32 && passwordLetters.MatchString(p) &&
		strings.ContainsAny(p, "0123456789") && strings.ContainsAny(strings.ToLower(p), "abcdefghijklmnopqrstuvwxyz")
}

// intOrString decodes 1, "1", 0 or "0" (the docs use both forms).
func intOrString(raw json.RawMessage) (int, bool) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		i, err := n.Int64()
		return int(i), err == nil
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		i, err := strconv.Atoi(strings.TrimSpace(str))
		return i, err == nil
	}
	return 0, false
}

func (s *Server) userUpdate(_ url.Values, body map[string]json.RawMessage) envelope {
	m, notFound := s.bodyMember(body)
	if notFound != nil {
		return notFound
	}
	// Validate everything first: a rejected update changes nothing.
	next := m.Member
	if raw, ok := body["name"]; ok {
		if err := json.Unmarshal(raw, &next.Name); err != nil || len(next.Name) > 64 {
			return reply(CodeBadParam, "invalid name")
		}
	}
	if raw, ok := body["position"]; ok {
		_ = json.Unmarshal(raw, &next.Position)
	}
	if raw, ok := body["mobile"]; ok {
		_ = json.Unmarshal(raw, &next.Mobile)
	}
	if raw, ok := body["department"]; ok {
		var ids []json.Number
		if err := json.Unmarshal(raw, &ids); err != nil || len(ids) == 0 || len(ids) > 20 {
			return reply(CodeBadParam, "invalid department")
		}
		next.Department = nil
		for _, n := range ids {
			id, err := n.Int64()
			if _, ok := s.depts[id]; err != nil || !ok {
				return reply(CodeDeptNotFound, "department not found")
			}
			next.Department = append(next.Department, id)
		}
	}
	var newAliases []string
	slavesGiven := false
	if raw, ok := body["slaves"]; ok {
		slavesGiven = true
		if err := json.Unmarshal(raw, &newAliases); err != nil {
			return reply(CodeBadParam, "invalid slaves")
		}
		if len(newAliases) > MaxSlaves {
			return reply(CodeTooManySlaves, fmt.Sprintf("slaves exceed limit: at most %d aliases", MaxSlaves))
		}
		key := strings.ToLower(m.UserID)
		for _, a := range newAliases {
			a = strings.ToLower(a)
			if !strings.Contains(a, "@") {
				return reply(CodeBadParam, "invalid slave: "+a)
			}
			if owner, ok := s.aliases[a]; (ok && owner != key) || s.takenLocked(a) == 1 {
				return reply(CodeAddressTaken, "slave already exists: "+a)
			}
		}
		next.Slaves = newAliases
	}
	if raw, ok := body["enable"]; ok {
		v, ok := intOrString(raw)
		if !ok || (v != 0 && v != 1) {
			return reply(CodeBadParam, "invalid enable")
		}
		next.Disabled = v == 0
	}
	if raw, ok := body["cpwd_login"]; ok {
		v, ok := intOrString(raw)
		if !ok || (v != 0 && v != 1) {
			return reply(CodeBadParam, "invalid cpwd_login")
		}
		next.CpwdLogin = v == 1
	}
	passwordSet := false
	if raw, ok := body["password"]; ok {
		var p string
		if err := json.Unmarshal(raw, &p); err != nil || !checkPassword(p) {
			return reply(CodeBadPassword, "invalid password: use 8 to 32 letters and digits")
		}
		switch {
		case m.WeChatBound && !s.opts.BoundPasswordIgnored:
			return reply(CodePasswordNotAllow, "the member has bound WeChat or a mobile phone; the administrator cannot change the password")
		case m.WeChatBound:
			// The silent no-op possibility: "updated", password unchanged.
		default:
			next.Password = p
			passwordSet = true
		}
	}
	if slavesGiven {
		key := strings.ToLower(m.UserID)
		for _, a := range m.Slaves {
			delete(s.aliases, strings.ToLower(a))
		}
		for _, a := range next.Slaves {
			s.aliases[strings.ToLower(a)] = key
		}
	}
	m.Member = next
	s.stats.Writes++
	if passwordSet {
		s.stats.PasswordsSet++
	}
	return reply(CodeOK, "updated")
}

func (s *Server) batchCheck(_ url.Values, body map[string]json.RawMessage) envelope {
	var list []string
	if err := json.Unmarshal(body["userlist"], &list); err != nil || len(list) == 0 {
		return reply(CodeBadParam, "invalid userlist")
	}
	if len(list) > MaxBatchCheck {
		return reply(CodeBadParam, fmt.Sprintf("userlist exceeds limit: at most %d", MaxBatchCheck))
	}
	out := []envelope{}
	for _, u := range list {
		t := -1
		if at := strings.LastIndex(u, "@"); at > 0 && at < len(u)-1 {
			t = s.takenLocked(strings.ToLower(u))
		}
		out = append(out, envelope{"user": u, "type": t})
	}
	e := reply(CodeOK, "ok")
	e["list"] = out
	return e
}

// bodyMember finds the member named by a POST body's userid.
func (s *Server) bodyMember(body map[string]json.RawMessage) (*member, envelope) {
	var userid string
	_ = json.Unmarshal(body["userid"], &userid)
	m, ok := s.members[strings.ToLower(strings.TrimSpace(userid))]
	if !ok {
		return nil, reply(CodeUserNotFound, "userid not found")
	}
	return m, nil
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (s *Server) optionGet(_ url.Values, body map[string]json.RawMessage) envelope {
	m, notFound := s.bodyMember(body)
	if notFound != nil {
		return notFound
	}
	var types []int
	if err := json.Unmarshal(body["type"], &types); err != nil || len(types) == 0 {
		return reply(CodeBadParam, "invalid type")
	}
	opts := []envelope{}
	for _, t := range types {
		var v bool
		switch t {
		case 1:
			v = m.ForceSecure
		case 2:
			v = m.IMAP
		case 3:
			v = m.POP
		case 4:
			v = m.SecureLogin
		default:
			return reply(CodeBadParam, fmt.Sprintf("invalid type %d", t))
		}
		opts = append(opts, envelope{"type": t, "value": boolString(v)})
	}
	e := reply(CodeOK, "ok")
	e["option"] = opts
	return e
}

func (s *Server) optionUpdate(_ url.Values, body map[string]json.RawMessage) envelope {
	m, notFound := s.bodyMember(body)
	if notFound != nil {
		return notFound
	}
	var opts []struct {
		Type  int             `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body["option"], &opts); err != nil || len(opts) == 0 {
		return reply(CodeBadParam, "invalid option")
	}
	next := m.Member
	for _, o := range opts {
		v, ok := intOrString(o.Value)
		if !ok || (v != 0 && v != 1) {
			return reply(CodeBadParam, "invalid value")
		}
		switch o.Type {
		case 1:
			next.ForceSecure = v == 1
		case 2:
			if v == 1 && !next.IMAP {
				s.stats.IMAPSwitchedOn++
			}
			next.IMAP = v == 1
		case 3:
			next.POP = v == 1
		case 4:
			// "是否启用安全登录，不可用": read-only. Ignored (whether the service errors instead is
			// UNCONFIRMED).
		default:
			return reply(CodeBadParam, fmt.Sprintf("invalid type %d", o.Type))
		}
	}
	m.Member = next
	s.stats.Writes++
	return reply(CodeOK, "update") // sic: the documented errmsg of useroption/update
}

func (s *Server) logLogin(_ url.Values, body map[string]json.RawMessage) envelope {
	m, notFound := s.bodyMember(body)
	if notFound != nil {
		return notFound
	}
	var begin, end string
	_ = json.Unmarshal(body["begin_date"], &begin)
	_ = json.Unmarshal(body["end_date"], &end)
	b, err1 := time.ParseInLocation(time.DateOnly, begin, shanghai)
	e, err2 := time.ParseInLocation(time.DateOnly, end, shanghai)
	if err1 != nil || err2 != nil || e.Before(b) {
		return reply(CodeBadParam, "invalid begin_date or end_date")
	}
	if e.Sub(b) > time.Duration(s.opts.LogRangeDays)*24*time.Hour {
		return reply(CodeLogRange, "query time range exceeds limit")
	}
	list := []LoginEntry{}
	for _, l := range m.logins {
		if l.Time >= b.Unix() && l.Time < e.Add(24*time.Hour).Unix() {
			list = append(list, l)
		}
	}
	out := reply(CodeOK, "ok")
	out["list"] = list
	return out
}

// shanghai is China Standard Time, the zone of the log dates.
var shanghai = time.FixedZone("CST", 8*3600)
