package provider

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

var (
	_ datasource.DataSource                     = (*usersCSVDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*usersCSVDataSource)(nil)
)

// NewUsersCSVDataSource is the m365_users_csv data source.
func NewUsersCSVDataSource() datasource.DataSource { return &usersCSVDataSource{} }

// usersCSVDataSource reads a user CSV at plan time. It makes no API call at all, so its users map
// is known during plan and can feed for_each or m365_users.
type usersCSVDataSource struct{}

type usersCSVModel struct {
	Path     types.String `tfsdk:"path"`
	Content  types.String `tfsdk:"content"`
	Format   types.String `tfsdk:"format"`
	Encoding types.String `tfsdk:"encoding"`
	Domain   types.String `tfsdk:"domain"`
	Columns  types.Map    `tfsdk:"columns"`
	Defaults types.Map    `tfsdk:"defaults"`
	Users    types.Map    `tfsdk:"users"`
}

// maxCSVDiagnostics bounds the diagnostics of one file; the rest are summarised in one more.
const maxCSVDiagnostics = 1000

func (d *usersCSVDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_users_csv"
}

func (d *usersCSVDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	userAttrs := sourceUserAttrs("The line of the file where the user's row starts.", csvAttrSource, "Null when the file gives no value.")
	encodings := append(usercsv.Encodings(), "utf8", "utf-16le", "utf-16be", "gbk", "gb2312")
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a list of users from a CSV file — the admin centre's *Add multiple users* template, a Tencent Exmail " +
			"(腾讯企业邮箱) address-book export, or any CSV with a column map — in UTF-8, UTF-16 or GB18030, and checks every row against " +
			"the Microsoft Graph rules for creating users. Every problem of the file is reported in the same plan, each as " +
			"`file:line:column: problem — fix`. The file is read at plan time without any API call, so `users` can feed `for_each` or `m365_users`.",
		Attributes: map[string]schema.Attribute{
			"path": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Path of the CSV file, e.g. `\"${path.module}/users.csv\"`. Exactly one of `path` and `content` is required. Use `path` for files that are not UTF-8 (an Exmail export saved as GB18030).",
			},
			"content": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The CSV text itself (Terraform strings are UTF-8). Problems are reported against the name `content`.",
			},
			"format": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "`auto` (default), `m365` (the admin-centre template: 15 or 16 columns; headers in English by name, in any other language by position), " +
					"`exmail` (Tencent Exmail: 姓名, 帐号/账号/邮箱/邮箱地址, 部门, 职务/职位, 手机, 电话/座机, 编号; other columns ignored) or `custom` (`columns` maps every attribute). " +
					"After reading, the format that was used.",
				Validators: []validator.String{stringvalidator.OneOf(usercsv.FormatAuto, usercsv.FormatM365, usercsv.FormatExmail, usercsv.FormatCustom)},
			},
			"encoding": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "`auto` (default: byte-order mark, then valid UTF-8, then GB18030), `utf-8`, `utf-16` or `gb18030` (`gbk` and `gb2312` are read as GB18030). " +
					"After reading, the encoding that was used: `utf-8`, `utf-8-bom`, `utf-16le`, `utf-16be` or `gb18030`.",
				Validators: []validator.String{stringvalidator.OneOfCaseInsensitive(encodings...)},
			},
			"domain": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Builds user names from bare account names (`zhang.san` becomes `zhang.san@<domain>`) and rewrites the domain of full addresses " +
					"(`zhang.san@old.com` becomes `zhang.san@<domain>`), e.g. to move Exmail accounts to the Microsoft 365 domain.",
			},
			"columns": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Attribute name → header, matched ignoring case and spaces, e.g. `{ user_principal_name = \"Email\", display_name = \"Name\" }`. " +
					"Required for `custom`; with a preset it adds columns or overrides the preset's. Attributes: `" + strings.Join(usercsv.Attributes(), "`, `") + "`.",
			},
			"defaults": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Attribute name → value used when a row leaves it empty, e.g. `{ usage_location = \"CN\", company_name = \"Contoso\" }`. " +
					"`user_principal_name` and `mail_nickname` cannot have defaults.",
			},
			"users": schema.MapAttribute{
				Computed: true,
				MarkdownDescription: "The valid rows, keyed by user principal name, with every attribute Microsoft Graph takes from a CSV. " +
					"`mail_nickname` defaults to the part of the user name before the `@` and `display_name` to first name and last name in the order of their script: `San Zhang` for Latin names, surname first with no space for Chinese, Japanese and Korean ones (`张` + `三` → `张三`, `欧阳` + `修` → `欧阳修`). " +
					"Shaped for `m365_users.users` and for `for_each` over `m365_user`. Each user is an object of:" + attrsDoc(userAttrs),
				// A map of objects, not a map of nested attributes: the framework walks every value of
				// a nested attribute several times against the schema, which made 50,000 rows cost
				// tens of seconds; the values are the same for Terraform.
				ElementType: csvUserObjectType,
			},
		},
	}
}

