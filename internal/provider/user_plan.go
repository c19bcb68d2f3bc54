package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/userattr"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// ModifyPlan keeps unmanaged attributes as they are, fills the defaults that are known at plan
// time, and runs the checks that need the tenant: the user name's domain, a user that already
// exists, licence SKUs and plans, free seats, and the usage location licences need. It writes
// nothing.
func (r *userResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan, config userResourceModel
	resp.Diagnostics.Append(getUserModel(ctx, req.Plan.Get, &plan)...)
	resp.Diagnostics.Append(getUserModel(ctx, req.Config.Get, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	create := req.State.Raw.IsNull()
	var state *userResourceModel
	if !create {
		state = &userResourceModel{}
		resp.Diagnostics.Append(getUserModel(ctx, req.State.Get, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}

	// Unmanaged attributes (null in the configuration) keep their value.
	var prior *users.User
	if state != nil {
		prior = &state.User
	}
	users.KeepUnmanaged(&plan.User, config.User, prior)
	if !config.User.Has(userattr.MailNickname) && !config.User.IsUnknown(userattr.MailNickname) && create && plan.User.Has(userattr.UPN) {
		plan.User.Set(userattr.MailNickname, users.UPNLocal(plan.User.UPN()))
	}
	if config.Licenses.IsNull() {
		if state != nil {
			plan.Licenses = state.Licenses
		} else {
			plan.Licenses = types.SetNull(licenseObjectType)
		}
	}
	switch {
	case !plan.GenerateInitialPassword.ValueBool():
		plan.InitialPassword = types.StringNull()
	case create:
		plan.InitialPassword = types.StringUnknown()
	default:
		plan.InitialPassword = state.InitialPassword
		if !state.GenerateInitialPassword.ValueBool() {
			resp.Diagnostics.AddAttributeWarning(path.Root("generate_initial_password"), "Initial Password Not Generated",
				"generate_initial_password only applies when the user is created; this user exists, so no password is generated. "+
					"To reset its password, set password_wo and change password_wo_version.")
		}
	}
	if create {
		markReplacing(ctx, resp.Private)
		if config.PasswordWO.IsNull() && !plan.GenerateInitialPassword.ValueBool() {
			resp.Diagnostics.AddAttributeError(path.Root("password_wo"), "Password Required",
				diagtext.Detail("planning to create the user "+plan.User.UPN(), "Microsoft Graph needs a password to create a user",
					"Set password_wo (write-only, never stored) or generate_initial_password = true."))
		}
	} else if !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && config.PasswordWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("password_wo_version"), "Password Required",
			diagtext.Detail("planning to reset the password of "+state.User.UPN(), "password_wo_version changed but password_wo is not set",
				"Set password_wo to the new password."))
	}
	resp.Diagnostics.Append(setUserModel(ctx, resp.Plan.Set, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state != nil && !plan.Licenses.Equal(state.Licenses) {
		if newLic, ok := licensesFromSet(ctx, plan.Licenses); ok {
			upn := state.User.UPN()
			var held []string
			for _, l := range mustLicenses(ctx, state.Licenses) {
				held = append(held, l.Sku.ValueString())
			}
			warnLicenceLosses(ctx, r.clients, mustLicenses(ctx, state.Licenses), newLic, map[string][]string{upn: held}, map[string]users.User{upn: {}}, &resp.Diagnostics)
		}
	}
	if r.clients == nil {
		return
	}
	if isSet(plan.Aliases) && plan.User.Has(userattr.UPN) {
		u := aliasUser{upn: plan.User.UPN(), want: setStrings(plan.Aliases), where: path.Root("aliases")}
		if state != nil {
			u.id = state.ID.ValueString()
			if isSet(state.Aliases) {
				u.have = setStrings(state.Aliases)
			}
		}
		if ls, ok := licensesFromSet(ctx, plan.Licenses); state == nil && ok && len(ls) == 0 && len(u.want) > 0 {
			warnAliasesWithoutLicence(&resp.Diagnostics, path.Root("licenses"), []string{u.upn})
		}
		checkAliases(ctx, r.clients, []aliasUser{u}, setStrings(plan.PendingDomains), &resp.Diagnostics)
	}
	r.checkTenant(ctx, &plan, state, resp)
}

// checkTenant runs the plan-time checks that read the tenant.
func (r *userResource) checkTenant(ctx context.Context, plan, state *userResourceModel, resp *resource.ModifyPlanResponse) {
	if !plan.User.Has(userattr.UPN) {
		return
	}
	upn := plan.User.UPN()
	tc := r.clients.cache()
	renamed := state != nil && !strings.EqualFold(state.User.UPN(), upn)

	if state == nil || renamed {
		if ds, err := tc.Domains(ctx, r.clients.Graph); err != nil {
			diagtext.APIError(&resp.Diagnostics, "Cannot Check User Domain", "checking that the domain of "+upn+" is verified (GET /domains)", err, userCheckPermissions, "")
		} else if bad, status, verified := domainCheck(ds, []string{upn}, setStrings(plan.PendingDomains)); len(bad) > 0 {
			dom := upnDomain(upn)
			diagtext.AttributeError(&resp.Diagnostics, path.Root("user_principal_name"), "Domain Not Verified",
				"planning the user "+upn,
				fmt.Sprintf("the domain %s %s; the tenant's verified domains are: %s", dom, status[dom], verified), domainFix)
		}
		existing, err := r.clients.Graph.GetUser(ctx, upn)
		switch {
		case err == nil && (state == nil || !strings.EqualFold(existing.ID, state.ID.ValueString())):
			diagtext.AttributeError(&resp.Diagnostics, path.Root("user_principal_name"), "User Already Exists",
				"planning to create the user "+upn,
				fmt.Sprintf("the tenant already has a user %s (id %s) that this resource does not manage", existing.UPN(), existing.ID),
				fmt.Sprintf("Import it instead of creating it:\n\n  terraform import <address of this m365_user> %s\n\nor add an import block with id = %q. "+
					"If an earlier apply created it and then failed (Terraform then marks the resource tainted), run terraform untaint on the resource and apply again.", upn, upn))
		case err != nil && !graph.IsNotFound(err):
			diagtext.APIError(&resp.Diagnostics, "Cannot Check User", "checking whether "+upn+" exists (GET /users/{upn})", err, userCheckPermissions, "")
		}
	}

	ls, ok := licensesFromSet(ctx, plan.Licenses)
	if !ok || len(ls) == 0 {
		if ok {
			tc.reserve(upn, nil)
		}
		return
	}
	var prior []licenseModel
	if state != nil {
		prior, _ = licensesFromSet(ctx, state.Licenses)
	}
	if state != nil && plan.Licenses.Equal(state.Licenses) && users.SameAttr(plan.User, state.User, userattr.UsageLocation) {
		return // nothing new to check
	}
	if usage, ok := plan.User.Lookup(userattr.UsageLocation); (!ok && !plan.User.IsUnknown(userattr.UsageLocation)) || (ok && usage == "") {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("usage_location"), "Usage Location Required",
			"planning the licences of "+upn, "Microsoft Graph assigns licences only to users with a usage location",
			"Set usage_location to the ISO 3166 code of the country where the user works, e.g. \"CN\".")
	}
	skus, err := tc.SKUs(ctx, r.clients.Graph, false)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Check Licences", "reading the tenant's SKUs and free seats (GET /subscribedSkus)", err, skuPermissions, "")
		return
	}
	ix := newSkuIndex(skus)
	want, probs := resolveLicenses(ix, ls)
	for _, p := range probs {
		diagtext.AttributeError(&resp.Diagnostics, path.Root("licenses"), p.summary, "planning the licences of "+upn, p.cause, p.fix)
	}
	had := map[string]bool{}
	if prior != nil {
		old, _ := resolveLicenses(ix, prior)
		for _, o := range old {
			had[o.SkuID] = true
		}
	}
	var newSkus []string
	for _, w := range want {
		if !had[w.SkuID] {
			newSkus = append(newSkus, w.SkuID)
		}
	}
	need := tc.reserve(upn, newSkus)
	for _, id := range newSkus {
		sku, _ := ix.find(id)
		if free := sku.Available(); need[id] > free {
			what := "users"
			if need[id] == 1 {
				what = "this user's licence"
			}
			diagtext.AttributeError(&resp.Diagnostics, path.Root("licenses"), "Not Enough Licences",
				"planning the licences of "+upn,
				seatShortfall(sku.SkuPartNumber, need[id], free, what)+" (counted over the m365_user resources of this plan that newly take it)",
				"Buy more seats (the admin centre's Billing > Your products), free seats by removing licences from other users, or assign another SKU.")
		}
	}
}
