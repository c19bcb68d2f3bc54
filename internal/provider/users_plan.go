package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// ModifyPlan completes the per-user values known at plan time (the shared usage location and
// account setting, the default mail nickname, unmanaged attributes kept as they are), keeps the
// ids and passwords of existing users, and runs the checks that read the tenant — unverified
// domains, users that exist but are not managed here, unknown SKUs or plans, missing usage
// locations, and free seats against the users that newly take each SKU. It writes nothing, and
// reads nothing when no user is added and the licences did not change.
func (r *usersResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config usersResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *usersResourceModel
	if !req.State.Raw.IsNull() {
		state = &usersResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	} else {
		markReplacing(ctx, resp.Private)
	}
	configUsers, ok, problems := usersFromRaw(req.Config.Raw)
	if len(problems) > 0 {
		reportUserProblems(problems, &resp.Diagnostics) // also reported by ValidateConfig
		return
	}
	if !ok {
		return // users known only after apply: attributes and ids stay unknown, nothing to check
	}
	stateUsers := map[string]users.User{}
	stateIDs, stateInitial := map[string]string{}, map[string]string{}
	stateAssigned := map[string][]string{}
	if state != nil {
		stateUsers, stateAssigned = usersFromAttributes(state.Attributes, &resp.Diagnostics)
		stateIDs, stateInitial = stringMap(state.IDs), stringMap(state.InitialPasswords)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	licenses, licKnown := licensesFromSet(ctx, plan.Licenses)
	var licenseKeys []string
	for _, l := range licenses {
		licenseKeys = append(licenseKeys, l.Sku.ValueString())
	}
	planUsers := users.Effective(configUsers, stateUsers, usersDefaults(plan))
	if state != nil {
		var removed []string
		for k := range stateUsers {
			if _, kept := planUsers[k]; !kept {
				removed = append(removed, k)
			}
		}
		// Unknown until apply: warn as for a delete, the worse of the two.
		warnRemovedUsers(&resp.Diagnostics, removed, plan.DeleteRemovedUsers.ValueBool() || plan.DeleteRemovedUsers.IsUnknown())
	}
	sharedKnown := licKnown && !plan.UsageLocation.IsUnknown() && !plan.AccountEnabled.IsUnknown()
	var newKeys []string
	byLower := map[string]string{}
	idVals := map[string]attr.Value{}
	pwVals := map[string]attr.Value{}
	attrVals := map[string]attr.Value{}
	for k, pu := range planUsers {
		if other, dup := byLower[strings.ToLower(k)]; dup {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users").AtMapKey(k), "Duplicate User",
				"planning the users", fmt.Sprintf("%q and %q differ only in case, and user names are not case-sensitive", other, k), "Keep one of them.")
		}
		byLower[strings.ToLower(k)] = k
		if msg := usercsv.UPNProblem(k); msg != "" {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users").AtMapKey(k), "Invalid User Principal Name",
				"planning the users", msg, "Use alias@domain keys, such as the keys of m365_users_csv.users.")
		}
		cu := configUsers[k]
		if upn, ok := cu.Lookup(userattr.UPN); ok && upn != k {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users").AtMapKey(k).AtName("user_principal_name"), "User Name Differs From Key",
				"planning the users", fmt.Sprintf("user_principal_name is %q but the key is %q", upn, k),
				"Remove user_principal_name (the key is the user name), or make it the same as the key.")
		}
		_, exists := stateUsers[k]
		if id, ok := stateIDs[k]; ok && exists {
			idVals[k] = types.StringValue(id)
		} else {
			idVals[k] = types.StringUnknown()
			newKeys = append(newKeys, k)
		}
		if plan.GenerateInitialPasswords.ValueBool() {
			if p, ok := stateInitial[k]; ok && exists {
				pwVals[k] = types.StringValue(p)
			} else {
				pwVals[k] = types.StringUnknown()
			}
		}
		if sharedKnown && !cu.HasUnknown() {
			attrVals[k] = types.StringValue(users.Encode(pu, licenseKeys, !plan.Licenses.IsNull()))
		} else {
			attrVals[k] = types.StringUnknown()
		}
	}
	sort.Strings(newKeys)
	plan.Users = types.DynamicNull() // write-only: never in the plan
	plan.Attributes = types.MapValueMust(types.StringType, attrVals)
	plan.IDs = types.MapValueMust(types.StringType, idVals)
	if plan.GenerateInitialPasswords.ValueBool() {
		plan.InitialPasswords = types.MapValueMust(types.StringType, pwVals)
	} else {
		plan.InitialPasswords = types.MapNull(types.StringType)
	}
	if len(newKeys) > 0 && config.PasswordWO.IsNull() && !plan.GenerateInitialPasswords.ValueBool() {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("password_wo"), "Password Required",
			"planning to create "+plural(len(newKeys), "user"), "Microsoft Graph needs a password to create a user",
			"Set password_wo (write-only, never stored) or generate_initial_passwords = true.")
	}
	if state != nil && !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && config.PasswordWO.IsNull() {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("password_wo_version"), "Password Required",
			"planning to reset the users' passwords", "password_wo_version changed but password_wo is not set", "Set password_wo to the new password.")
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	if resp.Diagnostics.HasError() || r.clients == nil {
		return
	}

	if au := usersAliases(planUsers, stateUsers, stateIDs); len(au) > 0 {
		if licKnown && len(licenses) == 0 {
			var bare []string
			for _, k := range newKeys {
				if len(planUsers[k].GetList(userattr.Aliases)) > 0 {
					bare = append(bare, k)
				}
			}
			warnAliasesWithoutLicence(&resp.Diagnostics, path.Root("licenses"), bare)
		}
		checkAliases(ctx, r.clients, au, setStrings(plan.PendingDomains), &resp.Diagnostics)
	}
	licChanged := state == nil || !plan.Licenses.Equal(state.Licenses)
	if state != nil && licChanged && licKnown {
		warnLicenceLosses(ctx, r.clients, mustLicenses(ctx, state.Licenses), licenses, stateAssigned, planUsers, &resp.Diagnostics)
	}
	usageChanged := false
	for k, pu := range planUsers {
		if su, ok := stateUsers[k]; !ok || !users.SameAttr(su, pu, userattr.UsageLocation) {
			usageChanged = true
			break
		}
	}
	if len(newKeys) == 0 && !licChanged && !usageChanged {
		return // nothing new: no read at all
	}
	r.checkTenant(ctx, &plan, state, planUsers, stateAssigned, newKeys, licenses, licKnown, privateStrings(ctx, req.Private, privAttempted), resp)
}

