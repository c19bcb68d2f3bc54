package fakecloud

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// TestMigrationBatchSyncsRealMailboxes runs a batch through Created → Starting → Syncing →
// SyncedWithErrors against a real IMAP server: counts equal the seeded mailboxes, a wrong password
// fails that user with the service-like error.
func TestMigrationBatchSyncsRealMailboxes(t *testing.T) {
	f := newMigFixture(t, Options{}, "Ssl")
	f.newEndpoint("Exmail", nil)
	csv := csvBytes([2]string{"alice@contoso.com", alicePW}, [2]string{"bob@contoso.com", bobPW},
		[2]string{"carol@contoso.com", "wrong-" + carolPW})
	nb := f.exo("New-MigrationBatch", map[string]any{"Name": "Wave1", "SourceEndpoint": "Exmail",
		"CSVData": byteArray(csv), "NotificationEmails": []string{"admin@contoso.com"}, "TimeZone": "China Standard Time"}).Value[0]
	if nb["Status"] != batchCreated || count(t, nb, "TotalCount") != 3 || count(t, nb, "PendingCount") != 3 {
		t.Fatalf("new batch: %v", nb)
	}
	if ep, ok := nb["SourceEndpoint"].(map[string]any); !ok || ep["Name"] != "Exmail" || nb["MigrationType"] != "IMAP" {
		t.Fatalf("SourceEndpoint/MigrationType: %v", nb)
	}
	if !isGUID(nb["BatchGuid"].(string)) || nb["CreationDateTimeUTC"] == nil {
		t.Fatalf("guid/creation: %v", nb)
	}
	// Nothing runs before Start.
	if b := f.getBatch("Wave1"); b["Status"] != batchCreated {
		t.Fatalf("batch moved without Start: %v", b["Status"])
	}

	f.exo("Start-MigrationBatch", map[string]any{"Identity": "Wave1"})
	if b := f.getBatch("Wave1"); b["Status"] != batchStarting {
		t.Fatalf("after Start: %v", b["Status"])
	}
	if b := f.getBatch("Wave1"); b["Status"] != batchSyncing {
		t.Fatalf("second poll: %v", b["Status"])
	}
	b := f.waitBatch("Wave1", batchSynced, batchSyncedWithErrors)
	if b["Status"] != batchSyncedWithErrors || count(t, b, "SyncedCount") != 2 || count(t, b, "FailedCount") != 1 ||
		count(t, b, "TotalCount") != 3 || count(t, b, "ActiveCount") != 0 || b["InitialSyncDateTimeUTC"] == nil {
		t.Fatalf("synced batch: %v", b)
	}

	users := f.users("Wave1")
	if len(users) != 3 {
		t.Fatalf("users: %v", users)
	}
	for addr, want := range map[string]int{"alice@contoso.com": 5, "bob@contoso.com": 1} {
		u := users[addr]
		if u["Status"] != userSynced || u["StatusSummary"] != "Synced" || count(t, u, "SyncedItemCount") != want ||
			u["LastSuccessfulSyncTime"] == nil || u["BatchId"] != "Wave1" {
			t.Fatalf("%s: %v", addr, u)
		}
	}
	carol := users["carol@contoso.com"]
	const authText = "Error: ImapAuthenticationException: The username or password for this account is incorrect, or IMAP access is disabled."
	if carol["Status"] != userFailed || carol["StatusSummary"] != "Failed" || carol["ErrorSummary"] != authText {
		t.Fatalf("carol: %v", carol)
	}

	st := f.exo("Get-MigrationUserStatistics", map[string]any{"Identity": "alice@contoso.com"}).Value[0]
	if count(t, st, "TotalItemsInSourceMailboxCount") != 5 || count(t, st, "SkippedItemCount") != 0 ||
		!strings.HasSuffix(st["BytesTransferred"].(string), "(12,000 bytes)") || count(t, st, "PercentageComplete") != 100 {
		t.Fatalf("alice statistics: %v", st)
	}
	cst := f.exo("Get-MigrationUserStatistics", map[string]any{"Identity": "carol@contoso.com"}).Value[0]
	errText, _ := cst["Error"].(string)
	if !strings.HasPrefix(errText, authText) || !strings.Contains(errText, "AUTHENTICATIONFAILED") ||
		strings.Contains(errText, carolPW) {
		t.Fatalf("carol statistics error: %q", errText)
	}

	// The endpoint counts no active migration once synced; it can't be removed while used.
	ep := f.exo("Get-MigrationEndpoint", map[string]any{"Identity": "Exmail"}).Value[0]
	if ep["ActiveMigrationCount"] != "0" {
		t.Fatalf("endpoint: %v", ep)
	}
	if text, _ := f.exoFail(400, "Remove-MigrationEndpoint", map[string]any{"Identity": "Exmail"}); !strings.Contains(text, "Wave1") {
		t.Fatalf("remove used endpoint: %s", text)
	}
}

