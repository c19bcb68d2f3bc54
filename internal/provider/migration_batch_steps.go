package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	fwdiag "github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/diagtext"
	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/imapcheck"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

// The steps of m365_migration_batch's Create and Update: mailbox readiness, the preflight logins,
// submission, membership changes, stopping, starting and syncing now, the waits, and the refresh
// of the state. The orchestration itself is internal/exchange's; here are the diagnostics.

func (r *migrationBatchResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan migrationBatchModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, migrationBatchTimeouts.Create)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := plan.Name.ValueString()
	c, _ := loadCSV(ctx, req.Config, plan, &resp.Diagnostics, false)
	if resp.Diagnostics.HasError() || c == nil {
		return
	}
	rows := c.res.Rows
	// Mailboxes first (possibly a long wait), then the source credentials (an Exmail password set
	// through the API just before the submission), then the preflight logins.
	if !r.waitMailboxes(ctx, name, migrationEmails(rows), &resp.Diagnostics) {
		return
	}
	if !r.exmailCredentials(ctx, req.Config, plan, c.res, rows, &resp.Diagnostics) { // Exmail credentials (migration_credentials.go)
		return
	}
	if !r.preflight(ctx, plan, rows, &resp.Diagnostics) {
		return
	}
	spec := exchange.BatchSpec{
		Name: name, SourceEndpoint: plan.SourceEndpoint.ValueString(), CSV: usercsv.WriteMigration(rows, hasUserRoot(rows)),
		ExcludeFolders: listStrings(plan.ExcludeFolders), IncludeFolders: listStrings(plan.IncludeFolders),
		NotificationEmails: setStrings(plan.NotificationEmails), TimeZone: plan.TimeZone.ValueString(),
	}
	if t, ok := parseStartAfter(plan.StartAfter); ok {
		spec.StartAfter = &t
	} else {
		spec.AutoStart = plan.AutoStart.ValueBool() && plan.Enabled.ValueBool()
	}
	tflog.Info(ctx, "creating the migration batch", map[string]any{"batch": name, "users": len(rows), "auto_start": spec.AutoStart})
	if _, err := r.clients.Exchange.NewMigrationBatch(ctx, spec); err != nil {
		attempt := fmt.Sprintf("creating the migration batch %s with %d users (New-MigrationBatch)", name, len(rows))
		switch {
		case exchange.IsKind(err, exchange.KindAlreadyExists):
			diagtext.Error(&resp.Diagnostics, "Migration Batch Already Exists", attempt, err.Error(),
				"Import it instead: terraform import <address of this m365_migration_batch> "+name)
		case exchange.IsNotFound(err):
			diagtext.Error(&resp.Diagnostics, "Migration Endpoint Not Found", attempt, err.Error(),
				"Check source_endpoint: it must name an existing IMAP migration endpoint (m365_imap_migration_endpoint.x.name).")
		default:
			diagtext.APIError(&resp.Diagnostics, "Cannot Create Migration Batch", attempt, err, migrationPermissions, "")
		}
		return
	}
	// The batch is ours from here: it stays in the state whatever happens next. An error now would
	// make Terraform taint it and plan its replacement (Remove-MigrationBatch of a batch that may
	// hold synced mail), so what goes wrong from here is a warning, and the next plan shows the
	// in-place update that resumes (see resumes).
	plan.ID = types.StringValue(name)
	var after diagList
	if err := r.clients.Exchange.WaitBatchReadable(ctx, name); err != nil {
		diagtext.APIError(&after, "Cannot Read Migration Batch", "waiting for the new batch "+name+" to be readable (Get-MigrationBatch)", err, migrationPermissions, "")
	}
	if !after.HasError() {
		r.waitMembers(ctx, name, migrationEmails(rows), &after)
	}
	if !after.HasError() && (plan.WaitFor.ValueString() == waitForSynced || plan.Complete.ValueBool()) {
		r.waitSynced(ctx, name, len(rows), spec.AutoStart || spec.StartAfter != nil, plan.MaxFailedUsers.ValueInt64(), &after)
	}
	if !after.HasError() && plan.Complete.ValueBool() {
		r.complete(ctx, name, &after)
	}
	resp.Diagnostics.Append(keptInState(after, name)...)
	// A refresh must not be cut short by the operation's timeout that may just have ended.
	refreshCtx, cancelRefresh := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancelRefresh()
	r.refresh(refreshCtx, &plan, nil, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// keptInState turns the errors of the steps after New-MigrationBatch into warnings that say the
// batch is kept and what the next apply does.
func keptInState(in diagList, name string) diagList {
	var out diagList
	for _, d := range in {
		if d.Severity() != fwdiag.SeverityError {
			out.Append(d)
			continue
		}
		out.AddWarning(d.Summary(), d.Detail()+"\n\nThe batch "+name+" was created and is kept in the state, not tainted: the next plan shows an "+
			"in-place update, and the next apply resumes (waits again, retries failed users). It is never replaced because of this.")
	}
	return out
}

// waitMailboxes waits, within the operation's timeout, until every address has an Exchange Online
// mailbox: a row submitted before its mailbox exists fails with MigrationRecipientNotFoundException,
// which Exchange Online does not retry by itself
// (https://learn.microsoft.com/exchange/troubleshoot/move-or-migrate-mailboxes/troubleshoot-issues-with-imap-mailbox-migration).
// It reports false, with one error naming the users still without a mailbox, when the timeout
// ends first: then nothing is submitted.
func (r *migrationBatchResource) waitMailboxes(ctx context.Context, name string, emails []string, d *diagList) bool {
	if len(emails) == 0 {
		return true
	}
	tflog.Info(ctx, "waiting for the users' Exchange Online mailboxes", map[string]any{"batch": name, "users": len(emails)})
	err := r.clients.Exchange.WaitForMailboxes(ctx, emails, func(ready, total int) {
		tflog.Info(ctx, fmt.Sprintf("%d of %d mailboxes ready", ready, total), map[string]any{"batch": name})
	})
	if err == nil {
		return true
	}
	var nr *exchange.MailboxesNotReadyError
	if errors.As(err, &nr) {
		lines := make([]string, len(nr.Missing))
		for i, e := range nr.Missing {
			lines[i] = "  - " + e
		}
		diagtext.Error(d, "Mailboxes Not Ready",
			fmt.Sprintf("waiting (%s) for the Exchange Online mailboxes of the %d users of the batch %s before submitting them", nr.Waited.Round(time.Second), nr.Total, name),
			fmt.Sprintf("%d users still have no mailbox (Get-Mailbox does not know them; Get-User shows them as User, not UserMailbox):\n%s\n"+
				"Exchange Online creates a mailbox usually within 30 minutes of licensing, sometimes only after 24 hours.", len(nr.Missing), strings.Join(lines, "\n")),
			"Nothing was submitted. Check that each user has a licence with Exchange Online, then apply again (the wait resumes), or raise timeouts.create / timeouts.update "+
				"(up to 24h). Microsoft: https://learn.microsoft.com/exchange/troubleshoot/user-and-shared-mailboxes/delays-provision-mailbox-sync-changes")
		return false
	}
	diagtext.APIError(d, "Cannot Check Mailboxes", "checking that the users of the batch "+name+" have Exchange Online mailboxes (Get-Mailbox)", err, migrationPermissions, "")
	return false
}

// parseStartAfter returns start_after as a time when set.
func parseStartAfter(v types.String) (time.Time, bool) {
	if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v.ValueString())
	return t, err == nil
}

