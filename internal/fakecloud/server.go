package fakecloud

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
)

// Options configure Start.
type Options struct {
	// Addr is host:port. Port 0 gives each of the three services a random port; port P gives
	// login P, graph P+1, exchange P+2. Empty means "127.0.0.1:0".
	Addr string
	// Seed is the initial tenant; nil means DefaultSeed().
	Seed *Seed
	// StateFile, when set, is loaded at start if it exists (it wins over Seed) and rewritten
	// after every successful mutation.
	StateFile string
	// Knobs override the seed's knobs field by field (non-zero fields win).
	Knobs Knobs
	// Logf, when set, receives one line per request (never bodies or secrets) and internal errors.
	Logf func(format string, args ...any)
	// IMAPRootCAs are PEM files of CAs the migration engine trusts (added to Seed.IMAPRootCAs).
	IMAPRootCAs []string
	// ExmailOptions tune the local Exmail API where Tencent's behaviour is UNCONFIRMED.
	ExmailOptions fakeexmail.Options
}

// ReadyInfo is what a client needs to talk to a Server; cmd/fakecloud writes it as the ready file.
type ReadyInfo struct {
	LoginEndpoint    string `json:"login_endpoint"`
	GraphEndpoint    string `json:"graph_endpoint"`
	ExchangeEndpoint string `json:"exchange_endpoint"`
	CACertFile       string `json:"ca_cert_file"`
	TenantID         string `json:"tenant_id"`
	ClientID         string `json:"client_id"`
	ClientSecret     string `json:"client_secret"`
	// The local Tencent Exmail API: host root, corp id and one secret per app
	// ({"contacts": …, "options": …, "log": …}).
	ExmailEndpoint string            `json:"exmail_endpoint"`
	ExmailCorpID   string            `json:"exmail_corp_id"`
	ExmailSecrets  map[string]string `json:"exmail_secrets"`
}

// Server is a running local Microsoft 365: an Entra token service, a Graph subset and the Exchange
// InvokeCommand API, each on its own HTTPS listener. It is safe for concurrent use.
type Server struct {
	opts      Options
	exoRate   exoRateCounter // Rate-Limit-* headers of InvokeCommand (exchange_ratelimit.go)
	stateFile string

	// recentlyDeleted holds the users deleted less than list_lag ago, as they were, for the
	// eventually consistent advanced-query index (users_recycle.go).
	lagMu           sync.Mutex
	recentlyDeleted map[string]userDeletion

	loginURL, graphURL, exchangeURL string
	caFile                          string

	servers []*http.Server
	wg      sync.WaitGroup
	closeMu sync.Mutex
	closed  bool

	graphMux *http.ServeMux

	// exmail is the local Tencent Exmail API (exmail.go).
	exmail    *fakeexmail.Server
	exmailURL string

	// domainRefSources and domainRenameHooks are registered by route installers before the
	// server serves (domains_delete.go: addDomainReferenceSource, addDomainRenameHook).
	domainRefSources  []DomainReferenceSource
	domainRenameHooks []DomainRenameHook

	// engine runs migration batches against the endpoints' IMAP servers (migration_engine.go).
	engine *migrationEngine

	stateMu sync.RWMutex
	state   *State

	// faultMu guards knobs, the random source and the write-fault bookkeeping.
	faultMu       sync.Mutex
	knobs         Knobs
	rng           *rand.Rand
	writeLog      map[string][]time.Time // app+tenant -> admitted write times (write quota)
	goodWrites    int                    // successful Graph writes since the knobs were last set
	goodExoWrites int                    // successful Exchange write cmdlets since the knobs were last set
	createdAt     map[string]time.Time   // kind \x00 lower(id) -> creation time (read-after-write lag)
	tokens        map[string]tokenInfo
	tokensMu      sync.Mutex
	statsMu       sync.Mutex
	stats         Stats
	requests      []RequestRecord
}

