package fakecloud

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The migration engine: while a batch is Syncing it logs in to the source endpoint's IMAP server
// with every user's CSV credentials and counts the mailbox (imap_source.go), so a wrong password
// fails that user and synced counts equal the real mailbox. Each job runs in its own
// goroutine (a request never waits for IMAP); Close cancels the jobs and waits for them.

// Engine limits.
const (
	// engineConcurrency bounds IMAP sessions across all batches of one Server.
	engineConcurrency = 8
	// engineUserTimeout bounds counting one mailbox.
	engineUserTimeout = 2 * time.Minute
	// probeTimeout bounds the connection check of New/Set-MigrationEndpoint and
	// Test-MigrationServerAvailability.
	probeTimeout = 20 * time.Second
)

// migrationEngine runs sync jobs for a Server.
type migrationEngine struct {
	s     *Server
	roots *x509.CertPool // nil: the system pool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}

	mu      sync.Mutex
	closed  bool
	batches map[string]*batchRun // batch GUID -> its running jobs
}

// batchRun is the context shared by the jobs of one batch generation.
type batchRun struct {
	generation int
	ctx        context.Context
	cancel     context.CancelFunc
}

// syncJob is a set of users of one batch to sync, with everything the engine needs copied out of
// the state (passwords included: they live only in memory).
type syncJob struct {
	batchGUID  string
	generation int
	endpoint   MigrationEndpoint
	exclude    []string
	include    []string
	users      []jobUser
}

type jobUser struct {
	guid, email, userName, password, userRoot string
}

// newMigrationEngine loads the extra root CAs (PEM files) and makes an idle engine.
func newMigrationEngine(s *Server, caFiles []string) (*migrationEngine, error) {
	e := &migrationEngine{s: s, sem: make(chan struct{}, engineConcurrency), batches: map[string]*batchRun{}}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if len(caFiles) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, f := range caFiles {
			b, err := os.ReadFile(f)
			if err != nil {
				e.cancel()
				return nil, fmt.Errorf("fakecloud: imap_root_cas: %w", err)
			}
			if !pool.AppendCertsFromPEM(b) {
				e.cancel()
				return nil, fmt.Errorf("fakecloud: imap_root_cas: %s holds no PEM certificate", f)
			}
		}
		e.roots = pool
	}
	return e, nil
}

// close cancels every job and waits for the goroutines to end.
func (e *migrationEngine) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// cancelBatch abandons the running jobs of a batch (Stop, Complete, Remove).
func (e *migrationEngine) cancelBatch(guid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.batches[guid]; r != nil {
		r.cancel()
		delete(e.batches, guid)
	}
}

// runContext returns the context of a batch generation, replacing an older generation's.
func (e *migrationEngine) runContext(guid string, gen int) (context.Context, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false
	}
	r := e.batches[guid]
	if r == nil || r.generation != gen {
		if r != nil {
			r.cancel()
		}
		ctx, cancel := context.WithCancel(e.ctx)
		r = &batchRun{generation: gen, ctx: ctx, cancel: cancel}
		e.batches[guid] = r
	}
	return r.ctx, true
}

// launch runs a job in the background. It never blocks.
func (e *migrationEngine) launch(j *syncJob) {
	if j == nil || len(j.users) == 0 {
		return
	}
	ctx, ok := e.runContext(j.batchGUID, j.generation)
	if !ok {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.run(ctx, j)
	}()
}

// target is the IMAP server of an endpoint.
func (e *migrationEngine) target(ep MigrationEndpoint) imapTarget {
	port := ep.Port
	if port == 0 {
		port = 143
		if strings.EqualFold(ep.Security, "Ssl") {
			port = 993
		}
	}
	return imapTarget{host: ep.RemoteServer, port: port, security: ep.Security,
		acceptUntrusted: ep.AcceptUntrustedCertificates, roots: e.roots,
		dialTimeout: 10 * time.Second, commandTimeout: time.Minute}
}

