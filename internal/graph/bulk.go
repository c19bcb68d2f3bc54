package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

// BulkOp is one user operation of Bulk: a create (with its licences), an update (with licence
// changes), a delete, or licence changes alone.
type BulkOp struct {
	// Key is the caller's key, e.g. the UPN; it is copied to the result.
	Key string
	// Create creates a user; AssignAdd/AssignRemove then go in the same $batch, addressed by UPN
	// and depending on the create.
	Create *NewUser
	// Update patches the user UpdateID; licence changes follow it (addressed by UpdateID).
	Update   *UserChanges
	UpdateID string
	// Delete is the id of a user to delete (soft delete). A user that is already gone counts as
	// deleted.
	Delete string
	// AssignAdd and AssignRemove (SKU ids) change licences; AssignTo (id or UPN) names the user
	// when the op neither creates nor updates.
	AssignAdd    []AssignedLicense
	AssignRemove []string
	AssignTo     string
}

// BulkResult is the outcome of one BulkOp, in the order of the ops.
type BulkResult struct {
	Key string
	// User is the created user, set after a successful create even when a later step (the
	// licence) failed; its AssignedLicenses reflect a successful licence step.
	User *User
	// Err is nil on success, else an *Error with Graph's code and message.
	Err error
	// Attempts is how many $batch requests carried this op.
	Attempts int
}

// BulkStats counts what Bulk sent.
type BulkStats struct {
	// Requests is the number of $batch POSTs; SubRequests the requests inside them.
	Requests, SubRequests int
	// Throttled counts 429 answers (sub-requests and $batch POSTs); Retried counts sub-requests
	// sent again.
	Throttled, Retried int
	// MaxConcurrency is the largest number of $batch requests in flight at once.
	MaxConcurrency int
}

// BulkOptions tune Bulk.
type BulkOptions struct {
	// Concurrency is the starting number of $batch requests in flight (default 4, max 16). It
	// adapts: halved on a 429, one more after a clean batch.
	Concurrency int
	// OnProgress is called after each op finishes (from one goroutine at a time).
	OnProgress func(done, total int)
	// WriteQuota and WriteWindow describe the tenant's write quota (Entra: 3,000 writes per 150 s
	// per app and tenant, https://learn.microsoft.com/graph/throttling-limits). When both are set, write sub-requests are
	// paced by a token bucket just under the quota, so the service rarely has to throttle.
	WriteQuota  int
	WriteWindow time.Duration
}

// Bulk limits and pacing.
const (
	maxBatchSize       = 20 // Graph's $batch limit (https://learn.microsoft.com/graph/json-batching)
	defaultConcurrency = 4
	maxConcurrency     = 16
	quotaShare         = 0.97 // share of the write quota the token bucket aims at
	maxServerAttempts  = 5    // sends of one sub-request answered 5xx before giving up
	maxThrottleRetries = 50   // sends answered 429 before giving up (the context bounds it too)
	maxLagRetries      = 12   // 404s of a just-created user before giving up (~45 s)
	firstBackoff       = 250 * time.Millisecond
	maxBackoff         = 5 * time.Second
	slowDownPercentage = 0.95 // x-ms-throttle-limit-percentage at which the client backs off
	holdPercentage     = 0.8  // x-ms-throttle-limit-percentage above which concurrency stops growing
)

func init() {
	// Map a failed $batch POST to Graph's error type, like every other request (the SDK
	// registers nothing for it). An error means someone registered it already: fine.
	_ = msgraphcore.RegisterError(msgraphcore.BatchRequestErrorRegistryKey, errorMappings)
}

type stepKind int

const (
	stepCreate stepKind = iota
	stepPatch
	stepDelete
	stepAssign
)

// bulkStep is one sub-request of an op that has not succeeded yet.
type bulkStep struct {
	kind stepKind
	body map[string]any
	sent int
}

// bulkOp is the state of one op during Bulk.
type bulkOp struct {
	idx       int
	op        BulkOp
	steps     []*bulkStep
	target    string    // id or UPN the patch/assign/delete address
	userID    string    // known id (after create, or UpdateID)
	recent    bool      // created by this run or recently by this client: a 404 is lag
	createdAt time.Time // when this run saw the create succeed
	user      *User
	notBefore time.Time
	busy      bool
	done      bool
	err       error
	attempts  int
	n5xx      int
	n429      int
	n404      int
}

// sentStep ties a batch item to its op and step.
type sentStep struct {
	op   *bulkOp
	step *bulkStep
	id   string
}

