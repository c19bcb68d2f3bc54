package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/dns"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/validators"
)

var _ datasource.DataSourceWithConfigure = (*dnsRecordsDataSource)(nil)

// NewDNSRecordsDataSource is the m365_dns_records data source.
func NewDNSRecordsDataSource() datasource.DataSource { return &dnsRecordsDataSource{} }

type dnsRecordsDataSource struct{ clients *Clients }

type dnsRecordsModel struct {
	ID              types.String `tfsdk:"id"`
	Domain          types.String `tfsdk:"domain"`
	Services        types.List   `tfsdk:"services"`
	Stage           types.String `tfsdk:"stage"`
	Replaces        types.String `tfsdk:"replaces"`
	KeepSPFIncludes types.List   `tfsdk:"keep_spf_includes"`
	RecordLine      types.String `tfsdk:"record_line"`
	TTLFloor        types.Int64  `tfsdk:"ttl_floor"`
	TTL             types.Int64  `tfsdk:"ttl"`
	DKIM            types.Bool   `tfsdk:"dkim"`
	DMARCPolicy     types.String `tfsdk:"dmarc_policy"`
	DMARCRUA        types.List   `tfsdk:"dmarc_rua"`
	DMARCPct        types.Int64  `tfsdk:"dmarc_pct"`
	IsVerified      types.Bool   `tfsdk:"is_verified"`
	Records         types.Map    `tfsdk:"records"`
	DNSPodRecords   types.Map    `tfsdk:"dnspod_records"`
	RemoveRecords   types.Map    `tfsdk:"remove_records"`
	RemoveDNSPod    types.Map    `tfsdk:"remove_dnspod_records"`
	ZoneFile        types.String `tfsdk:"zone_file"`
}

var recordAttrTypes = map[string]attr.Type{
	"name": types.StringType, "fqdn": types.StringType, "type": types.StringType, "value": types.StringType,
	"priority": types.Int64Type, "ttl": types.Int64Type, "port": types.Int64Type, "weight": types.Int64Type,
	"service": types.StringType, "protocol": types.StringType, "purpose": types.StringType, "optional": types.BoolType,
	"supported_service": types.StringType,
}

// dnspodAttrTypes are exactly tencentcloud_dnspod_record's arguments (https://registry.terraform.io/providers/tencentcloudstack/tencentcloud/latest/docs/resources/dnspod_record),
// so each element can be splatted into the resource.
var dnspodAttrTypes = map[string]attr.Type{
	"domain": types.StringType, "sub_domain": types.StringType, "record_type": types.StringType, "record_line": types.StringType,
	"value": types.StringType, "mx": types.Int64Type, "ttl": types.Int64Type, "weight": types.Int64Type,
	"status": types.StringType, "remark": types.StringType,
}

func (d *dnsRecordsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dns_records"
}

func recordSchema() schema.NestedAttributeObject {
	return schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
		"name":              schema.StringAttribute{Computed: true, MarkdownDescription: "Name relative to the zone: `@`, `autodiscover`, `_sip._tls`."},
		"fqdn":              schema.StringAttribute{Computed: true, MarkdownDescription: "Fully qualified name, without a trailing dot."},
		"type":              schema.StringAttribute{Computed: true, MarkdownDescription: "`MX`, `TXT`, `CNAME` or `SRV`."},
		"value":             schema.StringAttribute{Computed: true, MarkdownDescription: "Target host (no trailing dot) or TXT text."},
		"priority":          schema.Int64Attribute{Computed: true, MarkdownDescription: "MX preference or SRV priority, as Microsoft gives it (0 for MX)."},
		"ttl":               schema.Int64Attribute{Computed: true, MarkdownDescription: "TTL in seconds."},
		"port":              schema.Int64Attribute{Computed: true, MarkdownDescription: "SRV port; 0 otherwise."},
		"weight":            schema.Int64Attribute{Computed: true, MarkdownDescription: "SRV weight; 0 otherwise."},
		"service":           schema.StringAttribute{Computed: true, MarkdownDescription: "SRV service, e.g. `_sip`."},
		"protocol":          schema.StringAttribute{Computed: true, MarkdownDescription: "SRV protocol, e.g. `_tls`."},
		"purpose":           schema.StringAttribute{Computed: true, MarkdownDescription: "`verification`, `mail`, `autodiscover`, `spf`, `msoid`, `teams`, `mdm` or `other`."},
		"optional":          schema.BoolAttribute{Computed: true, MarkdownDescription: "Graph's `isOptional`."},
		"supported_service": schema.StringAttribute{Computed: true, MarkdownDescription: "The Microsoft 365 service the record serves, e.g. `Email`."},
	}}
}