// csvUserObjectType is the type of one user of m365_users_csv.users (and m365_exmail_directory.users):
// the line and every attribute of the catalogue.
var csvUserObjectType = func() types.ObjectType {
	at := map[string]attr.Type{"line": types.Int64Type}
	for _, a := range userattr.All() {
		at[a.Name] = types.StringType
		if a.Kind == userattr.List {
			at[a.Name] = types.ListType{ElemType: types.StringType}
		}
	}
	return types.ObjectType{AttrTypes: at}
}()

// sourceUserAttrs are the attributes of one user read from a source (a CSV file, the Exmail
// address book), documented from the catalogue: line is what `line` means, where says where a
// value comes from, null what an absent value means.
func sourceUserAttrs(line string, where func(userattr.Attr) string, null string) map[string]schema.Attribute {
	out := map[string]schema.Attribute{"line": schema.Int64Attribute{Computed: true, MarkdownDescription: line}}
	for _, a := range userattr.All() {
		doc := a.Doc
		for _, more := range []string{where(a), null} {
			if more != "" {
				doc += " " + more
			}
		}
		if a.Kind == userattr.List {
			out[a.Name] = schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: doc}
		} else {
			out[a.Name] = schema.StringAttribute{Computed: true, MarkdownDescription: doc}
		}
	}
	return out
}

// csvAttrSource says which CSV columns give attribute a.
func csvAttrSource(a userattr.Attr) string {
	var from []string
	if a.M365Header != "" {
		from = append(from, a.M365Header+" (m365)")
	}
	if len(a.ExmailHeaders) > 0 {
		from = append(from, strings.Join(a.ExmailHeaders, "/")+" (exmail)")
	}
	from = append(from, "a column mapped to `"+a.Name+"`")
	out := "From " + strings.Join(from, ", ") + "."
	if a.Kind == userattr.List && a.Split != "" {
		out += " Several values in one cell are separated by " + splitWords(a.Split) + "."
	}
	return out
}

// splitWords names separators for the documentation.
func splitWords(seps string) string {
	var w []string
	for _, r := range seps {
		switch r {
		case '\n':
			w = append(w, "line breaks")
		case '\r':
		default:
			w = append(w, "`"+string(r)+"`")
		}
	}
	return strings.Join(w, ", ")
}

func (d *usersCSVDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("path"), path.MatchRoot("content")),
	}
}

