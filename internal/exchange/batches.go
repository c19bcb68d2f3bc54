package exchange

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// Batch statuses (MigrationBatchStatus, https://learn.microsoft.com/powershell/module/exchangepowershell/get-migrationbatch). The documentation
// spells one "SyncedwithErrors": compare with strings.EqualFold.
const (
	BatchCreated             = "Created"
	BatchStarting            = "Starting"
	BatchSyncing             = "Syncing"
	BatchSynced              = "Synced"
	BatchSyncedWithErrors    = "SyncedWithErrors"
	BatchStopping            = "Stopping"
	BatchStopped             = "Stopped"
	BatchCompleting          = "Completing"
	BatchCompleted           = "Completed"
	BatchCompletedWithErrors = "CompletedWithErrors"
	BatchRemoving            = "Removing"
	BatchFailed              = "Failed"
)

// BatchSpec describes a new IMAP migration batch (New-MigrationBatch).
type BatchSpec struct {
	// Name is at most 64 characters and unique in the tenant.
	Name string
	// SourceEndpoint is the IMAP endpoint's name or GUID.
	SourceEndpoint string
	// CSV is the migration CSV (EmailAddress,UserName,Password[,UserRoot]), sent as CSVData.
	CSV                []byte
	ExcludeFolders     []string
	IncludeFolders     []string
	NotificationEmails []string
	// AutoStart starts the batch at once; it cannot be combined with StartAfter.
	AutoStart  bool
	StartAfter *time.Time
	// TimeZone is a Windows time zone name such as "China Standard Time" ("" = the service's UTC).
	TimeZone string
}

// Batch is a migration batch as Get-MigrationBatch describes it.
type Batch struct {
	Identity       string
	GUID           string
	Status         string
	MigrationType  string
	SourceEndpoint string
	Message        string

	TotalCount     int64
	ActiveCount    int64
	StoppedCount   int64
	SyncedCount    int64
	FinalizedCount int64
	FailedCount    int64
	PendingCount   int64

	NotificationEmails []string
	ExcludedFolders    []string
	// IncludedFolders is empty when the service does not echo IncludeFolders (UNCONFIRMED).
	IncludedFolders []string

	CreationDateTime    time.Time
	StartDateTime       time.Time
	InitialSyncDateTime time.Time
	LastSyncedDateTime  time.Time
	FinalizedDateTime   time.Time
	StartAfter          time.Time
	CompleteAfter       time.Time
}

// IsSynced reports Synced or SyncedWithErrors: the initial sync is over.
func (b *Batch) IsSynced() bool {
	return strings.EqualFold(b.Status, BatchSynced) || strings.EqualFold(b.Status, BatchSyncedWithErrors)
}

// timeUTC prefers the *UTC property, then the local one.
func timeUTC(o Object, key string) time.Time {
	if t := o.Time(key + "UTC"); !t.IsZero() {
		return t
	}
	return o.Time(key)
}

func batchFrom(o Object) Batch {
	return Batch{
		Identity:            o.Identity("Identity"),
		GUID:                strings.ToLower(o.String("BatchGuid")),
		Status:              o.String("Status"),
		MigrationType:       o.String("MigrationType"),
		SourceEndpoint:      o.Identity("SourceEndpoint"),
		Message:             o.String("Message"),
		TotalCount:          o.IntOr("TotalCount", 0),
		ActiveCount:         o.IntOr("ActiveCount", 0),
		StoppedCount:        o.IntOr("StoppedCount", 0),
		SyncedCount:         o.IntOr("SyncedCount", 0),
		FinalizedCount:      o.IntOr("FinalizedCount", 0),
		FailedCount:         o.IntOr("FailedCount", 0),
		PendingCount:        o.IntOr("PendingCount", 0),
		NotificationEmails:  o.Strings("NotificationEmails"),
		ExcludedFolders:     o.Strings("ExcludedFolders"),
		IncludedFolders:     o.Strings("IncludedFolders"),
		CreationDateTime:    timeUTC(o, "CreationDateTime"),
		StartDateTime:       timeUTC(o, "StartDateTime"),
		InitialSyncDateTime: timeUTC(o, "InitialSyncDateTime"),
		LastSyncedDateTime:  timeUTC(o, "LastSyncedDateTime"),
		FinalizedDateTime:   timeUTC(o, "FinalizedDateTime"),
		StartAfter:          timeUTC(o, "StartAfter"),
		CompleteAfter:       timeUTC(o, "CompleteAfter"),
	}
}

