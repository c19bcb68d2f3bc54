package fakecloud

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// Knobs are the fault-injection settings of a Server. Every knob is off at its zero value, so
// `Knobs{}` is a well-behaved cloud. Knobs are set at start (Seed.Knobs, Options.Knobs, command-line
// flags) and at run time with Server.SetKnobs or POST /_fake/knobs.
//
// In JSON the field names are snake_case; durations are strings such as "50ms" or "2m30s" (a bare
// number is read as seconds).
type Knobs struct {
	// Latency is added to every request of all three services (login, graph, exchange).
	Latency time.Duration

	// WriteQuota and WriteWindow imitate Entra's write quota: at most WriteQuota writes
	// (POST/PATCH/PUT/DELETE on Graph, each $batch sub-request counting, the $batch POST itself not)
	// per sliding WriteWindow per app+tenant. Over quota: 429 with Retry-After = whole seconds until
	// the window frees a slot, x-ms-throttle-information: WriteLimitExceeded and
	// x-ms-throttle-scope: Tenant_Application/Write/<appId>/<tenantId>. Both must be > 0 to apply.
	// Admitted writes that take the window above 80 % of the quota carry
	// x-ms-throttle-limit-percentage (usage/quota, one decimal, e.g. "0.9"), as Graph does.
	WriteQuota  int
	WriteWindow time.Duration

	// ThrottleRatio is the share (0..1) of Graph requests (sub-requests included) answered 429
	// TooManyRequests with Retry-After = RetryAfter seconds.
	ThrottleRatio float64
	// RetryAfter is the Retry-After value, in seconds (fractions allowed), sent with ratio-based 429s
	// and 503s of Graph and Exchange. 0 is sent as "0".
	RetryAfter float64
	// Fail503Ratio is the share (0..1) of Graph requests (sub-requests included) answered 503.
	// It does not apply to Exchange (use ExchangeThrottleRatio / ExchangeConcurrencyRatio there).
	Fail503Ratio float64

	// ReadAfterWriteLag: Graph objects created less than this long ago answer 404
	// Request_ResourceNotFound on GET/PATCH/DELETE of that object (routes call s.markCreated and
	// s.lagging).
	ReadAfterWriteLag time.Duration
	// ListLag imitates the eventually consistent index behind Graph's advanced queries
	// (ConsistencyLevel: eventual with $count, $search, endsWith, ne/not:
	// https://learn.microsoft.com/graph/aad-advanced-queries): a GET /users that is an advanced
	// query leaves out users created less than ListLag ago and still lists, as they were, users
	// deleted (soft or permanently) less than ListLag ago. Plain lists and GET by id are not
	// affected (ReadAfterWriteLag covers those).
	ListLag time.Duration

	// FailAfterWrites (K > 0): after K successful Graph writes every further Graph write answers
	// 500 InternalServerError, until the knobs are set again (which restarts the count). Simulates
	// a crash half-way through an apply.
	FailAfterWrites int
	// ExchangeFailAfterWrites (K > 0): after K successful Exchange write cmdlets (every verb but
	// Get- and Test-) every further write cmdlet answers 500 InternalServerError without running,
	// until the knobs are set again; K < 0: from the first write. Simulates a crash half-way
	// through an apply of migration resources.
	ExchangeFailAfterWrites int

	// ExchangeErrorForm selects the form of error.details[].message in InvokeCommand errors:
	// "pipe" (default) "<errorId>|<ExceptionType>|<text>" or "json"
	// "{\"Message\":...,\"TypeName\":...,\"InnerError\":null}".
	ExchangeErrorForm string
	// ExchangeThrottleRatio is the share (0..1) of InvokeCommand requests answered 429 with
	// Retry-After = RetryAfter.
	ExchangeThrottleRatio float64
	// ExchangeConcurrencyRatio is the share (0..1) of InvokeCommand requests answered HTTP 500,
	// text/plain, "You have reached the maximum number of concurrent requests per tenant. Please
	// wait and try again".
	ExchangeConcurrencyRatio float64
	// ExchangeRedirect: every InvokeCommand POST on the canonical path is answered 302 with
	// Location <exchange>/regional/adminapi/beta/<tenant>/InvokeCommand, which serves the same API.
	ExchangeRedirect bool
	// ExchangePageSize is the InvokeCommand page size (0 means 1000). A client may lower it with
	// `Prefer: odata.maxpagesize=N`.
	ExchangePageSize int
	// ExchangeLag: objects made by New-* cmdlets answer not-found for this long.
	ExchangeLag time.Duration
	// MigrationPollsPerStep is how many Get-MigrationBatch polls a batch spends in each transitional
	// status (Starting, Syncing, Stopping, Completing, Removing) before it moves on; 0 means 1.
	// Syncing also waits for the migration engine to finish every user.
	MigrationPollsPerStep int

	// DNSServer ("host:port") is the DNS server POST /domains/{id}/verify asks for the domain's
	// MS=ms######## TXT record (or its ms########.msv1.invalid MX alternative), e.g. an
	// internal/dnstest server. Empty: verification fails unless AutoVerify is set.
	DNSServer string
	// DKIMCNAMEFormat is the form of the Selector1CNAME/Selector2CNAME values New-DkimSigningConfig
	// issues (dkim.go): "v1" (custom domains since May 2025:
	// selector1-contoso-com._domainkey.<initial prefix>.<char>-v1.dkim.mail.microsoft), "legacy"
	// (selector1-contoso-com._domainkey.<initial domain>), or "" for the cloud's default (v1 in
	// the global cloud; legacy elsewhere, UNCONFIRMED for 21Vianet and US Government).
	DKIMCNAMEFormat string
	// AutoVerify makes POST /domains/{id}/verify succeed without looking at DNS.
	AutoVerify bool

	// StrictBatchDependencies makes $batch refuse dependsOn patterns other than fully parallel
	// (no dependsOn), fully sequential (each request depends on the one before) or "same" (every
	// dependent request depends on one request), with 400 "Batch should be either fully
	// sequential or fully parallel" — Graph's documented limitation, whether it still applies is
	// UNCONFIRMED (https://learn.microsoft.com/graph/json-batching).
	StrictBatchDependencies bool

	// RandomSeed, when not 0, seeds the random source behind the ratios and the $batch response
	// order, so runs are repeatable. Setting the knobs again re-seeds it.
	RandomSeed int64

	// MailboxProvisionDelay is how long Exchange Online takes to create a user's mailbox after a
	// licence with an Exchange Online service plan is assigned (mailboxes.go). Until then Get-User
	// shows RecipientTypeDetails "User", Get-Mailbox/Get-Recipient answer not-found, Graph
	// mailboxSettings answers 404 MailboxNotEnabledForRESTAPI and a migration of the address fails
	// with MigrationRecipientNotFoundException. 0: at once (the mailbox exists as soon as the
	// licence does); negative: never (to test a 24-hour timeout). The delay is fixed for a user
	// when its licence is assigned: changing the knob later does not move mailboxes already
	// provisioning.
	MailboxProvisionDelay time.Duration
	// MailboxProvisionJitter adds a per-user delay in [0, jitter), derived from a hash of the user
	// id, so that users licensed together do not all get their mailbox at the same instant.
	MailboxProvisionJitter time.Duration
}

