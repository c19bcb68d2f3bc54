package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/graph"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

// Plan-time checks of m365_migration_batch: the CSV, that the batch name is free, that no new
// member is already in another batch, that every row has a Microsoft 365 user, what a reviewer
// must see (a removal or replacement of a batch that holds synced mail), and whether the apply
// resumes an unfinished wait.

// ModifyPlan checks the batch at plan time and plans its membership from the CSV.
func (r *migrationBatchResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		r.warnRemoval(ctx, req, resp)
		return
	}
	var plan migrationBatchModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	creating := req.State.Raw.IsNull()
	var state migrationBatchModel
	if !creating {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	c, known := loadCSV(ctx, req.Config, plan, &resp.Diagnostics, true)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.planExmailCredentials(ctx, req.Config, plan, state, creating, &resp.Diagnostics); resp.Diagnostics.HasError() { // Exmail credentials (migration_credentials.go)
		return
	}
	var emails []string
	if known && c != nil {
		emails = migrationEmails(c.res.Rows)
		plan.Members = sortedList(emails)
		plan.MembersSHA256 = types.StringValue(emailListHash(emails))
	} else {
		plan.Members = types.ListUnknown(types.StringType)
		plan.MembersSHA256 = types.StringUnknown()
	}
	if !creating {
		if !r.guardReplacement(plan, state, &resp.Diagnostics) {
			return
		}
		// When the change replaces the batch, Terraform plans the new batch again as a create,
		// handing it this plan's private data: that create must not stop at "already exists"
		// for the batch it replaces.
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateReplacing, jsonString(state.Name.ValueString()))...)
		if !plan.Members.Equal(state.Members) || r.resumes(plan, state, &resp.Diagnostics) {
			// The membership changes, or the apply waits again: what the service reports changes.
			plan.Status = types.StringUnknown()
			plan.Counts = types.ObjectUnknown(batchCountsAttrTypes)
			plan.Users = types.MapUnknown(types.ObjectType{AttrTypes: batchUserAttrTypes})
		}
		if state.Complete.ValueBool() && !plan.Complete.ValueBool() {
			resp.Diagnostics.AddAttributeWarning(path.Root("complete"), "Completion Cannot Be Undone",
				"The batch was completed (Complete-MigrationBatch); setting complete = false changes nothing in Exchange Online.")
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	if known && c != nil {
		warnNotificationOnMovedDomain(plan, emails, &resp.Diagnostics)
	}
	if r.clients == nil || plan.Name.IsUnknown() {
		return
	}
	name := plan.Name.ValueString()
	if creating && !replacingSelf(ctx, req, name) {
		b, err := r.clients.Exchange.GetMigrationBatch(ctx, name)
		switch {
		case err == nil:
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Migration Batch Already Exists",
				diagtext.Detail("planning to create the migration batch "+name, fmt.Sprintf("the tenant already has a batch of that name (status %s, %d users)", b.Status, b.TotalCount),
					fmt.Sprintf("Import it instead of creating it:\n\n  terraform import <address of this m365_migration_batch> %s\n\nor choose another name.", name)))
			return
		case exchange.IsNotFound(err):
		default:
			tflog.Warn(ctx, "could not check whether the batch exists at plan time", map[string]any{"error": err.Error()})
		}
	}
	if c == nil || len(emails) == 0 {
		return
	}
	// Every problem in one plan: the targets check does not hide the other-batch check.
	r.checkTargets(ctx, plan, c, &resp.Diagnostics)
	added := emails
	if !creating {
		added = exchange.PlanMembership(emails, listStrings(state.Members), false).Added
	}
	if len(added) == 0 {
		return
	}
	holders, err := r.clients.Exchange.MigrationUsersInOtherBatches(ctx, added, name)
	if err != nil {
		diagtext.APIError(&resp.Diagnostics, "Cannot Check Migration Users", "checking at plan time whether the batch's new users are already in other batches (Get-MigrationUser)",
			err, migrationPermissions, "")
		return
	}
	if len(holders) == 0 {
		return
	}
	lines := make([]string, 0, len(holders))
	for _, e := range added {
		if h, ok := holders[e]; ok {
			lines = append(lines, fmt.Sprintf("  - %s is in migration batch %q (user status %s)", e, h.BatchID, h.Status))
		}
	}
	resp.Diagnostics.AddAttributeError(c.attr, "User Already In Another Migration Batch",
		diagtext.Detail("planning the migration batch "+name,
			fmt.Sprintf("%d of its users are already in other batches:\n%s\nExchange Online fails such a user (\"The user ... is already included in migration batch ...\") and the batch's counts drop.",
				len(lines), strings.Join(lines, "\n")),
			"Remove these rows from this CSV, or remove the users from the other batch first (drop them from that batch's CSV, or Remove-MigrationUser)."))
}

