package fakecloud

// The migration batch cmdlets (https://learn.microsoft.com/powershell/module/exchangepowershell/new-migrationbatch
// and its siblings): New-, Get-, Set-, Start-, Stop-, Complete- and Remove-MigrationBatch. The
// status transitions they start and that polls advance are in migration_batches_transitions.go.

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

func cmdNewMigrationBatch(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	name, err := p.String("Name")
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, missingMandatory("Name")
	}
	if n := len([]rune(name)); n > maxBatchNameLength {
		return nil, Invalid(exPropertyTooLong, fmt.Sprintf("The length of the property is too long. The maximum length "+
			"is %d and the length of the value provided is %d.", maxBatchNameLength, n))
	}
	for _, sw := range []string{"AutoComplete", "CompleteAfter"} {
		if v, ok := p.get(sw); ok && v != nil && v != false {
			// Decompiled: ParameterNotSupportedForMigrationTypeException("AutoComplete", "IMAP"); text UNCONFIRMED.
			return nil, Invalid(exParamNotSupported, fmt.Sprintf("The %s parameter isn't supported for IMAP migrations. "+
				"It can only be used for local moves and remote move migrations.", sw))
		}
	}
	autoStart, err := p.Bool("AutoStart")
	if err != nil {
		return nil, err
	}
	startAfter, hasStartAfter, err := dateParam(p, "StartAfter")
	if err != nil {
		return nil, err
	}
	if autoStart && hasStartAfter {
		return nil, Invalid(exMigrationPermanent, "The AutoStart and StartAfter parameters can't be used together. "+
			"StartAfter already starts the batch at the given time.") // text UNCONFIRMED
	}
	endpointID, err := p.String("SourceEndpoint")
	if err != nil {
		return nil, err
	}
	endpointID = strings.TrimSpace(endpointID)
	if endpointID == "" {
		return nil, Invalid(exSourceEndpointNeeded, "A source endpoint is required for this type of migration. "+
			"Use the SourceEndpoint parameter.") // text UNCONFIRMED
	}
	exclude, err := folderParam(p, "ExcludeFolders")
	if err != nil {
		return nil, err
	}
	include, err := folderParam(p, "IncludeFolders")
	if err != nil {
		return nil, err
	}
	notify, err := notificationEmails(p, nil)
	if err != nil {
		return nil, err
	}
	tz, err := p.String("TimeZone")
	if err != nil {
		return nil, err
	}
	if tz = strings.TrimSpace(tz); tz == "" {
		tz = "UTC"
	}
	reportInterval, err := p.String("ReportInterval")
	if err != nil {
		return nil, err
	}
	skipReports, err := p.Bool("SkipReports")
	if err != nil {
		return nil, err
	}
	data, sent, err := csvDataParam(p)
	if err != nil {
		return nil, err
	}
	if !sent {
		return nil, Invalid(exCSVValidation, "The CSVData parameter is required for IMAP migrations: send the CSV file "+
			"with the columns EmailAddress, UserName and Password.") // text UNCONFIRMED
	}
	allowUnknown, err := p.Bool("AllowUnknownColumnsInCsv")
	if err != nil {
		return nil, err
	}
	rows, err := parseMigrationCSV(data, allowUnknown)
	if err != nil {
		return nil, err
	}
	ctx.noteMigrationRows(rows)

	now := time.Now().UTC()
	var out map[string]any
	err = ctx.Mutate(func(st *State) error {
		if findBatch(st, name) >= 0 {
			// Decompiled: MigrationPermanentException(MigrationJobAlreadyExists); text UNCONFIRMED.
			return AlreadyExists(exMigrationPermanent, fmt.Sprintf("A migration batch named \"%s\" already exists. "+
				"Choose a different name.", name))
		}
		ei := findEndpoint(st, endpointID)
		if ei < 0 || ctx.Lagging(lagKindEndpoint, st.MigrationEndpoints[ei].Name) {
			return endpointNotFound(endpointID)
		}
		if len(st.MigrationBatches) >= maxMigrationBatches {
			return Invalid(exMaxBatches, "The maximum number of migration batches is already running. Please remove a batch "+
				"before you add another one.")
		}
		b := MigrationBatch{
			Name: name, GUID: newGUID(), Status: batchCreated, SourceEndpoint: st.MigrationEndpoints[ei].Name,
			NotificationEmails: notify, ExcludeFolders: exclude, IncludeFolders: include, TimeZone: tz,
			StartAfter: startAfter, ReportInterval: reportInterval, SkipReports: skipReports,
			SubmittedBy: ctx.AppID, Created: now,
		}
		if autoStart {
			startLocked(&b, now) // before the users: duplicates found now stay Failed
		}
		b.Users = newUsers(st, &b, rows, now)
		st.MigrationBatches = append(st.MigrationBatches, b)
		out = batchJSON(&st.MigrationBatches[len(st.MigrationBatches)-1])
		return nil
	})
	if err != nil {
		return nil, err
	}
	ctx.MarkCreated(lagKindBatch, name)
	return []map[string]any{out}, nil
}

