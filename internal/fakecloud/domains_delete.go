package fakecloud

// Deleting domains and what uses them: the references of a domain (the seed's and those of every
// registered source, listed by GET /v1.0/domains/{id}/domainNameReferences), DELETE
// (https://learn.microsoft.com/graph/api/domain-delete) and forceDelete
// (https://learn.microsoft.com/graph/api/domain-forcedelete), which renames the references to the
// initial domain and leaves the domain visible for a while.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// DomainReference is a directory object that uses a domain (a user's UPN or mail, a group's mail,
// an application's identifier URI), as GET /domains/{id}/domainNameReferences lists it.
type DomainReference struct {
	// Type is "user", "group" or "application".
	Type string `json:"type"`
	// ID is the object id (a GUID; derived from the other fields when a seed leaves it empty).
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	// Name is where the domain appears: the user's UPN, the group's mail, the application's
	// identifier URI.
	Name string `json:"name"`
}

// DomainReferenceSource lists the objects of the tenant that use domain (lower case), beyond the
// seed's domain_references. It runs with the state locked (inside read or mutate): it must not
// call s.read or s.mutate and must not keep st.
type DomainReferenceSource func(st *State, domain string) []DomainReference

// DomainRenameHook renames every use of the domain from (lower case) to the domain to (the
// initial domain), as forceDelete does; disableUserAccounts asks for the renamed users to be
// disabled. It runs inside mutate: change st directly, never call s.read or s.mutate.
type DomainRenameHook func(st *State, from, to string, disableUserAccounts bool)

// addDomainReferenceSource registers a source of live references (e.g. users whose UPN uses the
// domain). Call it from an addGraphRoutes installer, which runs before the server serves:
//
//	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
//		s.addDomainReferenceSource(func(st *State, domain string) []DomainReference { ... })
//	})
func (s *Server) addDomainReferenceSource(src DomainReferenceSource) {
	s.domainRefSources = append(s.domainRefSources, src)
}

// addDomainRenameHook registers a function that forceDelete calls to rename references (see
// DomainRenameHook). Call it from an addGraphRoutes installer, like addDomainReferenceSource.
func (s *Server) addDomainRenameHook(h DomainRenameHook) {
	s.domainRenameHooks = append(s.domainRenameHooks, h)
}

// domainReferences lists the seeded references of domain, then those of every source.
func (s *Server) domainReferences(st *State, domain string) []DomainReference {
	out := append([]DomainReference(nil), st.DomainReferences[domain]...)
	for _, src := range s.domainRefSources {
		out = append(out, src(st, domain)...)
	}
	return out
}

// renameDomainIn replaces the domain where it is the host of an address or URI ("a@d", "https://d/x").
func renameDomainIn(value, from, to string) string {
	re := regexp.MustCompile(`(?i)(^|[@/])` + regexp.QuoteMeta(from) + `($|[/:?#])`)
	return re.ReplaceAllString(value, "${1}"+to+"${2}")
}

// forceDeleteDue reports whether a force-deleted domain should be gone by now.
func forceDeleteDue(d Domain, now time.Time) bool {
	return d.State.Operation == opForceDelete &&
		(d.ForceDeleteReads >= forceDeleteVisibleReads || now.Sub(d.State.LastActionDateTime) >= forceDeleteDuration)
}

// settleForceDeletes removes the force-deleted domains whose time has come.
func (s *Server) settleForceDeletes() {
	now := time.Now()
	due := false
	s.read(func(st *State) {
		for _, d := range st.Domains {
			due = due || forceDeleteDue(d, now)
		}
	})
	if !due {
		return
	}
	err := s.mutate(func(st *State) error {
		for id, d := range st.Domains {
			if forceDeleteDue(d, now) {
				delete(st.Domains, id)
				delete(st.DomainReferences, id)
			}
		}
		return nil
	})
	if err != nil {
		s.logf("fakecloud: finishing forceDelete: %v", err)
	}
}

// describeReferences renders up to 5 references for an error message.
func describeReferences(refs []DomainReference) string {
	var parts []string
	for i, ref := range refs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(refs)-5))
			break
		}
		parts = append(parts, ref.Type+" "+ref.Name)
	}
	return strings.Join(parts, ", ")
}