func (d *usersCSVDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m usersCSVModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var data []byte
	opts := usercsv.UserOptions{
		Format:   m.Format.ValueString(),
		Encoding: m.Encoding.ValueString(),
		Domain:   m.Domain.ValueString(),
		Columns:  stringMap(m.Columns),
		Defaults: stringMap(m.Defaults),
	}
	src := path.Root("content")
	if !m.Path.IsNull() {
		src = path.Root("path")
		opts.Name = m.Path.ValueString()
		b, err := os.ReadFile(opts.Name)
		if err != nil {
			diagtext.AttributeError(&resp.Diagnostics, src, "Cannot Read User CSV", "reading the user CSV "+opts.Name, err.Error(),
				"Check the path; relative paths are relative to the directory Terraform runs in, so prefer \"${path.module}/users.csv\".")
			return
		}
		data = b
	} else {
		opts.Name = "content"
		data = []byte(m.Content.ValueString())
	}

	res, err := usercsv.ParseUsers(data, opts)
	if err != nil {
		for _, e := range usercsv.OptionErrors(err) {
			diagtext.AttributeError(&resp.Diagnostics, path.Root(e.Option), "Invalid User CSV Options", "reading the user CSV "+opts.Name, e.Message, "")
		}
		return
	}
	if len(res.Problems) > 0 {
		for i, p := range res.Problems {
			if i == maxCSVDiagnostics {
				resp.Diagnostics.AddAttributeError(src, "Invalid User CSV",
					fmt.Sprintf("%s: %d more problems are not shown — fix the ones above and plan again", opts.Name, len(res.Problems)-maxCSVDiagnostics))
				break
			}
			resp.Diagnostics.AddAttributeError(src, "Invalid User CSV", p.String())
		}
		return
	}

	// The users map is built straight as a Terraform value: 50,000 rows through the framework's
	// attr values and reflection take seconds, this takes a fraction of that.
	var cfg map[string]tftypes.Value
	if err := req.Config.Raw.As(&cfg); err != nil {
		diagtext.Bug(&resp.Diagnostics, "reading the configuration", err)
		return
	}
	cfg["users"] = csvUsersValue(res.Users)
	cfg["encoding"] = tftypes.NewValue(tftypes.String, res.Encoding)
	cfg["format"] = tftypes.NewValue(tftypes.String, res.Format)
	resp.State.Raw = tftypes.NewValue(req.Config.Raw.Type(), cfg)
}

var (
	tfStringList  = tftypes.List{ElementType: tftypes.String}
	tfCSVUserType = func() tftypes.Object {
		at := map[string]tftypes.Type{"line": tftypes.Number}
		for _, a := range userattr.All() {
			at[a.Name] = tftypes.String
			if a.Kind == userattr.List {
				at[a.Name] = tfStringList
			}
		}
		return tftypes.Object{AttributeTypes: at}
	}()
	tfNullString = tftypes.NewValue(tftypes.String, nil)
	tfNullList   = tftypes.NewValue(tfStringList, nil)
)

// csvUsersValue is the users map as a Terraform value (what a row does not give is null).
func csvUsersValue(rows []usercsv.User) tftypes.Value {
	all := userattr.All()
	elems := make(map[string]tftypes.Value, len(rows))
	for i := range rows {
		u := &rows[i]
		vals := make(map[string]tftypes.Value, len(all)+1)
		for _, a := range all {
			if a.Kind == userattr.List {
				vals[a.Name] = tfNullList
				if l := u.GetList(a.Name); len(l) > 0 {
					list := make([]tftypes.Value, len(l))
					for j, m := range l {
						list[j] = tftypes.NewValue(tftypes.String, m)
					}
					vals[a.Name] = tftypes.NewValue(tfStringList, list)
				}
				continue
			}
			vals[a.Name] = tfNullString
			if v := u.Get(a.Name); v != "" {
				vals[a.Name] = tftypes.NewValue(tftypes.String, v)
			}
		}
		vals["line"] = tftypes.NewValue(tftypes.Number, big.NewFloat(float64(u.Line)))
		elems[u.UPN()] = tftypes.NewValue(tfCSVUserType, vals)
	}
	return tftypes.NewValue(tftypes.Map{ElementType: tfCSVUserType}, elems)
}

// stringMap reads a map(string) attribute.
func stringMap(m types.Map) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := make(map[string]string, len(m.Elements()))
	for k, v := range m.Elements() {
		if s, ok := v.(types.String); ok && !s.IsNull() && !s.IsUnknown() {
			out[k] = s.ValueString()
		}
	}
	return out
}
