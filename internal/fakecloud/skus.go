package fakecloud

import (
	"net/http"
	"strings"
)

func init() {
	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /v1.0/subscribedSkus", s.handleListSubscribedSkus)
		mux.HandleFunc("GET /v1.0/subscribedSkus/{id}", s.handleGetSubscribedSku)
	})
}

// subscribedSkuJSON renders a SKU in Graph's subscribedSku shape (https://learn.microsoft.com/graph/api/subscribedsku-list):
// id "<accountId>_<skuId>", prepaidUnits and consumedUnits as JSON numbers.
func subscribedSkuJSON(st *State, k SKU) map[string]any {
	plans := make([]map[string]any, 0, len(k.ServicePlans))
	for _, p := range k.ServicePlans {
		plans = append(plans, map[string]any{
			"servicePlanId":      p.ServicePlanID,
			"servicePlanName":    p.ServicePlanName,
			"provisioningStatus": p.ProvisioningStatus,
			"appliesTo":          p.AppliesTo,
		})
	}
	subs := k.SubscriptionIDs
	if subs == nil {
		subs = []string{}
	}
	return map[string]any{
		"accountName":      accountName(st),
		"accountId":        st.TenantID,
		"appliesTo":        k.AppliesTo,
		"capabilityStatus": k.CapabilityStatus,
		"consumedUnits":    k.Consumed,
		"id":               st.TenantID + "_" + k.SkuID,
		"prepaidUnits": map[string]any{
			"enabled":   k.Enabled,
			"lockedOut": k.LockedOut,
			"suspended": k.Suspended,
			"warning":   k.Warning,
		},
		"servicePlans":    plans,
		"skuId":           k.SkuID,
		"skuPartNumber":   k.SkuPartNumber,
		"subscriptionIds": subs,
	}
}

// accountName is the tenant's account name: the first label of the initial domain.
func accountName(st *State) string {
	return strings.SplitN(st.InitialDomain, ".", 2)[0]
}

func (s *Server) handleListSubscribedSkus(w http.ResponseWriter, r *http.Request) {
	var objs []map[string]any
	s.read(func(st *State) {
		for _, k := range st.SKUs {
			objs = append(objs, subscribedSkuJSON(st, k))
		}
	})
	if objs == nil {
		objs = []map[string]any{}
	}
	objs, names, err := applySelect(r, "microsoft.graph.subscribedSku", objs)
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": s.odataContext("subscribedSkus" + selectSuffix(names)),
		"value":          objs,
	})
}

func (s *Server) handleGetSubscribedSku(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var obj map[string]any
	s.read(func(st *State) {
		for _, k := range st.SKUs {
			if strings.EqualFold(id, st.TenantID+"_"+k.SkuID) {
				obj = subscribedSkuJSON(st, k)
			}
		}
	})
	if obj == nil {
		notFoundGraph(w, id)
		return
	}
	objs, names, err := applySelect(r, "microsoft.graph.subscribedSku", []map[string]any{obj})
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	out := objs[0]
	out["@odata.context"] = s.odataContext("subscribedSkus" + selectSuffix(names) + "/$entity")
	writeJSON(w, http.StatusOK, out)
}
