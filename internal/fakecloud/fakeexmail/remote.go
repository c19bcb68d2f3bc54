package fakeexmail

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Test hooks under /_fake/ (not part of Tencent's API), for an IMAP server or a test in another
// process than the fake (cmd/fakecloud):
//
//	POST /_fake/imap_login  form username, password  → 204, or 403 with IMAPRefusal
//	GET  /_fake/members                              → the members with their passwords and switches
//	GET  /_fake/stats                                → Stats
func (s *Server) fakeHook(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/_fake/imap_login":
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return true
		}
		if err := s.IMAPLogin(r.PostFormValue("username"), r.PostFormValue("password")); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return true
		}
		w.WriteHeader(http.StatusNoContent)
	case "/_fake/members":
		s.mu.Lock()
		list := make([]Member, 0, len(s.members))
		for _, m := range s.members {
			list = append(list, m.Member)
		}
		s.mu.Unlock()
		sort.Slice(list, func(i, j int) bool { return list[i].UserID < list[j].UserID })
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	case "/_fake/stats":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	default:
		return false
	}
	return true
}

// RemoteAuth decides IMAP logins by asking a fake in another process (its /_fake/imap_login),
// for an in-process IMAP test server (it satisfies imaptest's Authenticator).
type RemoteAuth struct {
	Endpoint string       // the fake's host root, e.g. the ready file's exmail_endpoint
	Client   *http.Client // trusts the fake's CA
}

// IMAPLogin asks the fake.
func (a *RemoteAuth) IMAPLogin(username, password string) error {
	resp, err := a.Client.PostForm(strings.TrimRight(a.Endpoint, "/")+"/_fake/imap_login", url.Values{"username": {username}, "password": {password}})
	if err != nil {
		return ErrIMAPRefused
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if msg := strings.TrimSpace(string(b)); msg != "" {
		return errors.New(msg)
	}
	return ErrIMAPRefused
}