func cmdGetMigrationBatch(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := p.String("Identity")
	if err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	statusFilter, err := p.String("Status")
	if err != nil {
		return nil, err
	}
	endpointFilter, err := p.String("Endpoint")
	if err != nil {
		return nil, err
	}
	// Polls advance batches on the first page only: later pages are the same cmdlet run again and
	// must show the same state.
	firstPage := ctx.Request == nil || ctx.Request.URL.Query().Get("$skiptoken") == ""
	now := time.Now().UTC()
	var out []map[string]any
	var jobs []*syncJob
	err = ctx.Mutate(func(st *State) error {
		found := false
		for bi := 0; bi < len(st.MigrationBatches); bi++ {
			b := &st.MigrationBatches[bi]
			if id != "" && !strings.EqualFold(b.Name, id) && !strings.EqualFold(b.GUID, id) {
				continue
			}
			if ctx.Lagging(lagKindBatch, b.Name) {
				continue
			}
			if firstPage {
				job, gone := ctx.s.pollLocked(st, bi, now)
				if job != nil {
					jobs = append(jobs, job)
				}
				if gone {
					bi--
					continue
				}
				b = &st.MigrationBatches[bi]
			}
			found = true
			if statusFilter != "" && !strings.EqualFold(statusFilter, b.Status) {
				continue
			}
			if endpointFilter != "" && !strings.EqualFold(endpointFilter, b.SourceEndpoint) {
				continue
			}
			out = append(out, batchJSON(b))
		}
		if id != "" && !found {
			return batchNotFound(id)
		}
		return nil
	})
	// Jobs are launched even when the answer is an error: the state already says Syncing.
	for _, j := range jobs {
		ctx.s.engine.launch(j)
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		return strings.ToLower(stringAt(out[i], "Identity")) < strings.ToLower(stringAt(out[j], "Identity"))
	})
	return out, nil
}

// stateError is the 400 for a cmdlet the batch's status does not allow (text UNCONFIRMED).
func stateError(b *MigrationBatch, action string) *ExoError {
	return Invalid(exBatchState, fmt.Sprintf("The migration batch \"%s\" can't be %s because its status is %s.",
		b.Name, action, b.Status))
}