// TestMigrationBatchFolderFilters: ExcludeFolders leaves a folder out of the counts; IncludeFolders
// keeps only the named ones.
func TestMigrationBatchFolderFilters(t *testing.T) {
	f := newMigFixture(t, Options{}, "Tls")
	f.newEndpoint("Exmail", nil)
	for name, filter := range map[string]map[string]any{
		"NoSent":    {"ExcludeFolders": []string{"Sent"}},
		"OnlyInbox": {"IncludeFolders": []string{"#Inbox#"}},
		"SentTree":  {"IncludeFolders": []string{"Sent/*"}},
	} {
		params := map[string]any{"Name": name, "SourceEndpoint": "Exmail", "AutoStart": true,
			"CSVData": byteArray(csvBytes([2]string{"alice@contoso.com", alicePW}))}
		for k, v := range filter {
			params[k] = v
		}
		f.exo("New-MigrationBatch", params)
		want := map[string]int{"NoSent": 3, "OnlyInbox": 3, "SentTree": 2}[name]
		f.waitBatch(name, batchSynced)
		st := f.exo("Get-MigrationUserStatistics", map[string]any{"Identity": f.users(name)["alice@contoso.com"]["Guid"]}).Value[0]
		if count(t, st, "SyncedItemCount") != want {
			t.Fatalf("%s: synced %v, want %d", name, st["SyncedItemCount"], want)
		}
		if name == "NoSent" {
			if b := f.getBatch(name); fmt.Sprint(b["ExcludedFolders"]) != "[Sent]" {
				t.Fatalf("ExcludedFolders: %v", b["ExcludedFolders"])
			}
		}
		f.exo("Remove-MigrationBatch", map[string]any{"Identity": name})
		f.getBatch(name) // Removing
		f.exoFail(404, "Get-MigrationBatch", map[string]any{"Identity": name})
	}
	if text, _ := f.exoFail(400, "New-MigrationBatch", map[string]any{"Name": "Bad", "SourceEndpoint": "Exmail",
		"ExcludeFolders": []string{"Arch*ve"}, "CSVData": byteArray(csvBytes([2]string{"bob@contoso.com", bobPW}))}); !strings.Contains(text, "Wildcard") {
		t.Fatalf("wildcard: %s", text)
	}
}

// TestMigrationBatchDuplicateUser: an address already in another batch fails at once with the
// documented text and the counts show it; once the first batch is gone, Start retries it.
func TestMigrationBatchDuplicateUser(t *testing.T) {
	f := newMigFixture(t, Options{}, "Ssl")
	f.newEndpoint("Exmail", nil)
	f.exo("New-MigrationBatch", map[string]any{"Name": "First", "SourceEndpoint": "Exmail",
		"CSVData": byteArray(csvBytes([2]string{"alice@contoso.com", alicePW}))})
	nb := f.exo("New-MigrationBatch", map[string]any{"Name": "Second", "SourceEndpoint": "Exmail",
		"CSVData": byteArray([]byte("EmailAddress,UserName,Password\nAlice@contoso.com,alice@contoso.com," + alicePW +
			"\nbob@contoso.com,bob@contoso.com," + bobPW + "\n"))}).Value[0]
	if count(t, nb, "TotalCount") != 2 || count(t, nb, "FailedCount") != 1 || count(t, nb, "PendingCount") != 1 {
		t.Fatalf("second batch counts: %v", nb)
	}
	dup := f.users("Second")["Alice@contoso.com"]
	want := `The user "Alice@contoso.com" is already included in migration batch "First." Please remove the user from any other batch and try again.`
	if dup["Status"] != userFailed || dup["ErrorSummary"] != want {
		t.Fatalf("duplicate: %v", dup)
	}
	// -Identity and -EmailAddress resolve to the regular member in First.
	if u := f.exo("Get-MigrationUser", map[string]any{"Identity": "alice@contoso.com"}).Value[0]; u["BatchId"] != "First" {
		t.Fatalf("identity resolves to %v", u["BatchId"])
	}
	if a := f.exo("Get-MigrationUser", map[string]any{"EmailAddress": "alice@contoso.com"}); len(a.Value) != 2 {
		t.Fatalf("-EmailAddress: %v", a.Value)
	}
	f.exo("Start-MigrationBatch", map[string]any{"Identity": "Second"})
	b := f.waitBatch("Second", batchSynced, batchSyncedWithErrors)
	if b["Status"] != batchSyncedWithErrors || f.users("Second")["Alice@contoso.com"]["ErrorSummary"] != want {
		t.Fatalf("retry while First exists: %v / %v", b, f.users("Second"))
	}
	f.exo("Remove-MigrationBatch", map[string]any{"Identity": "First"})
	f.getBatch("First")
	f.exoFail(404, "Get-MigrationBatch", map[string]any{"Identity": "First"})
	f.exo("Start-MigrationBatch", map[string]any{"Identity": "Second"})
	b = f.waitBatch("Second", batchSynced, batchSyncedWithErrors)
	if b["Status"] != batchSynced || count(t, f.users("Second")["Alice@contoso.com"], "SyncedItemCount") != 5 {
		t.Fatalf("retry after First removed: %v / %v", b, f.users("Second"))
	}
}

