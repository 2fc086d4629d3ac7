package core

import (
	"sync/atomic"
	"time"
)

// breaker keeps reads away from a store that just failed. Without it every
// read during an outage would wait for the store's timeout (a second by
// default for Redis, whose client retries reads until then) before falling
// back to the loader. After a failure the store is skipped for a backoff
// that doubles while failures go on; when it ends one read probes the store,
// and success closes the breaker.
type breaker struct {
	openUntil atomic.Int64 // clock nanoseconds; 0 when closed
	backoff   atomic.Int64
	probing   atomic.Bool
}

const (
	breakerMinBackoff = 100 * time.Millisecond
	breakerMaxBackoff = 5 * time.Second
)

// skip reports whether a read must leave the store alone now. It costs one
// atomic load while the breaker is closed.
func (b *breaker) skip(c Clock) bool {
	until := b.openUntil.Load()
	if until == 0 {
		return false
	}
	if c.Now().UnixNano() < until {
		return true
	}
	// The backoff is over: one caller probes, the others keep skipping
	// until it reports.
	return !b.probing.CompareAndSwap(false, true)
}

// success closes the breaker after a store operation worked.
func (b *breaker) success() {
	if b.openUntil.Load() == 0 {
		return
	}
	b.backoff.Store(0)
	b.openUntil.Store(0)
	b.probing.Store(false)
}

// fail opens the breaker for the next backoff.
func (b *breaker) fail(c Clock) {
	d := time.Duration(b.backoff.Load()) * 2
	d = max(d, breakerMinBackoff)
	d = min(d, breakerMaxBackoff)
	b.backoff.Store(int64(d))
	b.openUntil.Store(c.Now().Add(d).UnixNano())
	b.probing.Store(false)
}
