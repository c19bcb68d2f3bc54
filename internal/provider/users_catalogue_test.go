package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// TestCatalogueInEverySchema walks every attribute of the catalogue through the schemas: the
// users of m365_users_csv and m365_exmail_directory, an element of m365_users.users (and its JSON
// document), and m365_user (the Graph attributes). With internal/graph's
// TestCatalogueWalksFromCSVToGraph, adding an entry to the catalogue is all a new attribute needs.
func TestCatalogueInEverySchema(t *testing.T) {
	ctx := context.Background()
	var one resource.SchemaResponse
	NewUserResource().Schema(ctx, resource.SchemaRequest{}, &one)
	var many resource.SchemaResponse
	NewUsersResource().Schema(ctx, resource.SchemaRequest{}, &many)
	var csv, dir datasource.SchemaResponse
	NewUsersCSVDataSource().Schema(ctx, datasource.SchemaRequest{}, &csv)
	NewExmailDirectoryDataSource().Schema(ctx, datasource.SchemaRequest{}, &dir)
	elem := usersElemSchemas()
	for _, a := range userattr.All() {
		if _, ok := csvUserObjectType.AttrTypes[a.Name]; !ok {
			t.Errorf("%s: not in the users of m365_users_csv and m365_exmail_directory", a.Name)
		}
		if _, ok := elem[a.Name]; !ok {
			t.Errorf("%s: not an attribute of a user of m365_users", a.Name)
		}
		_, inOne := one.Schema.Attributes[a.Name]
		if !inOne {
			t.Errorf("%s: not an attribute of m365_user", a.Name)
		}
		if a.Graph != "" && !isUserResourceAttr(a.Name) {
			t.Errorf("%s: m365_user does not read it through the catalogue", a.Name)
		}
		for what, doc := range map[string]string{
			"m365_users_csv": csv.Schema.Attributes["users"].GetMarkdownDescription(),
			"m365_users":     many.Schema.Attributes["users"].GetMarkdownDescription(),
		} {
			if !strings.Contains(doc, "`"+a.Name+"`") {
				t.Errorf("%s: not documented in %s.users", a.Name, what)
			}
		}
		// The JSON document of m365_users keeps it.
		var u users.User
		if a.Kind == userattr.List {
			u.SetList(a.Name, []string{"v"})
		} else {
			u.Set(a.Name, "v")
		}
		back, _, err := users.Decode(users.Encode(u, nil, false))
		if err != nil || !back.Equal(u) {
			t.Errorf("%s: the JSON document lost it: %+v %v", a.Name, back, err)
		}
	}
}