// pollBatch waits on the batch with exchange.WaitBatch, logging progress at INFO.
func (r *migrationBatchResource) pollBatch(ctx context.Context, name, what string, done func(*exchange.Batch) (bool, error)) (*exchange.Batch, error) {
	return r.clients.Exchange.WaitBatch(ctx, name, what, done, func(b *exchange.Batch) {
		tflog.Info(ctx, "migration batch progress", map[string]any{
			"batch": name, "waiting_for": what, "status": b.Status, "total": b.TotalCount, "synced": b.SyncedCount,
			"failed": b.FailedCount, "active": b.ActiveCount, "pending": b.PendingCount, "finalized": b.FinalizedCount})
	})
}

// waitSynced waits until every user finished its initial sync, then fails when more users failed
// than maxFailed, naming each with the service's error and the fix (fewer: a warning).
//
// With expectStart, a Created batch is one that has not started yet (start_after, or the service
// still processing the start) and is waited for; otherwise a batch that is not running fails the wait.
func (r *migrationBatchResource) waitSynced(ctx context.Context, name string, want int, expectStart bool, maxFailed int64, d *diagList) {
	_, err := r.pollBatch(ctx, name, "synced", func(b *exchange.Batch) (bool, error) {
		if expectStart && strings.EqualFold(b.Status, exchange.BatchCreated) {
			return false, nil
		}
		if b.NotRunning() {
			return false, fmt.Errorf("the batch is %s, so it will not sync: it was not started (auto_start = false, enabled = false or start_after in the future) or was stopped", b.Status)
		}
		return b.Settled(want), nil
	})
	if err != nil {
		diagtext.Error(d, "Migration Batch Not Synced Yet", "waiting (wait_for = \"synced\") for the batch "+name+" to finish its initial sync", err.Error(),
			"An initial sync takes hours on a real tenant. The next apply resumes waiting (the plan shows the batch updated in place); raise timeouts.create / "+
				"timeouts.update to wait longer in one apply, or use wait_for = \"none\" and gate the cutover on data.m365_migration_batch.")
		return
	}
	rep, err := readBatchReport(ctx, r.clients.Exchange, name, nil, false)
	if err != nil {
		return
	}
	lines := rep.failures()
	switch {
	case len(lines) == 0:
	case int64(len(lines)) > maxFailed:
		diagtext.Error(d, "Migration Users Failed", fmt.Sprintf("waiting for the batch %s to finish its initial sync (max_failed_users = %d)", name, maxFailed),
			fmt.Sprintf("%d of %d users failed, in the service's words:\n%s", len(lines), len(rep.Users), strings.Join(lines, "\n")),
			"Fix each cause, then apply again: the provider retries the failed users (Start-MigrationBatch, which Microsoft documents for retrying failed users) "+
				"and waits for them. To go on with some failures, set max_failed_users.")
	default:
		d.AddWarning("Migration Users Failed",
			fmt.Sprintf("The batch %s finished its initial sync with %d failed users, within max_failed_users = %d:\n%s", name, len(lines), maxFailed, strings.Join(lines, "\n")))
	}
}

