package provider

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exmail"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

var _ datasource.DataSourceWithConfigure = (*exmailDirectoryDataSource)(nil)

// NewExmailDirectoryDataSource is the m365_exmail_directory data source.
func NewExmailDirectoryDataSource() datasource.DataSource { return &exmailDirectoryDataSource{} }

type exmailDirectoryDataSource struct{ clients *Clients }

type exmailDirectoryModel struct {
	DepartmentFilter types.List   `tfsdk:"department_filter"`
	Domain           types.String `tfsdk:"domain"`
	Defaults         types.Map    `tfsdk:"defaults"`
	IncludeDisabled  types.Bool   `tfsdk:"include_disabled"`
	ReadOptions      types.Bool   `tfsdk:"read_options"`
	ReadLastLogin    types.Bool   `tfsdk:"read_last_login"`
	MigrationMembers types.List   `tfsdk:"migration_members"`
	Members          types.List   `tfsdk:"members"`
	Departments      types.List   `tfsdk:"departments"`
	Users            types.Map    `tfsdk:"users"`
	MailboxMap       types.Map    `tfsdk:"mailbox_map"`
}

var exmailMemberAttrTypes = map[string]attr.Type{
	"address": types.StringType, "user_principal_name": types.StringType, "name": types.StringType,
	"department_paths": types.ListType{ElemType: types.StringType}, "position": types.StringType, "mobile": types.StringType,
	"enabled": types.BoolType, "aliases": types.ListType{ElemType: types.StringType},
	"imap_enabled": types.BoolType, "secure_login": types.BoolType, "force_secure_login": types.BoolType,
	"last_client_login": types.StringType,
}

var exmailDepartmentAttrTypes = map[string]attr.Type{
	"id": types.StringType, "name": types.StringType, "path": types.StringType, "parent_id": types.StringType,
}

func (d *exmailDirectoryDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_exmail_directory"
}