// Start creates the tenant (from the state file, else the seed) and starts the three listeners.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	seed := opts.Seed
	if seed == nil {
		seed = DefaultSeed()
	}
	base, err := TimingKnobs(seed.Timing)
	if err != nil {
		return nil, fmt.Errorf("fakecloud: seed: %w", err)
	}
	knobs := mergeKnobs(mergeKnobs(base, seed.Knobs), opts.Knobs)
	if err := knobs.Validate(); err != nil {
		return nil, err
	}

	var st *State
	if opts.StateFile != "" {
		loaded, err := loadStateFile(opts.StateFile)
		if err != nil {
			return nil, err
		}
		st = loaded
	}
	fresh := st == nil
	if fresh {
		var err error
		if st, err = seed.toState(); err != nil {
			return nil, err
		}
	}

	_, caFile, err := ProcessCA()
	if err != nil {
		return nil, err
	}

	s := &Server{
		opts:      opts,
		stateFile: opts.StateFile,
		caFile:    caFile,
		state:     st,
		writeLog:  map[string][]time.Time{},
		createdAt: map[string]time.Time{},
		tokens:    map[string]tokenInfo{},
		stats:     newStats(),
	}
	s.setKnobsLocked(knobs)
	if s.engine, err = newMigrationEngine(s, append(append([]string(nil), seed.IMAPRootCAs...), opts.IMAPRootCAs...)); err != nil {
		return nil, err
	}
	if !fresh {
		resumeMigrationState(st)
	}

	if fresh && s.stateFile != "" {
		s.stateMu.Lock()
		err := s.persistLocked()
		s.stateMu.Unlock()
		if err != nil {
			return nil, err
		}
	}

	host, portStr, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fakecloud: bad Addr %q: %w", opts.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65533 {
		return nil, fmt.Errorf("fakecloud: bad port in Addr %q", opts.Addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	cert, err := leafCertificate(host)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	var listeners []net.Listener
	for i := 0; i < 3; i++ {
		p := 0
		if port != 0 {
			p = port + i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return nil, fmt.Errorf("fakecloud: listening: %w", err)
		}
		listeners = append(listeners, ln)
	}
	s.loginURL = endpointURL(listeners[0].Addr())
	s.graphURL = endpointURL(listeners[1].Addr())
	s.exchangeURL = endpointURL(listeners[2].Addr())

	s.graphMux = s.newGraphMux()
	handlers := []http.Handler{s.loginHandler(), s.graphHandler(), s.exchangeHandler()}
	if err := s.startExmail(seed.Exmail, opts.ExmailOptions, host, port, tlsConf); err != nil {
		for _, l := range listeners {
			_ = l.Close()
		}
		return nil, err
	}
	errLog := log.New(io.Discard, "", 0)
	for i, ln := range listeners {
		srv := &http.Server{
			Handler:           handlers[i],
			TLSConfig:         tlsConf.Clone(),
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          errLog,
		}
		s.servers = append(s.servers, srv)
		tln := tls.NewListener(ln, srv.TLSConfig)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = srv.Serve(tln)
		}()
	}
	return s, nil
}

// endpointURL turns a listener address into "https://host:port", using 127.0.0.1 / ::1 for
// unspecified addresses.
func endpointURL(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return "https://" + a.String()
	}
	ip := ta.IP
	if ip == nil || ip.IsUnspecified() {
		if ip != nil && ip.To4() == nil {
			ip = net.IPv6loopback
		} else {
			ip = net.IPv4(127, 0, 0, 1)
		}
	}
	return "https://" + net.JoinHostPort(ip.String(), strconv.Itoa(ta.Port))
}

// Close stops the listeners and waits for them. State is already persisted by every mutation.
func (s *Server) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	s.engine.close()
	return errors.Join(errs...)
}

// LoginEndpoint is the Entra (login) host root, e.g. "https://127.0.0.1:41234" (no trailing slash).
func (s *Server) LoginEndpoint() string { return s.loginURL }

// GraphEndpoint is the Graph host root; the API is under /v1.0.
func (s *Server) GraphEndpoint() string { return s.graphURL }

// ExchangeEndpoint is the Exchange host root; InvokeCommand is /adminapi/beta/{tenant}/InvokeCommand.
func (s *Server) ExchangeEndpoint() string { return s.exchangeURL }

// CACertFile is the PEM file of the CA that signed the listeners' certificates (see ProcessCA).
func (s *Server) CACertFile() string { return s.caFile }

// TenantID is the tenant GUID.
func (s *Server) TenantID() string {
	var id string
	s.read(func(st *State) { id = st.TenantID })
	return id
}

// InitialDomain is the tenant's *.onmicrosoft.com domain.
func (s *Server) InitialDomain() string {
	var d string
	s.read(func(st *State) { d = st.InitialDomain })
	return d
}

