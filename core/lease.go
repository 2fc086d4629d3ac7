package core

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"time"
)

// Bounds of the backoff between a lease waiter's reads of the entry.
const (
	leasePollMin = 2 * time.Millisecond
	leasePollMax = 25 * time.Millisecond
)

// leaseKey returns the store key of the fill lease of entry key under
// versions. The versions are hashed: a collision makes a caller wait for an
// unrelated fill, which costs time, never a wrong value.
func (c *Cache) leaseKey(key string, versions [][]byte) string {
	h := fnv.New64a()
	for _, v := range versions {
		_, _ = h.Write(v)
	}
	var sum [8]byte
	return c.leasePrefix + key + ":" + hex.EncodeToString(h.Sum(sum[:0]))
}

// leasedFill is loadAndStore for a miss under a fill lease (WithFillLease).
// The caller that takes the lease loads and stores; the others read the
// entry with a growing backoff until it appears under the current versions,
// take the lease over when it is released or expires without an entry, or
// load themselves when maxWait has passed. When a read finds the versions
// changed (a bump), the lease of the new versions is the one to take: the
// old holder's result will be discarded.
func (c *Cache) leasedFill(ctx context.Context, d Descriptor, ks []string, versions [][]byte, ttlOverride time.Duration, load LoadFunc) ([]byte, error) {
	if load == nil {
		return nil, ErrCacheMiss
	}
	token := newStamp()
	deadline := time.Now().Add(c.cfg.leaseWait)
	delay := leasePollMin
	for {
		lk := c.leaseKey(d.Key, versions)
		got, err := c.io.acquireLease(ctx, lk, token, c.cfg.leaseTTL)
		if err != nil {
			c.storeError("acquire fill lease", err)
			return c.loadAndStore(ctx, d, ks, versions, ttlOverride, load)
		}
		if got {
			return c.holderFill(ctx, lk, token, d, ks, versions, ttlOverride, load)
		}
		wait := min(delay, time.Until(deadline))
		if wait <= 0 {
			c.stats.leaseTimeouts.Add(1)
			return c.loadAndStore(ctx, d, ks, versions, ttlOverride, load)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, leasePollMax)
		e, cur, st := c.peek(ctx, ks)
		switch st {
		case peekHit:
			c.stats.leaseHits.Add(1)
			return hitResult(e)
		case peekFailed:
			return c.loadAndStore(ctx, d, ks, versions, ttlOverride, load)
		}
		versions = cur
	}
}

// holderFill loads and stores under the lease lk it holds, then releases it.
func (c *Cache) holderFill(ctx context.Context, lk string, token []byte, d Descriptor, ks []string, versions [][]byte, ttlOverride time.Duration, load LoadFunc) ([]byte, error) {
	defer c.releaseLease(ctx, lk, token)
	// Another holder may have stored the entry and released its lease
	// between our read and our acquire.
	e, cur, st := c.peek(ctx, ks)
	switch st {
	case peekHit:
		c.stats.leaseHits.Add(1)
		return hitResult(e)
	case peekMiss:
		versions = cur
	}
	return c.loadAndStore(ctx, d, ks, versions, ttlOverride, load)
}

func hitResult(e entry) ([]byte, error) {
	if e.negative {
		return nil, ErrNotFound
	}
	return e.payload, nil
}

type peekStatus uint8

const (
	peekMiss   peekStatus = iota // no valid entry; versions are the current ones
	peekHit                      // a valid, unexpired entry
	peekFailed                   // the store failed (counted)
)

// peek reads the entry and tag versions of ks again. It returns the entry
// on a hit, the current versions (seeded where missing) on a miss.
func (c *Cache) peek(ctx context.Context, ks []string) (e entry, versions [][]byte, st peekStatus) {
	vals, err := c.io.getMulti(ctx, ks)
	if err != nil {
		c.storeError("read", err)
		return e, nil, peekFailed
	}
	versions, err = c.versions(ctx, ks[1:], vals[1:])
	if err != nil {
		c.storeError("seed tag versions", err)
		return e, nil, peekFailed
	}
	if vals[0] == nil {
		return e, versions, peekMiss
	}
	e, valid, err := decodeEntry(vals[0], versions)
	if err != nil {
		c.decodeError(ks[0], err)
		return e, versions, peekMiss
	}
	if !valid || c.cfg.clock.Now().UnixNano() >= e.expiresAt {
		return e, versions, peekMiss
	}
	return e, versions, peekHit
}

// releaseLease releases a fill lease, even when the load's callers have
// all gone. A failure leaves the lease to expire.
func (c *Cache) releaseLease(ctx context.Context, key string, token []byte) {
	if err := c.io.releaseLease(context.WithoutCancel(ctx), key, token); err != nil {
		c.storeError("release fill lease", err)
	}
}