// Exchange error forms accepted by Knobs.ExchangeErrorForm.
const (
	ExchangeErrorPipe = "pipe"
	ExchangeErrorJSON = "json"
)

// defaultExchangePageSize is the InvokeCommand page size when Knobs.ExchangePageSize is 0.
const defaultExchangePageSize = 1000

// Validate reports knob values that make no sense (ratios outside 0..1, negative durations or
// counts, an unknown error form).
func (k Knobs) Validate() error {
	var problems []string
	ratio := func(name string, v float64) {
		if v < 0 || v > 1 || math.IsNaN(v) {
			problems = append(problems, fmt.Sprintf("%s must be between 0 and 1, got %v", name, v))
		}
	}
	nonNeg := func(name string, v int64) {
		if v < 0 {
			problems = append(problems, fmt.Sprintf("%s must not be negative", name))
		}
	}
	ratio("throttle_ratio", k.ThrottleRatio)
	ratio("fail_503_ratio", k.Fail503Ratio)
	ratio("exchange_throttle_ratio", k.ExchangeThrottleRatio)
	ratio("exchange_concurrency_ratio", k.ExchangeConcurrencyRatio)
	nonNeg("latency", int64(k.Latency))
	nonNeg("write_quota", int64(k.WriteQuota))
	nonNeg("write_window", int64(k.WriteWindow))
	nonNeg("read_after_write_lag", int64(k.ReadAfterWriteLag))
	nonNeg("list_lag", int64(k.ListLag))
	nonNeg("fail_after_writes", int64(k.FailAfterWrites))
	nonNeg("exchange_page_size", int64(k.ExchangePageSize))
	nonNeg("exchange_lag", int64(k.ExchangeLag))
	nonNeg("migration_polls_per_step", int64(k.MigrationPollsPerStep))
	nonNeg("mailbox_provision_jitter", int64(k.MailboxProvisionJitter))
	switch k.DKIMCNAMEFormat {
	case "", DKIMFormatV1, DKIMFormatLegacy:
	default:
		problems = append(problems, fmt.Sprintf("dkim_cname_format must be %q or %q, got %q", DKIMFormatV1, DKIMFormatLegacy, k.DKIMCNAMEFormat))
	}
	if k.DNSServer != "" {
		if _, port, err := net.SplitHostPort(k.DNSServer); err != nil || port == "" {
			problems = append(problems, fmt.Sprintf("dns_server must be host:port, got %q", k.DNSServer))
		}
	}
	if k.RetryAfter < 0 || math.IsNaN(k.RetryAfter) || math.IsInf(k.RetryAfter, 0) {
		problems = append(problems, "retry_after must be a non-negative number of seconds")
	}
	switch k.ExchangeErrorForm {
	case "", ExchangeErrorPipe, ExchangeErrorJSON:
	default:
		problems = append(problems, fmt.Sprintf("exchange_error_form must be %q or %q, got %q",
			ExchangeErrorPipe, ExchangeErrorJSON, k.ExchangeErrorForm))
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid knobs: %s", strings.Join(problems, "; "))
	}
	return nil
}

