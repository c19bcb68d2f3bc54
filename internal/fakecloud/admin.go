package fakecloud

import (
	"encoding/json"
	"net/http"
)

// adminHandler serves the fake's own routes on the Graph listener, without auth and outside the
// request log: GET /_fake/stats, GET /_fake/requests, GET|POST /_fake/knobs, POST /_fake/reset-stats,
// GET /_fake/mailboxes (user principal name -> when its mailbox appeared).
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(append(b, '\n'))
	}
	mux.HandleFunc("GET /_fake/stats", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /_fake/requests", func(w http.ResponseWriter, r *http.Request) {
		reqs := s.Requests()
		if reqs == nil {
			reqs = []RequestRecord{}
		}
		reply(w, http.StatusOK, reqs)
	})
	mux.HandleFunc("GET /_fake/knobs", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, s.Knobs())
	})
	mux.HandleFunc("POST /_fake/knobs", func(w http.ResponseWriter, r *http.Request) {
		if status, msg := decodeContentEncoding(r); status != 0 {
			reply(w, status, map[string]string{"error": msg})
			return
		}
		var k Knobs
		if err := decodeBody(r, &k); err != nil {
			reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := k.Validate(); err != nil {
			reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.SetKnobs(k)
		reply(w, http.StatusOK, s.Knobs())
	})
	mux.HandleFunc("GET /_fake/mailboxes", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, s.MailboxReadyTimes())
	})
	mux.HandleFunc("POST /_fake/reset-stats", func(w http.ResponseWriter, r *http.Request) {
		s.ResetStats()
		reply(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("/_fake/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNotFound, map[string]string{
			"error": "unknown admin route; try GET /_fake/stats, GET /_fake/requests, GET|POST /_fake/knobs, POST /_fake/reset-stats, GET /_fake/mailboxes",
		})
	})
	return mux
}
