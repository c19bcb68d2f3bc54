package provider

import (
	"context"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
)

var (
	_ datasource.DataSource              = (*subscribedSkusDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*subscribedSkusDataSource)(nil)
)

// NewSubscribedSkusDataSource is the m365_subscribed_skus data source.
func NewSubscribedSkusDataSource() datasource.DataSource { return &subscribedSkusDataSource{} }

type subscribedSkusDataSource struct{ clients *Clients }

type subscribedSkusModel struct {
	SkuPartNumber types.String        `tfsdk:"sku_part_number"`
	ID            types.String        `tfsdk:"id"`
	Skus          []skuModel          `tfsdk:"skus"`
	ByPartNumber  map[string]skuModel `tfsdk:"by_part_number"`
}

type skuModel struct {
	ID               types.String       `tfsdk:"id"`
	SkuID            types.String       `tfsdk:"sku_id"`
	SkuPartNumber    types.String       `tfsdk:"sku_part_number"`
	AppliesTo        types.String       `tfsdk:"applies_to"`
	CapabilityStatus types.String       `tfsdk:"capability_status"`
	EnabledUnits     types.Int64        `tfsdk:"enabled_units"`
	ConsumedUnits    types.Int64        `tfsdk:"consumed_units"`
	WarningUnits     types.Int64        `tfsdk:"warning_units"`
	SuspendedUnits   types.Int64        `tfsdk:"suspended_units"`
	LockedOutUnits   types.Int64        `tfsdk:"locked_out_units"`
	AvailableUnits   types.Int64        `tfsdk:"available_units"`
	ServicePlans     []servicePlanModel `tfsdk:"service_plans"`
}

type servicePlanModel struct {
	ServicePlanID      types.String `tfsdk:"service_plan_id"`
	ServicePlanName    types.String `tfsdk:"service_plan_name"`
	ProvisioningStatus types.String `tfsdk:"provisioning_status"`
	AppliesTo          types.String `tfsdk:"applies_to"`
}

func (d *subscribedSkusDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_subscribed_skus"
}

func skuAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"id":                schema.StringAttribute{Computed: true, MarkdownDescription: "The subscribedSku id (`<accountId>_<skuId>`)."},
		"sku_id":            schema.StringAttribute{Computed: true, MarkdownDescription: "The SKU GUID, as `assignLicense` takes it."},
		"sku_part_number":   schema.StringAttribute{Computed: true, MarkdownDescription: "The SKU's part number, e.g. `O365_BUSINESS_PREMIUM`."},
		"applies_to":        schema.StringAttribute{Computed: true, MarkdownDescription: "`User` or `Company`; only `User` SKUs can be assigned to users."},
		"capability_status": schema.StringAttribute{Computed: true, MarkdownDescription: "`Enabled`, `Warning`, `Suspended`, `Deleted` or `LockedOut`."},
		"enabled_units":     schema.Int64Attribute{Computed: true, MarkdownDescription: "Seats purchased and active (`prepaidUnits.enabled`)."},
		"consumed_units":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Seats assigned (`consumedUnits`)."},
		"warning_units":     schema.Int64Attribute{Computed: true, MarkdownDescription: "Seats in their grace period after expiry (`prepaidUnits.warning`)."},
		"suspended_units":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Seats suspended (`prepaidUnits.suspended`)."},
		"locked_out_units":  schema.Int64Attribute{Computed: true, MarkdownDescription: "Seats locked out (`prepaidUnits.lockedOut`)."},
		"available_units": schema.Int64Attribute{Computed: true, MarkdownDescription: "Seats that can still be assigned: `enabled_units + warning_units - consumed_units`, never below 0. " +
			"Microsoft does not document this formula; it is the reading the community uses."},
		"service_plans": schema.ListNestedAttribute{
			Computed:            true,
			MarkdownDescription: "The service plans in the SKU; their ids are what `disabled_plans` of a licence refer to.",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"service_plan_id":     schema.StringAttribute{Computed: true, MarkdownDescription: "The plan GUID."},
				"service_plan_name":   schema.StringAttribute{Computed: true, MarkdownDescription: "The plan name, e.g. `EXCHANGE_S_STANDARD`."},
				"provisioning_status": schema.StringAttribute{Computed: true, MarkdownDescription: "`Success`, `Disabled`, `Error`, `PendingInput`, `PendingActivation` or `PendingProvisioning`."},
				"applies_to":          schema.StringAttribute{Computed: true, MarkdownDescription: "`User` or `Company`."},
			}},
		},
	}
}