// warnRemovedUsers adds the plan's warning about the users removed from `users`: released from
// management (they stay in the tenant), or, with delete_removed_users, deleted. Every user is
// named, with the count, so that a reviewer sees what a one-line change of a large map does.
func warnRemovedUsers(d *diagList, removed []string, deleting bool) {
	if len(removed) == 0 {
		return
	}
	summary, detail := removedUsersWarning(removed, deleting)
	d.AddAttributeWarning(path.Root("users"), summary, detail)
}

// removedUsersWarning is the summary and detail of warnRemovedUsers.
func removedUsersWarning(removed []string, deleting bool) (string, string) {
	n := len(removed)
	if deleting {
		return fmt.Sprintf("%s WILL BE DELETED", strings.ToUpper(plural(n, "User"))),
			fmt.Sprintf("%s will be DELETED from the tenant: %s.\n\n", plural(n, "user"), listUPNs(removed)) +
				"They were removed from users and delete_removed_users = true. A deleted user stays 30 days in the deleted users (restorable: admin centre, Users > Deleted users) " +
				"and keeps its user name meanwhile; its mailbox goes with it and is removed for good 30 days later. " +
				"To keep them in the tenant, set delete_removed_users = false: removed users are then only released from management."
	}
	return "Users Released From Management",
		fmt.Sprintf("%s will be released from management and stay in the tenant: %s.\n\n", plural(n, "user"), listUPNs(removed)) +
			"They were removed from users: they leave the state of this resource and keep their attributes, licences and mailboxes; nothing is deleted. " +
			"To delete them instead, set delete_removed_users = true. To manage one again, add it back with adopt_existing = true."
}