// batchOutcome is one $batch POST: what was sent and what came back.
type batchOutcome struct {
	br       msgraphcore.BatchRequest
	steps    []sentStep
	ops      []*bulkOp
	launched time.Time
	taken    int  // tokens taken from the write bucket for this batch
	probe    bool // carries steps deferred after their create while lagDelay is unconfirmed
	resp     msgraphcore.BatchResponse
	err      error

	mu      sync.Mutex
	retried []int // statuses of $batch POST attempts the transport retried (429/503/504)
}

// bulkRun is one call of Bulk. Only the dispatcher goroutine touches it; batches run in their
// own goroutines and report through a channel.
type bulkRun struct {
	c      *Client
	opts   BulkOptions
	ops    []*bulkOp
	stats  BulkStats
	limit  int
	flying int
	done   int

	pauseUntil   time.Time
	lastDecrease time.Time
	bucket       *tokenBucket
	serial       bool
	// lagDelay is 0 until a licence (or patch) sent with or after its create met read-after-write
	// lag; from then on creates go alone and what follows a create waits lagDelay after it
	// succeeded, so that it is not sent (and counted as a write) only to answer 404.
	lagDelay time.Duration
	// lagConfirmed is set when a step sent lagDelay after its create succeeded; until then (and
	// again after such a step meets lag) one batch carrying such steps is in flight at a time
	// (probing), so that a too short lagDelay costs one batch of 404s, not every batch in flight.
	lagConfirmed, probing bool
	// warm is set once a batch has come back: until then one batch at a time, because the
	// first request also fetches the token and opens the connection, and batches queued behind
	// it would reach the service in one burst (more than the write bucket meant to let through).
	warm bool
}

// Bulk runs many user operations through Graph $batch (≤20 sub-requests per POST) built with
// msgraph-sdk-go-core's BatchRequest, several batches in flight. Concurrency adapts (AIMD):
// halved on any 429 and the batch's longest Retry-After is waited before only the throttled,
// failed (5xx) or not-run (424) sub-requests are sent again; one more after a clean batch, but not
// while x-ms-throttle-limit-percentage is above 0.8 (at 0.95 or more, one less unless a write
// quota is given). With BulkOptions.WriteQuota every write sub-request (create, patch, licence,
// delete; retries included) is paced by a token bucket just under the quota (see tokenBucket),
// so the service rarely has to throttle; AIMD and Retry-After stay the safety net. The first
// batch goes alone (it fetches the token). Sub-requests the service did not carry out (answered
// 429, 503 or 424, or in a $batch POST refused as a whole) give their write tokens back. A create
// and its licence go in the same batch, the licence depending on the create and addressing the
// user by UPN; a 404 on a just-created user (read-after-write lag) is retried with backoff, and
// once the run has seen one, creates go alone and each licence follows its create after the lag
// observed so far (from 250 ms, doubling, at most 5 s), so that lag costs a few wasted writes
// instead of one or more per user. Nothing sleeps a fixed time; ctx bounds everything: ops not
// finished when it ends report its error.
//
// Dependencies inside a batch: Graph may accept only fully parallel or fully sequential batches
// (a Microsoft Q&A answer and the SDKs' "request dependencies are limited" note; whether it still
// does is UNCONFIRMED). Bulk first sends each licence depending on its own create; if Graph
// rejects that with 400 it switches, for the rest of this client's life, to one sequential chain
// per batch: all first steps, then all licence steps.
func (c *Client) Bulk(ctx context.Context, ops []BulkOp, opts BulkOptions) ([]BulkResult, BulkStats) {
	r := &bulkRun{c: c, opts: opts}
	r.limit = opts.Concurrency
	if r.limit <= 0 {
		r.limit = defaultConcurrency
	}
	r.limit = min(r.limit, maxConcurrency)
	if opts.WriteQuota > 0 && opts.WriteWindow > 0 {
		r.bucket = c.bucketFor(opts.WriteQuota, opts.WriteWindow)
	}
	r.serial = c.memory().serialBatches()

	results := make([]BulkResult, len(ops))
	for i, op := range ops {
		bo, err := c.prepareOp(i, op)
		results[i].Key = op.Key
		r.ops = append(r.ops, bo)
		if err != nil {
			bo.err = err
		}
		if err != nil || len(bo.steps) == 0 {
			r.finish(bo)
		}
	}
	r.loop(ctx)
	for i, bo := range r.ops {
		if !bo.done {
			bo.err = stoppedError(bo, ctx.Err())
			bo.done = true
		}
		results[i].User = bo.user
		results[i].Err = bo.err
		results[i].Attempts = bo.attempts
	}
	return results, r.stats
}