// ClientID is the client id of the first app.
func (s *Server) ClientID() string {
	var id string
	s.read(func(st *State) { id = st.Apps[0].ClientID })
	return id
}

// ClientSecret is the client secret of the first app.
func (s *Server) ClientSecret() string {
	var sec string
	s.read(func(st *State) { sec = st.Apps[0].ClientSecret })
	return sec
}

// Ready returns the connection details written to the ready file.
func (s *Server) Ready() ReadyInfo {
	return ReadyInfo{
		LoginEndpoint:    s.loginURL,
		GraphEndpoint:    s.graphURL,
		ExchangeEndpoint: s.exchangeURL,
		CACertFile:       s.caFile,
		TenantID:         s.TenantID(),
		ClientID:         s.ClientID(),
		ClientSecret:     s.ClientSecret(),
		ExmailEndpoint:   s.exmailURL,
		ExmailCorpID:     s.exmail.CorpID(),
		ExmailSecrets:    s.exmail.Secrets(),
	}
}

// WriteReadyFile writes Ready() as JSON to path atomically (temporary file + rename), mode 0600
// because it holds the client secret.
func (s *Server) WriteReadyFile(path string) error {
	b, err := json.MarshalIndent(s.Ready(), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

// SetKnobs replaces all knobs. It also restarts the fail_after_writes count, empties the write-quota
// windows and, when RandomSeed is set, re-seeds the random source. Invalid values are clamped to
// "off" (use Knobs.Validate first to reject them).
func (s *Server) SetKnobs(k Knobs) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.setKnobsLocked(k)
}

func (s *Server) setKnobsLocked(k Knobs) {
	if k.ExchangeErrorForm != ExchangeErrorJSON {
		if k.ExchangeErrorForm != "" && k.ExchangeErrorForm != ExchangeErrorPipe {
			k.ExchangeErrorForm = ""
		}
	}
	s.knobs = k
	seed := uint64(k.RandomSeed)
	if k.RandomSeed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s.goodWrites = 0
	s.goodExoWrites = 0
	s.writeLog = map[string][]time.Time{}
}

// Knobs returns the current knobs.
func (s *Server) Knobs() Knobs {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.knobs
}

// chanceLocked draws from the seeded random source; the caller holds faultMu.
func (s *Server) chanceLocked(ratio float64) bool {
	if ratio <= 0 {
		return false
	}
	return s.rng.Float64() < ratio
}

// shuffle permutes n items with the seeded random source (used for $batch response order).
func (s *Server) shuffle(n int, swap func(i, j int)) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.rng.Shuffle(n, swap)
}

// sleepLatency waits for the latency knob (or until the request is cancelled).
func (s *Server) sleepLatency(ctx context.Context) {
	d := s.Knobs().Latency
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func createdKey(kind, id string) string { return kind + "\x00" + strings.ToLower(id) }

// markCreated notes that the object kind/id was just created, for the read-after-write lag knobs.
// Route and cmdlet authors call it right after creating an object.
func (s *Server) markCreated(kind, id string) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.createdAt[createdKey(kind, id)] = time.Now()
}

// lagging reports whether the Graph object kind/id was created less than read_after_write_lag
// ago; a route then answers 404 Request_ResourceNotFound (see notFoundGraph).
func (s *Server) lagging(kind, id string) bool {
	return s.laggingFor(kind, id, func(k Knobs) time.Duration { return k.ReadAfterWriteLag })
}

// exchangeLagging is lagging for Exchange objects, driven by the exchange_lag knob.
func (s *Server) exchangeLagging(kind, id string) bool {
	return s.laggingFor(kind, id, func(k Knobs) time.Duration { return k.ExchangeLag })
}

func (s *Server) laggingFor(kind, id string, lag func(Knobs) time.Duration) bool {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	d := lag(s.knobs)
	if d <= 0 {
		return false
	}
	t, ok := s.createdAt[createdKey(kind, id)]
	return ok && time.Since(t) < d
}

// logf logs through Options.Logf when set.
func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// resolveTenant maps a tenant path segment (GUID or initial domain, any case) to the tenant id.
// Later issues may also accept verified custom domains here.
func (s *Server) resolveTenant(seg string) (string, bool) {
	var id string
	var ok bool
	s.read(func(st *State) {
		if strings.EqualFold(seg, st.TenantID) || strings.EqualFold(seg, st.InitialDomain) {
			id, ok = st.TenantID, true
		}
	})
	return id, ok
}
