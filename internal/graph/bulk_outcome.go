package graph

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

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

// stepAnswer is the answer to one sub-request, or what stands for it when the $batch POST failed
// as a whole.
type stepAnswer struct {
	status  int
	body    []byte
	wait    time.Duration // Retry-After, -1 when absent
	outcome stepResult
}

// batchTally is what one $batch answer says across its sub-requests: the answer of each step, the
// 429s, the longest waits asked for, whether the service had trouble (5xx or no answer) and the
// highest x-ms-throttle-limit-percentage (https://learn.microsoft.com/graph/throttling).
type batchTally struct {
	answers       map[*bulkStep]stepAnswer
	throttled     int           // 429s: of the $batch POST (retried or final) and of sub-requests
	longest       time.Duration // longest wait of a throttled or failed sub-request
	longest429    time.Duration // longest wait of a throttled sub-request
	serverTrouble bool
	pct           float64
}

// handle applies the answers of one batch to its ops and adapts the concurrency: the answers
// are read (batchFailed for a $batch POST that failed as a whole, readAnswers otherwise), the
// waits they ask for are added up (addWaits), each op is settled (settle) and the AIMD controller
// is fed (adapt).
func (r *bulkRun) handle(out *batchOutcome) {
	now := time.Now()
	r.release(out)
	t := &batchTally{answers: make(map[*bulkStep]stepAnswer, len(out.steps)), throttled: out.transportThrottles()}
	if out.err != nil {
		if !r.batchFailed(out, t) {
			return
		}
	} else {
		r.readAnswers(out, t, now)
	}
	t.addWaits(out)
	byOp := map[*bulkOp][]sentStep{}
	for _, st := range out.steps {
		byOp[st.op] = append(byOp[st.op], st)
	}
	for _, bo := range out.ops {
		r.settle(bo, byOp[bo], out.launched, t, now)
	}
	r.adapt(out.launched, t, now)
}

// release ends what held back while the batch was in flight: its ops may be sent again, the run
// is warm (the first batch is back) and a probe batch no longer blocks the deferred steps.
func (r *bulkRun) release(out *batchOutcome) {
	r.warm = true
	if out.probe {
		r.probing = false
	}
	for _, bo := range out.ops {
		bo.busy = false
	}
}

// transportThrottles counts the 429s of the $batch POST itself that the transport retried.
func (out *batchOutcome) transportThrottles() int {
	out.mu.Lock()
	defer out.mu.Unlock()
	throttled := 0
	for _, st := range out.retried {
		if st == http.StatusTooManyRequests {
			throttled++
		}
	}
	return throttled
}

// batchFailed handles a $batch POST that failed as a whole (no answer, or an error status after
// the transport's own retries; https://learn.microsoft.com/graph/json-batching): every step it
// carried gets the same answer, and a batch the service refused gives its write tokens back. It
// reports false when the answers are not to be applied: the context ended (the ops stay pending
// and the loop ends them), or Graph refused the dependsOn pattern and the run switches to one
// sequential chain per batch (the ops are sent again at once).
func (r *bulkRun) batchFailed(out *batchOutcome, t *batchTally) bool {
	if errors.Is(out.err, context.Canceled) || errors.Is(out.err, context.DeadlineExceeded) {
		return false // the ops stay pending; the loop ends them
	}
	status, wait, code, msg := outerStatus(out.err)
	if (status >= 400 && status < 500) || status == http.StatusServiceUnavailable {
		r.refund(out.taken) // the service refused the batch as a whole: none of it ran
	}
	if status == http.StatusBadRequest && !r.serial && dependencyPatternRejected(msg) {
		r.serial = true
		r.c.memory().setSerialBatches()
		return false // sent again as one chain, at once
	}
	res := resServer // no answer, or 5xx after the transport's own retries
	switch {
	case status == http.StatusTooManyRequests:
		res = resThrottle
		t.throttled++
	case status >= 400 && status < 500:
		res = resFatal // the service refused the batch as such: sending it again changes nothing
	}
	if code == "" {
		code = "BatchFailed"
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": "the $batch request failed: " + msg}})
	for _, st := range out.steps {
		t.answers[st.step] = stepAnswer{status: status, body: body, wait: wait, outcome: res}
	}
	return true
}

// readAnswers reads the answer of every sub-request of a $batch that came back and gives back
// the write tokens of those the service did not carry out.
func (r *bulkRun) readAnswers(out *batchOutcome, t *batchTally, now time.Time) {
	for _, st := range out.steps {
		item := out.resp.GetResponseById(st.id)
		if item == nil || item.GetStatus() == nil {
			t.answers[st.step] = stepAnswer{status: http.StatusBadGateway, wait: -1, outcome: resServer,
				body: []byte(`{"error":{"code":"NoResponse","message":"the $batch answer has no response for this request"}}`)}
			continue
		}
		a := t.read(st, item, now)
		t.answers[st.step] = a
		if notCarriedOut(a.status) {
			r.refund(1)
		}
	}
}

// read turns the response of one sub-request into its answer: status, Retry-After
// (https://learn.microsoft.com/graph/throttling), body and what Bulk does next; it keeps the
// highest x-ms-throttle-limit-percentage seen.
func (t *batchTally) read(st sentStep, item msgraphcore.BatchItem, now time.Time) stepAnswer {
	a := stepAnswer{wait: -1}
	a.status = int(*item.GetStatus())
	hdr := http.Header{}
	for k, v := range item.GetHeaders() {
		hdr.Set(k, v)
	}
	a.wait = httpx.RetryAfter(hdr, now)
	if v := hdr.Get("x-ms-throttle-limit-percentage"); v != "" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			t.pct = math.Max(t.pct, f)
		}
	}
	if b := item.GetBody(); b != nil {
		a.body, _ = json.Marshal(b)
	}
	a.outcome = classify(st.op, st.step, a.status)
	return a
}