func cmdSetMigrationBatch(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	id, err := identityParam(p)
	if err != nil {
		return nil, err
	}
	addUsers, err := p.Bool("AddUsers")
	if err != nil {
		return nil, err
	}
	syncNow, err := p.Bool("SyncNow")
	if err != nil {
		return nil, err
	}
	if v, ok := p.get("CompleteAfter"); ok && v != nil {
		return nil, Invalid(exParamNotSupported, "The CompleteAfter parameter isn't supported for IMAP migrations. "+
			"It can only be used for local moves and remote move migrations.") // text UNCONFIRMED
	}
	startAfter, hasStartAfter, err := dateParam(p, "StartAfter")
	if err != nil {
		return nil, err
	}
	reportInterval, err := p.String("ReportInterval")
	if err != nil {
		return nil, err
	}
	var skipReports *bool
	if p.Has("SkipReports") {
		v, err := p.Bool("SkipReports")
		if err != nil {
			return nil, err
		}
		skipReports = &v
	}
	data, sentCSV, err := csvDataParam(p)
	if err != nil {
		return nil, err
	}
	if addUsers != sentCSV {
		// In Exchange Online -AddUsers goes with -CSVData (Set-MigrationBatch.md); replacing the CSV of
		// an existing batch is not offered. Text UNCONFIRMED.
		return nil, Invalid(ParameterBinding, "The AddUsers switch and the CSVData parameter must be used together: "+
			"only new rows of the CSV file are added to the batch.")
	}
	var rows []csvRow
	if sentCSV {
		allowUnknown, err := p.Bool("AllowUnknownColumnsInCsv")
		if err != nil {
			return nil, err
		}
		if rows, err = parseMigrationCSV(data, allowUnknown); err != nil {
			return nil, err
		}
		ctx.noteMigrationRows(rows)
	}
	now := time.Now().UTC()
	var job *syncJob
	err = ctx.Mutate(func(st *State) error {
		b, xe := lookupBatch(ctx, st, id)
		if xe != nil {
			return xe
		}
		switch b.Status {
		case batchRemoving, batchCompleting, batchCompleted, batchCompletedWithErrors:
			return stateError(b, "changed")
		}
		notify, err := notificationEmails(p, b.NotificationEmails)
		if err != nil {
			return err
		}
		if syncNow && b.Status != batchSynced && b.Status != batchSyncedWithErrors {
			// SyncNow resyncs users that reached Synced (Set-MigrationBatch.md).
			return stateError(b, "synced now")
		}
		changed := false
		if !equalFoldLists(notify, b.NotificationEmails) {
			b.NotificationEmails, changed = notify, true
		}
		if hasStartAfter && !startAfter.Equal(b.StartAfter) {
			b.StartAfter, changed = startAfter, true
		}
		if reportInterval != "" && reportInterval != b.ReportInterval {
			b.ReportInterval, changed = reportInterval, true
		}
		if skipReports != nil && *skipReports != b.SkipReports {
			b.SkipReports, changed = *skipReports, true
		}
		if addUsers {
			var fresh []csvRow
			for _, r := range rows {
				known := false
				for i := range b.Users {
					if u := &b.Users[i]; strings.EqualFold(u.EmailAddress, r.EmailAddress) {
						known = true
						// Only new rows are processed (Set-MigrationBatch.md). fakecloud-only: a row of a
						// user whose password was lost in a restart gives the password back.
						if u.Password == "" && strings.EqualFold(u.UserName, r.UserName) {
							u.Password, changed = r.Password, true
						}
					}
				}
				if !known {
					fresh = append(fresh, r)
				}
			}
			if len(fresh) > 0 {
				b.Users = append(b.Users, newUsers(st, b, fresh, now)...)
				changed = true
				if b.Status == batchSynced || b.Status == batchSyncedWithErrors {
					b.Status, b.Polls = batchSyncing, 0
				}
				if b.Status == batchSyncing {
					job = ctx.s.dispatchLocked(st, b, now)
				}
			}
		}
		if syncNow {
			for i := range b.Users {
				if u := &b.Users[i]; u.Status == userSynced {
					u.Status = userQueued
				}
			}
			b.Status, b.Polls = batchSyncing, 0
			job = ctx.s.dispatchLocked(st, b, now)
			changed = true
		}
		if !changed && !p.Has("Update") {
			ctx.Warn("The command completed successfully but no settings of '%s' have been modified.", b.Name)
		}
		return nil
	})
	if job != nil {
		ctx.s.engine.launch(job)
	}
	return nil, err
}