// pollsPerStep is the effective MigrationPollsPerStep.
func (k Knobs) pollsPerStep() int {
	if k.MigrationPollsPerStep <= 0 {
		return 1
	}
	return k.MigrationPollsPerStep
}

// pageSize is the effective Exchange page size.
func (k Knobs) pageSize() int {
	if k.ExchangePageSize <= 0 {
		return defaultExchangePageSize
	}
	return k.ExchangePageSize
}

// retryAfterHeader formats RetryAfter the way a Retry-After header carries it.
func (k Knobs) retryAfterHeader() string {
	return strconv.FormatFloat(k.RetryAfter, 'f', -1, 64)
}

// jsonDuration is a time.Duration that reads "1.5s" or a number of seconds and writes "1.5s".
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	if d == 0 {
		return []byte(`"0s"`), nil
	}
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*d = 0
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if str == "" {
			*d = 0
			return nil
		}
		v, err := time.ParseDuration(str)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %w", str, err)
		}
		*d = jsonDuration(v)
		return nil
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid duration %s: want a string like \"1.5s\" or a number of seconds", s)
	}
	*d = jsonDuration(secs * float64(time.Second))
	return nil
}

// knobsJSON is the wire form of Knobs.
type knobsJSON struct {
	Latency                  jsonDuration `json:"latency"`
	WriteQuota               int          `json:"write_quota"`
	WriteWindow              jsonDuration `json:"write_window"`
	ThrottleRatio            float64      `json:"throttle_ratio"`
	RetryAfter               float64      `json:"retry_after"`
	Fail503Ratio             float64      `json:"fail_503_ratio"`
	ReadAfterWriteLag        jsonDuration `json:"read_after_write_lag"`
	ListLag                  jsonDuration `json:"list_lag"`
	FailAfterWrites          int          `json:"fail_after_writes"`
	ExchangeFailAfterWrites  int          `json:"exchange_fail_after_writes"`
	ExchangeErrorForm        string       `json:"exchange_error_form"`
	ExchangeThrottleRatio    float64      `json:"exchange_throttle_ratio"`
	ExchangeConcurrencyRatio float64      `json:"exchange_concurrency_ratio"`
	ExchangeRedirect         bool         `json:"exchange_redirect"`
	ExchangePageSize         int          `json:"exchange_page_size"`
	ExchangeLag              jsonDuration `json:"exchange_lag"`
	MigrationPollsPerStep    int          `json:"migration_polls_per_step"`
	DNSServer                string       `json:"dns_server"`
	DKIMCNAMEFormat          string       `json:"dkim_cname_format,omitempty"`
	AutoVerify               bool         `json:"auto_verify"`
	StrictBatchDependencies  bool         `json:"strict_batch_dependencies"`
	RandomSeed               int64        `json:"random_seed"`
	MailboxProvisionDelay    jsonDuration `json:"mailbox_provision_delay"`
	MailboxProvisionJitter   jsonDuration `json:"mailbox_provision_jitter"`
}