// addWaits counts the throttled and failed sub-requests against their ops and finds the waits
// they ask for: every throttled, failed or not-run sub-request waits for the batch's longest
// Retry-After (or backoff, when the answer has none); lag has its own backoff (see lagged).
func (t *batchTally) addWaits(out *batchOutcome) {
	for _, st := range out.steps {
		a := t.answers[st.step]
		switch a.outcome {
		case resThrottle:
			st.op.n429++
			if a.status == http.StatusTooManyRequests && out.err == nil {
				t.throttled++
			}
			w := a.wait
			if w < 0 {
				w = backoffFor(time.Second, st.op.n429)
			}
			t.longest, t.longest429 = max(t.longest, w), max(t.longest429, w)
		case resServer:
			t.serverTrouble = true
			st.op.n5xx++
			w := a.wait
			if w < 0 {
				w = backoffFor(firstBackoff, st.op.n5xx)
			}
			t.longest = max(t.longest, w)
		}
	}
}

// settle applies the answers of one op's steps, in order, until one ends the op, then finishes
// the op (failed for good, or nothing left to do) or sets when it goes next: a step to send again
// waits for its lag backoff and, if throttled, failed or not run, for the batch's longest wait;
// the steps after a create that went alone wait for the lag seen so far.
func (r *bulkRun) settle(bo *bulkOp, steps []sentStep, launched time.Time, t *batchTally, now time.Time) {
	var fatal error
	var lagWait time.Duration
	retry := false
	for _, st := range steps {
		wait, again, err := r.applyAnswer(bo, st.step, t.answers[st.step], launched, now)
		lagWait, retry = max(lagWait, wait), retry || again
		if err != nil {
			fatal = err
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
		for _, st := range steps {
			if o := t.answers[st.step].outcome; o == resThrottle || o == resServer || o == resNotRun {
				wait = max(wait, t.longest)
			}
		}
		bo.notBefore = now.Add(wait)
	case !bo.createdAt.IsZero() && r.lagDelay > 0:
		// The create went alone: what follows it waits for the lag seen so far.
		bo.notBefore = bo.createdAt.Add(r.lagDelay)
	}
}

// applyAnswer applies the answer of one step to its op. It returns how long read-after-write
// lag asks the op to wait, whether the step is to be sent again, and the error that ends the op
// (a refusal, a failure the retries did not overcome, or a create whose answer cannot be read).
func (r *bulkRun) applyAnswer(bo *bulkOp, st *bulkStep, a stepAnswer, launched, now time.Time) (time.Duration, bool, error) {
	switch a.outcome {
	case resOK:
		if st.kind != stepCreate && r.lagDelay > 0 && !bo.createdAt.IsZero() && bo.createdAt.Before(launched) {
			r.lagConfirmed = true // sent after waiting lagDelay, and it worked
		}
		return 0, false, r.succeeded(bo, st, a.body)
	case resLag:
		return r.lagged(bo, st, a, launched, now)
	case resThrottle:
		if bo.n429 > maxThrottleRetries {
			return 0, true, errorFromBody(bo.describe(st.kind), a.status, a.body, a.wait)
		}
		return 0, true, nil
	case resServer:
		if bo.n5xx >= maxServerAttempts {
			return 0, true, errorFromBody(bo.describe(st.kind), a.status, a.body, a.wait)
		}
		return 0, true, nil
	case resNotRun:
		return 0, true, nil
	case resFatal:
		return 0, false, errorFromBody(bo.describe(st.kind), a.status, a.body, 0)
	}
	return 0, false, nil
}

// lagged handles a 404 on a user just created (read-after-write lag,
// https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/):
// the step goes again after a backoff, and no earlier than lagDelay (learnt from this answer too)
// after the create; after maxLagRetries such answers the op fails with the 404.
func (r *bulkRun) lagged(bo *bulkOp, st *bulkStep, a stepAnswer, launched, now time.Time) (time.Duration, bool, error) {
	bo.n404++
	if bo.n404 > maxLagRetries {
		return 0, false, errorFromBody(bo.describe(st.kind), a.status, a.body, 0)
	}
	r.learnLag(bo, launched)
	wait := backoffFor(firstBackoff, bo.n404)
	if !bo.createdAt.IsZero() {
		wait = max(wait, bo.createdAt.Add(r.lagDelay).Sub(now))
	}
	return wait, true, nil
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

// dependencyPatternRejected recognises Graph's refusal of a batch whose dependsOn pattern is
// neither parallel nor sequential ("Batch should be either fully sequential or fully parallel",
// wording UNCONFIRMED).
func dependencyPatternRejected(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "sequential") || strings.Contains(m, "parallel")
}
