package fakecloud

// The deleted-items container of users (https://learn.microsoft.com/graph/api/resources/directory):
// soft delete, list, get, restore and permanent delete, and the recently deleted users that the
// eventually consistent index of advanced queries still lists (list_lag).

import (
	"net/http"
	"strings"
	"time"
)

// softDeleteLocked moves the live user id to the deleted items: seats are freed, the UPN stays
// taken. The caller holds the state lock.
func (s *Server) softDeleteLocked(st *State, id string) {
	u := st.Users[id]
	s.rememberDeletion(u)
	u.Deleted = true
	u.DeletedDateTime = time.Now().UTC().Truncate(time.Second)
	consumeLicences(st, u.AssignedLicenses, -1)
	st.Users[id] = u
}

// deletedUserJSON renders a deleted user as a deleted item.
func deletedUserJSON(st *State, u User) map[string]any {
	m := entraUserJSON(st, u)
	m["@odata.type"] = "#microsoft.graph.user"
	return m
}

func (s *Server) handleListDeletedUsers(w http.ResponseWriter, r *http.Request) {
	var objs []map[string]any
	s.read(func(st *State) {
		for _, id := range sortedKeys(st.Users) {
			if u := st.Users[id]; u.Deleted {
				objs = append(objs, deletedUserJSON(st, u))
			}
		}
	})
	if objs == nil {
		objs = []map[string]any{}
	}
	objs, names, err := applySelect(r, "microsoft.graph.user", objs)
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": s.odataContext("directory/deletedItems/microsoft.graph.user" + selectSuffix(names)),
		"value":          objs,
	})
}

// deletedUserLocked finds a deleted user by id.
func deletedUserLocked(st *State, id string) (User, bool) {
	u, ok := st.Users[strings.ToLower(id)]
	return u, ok && u.Deleted
}

func (s *Server) handleGetDeletedItem(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var obj map[string]any
	s.read(func(st *State) {
		if u, ok := deletedUserLocked(st, id); ok {
			obj = deletedUserJSON(st, u)
		}
	})
	if obj == nil {
		notFoundGraph(w, id)
		return
	}
	objs, names, err := applySelect(r, "microsoft.graph.user", []map[string]any{obj})
	if err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	out := objs[0]
	out["@odata.context"] = s.odataContext("directory/deletedItems" + selectSuffix(names) + "/$entity")
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRestoreDeletedItem(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var obj map[string]any
	err := s.mutate(func(st *State) error {
		u, ok := deletedUserLocked(st, id)
		if !ok {
			return userNotFoundError(id)
		}
		u.Deleted = false
		u.DeletedDateTime = time.Time{}
		// Licences come back where seats are free; the others are dropped.
		var keep []AssignedLicense
		for _, l := range u.AssignedLicenses {
			if k := skuLocked(st, l.SkuID); k != nil && k.Enabled+k.Warning-k.Consumed >= 1 {
				k.Consumed++
				keep = append(keep, l)
			}
		}
		u.AssignedLicenses = keep
		st.Users[u.ID] = u
		obj = entraUserJSON(st, u)
		return nil
	})
	if err != nil {
		s.writeUserError(w, err)
		return
	}
	obj["@odata.type"] = "#microsoft.graph.user"
	obj["@odata.context"] = s.odataContext("directoryObjects/$entity")
	writeJSON(w, http.StatusOK, obj)
}

func (s *Server) handlePurgeDeletedItem(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.mutate(func(st *State) error {
		u, ok := deletedUserLocked(st, id)
		if !ok {
			return userNotFoundError(id)
		}
		delete(st.Users, u.ID)
		return nil
	})
	if err != nil {
		s.writeUserError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- the eventually consistent index of advanced queries (list_lag) -------------------------

// userDeletion is a user as it was when it was deleted, and when.
type userDeletion struct {
	user User
	at   time.Time
}

// rememberDeletion records u (live, not yet marked deleted) as deleted now, and forgets
// deletions older than the current list_lag.
func (s *Server) rememberDeletion(u User) {
	lag := s.Knobs().ListLag
	s.lagMu.Lock()
	defer s.lagMu.Unlock()
	if s.recentlyDeleted == nil {
		s.recentlyDeleted = map[string]userDeletion{}
	}
	m := s.recentlyDeleted
	now := time.Now()
	for id, d := range m {
		if now.Sub(d.at) >= lag {
			delete(m, id)
		}
	}
	if lag > 0 {
		m[u.ID] = userDeletion{user: u, at: now}
	}
}

// indexedUsersLocked is the users as the advanced-query index sees them with a lag of lag: users
// created less than lag ago are not there yet, users deleted (or purged) less than lag ago are
// still there as they were. The caller holds the state lock.
func (s *Server) indexedUsersLocked(st *State, lag time.Duration) map[string]User {
	out := make(map[string]User, len(st.Users))
	for id, u := range st.Users {
		if s.laggingFor(userKind, id, func(Knobs) time.Duration { return lag }) {
			continue
		}
		out[id] = u
	}
	s.lagMu.Lock()
	defer s.lagMu.Unlock()
	for id, d := range s.recentlyDeleted {
		if time.Since(d.at) < lag {
			out[id] = d.user
		}
	}
	return out
}
