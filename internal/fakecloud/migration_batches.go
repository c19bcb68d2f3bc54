package fakecloud

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration batches (https://learn.microsoft.com/powershell/module/exchangepowershell/new-migrationbatch and its siblings): New-, Get-, Set-, Start-,
// Stop-, Complete- and Remove-MigrationBatch. A batch's transitional statuses advance when it is
// polled with Get-MigrationBatch (Knobs.MigrationPollsPerStep polls per step):
//
//	Created / Stopped --Start--> Starting --> Syncing --(engine done)--> Synced | SyncedWithErrors
//	Starting / Syncing / Synced* --Stop--> Stopping --> Stopped
//	Synced* --Complete--> Completing --> Completed | CompletedWithErrors
//	any --Remove--> Removing --> (gone)
//
// While a batch is Syncing the migration engine (migration_engine.go) logs in to the endpoint's
// IMAP server with each user's CSV credentials and counts the mailbox.

// lagKindBatch is the exchange_lag kind of migration batches.
const lagKindBatch = "migrationbatch"

// maxMigrationBatches is the tenant's batch limit (Get-MigrationConfig MaxNumberOfBatches).
const maxMigrationBatches = 100

// maxBatchNameLength is New-MigrationBatch -Name's documented maximum length.
const maxBatchNameLength = 64

// Batch statuses (MigrationBatchStatus).
const (
	batchCreated             = "Created"
	batchStarting            = "Starting"
	batchSyncing             = "Syncing"
	batchSynced              = "Synced"
	batchSyncedWithErrors    = "SyncedWithErrors"
	batchStopping            = "Stopping"
	batchStopped             = "Stopped"
	batchCompleting          = "Completing"
	batchCompleted           = "Completed"
	batchCompletedWithErrors = "CompletedWithErrors"
	batchRemoving            = "Removing"
)

// User statuses (MigrationUserStatus).
const (
	userQueued     = "Queued"
	userSyncing    = "Syncing"
	userSynced     = "Synced"
	userFailed     = "Failed"
	userStopping   = "Stopping"
	userStopped    = "Stopped"
	userCompleting = "Completing"
	userCompleted  = "Completed"
	userRemoving   = "Removing"
)

// Exception types of batch errors. Names follow third-party decompilations of the service where
// known; all are UNCONFIRMED against the live service.
const (
	exMigrationPermanent   = "Microsoft.Exchange.Migration.MigrationPermanentException"
	exParamNotSupported    = "Microsoft.Exchange.Migration.ParameterNotSupportedForMigrationTypeException"
	exMaxBatches           = "Microsoft.Exchange.Migration.MaximumNumberOfBatchesReachedException"
	exSourceEndpointNeeded = "Microsoft.Exchange.Migration.SourceEndpointRequiredException"
	exCSVValidation        = "Microsoft.Exchange.Migration.CsvValidationException"
	exBatchState           = "Microsoft.Exchange.Migration.MigrationBatchCannotBeProcessedException"
	exPropertyTooLong      = "Microsoft.Exchange.Data.PropertyValidationException"
)

// MigrationBatch is an Exchange Online IMAP migration batch and its users.
type MigrationBatch struct {
	Name               string    `json:"name"`
	GUID               string    `json:"guid"`
	Status             string    `json:"status"`
	SourceEndpoint     string    `json:"source_endpoint"` // the endpoint's name
	NotificationEmails []string  `json:"notification_emails,omitempty"`
	ExcludeFolders     []string  `json:"exclude_folders,omitempty"`
	IncludeFolders     []string  `json:"include_folders,omitempty"`
	TimeZone           string    `json:"time_zone,omitempty"`
	StartAfter         time.Time `json:"start_after,omitzero"`
	ReportInterval     string    `json:"report_interval,omitempty"`
	SkipReports        bool      `json:"skip_reports,omitempty"`
	SubmittedBy        string    `json:"submitted_by,omitempty"`
	Created            time.Time `json:"created,omitzero"`
	Started            time.Time `json:"started,omitzero"`
	InitialSynced      time.Time `json:"initial_synced,omitzero"`
	LastSynced         time.Time `json:"last_synced,omitzero"`
	Finalized          time.Time `json:"finalized,omitzero"`
	CompleteAfter      time.Time `json:"complete_after,omitzero"`
	// Polls counts the Get-MigrationBatch polls seen in the current transitional status.
	Polls int `json:"polls,omitempty"`
	// Generation changes whenever running syncs must be abandoned (Stop, Complete, Remove); the
	// engine drops results of an older generation.
	Generation int             `json:"generation,omitempty"`
	Users      []MigrationUser `json:"users,omitempty"`
}

// MigrationUser is one row of a batch: a mailbox to migrate.
type MigrationUser struct {
	GUID         string `json:"guid"`
	EmailAddress string `json:"email_address"`
	UserName     string `json:"user_name"`
	UserRoot     string `json:"user_root,omitempty"`
	// Password stays in memory only: it is never written to the state file. After a restart from a
	// state file the batch needs its CSV again (Set-MigrationBatch -AddUsers -CSVData refills it).
	Password string `json:"-"`
	Status   string `json:"status"`
	// ErrorSummary is Get-MigrationUser's ErrorSummary; ErrorDetail the longer
	// Get-MigrationUserStatistics Error.
	ErrorSummary string `json:"error_summary,omitempty"`
	ErrorDetail  string `json:"error_detail,omitempty"`
	// DuplicateOf names the batch that already held this address when this row was added.
	DuplicateOf        string    `json:"duplicate_of,omitempty"`
	TotalItems         int64     `json:"total_items,omitempty"`
	SyncedItems        int64     `json:"synced_items,omitempty"`
	SkippedItems       int64     `json:"skipped_items,omitempty"`
	BytesTransferred   int64     `json:"bytes_transferred,omitempty"`
	LastSuccessfulSync time.Time `json:"last_successful_sync,omitzero"`
	LastUpdated        time.Time `json:"last_updated,omitzero"`
	Created            time.Time `json:"created,omitzero"`
}

func init() {
	registerCmdlet("New-MigrationBatch", []string{"Name", "CSVData", "SourceEndpoint", "ExcludeFolders", "IncludeFolders",
		"NotificationEmails", "AutoStart", "AutoComplete", "StartAfter", "CompleteAfter", "TimeZone",
		"AllowUnknownColumnsInCsv", "ReportInterval", "SkipReports", "TargetDeliveryDomain", "Locale", "Partition",
		"BadItemLimit", "LargeItemLimit"}, cmdNewMigrationBatch)
	registerCmdlet("Get-MigrationBatch", []string{"Identity", "Status", "Endpoint", "IncludeReport", "Diagnostic",
		"DiagnosticArgument", "DiagnosticInfo", "ResultSize", "Partition"}, cmdGetMigrationBatch)
	registerCmdlet("Set-MigrationBatch", []string{"Identity", "AddUsers", "CSVData", "AllowUnknownColumnsInCsv",
		"ApproveSkippedItems", "CompleteAfter", "StartAfter", "NotificationEmails", "ReportInterval", "SkipReports",
		"SyncNow", "Update", "BadItemLimit", "LargeItemLimit", "Partition"}, cmdSetMigrationBatch)
	registerCmdlet("Start-MigrationBatch", []string{"Identity", "Validate", "Partition"}, cmdStartMigrationBatch)
	registerCmdlet("Stop-MigrationBatch", []string{"Identity", "Partition"}, cmdStopMigrationBatch)
	registerCmdlet("Complete-MigrationBatch", []string{"Identity", "SyncAndComplete", "NotificationEmails", "Partition"},
		cmdCompleteMigrationBatch)
	registerCmdlet("Remove-MigrationBatch", []string{"Identity", "Force", "Partition"}, cmdRemoveMigrationBatch)
}

// batchNotFound is the service's text for a missing batch (seen in third-party code; UNCONFIRMED).
func batchNotFound(id string) *ExoError {
	return NotFound(fmt.Sprintf("The migration batch \"%s\" can't be found.", id))
}

// findBatch finds a batch by name or GUID (case-insensitive); -1 when absent.
func findBatch(st *State, id string) int {
	for i, b := range st.MigrationBatches {
		if strings.EqualFold(b.Name, id) || strings.EqualFold(b.GUID, id) {
			return i
		}
	}
	return -1
}

// lookupBatch finds a batch that is visible (not lagging) or returns the not-found error.
func lookupBatch(ctx *CmdletContext, st *State, id string) (*MigrationBatch, *ExoError) {
	i := findBatch(st, id)
	if i < 0 || ctx.Lagging(lagKindBatch, st.MigrationBatches[i].Name) {
		return nil, batchNotFound(id)
	}
	return &st.MigrationBatches[i], nil
}

// identityParam reads the mandatory -Identity parameter.
func identityParam(p Params) (string, error) {
	id, err := p.String("Identity")
	if err != nil {
		return "", err
	}
	id = strings.TrimSpace(id)
	if id == "" {
		return "", missingMandatory("Identity")
	}
	return id, nil
}

// dateParam reads a DateTime parameter (ISO 8601; without a zone it is UTC, as the service
// documents for StartAfter and CompleteAfter).
func dateParam(p Params, name string) (time.Time, bool, error) {
	s, err := p.String(name)
	if err != nil || strings.TrimSpace(s) == "" {
		return time.Time{}, false, err
	}
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true, nil
		}
	}
	return time.Time{}, false, conversionError(name, s, "System.DateTime")
}

