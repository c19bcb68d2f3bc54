package fakecloud

// Licences of users: POST /v1.0/users/{id}/assignLicense
// (https://learn.microsoft.com/graph/api/user-assignlicense) with seat accounting on the tenant's SKUs,
// and whether a user's licences give it an Exchange Online mailbox.

import (
	"net/http"
	"net/url"
	"strings"
)

// skuLocked finds a SKU of the tenant by id.
func skuLocked(st *State, skuID string) *SKU {
	for i := range st.SKUs {
		if strings.EqualFold(st.SKUs[i].SkuID, skuID) {
			return &st.SKUs[i]
		}
	}
	return nil
}

// consumeLicences adds (sign +1) or frees (sign -1) the seats of licences.
func consumeLicences(st *State, lic []AssignedLicense, sign int) {
	for _, l := range lic {
		if k := skuLocked(st, l.SkuID); k != nil {
			k.Consumed += sign
			if k.Consumed < 0 {
				k.Consumed = 0
			}
		}
	}
}

// hasExchangePlan reports whether one of the licences includes an Exchange Online plan (the user
// then has a mailbox and a mail address).
func hasExchangePlan(st *State, lic []AssignedLicense) bool {
	for _, l := range lic {
		k := skuLocked(st, l.SkuID)
		if k == nil {
			continue
		}
		for _, p := range k.ServicePlans {
			if strings.HasPrefix(p.ServicePlanName, "EXCHANGE_S_") && !containsFold(l.DisabledPlans, p.ServicePlanID) {
				return true
			}
		}
	}
	return false
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func (s *Server) handleAssignLicense(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("id")
	var body struct {
		AddLicenses *[]struct {
			SkuID         string   `json:"skuId"`
			DisabledPlans []string `json:"disabledPlans"`
		} `json:"addLicenses"`
		RemoveLicenses *[]string `json:"removeLicenses"`
	}
	if err := decodeBody(r, &body); err != nil {
		graphError(w, http.StatusBadRequest, "Request_BadRequest", err.Error())
		return
	}
	// Both arrays are in every documented example; whether Graph requires them is UNCONFIRMED.
	if body.AddLicenses == nil {
		s.writeUserError(w, invalidUserValue("addLicenses"))
		return
	}
	if body.RemoveLicenses == nil {
		s.writeUserError(w, invalidUserValue("removeLicenses"))
		return
	}
	var obj map[string]any
	err := s.mutate(func(st *State) error {
		id, e := s.liveUserLocked(st, key)
		if e != nil {
			return e
		}
		u := st.Users[id]
		var adds []AssignedLicense
		seen := map[string]bool{}
		for _, a := range *body.AddLicenses {
			sku := strings.ToLower(a.SkuID)
			k := skuLocked(st, sku)
			if !isGUID(sku) || k == nil || !strings.EqualFold(k.AppliesTo, "User") {
				// UNCONFIRMED wording.
				return userBadRequest("License %s does not correspond to a valid company License.", a.SkuID)
			}
			if seen[sku] {
				return userBadRequest("License %s is listed more than once.", a.SkuID) // UNCONFIRMED wording
			}
			seen[sku] = true
			var disabled []string
			for _, p := range a.DisabledPlans {
				found := false
				for _, sp := range k.ServicePlans {
					found = found || strings.EqualFold(sp.ServicePlanID, p)
				}
				if !found {
					return invalidUserValue("disabledPlans") // UNCONFIRMED wording
				}
				disabled = append(disabled, strings.ToLower(p))
			}
			adds = append(adds, AssignedLicense{SkuID: sku, DisabledPlans: disabled})
		}
		removes := map[string]bool{}
		for _, rm := range *body.RemoveLicenses {
			rm = strings.ToLower(rm)
			if seen[rm] {
				return userBadRequest("License %s cannot be added and removed in the same request.", rm) // UNCONFIRMED wording
			}
			has := false
			for _, l := range u.AssignedLicenses {
				has = has || l.SkuID == rm
			}
			if !has {
				return userBadRequest("User does not have a corresponding license.") // UNCONFIRMED wording
			}
			removes[rm] = true
		}
		if len(adds) > 0 && u.UsageLocation == "" {
			return userBadRequest("%s", msgNoUsageLocation)
		}
		// Seats: a SKU the user has already changes only its disabled plans.
		for _, a := range adds {
			already := false
			for _, l := range u.AssignedLicenses {
				already = already || l.SkuID == a.SkuID
			}
			if already {
				continue
			}
			k := skuLocked(st, a.SkuID)
			if k.Enabled+k.Warning-k.Consumed < 1 {
				return userBadRequest("Subscription with SKU %s does not have any available licenses.", a.SkuID)
			}
		}
		var keep []AssignedLicense
		for _, l := range u.AssignedLicenses {
			switch {
			case removes[l.SkuID]:
				consumeLicences(st, []AssignedLicense{l}, -1)
			case seen[l.SkuID]:
				// replaced below with its new disabled plans, seat kept
			default:
				keep = append(keep, l)
			}
		}
		for _, a := range adds {
			already := false
			for _, l := range u.AssignedLicenses {
				already = already || l.SkuID == a.SkuID
			}
			if !already {
				consumeLicences(st, []AssignedLicense{a}, +1)
			}
			keep = append(keep, a)
		}
		u.AssignedLicenses = keep
		st.Users[id] = u
		s.mailboxLicencesChangedLocked(st, u) // mailboxes.go: provisioning starts or is cancelled
		obj = entraUserJSON(st, u)
		return nil
	})
	if err != nil {
		s.writeUserError(w, err)
		return
	}
	objs, _, _ := projectUsers(&http.Request{URL: &url.URL{}}, []map[string]any{obj})
	out := objs[0]
	out["@odata.context"] = s.odataContext("users/$entity")
	writeJSON(w, http.StatusOK, out)
}