// stoppedError is the error of an op the context ended.
func stoppedError(bo *bulkOp, cause error) error {
	if cause == nil {
		cause = errors.New("stopped")
	}
	kind := stepCreate
	if len(bo.steps) > 0 {
		kind = bo.steps[0].kind
	}
	return &Error{Op: bo.describe(kind), Message: "not finished: " + cause.Error(), err: cause}
}

// prepareOp checks an op and lists its steps.
func (c *Client) prepareOp(i int, op BulkOp) (*bulkOp, error) {
	bo := &bulkOp{idx: i, op: op}
	kinds := 0
	if op.Create != nil {
		kinds++
	}
	if op.Update != nil || op.UpdateID != "" {
		kinds++
	}
	if op.Delete != "" {
		kinds++
	}
	assign := len(op.AssignAdd) > 0 || len(op.AssignRemove) > 0
	invalid := func(msg string) (*bulkOp, error) {
		return bo, &Error{Op: "bulk operation " + strconv.Quote(op.Key), Message: msg}
	}
	switch {
	case kinds > 1:
		return invalid("an operation creates, updates or deletes a user, not several of these")
	case op.Delete != "" && assign:
		return invalid("a deleted user gets no licence changes")
	case op.Create != nil:
		if op.Create.UPN() == "" {
			return invalid("a user to create needs a userPrincipalName")
		}
		bo.target = op.Create.UPN()
		bo.steps = append(bo.steps, &bulkStep{kind: stepCreate, body: createBody(*op.Create)})
	case op.Update != nil || op.UpdateID != "":
		if op.UpdateID == "" {
			return invalid("an update needs UpdateID")
		}
		bo.target, bo.userID = op.UpdateID, op.UpdateID
		if op.Update != nil && !op.Update.IsEmpty() {
			body, err := patchBody(*op.Update)
			if err != nil {
				return invalid(err.Error())
			}
			bo.steps = append(bo.steps, &bulkStep{kind: stepPatch, body: body})
		}
	case op.Delete != "":
		bo.target, bo.userID = op.Delete, op.Delete
		bo.steps = append(bo.steps, &bulkStep{kind: stepDelete})
	case assign:
		if op.AssignTo == "" {
			return invalid("licence changes need AssignTo (an id or UPN)")
		}
		bo.target = op.AssignTo
	}
	if assign {
		bo.steps = append(bo.steps, &bulkStep{kind: stepAssign, body: assignBody(op.AssignAdd, op.AssignRemove)})
	}
	bo.recent = op.Create == nil && c.createdRecently(bo.target)
	return bo, nil
}

// describe names what a step does, for error messages.
func (bo *bulkOp) describe(k stepKind) string {
	switch k {
	case stepCreate:
		return "create user " + bo.target
	case stepPatch:
		return "update user " + bo.target
	case stepDelete:
		return "delete user " + bo.target
	default:
		name := bo.target
		if bo.op.Create != nil {
			name = bo.op.Create.UPN()
		}
		return "assign licences to " + name
	}
}

func (r *bulkRun) finish(bo *bulkOp) {
	bo.done = true
	r.done++
	if r.opts.OnProgress != nil {
		r.opts.OnProgress(r.done, len(r.ops))
	}
}

// loop dispatches batches until every op is done or ctx ends and nothing is in flight.
func (r *bulkRun) loop(ctx context.Context) {
	results := make(chan *batchOutcome)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if r.done == len(r.ops) && r.flying == 0 {
			return
		}
		if ctx.Err() != nil && r.flying == 0 {
			return
		}
		var wake time.Time
		if ctx.Err() == nil {
			wake = r.dispatch(ctx, results)
		}
		if r.done == len(r.ops) && r.flying == 0 {
			return
		}
		wait := time.Hour
		if !wake.IsZero() {
			wait = max(time.Until(wake), time.Millisecond)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case out := <-results:
			r.flying--
			r.handle(out)
		case <-timer.C:
		case <-ctx.Done():
			if r.flying == 0 {
				return
			}
			out := <-results
			r.flying--
			r.handle(out)
		}
	}
}

