package store

import (
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"
	"github.com/redis/rueidis"
)

// redisLocal mirrors, in process memory, values the store read through
// rueidis's client-side cache, for stores made by DialRedis. A lookup in it
// costs a map read; rueidis's own cached read costs several times that
// (command building, slot hashing, its LRU), and a core hit reads four keys.
//
// It is exactly as coherent as rueidis's cache: a value enters only when it
// was read through the client-side cache, so Redis tracks the key for this
// client, and it leaves when Redis's invalidation push for the key arrives
// (DialRedis hooks rueidis's OnInvalidations), when a connection closes
// (rueidis then reports a nil invalidation: everything leaves), or when this
// store writes the key.
type redisLocal struct {
	cache *otter.Cache[string, []byte]
	// mu orders fills against invalidations: a fill stores its value only if
	// no invalidation happened since the read it comes from began.
	mu  sync.Mutex
	gen atomic.Uint64
}

// redisLocalMaxValue is the largest value mirrored; bigger ones are read
// from rueidis's cache each time. Tag versions are 16 bytes and a one-row
// entry a few hundred.
const redisLocalMaxValue = 4 << 10

func newRedisLocal(maxBytes int64) (*redisLocal, error) {
	c, err := otter.New(&otter.Options[string, []byte]{
		Clock:         coarseClock(),
		MaximumWeight: uint64(maxBytes),
		Weigher: func(k string, v []byte) uint32 {
			return uint32(len(k) + len(v) + MemoryEntryOverhead)
		},
	})
	if err != nil {
		return nil, err
	}
	return &redisLocal{cache: c}, nil
}

// get returns the mirrored value of key, if any.
func (l *redisLocal) get(key string) ([]byte, bool) {
	return l.cache.GetIfPresent(key)
}

// begin returns the generation a fill must still see to store its values.
func (l *redisLocal) begin() uint64 { return l.gen.Load() }

// fill mirrors values read since begin returned gen, unless something was
// invalidated meanwhile (it might have been one of these keys).
func (l *redisLocal) fill(gen uint64, keys []string, vals [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen.Load() != gen {
		return
	}
	for i, k := range keys {
		if v := vals[i]; v != nil && len(v) <= redisLocalMaxValue {
			l.cache.Set(k, v)
		}
	}
}

// invalidate drops keys; nil drops everything.
func (l *redisLocal) invalidate(keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen.Add(1)
	if keys == nil {
		l.cache.InvalidateAll()
		return
	}
	for _, k := range keys {
		l.cache.Invalidate(k)
	}
}

// onInvalidations is rueidis's OnInvalidations callback: nil means the
// connection's tracking is gone (closed, or the server flushed).
func (l *redisLocal) onInvalidations(msgs []rueidis.RedisMessage) {
	if msgs == nil {
		l.invalidate(nil)
		return
	}
	keys := make([]string, 0, len(msgs))
	for _, m := range msgs {
		k, err := m.ToString()
		if err != nil {
			l.invalidate(nil) // unreadable: drop everything rather than guess
			return
		}
		keys = append(keys, k)
	}
	l.invalidate(keys)
}

func (l *redisLocal) close() { l.cache.StopAllGoroutines() }
