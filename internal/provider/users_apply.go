package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/users"
)

// listExisting finds which of upns exist, with one list per domain (one list of every user when
// they span more than three domains).
func listExisting(ctx context.Context, g *graph.Client, upns []string) (map[string]graph.User, error) {
	doms := map[string]bool{}
	for _, u := range upns {
		doms[upnDomain(u)] = true
	}
	var lists [][]graph.User
	if len(doms) > 3 {
		l, err := g.ListUsers(ctx, "")
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	} else {
		for _, d := range sortedKeys(doms) {
			l, err := g.ListUsers(ctx, d)
			if err != nil {
				return nil, err
			}
			lists = append(lists, l)
		}
	}
	out := map[string]graph.User{}
	for _, l := range lists {
		for _, u := range l {
			out[strings.ToLower(u.UPN())] = u
		}
	}
	return out, nil
}

// apply brings the tenant from state (nil: nothing yet) to plan and returns the state to save:
// every success applied, every failure left as it was. wrote is false when nothing was written at
// all. It reads what the plan needs (the SKUs, the users that already exist), lets internal/users
// plan the writes and fold their results, sends them through graph.Bulk and the aliases through
// Exchange, and words the failures.
func (r *usersResource) apply(ctx context.Context, plan, config *usersResourceModel, configRaw tftypes.Value, state *usersResourceModel, private privateData, d *diagList) (*usersResourceModel, bool) {
	g := r.clients.Graph
	configUsers, _, problems := usersFromRaw(configRaw)
	if len(problems) > 0 {
		reportUserProblems(problems, d)
		return state, false
	}
	var prior users.State // nil Users: no state yet
	if state != nil {
		prior.Users, prior.Assigned = usersFromAttributes(state.Attributes, d)
		prior.IDs, prior.Initial = stringMap(state.IDs), stringMap(state.InitialPasswords)
	}
	if d.HasError() {
		return state, false
	}
	want := users.Desired{
		Users:             users.Effective(configUsers, prior.Users, usersDefaults(*plan)),
		ManageLicences:    !plan.Licenses.IsNull(),
		AdoptExisting:     plan.AdoptExisting.ValueBool(),
		DeleteRemoved:     plan.DeleteRemovedUsers.ValueBool(),
		GeneratePasswords: plan.GenerateInitialPasswords.ValueBool(),
		Password:          config.PasswordWO.ValueString(),
		ResetPasswords:    state != nil && !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) && !config.PasswordWO.IsNull(),
		ForceChange:       plan.ForceChangePassword.ValueBool(),
		AttemptedBefore:   map[string]bool{},
	}
	attempt := fmt.Sprintf("applying m365_users (%s in the configuration)", plural(len(want.Users), "user"))

	// Licences in Graph's terms, new and old.
	newLicenses := mustLicenses(ctx, plan.Licenses)
	var oldLicenses []licenseModel
	if state != nil {
		oldLicenses = mustLicenses(ctx, state.Licenses)
	}
	if len(newLicenses) > 0 || len(oldLicenses) > 0 {
		skus, err := r.clients.cache().SKUs(ctx, g, true)
		if err != nil {
			diagtext.APIError(d, "Cannot Read SKUs", attempt+" (GET /subscribedSkus)", err, skuPermissions, "")
			return state, false
		}
		ix := newSkuIndex(skus)
		resolved, probs := resolveLicenses(ix, newLicenses)
		for _, p := range probs {
			diagtext.AttributeError(d, path.Root("licenses"), p.summary, attempt, p.cause, p.fix)
		}
		if len(probs) > 0 {
			return state, false
		}
		old, _ := resolveLicenses(ix, oldLicenses)
		want.Want, want.Old = licences(resolved), licences(old)
	}

	// The users to create that exist already: adopted, or refused.
	creates, _, _ := users.Classify(want, prior)
	existing := map[string]graph.User{}
	if len(creates) > 0 {
		found, err := listExisting(ctx, g, creates)
		if err != nil {
			diagtext.APIError(d, "Cannot Check Existing Users", attempt+": looking for users that already exist (GET /users)", err, userCheckPermissions, "")
			return state, false
		}
		existing = found
	}
	for _, a := range privateStrings(ctx, private, privAttempted) {
		want.AttemptedBefore[strings.ToLower(a)] = true
	}
	p, err := users.Build(want, prior, existing, generatePassword)
	if err != nil {
		diagtext.Error(d, "Cannot Generate Password", attempt, err.Error(), "Apply again.")
		return state, false
	}
	if len(p.Released) > 0 {
		tflog.Info(ctx, "m365_users released users from management; they stay in the tenant", map[string]any{"users": p.Released, "count": len(p.Released)})
	}
	var results []graph.BulkResult
	if len(p.Ops) > 0 {
		started := time.Now()
		var stats graph.BulkStats
		results, stats = g.Bulk(ctx, p.Ops, graph.BulkOptions{
			Concurrency: int(plan.Concurrency.ValueInt64()),
			WriteQuota:  int(plan.WriteQuota.ValueInt64()), WriteWindow: entraWindow(plan.WriteWindow),
			OnProgress: func(done, total int) {
				if done == total || done%max(1, total/10) == 0 {
					tflog.Info(ctx, "m365_users progress", map[string]any{"done": done, "total": total})
				}
			},
		})
		tflog.Info(ctx, "m365_users applied", map[string]any{"operations": len(p.Ops), "batch_requests": stats.Requests, "sub_requests": stats.SubRequests,
			"throttled": stats.Throttled, "retried": stats.Retried, "max_concurrency": stats.MaxConcurrency, "seconds": time.Since(started).Seconds()})
		r.clients.cache().forgetSKUs()
	}
	res := p.Fold(want, prior, results)

	// Aliases, through Exchange, for the users now in the state whose aliases change.
	writes := users.AliasWrites(want, prior, res.State)
	users.KeepUnwrittenAliases(&res.State, prior, writes, writeAliases(ctx, r.clients.Exchange, writes, d))

	out := *plan
	out.Users = types.DynamicNull()
	out.Attributes = attributesValue(res.State.Users, res.State.Assigned, want.ManageLicences)
	out.IDs = stringMapValue(res.State.IDs)
	out.InitialPasswords = types.MapNull(types.StringType)
	if want.GeneratePasswords {
		pw := map[string]string{}
		for k := range res.State.Users {
			pw[k] = res.State.Initial[k]
		}
		out.InitialPasswords = stringMapValue(pw)
	}
	if res.ResetFailed {
		// Some resets may have failed: keep the old version so the next apply resends.
		out.PasswordWOVersion = state.PasswordWOVersion
	}
	setPrivateStrings(ctx, private, privAttempted, res.Attempted)
	if len(res.Failures) > 0 {
		reportUserFailures(d, attempt, res.Failures, len(p.Ops))
	}
	return &out, res.Wrote
}