// TestMigrationBatchStateMachine walks Stop, Start, Complete and Remove with 2 polls per step,
// and the state errors.
func TestMigrationBatchStateMachine(t *testing.T) {
	f := newMigFixture(t, Options{Knobs: Knobs{MigrationPollsPerStep: 2}}, "None")
	f.newEndpoint("Exmail", nil)
	f.exo("New-MigrationBatch", map[string]any{"Name": "B", "SourceEndpoint": "Exmail", "AutoStart": true,
		"CSVData": byteArray(csvBytes([2]string{"bob@contoso.com", bobPW}))})
	var seen []string
	for i := 0; i < 3; i++ {
		seen = append(seen, f.getBatch("B")["Status"].(string))
	}
	if strings.Join(seen, ",") != "Starting,Starting,Syncing" {
		t.Fatalf("polls per step 2: %v", seen)
	}
	f.waitBatch("B", batchSynced)
	f.exoFail(400, "Start-MigrationBatch", map[string]any{"Identity": "B"})

	f.exo("Stop-MigrationBatch", map[string]any{"Identity": "B"})
	if s := f.getBatch("B"); s["Status"] != batchStopping || f.users("B")["bob@contoso.com"]["Status"] != userStopping {
		t.Fatalf("stopping: %v", s["Status"])
	}
	b := f.waitBatch("B", batchStopped)
	if count(t, b, "StoppedCount") != 1 || f.users("B")["bob@contoso.com"]["StatusSummary"] != "Stopped" {
		t.Fatalf("stopped: %v", b)
	}
	f.exoFail(400, "Stop-MigrationBatch", map[string]any{"Identity": "B"})
	f.exoFail(400, "Complete-MigrationBatch", map[string]any{"Identity": "B"})
	f.exoFail(400, "Set-MigrationBatch", map[string]any{"Identity": "B", "SyncNow": true})

	f.exo("Start-MigrationBatch", map[string]any{"Identity": "B"})
	f.waitBatch("B", batchSynced)
	f.exo("Complete-MigrationBatch", map[string]any{"Identity": "B"})
	if s := f.getBatch("B"); s["Status"] != batchCompleting || s["CompleteAfterUTC"] == nil {
		t.Fatalf("completing: %v", s)
	}
	b = f.waitBatch("B", batchCompleted)
	if count(t, b, "FinalizedCount") != 1 || b["FinalizedDateTimeUTC"] == nil ||
		f.users("B")["bob@contoso.com"]["Status"] != userCompleted {
		t.Fatalf("completed: %v", b)
	}
	f.exoFail(400, "Set-MigrationBatch", map[string]any{"Identity": "B", "NotificationEmails": []string{"a@b.c"}})

	f.exo("Remove-MigrationBatch", map[string]any{"Identity": "B"})
	for i := 0; i < 2; i++ {
		if s := f.getBatch("B"); s["Status"] != batchRemoving {
			t.Fatalf("removing poll %d: %v", i, s["Status"])
		}
	}
	text, typ := f.exoFail(404, "Get-MigrationBatch", map[string]any{"Identity": "B"})
	if text != `The migration batch "B" can't be found.` || typ != ManagementObjectNotFound {
		t.Fatalf("gone: %s %s", text, typ)
	}
	f.exoFail(404, "Get-MigrationUser", map[string]any{"BatchId": "B"})
	f.exo("Remove-MigrationEndpoint", map[string]any{"Identity": "Exmail"}) // no batch uses it any more
}

