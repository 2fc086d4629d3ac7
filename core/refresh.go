package core

import (
	"context"
	"math"
	"time"
)

// maxExpDraw bounds -ln(1-r) for r = rand.Float64(), whose 1-r is at
// least 2^-53: -ln(2^-53) is about 36.7.
const maxExpDraw = 37

// maybeRefresh decides, on a hit of an entry whose policy sets
// EarlyRefresh, whether to reload it before it expires (XFetch), and if so
// starts one background reload for the entry and versions in this
// process. now is the clock reading that validated the hit.
func (c *Cache) maybeRefresh(ctx context.Context, d Descriptor, ks []string, versions [][]byte, ttlOverride time.Duration, load LoadFunc, newLoad func() LoadFunc, e entry, now int64) {
	if e.loadTime <= 0 {
		return // written by Put, or by an instant load
	}
	// -ln(r) for r in (0, 1] is exponentially distributed with mean 1:
	// refresh when that many load times, times beta, reach the expiry.
	scale := float64(e.loadTime) * d.Policy.EarlyRefresh
	left := float64(e.expiresAt - now)
	if left > scale*maxExpDraw {
		return // no draw can reach it: skip the logarithm
	}
	if -scale*math.Log(1-c.rand()) < left {
		return
	}
	load = loaderOf(load, newLoad)
	// Its own flight key: a miss must not join a reload that may decide
	// not to load (another process holds the lease).
	c.flights.start(ctx, flightKey("!", ks[0], versions), func(lctx context.Context) ([]byte, error) {
		return c.refresh(lctx, d, ks, versions, ttlOverride, load, e.expiresAt)
	})
}

// refresh reloads a hot entry ahead of its expiry and stores it under the
// usual stale check, unless the entry that triggered it (expiring at
// expiresAt) has been replaced or bumped since. With a fill lease, it
// reloads only if it takes the lease: otherwise another process is
// reloading the entry. Nobody waits for its result.
func (c *Cache) refresh(ctx context.Context, d Descriptor, ks []string, versions [][]byte, ttlOverride time.Duration, load LoadFunc, expiresAt int64) ([]byte, error) {
	if c.cfg.leaseTTL > 0 {
		lk := c.leaseKey(d.Key, versions)
		token := newStamp()
		got, err := c.io.acquireLease(ctx, lk, token, c.cfg.leaseTTL)
		if err != nil {
			c.storeError("acquire fill lease", err)
			return nil, nil
		}
		if !got {
			return nil, nil
		}
		defer c.releaseLease(ctx, lk, token)
	}
	// Another caller (another process, or this one just before) may have
	// refreshed it already; a bump makes the next miss load instead.
	e, _, st := c.peek(ctx, ks)
	if st != peekHit || e.expiresAt != expiresAt {
		return nil, nil
	}
	c.stats.earlyRefreshes.Add(1)
	return c.loadAndStore(ctx, d, ks, versions, ttlOverride, load)
}