func (d *exmailDirectoryDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(doc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: doc}
	}
	strList := func(doc string) schema.ListAttribute {
		return schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: doc}
	}
	boolean := func(doc string) schema.BoolAttribute {
		return schema.BoolAttribute{Computed: true, MarkdownDescription: doc}
	}
	memberAttrs := map[string]schema.Attribute{
		"address":             str("The member's primary address (`userid`), the IMAP user name."),
		"user_principal_name": str("The Microsoft 365 user name: `address`, with its domain rewritten when `domain` is set."),
		"name":                str("The member's name (姓名)."),
		"department_paths":    strList("The member's departments as paths below the root, e.g. `研发中心/平台组`."),
		"position":            str("Position (职务)."),
		"mobile":              str("Mobile phone (手机)."),
		"enabled":             boolean("Whether the account is enabled (`enable`)."),
		"aliases":             strList("The member's aliases (别名, `slaves`; at most 5)."),
		"imap_enabled":        boolean("Whether IMAP/SMTP is on (功能设置 type 2). Null when `read_options` is false."),
		"secure_login":        boolean("Whether the member turned 安全登录 on (type 4): IMAP then takes only a 客户端专用密码. Null when `read_options` is false."),
		"force_secure_login":  boolean("Whether the administrator forces 安全登录 (type 1). Null when `read_options` is false."),
		"last_client_login":   str("With `read_last_login`: the time (RFC 3339) of the member's last client login (IMAP, POP or Exchange; Exmail's log does not tell them apart) in the last 30 days, empty when none. Null otherwise."),
	}
	userAttrs := sourceUserAttrs("The member's position in the address book (1-based), in place of a CSV line.",
		exmailAttrSource, "Null when the address book gives no value.")
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the Tencent Exmail (腾讯企业邮箱) address book through Exmail's open API: members with their departments, aliases, " +
			"IMAP state and 安全登录 state, and the departments. `users` has exactly the shape of `m365_users_csv`'s `users`, so it feeds " +
			"`m365_users` or `for_each` over `m365_user` unchanged; `mailbox_map` feeds `m365_exmail_imap_access` and the Exmail credentials " +
			"of `m365_migration_batch`. Read at plan time.",
		Attributes: map[string]schema.Attribute{
			"department_filter": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Only members of these departments (paths such as `研发中心/平台组`, or a department's name when it is unique) or any department below them. Default: every member."},
			"domain": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Rewrites the domain of the user names in `users` and `mailbox_map` (`zhang.san@old.com` becomes `zhang.san@<domain>`), as `m365_users_csv`'s `domain` does, e.g. for a staging tenant."},
			"defaults": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Attribute name → value for `users` where the address book gives none, e.g. `{ usage_location = \"CN\" }` (as `m365_users_csv`'s `defaults`)."},
			"include_disabled": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Also put disabled members in `users` and `mailbox_map`. Default `false` (they are always in `members`)."},
			"read_options": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Read each member's IMAP and 安全登录 state (one 功能设置 request per member; needs `options_secret`). Default `true`."},
			"read_last_login": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Read each member's login log of the last 30 days (系统日志 `log/login`, one request per member; needs `log_secret`) into `members[*].last_client_login`, e.g. to see whether Microsoft's migration has logged in. Default `false`."},
			"migration_members": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Exmail addresses that are about to be migrated: the read fails, naming each one with the fix, unless every one exists, is enabled and has IMAP on."},
			"members": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Every member (of the filtered departments), sorted by address.",
				NestedObject: schema.NestedAttributeObject{Attributes: memberAttrs}},
			"departments": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Every department below the root, sorted by path.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":        str("The department id, a 64-bit integer written in decimal (a string, so that no tool rounds it)."),
					"name":      str("The department's name."),
					"path":      str("Names from below the root, joined by `/`."),
					"parent_id": str("The parent's id (`1` for the root)."),
				}}},
			"users": schema.MapAttribute{Computed: true, ElementType: csvUserObjectType,
				MarkdownDescription: "The members as Microsoft 365 users, keyed by user principal name, exactly as `m365_users_csv` builds them from an Exmail export: " +
					"`display_name` from 姓名, `department` from the last part of the first department path, `job_title` from 职务, `mobile_phone`, `business_phones` from 电话, `employee_id` from 编号. " +
					"Each user is an object of:" + attrsDoc(userAttrs)},
			"mailbox_map": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Microsoft 365 user name → Exmail address, for every member in `users`: the `EmailAddress` → `UserName` of the IMAP migration."},
		},
	}
}

