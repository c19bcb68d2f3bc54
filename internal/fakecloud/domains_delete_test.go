package fakecloud

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// domainHookRecorders lets a test see and drive the reference source and rename hook that the
// installer below registers on every server (only servers stored here are affected).
var domainHookRecorders sync.Map // *Server -> *domainHookRecorder

type domainHookRecorder struct {
	mu      sync.Mutex
	users   map[string]DomainReference // id -> live user
	renames []string                   // "from -> to disable=bool"
}

func init() {
	addGraphRoutes(func(s *Server, mux *http.ServeMux) {
		s.addDomainReferenceSource(func(st *State, domain string) []DomainReference {
			v, ok := domainHookRecorders.Load(s)
			if !ok {
				return nil
			}
			rec := v.(*domainHookRecorder)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			var out []DomainReference
			for _, id := range sortedKeys(rec.users) {
				if u := rec.users[id]; strings.HasSuffix(u.Name, "@"+domain) {
					out = append(out, u)
				}
			}
			return out
		})
		s.addDomainRenameHook(func(st *State, from, to string, disable bool) {
			v, ok := domainHookRecorders.Load(s)
			if !ok {
				return
			}
			rec := v.(*domainHookRecorder)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.renames = append(rec.renames, fmt.Sprintf("%s -> %s disable=%t", from, to, disable))
			for id, u := range rec.users {
				u.Name = strings.TrimSuffix(u.Name, "@"+from) + "@" + to
				rec.users[id] = u
			}
		})
	})
}

func refSeed() *Seed {
	return seedWith(func(sd *Seed) {
		sd.Domains = []SeedDomain{{ID: "contoso.com", IsVerified: true, SupportedServices: []string{"Email"}}, {ID: "spare.org", IsVerified: true}}
		sd.DomainReferences = map[string][]DomainReference{
			"Contoso.com": {
				{Type: "user", Name: "alice@contoso.com", DisplayName: "Alice"},
				{Type: "Group", Name: "sales@contoso.com"},
				{Type: "application", Name: "https://contoso.com/api", DisplayName: "API", ID: "11111111-2222-4333-8444-555555555555"},
			},
		}
	})
}