func (d *subscribedSkusDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The tenant's licence SKUs with their seat counts (Microsoft Graph `GET /subscribedSkus`). Use `available_units` to check that a migration has enough licences before users are created.",
		Attributes: map[string]schema.Attribute{
			"sku_part_number": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Only return the SKU with this part number (case-insensitive). Reading fails, listing the tenant's part numbers, when the tenant has no such SKU.",
			},
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant ID the SKUs were read from."},
			"skus": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The SKUs, sorted by part number.",
				NestedObject:        schema.NestedAttributeObject{Attributes: skuAttributes()},
			},
			"by_part_number": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The same SKUs keyed by part number, e.g. `data.m365_subscribed_skus.all.by_part_number[\"O365_BUSINESS_PREMIUM\"].available_units`.",
				NestedObject:        schema.NestedAttributeObject{Attributes: skuAttributes()},
			},
		},
	}
}

func (d *subscribedSkusDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// skuPermissions are what GET /subscribedSkus needs (https://learn.microsoft.com/graph/api/subscribedsku-list).
var skuPermissions = diagtext.Permissions{Graph: []string{"LicenseAssignment.Read.All", "Organization.Read.All", "Directory.Read.All"}}

func (d *subscribedSkusDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m subscribedSkusModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || d.clients == nil {
		return
	}
	skus, err := d.clients.Graph.ListSubscribedSkus(ctx)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Subscribed SKUs", "reading the tenant's licence SKUs (GET /subscribedSkus)", err, skuPermissions, "")
		return
	}
	sort.Slice(skus, func(i, j int) bool { return skus[i].SkuPartNumber < skus[j].SkuPartNumber })
	want := m.SkuPartNumber.ValueString()
	m.Skus = []skuModel{}
	m.ByPartNumber = map[string]skuModel{}
	var names []string
	for _, s := range skus {
		names = append(names, s.SkuPartNumber)
		if want != "" && !strings.EqualFold(want, s.SkuPartNumber) {
			continue
		}
		sm := toSkuModel(s)
		m.Skus = append(m.Skus, sm)
		m.ByPartNumber[s.SkuPartNumber] = sm
	}
	if want != "" && len(m.Skus) == 0 {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("sku_part_number"), "SKU Not Found",
			"looking for the licence SKU "+want+" in the tenant",
			"the tenant has no SKU with that part number; it has: "+strings.Join(names, ", "),
			"Use one of the part numbers above, or buy the subscription first.")
		return
	}
	m.ID = types.StringValue(d.clients.TenantID)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func toSkuModel(s graph.SubscribedSku) skuModel {
	sm := skuModel{
		ID:               types.StringValue(s.ID),
		SkuID:            types.StringValue(s.SkuID),
		SkuPartNumber:    types.StringValue(s.SkuPartNumber),
		AppliesTo:        types.StringValue(s.AppliesTo),
		CapabilityStatus: types.StringValue(s.CapabilityStatus),
		EnabledUnits:     types.Int64Value(int64(s.Enabled)),
		ConsumedUnits:    types.Int64Value(int64(s.Consumed)),
		WarningUnits:     types.Int64Value(int64(s.Warning)),
		SuspendedUnits:   types.Int64Value(int64(s.Suspended)),
		LockedOutUnits:   types.Int64Value(int64(s.LockedOut)),
		AvailableUnits:   types.Int64Value(int64(s.Available())),
		ServicePlans:     []servicePlanModel{},
	}
	for _, p := range s.ServicePlans {
		sm.ServicePlans = append(sm.ServicePlans, servicePlanModel{
			ServicePlanID:      types.StringValue(p.ID),
			ServicePlanName:    types.StringValue(p.Name),
			ProvisioningStatus: types.StringValue(p.ProvisioningStatus),
			AppliesTo:          types.StringValue(p.AppliesTo),
		})
	}
	return sm
}
