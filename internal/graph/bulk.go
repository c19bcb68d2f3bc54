package graph

import (
	"context"
	"errors"
	"strconv"
	"time"

	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
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

// init registers Graph's error mappings for the $batch POST.
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
