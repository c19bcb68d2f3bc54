package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// Read refreshes every user with one paged list per domain, plus one SKU read when licences are
// managed. The per-domain list is an advanced query (endsWith), served by an eventually consistent
// index that misses users created seconds ago (https://learn.microsoft.com/graph/aad-advanced-queries):
// users of the state that it does not return are read directly by id, many per $batch request,
// and leave the state only on evidence that they are gone (graph.ReadUsersByID), each named in a
// warning.
func (r *usersResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m usersResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Read(ctx, usersTimeouts.Read)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	g := r.clients.Graph
	us, _ := usersFromAttributes(m.Attributes, &resp.Diagnostics)
	ids := stringMap(m.IDs)
	if resp.Diagnostics.HasError() || len(us) == 0 {
		return
	}
	keys := sortedKeys(us)
	found, err := listExisting(ctx, g, keys)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Read Users", "refreshing "+plural(len(us), "user")+" (GET /users)", err, userCheckPermissions, "")
		return
	}
	byID := map[string]graph.User{}
	for _, u := range found {
		byID[strings.ToLower(u.ID)] = u
	}
	var licenses []resolvedLicense
	if ls := mustLicenses(ctx, m.Licenses); len(ls) > 0 {
		skus, err := r.clients.cache().SKUs(ctx, g, false)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read SKUs", "refreshing the users' licences (GET /subscribedSkus)", err, skuPermissions, "")
			return
		}
		licenses, _ = resolveLicenses(newSkuIndex(skus), ls)
	}
	initial := stringMap(m.InitialPasswords)
	listed := map[string]graph.User{}
	var missing []string // ids (or UPNs) of the users the list did not return
	for _, k := range keys {
		gu, ok := byID[strings.ToLower(ids[k])]
		if !ok {
			gu, ok = found[strings.ToLower(k)]
		}
		if ok {
			listed[k] = gu
		} else {
			missing = append(missing, firstNonEmpty(ids[k], k))
		}
	}
	if len(missing) > 0 {
		// Not in the list: not indexed yet, renamed to another domain, or deleted. Read them by id.
		tflog.Info(ctx, "users missing from the list; reading them by id", map[string]any{"missing": len(missing), "of": len(keys)})
		direct, gone, err := g.ReadUsersByID(ctx, missing)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read Users", fmt.Sprintf("refreshing %s that the user list did not return, by id (GET /users/{id} in $batch)", plural(len(missing), "user")), err, userCheckPermissions,
				"The state is unchanged. Apply or plan again; if it persists, raise timeouts.read.")
			return
		}
		goneByID := map[string]graph.GoneUser{}
		for _, gu := range gone {
			goneByID[gu.ID] = gu
		}
		var dropped []string
		for _, k := range keys {
			if _, ok := listed[k]; ok {
				continue
			}
			id := firstNonEmpty(ids[k], k)
			if gu, ok := direct[id]; ok {
				listed[k] = gu
				continue
			}
			if ev, ok := goneByID[id]; ok {
				tflog.Info(ctx, "user is gone from the tenant; removing it from state", map[string]any{"user_principal_name": k, "id": id, "evidence": ev.Evidence()})
				dropped = append(dropped, fmt.Sprintf("  - %s: %s", k, ev.Evidence()))
				delete(us, k)
				delete(ids, k)
				delete(initial, k)
			}
		}
		if len(dropped) > 0 {
			resp.Diagnostics.AddWarning("Users No Longer In The Tenant",
				fmt.Sprintf("%s of this resource were deleted outside Terraform and leave its state:\n%s\n\n", plural(len(dropped), "user"), strings.Join(dropped, "\n"))+
					"The next apply creates them again if they are still in users. A user in the deleted users keeps its user name for 30 days: restore it instead "+
					"(admin centre: Users > Deleted users) and set adopt_existing = true, or remove it from users.")
		}
	}
	st := users.State{Users: us, IDs: ids}
	assigned := users.Refresh(&st, listed, licences(licenses))
	// Aliases: one listing of the mailboxes, only when some user has aliases managed.
	if prior := users.ManagedAliases(us); len(prior) > 0 {
		read, err := readAliases(ctx, r.clients.Exchange, prior)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Read Aliases", fmt.Sprintf("refreshing the email aliases of %s (Get-Mailbox)", plural(len(prior), "user")), err, aliasPermissions,
				"The state is unchanged. Plan again; if it persists, raise timeouts.read.")
			return
		}
		users.RefreshAliases(us, read)
	}
	m.Users = types.DynamicNull()
	m.Attributes = attributesValue(us, assigned, !m.Licenses.IsNull())
	m.IDs = stringMapValue(ids)
	if !m.InitialPasswords.IsNull() {
		m.InitialPasswords = stringMapValue(initial)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
