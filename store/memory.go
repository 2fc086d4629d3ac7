package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync/atomic"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/maypok86/otter/v2"
)

// MemoryType is what Memory.GetType returns.
const MemoryType = "hydracache-memory"

// DefaultMemoryMaxBytes is the bound NewMemory uses without WithMaxBytes.
const DefaultMemoryMaxBytes int64 = 64 << 20

// MemoryEntryOverhead is what Memory adds to len(key)+len(value) when it
// weighs an entry against the byte bound: otter's node, the entry struct and
// the boxed slice header, measured at about 151 bytes per entry on amd64
// (BenchmarkMemoryBytesPerEntry: 351 heap bytes for a 200-byte value, keys
// excluded). Counting it keeps many tiny entries, such as tag versions, from
// overshooting the bound.
const MemoryEntryOverhead = 152

// ErrMemoryEntryTooLarge is returned by Memory's Set, SetNX and SetMulti when
// one entry alone (key, value and MemoryEntryOverhead) exceeds the byte
// bound or 4 GiB. Nothing is evicted for it, and any older value of the key
// is deleted so that a failed overwrite never leaves a stale value readable.
var ErrMemoryEntryTooLarge = errors.New("hydracache/store: entry larger than the memory store's byte bound")

// Memory is an in-process store bounded by bytes with per-entry TTLs,
// implementing gocache's store.StoreInterface. It is built on otter
// (github.com/maypok86/otter/v2): reads take no lock and allocate nothing,
// and when the bound is reached the W-TinyLFU policy evicts the entries least
// likely to be read again, so a burst of one-off entries does not flush hot
// ones such as tag versions.
//
// A Set is in the table when it returns: the next Get sees it (or a later
// write), never an older value. Under memory pressure the policy may evict a
// new, never-read entry early; that is a miss, never a stale read.
//
// Keys must be strings. Values are []byte (copied on Set) or string. Get
// returns a []byte that aliases the store's copy: callers must not modify it.
type Memory struct {
	cache    *otter.Cache[string, memoryEntry]
	maxBytes int64
	ttl      time.Duration
	seed     maphash.Seed
	gens     [memoryShards]memoryGen
}

// memoryShards is how many write generations a Memory keeps.
const memoryShards = 256

// memoryGen is one write generation, alone on its cache line: writers of
// different shards do not slow each other's readers down.
type memoryGen struct {
	atomic.Uint64
	_ [56]byte
}

// KeyShard returns the shard whose write generation covers key.
func (m *Memory) KeyShard(key string) int {
	return int(maphash.String(m.seed, key) % memoryShards)
}

// Generation returns the write generation of shard. It changes after every
// write of a key of the shard (Set, SetMulti, a SetNX that stores, Delete,
// leases) has taken effect, and after Clear; eviction and expiry do not
// change it. While the generations of some keys' shards stay the same,
// none of those keys was written: core uses this to reuse the tag
// versions it read (core.Generations).
func (m *Memory) Generation(shard int) uint64 { return m.gens[shard].Load() }

// wrote records, after the fact, a write of key.
func (m *Memory) wrote(key string) { m.gens[m.KeyShard(key)].Add(1) }

// memoryEntry is what otter holds. The value is boxed once at Set so that
// Get can return it as an any without allocating.
type memoryEntry struct {
	value any           // always a []byte
	ttl   time.Duration // 0: no expiry
}

// memoryNoExpiry is the duration otter gets for entries without TTL; otter
// saturates the deadline, and a non-positive duration would instead keep the
// deadline of the value being replaced.
const memoryNoExpiry = time.Duration(math.MaxInt64)

// memoryConfig collects MemoryOption settings.
type memoryConfig struct {
	maxBytes int64
	ttl      time.Duration
	err      error
}

// MemoryOption configures NewMemory.
type MemoryOption func(*memoryConfig)

// WithMaxBytes bounds the bytes the store holds, counted as key plus value
// plus MemoryEntryOverhead per entry. The default is DefaultMemoryMaxBytes;
// n must be positive.
func WithMaxBytes(n int64) MemoryOption {
	return func(c *memoryConfig) {
		if n <= 0 {
			c.err = fmt.Errorf("hydracache/store: memory max bytes must be positive, got %d", n)
			return
		}
		c.maxBytes = n
	}
}