// complete runs Complete-MigrationBatch once the batch is synced and waits until it is completed.
func (r *migrationBatchResource) complete(ctx context.Context, name string, d *diagList) {
	b, err := r.clients.Exchange.GetMigrationBatch(ctx, name)
	if err == nil && b.CompletionStarted() {
		return
	}
	if err := r.clients.Exchange.CompleteMigrationBatch(ctx, name); err != nil {
		diagtext.APIError(d, "Cannot Complete Migration Batch", "completing the batch "+name+" (Complete-MigrationBatch)", err, migrationPermissions,
			"A batch can be completed only when it is Synced or SyncedWithErrors. For IMAP migrations Microsoft's guidance is to delete the batch 72 hours after switching MX instead.")
		return
	}
	_, err = r.pollBatch(ctx, name, "completed", func(b *exchange.Batch) (bool, error) { return b.IsCompleted(), nil })
	if err != nil {
		diagtext.Error(d, "Migration Batch Not Completed", "waiting for the batch "+name+" to be completed", err.Error(), "Raise the timeout and apply again.")
	}
}

// refresh reads the batch and its users into m (prior: the users as the state knew them, so
// that statistics are read only for users that moved). It reports gone when the batch does not
// exist.
func (r *migrationBatchResource) refresh(ctx context.Context, m *migrationBatchModel, prior map[string]batchUser, d *diagList) (gone bool) {
	name := m.ID.ValueString()
	rep, err := readBatchReport(ctx, r.clients.Exchange, name, prior, m.ReadUserStatistics.ValueBool() || m.ReadUserStatistics.IsNull())
	if exchange.IsNotFound(err) {
		fillBatchUnknowns(m)
		return true
	}
	if err != nil {
		diagtext.APIError(d, "Cannot Read Migration Batch", "reading the migration batch "+name+" and its users (Get-MigrationBatch, Get-MigrationUser -BatchId)", err, migrationPermissions, "")
		fillBatchUnknowns(m)
		return false
	}
	b := rep.Batch
	m.Name = types.StringValue(b.Identity)
	if b.SourceEndpoint != "" && !strings.EqualFold(b.SourceEndpoint, m.SourceEndpoint.ValueString()) {
		m.SourceEndpoint = types.StringValue(b.SourceEndpoint)
	}
	if !m.NotificationEmails.IsNull() || len(b.NotificationEmails) > 0 {
		if !sameStrings(b.NotificationEmails, setStrings(m.NotificationEmails)) {
			m.NotificationEmails = stringSet(b.NotificationEmails)
		}
	}
	m.BatchGUID = types.StringValue(b.GUID)
	m.Status = types.StringValue(b.Status)
	m.Counts = countsValue(b)
	members := rep.members()
	m.Members = sortedList(members)
	m.MembersSHA256 = types.StringValue(emailListHash(members))
	m.Users = usersValue(rep.Users)
	return false
}

