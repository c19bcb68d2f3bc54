package fakecloud

import (
	"fmt"
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
//
// This file holds the types, the parameter readers and the rendering of batches; the cmdlets are
// in migration_batches_cmdlets.go and the status transitions in migration_batches_transitions.go.

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