// TestMigrationBatchValidation covers New-MigrationBatch's refusals.
func TestMigrationBatchValidation(t *testing.T) {
	f := newMigFixture(t, Options{}, "Ssl")
	f.newEndpoint("Exmail", nil)
	good := byteArray(csvBytes([2]string{"bob@contoso.com", bobPW}))
	cases := []struct {
		name   string
		status int
		params map[string]any
		want   string
	}{
		{"long name", 400, map[string]any{"Name": strings.Repeat("n", 65), "SourceEndpoint": "Exmail", "CSVData": good}, "maximum length is 64"},
		{"no endpoint", 404, map[string]any{"Name": "x", "SourceEndpoint": "Nope", "CSVData": good}, `"Nope" can't be found`},
		{"endpoint missing", 400, map[string]any{"Name": "x", "CSVData": good}, "source endpoint is required"},
		{"autocomplete", 400, map[string]any{"Name": "x", "SourceEndpoint": "Exmail", "CSVData": good, "AutoComplete": true}, "AutoComplete parameter isn't supported"},
		{"startafter+autostart", 400, map[string]any{"Name": "x", "SourceEndpoint": "Exmail", "CSVData": good, "AutoStart": true,
			"StartAfter": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "can't be used together"},
		{"no csv", 400, map[string]any{"Name": "x", "SourceEndpoint": "Exmail"}, "CSVData parameter is required"},
		{"spaced header", 400, map[string]any{"Name": "x", "SourceEndpoint": "Exmail",
			"CSVData": byteArray([]byte("Email Address,UserName,Password\nbob@contoso.com,bob@contoso.com," + bobPW + "\n"))}, "can't contain spaces"},
		{"bad byte", 400, map[string]any{"Name": "x", "SourceEndpoint": "Exmail",
			"CSVData": map[string]any{"@odata.type": "#Exchange.ByteArrayType", "Data": []int{69, 300}}}, "not a byte"},
		{"bad base64", 400, map[string]any{"Name": "x", "SourceEndpoint": "Exmail", "CSVData": "%%%" + bobPW}, "not base64"},
		{"bad email", 400, map[string]any{"Name": "x", "SourceEndpoint": "Exmail", "CSVData": good,
			"NotificationEmails": []string{"not-an-address"}}, "SmtpAddress"},
	}
	for _, c := range cases {
		text, _ := f.exoFail(c.status, "New-MigrationBatch", c.params)
		if !strings.Contains(text, c.want) {
			t.Errorf("%s: %q does not contain %q", c.name, text, c.want)
		}
		if strings.Contains(text, bobPW) {
			t.Errorf("%s: the error shows a password: %q", c.name, text)
		}
	}
	// Base64 CSVData (UNCONFIRMED alternative) is accepted; a second batch of that name is not.
	f.exo("New-MigrationBatch", map[string]any{"Name": "B64", "SourceEndpoint": "Exmail",
		"CSVData": base64.StdEncoding.EncodeToString(csvBytes([2]string{"bob@contoso.com", bobPW}))})
	if text, _ := f.exoFail(400, "New-MigrationBatch", map[string]any{"Name": "b64", "SourceEndpoint": "Exmail", "CSVData": good}); !strings.Contains(text, "already exists") {
		t.Fatalf("duplicate name: %s", text)
	}
	// 100 batches at most.
	for i := 1; i < maxMigrationBatches; i++ {
		f.exo("New-MigrationBatch", map[string]any{"Name": fmt.Sprintf("B%03d", i), "SourceEndpoint": "Exmail",
			"CSVData": byteArray(csvBytes([2]string{fmt.Sprintf("u%d@contoso.com", i), "pw"}))})
	}
	text, typ := f.exoFail(400, "New-MigrationBatch", map[string]any{"Name": "OneTooMany", "SourceEndpoint": "Exmail",
		"CSVData": byteArray(csvBytes([2]string{"z@contoso.com", "pw"}))})
	if !strings.Contains(text, "maximum number of migration batches") || !strings.HasSuffix(typ, "MaximumNumberOfBatchesReachedException") {
		t.Fatalf("limit: %s %s", text, typ)
	}
}

// TestSetMigrationBatch covers AddUsers (only new rows), NotificationEmails (list and delta), the
// no-change warning and SyncNow re-counting a mailbox that changed.
func TestSetMigrationBatch(t *testing.T) {
	f := newMigFixture(t, Options{}, "Ssl")
	f.newEndpoint("Exmail", nil)
	f.exo("New-MigrationBatch", map[string]any{"Name": "B", "SourceEndpoint": "Exmail", "AutoStart": true,
		"CSVData": byteArray(csvBytes([2]string{"bob@contoso.com", bobPW}))})
	f.waitBatch("B", batchSynced)

	a := f.exo("Set-MigrationBatch", map[string]any{"Identity": "B", "AddUsers": true,
		"CSVData": byteArray(csvBytes([2]string{"bob@contoso.com", bobPW}, [2]string{"alice@contoso.com", alicePW}))})
	if len(a.Warnings) != 0 {
		t.Fatalf("warnings: %v", a.Warnings)
	}
	b := f.waitBatch("B", batchSynced)
	if count(t, b, "TotalCount") != 2 || count(t, b, "SyncedCount") != 2 {
		t.Fatalf("after AddUsers: %v", b)
	}
	f.exoFail(400, "Set-MigrationBatch", map[string]any{"Identity": "B", "AddUsers": true})

	f.exo("Set-MigrationBatch", map[string]any{"Identity": "B", "NotificationEmails": []string{"a@contoso.com", "b@contoso.com"}})
	f.exo("Set-MigrationBatch", map[string]any{"Identity": "B", "NotificationEmails": map[string]any{
		"@odata.type": "#Exchange.StringFieldDeltaUpdateData", "Add": []string{"c@contoso.com"}, "Remove": []string{"A@contoso.com"}}})
	if got := fmt.Sprint(f.getBatch("B")["NotificationEmails"]); got != "[b@contoso.com c@contoso.com]" {
		t.Fatalf("NotificationEmails: %s", got)
	}
	a = f.exo("Set-MigrationBatch", map[string]any{"Identity": "B", "NotificationEmails": []string{"b@contoso.com", "c@contoso.com"}})
	if len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "no settings of 'B' have been modified") {
		t.Fatalf("no-change warning: %v", a.Warnings)
	}

	// A new message arrives at the source; SyncNow counts it.
	appendMessage(t, f.imap, "bob@contoso.com", bobPW, 700)
	f.exo("Set-MigrationBatch", map[string]any{"Identity": "B", "SyncNow": true})
	if s := f.getBatch("B")["Status"]; s != batchSyncing {
		t.Fatalf("SyncNow: %v", s)
	}
	f.waitBatch("B", batchSynced)
	st := f.exo("Get-MigrationUserStatistics", map[string]any{"Identity": "bob@contoso.com"}).Value[0]
	if count(t, st, "SyncedItemCount") != 2 || !strings.HasSuffix(st["BytesTransferred"].(string), "(2,200 bytes)") {
		t.Fatalf("after SyncNow: %v %v", st["SyncedItemCount"], st["BytesTransferred"])
	}

	// Remove-MigrationUser drops a row.
	f.exo("Remove-MigrationUser", map[string]any{"Identity": "alice@contoso.com"})
	if u := f.users("B"); len(u) != 1 || u["bob@contoso.com"] == nil {
		t.Fatalf("after Remove-MigrationUser: %v", u)
	}
	f.exoFail(404, "Get-MigrationUser", map[string]any{"Identity": "alice@contoso.com"})
	f.exoFail(404, "Remove-MigrationUser", map[string]any{"Identity": "alice@contoso.com"})
}