// syncedUsers counts the users of a batch state that hold synced mail.
func syncedUsers(m migrationBatchModel) int {
	n := 0
	for _, u := range usersFromValue(m.Users) {
		if u.synced() || u.ItemsSynced > 0 {
			n++
		}
	}
	return n
}

// warnRemoval makes the removal of a batch that holds synced mail impossible to miss in a plan.
func (r *migrationBatchResource) warnRemoval(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() {
		return
	}
	var state migrationBatchModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if n := syncedUsers(state); n > 0 {
		resp.Diagnostics.AddWarning("Migration Batch Will Be Removed",
			fmt.Sprintf("This plan removes the migration batch %s (Remove-MigrationBatch), which holds %d users with synced mail. The mail already copied stays in "+
				"the Microsoft 365 mailboxes, but no further mail is copied from the source: remove the batch only after the MX records point to Microsoft 365 "+
				"and the final sync has run (Microsoft advises waiting 72 hours after the MX switch).", state.Name.ValueString(), n))
	}
}

// replaceAttrs are the attributes Set-MigrationBatch cannot change
// (https://learn.microsoft.com/powershell/module/exchangepowershell/set-migrationbatch).
var replaceAttrs = []string{"name", "source_endpoint", "exclude_folders", "include_folders", "time_zone"}

