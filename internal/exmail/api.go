package exmail

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RootDepartment is the root department's id (its parentid is 0).
const RootDepartment int64 = 1

// Department is one department. Ids are 64-bit integers ("id为64位整型数"); they are decoded
// exactly, never through float64.
type Department struct {
	ID       int64
	Name     string
	ParentID int64
	Order    int64
	// Path is the department's names from below the root, joined by "/" ("研发中心/平台组").
	Path string
}

// Flex is a number the API sends either as a JSON number or as a string ("1" vs 1).
type Flex string

// UnmarshalJSON accepts 1, "1", null.
func (f *Flex) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*f = ""
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = Flex(strings.TrimSpace(v))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = Flex(n.String())
	return nil
}

// Member is one member as user/get and user/list return it.
type Member struct {
	UserID     string
	Name       string
	Department []int64
	Position   string
	Mobile     string
	Tel        string
	ExtID      string
	Gender     string
	Aliases    []string // slaves
	Enabled    bool
	CpwdLogin  bool
}

type wireMember struct {
	UserID     string        `json:"userid"`
	Name       string        `json:"name"`
	Department []json.Number `json:"department"`
	Position   string        `json:"position"`
	Mobile     string        `json:"mobile"`
	Tel        string        `json:"tel"`
	ExtID      Flex          `json:"extid"`
	Gender     Flex          `json:"gender"`
	Slaves     []string      `json:"slaves"`
	Enable     *Flex         `json:"enable"`
	CpwdLogin  Flex          `json:"cpwd_login"`
}

func parseID(n json.Number) (int64, error) {
	return strconv.ParseInt(n.String(), 10, 64)
}

func (w wireMember) member() (Member, error) {
	m := Member{UserID: strings.TrimSpace(w.UserID), Name: w.Name, Position: w.Position, Mobile: w.Mobile, Tel: w.Tel,
		ExtID: string(w.ExtID), Gender: string(w.Gender), Aliases: w.Slaves, Enabled: true, CpwdLogin: w.CpwdLogin == "1"}
	if w.Enable != nil {
		m.Enabled = *w.Enable != "0"
	}
	for _, d := range w.Department {
		id, err := parseID(d)
		if err != nil {
			return m, fmt.Errorf("member %s: department id %q: %w", m.UserID, d.String(), err)
		}
		m.Department = append(m.Department, id)
	}
	return m, nil
}