func equalFoldLists(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// batchAction runs a Start/Stop/Complete/Remove state change.
func batchAction(ctx *CmdletContext, p Params, fn func(b *MigrationBatch, now time.Time) error) ([]map[string]any, error) {
	id, err := identityParam(p)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	var guid string
	var abandon bool
	err = ctx.Mutate(func(st *State) error {
		b, xe := lookupBatch(ctx, st, id)
		if xe != nil {
			return xe
		}
		gen := b.Generation
		if err := fn(b, now); err != nil {
			return err
		}
		guid, abandon = b.GUID, b.Generation != gen
		return nil
	})
	if err == nil && abandon {
		ctx.s.engine.cancelBatch(guid)
	}
	return nil, err
}

func cmdStartMigrationBatch(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	return batchAction(ctx, p, func(b *MigrationBatch, now time.Time) error {
		switch b.Status {
		case batchCreated, batchStopped, batchSyncedWithErrors:
			// SyncedWithErrors: the failed users are queued again and the batch goes back through
			// Starting and Syncing (Start-MigrationBatch "can be run at any time to retry failed
			// users", https://learn.microsoft.com/powershell/module/exchange/start-migrationbatch).
			startLocked(b, now)
			b.StartAfter = time.Time{}
			return nil
		case batchStarting, batchSyncing:
			// Already running: only the failed users are queued again; they start on a later poll.
			for i := range b.Users {
				if u := &b.Users[i]; u.Status == userFailed {
					u.Status, u.LastUpdated = userQueued, now
				}
			}
			return nil
		}
		return stateError(b, "started")
	})
}

func cmdStopMigrationBatch(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	return batchAction(ctx, p, func(b *MigrationBatch, now time.Time) error {
		switch b.Status {
		case batchStarting, batchSyncing, batchSynced, batchSyncedWithErrors:
		default:
			// "You can only stop migration batches that have mailboxes that are still in the process
			// of being migrated or are waiting to be migrated" (Stop-MigrationBatch.md); the EAC also
			// stops Synced batches to end incremental syncs.
			return stateError(b, "stopped")
		}
		b.Status, b.Polls = batchStopping, 0
		b.Generation++
		for i := range b.Users {
			switch u := &b.Users[i]; u.Status {
			case userQueued, userSyncing, userSynced:
				u.Status, u.LastUpdated = userStopping, now
			}
		}
		return nil
	})
}

// cmdCompleteMigrationBatch completes a Synced batch. Microsoft's IMAP guidance is to delete the
// batch after the MX cut-over rather than complete it; whether the service refuses
// Complete-MigrationBatch for IMAP batches is UNCONFIRMED. The fake accepts it from Synced and
// SyncedWithErrors (the documented precondition), so `complete = true` can be exercised.
func cmdCompleteMigrationBatch(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	return batchAction(ctx, p, func(b *MigrationBatch, now time.Time) error {
		if b.Status != batchSynced && b.Status != batchSyncedWithErrors {
			return stateError(b, "completed")
		}
		b.Status, b.Polls = batchCompleting, 0
		b.Generation++
		b.CompleteAfter = now // "sets the CompleteAfter value to the current UTC time"
		for i := range b.Users {
			if u := &b.Users[i]; u.Status == userSynced {
				u.Status, u.LastUpdated = userCompleting, now
			}
		}
		return nil
	})
}

func cmdRemoveMigrationBatch(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	return batchAction(ctx, p, func(b *MigrationBatch, now time.Time) error {
		if b.Status == batchRemoving {
			ctx.Warn("The migration batch \"%s\" is already being removed.", b.Name)
			return nil
		}
		b.Status, b.Polls = batchRemoving, 0
		b.Generation++
		for i := range b.Users {
			b.Users[i].Status, b.Users[i].LastUpdated = userRemoving, now
		}
		return nil
	})
}
