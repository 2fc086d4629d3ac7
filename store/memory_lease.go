package store

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/maypok86/otter/v2"
)

// AcquireLease stores a copy of token under key with ttl only if the key is
// absent or expired, atomically, and reports whether it did. It implements
// core's Leaser, whose fill leases need a store shared by the caches that
// contend for them: with Memory, caches of one process. ttl must be
// positive, so that a lease whose holder is gone ends. Under memory pressure
// a lease may be evicted early, which costs a second load, never a wrong
// value.
func (m *Memory) AcquireLease(_ context.Context, key string, token []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("memory acquire lease %q: TTL %v must be positive", key, ttl)
	}
	b := bytes.Clone(token)
	if b == nil {
		b = []byte{}
	}
	if w := memoryWeight(key, b); w > m.maxBytes || w > math.MaxUint32 {
		return false, fmt.Errorf("memory acquire lease %q: %d bytes with overhead, bound %d: %w", key, w, m.maxBytes, ErrMemoryEntryTooLarge)
	}
	_, stored := m.cache.SetIfAbsent(key, memoryEntry{value: b, ttl: ttl})
	if stored {
		m.wrote(key)
	}
	return stored, nil
}

// ReleaseLease deletes key if it holds token, atomically; otherwise (the
// lease expired, and maybe another caller holds it now) it does nothing.
func (m *Memory) ReleaseLease(_ context.Context, key string, token []byte) error {
	m.cache.ComputeIfPresent(key, func(e memoryEntry) (memoryEntry, otter.ComputeOp) {
		if cur, ok := e.value.([]byte); ok && bytes.Equal(cur, token) {
			return e, otter.InvalidateOp
		}
		return e, otter.CancelOp
	})
	m.wrote(key) // perhaps deleted: count it as a write
	return nil
}