func TestDomainReferencesDeleteAndForceDelete(t *testing.T) {
	f := newFixture(t, Options{Seed: refSeed()})
	tok := f.graphToken()
	resp, m := f.get(tok, "/v1.0/domains/contoso.com/domainNameReferences")
	if resp.StatusCode != 200 || m["@odata.context"] != f.s.GraphEndpoint()+"/v1.0/$metadata#directoryObjects" {
		t.Fatalf("references: %d %v", resp.StatusCode, m)
	}
	refs := values(t, m)
	if len(refs) != 3 {
		t.Fatalf("want 3 references: %v", refs)
	}
	user, group, app := refs[0], refs[1], refs[2]
	if user["@odata.type"] != "#microsoft.graph.user" || user["userPrincipalName"] != "alice@contoso.com" ||
		user["displayName"] != "Alice" || !isGUID(user["id"].(string)) {
		t.Fatalf("user reference: %v", user)
	}
	if group["@odata.type"] != "#microsoft.graph.group" || group["mail"] != "sales@contoso.com" || group["displayName"] != "sales@contoso.com" {
		t.Fatalf("group reference: %v", group)
	}
	if app["@odata.type"] != "#microsoft.graph.application" || strs(app["identifierUris"])[0] != "https://contoso.com/api" ||
		app["id"] != "11111111-2222-4333-8444-555555555555" {
		t.Fatalf("application reference: %v", app)
	}
	_, m = f.get(tok, "/v1.0/domains/contoso.com/domainNameReferences?$top=2")
	if len(values(t, m)) != 2 || m["@odata.nextLink"] == nil {
		t.Fatalf("$top=2: %v", m)
	}
	_, m = f.get(tok, m["@odata.nextLink"].(string))
	if v := values(t, m); len(v) != 1 || v[0]["@odata.type"] != "#microsoft.graph.application" {
		t.Fatalf("second page: %v", m)
	}
	if _, m := f.get(tok, "/v1.0/domains/spare.org/domainNameReferences"); len(values(t, m)) != 0 {
		t.Fatalf("unreferenced domain: %v", m)
	}

	resp, b := f.graph(http.MethodDelete, "/v1.0/domains/contoso.com", tok, nil, nil)
	msg := wantGraphError(t, "delete referenced", resp, b, 400, "Request_BadRequest", "")
	for _, want := range []string{"3 objects", "user alice@contoso.com", "group sales@contoso.com", "forceDelete"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("delete message %q lacks %q", msg, want)
		}
	}

	resp, b = f.graph(http.MethodPost, "/v1.0/domains/contoso.com/forceDelete", tok, map[string]any{"disableUserAccounts": false}, nil)
	if resp.StatusCode != 204 || len(b) != 0 {
		t.Fatalf("forceDelete: %d %s", resp.StatusCode, b)
	}
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/contoso.com/forceDelete", tok, nil, nil)
	wantGraphError(t, "forceDelete twice", resp, b, 400, "Request_BadRequest", "")

	// Visible for two GETs with its state, then gone.
	for i := 0; i < forceDeleteVisibleReads; i++ {
		resp, m := f.get(tok, "/v1.0/domains/contoso.com")
		st, _ := m["state"].(map[string]any)
		if resp.StatusCode != 200 || st["operation"] != "ForceDelete" || st["status"] != "InProgress" {
			t.Fatalf("GET %d during forceDelete: %d %v", i+1, resp.StatusCode, m)
		}
		if _, err := time.Parse(time.RFC3339, st["lastActionDateTime"].(string)); err != nil {
			t.Fatalf("lastActionDateTime: %v", err)
		}
	}
	resp, b = f.graph(http.MethodGet, "/v1.0/domains/contoso.com", tok, nil, nil)
	wantGraphError(t, "after forceDelete", resp, b, 404, "Request_ResourceNotFound", "")

	// The references now use the initial domain.
	_, m = f.get(tok, "/v1.0/domains/"+DefaultInitialDomain+"/domainNameReferences")
	var names []string
	for _, v := range values(t, m) {
		switch v["@odata.type"] {
		case "#microsoft.graph.user":
			names = append(names, v["userPrincipalName"].(string))
		case "#microsoft.graph.group":
			names = append(names, v["mail"].(string))
		case "#microsoft.graph.application":
			names = append(names, strs(v["identifierUris"])...)
		}
	}
	want := "alice@contoso.onmicrosoft.com,sales@contoso.onmicrosoft.com,https://contoso.onmicrosoft.com/api"
	if strings.Join(names, ",") != want {
		t.Fatalf("renamed references %v, want %s", names, want)
	}

	// Without GETs the domain goes after forceDeleteDuration.
	start := time.Now()
	if resp, _ := f.graph(http.MethodPost, "/v1.0/domains/spare.org/forceDelete", tok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("forceDelete unreferenced: %d", resp.StatusCode)
	}
	for {
		_, m := f.get(tok, "/v1.0/domains") // listing does not count as a GET of the domain
		gone := true
		for _, v := range values(t, m) {
			gone = gone && v["id"] != "spare.org"
		}
		if gone {
			if time.Since(start) < forceDeleteDuration {
				t.Fatalf("gone after %v", time.Since(start))
			}
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("force-deleted domain never went away")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDomainReferencesSeededForADomainAddedLater(t *testing.T) {
	seed := seedWith(func(sd *Seed) {
		sd.DomainReferences = map[string][]DomainReference{"fabrikam.com.": {{Type: "user", Name: "zhang.san@fabrikam.com", DisplayName: "张三"}}}
	})
	f := newFixture(t, Options{Seed: seed, Knobs: Knobs{AutoVerify: true}})
	tok := f.graphToken()
	resp, b := f.graph(http.MethodGet, "/v1.0/domains/fabrikam.com/domainNameReferences", tok, nil, nil)
	wantGraphError(t, "references before the domain exists", resp, b, 404, "Request_ResourceNotFound", "")
	f.graph(http.MethodPost, "/v1.0/domains", tok, map[string]any{"id": "fabrikam.com"}, nil)
	_, m := f.get(tok, "/v1.0/domains/fabrikam.com/domainNameReferences?$top=10")
	if v := values(t, m); len(v) != 1 || v[0]["displayName"] != "张三" || v[0]["userPrincipalName"] != "zhang.san@fabrikam.com" {
		t.Fatalf("references once added: %v", m)
	}
	resp, b = f.graph(http.MethodDelete, "/v1.0/domains/fabrikam.com", tok, nil, nil)
	wantGraphError(t, "delete", resp, b, 400, "Request_BadRequest", "")
}

func TestDomainReferenceSourcesAndRenameHooks(t *testing.T) {
	seed := seedWith(func(sd *Seed) { sd.Domains = []SeedDomain{{ID: "fabrikam.com", IsVerified: true}} })
	f := newFixture(t, Options{Seed: seed})
	rec := &domainHookRecorder{users: map[string]DomainReference{
		"u1": {Type: "user", ID: "u1", DisplayName: "Bob", Name: "bob@fabrikam.com"},
	}}
	domainHookRecorders.Store(f.s, rec)
	defer domainHookRecorders.Delete(f.s)
	tok := f.graphToken()

	_, m := f.get(tok, "/v1.0/domains/fabrikam.com/domainNameReferences")
	if v := values(t, m); len(v) != 1 || v[0]["userPrincipalName"] != "bob@fabrikam.com" || v[0]["displayName"] != "Bob" {
		t.Fatalf("live reference: %v", m)
	}
	resp, b := f.graph(http.MethodDelete, "/v1.0/domains/fabrikam.com", tok, nil, nil)
	if msg := wantGraphError(t, "delete with a live user", resp, b, 400, "Request_BadRequest", ""); !strings.Contains(msg, "bob@fabrikam.com") {
		t.Fatalf("message %q", msg)
	}
	if resp, _ := f.graph(http.MethodPost, "/v1.0/domains/fabrikam.com/forceDelete", tok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("forceDelete: %d", resp.StatusCode)
	}
	rec.mu.Lock()
	renames := append([]string(nil), rec.renames...)
	rec.mu.Unlock()
	if fmt.Sprint(renames) != "[fabrikam.com -> contoso.onmicrosoft.com disable=true]" {
		t.Fatalf("rename hook calls: %v", renames)
	}
	_, m = f.get(tok, "/v1.0/domains/"+DefaultInitialDomain+"/domainNameReferences")
	if v := values(t, m); len(v) != 1 || v[0]["userPrincipalName"] != "bob@contoso.onmicrosoft.com" {
		t.Fatalf("renamed live reference: %v", m)
	}
}

func TestDomainDeleteGuards(t *testing.T) {
	seed := seedWith(func(sd *Seed) {
		sd.Domains = []SeedDomain{{ID: "fabrikam.com", IsVerified: true, IsDefault: true}}
	})
	f := newFixture(t, Options{Seed: seed})
	tok := f.graphToken()
	if _, m := f.get(tok, "/v1.0/domains/"+DefaultInitialDomain); m["isDefault"] != false {
		t.Fatal("a seeded default domain takes the flag from the initial domain")
	}
	for _, c := range []struct{ method, path, want string }{
		{http.MethodDelete, "/v1.0/domains/" + DefaultInitialDomain, "initial"},
		{http.MethodPost, "/v1.0/domains/" + DefaultInitialDomain + "/forceDelete", "initial"},
		{http.MethodDelete, "/v1.0/domains/fabrikam.com", "default"},
		{http.MethodPost, "/v1.0/domains/fabrikam.com/forceDelete", "default"},
	} {
		resp, b := f.graph(c.method, c.path, tok, nil, nil)
		if msg := wantGraphError(t, c.method+" "+c.path, resp, b, 400, "Request_BadRequest", ""); !strings.Contains(msg, c.want) {
			t.Fatalf("%s %s: message %q lacks %q", c.method, c.path, msg, c.want)
		}
	}
	resp, b := f.graph(http.MethodPost, "/v1.0/domains/nowhere.example/forceDelete", tok, map[string]any{"disableUserAccounts": true}, nil)
	wantGraphError(t, "forceDelete unknown", resp, b, 404, "Request_ResourceNotFound", "")
	resp, b = f.graph(http.MethodPost, "/v1.0/domains/fabrikam.com/forceDelete", tok, map[string]any{"disableUserAccounts": "yes"}, nil)
	wantGraphError(t, "forceDelete bad body", resp, b, 400, "Request_BadRequest", "")
}
