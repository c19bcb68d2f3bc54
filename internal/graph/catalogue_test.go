package graph

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

// sampleValue is a valid CSV value for attribute a.
func sampleValue(a userattr.Attr) string {
	switch a.Check {
	case userattr.CheckUPN:
		return "zhang.san@corp.com"
	case userattr.CheckMailNickname:
		return "zs"
	case userattr.CheckCountryCode:
		return "CN"
	case userattr.CheckLanguageTag:
		return "zh-CN"
	case userattr.CheckEmails:
		return "x." + strings.ReplaceAll(a.Name, "_", "-") + "@corp.com"
	}
	return "v-" + a.Name
}

// TestCatalogueWalksFromCSVToGraph walks every attribute of the catalogue from a CSV column to the
// body of POST /users and back from a Graph user object: adding an attribute to the catalogue is
// all it takes for it to travel.
func TestCatalogueWalksFromCSVToGraph(t *testing.T) {
	var header, row []string
	cols := map[string]string{}
	for _, a := range userattr.All() {
		h := "h_" + a.Name
		header, row = append(header, h), append(row, sampleValue(a))
		cols[a.Name] = h
	}
	csv := strings.Join(header, ",") + "\n" + strings.Join(row, ",") + "\n"
	res, err := usercsv.ParseUsers([]byte(csv), usercsv.UserOptions{Name: "all.csv", Format: "custom", Columns: cols})
	if err != nil || len(res.Problems) > 0 || len(res.Users) != 1 {
		t.Fatalf("%v %v %d", err, res.Problems, len(res.Users))
	}
	u := res.Users[0]
	body := createBody(NewUser{User: User{Values: u.Values}})
	answer := map[string]any{"id": "1"}
	for _, a := range userattr.All() {
		want := sampleValue(a)
		if a.Kind == userattr.List {
			if got := u.GetList(a.Name); !slices.Equal(got, []string{want}) {
				t.Errorf("%s: CSV gave %q", a.Name, got)
			}
		} else if got := u.Get(a.Name); got != want {
			t.Errorf("%s: CSV gave %q", a.Name, got)
		}
		if a.Graph == "" {
			if _, sent := body[a.Name]; sent {
				t.Errorf("%s is not a Graph property but was sent", a.Name)
			}
			continue
		}
		got := fmt.Sprint(body[a.Graph])
		if a.Kind == userattr.List {
			want = "[" + want + "]"
		}
		if got != want {
			t.Errorf("%s: POST /users has %s = %s, want %s", a.Name, a.Graph, got, want)
		}
		answer[a.Graph] = body[a.Graph]
		if !strings.Contains(userSelect, a.Graph) {
			t.Errorf("%s: %s is not in $select", a.Name, a.Graph)
		}
	}
	b := []byte(mustJSON(t, answer))
	back, err := parseUser(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range userattr.All() {
		if a.Graph != "" && !back.Has(a.Name) {
			t.Errorf("%s: not read back from a Graph user", a.Name)
		}
	}
	ch := UserChanges{Attrs: u.Clone()}
	ch.Attrs.Delete(userattr.Aliases)
	patch, err := patchBody(ch)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range userattr.All() {
		if _, sent := patch[a.Graph]; a.Graph != "" && !sent {
			t.Errorf("%s: not in the PATCH body", a.Name)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