// guardReplacement stops the plan when a change would replace a batch that holds synced mail and
// the admin did not allow it. It reports false when it added an error.
func (r *migrationBatchResource) guardReplacement(plan, state migrationBatchModel, d *diagList) bool {
	changed := map[string]bool{
		"name":            !plan.Name.Equal(state.Name),
		"source_endpoint": !plan.SourceEndpoint.Equal(state.SourceEndpoint),
		"exclude_folders": !plan.ExcludeFolders.Equal(state.ExcludeFolders),
		"include_folders": !plan.IncludeFolders.Equal(state.IncludeFolders),
		"time_zone":       !plan.TimeZone.Equal(state.TimeZone),
	}
	var names []string
	for _, a := range replaceAttrs {
		if changed[a] {
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		return true
	}
	n := syncedUsers(state)
	what := fmt.Sprintf("planning a change of %s of the migration batch %s", strings.Join(names, ", "), state.Name.ValueString())
	if n == 0 {
		return true
	}
	if plan.AllowReplace.ValueBool() {
		d.AddWarning("Migration Batch Will Be Replaced",
			fmt.Sprintf("Because %s cannot change in place, this plan removes the batch %s, which holds %d users with synced mail, and creates a new one that copies "+
				"every mailbox again (allow_replace = true).", strings.Join(names, ", "), state.Name.ValueString(), n))
		return true
	}
	diagtext.AttributeError(d, path.Root(names[0]), "Change Would Replace A Synced Migration Batch", what,
		fmt.Sprintf("Exchange Online cannot change %s of an existing batch (Set-MigrationBatch has no such parameter), so Terraform would remove the batch "+
			"(Remove-MigrationBatch) and create a new one; the batch holds %d users with synced mail, whose incremental syncs would stop.", strings.Join(names, ", "), n),
		"Keep the old value, or put the users that need the new setting in a second m365_migration_batch with another name. If replacing the batch is what you want, "+
			"set allow_replace = true and plan again: the plan then shows the replacement.")
	return false
}

// batchSettled reports whether a batch state shows every user done with its initial sync.
func stateSettled(m migrationBatchModel) bool {
	c := countsFromValue(m.Counts)
	b := exchange.Batch{Status: m.Status.ValueString(), TotalCount: c["total"], ActiveCount: c["active"], PendingCount: c["pending"]}
	return b.Settled(0)
}

// resumes reports (and says in a warning) whether the apply waits again for a batch an earlier
// apply stopped waiting for (timeout, Ctrl-C), or retries failed users beyond max_failed_users.
func (r *migrationBatchResource) resumes(plan, state migrationBatchModel, d *diagList) bool {
	if plan.WaitFor.ValueString() != waitForSynced || !plan.Enabled.ValueBool() || state.Status.IsNull() || state.Status.ValueString() == "" {
		return false
	}
	name := state.Name.ValueString()
	c := countsFromValue(state.Counts)
	if !stateSettled(state) {
		d.AddWarning("Migration Batch Wait Resumes",
			fmt.Sprintf("An earlier apply stopped waiting for the batch %s (status %s, %d of %d users synced). This apply waits again, within timeouts.update, "+
				"until every user has finished its initial sync. The batch is updated in place, never replaced.", name, state.Status.ValueString(), c["synced"], c["total"]))
		return true
	}
	failed := int64(0)
	for _, u := range usersFromValue(state.Users) {
		if u.failed() {
			failed++
		}
	}
	if failed > plan.MaxFailedUsers.ValueInt64() {
		d.AddWarning("Failed Migration Users Will Be Retried",
			fmt.Sprintf("%d users of the batch %s failed (max_failed_users = %d). This apply retries them (Start-MigrationBatch) and waits for them; it fails "+
				"again if they fail again. See the batch's users[*].error for each cause.", failed, name, plan.MaxFailedUsers.ValueInt64()))
		return true
	}
	return false
}

// warnNotificationOnMovedDomain warns when a notification address is on the domain whose mail the
// batch moves: once that domain is verified and MX points to Microsoft 365, the reports land in
// the new mailbox, which nobody reads during the move.
func warnNotificationOnMovedDomain(plan migrationBatchModel, emails []string, d *diagList) {
	moved := map[string]bool{}
	for _, e := range emails {
		if _, dom, ok := strings.Cut(e, "@"); ok {
			moved[dom] = true
		}
	}
	var hits []string
	for _, n := range setStrings(plan.NotificationEmails) {
		if _, dom, ok := strings.Cut(strings.ToLower(n), "@"); ok && moved[dom] {
			hits = append(hits, n)
		}
	}
	if len(hits) == 0 {
		return
	}
	sort.Strings(hits)
	d.AddAttributeWarning(path.Root("notification_emails"), "Migration Reports Go To A Mailbox Being Moved",
		fmt.Sprintf("The batch's reports go to %s, on the domain whose mail this batch moves. Microsoft 365 delivers mail for that domain to the new mailbox as soon as "+
			"the domain is verified, so the reports land in a mailbox nobody reads during the move. Use an address on another domain (e.g. the admin's "+
			"*.onmicrosoft.com address or a mailbox outside the company).", strings.Join(hits, ", ")))
}

// tenantLookupLimit bounds the direct reads of rows the domain listings did not show (a user
// created moments ago may be missing from the eventually consistent listing).
const tenantLookupLimit = 20

// checkTargets makes sure every CSV row migrates into a Microsoft 365 user: one of targets, or a
// user of the tenant. It reports false when it added an error.
func (r *migrationBatchResource) checkTargets(ctx context.Context, plan migrationBatchModel, c *batchCSV, d *diagList) bool {
	if plan.Targets.IsUnknown() {
		return true // known after apply; the apply waits for every row's mailbox
	}
	targets := map[string]bool{}
	for _, t := range listStrings(plan.Targets) {
		targets[strings.ToLower(strings.TrimSpace(t))] = true
	}
	covered := map[string]bool{}
	var rest []usercsv.MigrationRow
	for _, row := range c.res.Rows {
		e := strings.ToLower(row.EmailAddress)
		if targets[e] {
			covered[e] = true
			continue
		}
		rest = append(rest, row)
	}
	if len(rest) > 0 {
		found, err := r.tenantUsers(ctx, rest)
		if err != nil {
			diagtext.APIError(d, "Cannot Check Migration Targets", "checking at plan time that every row of the migration CSV is a Microsoft 365 user (GET /users)",
				err, migrationTargetPermissions, "")
			return false
		}
		var lines []string
		for _, row := range rest {
			if !found[strings.ToLower(row.EmailAddress)] {
				lines = append(lines, fmt.Sprintf("  - line %d: %s", row.Line, row.EmailAddress))
			}
		}
		if len(lines) > 0 {
			diagtext.AttributeError(d, c.attr, "Migration Row Without Microsoft 365 User", "planning the migration batch "+plan.Name.ValueString(),
				fmt.Sprintf("%d rows of the CSV name no user of the tenant and no user of targets:\n%s\nExchange Online would fail them (MigrationRecipientNotFoundException: "+
					"a recipient wasn't found on the target).", len(lines), strings.Join(lines, "\n")),
				"Create these users (m365_users or m365_user) and list them in targets, e.g. targets = keys(m365_users.staff.attributes); or correct the EmailAddress column "+
					"(with domain, the rewritten address must be the user's).")
			return false
		}
	}
	var unused []string
	for t := range targets {
		if !covered[t] {
			unused = append(unused, t)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		d.AddAttributeWarning(path.Root("targets"), "Users Without Migration Row",
			fmt.Sprintf("%d users of targets have no row in the migration CSV, so nothing is copied into their mailboxes: %s. Add rows for them, or leave them out of targets if they "+
				"have no mail to move.", len(unused), strings.Join(unused, ", ")))
	}
	return true
}

// tenantUsers finds which rows' addresses are user principal names of the tenant: one listing per
// domain (eventually consistent), then a direct read for the few it did not show.
func (r *migrationBatchResource) tenantUsers(ctx context.Context, rows []usercsv.MigrationRow) (map[string]bool, error) {
	byDomain := map[string]bool{}
	for _, row := range rows {
		if _, dom, ok := strings.Cut(strings.ToLower(row.EmailAddress), "@"); ok {
			byDomain[dom] = true
		}
	}
	found := map[string]bool{}
	for dom := range byDomain {
		users, err := r.clients.Graph.ListUsers(ctx, dom)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			found[strings.ToLower(u.UPN())] = true
		}
	}
	looked := 0
	for _, row := range rows {
		e := strings.ToLower(row.EmailAddress)
		if found[e] || looked >= tenantLookupLimit {
			continue
		}
		looked++
		_, err := r.clients.Graph.GetUser(ctx, e)
		switch {
		case err == nil:
			found[e] = true
		case graph.IsNotFound(err):
		default:
			return nil, err
		}
	}
	return found, nil
}

// migrationTargetPermissions are what the plan-time check of the rows' users needs.
var migrationTargetPermissions = diagtext.Permissions{Graph: []string{"User.Read.All", "Directory.Read.All"}}

// privateReplacing is the private-state key that carries the name of the batch a plan starts from.
const privateReplacing = "replacing"

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// replacingSelf reports whether a create plan is the second half of replacing the batch of that
// name (Terraform re-plans a replacement as a create, with the first plan's private data).
func replacingSelf(ctx context.Context, req resource.ModifyPlanRequest, name string) bool {
	if req.Private == nil {
		return false
	}
	b, d := req.Private.GetKey(ctx, privateReplacing)
	if d.HasError() || len(b) == 0 {
		return false
	}
	var prior string
	return json.Unmarshal(b, &prior) == nil && strings.EqualFold(prior, name)
}
