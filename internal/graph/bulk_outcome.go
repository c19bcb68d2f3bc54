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