// deletable checks the conditions DELETE and forceDelete share.
func deletable(st *State, d Domain) *apiError {
	switch {
	case d.IsInitial:
		return badRequest("The initial domain %s cannot be deleted.", d.ID) // UNCONFIRMED wording
	case d.IsDefault:
		return badRequest("The default domain %s cannot be deleted. Make another verified domain the default first.", d.ID) // UNCONFIRMED wording
	case d.State.Operation == opForceDelete:
		return badRequest("A forceDelete of the domain %s is already in progress.", d.ID) // UNCONFIRMED wording
	}
	if subs := subdomainsOf(st, d.ID); len(subs) > 0 {
		return badRequest("The domain %s cannot be deleted while it has subdomains: %s. Delete them first.", // UNCONFIRMED wording
			d.ID, strings.Join(subs, ", "))
	}
	return nil
}

func (s *Server) handleDeleteDomain(w http.ResponseWriter, r *http.Request) {
	id := domainID(r)
	if _, aerr := s.liveDomain(id, false); aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	err := s.mutate(func(st *State) error {
		d, ok := st.Domains[id]
		if !ok {
			return domainNotFound(id)
		}
		if d.State.Operation == opForceDelete {
			// Its references are renamed already: the plain delete just finishes the job.
			delete(st.Domains, id)
			delete(st.DomainReferences, id)
			return nil
		}
		if aerr := deletable(st, d); aerr != nil {
			return aerr
		}
		if refs := s.domainReferences(st, id); len(refs) > 0 {
			// https://learn.microsoft.com/graph/api/domain-delete: the exact body is UNCONFIRMED.
			return badRequest("Unable to delete the domain %s: %d objects still reference it (%s). "+
				"List them with GET /domains/%s/domainNameReferences and remove the references, or use forceDelete.",
				id, len(refs), describeReferences(refs), id)
		}
		delete(st.Domains, id)
		delete(st.DomainReferences, id)
		return nil
	})
	if err != nil {
		s.writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleForceDeleteDomain(w http.ResponseWriter, r *http.Request) {
	id := domainID(r)
	body, aerr := readBodyObject(r, true)
	if aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	disable := true // https://learn.microsoft.com/graph/api/domain-forcedelete: the default
	if raw, ok := body["disableUserAccounts"]; ok && !isNullJSON(raw) {
		if json.Unmarshal(raw, &disable) != nil {
			s.writeAPIError(w, badRequest("Invalid value for property 'disableUserAccounts'."))
			return
		}
	}
	if _, aerr := s.liveDomain(id, false); aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	err := s.mutate(func(st *State) error {
		d, ok := st.Domains[id]
		if !ok {
			return domainNotFound(id)
		}
		if aerr := deletable(st, d); aerr != nil {
			return aerr
		}
		if refs := s.domainReferences(st, id); len(refs) > maxForceDeleteReferences {
			return badRequest("The domain %s has %d references; forceDelete renames at most %d.", // UNCONFIRMED wording
				id, len(refs), maxForceDeleteReferences)
		}
		to := strings.ToLower(st.InitialDomain)
		for _, ref := range st.DomainReferences[id] {
			ref.Name = renameDomainIn(ref.Name, id, to)
			if st.DomainReferences == nil {
				st.DomainReferences = map[string][]DomainReference{}
			}
			st.DomainReferences[to] = append(st.DomainReferences[to], ref)
		}
		delete(st.DomainReferences, id)
		for _, h := range s.domainRenameHooks {
			h(st, id, to, disable)
		}
		d.State = DomainState{Operation: opForceDelete, Status: statusInProgress, LastActionDateTime: time.Now().UTC()}
		d.ForceDeleteReads = 0
		st.Domains[id] = d
		return nil
	})
	if err != nil {
		s.writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// referenceJSON renders a reference as the directoryObject Graph returns (typed by @odata.type).
func referenceJSON(ref DomainReference) map[string]any {
	m := map[string]any{
		"@odata.type": "#microsoft.graph." + ref.Type,
		"id":          ref.ID,
		"displayName": ref.DisplayName,
	}
	switch ref.Type {
	case "user":
		m["userPrincipalName"] = ref.Name
		m["mail"] = ref.Name
	case "group":
		m["mail"] = ref.Name
	case "application":
		m["identifierUris"] = []string{ref.Name}
	}
	return m
}

func (s *Server) handleDomainNameReferences(w http.ResponseWriter, r *http.Request) {
	id := domainID(r)
	if _, aerr := s.liveDomain(id, false); aerr != nil {
		s.writeAPIError(w, aerr)
		return
	}
	objs := []map[string]any{}
	s.read(func(st *State) {
		for _, ref := range s.domainReferences(st, id) {
			objs = append(objs, referenceJSON(ref))
		}
	})
	page, next, err := s.pageOf(r, objs, "domainNameReferences:"+id)
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	out := map[string]any{"@odata.context": s.odataContext("directoryObjects"), "value": page}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	writeJSON(w, http.StatusOK, out)
}
