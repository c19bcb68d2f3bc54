package fakecloud

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealisticTiming: the profile sets every delay it documents; a seed selects it and its own
// knobs and Options.Knobs still win; an unknown profile is refused; knobs round-trip through JSON.
func TestRealisticTiming(t *testing.T) {
	k := RealisticTiming()
	if k.MailboxProvisionDelay <= 0 || k.MailboxProvisionJitter <= 0 || k.ReadAfterWriteLag <= 0 || k.ExchangeLag <= 0 ||
		k.MigrationPollsPerStep < 2 || k.Validate() != nil {
		t.Fatalf("RealisticTiming: %+v", k)
	}
	if k.MailboxProvisionDelay+k.MailboxProvisionJitter > 10*time.Second {
		t.Fatalf("a scaled mailbox takes %s: tests would crawl", k.MailboxProvisionDelay+k.MailboxProvisionJitter)
	}

	sd := DefaultSeed()
	sd.Timing = "Realistic"
	sd.Knobs.ExchangeLag = 5 * time.Second
	s, err := Start(Options{Seed: sd, Knobs: Knobs{MigrationPollsPerStep: 7}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	want := RealisticTiming()
	want.ExchangeLag, want.MigrationPollsPerStep = 5*time.Second, 7
	if got := s.Knobs(); got != want {
		t.Fatalf("knobs %+v, want %+v", got, want)
	}

	sd = DefaultSeed()
	sd.Timing = "leisurely"
	if _, err := Start(Options{Seed: sd}); err == nil || !strings.Contains(err.Error(), "leisurely") {
		t.Fatalf("unknown timing: %v", err)
	}

	// JSON: the seed field and the knobs (negative delay = never).
	path := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(path, []byte(`{"timing":"realistic","knobs":{"mailbox_provision_delay":"-1s","mailbox_provision_jitter":2.5}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadSeed(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Timing != "realistic" || loaded.Knobs.MailboxProvisionDelay != -time.Second ||
		loaded.Knobs.MailboxProvisionJitter != 2500*time.Millisecond {
		t.Fatalf("seed: %+v", loaded)
	}
	b, err := json.Marshal(loaded.Knobs)
	if err != nil || !strings.Contains(string(b), `"mailbox_provision_delay":"-1s"`) || !strings.Contains(string(b), `"mailbox_provision_jitter":"2.5s"`) {
		t.Fatalf("marshal: %s %v", b, err)
	}
	if err := (Knobs{MailboxProvisionJitter: -time.Second}).Validate(); err == nil {
		t.Fatal("a negative jitter must be refused")
	}
}
