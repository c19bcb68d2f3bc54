package fakecloud

// Graph's view of distribution groups: read-only. "Only Microsoft 365 and security groups can be
// managed through the Microsoft Graph groups API. Mail-enabled and distribution groups are
// read-only" (https://learn.microsoft.com/graph/api/resources/groups-overview). The fake lists
// the Exchange distribution groups under /groups, refuses to create mail-enabled groups that are
// not Microsoft 365 groups, and refuses membership writes on them. Microsoft 365 and security
// groups are not modelled.

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
)

func init() {
	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /v1.0/groups", s.handleListGroups)
		mux.HandleFunc("GET /v1.0/groups/{id}", s.handleGetGroup)
		mux.HandleFunc("POST /v1.0/groups", s.handleCreateGroup)
		mux.HandleFunc("POST /v1.0/groups/{id}/members/$ref", s.handleGroupMemberWrite)
		mux.HandleFunc("DELETE /v1.0/groups/{id}/members/{member}/$ref", s.handleGroupMemberWrite)
	})
}

// graphGroupID is a distribution group's Entra object id.
func graphGroupID(g DistributionGroup) string { return derivedGUID("distribution-group", g.GUID) }

func graphGroupJSON(g DistributionGroup) map[string]any {
	return map[string]any{
		"id": graphGroupID(g), "displayName": g.DisplayName, "mail": g.PrimarySmtpAddress, "mailNickname": g.Alias,
		"mailEnabled": true, "securityEnabled": g.Type == "Security", "groupTypes": []string{},
		"proxyAddresses": g.EmailAddresses, "createdDateTime": g.Created.Format("2006-01-02T15:04:05Z"),
	}
}

func (s *Server) groupByGraphID(id string) (DistributionGroup, bool) {
	var out DistributionGroup
	found := false
	s.read(func(st *State) {
		i := slices.IndexFunc(st.DistributionGroups, func(g DistributionGroup) bool { return strings.EqualFold(graphGroupID(g), id) })
		if i >= 0 {
			out, found = st.DistributionGroups[i], true
		}
	})
	return out, found
}

func groupNotFoundGraph(id string) *apiError {
	return &apiError{http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."}
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	var list []map[string]any
	s.read(func(st *State) {
		for _, g := range st.DistributionGroups {
			list = append(list, graphGroupJSON(g))
		}
	})
	if list == nil {
		list = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.odataContext("groups"), "value": list})
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := s.groupByGraphID(r.PathValue("id"))
	if !ok {
		s.writeAPIError(w, groupNotFoundGraph(r.PathValue("id")))
		return
	}
	out := graphGroupJSON(g)
	out["@odata.context"] = s.odataContext("groups/$entity")
	writeJSON(w, http.StatusOK, out)
}

// handleCreateGroup refuses a mail-enabled group that is not a Microsoft 365 group (a distribution
// group or a mail-enabled security group). The message is the one Graph is seen to answer
// (UNCONFIRMED first-party).
func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	var body struct {
		MailEnabled bool     `json:"mailEnabled"`
		GroupTypes  []string `json:"groupTypes"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err := json.Unmarshal(raw, &body); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "The request body is not valid JSON.")
		return
	}
	unified := slices.ContainsFunc(body.GroupTypes, func(t string) bool { return strings.EqualFold(t, "Unified") })
	if body.MailEnabled && !unified {
		graphError(w, http.StatusBadRequest, "Request_BadRequest",
			"The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or set to false.")
		return
	}
	graphError(w, http.StatusNotImplemented, "NotImplemented",
		"fakecloud models distribution groups only (Exchange New-DistributionGroup); Microsoft 365 and security groups are not implemented.")
}

// handleGroupMemberWrite refuses membership changes of a distribution group through Graph (status
// and text seen in third-party reports; UNCONFIRMED first-party).
func (s *Server) handleGroupMemberWrite(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.groupByGraphID(r.PathValue("id")); !ok {
		s.writeAPIError(w, groupNotFoundGraph(r.PathValue("id")))
		return
	}
	graphError(w, http.StatusForbidden, "Authorization_RequestDenied",
		"Cannot Update a mail-enabled security groups and or distribution list.")
}