// dispatch launches as many batches as concurrency, pauses and the write bucket allow. It returns
// when the dispatcher should look again if nothing completes before (zero: only on completion).
func (r *bulkRun) dispatch(ctx context.Context, results chan<- *batchOutcome) time.Time {
	for r.flying < r.limit && (r.warm || r.flying == 0) {
		now := time.Now()
		if now.Before(r.pauseUntil) {
			return r.pauseUntil
		}
		ready, next := r.readyOps(now)
		if len(ready) == 0 {
			return next
		}
		capacity := maxBatchSize
		if r.bucket != nil {
			// Wait until the bucket holds as many writes as a full batch of the ready ops
			// would take, then send that batch.
			_, want := r.fitOps(ready, min(maxBatchSize, r.bucket.size()))
			if avail := r.bucket.available(now); avail < want {
				return now.Add(r.bucket.waitFor(want, now))
			} else {
				capacity = min(avail, maxBatchSize)
			}
		}
		chosen, n := r.fitOps(ready, capacity)
		if len(chosen) == 0 {
			return now.Add(10 * time.Millisecond)
		}
		out, err := r.build(chosen)
		if err != nil {
			// A request that cannot be built fails its ops for good.
			for _, bo := range chosen {
				bo.err = &Error{Op: bo.describe(bo.steps[0].kind), Message: err.Error(), err: err}
				r.finish(bo)
			}
			continue
		}
		if r.bucket != nil {
			r.bucket.take(n, now)
			out.taken = n
		}
		r.flying++
		r.stats.MaxConcurrency = max(r.stats.MaxConcurrency, r.flying)
		r.stats.Requests++
		go r.send(ctx, out, results)
	}
	return time.Time{}
}

// sendable lists the steps of bo its next batch carries: all of them, except that once the run
// has seen read-after-write lag a create goes alone and the steps after it follow later.
func (r *bulkRun) sendable(bo *bulkOp) []*bulkStep {
	if r.lagDelay > 0 && len(bo.steps) > 1 && bo.steps[0].kind == stepCreate {
		return bo.steps[:1]
	}
	return bo.steps
}

// deferred reports an op whose create succeeded in this run and whose next steps are still to do.
func (bo *bulkOp) deferred() bool {
	return !bo.createdAt.IsZero() && len(bo.steps) > 0 && bo.steps[0].kind != stepCreate
}

// notBefore is when bo may go next: its own notBefore, and for the steps after a create no
// earlier than lagDelay after the create, with the lag as known now (it may have grown since the
// op was scheduled).
func (r *bulkRun) notBefore(bo *bulkOp) time.Time {
	if r.lagDelay > 0 && !bo.createdAt.IsZero() {
		return maxTime(bo.notBefore, bo.createdAt.Add(r.lagDelay))
	}
	return bo.notBefore
}

// fitOps picks ops, in order, whose sendable steps fit in capacity sub-requests.
func (r *bulkRun) fitOps(ready []*bulkOp, capacity int) ([]*bulkOp, int) {
	var chosen []*bulkOp
	n := 0
	for _, bo := range ready {
		k := len(r.sendable(bo))
		if n+k > capacity {
			continue
		}
		chosen = append(chosen, bo)
		n += k
		if n == capacity {
			break
		}
	}
	return chosen, n
}

// readyOps lists the ops that may go now (in op order, enough for two batches) and, if none
// may, when the first one may.
func (r *bulkRun) readyOps(now time.Time) ([]*bulkOp, time.Time) {
	var ready []*bulkOp
	steps := 0
	var next time.Time
	for _, bo := range r.ops {
		if bo.done || bo.busy {
			continue
		}
		if r.probing && !r.lagConfirmed && bo.deferred() {
			continue // the probe's answer wakes the loop
		}
		if nb := r.notBefore(bo); nb.After(now) {
			if next.IsZero() || nb.Before(next) {
				next = nb
			}
			continue
		}
		ready = append(ready, bo)
		steps += len(r.sendable(bo))
		if steps >= maxBatchSize*2 {
			break
		}
	}
	return ready, next
}

