package graph

import (
	"context"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/subscribedskus"
)

// SubscribedSku is one licence SKU of the tenant with its seat counts.
type SubscribedSku struct {
	ID               string
	SkuID            string
	SkuPartNumber    string
	AppliesTo        string
	CapabilityStatus string
	Enabled          int
	Warning          int
	Suspended        int
	LockedOut        int
	Consumed         int
	ServicePlans     []ServicePlan
}

// ServicePlan is one plan inside a SKU (the disabled_plans of a licence refer to these).
type ServicePlan struct {
	ID                 string
	Name               string
	ProvisioningStatus string
	AppliesTo          string
}

// Available is the number of seats that can still be assigned: enabled plus warning (the grace
// period) minus consumed, never negative. Microsoft does not document the formula; this is the
// community reading (https://github.com/microsoftgraph/microsoft-graph-docs/issues/16282).
func (s SubscribedSku) Available() int {
	n := s.Enabled + s.Warning - s.Consumed
	if n < 0 {
		return 0
	}
	return n
}

// ListSubscribedSkus returns every SKU of the tenant (GET /subscribedSkus, one request: the API
// does not page it).
func (c *Client) ListSubscribedSkus(ctx context.Context) ([]SubscribedSku, error) {
	resp, err := c.subscribedSkus().Get(ctx, &subscribedskus.SubscribedSkusRequestBuilderGetRequestConfiguration{
		QueryParameters: &subscribedskus.SubscribedSkusRequestBuilderGetQueryParameters{
			Select: []string{"id", "skuId", "skuPartNumber", "appliesTo", "capabilityStatus", "consumedUnits", "prepaidUnits", "servicePlans"},
		},
	})
	if err != nil {
		return nil, wrap("list subscribed SKUs", err)
	}
	var out []SubscribedSku
	for _, s := range resp.GetValue() {
		sku := SubscribedSku{
			ID:               deref(s.GetId()),
			SkuPartNumber:    deref(s.GetSkuPartNumber()),
			AppliesTo:        deref(s.GetAppliesTo()),
			CapabilityStatus: deref(s.GetCapabilityStatus()),
			Consumed:         int(deref(s.GetConsumedUnits())),
		}
		if id := s.GetSkuId(); id != nil {
			sku.SkuID = strings.ToLower(id.String())
		}
		if p := s.GetPrepaidUnits(); p != nil {
			sku.Enabled = int(deref(p.GetEnabled()))
			sku.Warning = int(deref(p.GetWarning()))
			sku.Suspended = int(deref(p.GetSuspended()))
			sku.LockedOut = int(deref(p.GetLockedOut()))
		}
		for _, sp := range s.GetServicePlans() {
			plan := ServicePlan{
				Name:               deref(sp.GetServicePlanName()),
				ProvisioningStatus: deref(sp.GetProvisioningStatus()),
				AppliesTo:          deref(sp.GetAppliesTo()),
			}
			if id := sp.GetServicePlanId(); id != nil {
				plan.ID = strings.ToLower(id.String())
			}
			sku.ServicePlans = append(sku.ServicePlans, plan)
		}
		out = append(out, sku)
	}
	return out, nil
}
