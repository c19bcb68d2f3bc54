package graph

import (
	"context"
	"net/http"
	"sync"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

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

// finish marks bo done and reports the progress.
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
	order, chain := r.stepOrder(chosen)
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

// pendingStep is a step chosen for the batch being built.
type pendingStep struct {
	bo   *bulkOp
	step *bulkStep
}

// stepOrder lists the sendable steps of the chosen ops in the order build adds them, and whether
// they form one sequential chain (https://learn.microsoft.com/graph/json-batching).
func (r *bulkRun) stepOrder(chosen []*bulkOp) ([]pendingStep, bool) {
	var order []pendingStep
	// Dependencies are only needed when an op sends two steps; a batch of single steps is fully
	// parallel, which Graph accepts in any case, and one failure does not fail the rest.
	chain := false
	for _, bo := range chosen {
		chain = chain || (r.serial && len(r.sendable(bo)) > 1)
	}
	if chain {
		// One chain: every first step, then every second step.
		for _, bo := range chosen {
			order = append(order, pendingStep{bo: bo, step: r.sendable(bo)[0]})
		}
		for _, bo := range chosen {
			if steps := r.sendable(bo); len(steps) > 1 {
				order = append(order, pendingStep{bo: bo, step: steps[1]})
			}
		}
	} else {
		for _, bo := range chosen {
			for _, st := range r.sendable(bo) {
				order = append(order, pendingStep{bo: bo, step: st})
			}
		}
	}
	return order, chain
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

type retryObserverKey struct{}

// retryObserver is told about every on-the-wire retry of a request made with its context.
type retryObserver func(status int, wait time.Duration)

// withRetryObserver returns ctx with fn as its retry observer.
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