// build turns ops into one BatchRequest.
func (r *bulkRun) build(chosen []*bulkOp) (*batchOutcome, error) {
	br := msgraphcore.NewBatchRequest(r.c.adapter)
	out := &batchOutcome{br: br, ops: chosen, launched: time.Now()}
	type pending struct {
		bo   *bulkOp
		step *bulkStep
	}
	var order []pending
	// Dependencies are only needed when an op sends two steps; a batch of single steps is fully
	// parallel, which Graph accepts in any case, and one failure does not fail the rest.
	chain := false
	for _, bo := range chosen {
		chain = chain || (r.serial && len(r.sendable(bo)) > 1)
	}
	if chain {
		// One chain: every first step, then every second step.
		for _, bo := range chosen {
			order = append(order, pending{bo: bo, step: r.sendable(bo)[0]})
		}
		for _, bo := range chosen {
			if steps := r.sendable(bo); len(steps) > 1 {
				order = append(order, pending{bo: bo, step: steps[1]})
			}
		}
	} else {
		for _, bo := range chosen {
			for _, st := range r.sendable(bo) {
				order = append(order, pending{bo: bo, step: st})
			}
		}
	}
	firstItem := map[*bulkOp]msgraphcore.BatchItem{}
	var prev msgraphcore.BatchItem
	for _, p := range order {
		ri, err := r.request(p.bo, p.step)
		if err != nil {
			return nil, err
		}
		item, err := br.AddBatchRequestStep(*ri)
		if err != nil {
			return nil, err
		}
		// One dependency per request (SetDependsOn, not DependsOnItem, which lists the whole
		// chain).
		switch {
		case chain && prev != nil:
			item.SetDependsOn([]string{*prev.GetId()})
		case !chain && firstItem[p.bo] != nil:
			item.SetDependsOn([]string{*firstItem[p.bo].GetId()})
		}
		if firstItem[p.bo] == nil {
			firstItem[p.bo] = item
		}
		prev = item
		out.steps = append(out.steps, sentStep{op: p.bo, step: p.step, id: *item.GetId()})
	}
	for _, st := range out.steps {
		if st.step.sent > 0 {
			r.stats.Retried++
		}
		st.step.sent++
		r.stats.SubRequests++
	}
	for _, bo := range chosen {
		bo.busy = true
		bo.attempts++
		if r.lagDelay > 0 && !r.lagConfirmed && bo.deferred() {
			out.probe, r.probing = true, true
		}
	}
	return out, nil
}

// request builds the sub-request of one step. Until the create has succeeded the user is
// addressed by UPN (the licence of a create in the same batch), afterwards by id.
func (r *bulkRun) request(bo *bulkOp, st *bulkStep) (*abstractions.RequestInformation, error) {
	target := bo.target
	if bo.userID != "" {
		target = bo.userID
	}
	switch st.kind {
	case stepCreate:
		return r.c.newRequest(abstractions.POST, "/users", nil, st.body)
	case stepPatch:
		return r.c.newRequest(abstractions.PATCH, userPath(target), nil, st.body)
	case stepDelete:
		return r.c.newRequest(abstractions.DELETE, userPath(target), nil, nil)
	default:
		return r.c.newRequest(abstractions.POST, userPath(target)+"/assignLicense", nil, st.body)
	}
}

// send POSTs one batch and reports it. 429s of the POST itself that the transport retried are
// recorded through the retry observer.
func (r *bulkRun) send(ctx context.Context, out *batchOutcome, results chan<- *batchOutcome) {
	ctx = withRetryObserver(ctx, func(status int, _ time.Duration) {
		out.mu.Lock()
		out.retried = append(out.retried, status)
		out.mu.Unlock()
	})
	out.resp, out.err = sendBatch(ctx, r.c, out.br)
	results <- out
}

// stepResult classifies the answer of one sub-request.
type stepResult int

const (
	resOK       stepResult = iota
	resNotRun              // 424: a request it depends on failed; send it again
	resThrottle            // 429
	resServer              // 5xx or no answer
	resLag                 // 404 on a user just created: read-after-write lag
	resFatal
)