// dateParam renders a DateTime parameter the way the module does (UTC, 7 fractional digits).
func dateParam(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// NewMigrationBatch creates an IMAP migration batch. The CSV travels as
// {"@odata.type":"#Exchange.ByteArrayType","Data":[...]} (see ByteArray); it is never logged.
func (c *Client) NewMigrationBatch(ctx context.Context, spec BatchSpec) (*Batch, error) {
	params := map[string]any{
		"Name":           spec.Name,
		"SourceEndpoint": spec.SourceEndpoint,
		"CSVData":        ByteArray(spec.CSV),
	}
	if len(spec.ExcludeFolders) > 0 {
		params["ExcludeFolders"] = spec.ExcludeFolders
	}
	if len(spec.IncludeFolders) > 0 {
		params["IncludeFolders"] = spec.IncludeFolders
	}
	if len(spec.NotificationEmails) > 0 {
		params["NotificationEmails"] = spec.NotificationEmails
	}
	if spec.AutoStart {
		params["AutoStart"] = true
	}
	if spec.StartAfter != nil {
		params["StartAfter"] = dateParam(*spec.StartAfter)
	}
	if spec.TimeZone != "" {
		params["TimeZone"] = spec.TimeZone
	}
	res, err := c.Invoke(ctx, "New-MigrationBatch", params)
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects {
		if b := batchFrom(o); strings.EqualFold(b.Identity, spec.Name) {
			return &b, nil
		}
	}
	return &Batch{Identity: spec.Name, SourceEndpoint: spec.SourceEndpoint, MigrationType: "IMAP"}, nil
}

// GetMigrationBatch reads one batch by name or GUID. The answer is checked against the identity
// asked for (a generic Get-* may return every object, https://learn.microsoft.com/powershell/module/exchangepowershell/get-migrationbatch); a batch the service removed
// by itself (the 60/90-day retention) is KindNotFound like any other.
func (c *Client) GetMigrationBatch(ctx context.Context, identity string) (*Batch, error) {
	res, err := c.Invoke(ctx, "Get-MigrationBatch", map[string]any{"Identity": identity})
	if err != nil {
		return nil, err
	}
	for _, o := range res.Objects {
		if b := batchFrom(o); strings.EqualFold(b.Identity, identity) || strings.EqualFold(b.GUID, identity) {
			return &b, nil
		}
	}
	return nil, &Error{Cmdlet: "Get-MigrationBatch", Kind: KindNotFound, Message: "the migration batch \"" + identity + "\" can't be found"}
}

// ListMigrationBatches reads every batch (all pages).
func (c *Client) ListMigrationBatches(ctx context.Context) ([]Batch, error) {
	res, err := c.Invoke(ctx, "Get-MigrationBatch", nil)
	if err != nil {
		return nil, err
	}
	out := make([]Batch, 0, len(res.Objects))
	for _, o := range res.Objects {
		out = append(out, batchFrom(o))
	}
	return out, nil
}

// BatchUpdate are Set-MigrationBatch's changes; zero fields change nothing.
type BatchUpdate struct {
	// AddUsersCSV adds the CSV's new rows (-AddUsers -CSVData); rows already in the batch are
	// ignored by the service.
	AddUsersCSV []byte
	// SyncNow starts an incremental sync of the Synced users (the post-cutover sync for IMAP).
	SyncNow bool
	// NotificationEmails replaces the list (an empty slice clears it).
	NotificationEmails *[]string
	// StartAfter sets the start time.
	StartAfter *time.Time
	// Update makes the batch pick up endpoint changes (-Update).
	Update bool
}

// SetMigrationBatch changes a batch and returns the service's warnings.
func (c *Client) SetMigrationBatch(ctx context.Context, identity string, u BatchUpdate) ([]string, error) {
	params := map[string]any{"Identity": identity}
	if u.AddUsersCSV != nil {
		params["AddUsers"] = true
		params["CSVData"] = ByteArray(u.AddUsersCSV)
	}
	if u.SyncNow {
		params["SyncNow"] = true
	}
	if u.NotificationEmails != nil {
		list := *u.NotificationEmails
		if list == nil {
			list = []string{}
		}
		params["NotificationEmails"] = list
	}
	if u.StartAfter != nil {
		params["StartAfter"] = dateParam(*u.StartAfter)
	}
	if u.Update {
		params["Update"] = true
	}
	res, err := c.Invoke(ctx, "Set-MigrationBatch", params)
	if err != nil {
		return nil, err
	}
	return res.Warnings, nil
}

func (c *Client) batchCmdlet(ctx context.Context, cmdlet, identity string, extra map[string]any) error {
	params := map[string]any{"Identity": identity}
	for k, v := range extra {
		params[k] = v
	}
	_, err := c.Invoke(ctx, cmdlet, params)
	return err
}

// StartMigrationBatch starts a batch, resumes a stopped one, or retries its failed users.
func (c *Client) StartMigrationBatch(ctx context.Context, identity string) error {
	return c.batchCmdlet(ctx, "Start-MigrationBatch", identity, nil)
}

// StopMigrationBatch stops a batch (it goes through Stopping to Stopped).
func (c *Client) StopMigrationBatch(ctx context.Context, identity string) error {
	return c.batchCmdlet(ctx, "Stop-MigrationBatch", identity, nil)
}

// CompleteMigrationBatch completes a Synced batch. For IMAP Microsoft documents deleting the batch
// after the cut-over instead; whether the service accepts Complete for IMAP is UNCONFIRMED.
func (c *Client) CompleteMigrationBatch(ctx context.Context, identity string) error {
	return c.batchCmdlet(ctx, "Complete-MigrationBatch", identity, nil)
}

// RemoveMigrationBatch starts removing a batch (Confirm:$false). The batch shows Removing until it
// disappears: poll GetMigrationBatch until it is KindNotFound.
func (c *Client) RemoveMigrationBatch(ctx context.Context, identity string) error {
	return c.batchCmdlet(ctx, "Remove-MigrationBatch", identity, map[string]any{"Confirm": false})
}

// WaitBatch polls Get-MigrationBatch until done reports true, the context ends (the operation's
// timeout, or an interrupt), or done fails. A batch that answers not-found (replication lag after
// New-MigrationBatch) is waited for. progress, when not nil, sees every answer. Polls grow from
// 250 ms to 30 s apart: an initial sync takes hours on a real tenant. The last batch read is
// returned with the error too, so that the caller can keep its status.
func (c *Client) WaitBatch(ctx context.Context, name, what string, done func(*Batch) (bool, error), progress func(*Batch)) (*Batch, error) {
	var last *Batch
	err := httpx.PollUpTo(ctx, "the migration batch "+name+" to be "+what, 30*time.Second, IsNotFound,
		func(ctx context.Context) (bool, error) {
			b, err := c.GetMigrationBatch(ctx, name)
			if err != nil {
				return false, err
			}
			last = b
			if progress != nil {
				progress(b)
			}
			return done(b)
		})
	if err != nil && last != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return last, fmt.Errorf("gave up waiting for the batch to be %s: %w (last status %s, %d of %d users synced, %d failed)",
			what, err, last.Status, last.SyncedCount, last.TotalCount, last.FailedCount)
	}
	return last, err
}

// Settled reports whether every user of the batch has finished its initial sync (Synced, Failed,
// Completed or Stopped) and the batch holds at least want users (so that an answer from before
// new users were added is not taken as final).
func (b *Batch) Settled(want int) bool {
	if b.TotalCount < int64(want) || b.ActiveCount > 0 || b.PendingCount > 0 {
		return false
	}
	return b.IsSynced() || strings.EqualFold(b.Status, BatchCompleted) || strings.EqualFold(b.Status, BatchCompletedWithErrors) ||
		strings.EqualFold(b.Status, BatchFailed)
}