// MarshalJSON writes the snake_case form with durations as strings.
func (k Knobs) MarshalJSON() ([]byte, error) {
	return json.Marshal(knobsJSON{
		Latency:                  jsonDuration(k.Latency),
		WriteQuota:               k.WriteQuota,
		WriteWindow:              jsonDuration(k.WriteWindow),
		ThrottleRatio:            k.ThrottleRatio,
		RetryAfter:               k.RetryAfter,
		Fail503Ratio:             k.Fail503Ratio,
		ReadAfterWriteLag:        jsonDuration(k.ReadAfterWriteLag),
		ListLag:                  jsonDuration(k.ListLag),
		FailAfterWrites:          k.FailAfterWrites,
		ExchangeFailAfterWrites:  k.ExchangeFailAfterWrites,
		ExchangeErrorForm:        k.ExchangeErrorForm,
		ExchangeThrottleRatio:    k.ExchangeThrottleRatio,
		ExchangeConcurrencyRatio: k.ExchangeConcurrencyRatio,
		ExchangeRedirect:         k.ExchangeRedirect,
		ExchangePageSize:         k.ExchangePageSize,
		ExchangeLag:              jsonDuration(k.ExchangeLag),
		MigrationPollsPerStep:    k.MigrationPollsPerStep,
		DNSServer:                k.DNSServer,
		DKIMCNAMEFormat:          k.DKIMCNAMEFormat,
		AutoVerify:               k.AutoVerify,
		StrictBatchDependencies:  k.StrictBatchDependencies,
		RandomSeed:               k.RandomSeed,
		MailboxProvisionDelay:    jsonDuration(k.MailboxProvisionDelay),
		MailboxProvisionJitter:   jsonDuration(k.MailboxProvisionJitter),
	})
}

// UnmarshalJSON reads the snake_case form; unknown fields are an error so typos show up.
func (k *Knobs) UnmarshalJSON(b []byte) error {
	var j knobsJSON
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("knobs: %w", err)
	}
	*k = Knobs{
		Latency:                  time.Duration(j.Latency),
		WriteQuota:               j.WriteQuota,
		WriteWindow:              time.Duration(j.WriteWindow),
		ThrottleRatio:            j.ThrottleRatio,
		RetryAfter:               j.RetryAfter,
		Fail503Ratio:             j.Fail503Ratio,
		ReadAfterWriteLag:        time.Duration(j.ReadAfterWriteLag),
		ListLag:                  time.Duration(j.ListLag),
		FailAfterWrites:          j.FailAfterWrites,
		ExchangeFailAfterWrites:  j.ExchangeFailAfterWrites,
		ExchangeErrorForm:        j.ExchangeErrorForm,
		ExchangeThrottleRatio:    j.ExchangeThrottleRatio,
		ExchangeConcurrencyRatio: j.ExchangeConcurrencyRatio,
		ExchangeRedirect:         j.ExchangeRedirect,
		ExchangePageSize:         j.ExchangePageSize,
		ExchangeLag:              time.Duration(j.ExchangeLag),
		MigrationPollsPerStep:    j.MigrationPollsPerStep,
		DNSServer:                j.DNSServer,
		DKIMCNAMEFormat:          j.DKIMCNAMEFormat,
		AutoVerify:               j.AutoVerify,
		StrictBatchDependencies:  j.StrictBatchDependencies,
		RandomSeed:               j.RandomSeed,
		MailboxProvisionDelay:    time.Duration(j.MailboxProvisionDelay),
		MailboxProvisionJitter:   time.Duration(j.MailboxProvisionJitter),
	}
	return nil
}