// handle applies the answers of one batch to its ops and adapts the concurrency.
func (r *bulkRun) handle(out *batchOutcome) {
	now := time.Now()
	r.warm = true
	if out.probe {
		r.probing = false
	}
	for _, bo := range out.ops {
		bo.busy = false
	}
	out.mu.Lock()
	throttled := 0
	for _, st := range out.retried {
		if st == http.StatusTooManyRequests {
			throttled++
		}
	}
	out.mu.Unlock()

	var longest, longest429 time.Duration
	serverTrouble := false
	pct := 0.0
	type answer struct {
		status  int
		body    []byte
		wait    time.Duration // Retry-After, -1 when absent
		outcome stepResult
	}
	answers := make(map[*bulkStep]answer, len(out.steps))

	if out.err != nil {
		if errors.Is(out.err, context.Canceled) || errors.Is(out.err, context.DeadlineExceeded) {
			return // the ops stay pending; the loop ends them
		}
		status, wait, code, msg := outerStatus(out.err)
		if (status >= 400 && status < 500) || status == http.StatusServiceUnavailable {
			r.refund(out.taken) // the service refused the batch as a whole: none of it ran
		}
		if status == http.StatusBadRequest && !r.serial && dependencyPatternRejected(msg) {
			r.serial = true
			r.c.memory().setSerialBatches()
			return // sent again as one chain, at once
		}
		res := resServer // no answer, or 5xx after the transport's own retries
		switch {
		case status == http.StatusTooManyRequests:
			res = resThrottle
			throttled++
		case status >= 400 && status < 500:
			res = resFatal // the service refused the batch as such: sending it again changes nothing
		}
		if code == "" {
			code = "BatchFailed"
		}
		body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": "the $batch request failed: " + msg}})
		for _, st := range out.steps {
			answers[st.step] = answer{status: status, body: body, wait: wait, outcome: res}
		}
	} else {
		for _, st := range out.steps {
			a := answer{wait: -1}
			item := out.resp.GetResponseById(st.id)
			if item == nil || item.GetStatus() == nil {
				a.status, a.outcome = http.StatusBadGateway, resServer
				a.body = []byte(`{"error":{"code":"NoResponse","message":"the $batch answer has no response for this request"}}`)
				answers[st.step] = a
				continue
			}
			a.status = int(*item.GetStatus())
			hdr := http.Header{}
			for k, v := range item.GetHeaders() {
				hdr.Set(k, v)
			}
			a.wait = httpx.RetryAfter(hdr, now)
			if v := hdr.Get("x-ms-throttle-limit-percentage"); v != "" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					pct = math.Max(pct, f)
				}
			}
			if b := item.GetBody(); b != nil {
				a.body, _ = json.Marshal(b)
			}
			a.outcome = classify(st.op, st.step, a.status)
			answers[st.step] = a
			if notCarriedOut(a.status) {
				r.refund(1)
			}
		}
	}

	// Waits: every throttled, failed or not-run sub-request waits for the batch's longest
	// Retry-After (or backoff); lag has its own backoff.
	for _, st := range out.steps {
		a := answers[st.step]
		switch a.outcome {
		case resThrottle:
			st.op.n429++
			if a.status == http.StatusTooManyRequests && out.err == nil {
				throttled++
			}
			w := a.wait
			if w < 0 {
				w = backoffFor(time.Second, st.op.n429)
			}
			longest, longest429 = max(longest, w), max(longest429, w)
		case resServer:
			serverTrouble = true
			st.op.n5xx++
			w := a.wait
			if w < 0 {
				w = backoffFor(firstBackoff, st.op.n5xx)
			}
			longest = max(longest, w)
		}
	}

	byOp := map[*bulkOp][]sentStep{}
	for _, st := range out.steps {
		byOp[st.op] = append(byOp[st.op], st)
	}
	for _, bo := range out.ops {
		var fatal error
		var lagWait time.Duration
		retry := false
		for _, st := range byOp[bo] {
			a := answers[st.step]
			switch a.outcome {
			case resOK:
				if st.step.kind != stepCreate && r.lagDelay > 0 && !bo.createdAt.IsZero() && bo.createdAt.Before(out.launched) {
					r.lagConfirmed = true // sent after waiting lagDelay, and it worked
				}
				if err := r.succeeded(bo, st.step, a.body); err != nil {
					fatal = err
				}
			case resLag:
				bo.n404++
				if bo.n404 > maxLagRetries {
					fatal = errorFromBody(bo.describe(st.step.kind), a.status, a.body, 0)
					break
				}
				r.learnLag(bo, out.launched)
				lagWait = max(lagWait, backoffFor(firstBackoff, bo.n404))
				if !bo.createdAt.IsZero() {
					lagWait = max(lagWait, bo.createdAt.Add(r.lagDelay).Sub(now))
				}
				retry = true
			case resThrottle:
				if bo.n429 > maxThrottleRetries {
					fatal = errorFromBody(bo.describe(st.step.kind), a.status, a.body, a.wait)
				}
				retry = true
			case resServer:
				if bo.n5xx >= maxServerAttempts {
					fatal = errorFromBody(bo.describe(st.step.kind), a.status, a.body, a.wait)
				}
				retry = true
			case resNotRun:
				retry = true
			case resFatal:
				fatal = errorFromBody(bo.describe(st.step.kind), a.status, a.body, 0)
			}
			if fatal != nil {
				break
			}
		}
		switch {
		case fatal != nil:
			bo.err = fatal
			r.finish(bo)
		case len(bo.steps) == 0:
			r.finish(bo)
		case retry:
			wait := lagWait
			for _, st := range byOp[bo] {
				if o := answers[st.step].outcome; o == resThrottle || o == resServer || o == resNotRun {
					wait = max(wait, longest)
				}
			}
			bo.notBefore = now.Add(wait)
		case !bo.createdAt.IsZero() && r.lagDelay > 0:
			// The create went alone: what follows it waits for the lag seen so far.
			bo.notBefore = bo.createdAt.Add(r.lagDelay)
		}
	}

	// AIMD.
	r.stats.Throttled += throttled
	switch {
	case throttled > 0:
		if out.launched.After(r.lastDecrease) {
			r.limit = max(1, r.limit/2)
			r.lastDecrease = now
		}
		r.pauseUntil = maxTime(r.pauseUntil, now.Add(longest429))
	case serverTrouble:
		// hold
	case pct >= slowDownPercentage:
		if r.bucket == nil && r.limit > 1 {
			r.limit--
		}
	case pct > holdPercentage:
		// hold
	default:
		r.limit = min(r.limit+1, maxConcurrency)
	}
}

