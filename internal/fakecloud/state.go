package fakecloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// stateVersion is written into state files; bump it only for incompatible changes.
const stateVersion = 1

// State is everything the fake tenant holds. It is guarded by Server.stateMu: read it only inside
// s.read, change it only inside s.mutate (which persists it to Options.StateFile afterwards).
//
// Adding a field (later issues add domains, users, migration batches):
//   - add it here with a snake_case json tag and `omitempty`, so state files written before the
//     field existed still load (the zero value must mean "none yet");
//   - if a seed may pre-populate it, add the same field to Seed and copy/validate it in
//     Seed.toState;
//   - keep it plain data (no pointers shared with handlers, no mutexes): the whole State is
//     marshalled on every mutation.
type State struct {
	Version       int    `json:"version"`
	TenantID      string `json:"tenant_id"`
	InitialDomain string `json:"initial_domain"`
	Environment   string `json:"environment"`
	Apps          []App  `json:"apps"`
	SKUs          []SKU  `json:"skus"`

	// Domains are the tenant's domains by lower-case id (domains.go); the initial domain is always
	// there. DomainReferences are seeded objects that use a domain, by lower-case domain name.
	Domains          map[string]Domain            `json:"domains,omitempty"`
	DomainReferences map[string][]DomainReference `json:"domain_references,omitempty"`

	// Users are the tenant's users by id (users.go), soft-deleted ones included. Passwords are
	// stored only as salted hashes.
	Users map[string]User `json:"users,omitempty"`

	MigrationEndpoints []MigrationEndpoint `json:"migration_endpoints,omitempty"`
	// MigrationBatches are the Exchange migration batches with their users (migration_batches.go).
	// User passwords are never written to the state file.
	MigrationBatches []MigrationBatch `json:"migration_batches,omitempty"`

	// Mailboxes are the Exchange Online mailboxes by user id, provisioning ones included
	// (mailboxes.go).
	Mailboxes map[string]Mailbox `json:"mailboxes,omitempty"`
	// DistributionGroups are the Exchange distribution groups (distribution_groups.go).
	DistributionGroups []DistributionGroup `json:"distribution_groups,omitempty"`
	// DkimSigningConfigs are the DKIM signing configurations by lower-case domain (dkim.go).
	DkimSigningConfigs map[string]DkimSigningConfig `json:"dkim_signing_configs,omitempty"`
}

// MigrationEndpoint is an Exchange Online migration endpoint (IMAP only, for now).
type MigrationEndpoint struct {
	Name                        string `json:"name"`
	GUID                        string `json:"guid,omitempty"`
	EndpointType                string `json:"endpoint_type,omitempty"` // IMAP
	RemoteServer                string `json:"remote_server"`
	Port                        int    `json:"port,omitempty"`
	Security                    string `json:"security,omitempty"`       // None | Ssl | Tls
	Authentication              string `json:"authentication,omitempty"` // Basic | Ntlm
	AcceptUntrustedCertificates bool   `json:"accept_untrusted_certificates,omitempty"`
	// MaxConcurrentMigrations and MaxConcurrentIncrementalSyncs are Unlimited<int> values kept as
	// the strings the service returns: "100" or "Unlimited".
	MaxConcurrentMigrations       string    `json:"max_concurrent_migrations,omitempty"`
	MaxConcurrentIncrementalSyncs string    `json:"max_concurrent_incremental_syncs,omitempty"`
	SkipVerification              bool      `json:"skip_verification,omitempty"`
	Created                       time.Time `json:"created,omitempty"`
}

// normalizeSeedEndpoint fills the defaults New-MigrationEndpoint would.
func normalizeSeedEndpoint(e MigrationEndpoint) (MigrationEndpoint, error) {
	if strings.TrimSpace(e.Name) == "" {
		return e, errors.New("name is required")
	}
	if e.RemoteServer == "" {
		e.RemoteServer = "imap.example.com"
	}
	if e.GUID == "" {
		e.GUID = derivedGUID("migration-endpoint", strings.ToLower(e.Name))
	}
	if e.EndpointType == "" {
		e.EndpointType = "IMAP"
	}
	if e.Port == 0 {
		e.Port = 993
	}
	if e.Security == "" {
		e.Security = "None" // UNCONFIRMED service default, see New-MigrationEndpoint
	}
	if e.Authentication == "" {
		e.Authentication = "Basic"
	}
	if e.MaxConcurrentMigrations == "" {
		e.MaxConcurrentMigrations = "100"
	}
	if e.MaxConcurrentIncrementalSyncs == "" {
		e.MaxConcurrentIncrementalSyncs = "20"
	}
	return e, nil
}

// read runs fn with the state locked for reading. fn must not keep references into the state.
func (s *Server) read(fn func(st *State)) {
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	fn(s.state)
}

// mutate runs fn with the state locked for writing. When fn returns nil the whole state is
// written to Options.StateFile (atomically) before mutate returns; a persistence failure is
// returned as an error. fn must validate before it changes anything: when it returns an error
// the state is expected to be unchanged and nothing is written.
func (s *Server) mutate(fn func(st *State) error) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if err := fn(s.state); err != nil {
		return err
	}
	return s.persistLocked()
}

// persistLocked writes the state file; the caller holds stateMu.
func (s *Server) persistLocked() error {
	if s.stateFile == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.state, "", "  ")
	if err != nil {
		return fmt.Errorf("fakecloud: encoding state: %w", err)
	}
	if err := writeFileAtomic(s.stateFile, append(b, '\n'), 0o600); err != nil {
		s.logf("fakecloud: persisting state: %v", err)
		return fmt.Errorf("fakecloud: persisting state: %w", err)
	}
	return nil
}

// loadStateFile reads a state file; (nil, nil) when it does not exist.
func loadStateFile(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state file: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if st.Version > stateVersion {
		return nil, fmt.Errorf("state file %s has version %d, this fakecloud understands %d", path, st.Version, stateVersion)
	}
	if !isGUID(st.TenantID) {
		return nil, fmt.Errorf("state file %s: tenant_id %q is not a GUID", path, st.TenantID)
	}
	if len(st.Apps) == 0 {
		return nil, fmt.Errorf("state file %s has no apps", path)
	}
	ensureInitialDomain(&st) // state files written before domains existed
	if st.Mailboxes == nil {
		seedMailboxes(&st) // state files written before mailboxes were modelled: licensed users have one
	}
	st.Version = stateVersion
	return &st, nil
}

// writeFileAtomic writes data to a temporary file in the same directory and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}
