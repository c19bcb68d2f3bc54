package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/exchange"
	"github.com/m365-migration/terraform-provider-m365/internal/imapcheck"
	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

func TestIncrementalExceeds(t *testing.T) {
	for _, c := range []struct {
		inc, mig int64
		want     bool
	}{
		{20, 100, false}, {100, 100, false}, {101, 100, true},
		{exchange.Unlimited, 100, true}, {500, exchange.Unlimited, false}, {exchange.Unlimited, exchange.Unlimited, false},
	} {
		if got := incrementalExceeds(c.inc, c.mig); got != c.want {
			t.Errorf("incrementalExceeds(%d, %d) = %t, want %t", c.inc, c.mig, got, c.want)
		}
	}
}

func TestDifference(t *testing.T) {
	got := exchange.Difference([]string{"a@x.com", "B@x.com", "c@x.com"}, []string{"b@x.com", "d@x.com"})
	if want := []string{"a@x.com", "c@x.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("difference = %v, want %v", got, want)
	}
	if got := exchange.Difference(nil, []string{"a"}); len(got) != 0 {
		t.Errorf("difference of nothing = %v", got)
	}
}

func TestEmailListHash(t *testing.T) {
	sum := sha256.Sum256([]byte("a@x.com\nb@x.com\n"))
	want := hex.EncodeToString(sum[:])
	if got := emailListHash([]string{"B@x.com", "a@x.com"}); got != want {
		t.Errorf("emailListHash = %s, want %s (sorted, lower-case, one per line)", got, want)
	}
	if emailListHash([]string{"a@x.com"}) == emailListHash([]string{"a@x.com", "b@x.com"}) {
		t.Error("different lists hash alike")
	}
}

func TestBatchSettled(t *testing.T) {
	for _, c := range []struct {
		name string
		b    exchange.Batch
		want int
		ok   bool
	}{
		{"synced", exchange.Batch{Status: "Synced", TotalCount: 2, SyncedCount: 2}, 2, true},
		{"synced with errors", exchange.Batch{Status: "SyncedWithErrors", TotalCount: 2, SyncedCount: 1, FailedCount: 1}, 2, true},
		{"completed", exchange.Batch{Status: "Completed", TotalCount: 2, FinalizedCount: 2}, 2, true},
		{"syncing", exchange.Batch{Status: "Syncing", TotalCount: 2, ActiveCount: 1}, 2, false},
		{"synced but users still active", exchange.Batch{Status: "Synced", TotalCount: 3, SyncedCount: 2, ActiveCount: 1}, 3, false},
		{"synced but users pending", exchange.Batch{Status: "Synced", TotalCount: 3, SyncedCount: 2, PendingCount: 1}, 3, false},
		{"added users not visible yet", exchange.Batch{Status: "Synced", TotalCount: 2, SyncedCount: 2}, 3, false},
		{"stopped", exchange.Batch{Status: "Stopped", TotalCount: 2, StoppedCount: 2}, 2, false},
	} {
		if got := c.b.Settled(c.want); got != c.ok {
			t.Errorf("%s: Settled = %t, want %t", c.name, got, c.ok)
		}
	}
}

// TestMigrationCSVBytesRoundTrip: the CSV sent with -AddUsers is read back by the same parser
// into the same rows, passwords with commas and quotes included.
func TestMigrationCSVBytesRoundTrip(t *testing.T) {
	rows := []usercsv.MigrationRow{
		{EmailAddress: "a@corp.com", UserName: "a@corp.com", Password: `pa,ss"word`, UserRoot: "/users/a"},
		{EmailAddress: "b@corp.com", UserName: "b@corp.com", Password: " leading space"},
	}
	for _, withRoot := range []bool{true, false} {
		data := usercsv.WriteMigration(rows, withRoot)
		res, err := usercsv.ParseMigration(data, usercsv.MigrationOptions{})
		if err != nil || len(res.Problems) > 0 {
			t.Fatalf("withRoot=%t: %v %v", withRoot, err, res.Problems)
		}
		for i, r := range res.Rows {
			want := rows[i]
			if !withRoot {
				want.UserRoot = ""
			}
			r.Line = 0
			if r != want {
				t.Errorf("withRoot=%t row %d: got %+v, want %+v", withRoot, i, r, want)
			}
		}
	}
	if !hasUserRoot(rows) || hasUserRoot(rows[1:]) {
		t.Error("hasUserRoot")
	}
}

func TestLoginFailuresAndAdvice(t *testing.T) {
	results := []imapcheck.LoginResult{
		{EmailAddress: "ok@corp.com", UserName: "ok@corp.com", Line: 2, OK: true},
		{EmailAddress: "a@corp.com", UserName: "a@corp.com", Line: 3, Kind: imapcheck.KindAuth, Error: "[AUTHENTICATIONFAILED] Invalid credentials"},
		{EmailAddress: "b@corp.com", UserName: "corp/admin/b", Line: 4, Kind: imapcheck.KindTLS, Error: "TLS with 127.0.0.1:993 failed: unknown authority"},
	}
	got := loginFailures(results)
	want := []string{
		"  - line 3, a@corp.com: [AUTHENTICATIONFAILED] Invalid credentials",
		"  - line 4, b@corp.com (UserName corp/admin/b): TLS with 127.0.0.1:993 failed: unknown authority",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loginFailures =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	adv := loginAdvice(results)
	for _, s := range []string{"UserName/Password", "preflight_ca_file", "Nothing was submitted"} {
		if !strings.Contains(adv, s) {
			t.Errorf("advice lacks %q: %s", s, adv)
		}
	}
	if strings.Contains(loginAdvice(results[:2]), "preflight_ca_file") {
		t.Error("advice about certificates for a password problem")
	}
}