func appendMessage(t *testing.T, srv *imaptest.Server, user, pw string, size int) {
	t.Helper()
	c, err := imapclient.DialTLS(srv.Addr, &imapclient.Options{TLSConfig: tlsConfigFor(srv)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatal(err)
	}
	msg := imaptest.Render(imaptest.Message{Size: size}, user, 99)
	cmd := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{})
	if _, err := cmd.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationEndpointVerification: New/Set-MigrationEndpoint connect to the server unless
// SkipVerification; untrusted certificates need AcceptUntrustedCertificates; Test-MigrationServerAvailability.
func TestMigrationEndpointVerification(t *testing.T) {
	srv := imaptest.StartMemServer(t, migUsers(), "Ssl")
	f := &migFixture{fixture: newFixture(t, Options{}), imap: srv} // the engine does not trust srv's CA
	f.tok = f.exchangeToken()

	closed := closedPort(t)
	text, typ := f.exoFail(400, "New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "Dead",
		"RemoteServer": "127.0.0.1", "Port": closed, "Security": "Ssl"})
	if !strings.Contains(text, "The connection to the server '127.0.0.1' could not be completed.") ||
		!strings.Contains(text, "cannot connect") || !strings.HasSuffix(typ, "MigrationServerConnectionFailedException") {
		t.Fatalf("dead server: %s %s", text, typ)
	}
	f.exo("New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "Dead", "RemoteServer": "127.0.0.1",
		"Port": closed, "Security": "Ssl", "SkipVerification": true})

	if text, _ := f.exoFail(400, "New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "Untrusted",
		"RemoteServer": srv.Host, "Port": srv.Port, "Security": "Ssl"}); !strings.Contains(text, "not trusted") {
		t.Fatalf("untrusted: %s", text)
	}
	f.newEndpoint("Untrusted", map[string]any{"AcceptUntrustedCertificates": true})

	// Set-MigrationEndpoint: verified connection change, concurrency rule, no-change warning.
	if text, _ := f.exoFail(400, "Set-MigrationEndpoint", map[string]any{"Identity": "Untrusted", "Port": closed}); !strings.Contains(text, "could not be completed") {
		t.Fatalf("set to dead port: %s", text)
	}
	f.exoFail(400, "Set-MigrationEndpoint", map[string]any{"Identity": "Untrusted", "MaxConcurrentMigrations": 10})
	f.exo("Set-MigrationEndpoint", map[string]any{"Identity": "Untrusted", "MaxConcurrentMigrations": 50,
		"MaxConcurrentIncrementalSyncs": 10})
	ep := f.exo("Get-MigrationEndpoint", map[string]any{"Identity": "Untrusted"}).Value[0]
	if ep["MaxConcurrentMigrations"] != "50" || ep["MaxConcurrentIncrementalSyncs"] != "10" || ep["AcceptUntrustedCertificates"] != true {
		t.Fatalf("after set: %v", ep)
	}
	a := f.exo("Set-MigrationEndpoint", map[string]any{"Identity": "Untrusted", "MaxConcurrentMigrations": "50"})
	if len(a.Warnings) != 1 {
		t.Fatalf("no-change warning: %v", a.Warnings)
	}
	f.exoFail(404, "Set-MigrationEndpoint", map[string]any{"Identity": "Nope", "Port": 993})

	// Test-MigrationServerAvailability: a failed test is a 200 with Result Failed.
	res := f.exo("Test-MigrationServerAvailability", map[string]any{"Endpoint": "Untrusted"}).Value[0]
	if res["Result"] != "Success" {
		t.Fatalf("test endpoint: %v", res)
	}
	res = f.exo("Test-MigrationServerAvailability", map[string]any{"Imap": true, "RemoteServer": "127.0.0.1",
		"Port": closed, "Security": "None"}).Value[0]
	if res["Result"] != "Failed" || !strings.Contains(res["ErrorDetail"].(string), "cannot connect") {
		t.Fatalf("test dead: %v", res)
	}
	res = f.exo("Test-MigrationServerAvailability", map[string]any{"Imap": true, "RemoteServer": srv.Host,
		"Port": srv.Port, "Security": "Ssl"}).Value[0]
	if res["Result"] != "Failed" || !strings.Contains(res["ErrorDetail"].(string), "not trusted") {
		t.Fatalf("test untrusted: %v", res)
	}
	f.exoFail(404, "Test-MigrationServerAvailability", map[string]any{"Endpoint": "Nope"})
}