// rowsFor returns the rows of the given addresses (lower-case), in file order.
func rowsFor(rows []usercsv.MigrationRow, emails []string) []usercsv.MigrationRow {
	want := map[string]bool{}
	for _, e := range emails {
		want[strings.ToLower(e)] = true
	}
	var out []usercsv.MigrationRow
	for _, row := range rows {
		if want[strings.ToLower(row.EmailAddress)] {
			out = append(out, row)
		}
	}
	return out
}

// endpointLagWait bounds how long a source endpoint that answers not-found is waited for.
const endpointLagWait = 2 * time.Minute

// preflight logs in to the endpoint's IMAP server with every row. It returns false (with an error
// diagnostic listing each failed user and the server's answer) when any login fails.
func (r *migrationBatchResource) preflight(ctx context.Context, m migrationBatchModel, rows []usercsv.MigrationRow, d *diagList) bool {
	if m.SkipPreflight.ValueBool() || len(rows) == 0 {
		return true
	}
	epName := m.SourceEndpoint.ValueString()
	var ep *exchange.Endpoint
	// A just-created endpoint may answer not-found for a while (replication); a missing one must
	// not hold the apply for the whole timeout.
	lagCtx, cancel := context.WithTimeout(ctx, endpointLagWait)
	defer cancel()
	err := exchange.WaitUntil(lagCtx, func(ctx context.Context) (bool, error) {
		var err error
		ep, err = r.clients.Exchange.GetMigrationEndpoint(ctx, epName)
		return err == nil, err
	})
	if err != nil {
		diagtext.APIError(d, "Cannot Read Migration Endpoint", "reading the source endpoint "+epName+" for the preflight login check (Get-MigrationEndpoint)", err, migrationPermissions,
			"Check source_endpoint: it must name an existing IMAP migration endpoint.")
		return false
	}
	pool, err := loadMigrationCAFile(m.PreflightCAFile.ValueString())
	if err != nil {
		d.AddAttributeError(path.Root("preflight_ca_file"), "Cannot Read CA File",
			fmt.Sprintf("While loading the CA certificates for the preflight login check, the file could not be used.\n\nCause: %s\n\nGive a PEM file of CA certificates.", err))
		return false
	}
	target := imapcheck.Target{Host: ep.RemoteServer, Port: int(ep.Port), Security: ep.Security,
		AcceptUntrustedCertificates: ep.AcceptUntrustedCertificates, RootCAs: pool}
	tflog.Info(ctx, "preflight: logging in to the source IMAP server with every CSV row", map[string]any{
		"server": ep.RemoteServer, "port": ep.Port, "security": ep.Security, "users": len(rows)})
	results := imapcheck.CheckLogins(ctx, target, migrationCredentials(rows), int(m.PreflightConcurrency.ValueInt64()))
	failed := loginFailures(results)
	if len(failed) == 0 {
		tflog.Info(ctx, "preflight: every login succeeded", map[string]any{"users": len(rows)})
		return true
	}
	diagtext.Error(d, "Source Login Failed",
		fmt.Sprintf("logging in to %s:%d (%s) with the CSV's credentials before submitting the batch %s", ep.RemoteServer, ep.Port, ep.Security, m.Name.ValueString()),
		fmt.Sprintf("%d of %d logins failed, in the server's words:\n%s", len(failed), len(rows), strings.Join(failed, "\n")),
		loginAdvice(results))
	return false
}

// waitMembers waits until Get-MigrationUser shows exactly the planned members (read-after-write:
// users submitted with New-MigrationBatch or -AddUsers may take a while to appear).
func (r *migrationBatchResource) waitMembers(ctx context.Context, name string, want []string, d *diagList) {
	if err := r.clients.Exchange.WaitBatchMembers(ctx, name, want); err != nil {
		diagtext.APIError(d, "Migration Users Not Visible", "waiting for the users of the batch "+name+" to be listed by Get-MigrationUser", err, migrationPermissions,
			"Raise the timeout and apply again; the batch exists.")
	}
}