// dnspodAttrDocs describes each attribute of a DNSPod-shaped record, for the data source here and
// for resources that expose records of their own (m365_dkim).
var dnspodAttrDocs = map[string]string{
	"domain":      "The zone (`domain` argument).",
	"sub_domain":  "Host relative to the zone, `@` for the apex.",
	"record_type": "Upper-case record type.",
	"record_line": "Resolution line, `默认` unless `record_line` is set.",
	"value":       "Record value; SRV values are `priority weight port target.`.",
	"mx":          "MX priority clamped to DNSPod's 1–20 (Microsoft's 0 becomes 1); null for other types.",
	"ttl":         "TTL (`ttl` when set), raised to `ttl_floor`.",
	"weight":      "Always null (DNSPod's line weight, an enterprise feature; the SRV weight is inside `value`).",
	"status":      "`ENABLE`.",
	"remark":      "`m365: <purpose>`.",
}

func dnspodSchema() schema.NestedAttributeObject {
	attrs := map[string]schema.Attribute{}
	for name, typ := range dnspodAttrTypes {
		if typ.Equal(types.Int64Type) {
			attrs[name] = schema.Int64Attribute{Computed: true, MarkdownDescription: dnspodAttrDocs[name]}
		} else {
			attrs[name] = schema.StringAttribute{Computed: true, MarkdownDescription: dnspodAttrDocs[name]}
		}
	}
	return schema.NestedAttributeObject{Attributes: attrs}
}

func (d *dnsRecordsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The DNS records a tenant domain needs, from Microsoft Graph's `verificationDnsRecords` and `serviceConfigurationRecords`, completed from the cloud's documented values, " +
			"keyed by stable names and shaped for DNSPod (`tencentcloud_dnspod_record`), for any DNS provider (`records`) and as BIND zone text. With `replaces = \"exmail\"` it also lists Tencent Exmail's records to remove at cutover.",
		Attributes: map[string]schema.Attribute{
			"id":     schema.StringAttribute{Computed: true, MarkdownDescription: "`<domain>/<stage>`."},
			"domain": schema.StringAttribute{Required: true, MarkdownDescription: "The tenant domain, e.g. `contoso.com`.", Validators: []validator.String{validators.DomainName()}},
			"services": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Which services' records to publish at cutover: `Email` (default), `OfficeCommunicationsOnline` (Teams/Skype), `Intune`."},
			"stage": schema.StringAttribute{Optional: true,
				MarkdownDescription: "`verification` (the TXT only), `cutover` (MX, autodiscover CNAME, SPF TXT, msoid CNAME for 21Vianet, the DMARC TXT, the DKIM CNAMEs when Exchange has a DKIM configuration, and the chosen services' records; the default) or `all`.",
				Validators:          []validator.String{stringvalidator.OneOf(dns.StageVerification, dns.StageCutover, dns.StageAll)}},
			"replaces": schema.StringAttribute{Optional: true,
				MarkdownDescription: "`exmail` lists Tencent Exmail's MX (`mxbiz1.qq.com`, `mxbiz2.qq.com`) and SPF record in `remove_records` for the cutover.",
				Validators:          []validator.String{stringvalidator.OneOf(dns.ReplacesExmail)}},
			"keep_spf_includes": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Other senders to keep in the single SPF record, e.g. `[\"spf.mail.qq.com\"]` while Exmail still sends."},
			"record_line": schema.StringAttribute{Optional: true, MarkdownDescription: "DNSPod resolution line for `dnspod_records`; default `默认`."},
			"ttl_floor": schema.Int64Attribute{Optional: true, MarkdownDescription: "Lowest TTL in `dnspod_records` (DNSPod plans have a minimum); default 600.",
				Validators: []validator.Int64{int64validator.Between(1, 604800)}},
			"ttl": schema.Int64Attribute{Optional: true,
				MarkdownDescription: "TTL in seconds for every record (in `records`, `dnspod_records` and `zone_file`); default: Graph's TTL, else 3600. DNSPod's records are still raised to `ttl_floor`. Lower the TTL of the MX records you have now before the cutover, not only of these (see the guide).",
				Validators:          []validator.Int64{int64validator.Between(1, 604800)}},
			"dkim": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Add the domain's two DKIM selector CNAMEs (`dkim_selector1`, `dkim_selector2`) at the cutover stage when Exchange has a DKIM signing configuration for it (read with `Get-DkimSigningConfig`; values exactly as the service returns them). Default `true`. Set `false` when `m365_dkim` in the same configuration publishes its own `dnspod_records`, so that the CNAMEs are not published twice.",
			},
			"dmarc_policy": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The DMARC policy of the `_dmarc` TXT record added at the cutover stage: `none` (default: monitor and collect reports), then `quarantine`, then `reject`, as Microsoft recommends rolling it out; `off` leaves the record out (e.g. when the domain already has one).",
				Validators:          []validator.String{stringvalidator.OneOf(dns.DMARCNone, dns.DMARCQuarantine, dns.DMARCReject, "off")}},
			"dmarc_rua": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				Validators:          []validator.List{listvalidator.ValueStringsAre(stringvalidator.RegexMatches(emailRE, "must be an email address such as dmarc-reports@contoso.com"))},
				MarkdownDescription: "Addresses that receive DMARC aggregate reports (`rua=mailto:…`). Microsoft 365 itself sends aggregate reports only for domains whose MX points to it."},
			"dmarc_pct": schema.Int64Attribute{Optional: true,
				MarkdownDescription: "Share (1–100) of failing mail the policy applies to, for a staged `quarantine` (e.g. 10, 25, 50, 100); default 100 (left out of the record).",
				Validators:          []validator.Int64{int64validator.Between(1, 100)}},
			"is_verified":           schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the domain is verified."},
			"records":               schema.MapNestedAttribute{Computed: true, NestedObject: recordSchema(), MarkdownDescription: "Records keyed `verification_txt`, `mx`, `autodiscover`, `spf`, `msoid`, `sip`, `lyncdiscover`, `sip_tls_srv`, `sipfederationtls_tcp_srv`, `enterpriseregistration`, `enterpriseenrollment`, `dkim_selector1`, `dkim_selector2`, `dmarc`, …"},
			"dnspod_records":        schema.MapNestedAttribute{Computed: true, NestedObject: dnspodSchema(), MarkdownDescription: "The same keys, each with exactly the arguments of `tencentcloud_dnspod_record`."},
			"remove_records":        schema.MapNestedAttribute{Computed: true, NestedObject: recordSchema(), MarkdownDescription: "Records to delete at cutover (`exmail_mx1`, `exmail_mx2`, `exmail_spf`)."},
			"remove_dnspod_records": schema.MapNestedAttribute{Computed: true, NestedObject: dnspodSchema(), MarkdownDescription: "`remove_records` in the DNSPod shape, to match existing records."},
			"zone_file":             schema.StringAttribute{Computed: true, MarkdownDescription: "`records` as BIND zone-file text."},
		},
	}
}