// mergeKnobs returns base with every non-zero field of over copied on top.
func mergeKnobs(base, over Knobs) Knobs {
	out := base
	if over.Latency != 0 {
		out.Latency = over.Latency
	}
	if over.WriteQuota != 0 {
		out.WriteQuota = over.WriteQuota
	}
	if over.WriteWindow != 0 {
		out.WriteWindow = over.WriteWindow
	}
	if over.ThrottleRatio != 0 {
		out.ThrottleRatio = over.ThrottleRatio
	}
	if over.RetryAfter != 0 {
		out.RetryAfter = over.RetryAfter
	}
	if over.Fail503Ratio != 0 {
		out.Fail503Ratio = over.Fail503Ratio
	}
	if over.ReadAfterWriteLag != 0 {
		out.ReadAfterWriteLag = over.ReadAfterWriteLag
	}
	if over.ListLag != 0 {
		out.ListLag = over.ListLag
	}
	if over.FailAfterWrites != 0 {
		out.FailAfterWrites = over.FailAfterWrites
	}
	if over.ExchangeFailAfterWrites != 0 {
		out.ExchangeFailAfterWrites = over.ExchangeFailAfterWrites
	}
	if over.ExchangeErrorForm != "" {
		out.ExchangeErrorForm = over.ExchangeErrorForm
	}
	if over.ExchangeThrottleRatio != 0 {
		out.ExchangeThrottleRatio = over.ExchangeThrottleRatio
	}
	if over.ExchangeConcurrencyRatio != 0 {
		out.ExchangeConcurrencyRatio = over.ExchangeConcurrencyRatio
	}
	if over.ExchangeRedirect {
		out.ExchangeRedirect = true
	}
	if over.ExchangePageSize != 0 {
		out.ExchangePageSize = over.ExchangePageSize
	}
	if over.ExchangeLag != 0 {
		out.ExchangeLag = over.ExchangeLag
	}
	if over.MigrationPollsPerStep != 0 {
		out.MigrationPollsPerStep = over.MigrationPollsPerStep
	}
	if over.DNSServer != "" {
		out.DNSServer = over.DNSServer
	}
	if over.DKIMCNAMEFormat != "" {
		out.DKIMCNAMEFormat = over.DKIMCNAMEFormat
	}
	if over.AutoVerify {
		out.AutoVerify = true
	}
	if over.StrictBatchDependencies {
		out.StrictBatchDependencies = true
	}
	if over.RandomSeed != 0 {
		out.RandomSeed = over.RandomSeed
	}
	if over.MailboxProvisionDelay != 0 {
		out.MailboxProvisionDelay = over.MailboxProvisionDelay
	}
	if over.MailboxProvisionJitter != 0 {
		out.MailboxProvisionJitter = over.MailboxProvisionJitter
	}
	return out
}

// Timing profiles accepted by Seed.Timing and cmd/fakecloud -timing.
const (
	// TimingInstant is the default: every knob at its zero value, a tenant without delays.
	TimingInstant = "instant"
	// TimingRealistic is RealisticTiming.
	TimingRealistic = "realistic"
)

// RealisticTiming is a real tenant's clock scaled down to seconds, so that a test meets every
// delay a real apply meets (mailboxes that appear after licensing, objects that 404 right after
// their creation, batches that take several polls per step) without waiting hours. Each field
// gives the real figure and the scaled one; fields not set stay instant.
//
// It is not the default of Knobs{} nor of cmd/fakecloud; the provider's acceptance tests (newTestEnv)
// and the demo select it. Select it with Seed.Timing = "realistic", `fakecloud -timing realistic`,
// or Options.Knobs = RealisticTiming().
func RealisticTiming() Knobs {
	return Knobs{
		// Real: Exchange Online creates the mailbox "typically" within 30 minutes of licensing, up
		// to 24 hours (https://learn.microsoft.com/exchange/troubleshoot/user-and-shared-mailboxes/delays-provision-mailbox-sync-changes).
		// Scaled: 2 s, plus up to 2 s per user (a 30-minute spread becomes 2 s).
		MailboxProvisionDelay:  2 * time.Second,
		MailboxProvisionJitter: 2 * time.Second,
		// Real: a Graph object read right after its creation may answer 404 for a few seconds
		// (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/).
		// Scaled: 1 s, the same order of magnitude.
		ReadAfterWriteLag: time.Second,
		// Real: objects made by Exchange New-* cmdlets (migration endpoints and batches) can
		// answer not-found for seconds to minutes while the directory replicates. Scaled: 1 s.
		ExchangeLag: time.Second,
		// Real: advanced queries (ConsistencyLevel: eventual, e.g. endsWith on
		// userPrincipalName) read an index that lags behind writes; Microsoft gives no figure
		// ("eventual", https://learn.microsoft.com/graph/aad-advanced-queries). Scaled: 3 s, longer
		// than a plan that follows an apply at once.
		ListLag: 3 * time.Second,
		// Real: a batch spends minutes in Starting and Stopping/Completing/Removing and hours in
		// Syncing (initial sync; incremental syncs every 24 hours,
		// https://learn.microsoft.com/exchange/mailbox-migration/manage-migration-batches).
		// Scaled: 3 Get-MigrationBatch polls per transitional status, so a client must keep polling.
		MigrationPollsPerStep: 3,
	}
}

// TimingKnobs returns the knobs of a timing profile ("" is TimingInstant); an unknown name is an error.
func TimingKnobs(profile string) (Knobs, error) {
	switch strings.ToLower(strings.TrimSpace(profile)) {
	case "", TimingInstant:
		return Knobs{}, nil
	case TimingRealistic:
		return RealisticTiming(), nil
	}
	return Knobs{}, fmt.Errorf("timing %q is not %q or %q", profile, TimingInstant, TimingRealistic)
}