// closedPort returns a loopback port nobody listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// TestMigrationStateFileKeepsNoPasswords: the state file never holds a password; after a restart
// the batch asks for its CSV again, and AddUsers with the same CSV lets it sync.
func TestMigrationStateFileKeepsNoPasswords(t *testing.T) {
	srv := imaptest.StartMemServer(t, migUsers(), "Ssl")
	stateFile := t.TempDir() + "/state.json"
	seed := migSeed(migMailboxes...)
	seed.IMAPRootCAs = []string{srv.CACertFile}
	s1, err := Start(Options{Seed: seed, StateFile: stateFile})
	if err != nil {
		t.Fatal(err)
	}
	f := &migFixture{fixture: &fixture{t: t, s: s1, c: caClient(t)}, imap: srv}
	f.tok = f.exchangeToken()
	f.newEndpoint("Exmail", nil)
	csv := csvBytes([2]string{"alice@contoso.com", alicePW}, [2]string{"bob@contoso.com", bobPW})
	f.exo("New-MigrationBatch", map[string]any{"Name": "B", "SourceEndpoint": "Exmail", "CSVData": byteArray(csv)})
	_ = s1.Close()
	raw, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{alicePW, bobPW} {
		if strings.Contains(string(raw), pw) {
			t.Fatalf("state file holds a password")
		}
	}
	if !strings.Contains(string(raw), "bob@contoso.com") {
		t.Fatalf("state file lost the users: %s", raw)
	}

	s2, err := Start(Options{Seed: seed, StateFile: stateFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	f.s = s2
	f.tok = f.exchangeToken()
	if b := f.getBatch("B"); !strings.Contains(b["Message"].(string), "Set-MigrationBatch -AddUsers -CSVData") {
		t.Fatalf("restart message: %v", b["Message"])
	}
	f.exo("Start-MigrationBatch", map[string]any{"Identity": "B"})
	b := f.waitBatch("B", batchSynced, batchSyncedWithErrors)
	if count(t, b, "FailedCount") != 2 || !strings.Contains(f.users("B")["bob@contoso.com"]["ErrorSummary"].(string), "password") {
		t.Fatalf("without passwords: %v", b)
	}
	f.exo("Set-MigrationBatch", map[string]any{"Identity": "B", "AddUsers": true, "CSVData": byteArray(csv)})
	f.exo("Start-MigrationBatch", map[string]any{"Identity": "B"})
	b = f.waitBatch("B", batchSynced, batchSyncedWithErrors)
	if b["Status"] != batchSynced || b["Message"] != "" || count(t, b, "SyncedCount") != 2 {
		t.Fatalf("after the CSV came back: %v", b)
	}
}

// TestMigrationEngineStopsOnClose: a sync blocked on a silent server neither blocks requests nor
// Close.
func TestMigrationEngineStopsOnClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // never greets
		}
	}()
	s, err := Start(Options{Seed: migSeed("bob@contoso.com")})
	if err != nil {
		t.Fatal(err)
	}
	f := &migFixture{fixture: &fixture{t: t, s: s, c: caClient(t)}}
	f.tok = f.exchangeToken()
	f.exo("New-MigrationEndpoint", map[string]any{"IMAP": true, "Name": "Silent", "RemoteServer": "127.0.0.1",
		"Port": ln.Addr().(*net.TCPAddr).Port, "Security": "None", "SkipVerification": true})
	f.exo("New-MigrationBatch", map[string]any{"Name": "B", "SourceEndpoint": "Silent", "AutoStart": true,
		"CSVData": byteArray(csvBytes([2]string{"bob@contoso.com", bobPW}))})
	f.getBatch("B")
	start := time.Now()
	if st := f.getBatch("B")["Status"]; st != batchSyncing { // launches the engine; answers at once
		t.Fatalf("status %v", st)
	}
	select {
	case c := <-accepted:
		defer func() { _ = c.Close() }()
	case <-time.After(5 * time.Second):
		t.Fatal("the engine never connected")
	}
	if u := f.users("B")["bob@contoso.com"]; u["Status"] != userSyncing {
		t.Fatalf("user: %v", u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = s.Close(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Close waited for the IMAP server")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

// TestMigrationBatchNeedsLicensedMailboxes: an address that is no user of the tenant, or a user
// without an Exchange Online licence, has no mailbox: the row is accepted, and fails with
// MigrationRecipientNotFoundException when the batch starts it; the others migrate.
func TestMigrationBatchNeedsLicensedMailboxes(t *testing.T) {
	seed := migSeed("alice@contoso.com")
	seed.Users = append(seed.Users, SeedUser{User: User{UserPrincipalName: "bob@contoso.com",
		AssignedLicenses: []AssignedLicense{{SkuID: SkuFlowFree}}}}) // no Exchange plan
	f := newMigFixture(t, Options{Seed: seed}, "Ssl")
	f.newEndpoint("Exmail", nil)
	nb := f.exo("New-MigrationBatch", map[string]any{"Name": "B", "SourceEndpoint": "Exmail", "AutoStart": true,
		"CSVData": byteArray(csvBytes([2]string{"alice@contoso.com", alicePW}, [2]string{"bob@contoso.com", bobPW},
			[2]string{"carol@contoso.com", carolPW}))}).Value[0]
	if count(t, nb, "FailedCount") != 0 || count(t, nb, "TotalCount") != 3 {
		t.Fatalf("new batch: %v", nb)
	}
	b := f.waitBatch("B", batchSynced, batchSyncedWithErrors)
	if b["Status"] != batchSyncedWithErrors || count(t, b, "SyncedCount") != 1 || count(t, b, "FailedCount") != 2 {
		t.Fatalf("synced: %v", b)
	}
	users := f.users("B")
	for _, addr := range []string{"bob@contoso.com", "carol@contoso.com"} {
		want := `MigrationRecipientNotFoundException: A recipient wasn't found for "` + addr + `" on the target. ` +
			"Create a recipient of the appropriate type for this migration on the target and try again."
		if u := users[addr]; u["Status"] != userFailed || u["ErrorSummary"] != want {
			t.Fatalf("%s: %v", addr, u)
		}
		st := f.exo("Get-MigrationUserStatistics", map[string]any{"Identity": addr}).Value[0]
		if st["Error"] != want {
			t.Fatalf("%s statistics: %v", addr, st["Error"])
		}
	}
}

// TestMigrationEngineAgainstDovecot: the same engine against Dovecot (delimiter "."): a folder
// whose name holds "/" is not migrated, a subtree exclusion works, a wrong password fails.
func TestMigrationEngineAgainstDovecot(t *testing.T) {
	users := map[string]imaptest.User{
		"alice@contoso.com": {Password: alicePW, Folders: map[string][]imaptest.Message{
			"INBOX": sized(2, 900), "Archive/2024": sized(1, 900), `Projects\/2024`: sized(1, 900)}},
		"bob@contoso.com": {Password: bobPW},
	}
	srv := imaptest.StartDovecot(t, users, "Ssl")
	f := &migFixture{fixture: newFixture(t, Options{Seed: migSeed(migMailboxes...), IMAPRootCAs: []string{srv.CACertFile}}), imap: srv}
	f.tok = f.exchangeToken()
	f.newEndpoint("Dovecot", nil)
	for name, want := range map[string]int{"All": 3, "NoArchive": 2} {
		params := map[string]any{"Name": name, "SourceEndpoint": "Dovecot", "AutoStart": true,
			"CSVData": byteArray(csvBytes([2]string{"alice@contoso.com", alicePW}, [2]string{"bob@contoso.com", "not-" + bobPW}))}
		if name == "NoArchive" {
			params["ExcludeFolders"] = []string{"Archive/*"}
		}
		f.exo("New-MigrationBatch", params)
		b := f.waitBatch(name, batchSynced, batchSyncedWithErrors)
		u := f.users(name)
		if b["Status"] != batchSyncedWithErrors || count(t, u["alice@contoso.com"], "SyncedItemCount") != want ||
			u["bob@contoso.com"]["Status"] != userFailed ||
			!strings.Contains(u["bob@contoso.com"]["ErrorSummary"].(string), "ImapAuthenticationException") {
			t.Fatalf("%s: %v / %v", name, b, u)
		}
		f.exo("Remove-MigrationBatch", map[string]any{"Identity": name})
		f.getBatch(name)
		f.exoFail(404, "Get-MigrationBatch", map[string]any{"Identity": name})
	}
}

// TestMigrationBatchStartAfter: a batch with StartAfter stays Created until the time has come,
// then starts on the next poll.
func TestMigrationBatchStartAfter(t *testing.T) {
	f := newMigFixture(t, Options{}, "Ssl")
	f.newEndpoint("Exmail", nil)
	at := time.Now().Add(300 * time.Millisecond).UTC()
	nb := f.exo("New-MigrationBatch", map[string]any{"Name": "Later", "SourceEndpoint": "Exmail",
		"StartAfter": at.Format("2006-01-02T15:04:05.0000000Z"), "CSVData": byteArray(csvBytes([2]string{"bob@contoso.com", bobPW}))}).Value[0]
	if nb["Status"] != batchCreated || nb["StartAfterUTC"] != at.Format("2006-01-02T15:04:05.0000000Z") {
		t.Fatalf("new: %v", nb)
	}
	if s := f.getBatch("Later")["Status"]; s != batchCreated {
		t.Fatalf("before StartAfter: %v", s)
	}
	time.Sleep(time.Until(at) + 20*time.Millisecond)
	if s := f.getBatch("Later")["Status"]; s != batchStarting {
		t.Fatalf("after StartAfter: %v", s)
	}
	f.waitBatch("Later", batchSynced)
}

// TestMigrationRecipientNotFoundNoRetry: a row whose mailbox is still provisioning when the batch
// starts it fails with the service's text and stays Failed after the mailbox appears, also through
// Set-MigrationBatch -SyncNow; Start-MigrationBatch retries it and it syncs.
func TestMigrationRecipientNotFoundNoRetry(t *testing.T) {
	seed := migSeed("alice@contoso.com")
	seed.Users = append(seed.Users, SeedUser{User: User{UserPrincipalName: "bob@contoso.com", UsageLocation: "CN"}})
	f := newMigFixture(t, Options{Seed: seed, Knobs: Knobs{MailboxProvisionDelay: -1}}, "Ssl")
	gtok := f.graphToken()
	resp, b := f.graph(http.MethodPost, "/v1.0/users/bob@contoso.com/assignLicense", gtok, map[string]any{
		"addLicenses": []any{map[string]any{"skuId": SkuExchangeStandard}}, "removeLicenses": []string{}}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("assignLicense: %d %s", resp.StatusCode, b)
	}
	f.newEndpoint("Exmail", nil)
	f.exo("New-MigrationBatch", map[string]any{"Name": "B", "SourceEndpoint": "Exmail", "AutoStart": true,
		"CSVData": byteArray(csvBytes([2]string{"alice@contoso.com", alicePW}, [2]string{"bob@contoso.com", bobPW}))})
	f.waitBatch("B", batchSyncedWithErrors)
	want := `MigrationRecipientNotFoundException: A recipient wasn't found for "bob@contoso.com" on the target. ` +
		"Create a recipient of the appropriate type for this migration on the target and try again."
	if u := f.users("B")["bob@contoso.com"]; u["Status"] != userFailed || u["StatusSummary"] != "Failed" || u["ErrorSummary"] != want {
		t.Fatalf("bob: %v", u)
	}

	// The mailbox appears: nothing retries bob by itself.
	if err := f.s.CompleteMailboxProvisioning("bob@contoso.com"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if b := f.getBatch("B"); b["Status"] != batchSyncedWithErrors {
			t.Fatalf("poll %d: %v", i, b["Status"])
		}
	}
	// SyncNow resyncs Synced users only.
	f.exo("Set-MigrationBatch", map[string]any{"Identity": "B", "SyncNow": true})
	f.waitBatch("B", batchSyncedWithErrors)
	if u := f.users("B")["bob@contoso.com"]; u["Status"] != userFailed {
		t.Fatalf("bob after SyncNow: %v", u)
	}
	// Start-MigrationBatch retries failed users: back through Starting and Syncing, then Synced.
	f.exo("Start-MigrationBatch", map[string]any{"Identity": "B"})
	if s := f.getBatch("B")["Status"]; s != batchStarting && s != batchSyncing {
		t.Fatalf("after Start: %v", s)
	}
	f.waitBatch("B", batchSynced)
	u := f.users("B")["bob@contoso.com"]
	if u["Status"] != userSynced || u["ErrorSummary"] != nil || count(t, u, "SyncedItemCount") != 1 {
		t.Fatalf("bob after Start: %v", u)
	}

	// The request log names the rows each batch write sent, to compare with MailboxReadyAt.
	ready, ok := f.s.MailboxReadyAt("bob@contoso.com")
	var sent []RequestRecord
	for _, r := range f.s.Requests() {
		if r.Cmdlet == "New-MigrationBatch" {
			sent = append(sent, r)
		}
	}
	if !ok || len(sent) != 1 || strings.Join(sent[0].MigrationRows, ",") != "alice@contoso.com,bob@contoso.com" ||
		!sent[0].Time.Before(ready) {
		t.Fatalf("request log %+v, bob ready at %s (%v)", sent, ready, ok)
	}
}

// TestGetMigrationUserBulk: every user of a 1,500-row batch in two pages with the fields a
// refresh needs; an explicit ResultSize cuts the list with the service's warning.
func TestGetMigrationUserBulk(t *testing.T) {
	f := newMigFixture(t, Options{}, "Ssl")
	f.newEndpoint("Exmail", nil)
	var rows [][2]string
	for i := 0; i < 1500; i++ {
		rows = append(rows, [2]string{fmt.Sprintf("user%04d@contoso.com", i), "pw"})
	}
	f.exo("New-MigrationBatch", map[string]any{"Name": "Big", "SourceEndpoint": "Exmail",
		"CSVData": base64.StdEncoding.EncodeToString(csvBytes(rows...))})
	params := map[string]any{"BatchId": "Big", "ResultSize": "Unlimited"}
	seen := map[string]bool{}
	url, pages := "", 0
	for {
		resp, b := f.invoke(url, f.tok, "Get-MigrationUser", params, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, b)
		}
		a := decodeExo(t, b)
		pages++
		for _, u := range a.Value {
			for _, k := range []string{"Status", "StatusSummary", "ErrorSummary", "SyncedItemCount", "SkippedItemCount", "LastSuccessfulSyncTime"} {
				if _, ok := u[k]; !ok {
					t.Fatalf("user without %s: %v", k, u)
				}
			}
			seen[u["EmailAddress"].(string)] = true
		}
		if url = a.NextLink; url == "" {
			break
		}
	}
	if len(seen) != 1500 || pages != 2 {
		t.Fatalf("%d users in %d pages", len(seen), pages)
	}
	a := f.exo("Get-MigrationUser", map[string]any{"BatchId": "Big", "ResultSize": 10})
	if len(a.Value) != 10 || len(a.Warnings) != 1 {
		t.Fatalf("ResultSize 10: %d users, warnings %v", len(a.Value), a.Warnings)
	}
}

// TestMigrationCSVReader: the fake's reader of CSVData accepts what the service documents (any
// header case and order, UserRoot, a BOM, UTF-16 with its BOM) and refuses the rest with the
// service's texts, never quoting a password.
func TestMigrationCSVReader(t *testing.T) {
	f := newMigFixture(t, Options{}, "Ssl")
	f.newEndpoint("Exmail", nil)
	n := 0
	create := func(data []byte, extra ...any) exoAnswer {
		t.Helper()
		n++
		params := map[string]any{"Name": fmt.Sprintf("ok%d", n), "SourceEndpoint": "Exmail", "CSVData": base64.StdEncoding.EncodeToString(data)}
		for i := 0; i+1 < len(extra); i += 2 {
			params[extra[i].(string)] = extra[i+1]
		}
		return f.exo("New-MigrationBatch", params)
	}
	utf16le := func(s string) []byte {
		out := []byte{0xFF, 0xFE}
		for _, r := range s {
			out = append(out, byte(r), byte(r>>8))
		}
		return out
	}
	create([]byte("\uFEFFpassword,USERNAME,emailaddress,UserRoot\n" + bobPW + ",bob@contoso.com,bob@contoso.com,/users/bob\n"))
	if u := f.users(fmt.Sprintf("ok%d", n))["bob@contoso.com"]; u == nil {
		t.Fatal("reordered header: bob missing")
	}
	create(utf16le("EmailAddress,UserName,Password\r\n张三@contoso.com,张三@contoso.com," + bobPW + "\r\n"))
	if u := f.users(fmt.Sprintf("ok%d", n))["张三@contoso.com"]; u == nil {
		t.Fatal("UTF-16: 张三 missing")
	}
	create([]byte("EmailAddress,UserName,Password,Notes\nbob@contoso.com,bob@contoso.com,"+bobPW+",x\n"), "AllowUnknownColumnsInCsv", true)

	var many strings.Builder
	many.WriteString("EmailAddress,UserName,Password\n")
	for i := 0; i <= 50000; i++ {
		fmt.Fprintf(&many, "u%d@contoso.com,u%d@contoso.com,p\n", i, i)
	}
	for _, c := range []struct {
		name, csv string
		params    map[string]any
		want      string
	}{
		{"empty", "  \n", nil, "Upload file can't be empty."},
		{"missing column", "EmailAddress,Password\nbob@contoso.com," + bobPW + "\n", nil,
			`Column "UserName" is missing from the CSV file. The import process can't continue because this column is required. Please edit the CSV file and re-submit it.`},
		{"wrong columns", "EmailAddress,UserName,Password\nbob@contoso.com,bob@contoso.com," + bobPW + ",extra\n", nil,
			"Row 2 has the wrong number of columns. Expected number: 3. Actual number: 4. Please edit this row and re-submit the file."},
		{"too many rows", many.String(), nil,
			"The CSV file contains more than 50,000 rows. Please divide the file into two or more files and submit them separately."},
		{"unknown column", "EmailAddress,UserName,Password,Notes\nbob@contoso.com,bob@contoso.com," + bobPW + ",x\n", nil, "AllowUnknownColumnsInCsv"},
		{"spaced", "Email Address,UserName,Password\nbob@contoso.com,bob@contoso.com," + bobPW + "\n", nil, "can't contain spaces"},
		{"duplicate", "EmailAddress,UserName,Password\nbob@contoso.com,bob@contoso.com," + bobPW + "\nBOB@contoso.com,bob@contoso.com," + bobPW + "\n", nil,
			"Rows 2 and 3 have the same EmailAddress"},
		{"shifted", "EmailAddress,UserName,Password\n" + bobPW + ",bob@contoso.com,bob@contoso.com\n", nil, "isn't a valid SMTP address"},
		{"no password", "EmailAddress,UserName,Password\nbob@contoso.com,bob@contoso.com,\n", nil, "can't be empty"},
		{"header only", "EmailAddress,UserName,Password\n", nil, "no rows"},
		{"not utf-8", "EmailAddress,UserName,Password\nbob@contoso.com,bob@contoso.com,\xff\xfe" + bobPW + "\n", nil, "UTF-8"},
	} {
		params := map[string]any{"Name": "bad", "SourceEndpoint": "Exmail", "CSVData": base64.StdEncoding.EncodeToString([]byte(c.csv))}
		text, typ := f.exoFail(400, "New-MigrationBatch", params)
		if !strings.Contains(text, c.want) || !strings.HasSuffix(typ, "CsvValidationException") {
			t.Errorf("%s: %q (%s), want %q", c.name, text, typ, c.want)
		}
		if strings.Contains(text, bobPW) {
			t.Errorf("%s: the error shows a password: %q", c.name, text)
		}
	}
}