// classify maps the status of a sub-request to what Bulk does next.
func classify(bo *bulkOp, st *bulkStep, status int) stepResult {
	switch {
	case status >= 200 && status < 300:
		return resOK
	case status == http.StatusFailedDependency:
		return resNotRun
	case status == http.StatusTooManyRequests:
		return resThrottle
	case status >= 500:
		return resServer
	case status == http.StatusNotFound && st.kind == stepDelete:
		return resOK // already gone
	case status == http.StatusNotFound && (bo.recent || bo.op.Create != nil) && (st.kind == stepAssign || st.kind == stepPatch):
		// The user was created by this run (a licence after a failed create gets 424, not
		// 404) or recently by this client.
		return resLag
	}
	return resFatal
}

// succeeded records a successful step and removes it from the op.
func (r *bulkRun) succeeded(bo *bulkOp, st *bulkStep, body []byte) error {
	for i, s := range bo.steps {
		if s == st {
			bo.steps = append(bo.steps[:i:i], bo.steps[i+1:]...)
			break
		}
	}
	switch st.kind {
	case stepCreate:
		u, err := r.c.createdUser(bo.describe(stepCreate), *bo.op.Create, body)
		if err != nil {
			return err
		}
		bo.user, bo.userID, bo.recent, bo.createdAt = u, u.ID, true, time.Now()
	case stepDelete:
		r.c.forgetCreated(bo.target)
	case stepAssign:
		if bo.user != nil {
			bo.user.AssignedLicenses = applyLicences(bo.user.AssignedLicenses, bo.op.AssignAdd, bo.op.AssignRemove)
		}
	}
	return nil
}

// notCarriedOut reports a sub-request answer that means the service did not carry the write out:
// 424 (a request it depends on failed, so it never ran), 429 and 503 (refused before any work).
// Whether Entra counts refused writes against its write quota is UNCONFIRMED (the fake does
// not); if it does, it answers 429 WriteLimitExceeded with Retry-After, which Bulk honours, so
// giving the token back costs at worst one throttled round.
func notCarriedOut(status int) bool {
	return status == http.StatusFailedDependency || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// refund gives n write tokens back to the bucket, if there is one.
func (r *bulkRun) refund(n int) {
	if r.bucket != nil && n > 0 {
		r.bucket.give(n, time.Now())
	}
}

// learnLag records that a step sent after (or with) the create of bo met read-after-write lag:
// lagDelay becomes at least twice the age the user had when the batch left (250 ms when the
// create was in the same batch), at most maxBackoff.
func (r *bulkRun) learnLag(bo *bulkOp, launched time.Time) {
	if bo.op.Create == nil || bo.createdAt.IsZero() {
		return
	}
	age := max(launched.Sub(bo.createdAt), 0)
	r.lagDelay = min(max(r.lagDelay, 2*age, firstBackoff), maxBackoff)
	r.lagConfirmed = false
}

// applyLicences is have + add - remove (by SKU id, case-insensitive).
func applyLicences(have, add []AssignedLicense, remove []string) []AssignedLicense {
	var out []AssignedLicense
	drop := func(sku string) bool {
		for _, r := range remove {
			if strings.EqualFold(r, sku) {
				return true
			}
		}
		for _, a := range add {
			if strings.EqualFold(a.SkuID, sku) {
				return true
			}
		}
		return false
	}
	for _, l := range have {
		if !drop(l.SkuID) {
			out = append(out, l)
		}
	}
	for _, a := range add {
		out = append(out, AssignedLicense{SkuID: strings.ToLower(a.SkuID), DisabledPlans: append([]string(nil), a.DisabledPlans...)})
	}
	return out
}

// outerStatus reads status, Retry-After, code and message of a failed $batch POST.
func outerStatus(err error) (int, time.Duration, string, string) {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		code, msg := "", ""
		if me := oe.GetErrorEscaped(); me != nil {
			code, msg = deref(me.GetCode()), deref(me.GetMessage())
		}
		return oe.ResponseStatusCode, headerRetryAfter(oe.ResponseHeaders), code, msg
	}
	var ae *abstractions.ApiError
	if errors.As(err, &ae) {
		return ae.ResponseStatusCode, headerRetryAfter(ae.ResponseHeaders), "", ae.Error()
	}
	return 0, -1, "", err.Error()
}