// licenceLossWarning is the summary and detail of the warning about SKUs removed from licenses.
func licenceLossWarning(losses []users.SkuLoss) (string, string) {
	var lines []string
	for _, l := range losses {
		verb := "lose"
		if len(l.Users) == 1 {
			verb = "loses"
		}
		lines = append(lines, fmt.Sprintf("  - %s: %s %s it: %s", l.Name, plural(len(l.Users), "user"), verb, listUPNs(l.Users)))
	}
	return "Licences Will Be Removed From Users",
		"These SKUs were removed from licenses, so the apply removes them from every user of this resource that holds them:\n" + strings.Join(lines, "\n") + "\n\n" +
			"A user that loses its last Exchange Online licence loses its mailbox: Exchange keeps the data 30 days, then deletes it. " +
			"To keep the licences, put the SKUs back in licenses."
}

// warnLicenceLosses adds the licence-loss warning, resolving SKU names through the tenant's SKUs
// when they can be read (so that writing a part number as its GUID is no loss).
func warnLicenceLosses(ctx context.Context, clients *Clients, oldLic, newLic []licenseModel, stateAssigned map[string][]string, planUsers map[string]users.User, d *diagList) {
	if len(oldLic) == 0 {
		return
	}
	skuID := func(key string) string { return key }
	if clients != nil {
		if skus, err := clients.cache().SKUs(ctx, clients.Graph, false); err == nil {
			ix := newSkuIndex(skus)
			skuID = func(key string) string {
				if s, ok := ix.find(key); ok {
					return s.SkuID
				}
				return key
			}
		}
	}
	if losses := users.LicenceLosses(licenceKeys(oldLic), licenceKeys(newLic), skuID, stateAssigned, planUsers); len(losses) > 0 {
		summary, detail := licenceLossWarning(losses)
		d.AddAttributeWarning(path.Root("licenses"), summary, detail)
	}
}

// licenceKeys are the configured keys (part numbers or SKU ids) of ls.
func licenceKeys(ls []licenseModel) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Sku.ValueString()
	}
	return out
}

// usersDefaults are the resource-wide settings of plan that apply to users without their own.
func usersDefaults(plan usersResourceModel) users.Defaults {
	d := users.Defaults{
		UsageLocation: plan.UsageLocation.ValueString(), HasUsageLocation: isSet(plan.UsageLocation),
		UsageLocationUnknown: plan.UsageLocation.IsUnknown(), EnabledUnknown: plan.AccountEnabled.IsUnknown(),
	}
	if isSet(plan.AccountEnabled) {
		v := plan.AccountEnabled.ValueBool()
		d.Enabled = &v
	}
	return d
}

