package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// Why this file exists: rueidis serves DoCache from a per-connection cache
// that Redis clears with an invalidation push. Since Redis 7 (redis/redis#9422)
// the push caused by a client's own write is sent after the write's reply,
// and rueidis may send the write and the cached read of the same key on
// different connections, so a read right after our own SET can return the
// old cached value (rueidis#534). The tracker below remembers, for a short
// window, what this store last wrote to a key; a cached read of such a key is
// trusted only when it agrees with that write, otherwise the store asks the
// server directly.

// redisOwnMark is what the store knows about its recent writes of one key.
// It is locked only by writers of that key and by readers of keys written
// in the last window; readers of other keys never see it.
type redisOwnMark struct {
	key      string
	mu       sync.Mutex
	dead     bool      // removed from the map; writers must make a new mark
	gen      uint64    // counts writes begun, to spot overlapping writes
	writers  int       // writes in flight
	deadline time.Time // after it, with no writer, the push has surely been handled
	known    bool      // expected/absent describe the key after the last write
	absent   bool      // the last write deleted the key
	expected string    // the value the last write stored
}

// redisOwnWrites maps prefixed keys to their marks.
type redisOwnWrites struct {
	window    time.Duration
	marks     sync.Map // string -> *redisOwnMark
	count     atomic.Int64
	sweeping  atomic.Bool
	lastSweep atomic.Int64 // unix nanoseconds
	// bypassUntil (unix nanoseconds) makes every read skip the client-side
	// cache: Clear deletes keys it does not mark one by one.
	bypassUntil atomic.Int64
	clearing    atomic.Int32 // Clear calls running
	// local, when set, is told of every write before it is sent and after
	// its reply, so that no mirrored copy older than the write survives it.
	local *redisLocal
}

// redisSweepAt is the number of marks above which writes sweep expired ones,
// so keys written once and never read again do not pile up.
const redisSweepAt = 1024

// begin records that a write of key starts and returns the mark and the
// write's generation for end.
func (o *redisOwnWrites) begin(key string) (*redisOwnMark, uint64) {
	if o.local != nil {
		o.local.invalidate([]string{key})
	}
	for {
		v, ok := o.marks.Load(key)
		if !ok {
			var loaded bool
			v, loaded = o.marks.LoadOrStore(key, &redisOwnMark{key: key})
			if !loaded {
				o.count.Add(1)
			}
		}
		m := v.(*redisOwnMark)
		m.mu.Lock()
		if m.dead { // a reader retired it between Load and Lock
			m.mu.Unlock()
			continue
		}
		m.gen++
		m.writers++
		m.known = false
		m.deadline = time.Now().Add(o.window)
		gen := m.gen
		m.mu.Unlock()
		return m, gen
	}
}

// end records that the write begun with gen finished. ok says the server
// applied it with the outcome given by absent/value; when the write failed or
// another write of the key overlapped it, the outcome is unknown and reads go
// to the server until the window passes.
func (o *redisOwnWrites) end(m *redisOwnMark, gen uint64, ok, absent bool, value string) {
	if o.local != nil {
		// A read that began during the write may have mirrored the old value.
		o.local.invalidate([]string{m.key})
	}
	m.mu.Lock()
	m.writers--
	// The window starts when the reply arrived: the push follows it.
	m.deadline = time.Now().Add(o.window)
	if ok && m.gen == gen {
		m.known, m.absent, m.expected = true, absent, value
	} else {
		m.known = false
	}
	m.mu.Unlock()
	if o.count.Load() > redisSweepAt {
		o.sweep()
	}
}

// lookup returns the mark of key, or nil when this store has not written key
// recently. It takes no lock.
func (o *redisOwnWrites) lookup(key string) *redisOwnMark {
	// A write counts its mark before it sends the command, so a read that
	// starts after a write returned never sees a zero count for it.
	if o.count.Load() == 0 {
		return nil
	}
	if v, ok := o.marks.Load(key); ok {
		return v.(*redisOwnMark)
	}
	return nil
}

// bypassAll reports whether reads must skip the client-side cache entirely.
func (o *redisOwnWrites) bypassAll() bool {
	if o.clearing.Load() > 0 {
		return true
	}
	until := o.bypassUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// trust reports whether a client-side cached read of key (value, or absent)
// may be returned. Within the window only a read that agrees with the last
// write is trusted. One agreeing read does not retire the mark: rueidis
// keeps a client-side cache per connection, and a read served by another
// connection (an MGET of other keys is routed by its first key) may still
// hold the old copy until its push arrives. The mark retires when the
// window has passed, and later reads take the lock-free path.
func (o *redisOwnWrites) trust(key string, m *redisOwnMark, absent bool, value string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead {
		return true
	}
	if m.writers > 0 {
		// A write is in flight: the caller's read is concurrent with it, but
		// it must still see the writes that finished before it, which only
		// the server knows for sure.
		return false
	}
	// The coarse clock lags: the window can only seem longer than it is.
	if coarseNow().Before(m.deadline) {
		return m.known && m.absent == absent && (absent || m.expected == value)
	}
	o.retire(key, m)
	return true
}

// retire removes m from the map; m.mu must be held.
func (o *redisOwnWrites) retire(key string, m *redisOwnMark) {
	m.dead = true
	m.expected = ""
	if o.marks.CompareAndDelete(key, m) {
		o.count.Add(-1)
	}
}

// sweep retires marks whose window has passed. One sweep runs at a time, at
// most once per window, so its cost is spread over many writes.
func (o *redisOwnWrites) sweep() {
	now := time.Now()
	if now.UnixNano()-o.lastSweep.Load() < int64(o.window) || !o.sweeping.CompareAndSwap(false, true) {
		return
	}
	defer o.sweeping.Store(false)
	o.lastSweep.Store(now.UnixNano())
	o.marks.Range(func(k, v any) bool {
		m := v.(*redisOwnMark)
		m.mu.Lock()
		if !m.dead && m.writers == 0 && now.After(m.deadline) {
			o.retire(k.(string), m)
		}
		m.mu.Unlock()
		return true
	})
}