func headerRetryAfter(h *abstractions.ResponseHeaders) time.Duration {
	if h == nil {
		return -1
	}
	v := h.Get("Retry-After")
	if len(v) == 0 {
		return -1
	}
	hdr := http.Header{}
	hdr.Set("Retry-After", v[0])
	return httpx.RetryAfter(hdr, time.Now())
}

// dependencyPatternRejected recognises Graph's refusal of a batch whose dependsOn pattern is
// neither parallel nor sequential ("Batch should be either fully sequential or fully parallel",
// wording UNCONFIRMED).
func dependencyPatternRejected(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "sequential") || strings.Contains(m, "parallel")
}

// backoffFor is base·2^(n-1), capped at maxBackoff.
func backoffFor(base time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	return min(base<<min(n-1, 10), maxBackoff)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// tokenBucket paces write sub-requests under a write quota of Q writes per sliding window W:
// capacity B = 3 % of Q (at least 2, the quota's headroom) and a refill rate of (Q−B)/(W+J), so
// that no interval of W+J holds more than Q writes sent from here. J (2 % of W, at least 50 ms)
// absorbs the varying delay between sending a write and the service counting it, which would
// otherwise let the service's window see a few writes more than ours.
type tokenBucket struct {
	mu       sync.Mutex
	rate     float64 // tokens per second
	capacity float64
	tokens   float64
	last     time.Time
}

func newTokenBucket(quota int, window time.Duration) *tokenBucket {
	q := float64(quota)
	burst := math.Max(2, math.Floor(q*(1-quotaShare)))
	burst = math.Min(burst, math.Max(1, math.Floor(q/2)))
	jitter := max(window/50, 50*time.Millisecond)
	return &tokenBucket{rate: (q - burst) / (window + jitter).Seconds(), capacity: burst, tokens: burst, last: time.Now()}
}

func (b *tokenBucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = math.Min(b.capacity, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// size is the largest number of writes one batch may take.
func (b *tokenBucket) size() int {
	return int(b.capacity)
}

// available is the number of whole tokens now.
func (b *tokenBucket) available(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	return int(b.tokens + 1e-6) // float rounding must not cost a whole token
}

// waitFor is how long until n tokens are available.
func (b *tokenBucket) waitFor(n int, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	missing := float64(n) - b.tokens
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / b.rate * float64(time.Second))
}

// give returns n tokens taken for writes the service did not carry out (never above capacity).
func (b *tokenBucket) give(n int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.tokens = math.Min(b.capacity, b.tokens+float64(n))
}

// take uses n tokens.
func (b *tokenBucket) take(n int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.tokens -= float64(n)
}

// bucketFor returns this client's bucket for a quota, shared by every Bulk call on the client so
// that back-to-back calls stay under the quota together.
func (c *Client) bucketFor(quota int, window time.Duration) *tokenBucket {
	m := c.memory()
	m.mu.Lock()
	defer m.mu.Unlock()
	key := fmt.Sprintf("%d/%s", quota, window)
	if b, ok := m.buckets[key]; ok {
		return b
	}
	if m.buckets == nil {
		m.buckets = map[string]*tokenBucket{}
	}
	b := newTokenBucket(quota, window)
	m.buckets[key] = b
	return b
}

type retryObserverKey struct{}

// retryObserver is told about every on-the-wire retry of a request made with its context.
type retryObserver func(status int, wait time.Duration)

func withRetryObserver(ctx context.Context, fn retryObserver) context.Context {
	return context.WithValue(ctx, retryObserverKey{}, fn)
}

// observeRetries wraps a RetryPolicy.OnRetry so the retry observer of the request's context, if
// any, hears about each retry too.
func observeRetries(next func(ctx context.Context, attempt int, wait time.Duration, resp *http.Response)) func(ctx context.Context, attempt int, wait time.Duration, resp *http.Response) {
	return func(ctx context.Context, attempt int, wait time.Duration, resp *http.Response) {
		if fn, ok := ctx.Value(retryObserverKey{}).(retryObserver); ok && resp != nil {
			fn(resp.StatusCode, wait)
		}
		if next != nil {
			next(ctx, attempt, wait, resp)
		}
	}
}