// reportUserFailures words the users that could not be written, with what to do next.
func reportUserFailures(d *diagList, attempt string, failures []users.Failure, ops int) {
	lines := make([]string, 0, len(failures))
	seen := map[graph.Problem]bool{}
	for _, f := range failures {
		msg := f.Refused
		if f.Err != nil {
			msg = graphMessage(f.Err)
			seen[graph.ProblemOf(f.Err)] = true
		}
		lines = append(lines, fmt.Sprintf("  - %s (%s): %s", f.Key, f.Kind, msg))
	}
	sort.Strings(lines)
	next := "The users that were written are in the state. Fix the causes above and apply again: only the failed users are retried, and a user Graph created before failing is taken over, not duplicated."
	if seen[graph.ProblemNameTaken] {
		next += " \"Already exists\" for a user name that is not in the tenant's user list means a deleted user still holds it (Graph keeps deleted users 30 days): " +
			"restore it (admin centre: Users > Deleted users) and set adopt_existing = true, or delete it permanently."
	}
	if seen[graph.ProblemPrivileges] {
		next += " \"Insufficient privileges\" means the application lacks User.ReadWrite.All and LicenseAssignment.ReadWrite.All (or Directory.ReadWrite.All) with admin consent, " +
			"or, for password resets, the User Administrator Entra role on its service principal."
	}
	diagtext.Error(d, "Some Users Were Not Written", attempt,
		fmt.Sprintf("%s of %d failed:\n%s", plural(len(failures), "operation"), ops, strings.Join(lines, "\n")), next)
}

func entraWindow(s types.String) time.Duration {
	d, err := time.ParseDuration(s.ValueString())
	if err != nil || d <= 0 {
		d, _ = time.ParseDuration(entraWriteWindow)
	}
	return d
}