// removeUsers removes dropped rows from the batch (Remove-MigrationUser) and waits until they are
// gone, saying which step failed.
func (r *migrationBatchResource) removeUsers(ctx context.Context, name string, emails []string, d *diagList) bool {
	tflog.Info(ctx, "removing users from the migration batch", map[string]any{"batch": name, "users": len(emails)})
	err := r.clients.Exchange.RemoveBatchUsers(ctx, name, emails)
	var re *exchange.RemoveUsersError
	switch {
	case err == nil:
		return true
	case errors.As(err, &re) && re.Step == exchange.RemoveStepRemove:
		diagtext.APIError(d, "Cannot Remove Migration User", "removing "+re.Email+" from the batch "+name+" (Remove-MigrationUser)", err, migrationPermissions, "")
	case errors.As(err, &re) && re.Step == exchange.RemoveStepWait:
		diagtext.APIError(d, "Migration Users Not Removed", "waiting for the removed users to leave the batch "+name, err, migrationPermissions, "Raise timeouts.update and apply again.")
	default:
		diagtext.APIError(d, "Cannot Read Migration Users", "reading the users of the batch "+name+" (Get-MigrationUser -BatchId)", err, migrationPermissions, "")
	}
	return false
}

// setEnabled stops or starts the batch and waits until the service shows it.
func (r *migrationBatchResource) setEnabled(ctx context.Context, name string, enabled bool, d *diagList) bool {
	b, err := r.clients.Exchange.GetMigrationBatch(ctx, name)
	if err != nil {
		diagtext.APIError(d, "Cannot Read Migration Batch", "reading the batch "+name, err, migrationPermissions, "")
		return false
	}
	if !enabled {
		if b.StopNeeded() {
			if err := r.clients.Exchange.StopMigrationBatch(ctx, name); err != nil {
				diagtext.APIError(d, "Cannot Stop Migration Batch", "stopping the batch "+name+" (Stop-MigrationBatch)", err, migrationPermissions,
					"Only a batch that is syncing or synced can be stopped.")
				return false
			}
		}
		_, err := r.pollBatch(ctx, name, "stopped", func(b *exchange.Batch) (bool, error) { return !b.IsStopping(), nil })
		if err != nil {
			diagtext.Error(d, "Migration Batch Not Stopped", "waiting for the batch "+name+" to stop", err.Error(), "Raise timeouts.update and apply again.")
			return false
		}
		return true
	}
	if !b.StartNeeded() {
		return true // running or finished: nothing to start
	}
	if err := r.clients.Exchange.StartMigrationBatch(ctx, name); err != nil {
		diagtext.APIError(d, "Cannot Start Migration Batch", "starting the batch "+name+" (Start-MigrationBatch)", err, migrationPermissions, "")
		return false
	}
	return true
}

// syncNow runs Set-MigrationBatch -SyncNow, first waiting for a running initial sync to finish
// (the service resyncs only users that reached Synced).
func (r *migrationBatchResource) syncNow(ctx context.Context, name string, d *diagList) bool {
	b, err := r.pollBatch(ctx, name, "synced before -SyncNow", func(b *exchange.Batch) (bool, error) {
		if b.NotRunning() {
			return false, fmt.Errorf("the batch is %s; -SyncNow needs a synced batch", b.Status)
		}
		return !b.InitialSyncRunning(), nil
	})
	if err != nil {
		diagtext.Error(d, "Cannot Sync Migration Batch Now", "waiting for the batch "+name+" to be synced before Set-MigrationBatch -SyncNow", err.Error(),
			"Start the batch (enabled = true) and let it sync first.")
		return false
	}
	tflog.Info(ctx, "running an incremental sync now", map[string]any{"batch": name, "status": b.Status})
	if _, err := r.clients.Exchange.SetMigrationBatch(ctx, name, exchange.BatchUpdate{SyncNow: true}); err != nil {
		diagtext.APIError(d, "Cannot Sync Migration Batch Now", "starting an incremental sync of the batch "+name+" (Set-MigrationBatch -SyncNow)", err, migrationPermissions, "")
		return false
	}
	return true
}