func (d *exmailDirectoryDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// exmailDirectory is the address book as read.
type exmailDirectory struct {
	departments []exmail.Department
	byID        map[int64]exmail.Department
	members     []exmail.Member
}

func (dir *exmailDirectory) paths(m exmail.Member) []string {
	var out []string
	for _, id := range m.Department {
		if dep, ok := dir.byID[id]; ok {
			out = append(out, dep.Path)
		}
	}
	return out
}

func readExmailDirectory(ctx context.Context, c *exmail.Client) (*exmailDirectory, error) {
	deps, err := c.Departments(ctx, exmail.RootDepartment)
	if err != nil {
		return nil, err
	}
	members, err := c.Members(ctx, exmail.RootDepartment, true)
	if err != nil {
		return nil, err
	}
	dir := &exmailDirectory{departments: deps, byID: map[int64]exmail.Department{}, members: members}
	for _, dep := range deps {
		dir.byID[dep.ID] = dep
	}
	return dir, nil
}

func (d *exmailDirectoryDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m exmailDirectoryModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || d.clients == nil {
		return
	}
	readOptions := m.ReadOptions.IsNull() || m.ReadOptions.ValueBool()
	apps := []exmail.App{exmail.Contacts}
	if readOptions || len(listStrings(m.MigrationMembers)) > 0 {
		apps = append(apps, exmail.Options)
	}
	if m.ReadLastLogin.ValueBool() {
		apps = append(apps, exmail.Log)
	}
	c := d.clients.exmailClient(&resp.Diagnostics, "reading the Tencent Exmail address book", apps...)
	if c == nil {
		return
	}
	dir, err := readExmailDirectory(ctx, c)
	if err != nil {
		exmailAPIError(&resp.Diagnostics, "Cannot Read Exmail Address Book", "reading the Tencent Exmail address book (department/list, user/list)", err)
		return
	}
	tflog.Info(ctx, "read the Exmail address book", map[string]any{"departments": len(dir.departments), "members": len(dir.members)})

	// Department filter: every given path (or unique name) must exist.
	members := dir.members
	if filter := listStrings(m.DepartmentFilter); len(filter) > 0 {
		var prefixes, unknown []string
		for i, f := range filter {
			f = strings.Trim(strings.TrimSpace(f), "/")
			var match []string
			for _, dep := range dir.departments {
				if dep.Path == f || (!strings.Contains(f, "/") && dep.Name == f) {
					match = append(match, dep.Path)
				}
			}
			switch len(match) {
			case 1:
				prefixes = append(prefixes, match[0])
			case 0:
				unknown = append(unknown, f)
			default:
				resp.Diagnostics.AddAttributeError(path.Root("department_filter").AtListIndex(i), "Ambiguous Exmail Department",
					fmt.Sprintf("While filtering the Exmail address book, %q names %d departments: %s.\n\nGive the full path instead.", f, len(match), strings.Join(match, ", ")))
			}
		}
		if len(unknown) > 0 {
			var known []string
			for _, dep := range dir.departments {
				known = append(known, dep.Path)
			}
			resp.Diagnostics.AddAttributeError(path.Root("department_filter"), "Unknown Exmail Department",
				diagtext.Detail("filtering the Tencent Exmail address book by department",
					fmt.Sprintf("no department has the path %s (department/list returned %d departments)", quoteList(unknown), len(dir.departments)),
					"Use one of the existing paths: "+strings.Join(known, ", ")+"."))
		}
		if resp.Diagnostics.HasError() {
			return
		}
		var kept []exmail.Member
		for _, mem := range members {
			if inDepartments(dir.paths(mem), prefixes) {
				kept = append(kept, mem)
			}
		}
		members = kept
	}

	// The plan-time readiness check of migration_members.
	if check := listStrings(m.MigrationMembers); len(check) > 0 {
		if !checkExmailMigrationRows(ctx, d.clients, check, path.Root("migration_members"), &resp.Diagnostics) {
			return
		}
	}

	var opts map[string]map[int]bool
	if readOptions {
		opts = map[string]map[int]bool{}
		for _, mem := range members {
			o, err := c.UserOptions(ctx, mem.UserID, exmail.OptionForceSecureLogin, exmail.OptionIMAP, exmail.OptionSecureLogin)
			if err != nil {
				exmailAPIError(&resp.Diagnostics, "Cannot Read Exmail Member Options", "reading the IMAP and 安全登录 state of "+mem.UserID+" (useroption/get)", err)
				return
			}
			opts[strings.ToLower(mem.UserID)] = o
		}
	}

	var lastLogin map[string]string
	if m.ReadLastLogin.ValueBool() {
		lastLogin = map[string]string{}
		now := time.Now()
		for _, mem := range members {
			log, err := c.LoginLog(ctx, mem.UserID, now.AddDate(0, 0, -30), now)
			if err != nil {
				exmailAPIError(&resp.Diagnostics, "Cannot Read Exmail Login Log", "reading the login log of "+mem.UserID+" (log/login)", err)
				return
			}
			var last time.Time
			for _, l := range log {
				if l.Type == 4 && l.Time.After(last) {
					last = l.Time
				}
			}
			if !last.IsZero() {
				lastLogin[strings.ToLower(mem.UserID)] = last.UTC().Format(time.RFC3339)
			}
		}
	}

	users, upnOf, problems := exmailUsers(dir, members, m.IncludeDisabled.ValueBool(), m.Domain.ValueString(), stringMap(m.Defaults))
	for _, p := range problems {
		resp.Diagnostics.AddAttributeError(p.path, "Invalid Exmail Member For Microsoft 365", p.text)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	memberVals := make([]attr.Value, 0, len(members))
	for _, mem := range members {
		o := opts[strings.ToLower(mem.UserID)]
		optBool := func(t int) types.Bool {
			if o == nil {
				return types.BoolNull()
			}
			return types.BoolValue(o[t])
		}
		upn := upnOf[strings.ToLower(mem.UserID)]
		if upn == "" {
			upn = rewriteDomain(mem.UserID, m.Domain.ValueString())
		}
		memberVals = append(memberVals, types.ObjectValueMust(exmailMemberAttrTypes, map[string]attr.Value{
			"address": types.StringValue(mem.UserID), "user_principal_name": types.StringValue(upn), "name": types.StringValue(mem.Name),
			"department_paths": stringList(append([]string{}, dir.paths(mem)...)), "position": types.StringValue(mem.Position),
			"mobile": types.StringValue(mem.Mobile), "enabled": types.BoolValue(mem.Enabled), "aliases": stringList(append([]string{}, mem.Aliases...)),
			"imap_enabled": optBool(exmail.OptionIMAP), "secure_login": optBool(exmail.OptionSecureLogin), "force_secure_login": optBool(exmail.OptionForceSecureLogin),
			"last_client_login": lastLoginValue(lastLogin, mem.UserID),
		}))
	}
	depVals := make([]attr.Value, 0, len(dir.departments))
	for _, dep := range dir.departments {
		depVals = append(depVals, types.ObjectValueMust(exmailDepartmentAttrTypes, map[string]attr.Value{
			"id": types.StringValue(strconv.FormatInt(dep.ID, 10)), "name": types.StringValue(dep.Name), "path": types.StringValue(dep.Path),
			"parent_id": types.StringValue(strconv.FormatInt(dep.ParentID, 10)),
		}))
	}
	original := map[string]string{}
	for _, mem := range members {
		original[strings.ToLower(mem.UserID)] = mem.UserID
	}
	mailboxes := map[string]attr.Value{}
	for addr, upn := range upnOf {
		mailboxes[upn] = types.StringValue(original[addr])
	}
	m.Members = types.ListValueMust(types.ObjectType{AttrTypes: exmailMemberAttrTypes}, memberVals)
	m.Departments = types.ListValueMust(types.ObjectType{AttrTypes: exmailDepartmentAttrTypes}, depVals)
	m.MailboxMap = types.MapValueMust(types.StringType, mailboxes)
	m.Users = types.MapNull(csvUserObjectType)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// users goes in as a raw value, built by the same conversion as m365_users_csv's.
	var raw map[string]tftypes.Value
	if err := resp.State.Raw.As(&raw); err != nil {
		diagtext.Bug(&resp.Diagnostics, "reading the state", err)
		return
	}
	raw["users"] = csvUsersValue(users)
	resp.State.Raw = tftypes.NewValue(resp.State.Raw.Type(), raw)
}

func lastLoginValue(m map[string]string, addr string) types.String {
	if m == nil {
		return types.StringNull()
	}
	return types.StringValue(m[strings.ToLower(addr)])
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// inDepartments tells whether any of paths is one of prefixes or below one.
func inDepartments(paths, prefixes []string) bool {
	for _, p := range paths {
		for _, pre := range prefixes {
			if p == pre || strings.HasPrefix(p, pre+"/") {
				return true
			}
		}
	}
	return false
}

// rewriteDomain replaces the domain of an address (for messages only; users go through usercsv).
func rewriteDomain(addr, domain string) string {
	domain = strings.TrimPrefix(strings.TrimSpace(domain), "@")
	if domain == "" {
		return addr
	}
	local, _, _ := strings.Cut(addr, "@")
	return local + "@" + domain
}

type exmailUserProblem struct {
	path path.Path
	text string
}

// exmailColumns are the columns of the Exmail export exmailUsers writes, each with the member
// field (https://exmail.qq.com/qy_mng_logic/doc#10001) that fills it.
var exmailColumns = []struct {
	header, field string
	value         func(dir *exmailDirectory, m exmail.Member) string
}{
	{"帐号", "userid", func(_ *exmailDirectory, m exmail.Member) string { return m.UserID }},
	{"姓名", "name", func(_ *exmailDirectory, m exmail.Member) string { return m.Name }},
	{"部门", "department", func(dir *exmailDirectory, m exmail.Member) string {
		if ps := dir.paths(m); len(ps) > 0 {
			return ps[0]
		}
		return ""
	}},
	{"职务", "position", func(_ *exmailDirectory, m exmail.Member) string { return m.Position }},
	{"手机", "mobile", func(_ *exmailDirectory, m exmail.Member) string { return m.Mobile }},
	{"电话", "tel", func(_ *exmailDirectory, m exmail.Member) string { return m.Tel }},
	{"编号", "extid", func(_ *exmailDirectory, m exmail.Member) string { return m.ExtID }},
	{"别名", "slaves", func(_ *exmailDirectory, m exmail.Member) string { return strings.Join(m.Aliases, ";") }},
}

// exmailAttrSource says which member field gives attribute a.
func exmailAttrSource(a userattr.Attr) string {
	for _, c := range exmailColumns {
		if slices.Contains(a.ExmailHeaders, c.header) {
			return "From the member's `" + c.field + "`."
		}
	}
	return ""
}

// exmailUsers turns members into m365_users_csv users through the same reader as an Exmail
// address-book export (usercsv's "exmail" preset): the same column meanings, domain rewrite,
// defaults and Microsoft Graph checks. It returns the users, each member's user principal name
// (lower-case address → UPN) and the problems, each naming the member.
func exmailUsers(dir *exmailDirectory, members []exmail.Member, includeDisabled bool, domain string, defaults map[string]string) ([]usercsv.User, map[string]string, []exmailUserProblem) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	row := make([]string, len(exmailColumns))
	for i, c := range exmailColumns {
		row[i] = c.header
	}
	_ = w.Write(row)
	var rows []exmail.Member
	clean := strings.NewReplacer("\r", " ", "\n", " ")
	for _, mem := range members {
		if !mem.Enabled && !includeDisabled {
			continue
		}
		for i, c := range exmailColumns {
			row[i] = clean.Replace(c.value(dir, mem))
		}
		_ = w.Write(row)
		rows = append(rows, mem)
	}
	w.Flush()
	upnOf := map[string]string{}
	if len(rows) == 0 {
		return nil, upnOf, nil
	}
	res, err := usercsv.ParseUsers(buf.Bytes(), usercsv.UserOptions{Name: "exmail", Format: usercsv.FormatExmail, Encoding: "utf-8", Domain: domain, Defaults: defaults})
	if err != nil {
		var out []exmailUserProblem
		for _, e := range usercsv.OptionErrors(err) {
			out = append(out, exmailUserProblem{path: path.Root(e.Option), text: "While converting the Exmail members to Microsoft 365 users: " + e.Message})
		}
		return nil, upnOf, out
	}
	memberAt := func(line int) (exmail.Member, bool) {
		i := line - 2 // line 1 is the header; no cell holds a line break
		if i < 0 || i >= len(rows) {
			return exmail.Member{}, false
		}
		return rows[i], true
	}
	var problems []exmailUserProblem
	for _, p := range res.Problems {
		who := "the address book"
		if mem, ok := memberAt(p.Line); ok {
			who = "member " + mem.UserID
		}
		problems = append(problems, exmailUserProblem{path: path.Root("users"),
			text: fmt.Sprintf("While converting the Exmail address book to Microsoft 365 users, %s cannot be used: %s — %s", who, p.Message, p.Fix)})
	}
	for i := range res.Users {
		u := &res.Users[i]
		if mem, ok := memberAt(u.Line); ok {
			upnOf[strings.ToLower(mem.UserID)] = u.UPN()
			u.Line -= 1 // position in the address book
		}
	}
	return res.Users, upnOf, problems
}