// run syncs the job's users, at most MaxConcurrentMigrations of the endpoint (and the engine's
// own bound) at a time.
func (e *migrationEngine) run(ctx context.Context, j *syncJob) {
	limit := engineConcurrency
	if n, err := strconv.Atoi(j.endpoint.MaxConcurrentMigrations); err == nil && n > 0 && n < limit {
		limit = n
	}
	local := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, u := range j.users {
		select {
		case local <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		select {
		case e.sem <- struct{}{}:
		case <-ctx.Done():
			<-local
			wg.Wait()
			return
		}
		wg.Add(1)
		go func(u jobUser) {
			defer wg.Done()
			defer func() { <-e.sem; <-local }()
			e.syncUser(ctx, j, u)
		}(u)
	}
	wg.Wait()
}

// userResult is what one sync found.
type userResult struct {
	ok                            bool
	summary, detail               string
	total, synced, skipped, bytes int64
}

// syncUser counts one mailbox and records the result, unless the job was abandoned.
func (e *migrationEngine) syncUser(ctx context.Context, j *syncJob, u jobUser) {
	var res userResult
	switch {
	case j.endpoint.RemoteServer == "":
		res = userResult{summary: "Error: MigrationEndpointNotFoundException: The migration endpoint \"" + j.endpoint.Name +
			"\" of this batch no longer exists."}
	case u.password == "":
		res = userResult{summary: "Error: MigrationCredentialsMissingException: fakecloud restarted from its state file " +
			"and no longer knows this user's password. Send the CSV again with Set-MigrationBatch -AddUsers -CSVData, " +
			"then Start-MigrationBatch."}
	default:
		uctx, cancel := context.WithTimeout(ctx, engineUserTimeout)
		folders, err := imapCountMailbox(uctx, e.target(j.endpoint), u)
		cancel()
		if ctx.Err() != nil {
			return // stopped, removed or closing: the batch's state says what happens next
		}
		res = resultFrom(folders, err, j.exclude, j.include)
	}
	if res.detail == "" {
		res.detail = res.summary
	}
	now := time.Now().UTC()
	_ = e.s.mutate(func(st *State) error {
		bi := -1
		for i := range st.MigrationBatches {
			if st.MigrationBatches[i].GUID == j.batchGUID {
				bi = i
			}
		}
		if bi < 0 || st.MigrationBatches[bi].Generation != j.generation {
			return errAbandoned
		}
		b := &st.MigrationBatches[bi]
		for i := range b.Users {
			mu := &b.Users[i]
			if mu.GUID != u.guid || mu.Status != userSyncing {
				continue
			}
			mu.LastUpdated = now
			if !res.ok {
				mu.Status, mu.ErrorSummary, mu.ErrorDetail = userFailed, res.summary, res.detail
				return nil
			}
			mu.Status, mu.ErrorSummary, mu.ErrorDetail = userSynced, "", ""
			mu.TotalItems, mu.SyncedItems, mu.SkippedItems, mu.BytesTransferred = res.total, res.synced, res.skipped, res.bytes
			mu.LastSuccessfulSync = now
			return nil
		}
		return errAbandoned
	})
}

// errAbandoned makes mutate skip persisting a result nobody waits for any more.
var errAbandoned = fmt.Errorf("fakecloud: sync result abandoned")

// resultFrom turns the count into the user's counters or error.
func resultFrom(folders []imapFolder, err *imapError, exclude, include []string) userResult {
	if err != nil {
		summary := imapErrorSummary(err.kind, err.loggedIn)
		return userResult{summary: summary, detail: summary + " --> " + err.msg}
	}
	var r userResult
	r.ok = true
	for _, f := range folders {
		if f.skipped || !folderMigrates(f.name, exclude, include) {
			continue
		}
		r.total += f.messages
		r.skipped += f.over
		r.bytes += f.bytes
	}
	// At most 500,000 items migrate (newest first); larger items are skipped.
	r.synced = min(r.total-r.skipped, maxMigrationItems)
	return r
}

// imapErrorSummary is the per-user error the service shows. The authentication text is the one
// admins report from Exchange Online; the others are modelled on it. All UNCONFIRMED.
func imapErrorSummary(kind string, loggedIn bool) string {
	switch {
	case kind == imapKindAuth:
		return "Error: ImapAuthenticationException: The username or password for this account is incorrect, or IMAP " +
			"access is disabled."
	case loggedIn:
		return "Error: ImapCommunicationException: The IMAP server stopped answering while the mailbox was being read."
	case kind == imapKindTLS:
		return "Error: ImapCommunicationException: A secure connection to the IMAP server couldn't be established."
	case kind == imapKindCanceled:
		return "Error: MigrationTransientException: The migration was interrupted."
	}
	return "Error: ImapCommunicationException: The connection to the IMAP server couldn't be established."
}

// folderMigrates applies -IncludeFolders and -ExcludeFolders to a folder name (server delimiter
// "/" or "."): exact names, "Name/*" subtrees and #Inbox#; case-insensitive.
func folderMigrates(name string, exclude, include []string) bool {
	match := func(pattern string) bool {
		pattern = strings.TrimSpace(pattern)
		if strings.EqualFold(pattern, "#Inbox#") {
			pattern = "INBOX"
		}
		if base, ok := strings.CutSuffix(pattern, "/*"); ok {
			if strings.EqualFold(name, base) {
				return true
			}
			lower, b := strings.ToLower(name), strings.ToLower(base)
			return strings.HasPrefix(lower, b+"/") || strings.HasPrefix(lower, b+".")
		}
		return strings.EqualFold(name, pattern)
	}
	for _, x := range exclude {
		if match(x) {
			return false
		}
	}
	if len(include) == 0 {
		return true
	}
	for _, in := range include {
		if match(in) {
			return true
		}
	}
	return false
}

// probe checks that the IMAP server answers: connect, secure the connection as Security says,
// read the greeting and try a LOGIN with a made-up account (the service tests the endpoint
// without credentials). A rejected login still proves the server works.
func (e *migrationEngine) probe(ctx context.Context, t imapTarget) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	s, err := imapOpen(ctx, t, "fakecloud-connectivity-probe", randomSecret(24))
	if err == nil {
		s.close()
		return true, ""
	}
	if err.kind == imapKindAuth {
		return true, ""
	}
	return false, err.msg
}