func (d *dnsRecordsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

var domainReadPermissions = diagtext.Permissions{Graph: []string{"Domain.Read.All", "Domain.ReadWrite.All"}}

func (d *dnsRecordsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m dnsRecordsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || d.clients == nil {
		return
	}
	zone := strings.ToLower(strings.TrimSuffix(m.Domain.ValueString(), "."))
	stage := m.Stage.ValueString()
	if stage == "" {
		stage = dns.StageCutover
	}
	g := d.clients.Graph
	dom, err := g.GetDomain(ctx, zone)
	if err != nil {
		next := ""
		if graph.IsNotFound(err) {
			next = "The domain is not in the tenant yet: add it with m365_domain (its verification_records are known at plan time), or read this data source after the domain exists."
		}
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Domain", "reading the domain "+zone, err, domainReadPermissions, next)
		return
	}
	verification, err := g.VerificationRecords(ctx, zone)
	if err != nil && !dom.IsVerified {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Verification Records", "reading the verification records of "+zone, err, domainReadPermissions, "")
		return
	}
	var service []dns.ServiceRecord
	if stage != dns.StageVerification {
		service, err = g.ServiceConfigurationRecords(ctx, zone)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read Service Records", "reading the service configuration records of "+zone, err, domainReadPermissions, "")
			return
		}
	}
	opts := dns.Options{
		Zone: zone, Env: d.clients.Env, Stage: stage, Services: listStrings(m.Services),
		Replaces: m.Replaces.ValueString(), KeepSPFIncludes: listStrings(m.KeepSPFIncludes),
	}
	if d.clients.Env.DNS.MXTokenFromTenant && stage != dns.StageVerification {
		if all, err := g.ListDomains(ctx); err == nil {
			for _, x := range all {
				if x.IsInitial {
					opts.InitialDomain = x.ID
				}
			}
		}
	}
	opts.TTL = int(m.TTL.ValueInt64())
	if stage != dns.StageVerification {
		if p := m.DMARCPolicy.ValueString(); p != "off" {
			opts.DMARC = &dns.DMARC{Policy: p, RUA: listStrings(m.DMARCRUA), Pct: int(m.DMARCPct.ValueInt64())}
		}
		if m.DKIM.IsNull() || m.DKIM.ValueBool() {
			opts.DKIM = d.dkimSelectors(ctx, zone, &resp.Diagnostics)
		}
	}
	records, remove, err := dns.Build(verification, service, opts)
	if err != nil {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("domain"), "Cannot Build DNS Records", "shaping the records of "+zone, err.Error(), "Check services, keep_spf_includes and replaces.")
		return
	}
	podOpts := dns.DNSPodOptions{RecordLine: m.RecordLine.ValueString(), TTLFloor: int(m.TTLFloor.ValueInt64())}
	m.ID = types.StringValue(zone + "/" + stage)
	m.IsVerified = types.BoolValue(dom.IsVerified)
	m.Records = recordMap(records)
	m.RemoveRecords = recordMap(remove)
	m.DNSPodRecords = dnspodMap(dns.DNSPod(zone, records, podOpts))
	m.RemoveDNSPod = dnspodMap(dns.DNSPod(zone, remove, podOpts))
	m.ZoneFile = types.StringValue(dns.ZoneFile(zone, records))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// dkimSelectors reads the domain's DKIM signing configuration; nil when it has none. An Exchange