// folderParam reads ExcludeFolders / IncludeFolders: names relative to the IMAP root, "Name/*" for
// a subtree, well-known names like #Inbox#; other wildcards are refused (New-MigrationBatch.md).
func folderParam(p Params, name string) ([]string, error) {
	list, err := p.Strings(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range list {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(strings.TrimSuffix(f, "/*"), "*") {
			return nil, Invalid(ParameterBinding, fmt.Sprintf(
				"Cannot validate argument on parameter '%s'. Wildcard characters can't be used in folder name \"%s\"; "+
					"use \"<FolderName>/*\" for a folder and its subfolders.", name, f)) // text UNCONFIRMED
		}
		out = append(out, f)
	}
	return out, nil
}

// notificationEmails reads NotificationEmails: a list (replace) or the delta form
// {"@odata.type":"#Exchange.StringFieldDeltaUpdateData","Add":[..],"Remove":[..]} applied to cur.
func notificationEmails(p Params, cur []string) ([]string, error) {
	v, ok := p.get("NotificationEmails")
	if !ok || v == nil {
		return cur, nil
	}
	if m, isMap := v.(map[string]any); isMap {
		sub := Params(m)
		add, err := sub.Strings("Add")
		if err != nil {
			return nil, err
		}
		remove, err := sub.Strings("Remove")
		if err != nil {
			return nil, err
		}
		out := append([]string(nil), cur...)
		for _, a := range add {
			if !listHasFold(out, a) {
				out = append(out, a)
			}
		}
		kept := out[:0]
		for _, e := range out {
			if !listHasFold(remove, e) {
				kept = append(kept, e)
			}
		}
		return kept, validateEmails(kept)
	}
	list, err := p.Strings("NotificationEmails")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range list {
		if e = strings.TrimSpace(e); e != "" && !listHasFold(out, e) {
			out = append(out, e)
		}
	}
	return out, validateEmails(out)
}

func validateEmails(list []string) error {
	for _, e := range list {
		local, domain, ok := strings.Cut(e, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(e, " ,;<>") {
			return conversionError("NotificationEmails", e, "Microsoft.Exchange.Data.SmtpAddress")
		}
	}
	return nil
}

func listHasFold(list []string, v string) bool {
	for _, e := range list {
		if strings.EqualFold(e, v) {
			return true
		}
	}
	return false
}

// statusSummary maps a user status to MigrationUserStatusSummary (https://learn.microsoft.com/powershell/module/exchangepowershell/get-migrationuser).
func statusSummary(status string) string {
	switch status {
	case userSynced:
		return "Synced"
	case userCompleted:
		return "Completed"
	case userFailed:
		return "Failed"
	case userStopped:
		return "Stopped"
	}
	return "Active"
}

// batchCounts are the per-status user counts of Get-MigrationBatch.
type batchCounts struct {
	total, active, stopped, synced, finalized, failed, pending int
}

func countUsers(b *MigrationBatch) batchCounts {
	c := batchCounts{total: len(b.Users)}
	for _, u := range b.Users {
		switch u.Status {
		case userQueued:
			c.pending++
		case userSynced:
			c.synced++
		case userCompleted:
			c.finalized++
		case userFailed:
			c.failed++
		case userStopped:
			c.stopped++
		default:
			c.active++
		}
	}
	return c
}

// exoTime renders a DateTime property the way InvokeCommand does (7 fractional digits); nil for
// zero. utc selects the *UTC form ("Z") over the local form ("+00:00": the fake runs in UTC).
func exoTime(t time.Time, utc bool) any {
	if t.IsZero() {
		return nil
	}
	if utc {
		return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
	}
	return t.UTC().Format("2006-01-02T15:04:05.0000000-07:00")
}

// batchJSON renders a batch like Get-MigrationBatch. Counts are strings except TotalCount (the
// service is inconsistent; third-party clients decode leniently); SourceEndpoint is an object.
func batchJSON(b *MigrationBatch) map[string]any {
	c := countUsers(b)
	str := func(n int) string { return strconv.Itoa(n) }
	msg := ""
	if batchNeedsCSV(b) {
		msg = "fakecloud restarted from its state file, which never holds passwords: send the CSV again with " +
			"Set-MigrationBatch -AddUsers -CSVData to restore the users' credentials."
	}
	var initialDuration any
	if !b.InitialSynced.IsZero() && !b.Started.IsZero() {
		d := b.InitialSynced.Sub(b.Started)
		initialDuration = fmt.Sprintf("%02d:%02d:%02d.%07d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60,
			(d%time.Second)/100)
	}
	reportInterval := b.ReportInterval
	if reportInterval == "" {
		reportInterval = "1.00:00:00"
	}
	return map[string]any{
		"Identity":                   b.Name,
		"Status":                     b.Status,
		"BatchGuid@odata.type":       "#Guid",
		"BatchGuid":                  b.GUID,
		"MigrationType":              "IMAP",
		"BatchDirection":             "Onboarding",
		"SourceEndpoint":             map[string]any{"Id": b.SourceEndpoint, "Name": b.SourceEndpoint},
		"TargetEndpoint":             nil,
		"TotalCount@odata.type":      "#Int32",
		"TotalCount":                 c.total,
		"ActiveCount":                str(c.active),
		"StoppedCount":               str(c.stopped),
		"SyncedCount":                str(c.synced),
		"FinalizedCount":             str(c.finalized),
		"FailedCount":                str(c.failed),
		"FailedInitialSyncCount":     str(c.failed),
		"FailedIncrementalSyncCount": "0",
		"PendingCount":               str(c.pending),
		"ProvisionedCount":           "0",
		"ValidationWarningCount":     "0",
		"ValidationWarnings":         []string{},
		"Message":                    msg,
		"NotificationEmails":         nonNil(b.NotificationEmails),
		"ExcludedFolders":            nonNil(b.ExcludeFolders),
		// Whether the service echoes IncludeFolders, and under which name, is UNCONFIRMED.
		"IncludedFolders":        nonNil(b.IncludeFolders),
		"CreationDateTime":       exoTime(b.Created, false),
		"CreationDateTimeUTC":    exoTime(b.Created, true),
		"StartDateTime":          exoTime(b.Started, false),
		"StartDateTimeUTC":       exoTime(b.Started, true),
		"InitialSyncDateTime":    exoTime(b.InitialSynced, false),
		"InitialSyncDateTimeUTC": exoTime(b.InitialSynced, true),
		"InitialSyncDuration":    initialDuration,
		"LastSyncedDateTime":     exoTime(b.LastSynced, false),
		"LastSyncedDateTimeUTC":  exoTime(b.LastSynced, true),
		"FinalizedDateTime":      exoTime(b.Finalized, false),
		"FinalizedDateTimeUTC":   exoTime(b.Finalized, true),
		"StartAfter":             exoTime(b.StartAfter, false),
		"StartAfterUTC":          exoTime(b.StartAfter, true),
		"CompleteAfter":          exoTime(b.CompleteAfter, false),
		"CompleteAfterUTC":       exoTime(b.CompleteAfter, true),
		"SubmittedByUser":        b.SubmittedBy,
		"ReportInterval":         reportInterval,
		"SkipReports":            b.SkipReports,
		"AutoRetryCount":         "0",
		"CurrentRetryCount":      "0",
		"IsProvisioning":         false,
		"IsValid":                true,
		"ObjectState":            "Unchanged",
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// batchNeedsCSV reports users whose password was lost in a restart.
func batchNeedsCSV(b *MigrationBatch) bool {
	for _, u := range b.Users {
		if u.Password == "" && u.Status != userCompleted {
			return true
		}
	}
	return false
}

// resumeMigrationState prepares batches loaded from a state file: users that were being synced
// when the previous process stopped are queued again (the engine is not running for them).
func resumeMigrationState(st *State) {
	for bi := range st.MigrationBatches {
		for ui := range st.MigrationBatches[bi].Users {
			if u := &st.MigrationBatches[bi].Users[ui]; u.Status == userSyncing {
				u.Status = userQueued
			}
		}
	}
}

// ownerBatch returns the batch (other than self) that holds addr as a regular, non-duplicate
// member; "" when none does.
func ownerBatch(st *State, addr, self string) string {
	for _, b := range st.MigrationBatches {
		if b.GUID == self {
			continue
		}
		for _, u := range b.Users {
			if strings.EqualFold(u.EmailAddress, addr) && u.DuplicateOf == "" {
				return b.Name
			}
		}
	}
	return ""
}

// duplicateText is the service's per-user error for an address already in another batch
// (UserDuplicateInOtherBatchException; punctuation as Microsoft's troubleshooting text,
// UNCONFIRMED).
func duplicateText(addr, batch string) string {
	return fmt.Sprintf("The user \"%s\" is already included in migration batch \"%s.\" Please remove the user from any "+
		"other batch and try again.", addr, batch)
}

// recipientNotFoundText is the per-user error of a row whose EmailAddress is not a proxy address
// of a mailbox of the tenant: IMAP migrations do not create mailboxes
// (https://learn.microsoft.com/exchange/troubleshoot/move-or-migrate-mailboxes/troubleshoot-issues-with-imap-mailbox-migration).
// The "MigrationRecipientNotFoundException: " prefix and the quotes around the address are as an
// admin reported them (exact quoting UNCONFIRMED).
func recipientNotFoundText(addr string) string {
	return fmt.Sprintf("MigrationRecipientNotFoundException: A recipient wasn't found for \"%s\" on the target. Create "+
		"a recipient of the appropriate type for this migration on the target and try again.", addr)
}

// admitUserLocked checks a user that is about to be queued (a new row) or started (dispatch):
// already in another batch, or, when recipient is set, without a target mailbox at this moment
// (mailboxes.go: a licensed user whose mailbox is still provisioning has none). It marks the user
// Failed and returns false when it cannot be migrated. A failed user is not retried by itself:
// Start-MigrationBatch queues it again.
func admitUserLocked(st *State, b *MigrationBatch, u *MigrationUser, now time.Time, recipient bool) bool {
	fail := func(summary, detail string) bool {
		u.Status, u.ErrorSummary, u.ErrorDetail, u.LastUpdated = userFailed, summary, detail, now
		return false
	}
	if owner := ownerBatch(st, u.EmailAddress, b.GUID); owner != "" {
		u.DuplicateOf = owner
		text := duplicateText(u.EmailAddress, owner)
		return fail(text, "Error: UserDuplicateInOtherBatchException: "+text)
	}
	u.DuplicateOf = ""
	if !recipient {
		return true
	}
	if _, ok := recipientForAddressLocked(st, u.EmailAddress, now); !ok {
		text := recipientNotFoundText(u.EmailAddress)
		return fail(text, text)
	}
	u.ErrorSummary, u.ErrorDetail = "", ""
	return true
}

// newUsers turns CSV rows into queued users of b, admitting each (duplicates fail at once, as the
// service reports them right after the batch is created; the target mailbox is checked when the
// user starts, see dispatchLocked).
func newUsers(st *State, b *MigrationBatch, rows []csvRow, now time.Time) []MigrationUser {
	out := make([]MigrationUser, 0, len(rows))
	for _, r := range rows {
		u := MigrationUser{GUID: newGUID(), EmailAddress: r.EmailAddress, UserName: r.UserName, UserRoot: r.UserRoot,
			Password: r.Password, Status: userQueued, Created: now, LastUpdated: now}
		admitUserLocked(st, b, &u, now, false)
		out = append(out, u)
	}
	return out
}

// pollsPerStep is the configured polls per transitional status.
func (s *Server) pollsPerStep() int { return s.Knobs().pollsPerStep() }

// dispatchLocked moves the batch's queued users to Syncing (re-checking each) and returns the
// engine job for them (nil when there is nothing to sync).
func (s *Server) dispatchLocked(st *State, b *MigrationBatch, now time.Time) *syncJob {
	var job *syncJob
	for i := range b.Users {
		u := &b.Users[i]
		if u.Status != userQueued || !admitUserLocked(st, b, u, now, true) {
			continue
		}
		u.Status, u.LastUpdated = userSyncing, now
		if job == nil {
			ep := MigrationEndpoint{Name: b.SourceEndpoint} // removed under the batch: every user fails
			if ei := findEndpoint(st, b.SourceEndpoint); ei >= 0 {
				ep = st.MigrationEndpoints[ei]
			}
			job = &syncJob{batchGUID: b.GUID, generation: b.Generation, endpoint: ep,
				exclude: append([]string(nil), b.ExcludeFolders...), include: append([]string(nil), b.IncludeFolders...)}
		}
		job.users = append(job.users, jobUser{guid: u.GUID, email: u.EmailAddress, userName: u.UserName,
			password: u.Password, userRoot: u.UserRoot})
	}
	return job
}

// startLocked puts a batch in Starting: stopped and failed users are queued again (Start retries
// failures, Start-MigrationBatch.md).
func startLocked(b *MigrationBatch, now time.Time) {
	b.Status, b.Polls = batchStarting, 0
	if b.Started.IsZero() {
		b.Started = now
	}
	for i := range b.Users {
		switch u := &b.Users[i]; u.Status {
		case userStopped, userFailed, userStopping:
			u.Status, u.LastUpdated = userQueued, now
		}
	}
}

// pollLocked advances a batch by one Get-MigrationBatch poll. It returns an engine job to launch
// and whether the batch is gone (removed).
func (s *Server) pollLocked(st *State, bi int, now time.Time) (*syncJob, bool) {
	b := &st.MigrationBatches[bi]
	k := s.pollsPerStep()
	var job *syncJob
	due := b.Polls >= k
	switch b.Status {
	case batchCreated, batchStopped:
		if !b.StartAfter.IsZero() && !now.Before(b.StartAfter) {
			b.StartAfter = time.Time{}
			startLocked(b, now)
		}
		return nil, false
	case batchStarting:
		if due {
			b.Status, b.Polls = batchSyncing, 0
			job = s.dispatchLocked(st, b, now)
		}
	case batchSyncing:
		job = s.dispatchLocked(st, b, now)
		busy := false
		for _, u := range b.Users {
			busy = busy || u.Status == userSyncing || u.Status == userQueued
		}
		if due && !busy && job == nil {
			b.Status, b.Polls = batchSynced, 0
			if countUsers(b).failed > 0 {
				b.Status = batchSyncedWithErrors
			}
			if b.InitialSynced.IsZero() {
				b.InitialSynced = now
			}
			b.LastSynced = now
		}
	case batchStopping:
		if due {
			b.Status, b.Polls = batchStopped, 0
			for i := range b.Users {
				if u := &b.Users[i]; u.Status == userStopping {
					u.Status, u.LastUpdated = userStopped, now
				}
			}
		}
	case batchCompleting:
		if due {
			b.Status, b.Polls = batchCompleted, 0
			for i := range b.Users {
				if u := &b.Users[i]; u.Status == userCompleting {
					u.Status, u.LastUpdated = userCompleted, now
				}
			}
			if countUsers(b).failed > 0 {
				b.Status = batchCompletedWithErrors
			}
			b.Finalized = now
		}
	case batchRemoving:
		if due {
			st.MigrationBatches = append(st.MigrationBatches[:bi], st.MigrationBatches[bi+1:]...)
			return nil, true
		}
	default:
		return nil, false
	}
	if b.Status == batchStarting || b.Status == batchSyncing || b.Status == batchStopping ||
		b.Status == batchCompleting || b.Status == batchRemoving {
		b.Polls++
	}
	return job, false
}

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

// batchUsingEndpoint names a batch whose source is the endpoint ("" when none).
func batchUsingEndpoint(st *State, endpoint string) string {
	for _, b := range st.MigrationBatches {
		if strings.EqualFold(b.SourceEndpoint, endpoint) {
			return b.Name
		}
	}
	return ""
}

// activeMigrationCount counts the users of the endpoint's batches being synced now.
func activeMigrationCount(st *State, endpoint string) int {
	n := 0
	for _, b := range st.MigrationBatches {
		if !strings.EqualFold(b.SourceEndpoint, endpoint) {
			continue
		}
		for _, u := range b.Users {
			if u.Status == userSyncing {
				n++
			}
		}
	}
	return n
}