// WithDefaultTTL sets the TTL of entries whose Set has none. The default is
// none: such entries live until evicted or deleted. d must not be negative.
func WithDefaultTTL(d time.Duration) MemoryOption {
	return func(c *memoryConfig) {
		if d < 0 {
			c.err = fmt.Errorf("hydracache/store: memory default TTL must not be negative, got %v", d)
			return
		}
		c.ttl = d
	}
}

// NewMemory returns an empty Memory store. Call Close when done with it to
// stop otter's background maintenance.
func NewMemory(opts ...MemoryOption) (*Memory, error) {
	cfg := memoryConfig{maxBytes: DefaultMemoryMaxBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, fmt.Errorf("new memory store: %w", cfg.err)
	}
	c, err := otter.New(&otter.Options[string, memoryEntry]{
		Clock:         coarseClock(),
		MaximumWeight: uint64(cfg.maxBytes),
		// Maintenance runs on the goroutine that triggers it: handing it to
		// a new goroutine woke an idle CPU every few reads, which cost more
		// than the drain itself. Safe because no function given to otter
		// (weigher, expiry, the lease's compute) calls the cache.
		Executor: func(fn func()) { fn() },
		Weigher: func(key string, e memoryEntry) uint32 {
			// Sizes were checked against the bound and uint32 in put.
			return uint32(memoryWeight(key, e.value.([]byte)))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, memoryEntry]) time.Duration {
			if e.Value.ttl > 0 {
				return e.Value.ttl
			}
			return memoryNoExpiry
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("new memory store: otter: %w", err)
	}
	return &Memory{cache: c, maxBytes: cfg.maxBytes, ttl: cfg.ttl, seed: maphash.MakeSeed()}, nil
}

// memoryWeight is the bytes an entry counts against the bound.
func memoryWeight(key string, value []byte) int64 {
	return int64(len(key)) + int64(len(value)) + MemoryEntryOverhead
}

// memoryKey checks that a gocache key is a string.
func memoryKey(key any) (string, error) {
	k, ok := key.(string)
	if !ok {
		return "", fmt.Errorf("hydracache/store: memory store keys must be strings, got %T", key)
	}
	return k, nil
}

// Get returns the []byte stored under key, aliasing the store's copy (do not
// modify it), or an error satisfying errors.Is(err, store.NotFound{}) when
// the key is missing or expired.
func (m *Memory) Get(_ context.Context, key any) (any, error) {
	k, err := memoryKey(key)
	if err != nil {
		return nil, fmt.Errorf("memory get: %w", err)
	}
	e, ok := m.cache.GetIfPresent(k)
	if !ok {
		return nil, lib_store.NotFoundWithCause(nil)
	}
	return e.value, nil
}

// GetWithTTL is Get that also returns the time left before the entry
// expires, or 0 for an entry without TTL.
func (m *Memory) GetWithTTL(_ context.Context, key any) (any, time.Duration, error) {
	k, err := memoryKey(key)
	if err != nil {
		return nil, 0, fmt.Errorf("memory get with TTL: %w", err)
	}
	e, ok := m.cache.GetEntry(k)
	if !ok {
		return nil, 0, lib_store.NotFoundWithCause(nil)
	}
	var left time.Duration
	if e.Value.ttl > 0 {
		left = e.ExpiresAfter()
		if left <= 0 {
			// Expired between the lookup and now: report it as gone rather
			// than as a value with no TTL.
			return nil, 0, lib_store.NotFoundWithCause(nil)
		}
	}
	return e.Value.value, left, nil
}

// Set stores value ([]byte, copied, or string) under key with the TTL of
// store.WithExpiration, or the default TTL when it has none. Tags are
// rejected with ErrTagsUnsupported, other value types with
// ErrUnsupportedValue, entries larger than the bound with
// ErrMemoryEntryTooLarge.
func (m *Memory) Set(_ context.Context, key any, value any, options ...lib_store.Option) error {
	k, err := memoryKey(key)
	if err != nil {
		return fmt.Errorf("memory set: %w", err)
	}
	o := lib_store.ApplyOptions(options...)
	if len(o.Tags) > 0 {
		return fmt.Errorf("memory set %q: %w", k, ErrTagsUnsupported)
	}
	var b []byte
	switch v := value.(type) {
	case []byte:
		b = make([]byte, len(v))
		copy(b, v) // the caller may reuse its slice
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("memory set %q: %T: %w", k, value, ErrUnsupportedValue)
	}
	if err := m.put(k, b, o.Expiration); err != nil {
		return fmt.Errorf("memory set: %w", err)
	}
	return nil
}

// put stores b, which the store owns from now on, under key.
func (m *Memory) put(key string, b []byte, ttl time.Duration) error {
	if err := m.fits(key, b); err != nil {
		return err
	}
	m.cache.Set(key, m.entry(b, ttl))
	m.wrote(key)
	return nil
}

// fits rejects an entry that could never be stored and deletes the key's
// older value, so that the failed write does not leave it readable.
func (m *Memory) fits(key string, b []byte) error {
	w := memoryWeight(key, b)
	if w > m.maxBytes || w > math.MaxUint32 {
		m.cache.Invalidate(key)
		m.wrote(key)
		return fmt.Errorf("%q: %d bytes with overhead, bound %d: %w", key, w, m.maxBytes, ErrMemoryEntryTooLarge)
	}
	return nil
}

// entry wraps b with the effective TTL.
func (m *Memory) entry(b []byte, ttl time.Duration) memoryEntry {
	if ttl <= 0 {
		ttl = m.ttl
	}
	return memoryEntry{value: b, ttl: ttl}
}

// Delete removes key; a missing key is not an error.
func (m *Memory) Delete(_ context.Context, key any) error {
	k, err := memoryKey(key)
	if err != nil {
		return fmt.Errorf("memory delete: %w", err)
	}
	m.cache.Invalidate(k)
	m.wrote(k)
	return nil
}

// Invalidate returns ErrTagsUnsupported when given tags and does nothing
// otherwise: HydraCache invalidates through its own tag versions.
func (m *Memory) Invalidate(_ context.Context, options ...lib_store.InvalidateOption) error {
	if o := lib_store.ApplyInvalidateOptions(options...); len(o.Tags) > 0 {
		return fmt.Errorf("memory invalidate %q: %w", o.Tags, ErrTagsUnsupported)
	}
	return nil
}

// Clear removes every entry.
func (m *Memory) Clear(context.Context) error {
	m.cache.InvalidateAll()
	for i := range m.gens {
		m.gens[i].Add(1)
	}
	return nil
}

// GetType returns MemoryType.
func (m *Memory) GetType() string { return MemoryType }

// GetMulti returns one value per key, nil where the key is missing or
// expired. The values alias the store's copies: do not modify them.
func (m *Memory) GetMulti(_ context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		if e, ok := m.cache.GetIfPresent(k); ok {
			out[i] = e.value.([]byte)
		}
	}
	return out, nil
}

