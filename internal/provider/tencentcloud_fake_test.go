package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
)

// tencentcloudArguments is tencentcloud_dnspod_record's argument table as its documentation gives
// it (https://registry.terraform.io/providers/tencentcloudstack/tencentcloud/latest/docs/resources/dnspod_record): name -> type, required. The test provider below implements exactly
// this schema, and m365_dns_records.dnspod_records must fit it.
var tencentcloudArguments = map[string]struct {
	typ      string
	required bool
}{
	"domain": {"string", true}, "record_type": {"string", true}, "record_line": {"string", true}, "value": {"string", true},
	"sub_domain": {"string", false}, "mx": {"number", false}, "ttl": {"number", false}, "weight": {"number", false},
	"status": {"string", false}, "remark": {"string", false},
}

// fakeDNSPod is a stand-in for the tencentcloud provider in tests (the registry is not reachable
// here): its tencentcloud_dnspod_record has the real resource's arguments and publishes the record
// into a dnstest server, so a verification chain really goes through DNS.
type fakeDNSPod struct {
	mu      sync.Mutex
	dns     *dnstest.Server
	created int
}

func (f *fakeDNSPod) provider() provider.Provider { return &fakeDNSPodProvider{f: f} }

type fakeDNSPodProvider struct{ f *fakeDNSPod }

func (p *fakeDNSPodProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "tencentcloud"
}
func (p *fakeDNSPodProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {
	_ = pschema.Schema{}
}
func (p *fakeDNSPodProvider) Configure(_ context.Context, _ provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	resp.ResourceData = p.f
}
func (p *fakeDNSPodProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return &fakeDNSPodRecord{} }}
}
func (p *fakeDNSPodProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

type fakeDNSPodRecord struct{ f *fakeDNSPod }

type fakeDNSPodModel struct {
	ID         types.String `tfsdk:"id"`
	Domain     types.String `tfsdk:"domain"`
	RecordType types.String `tfsdk:"record_type"`
	RecordLine types.String `tfsdk:"record_line"`
	Value      types.String `tfsdk:"value"`
	SubDomain  types.String `tfsdk:"sub_domain"`
	MX         types.Int64  `tfsdk:"mx"`
	TTL        types.Int64  `tfsdk:"ttl"`
	Weight     types.Int64  `tfsdk:"weight"`
	Status     types.String `tfsdk:"status"`
	Remark     types.String `tfsdk:"remark"`
}

func (r *fakeDNSPodRecord) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = "tencentcloud_dnspod_record"
}

func (r *fakeDNSPodRecord) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{Attributes: map[string]schema.Attribute{
		"id":          schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		"domain":      schema.StringAttribute{Required: true, PlanModifiers: replace},
		"record_type": schema.StringAttribute{Required: true, PlanModifiers: replace},
		"record_line": schema.StringAttribute{Required: true},
		"value":       schema.StringAttribute{Required: true, PlanModifiers: replace},
		"sub_domain":  schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("@"), PlanModifiers: replace},
		"mx":          schema.Int64Attribute{Optional: true},
		"ttl":         schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(600)},
		"weight":      schema.Int64Attribute{Optional: true},
		"status":      schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("ENABLE")},
		"remark":      schema.StringAttribute{Optional: true},
	}}
}

func (r *fakeDNSPodRecord) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if f, ok := req.ProviderData.(*fakeDNSPod); ok {
		r.f = f
	}
}

func (r *fakeDNSPodRecord) rr(m fakeDNSPodModel) (string, string, error) {
	name := m.Domain.ValueString() + "."
	if s := m.SubDomain.ValueString(); s != "" && s != "@" {
		name = s + "." + name
	}
	typ := strings.ToUpper(m.RecordType.ValueString())
	v := m.Value.ValueString()
	switch typ {
	case "MX":
		// DNSPod's API: "MX priority, valid when the record type is MX, range 1-20. must set when record type equal MX."
		if m.MX.IsNull() || m.MX.ValueInt64() < 1 || m.MX.ValueInt64() > 20 {
			return "", "", fmt.Errorf("InvalidParameter.MXInvalid: MX priority must be 1-20, got %v", m.MX)
		}
		return name, fmt.Sprintf("%s %d IN MX %d %s.", name, m.TTL.ValueInt64(), m.MX.ValueInt64(), strings.TrimSuffix(v, ".")), nil
	case "TXT":
		return name, "", nil
	case "CNAME":
		return name, fmt.Sprintf("%s %d IN CNAME %s.", name, m.TTL.ValueInt64(), strings.TrimSuffix(v, ".")), nil
	case "SRV":
		return name, fmt.Sprintf("%s %d IN SRV %s", name, m.TTL.ValueInt64(), v), nil
	}
	return "", "", fmt.Errorf("unsupported record type %q", typ)
}

func (r *fakeDNSPodRecord) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m fakeDNSPodModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name, rr, err := r.rr(m)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("mx"), "DNSPod Error", err.Error())
		return
	}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if strings.EqualFold(m.RecordType.ValueString(), "TXT") {
		r.f.dns.SetTXT(name, m.Value.ValueString())
	} else if err := r.f.dns.AddRecord(rr); err != nil {
		resp.Diagnostics.AddError("DNSPod Error", err.Error())
		return
	}
	r.f.created++
	m.ID = types.StringValue(fmt.Sprintf("%s#%d", m.Domain.ValueString(), 1000+r.f.created))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *fakeDNSPodRecord) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m fakeDNSPodModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *fakeDNSPodRecord) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m fakeDNSPodModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *fakeDNSPodRecord) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m fakeDNSPodModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	name, _, _ := r.rr(m)
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if strings.EqualFold(m.RecordType.ValueString(), "TXT") {
		r.f.dns.SetTXT(name)
	} else {
		r.f.dns.Remove(name, strings.ToUpper(m.RecordType.ValueString()))
	}
}