// failure is a warning: the other records do not depend on it.
func (d *dnsRecordsDataSource) dkimSelectors(ctx context.Context, zone string, diags *diagList) *dns.DKIM {
	if d.clients.Exchange == nil {
		return nil
	}
	cfg, err := d.clients.Exchange.GetDkimSigningConfig(ctx, zone)
	if exchange.IsNotFound(err) {
		return nil
	}
	if err != nil {
		diags.AddAttributeWarning(path.Root("dkim"), "DKIM Records Left Out", diagtext.Detail(
			"reading the DKIM signing configuration of "+zone+" (Get-DkimSigningConfig)", err.Error(),
			"The other records are complete. Grant the application "+diagtext.ExchangeRole+", or set dkim = false."))
		return nil
	}
	return &dns.DKIM{Selector1CNAME: cfg.Selector1CNAME, Selector2CNAME: cfg.Selector2CNAME}
}

func recordMap(in []dns.Record) types.Map {
	out := map[string]attr.Value{}
	for _, r := range in {
		out[r.Key] = types.ObjectValueMust(recordAttrTypes, map[string]attr.Value{
			"name": types.StringValue(r.Name), "fqdn": types.StringValue(r.FQDN), "type": types.StringValue(r.Type),
			"value": types.StringValue(r.Value), "priority": types.Int64Value(int64(r.Priority)), "ttl": types.Int64Value(int64(r.TTL)),
			"port": types.Int64Value(int64(r.Port)), "weight": types.Int64Value(int64(r.Weight)), "service": types.StringValue(r.Service),
			"protocol": types.StringValue(r.Protocol), "purpose": types.StringValue(r.Purpose), "optional": types.BoolValue(r.Optional),
			"supported_service": types.StringValue(r.SupportedService),
		})
	}
	return types.MapValueMust(types.ObjectType{AttrTypes: recordAttrTypes}, out)
}

func dnspodMap(in map[string]dns.DNSPodRecord) types.Map {
	out := map[string]attr.Value{}
	for k, r := range in {
		mx := types.Int64Null()
		if r.RecordType == "MX" {
			mx = types.Int64Value(r.MX)
		}
		weight := types.Int64Null()
		if r.Weight != nil {
			weight = types.Int64Value(*r.Weight)
		}
		out[k] = types.ObjectValueMust(dnspodAttrTypes, map[string]attr.Value{
			"domain": types.StringValue(r.Domain), "sub_domain": types.StringValue(r.SubDomain), "record_type": types.StringValue(r.RecordType),
			"record_line": types.StringValue(r.RecordLine), "value": types.StringValue(r.Value), "mx": mx, "ttl": types.Int64Value(r.TTL),
			"weight": weight, "status": types.StringValue(r.Status), "remark": types.StringValue(r.Remark),
		})
	}
	return types.MapValueMust(types.ObjectType{AttrTypes: dnspodAttrTypes}, out)
}