// connectionFailed is the error of New/Set-MigrationEndpoint when the server cannot be reached.
// Exception name and text UNCONFIRMED.
func connectionFailed(ep MigrationEndpoint, detail string) *ExoError {
	detail = strings.TrimSpace(detail)
	if detail != "" && !strings.HasSuffix(detail, ".") {
		detail += "."
	}
	return Invalid("Microsoft.Exchange.Migration.MigrationServerConnectionFailedException", fmt.Sprintf(
		"The connection to the server '%s' could not be completed. %s Check RemoteServer, Port and Security, or use "+
			"SkipVerification.", ep.RemoteServer, detail))
}

func init() {
	verifyIMAPEndpoint = func(ctx *CmdletContext, ep MigrationEndpoint) error {
		if ok, detail := ctx.s.engine.probe(ctx.requestContext(), ctx.s.engine.target(ep)); !ok {
			return connectionFailed(ep, detail)
		}
		return nil
	}
	registerCmdlet("Test-MigrationServerAvailability", []string{"Imap", "RemoteServer", "Port", "Security",
		"Authentication", "AcceptUntrustedCertificates", "Endpoint", "Partition"}, cmdTestMigrationServerAvailability)
}

// requestContext is the HTTP request's context (Background outside a request).
func (c *CmdletContext) requestContext() context.Context {
	if c.Request != nil {
		return c.Request.Context()
	}
	return context.Background()
}

// cmdTestMigrationServerAvailability tests an IMAP server (the IMAP parameter set or -Endpoint).
// A failed test is a 200 answer with Result "Failed" (UNCONFIRMED against a 400).
func cmdTestMigrationServerAvailability(ctx *CmdletContext, p Params) ([]map[string]any, error) {
	endpointID, err := p.String("Endpoint")
	if err != nil {
		return nil, err
	}
	var ep MigrationEndpoint
	if endpointID = strings.TrimSpace(endpointID); endpointID != "" {
		for _, other := range []string{"Imap", "RemoteServer", "Port", "Security", "Authentication", "AcceptUntrustedCertificates"} {
			if p.Has(other) {
				return nil, Invalid(ParameterBinding, "Parameter set cannot be resolved using the specified named parameters.")
			}
		}
		var xe *ExoError
		ctx.Read(func(st *State) {
			i := findEndpoint(st, endpointID)
			if i < 0 || ctx.Lagging(lagKindEndpoint, st.MigrationEndpoints[i].Name) {
				xe = endpointNotFound(endpointID)
				return
			}
			ep = st.MigrationEndpoints[i]
		})
		if xe != nil {
			return nil, xe
		}
	} else {
		imap, err := p.Bool("Imap")
		if err != nil {
			return nil, err
		}
		if !imap {
			return nil, Invalid(ParameterBinding, "Parameter set cannot be resolved using the specified named parameters. "+
				"(fakecloud implements the IMAP and Endpoint parameter sets: send \"Imap\": true or \"Endpoint\".)")
		}
		if ep, err = endpointSettings(p, MigrationEndpoint{Port: 993, Security: "None", Authentication: "Basic"}, true); err != nil {
			return nil, err
		}
	}
	ok, detail := ctx.s.engine.probe(ctx.requestContext(), ctx.s.engine.target(ep))
	out := map[string]any{
		"Result":          "Success",
		"Message":         "",
		"ErrorDetail":     nil,
		"SupportsCutover": false,
		"ConnectionSettings": map[string]any{
			"EndpointType": "IMAP", "RemoteServer": ep.RemoteServer, "Port": ep.Port, "Security": ep.Security,
			"Authentication": ep.Authentication, "AcceptUntrustedCertificates": ep.AcceptUntrustedCertificates,
		},
		"IsValid":     true,
		"ObjectState": "New",
	}
	if !ok {
		out["Result"] = "Failed"
		out["Message"] = fmt.Sprintf("The connection to the server '%s' could not be completed.", ep.RemoteServer)
		out["ErrorDetail"] = detail
	}
	return []map[string]any{out}, nil
}
