package fakecloud

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Exchange Online answers InvokeCommand with rate-limit headers, seen in a captured answer:
// Rate-Limit-Limit: 30000, Rate-Limit-Remaining: 29997, Rate-Limit-Reset: an ISO time some seconds
// ahead. Their window and units are not documented (UNCONFIRMED); the fake counts requests per
// tenant in a 60-second window and only reports them (it does not refuse when they run out).
const (
	exoRateLimit  = 30000
	exoRateWindow = 60 * time.Second
)

type exoRateCounter struct {
	mu    sync.Mutex
	start time.Time
	used  int
}

// setExoRateHeaders counts one request and writes the three headers.
func (c *exoRateCounter) setExoRateHeaders(h http.Header) {
	c.mu.Lock()
	now := time.Now().UTC()
	if now.Sub(c.start) >= exoRateWindow {
		c.start, c.used = now, 0
	}
	c.used++
	remaining := max(exoRateLimit-c.used, 0)
	reset := c.start.Add(exoRateWindow)
	c.mu.Unlock()
	h.Set("Rate-Limit-Limit", strconv.Itoa(exoRateLimit))
	h.Set("Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("Rate-Limit-Reset", reset.Format("2006-01-02T15:04:05.000Z"))
}
