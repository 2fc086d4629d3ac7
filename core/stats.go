package core

import "sync/atomic"

// Stats counts what a Cache did since it was made.
type Stats struct {
	Hits           uint64 // reads answered from the cache (negative hits included)
	NegativeHits   uint64 // hits on a cached not-found result
	Misses         uint64 // reads that found no valid entry
	Loads          uint64 // loader calls
	Joins          uint64 // misses that shared another caller's load (single-flight)
	StaleLoads     uint64 // loads discarded because a tag was bumped while they ran
	Bumps          uint64 // tag versions replaced
	StoreErrors    uint64 // failed store operations (reads fell back to the loader)
	DecodeErrors   uint64 // corrupt or undecodable entries, treated as misses
	Bypassed       uint64 // reads that skipped the cache (bypass mode, pending bumps)
	LeaseHits      uint64 // misses answered by another process's fill after waiting for its lease (WithFillLease)
	LeaseTimeouts  uint64 // misses that waited for a fill lease as long as allowed, then loaded
	EarlyRefreshes uint64 // background reloads of hot entries before expiry (Policy.EarlyRefresh)
}

type counters struct {
	hits, negativeHits, misses, loads, joins, staleLoads, bumps, storeErrors, decodeErrors, bypassed atomic.Uint64
	leaseHits, leaseTimeouts, earlyRefreshes                                                         atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Hits:           c.hits.Load(),
		NegativeHits:   c.negativeHits.Load(),
		Misses:         c.misses.Load(),
		Loads:          c.loads.Load(),
		Joins:          c.joins.Load(),
		StaleLoads:     c.staleLoads.Load(),
		Bumps:          c.bumps.Load(),
		StoreErrors:    c.storeErrors.Load(),
		DecodeErrors:   c.decodeErrors.Load(),
		Bypassed:       c.bypassed.Load(),
		LeaseHits:      c.leaseHits.Load(),
		LeaseTimeouts:  c.leaseTimeouts.Load(),
		EarlyRefreshes: c.earlyRefreshes.Load(),
	}
}