// Departments lists the department id and everything below it (department/list), with paths.
//
// The documented wording, "获取指定部门及其下的子部门", does not say whether the answer is one
// level or the whole subtree (UNCONFIRMED). The client works with both: when an answer holds
// only direct children it asks again for each child; when it holds deeper descendants it knows
// the answer was the whole subtree and stops.
func (c *Client) Departments(ctx context.Context, id int64) ([]Department, error) {
	if id == 0 {
		id = RootDepartment
	}
	byID := map[int64]*Department{}
	queue := []int64{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		list, err := c.departmentList(ctx, cur)
		if err != nil {
			return nil, err
		}
		deep := false
		var children []int64
		for _, d := range list {
			if d.ID == cur {
				if _, ok := byID[d.ID]; !ok && d.ID != RootDepartment {
					dd := d
					byID[d.ID] = &dd
				}
				continue
			}
			if d.ParentID != cur {
				deep = true
			}
			if _, ok := byID[d.ID]; !ok {
				dd := d
				byID[d.ID] = &dd
				children = append(children, d.ID)
			}
		}
		if !deep {
			queue = append(queue, children...)
		}
	}
	// Paths from the parent chain; a chain that leaves the listed set stops at the requested id.
	out := make([]Department, 0, len(byID))
	for _, d := range byID {
		var names []string
		seen := map[int64]bool{}
		for p := d; p != nil && !seen[p.ID]; p = byID[p.ParentID] {
			seen[p.ID] = true
			names = append([]string{p.Name}, names...)
		}
		d.Path = strings.Join(names, "/")
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (c *Client) departmentList(ctx context.Context, id int64) ([]Department, error) {
	var out struct {
		Department []struct {
			ID       json.Number `json:"id"`
			Name     string      `json:"name"`
			ParentID json.Number `json:"parentid"`
			Order    json.Number `json:"order"`
		} `json:"department"`
	}
	q := url.Values{"id": {strconv.FormatInt(id, 10)}}
	if err := c.call(ctx, Contacts, http.MethodGet, "/cgi-bin/department/list", q, nil, &out); err != nil {
		return nil, err
	}
	list := make([]Department, 0, len(out.Department))
	for _, d := range out.Department {
		did, err := parseID(d.ID)
		if err != nil {
			return nil, fmt.Errorf("exmail department/list: id %q: %w", d.ID.String(), err)
		}
		pid, err := parseID(d.ParentID)
		if err != nil && d.ParentID != "" {
			return nil, fmt.Errorf("exmail department/list: parentid %q: %w", d.ParentID.String(), err)
		}
		order, _ := strconv.ParseInt(d.Order.String(), 10, 64)
		list = append(list, Department{ID: did, Name: d.Name, ParentID: pid, Order: order})
	}
	return list, nil
}

// Members lists the members of a department (user/list), with fetchChild those of every
// department below it too; a member in several departments appears once.
func (c *Client) Members(ctx context.Context, department int64, fetchChild bool) ([]Member, error) {
	var out struct {
		UserList []wireMember `json:"userlist"`
	}
	if err := c.call(ctx, Contacts, http.MethodGet, "/cgi-bin/user/list", listQuery(department, fetchChild), nil, &out); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	list := make([]Member, 0, len(out.UserList))
	for _, w := range out.UserList {
		m, err := w.member()
		if err != nil {
			return nil, err
		}
		if k := strings.ToLower(m.UserID); !seen[k] {
			seen[k] = true
			list = append(list, m)
		}
	}
	return list, nil
}

// SimpleMember is a user/simplelist item.
type SimpleMember struct {
	UserID     string
	Name       string
	Department []int64
}

// SimpleMembers lists addresses, names and departments only (user/simplelist).
func (c *Client) SimpleMembers(ctx context.Context, department int64, fetchChild bool) ([]SimpleMember, error) {
	var out struct {
		UserList []wireMember `json:"userlist"`
	}
	if err := c.call(ctx, Contacts, http.MethodGet, "/cgi-bin/user/simplelist", listQuery(department, fetchChild), nil, &out); err != nil {
		return nil, err
	}
	list := make([]SimpleMember, 0, len(out.UserList))
	for _, w := range out.UserList {
		m, err := w.member()
		if err != nil {
			return nil, err
		}
		list = append(list, SimpleMember{UserID: m.UserID, Name: m.Name, Department: m.Department})
	}
	return list, nil
}

func listQuery(department int64, fetchChild bool) url.Values {
	if department == 0 {
		department = RootDepartment
	}
	q := url.Values{"department_id": {strconv.FormatInt(department, 10)}, "fetch_child": {"0"}}
	if fetchChild {
		q.Set("fetch_child", "1")
	}
	return q
}

// Member reads one member (user/get).
func (c *Client) Member(ctx context.Context, userid string) (*Member, error) {
	var w wireMember
	if err := c.call(ctx, Contacts, http.MethodGet, "/cgi-bin/user/get", url.Values{"userid": {userid}}, nil, &w); err != nil {
		return nil, err
	}
	m, err := w.member()
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// Address kinds of BatchCheck.
const (
	AddressInvalid = -1
	AddressFree    = 0
	AddressAccount = 1
	AddressAlias   = 2
	AddressGroup   = 3
)

// BatchCheck tells, for each address, what holds it (user/batchcheck; at most 20 per request,
// so longer lists are sent in parts). Keys are the addresses as given.
func (c *Client) BatchCheck(ctx context.Context, addresses []string) (map[string]int, error) {
	out := map[string]int{}
	for start := 0; start < len(addresses); start += 20 {
		part := addresses[start:min(start+20, len(addresses))]
		var res struct {
			List []struct {
				User string `json:"user"`
				Type Flex   `json:"type"`
			} `json:"list"`
		}
		if err := c.call(ctx, Contacts, http.MethodPost, "/cgi-bin/user/batchcheck", nil, map[string]any{"userlist": part}, &res); err != nil {
			return nil, err
		}
		for _, it := range res.List {
			t, err := strconv.Atoi(string(it.Type))
			if err != nil {
				return nil, fmt.Errorf("exmail user/batchcheck: type %q of %s", it.Type, it.User)
			}
			out[it.User] = t
		}
	}
	return out, nil
}

// MemberUpdate is a user/update; nil fields are left unchanged.
type MemberUpdate struct {
	UserID string
	// Password is sent only when set; it is never logged.
	Password *string
	// CpwdLogin = true makes the member choose a new password at the next login.
	CpwdLogin *bool
	Aliases   *[]string
	Enabled   *bool
}

// UpdateMember changes a member (user/update). Fields not given keep their values.
func (c *Client) UpdateMember(ctx context.Context, u MemberUpdate) error {
	body := map[string]any{"userid": u.UserID}
	if u.Password != nil {
		body["password"] = *u.Password
	}
	if u.CpwdLogin != nil {
		body["cpwd_login"] = boolInt(*u.CpwdLogin)
	}
	if u.Aliases != nil {
		a := *u.Aliases
		if a == nil {
			a = []string{}
		}
		body["slaves"] = a
	}
	if u.Enabled != nil {
		body["enable"] = boolInt(*u.Enabled)
	}
	return c.call(ctx, Contacts, http.MethodPost, "/cgi-bin/user/update", nil, body, nil)
}

// SetPassword sets a member's password; with mustChange (cpwd_login = 1) the member has to choose
// a new one at the next login. New-edition tenants refuse (or, UNCONFIRMED, ignore) it for
// members bound to WeChat or a phone: only a login proves that the password took.
func (c *Client) SetPassword(ctx context.Context, userid, password string, mustChange bool) error {
	return c.UpdateMember(ctx, MemberUpdate{UserID: userid, Password: &password, CpwdLogin: &mustChange})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Option types of useroption.
const (
	OptionForceSecureLogin = 1 // 强制启用安全登录
	OptionIMAP             = 2 // IMAP/SMTP服务
	OptionPOP              = 3 // POP/SMTP服务
	OptionSecureLogin      = 4 // 是否启用安全登录 (read-only)
)

// UserOptions reads the given option types (useroption/get); values are true for "1".
func (c *Client) UserOptions(ctx context.Context, userid string, types ...int) (map[int]bool, error) {
	if len(types) == 0 {
		types = []int{OptionForceSecureLogin, OptionIMAP, OptionPOP, OptionSecureLogin}
	}
	var out struct {
		Option []struct {
			Type  Flex `json:"type"`
			Value Flex `json:"value"`
		} `json:"option"`
	}
	if err := c.call(ctx, Options, http.MethodPost, "/cgi-bin/useroption/get", nil, map[string]any{"userid": userid, "type": types}, &out); err != nil {
		return nil, err
	}
	res := map[int]bool{}
	for _, o := range out.Option {
		t, err := strconv.Atoi(string(o.Type))
		if err != nil {
			return nil, fmt.Errorf("exmail useroption/get: type %q", o.Type)
		}
		res[t] = o.Value == "1"
	}
	return res, nil
}

// SetUserOptions changes option types 1 to 3 (useroption/update); values are sent as "1"/"0".
func (c *Client) SetUserOptions(ctx context.Context, userid string, values map[int]bool) error {
	keys := make([]int, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	opts := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		v := "0"
		if values[k] {
			v = "1"
		}
		opts = append(opts, map[string]any{"type": k, "value": v})
	}
	return c.call(ctx, Options, http.MethodPost, "/cgi-bin/useroption/update", nil, map[string]any{"userid": userid, "option": opts}, nil)
}

// SetIMAP switches a member's IMAP/SMTP service.
func (c *Client) SetIMAP(ctx context.Context, userid string, on bool) error {
	return c.SetUserOptions(ctx, userid, map[int]bool{OptionIMAP: on})
}

// LoginEntry is one log/login item.
type LoginEntry struct {
	Time time.Time
	IP   string
	// Type: 1 web, 2 mobile, 3 QQ Mail app, 4 client (IMAP, POP, Exchange alike), 5 other.
	Type int
}

// China Standard Time: log dates are days in China.
var cst = time.FixedZone("CST", 8*3600)

// LoginLog reads a member's logins between two days (log/login), asking in windows of 30 days
// (the service refuses ranges over its limit with 601002; the limit is UNCONFIRMED).
func (c *Client) LoginLog(ctx context.Context, userid string, from, to time.Time) ([]LoginEntry, error) {
	from, to = from.In(cst), to.In(cst)
	var list []LoginEntry
	for start := from; !start.After(to); start = start.AddDate(0, 0, 30) {
		end := start.AddDate(0, 0, 29)
		if end.After(to) {
			end = to
		}
		var out struct {
			List []struct {
				Time json.Number `json:"time"`
				IP   string      `json:"ip"`
				Type Flex        `json:"type"`
			} `json:"list"`
		}
		body := map[string]any{"userid": userid, "begin_date": start.Format(time.DateOnly), "end_date": end.Format(time.DateOnly)}
		if err := c.call(ctx, Log, http.MethodPost, "/cgi-bin/log/login", nil, body, &out); err != nil {
			return nil, err
		}
		for _, it := range out.List {
			sec, _ := strconv.ParseInt(it.Time.String(), 10, 64)
			t, _ := strconv.Atoi(string(it.Type))
			list = append(list, LoginEntry{Time: time.Unix(sec, 0).UTC(), IP: it.IP, Type: t})
		}
	}
	return list, nil
}
