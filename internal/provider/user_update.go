package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

func (r *userResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state, config userResourceModel
	resp.Diagnostics.Append(getUserModel(ctx, req.Plan.Get, &plan)...)
	resp.Diagnostics.Append(getUserModel(ctx, req.State.Get, &state)...)
	resp.Diagnostics.Append(getUserModel(ctx, req.Config.Get, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, userTimeouts.Update)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := state.ID.ValueString()
	upn := plan.User.UPN()
	plan.ID = state.ID
	tc := r.clients.cache()
	tc.release(upn)

	ch := users.ChangesTo(plan.User.Values, state.User.Values)
	if !plan.AccountEnabled.Equal(state.AccountEnabled) && isSet(plan.AccountEnabled) {
		v := plan.AccountEnabled.ValueBool()
		ch.AccountEnabled = &v
	}
	if !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && !config.PasswordWO.IsNull() {
		pw := config.PasswordWO.ValueString()
		force := plan.ForceChangePassword.ValueBool()
		ch.Password, ch.ForceChangePasswordNextSignIn = &pw, &force
	}
	if !ch.IsEmpty() {
		if err := r.clients.Graph.UpdateUser(ctx, id, ch); err != nil {
			perms := userPermissions
			if ch.Password != nil {
				perms = passwordPermissions
			}
			diagtext.APIError(&resp.Diagnostics, "Cannot Update User", "updating the user "+upn+" (PATCH /users/{id})", err, perms, updateAdvice(err))
			return
		}
		tflog.Info(ctx, "updated user", map[string]any{"id": id, "user_principal_name": upn, "password_changed": ch.Password != nil})
	}

	want, wok := licensesFromSet(ctx, plan.Licenses)
	prior, _ := licensesFromSet(ctx, state.Licenses)
	if wok && !plan.Licenses.IsNull() && !plan.Licenses.Equal(state.Licenses) {
		if !r.updateLicenses(ctx, id, upn, want, prior, &resp.Diagnostics) {
			plan.Licenses = state.Licenses
			plan.Aliases = state.Aliases
			resp.Diagnostics.Append(setUserModel(ctx, resp.State.Set, &plan)...)
			return
		}
	}
	plan.Aliases = r.writeAliases(ctx, upn, plan.Aliases, state.Aliases, &resp.Diagnostics)
	resp.Diagnostics.Append(setUserModel(ctx, resp.State.Set, &plan)...)
}

// writeAliases brings the mailbox's aliases from have to want (null want: unmanaged, nothing
// written) and returns the value for the state: want when written, have when not.
func (r *userResource) writeAliases(ctx context.Context, upn string, want, have types.Set, d *diagList) types.Set {
	if !isSet(want) {
		return want
	}
	var prior []string
	if isSet(have) {
		prior = setStrings(have)
	}
	add, remove := users.AliasDiff(setStrings(want), prior)
	if len(add)+len(remove) == 0 {
		return want
	}
	if writeAliases(ctx, r.clients.Exchange, []users.AliasWrite{{UPN: upn, Add: add, Remove: remove}}, d)[strings.ToLower(upn)] {
		return want
	}
	return have
}

// updateAdvice is the next step for a failed PATCH.
func updateAdvice(err error) string {
	switch graph.ProblemOf(err) {
	case graph.ProblemPassword:
		return "Choose a password of 8–256 characters with three of: upper case, lower case, digits, symbols, and change password_wo_version again."
	case graph.ProblemNameTaken:
		return "Another user (possibly a deleted one) already has this user_principal_name; choose another."
	}
	return ""
}

// updateLicenses brings the user's licences to want, removing the SKUs of prior that are no
// longer wanted, in one assignLicense call made while holding the user's lock.
func (r *userResource) updateLicenses(ctx context.Context, id, upn string, want, prior []licenseModel, d *diagList) bool {
	attempt := "changing the licences of " + upn
	skus, err := r.clients.cache().SKUs(ctx, r.clients.Graph, false)
	if err != nil {
		diagtext.APIError(d, "Cannot Read SKUs", attempt+" (GET /subscribedSkus)", err, skuPermissions, "")
		return false
	}
	ix := newSkuIndex(skus)
	res, probs := resolveLicenses(ix, want)
	for _, p := range probs {
		diagtext.AttributeError(d, path.Root("licenses"), p.summary, attempt, p.cause, p.fix)
	}
	if len(probs) > 0 {
		return false
	}
	old, _ := resolveLicenses(ix, prior)
	unlock := r.clients.lockUser(id)
	defer unlock()
	g, err := r.clients.Graph.GetUser(ctx, id)
	if err != nil {
		diagtext.APIError(d, "Cannot Read User", attempt+" (GET /users/{id})", err, userCheckPermissions, "")
		return false
	}
	add, remove := users.LicenceChanges(licences(res), licences(old), g.AssignedLicenses)
	if len(add) == 0 && len(remove) == 0 {
		return true
	}
	err = r.clients.Graph.AssignLicenses(ctx, id, add, remove)
	r.clients.cache().forgetSKUs()
	if err != nil {
		diagtext.APIError(d, "Cannot Change Licences", attempt+" (POST /users/{id}/assignLicense)", err,
			diagtext.Permissions{Graph: []string{"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All"}}, "Fix the cause (free seats, usage location) and apply again.")
		return false
	}
	tflog.Info(ctx, "changed licences", map[string]any{"id": id, "added": len(add), "removed": len(remove)})
	return true
}
