package graph

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"

	"github.com/m365-migration/terraform-provider-m365/internal/httpx"
)

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

// adapt is the AIMD controller of the concurrency, fed with the tally of one batch: on any 429
// the limit is halved (once per congestion event: not again for batches launched before the last
// decrease) and the run pauses for the longest wait (Retry-After or backoff) of the throttled steps; 5xx
// trouble holds it; otherwise x-ms-throttle-limit-percentage
// (https://learn.microsoft.com/graph/throttling) at slowDownPercentage or more takes one away
// (unless the write bucket paces the run), above holdPercentage holds it, and below it a clean
// batch adds one, up to maxConcurrency.
func (r *bulkRun) adapt(launched time.Time, t *batchTally, now time.Time) {
	r.stats.Throttled += t.throttled
	switch {
	case t.throttled > 0:
		if launched.After(r.lastDecrease) {
			r.limit = max(1, r.limit/2)
			r.lastDecrease = now
		}
		r.pauseUntil = maxTime(r.pauseUntil, now.Add(t.longest429))
	case t.serverTrouble:
		// hold
	case t.pct >= slowDownPercentage:
		if r.bucket == nil && r.limit > 1 {
			r.limit--
		}
	case t.pct > holdPercentage:
		// hold
	default:
		r.limit = min(r.limit+1, maxConcurrency)
	}
}

// headerRetryAfter reads the Retry-After of a failed request's headers
// (https://learn.microsoft.com/graph/throttling), -1 when absent.
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

// backoffFor is base·2^(n-1), capped at maxBackoff.
func backoffFor(base time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	return min(base<<min(n-1, 10), maxBackoff)
}

// maxTime is the later of a and b.
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

// newTokenBucket returns a full bucket for quota writes per window.
func newTokenBucket(quota int, window time.Duration) *tokenBucket {
	q := float64(quota)
	burst := math.Max(2, math.Floor(q*(1-quotaShare)))
	burst = math.Min(burst, math.Max(1, math.Floor(q/2)))
	jitter := max(window/50, 50*time.Millisecond)
	return &tokenBucket{rate: (q - burst) / (window + jitter).Seconds(), capacity: burst, tokens: burst, last: time.Now()}
}

// refill adds the tokens earned since the last refill (never above capacity); b.mu is held.
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