// checkTenant runs the plan-time checks that read the tenant.
func (r *usersResource) checkTenant(ctx context.Context, plan, state *usersResourceModel, planUsers map[string]users.User, stateAssigned map[string][]string,
	newKeys []string, licenses []licenseModel, licKnown bool, attempted []string, resp *resource.ModifyPlanResponse) {
	g := r.clients.Graph
	tc := r.clients.cache()
	existing := map[string]graph.User{}
	if len(newKeys) > 0 {
		ds, err := tc.Domains(ctx, g)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Check User Domains", "checking that the users' domains are verified (GET /domains)", err, userCheckPermissions, "")
			return
		}
		bad, status, verified := domainCheck(ds, newKeys, setStrings(plan.PendingDomains))
		for _, dom := range sortedKeys(bad) {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users").AtMapKey(bad[dom][0]), "Domain Not Verified",
				"planning to create "+plural(len(bad[dom]), "user")+" on "+dom,
				fmt.Sprintf("the domain %s %s; the tenant's verified domains are: %s. Users on it: %s", dom, status[dom], verified, listUPNs(bad[dom])), domainFix)
		}
		found, err := listExisting(ctx, g, newKeys)
		if err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Check Existing Users", "looking for users that already exist (GET /users)", err, userCheckPermissions, "")
			return
		}
		existing = found
		ours := map[string]bool{}
		for _, a := range attempted {
			ours[strings.ToLower(a)] = true
		}
		var foreign []string
		for _, k := range newKeys {
			if _, ok := existing[strings.ToLower(k)]; ok && !ours[strings.ToLower(k)] {
				foreign = append(foreign, k)
			}
		}
		if len(foreign) > 0 && !plan.AdoptExisting.ValueBool() {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("users"), "Users Already Exist",
				"planning to create "+plural(len(newKeys), "user"),
				fmt.Sprintf("%s already exist in the tenant and are not managed by this resource: %s", plural(len(foreign), "user"), listUPNs(foreign)),
				"Set adopt_existing = true to take them over (their attributes and licences are set as configured, their passwords left alone), "+
					"remove them from users, or manage each with m365_user and terraform import <address> <user name>. "+
					"If an earlier apply of this resource created them and failed (Terraform then marks it tainted), run terraform untaint on it and apply again.")
		}
	}
	if !licKnown || len(licenses) == 0 {
		return
	}
	var noUsage []string
	for k, pu := range planUsers {
		if usage, ok := pu.Lookup(userattr.UsageLocation); (!ok && !pu.IsUnknown(userattr.UsageLocation)) || (ok && usage == "") {
			noUsage = append(noUsage, k)
		}
	}
	if len(noUsage) > 0 {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("usage_location"), "Usage Location Required",
			"planning the licences of "+plural(len(planUsers), "user"),
			fmt.Sprintf("Microsoft Graph assigns licences only to users with a usage location; %s have none: %s", plural(len(noUsage), "user"), listUPNs(noUsage)),
			"Set usage_location on the resource (e.g. \"CN\"), or give these users one (defaults = { usage_location = \"CN\" } in m365_users_csv).")
	}
	skus, err := tc.SKUs(ctx, r.clients.Graph, true)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Check Licences", "reading the tenant's SKUs and free seats (GET /subscribedSkus)", err, skuPermissions, "")
		return
	}
	ix := newSkuIndex(skus)
	want, probs := resolveLicenses(ix, licenses)
	for _, p := range probs {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("licenses"), p.summary, "planning the licences", p.cause, p.fix)
	}
	// The SKU each user already holds, by the state's licence keys (resolved with both the old
	// and the new configuration's spelling).
	keySku := map[string]string{}
	for _, w := range want {
		keySku[w.Key] = w.SkuID
	}
	if state != nil {
		old, _ := resolveLicenses(ix, mustLicenses(ctx, state.Licenses))
		for _, o := range old {
			keySku[o.Key] = o.SkuID
		}
	}
	isNew := map[string]bool{}
	for _, k := range newKeys {
		isNew[k] = true
	}
	for _, w := range want {
		need := 0
		for k := range planUsers {
			if isNew[k] {
				if u, ok := existing[strings.ToLower(k)]; ok && users.HasSku(u.AssignedLicenses, w.SkuID) {
					continue // adopted with the licence already
				}
				need++
				continue
			}
			held := false
			for _, key := range stateAssigned[k] {
				if keySku[key] == w.SkuID {
					held = true
				}
			}
			if !held {
				need++
			}
		}
		sku, _ := ix.find(w.SkuID)
		if free := sku.Available(); need > free {
			diagtext.AttributeError(&resp.Diagnostics, path.Root("licenses"), "Not Enough Licences", "planning the licences",
				seatShortfall(sku.SkuPartNumber, need, free, "users"),
				"Buy more seats (admin centre: Billing > Your products), free seats by removing licences from other users, or assign another SKU.")
		}
	}
}

func mustLicenses(ctx context.Context, s types.Set) []licenseModel {
	ls, _ := licensesFromSet(ctx, s)
	return ls
}