// SetNX stores a copy of value under key with ttl (the default TTL when 0)
// only if the key is absent or expired, atomically, and returns the value
// stored afterwards: its own or the one already there.
func (m *Memory) SetNX(_ context.Context, key string, value []byte, ttl time.Duration) ([]byte, error) {
	b := make([]byte, len(value))
	copy(b, value)
	if w := memoryWeight(key, b); w > m.maxBytes || w > math.MaxUint32 {
		// Unlike Set, leave an existing value alone: SetNX would not have
		// replaced it anyway.
		return nil, fmt.Errorf("memory setnx %q: %d bytes with overhead, bound %d: %w", key, w, m.maxBytes, ErrMemoryEntryTooLarge)
	}
	e, stored := m.cache.SetIfAbsent(key, m.entry(b, ttl))
	if stored {
		m.wrote(key)
	}
	return e.value.([]byte), nil
}

// SetMulti stores copies of values under keys, all with ttl (the default
// TTL when 0). It checks every entry before writing any, so a length
// mismatch or an oversized entry writes nothing.
func (m *Memory) SetMulti(_ context.Context, keys []string, values [][]byte, ttl time.Duration) error {
	if len(keys) != len(values) {
		return fmt.Errorf("memory setmulti: %d keys but %d values", len(keys), len(values))
	}
	for i, k := range keys {
		if err := m.fits(k, values[i]); err != nil {
			return fmt.Errorf("memory setmulti: %w", err)
		}
	}
	for i, k := range keys {
		b := make([]byte, len(values[i]))
		copy(b, values[i])
		m.cache.Set(k, m.entry(b, ttl))
		m.wrote(k)
	}
	return nil
}

// Close stops otter's background goroutines. The store must not be used
// afterwards.
func (m *Memory) Close() error {
	m.cache.StopAllGoroutines()
	return nil
}
