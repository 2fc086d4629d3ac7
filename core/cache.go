package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/keys"
)

var (
	// ErrNotFound is returned by a loader for a result that does not exist.
	// Core caches it as a negative entry and returns it to callers.
	ErrNotFound = errors.New("hydracache: not found")
	// ErrCacheMiss is returned in cache-only mode, and by Get, when no
	// valid entry exists.
	ErrCacheMiss = errors.New("hydracache: cache miss")
)

// LoadFunc loads the encoded value of a missing entry. It returns
// ErrNotFound (possibly wrapped) for a result that does not exist.
type LoadFunc func(ctx context.Context) ([]byte, error)

// Cache is the engine. It is safe for concurrent use.
type Cache struct {
	io  storeIO
	cfg config

	entryPrefix string // namespace + entry space, ending in ':'
	tagPrefix   string // namespace + tag space, ending in ':'
	epochKey    string // the namespace epoch, under every entry
	leasePrefix string // namespace + fill lease space, ending in ':'

	flights flightGroup
	brk     breaker
	stats   counters
	errs    burstLogger
	pending pendingBumps
	rand    func() float64 // in [0, 1); early refresh draws from it
}

// New returns a Cache over st, any gocache store.
func New(st lib_store.StoreInterface, opts ...Option) (*Cache, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidOption)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Cache{
		io:          newStoreIO(st),
		cfg:         cfg,
		entryPrefix: keys.Join("hc", cfg.namespace, "k") + ":",
		tagPrefix:   keys.Join("hc", cfg.namespace, "v") + ":",
		epochKey:    keys.Join("hc", cfg.namespace, "epoch"),
		leasePrefix: keys.Join("hc", cfg.namespace, "l") + ":",
		rand:        rand.Float64,
	}
	if c.io.ls == nil {
		c.cfg.leaseTTL = 0 // the store cannot take leases
	}
	c.errs = burstLogger{logger: cfg.logger, every: cfg.logEvery}
	c.pending.c = c
	c.flights.onJoin = func() { c.stats.joins.Add(1) }
	return c, nil
}

// Namespace returns the Cache's namespace.
func (c *Cache) Namespace() string { return c.cfg.namespace }

// Logger returns the logger the Cache reports to (WithLogger), for the
// plugins' own warnings.
func (c *Cache) Logger() *slog.Logger { return c.cfg.logger }

// Stats returns a snapshot of the counters.
func (c *Cache) Stats() Stats { return c.stats.snapshot() }

// Close stops the background retry of failed bumps. The Cache must not be
// used afterwards.
func (c *Cache) Close() error {
	c.pending.close()
	return nil
}

// readKeys returns the store keys of d: the entry, then each tag's version,
// then the namespace epoch. All keys are cut from one string, so a read
// allocates for its keys twice (the string and the slice), however many
// tags it has.
func (c *Cache) readKeys(d Descriptor) []string {
	n := len(c.entryPrefix) + len(d.Key)
	for _, t := range d.Tags {
		n += len(c.tagPrefix) + len(t)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(c.entryPrefix)
	b.WriteString(d.Key)
	for _, t := range d.Tags {
		b.WriteString(c.tagPrefix)
		b.WriteString(t)
	}
	all := b.String()
	ks := make([]string, len(d.Tags)+2)
	off := len(c.entryPrefix) + len(d.Key)
	ks[0] = all[:off]
	for i, t := range d.Tags {
		end := off + len(c.tagPrefix) + len(t)
		ks[i+1] = all[off:end]
		off = end
	}
	ks[len(ks)-1] = c.epochKey
	return ks
}

// Fetch returns the encoded value d describes: from the cache when a valid
// entry exists, else from load, whose result is stored with the tag
// versions read before it ran. The returned slice may alias the store's
// memory and other callers' results: it must not be modified.
//
// A store failure never fails Fetch: load is called and the failure
// counted. Only load's own errors, ErrNotFound (for a cached or loaded
// not-found), ErrCacheMiss (cache-only mode) and the caller's context
// errors are returned.
func (c *Cache) Fetch(ctx context.Context, d Descriptor, load LoadFunc) ([]byte, error) {
	return c.fetch(ctx, d, load, nil)
}

// FetchWith is Fetch with a loader made only when one is needed: newLoad
// runs on the caller's goroutine, before the load, when the entry must be
// loaded (a miss, a refresh, a bypass, an early refresh), and returns the
// loader. A plugin renders the statement there, from state that is only
// the caller's while it waits.
func (c *Cache) FetchWith(ctx context.Context, d Descriptor, newLoad func() LoadFunc) ([]byte, error) {
	return c.fetch(ctx, d, nil, newLoad)
}

// fetch is Fetch and FetchWith: load, when nil, is made by newLoad when
// it is needed.
func (c *Cache) fetch(ctx context.Context, d Descriptor, load LoadFunc, newLoad func() LoadFunc) ([]byte, error) {
	call, _ := ctx.Value(callKey{}).(callOptions)
	if call.mode == ModeBypass || len(d.Tags)+1 > maxTags || c.pending.blocks(d.Tags) || c.brk.skip(c.cfg.clock) {
		c.stats.bypassed.Add(1)
		return c.loadOnly(ctx, call.mode, load, newLoad)
	}
	ks, prep := c.keysOf(d)
	vals, versions, err := c.readEntry(ctx, ks, prep)
	if err != nil {
		return c.loadOnly(ctx, call.mode, load, newLoad)
	}
	if call.mode != ModeRefresh && vals[0] != nil {
		e, valid, err := decodeEntry(vals[0], versions)
		if err != nil {
			c.decodeError(ks[0], err)
		} else if now := c.cfg.clock.Now().UnixNano(); valid && now < e.expiresAt {
			c.stats.hits.Add(1)
			if d.Policy.EarlyRefresh > 0 && call.mode == ModeNormal && (load != nil || newLoad != nil) {
				c.maybeRefresh(ctx, d, ks, versions, call.ttl, load, newLoad, e, now)
			}
			if e.negative {
				c.stats.negativeHits.Add(1)
				return nil, ErrNotFound
			}
			return e.payload, nil
		}
	}
	c.stats.misses.Add(1)
	if call.mode == ModeCacheOnly {
		return nil, ErrCacheMiss
	}
	if d.Epoch != "" && string(versions[len(versions)-1]) != d.Epoch {
		// Made before the last flush: load, and store nothing.
		c.stats.bypassed.Add(1)
		return c.loadOnly(ctx, call.mode, load, newLoad)
	}
	load = loaderOf(load, newLoad)
	if call.mode == ModeRefresh {
		return c.loadAndStore(ctx, d, ks, versions, call.ttl, load)
	}
	fill := func(lctx context.Context) ([]byte, error) {
		if c.cfg.leaseTTL > 0 {
			return c.leasedFill(lctx, d, ks, versions, call.ttl, load)
		}
		return c.loadAndStore(lctx, d, ks, versions, call.ttl, load)
	}
	// Callers that read different versions must not share a load: one that
	// started after a bump would otherwise get a result loaded before it.
	return c.flights.do(ctx, flightKey("", ks[0], versions), fill)
}

// readEntry reads the entry of ks[0] and the current versions of its tags
// (seeding missing ones). For a prepared descriptor on a Generations store
// it reuses the versions read before while none of their keys may have
// been written, and reads the entry alone; on a BatchPreparer store it
// reads through the store's prepared reader. A store error is reported and
// returned.
func (c *Cache) readEntry(ctx context.Context, ks []string, prep *prepared) (vals, versions [][]byte, err error) {
	// The generations are taken before the read: a write during it
	// changes them, so what the read saw is never remembered under the
	// later ones.
	versions, gens := prep.versions()
	switch {
	case versions != nil:
		vals, err = c.io.getMulti(ctx, ks[:1]) // the entry alone
	case prep != nil && prep.read != nil:
		vals, err = c.io.getPrepared(ctx, prep.read, len(ks))
	default:
		vals, err = c.io.getMulti(ctx, ks)
	}
	if err != nil {
		c.storeError("read", err)
		return nil, nil, err
	}
	c.brk.success()
	if versions != nil {
		return vals, versions, nil
	}
	versions, err = c.versions(ctx, ks[1:], vals[1:])
	if err != nil {
		c.storeError("seed tag versions", err)
		return nil, nil, err
	}
	if gens != nil && allStamps(vals[1:]) {
		prep.memo.Store(&versionMemo{gens: gens, versions: versions})
	}
	return vals, versions, nil
}

// allStamps reports whether every tag version was in the store (none had
// to be seeded).
func allStamps(vals [][]byte) bool {
	for _, v := range vals {
		if len(v) != stampSize {
			return false
		}
	}
	return true
}

// flightKey names the load of entry key under versions, after prefix.
func flightKey(prefix, key string, versions [][]byte) string {
	var fk strings.Builder
	fk.Grow(len(prefix) + len(key) + len(versions)*stampSize)
	fk.WriteString(prefix)
	fk.WriteString(key)
	for _, v := range versions {
		fk.Write(v)
	}
	return fk.String()
}

// loaderOf returns load, or the loader newLoad makes when load is nil.
func loaderOf(load LoadFunc, newLoad func() LoadFunc) LoadFunc {
	if load == nil && newLoad != nil {
		return newLoad()
	}
	return load
}

func (c *Cache) loadOnly(ctx context.Context, mode Mode, load LoadFunc, newLoad func() LoadFunc) ([]byte, error) {
	if mode == ModeCacheOnly {
		return nil, ErrCacheMiss
	}
	load = loaderOf(load, newLoad)
	if load == nil {
		return nil, ErrCacheMiss
	}
	c.stats.loads.Add(1)
	return load(ctx)
}

// versions returns the current version of each tag key, seeding the
// missing ones with fresh random stamps.
func (c *Cache) versions(ctx context.Context, tagKeys []string, vals [][]byte) ([][]byte, error) {
	for i, v := range vals {
		if len(v) == stampSize {
			continue
		}
		// Missing, or not a version we wrote: never "version zero", always
		// a fresh stamp, which kills entries recorded under the old one.
		cur, err := c.io.setNX(ctx, tagKeys[i], newStamp(), c.cfg.tagTTL)
		if err != nil {
			return nil, err
		}
		if len(cur) != stampSize {
			cur = newStamp()
			if err := c.io.set(ctx, tagKeys[i], cur, c.cfg.tagTTL); err != nil {
				return nil, err
			}
		}
		vals[i] = cur
	}
	return vals, nil
}

func (c *Cache) loadAndStore(ctx context.Context, d Descriptor, ks []string, versions [][]byte, ttlOverride time.Duration, load LoadFunc) ([]byte, error) {
	if load == nil {
		return nil, ErrCacheMiss
	}
	c.stats.loads.Add(1)
	start := c.cfg.clock.Now()
	val, lerr := load(ctx)
	took := c.cfg.clock.Now().Sub(start)
	negative := lerr != nil && errors.Is(lerr, ErrNotFound)
	if lerr != nil && !negative {
		return nil, lerr // errors are never cached
	}
	ttl := c.entryTTL(d.Policy, negative, ttlOverride)
	if ttl <= 0 {
		return val, lerr
	}
	// A bump that landed while load ran makes its result suspect: discard
	// it rather than store an entry that is dead on arrival at best.
	now, err := c.io.getMulti(ctx, ks[1:])
	if err != nil {
		c.storeError("re-read tag versions", err)
		return val, lerr
	}
	for i, v := range now {
		if string(v) != string(versions[i]) {
			c.stats.staleLoads.Add(1)
			return val, lerr
		}
	}
	expires := c.cfg.clock.Now().Add(ttl).UnixNano()
	if err := c.io.set(ctx, ks[0], encodeEntry(negative, expires, took, versions, val), ttl); err != nil {
		c.storeError("fill", err)
	}
	return val, lerr
}

func (c *Cache) entryTTL(p Policy, negative bool, override time.Duration) time.Duration {
	if negative {
		switch {
		case p.NegativeTTL < 0:
			return 0
		case p.NegativeTTL > 0:
			return p.NegativeTTL
		}
		return c.cfg.negativeTTL
	}
	ttl := c.cfg.ttl
	if p.TTL > 0 {
		ttl = p.TTL
	}
	if override > 0 {
		ttl = override
	}
	if j := c.cfg.jitter; j > 0 {
		ttl = time.Duration(float64(ttl) * (1 + j*(2*rand.Float64()-1)))
	}
	return ttl
}

// Put stores payload as the entry d describes, under the tag versions
// current now. Writing a value older than a committed change is the
// caller's mistake; Fetch never does it.
func (c *Cache) Put(ctx context.Context, d Descriptor, payload []byte) error {
	if len(d.Tags)+1 > maxTags {
		return fmt.Errorf("hydracache: %d tags, at most %d", len(d.Tags), maxTags-1)
	}
	ks := c.readKeys(d)
	vals, err := c.io.getMulti(ctx, ks[1:])
	if err != nil {
		return fmt.Errorf("hydracache: put %q: %w", d.Key, err)
	}
	versions, err := c.versions(ctx, ks[1:], vals)
	if err != nil {
		return fmt.Errorf("hydracache: put %q: %w", d.Key, err)
	}
	ttlOverride, _ := TTLFrom(ctx)
	ttl := c.entryTTL(d.Policy, false, ttlOverride)
	expires := c.cfg.clock.Now().Add(ttl).UnixNano()
	if err := c.io.set(ctx, ks[0], encodeEntry(false, expires, 0, versions, payload), ttl); err != nil {
		return fmt.Errorf("hydracache: put %q: %w", d.Key, err)
	}
	return nil
}

// InvalidateTags gives each tag a new version, which invalidates every
// entry that carries it, in this process at once and in others sharing the
// store as soon as they read the new version. A bump that fails is
// retried in the background; until it lands this Cache serves no cached
// read of those tags. The error says the bump is pending.
func (c *Cache) InvalidateTags(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	ks := make([]string, len(tags))
	for i, t := range tags {
		ks[i] = c.tagPrefix + t
	}
	if err := c.bumpOrRetry(ctx, ks, "bump"); err != nil {
		return fmt.Errorf("hydracache: bump %d tags (will retry): %w", len(tags), err)
	}
	return nil
}

// bumpOrRetry bumps tagKeys; when that fails, they are left to the
// background retry, which keeps cached reads of them off until it lands.
func (c *Cache) bumpOrRetry(ctx context.Context, tagKeys []string, op string) error {
	if err := c.bump(ctx, tagKeys); err != nil {
		c.pending.add(tagKeys)
		c.storeError(op, err)
		return err
	}
	return nil
}

func (c *Cache) bump(ctx context.Context, tagKeys []string) error {
	vals := make([][]byte, len(tagKeys))
	for i := range vals {
		vals[i] = newStamp()
	}
	if err := c.io.setMulti(ctx, tagKeys, vals, c.cfg.tagTTL); err != nil {
		return err
	}
	c.brk.success()
	c.stats.bumps.Add(uint64(len(tagKeys)))
	return nil
}

// InvalidateKey deletes the entry stored under key (a Descriptor's Key).
func (c *Cache) InvalidateKey(ctx context.Context, key string) error {
	if err := c.io.delete(ctx, c.entryPrefix+key); err != nil {
		c.storeError("delete", err)
		return fmt.Errorf("hydracache: invalidate key %q: %w", key, err)
	}
	return nil
}

// Flush invalidates every entry of the namespace by bumping its epoch. It
// deletes nothing, and nothing outside the namespace is affected.
func (c *Cache) Flush(ctx context.Context) error {
	if err := c.bumpOrRetry(ctx, []string{c.epochKey}, "flush"); err != nil {
		return fmt.Errorf("hydracache: flush (will retry): %w", err)
	}
	return nil
}

// FlushVersion returns a token that changes whenever the namespace is
// flushed (Flush, and the DDL the plugins see): state derived from the
// database's schema, such as the plugins' view of its foreign keys, is
// reloaded when it changes. Processes sharing a store see each other's
// flushes.
func (c *Cache) FlushVersion(ctx context.Context) (string, error) {
	vals, err := c.io.getMulti(ctx, []string{c.epochKey})
	if err != nil {
		c.storeError("read flush version", err)
		return "", fmt.Errorf("hydracache: flush version: %w", err)
	}
	v, err := c.versions(ctx, []string{c.epochKey}, vals)
	if err != nil {
		c.storeError("seed flush version", err)
		return "", fmt.Errorf("hydracache: flush version: %w", err)
	}
	return string(v[0]), nil
}

func (c *Cache) storeError(op string, err error) {
	c.stats.storeErrors.Add(1)
	c.brk.fail(c.cfg.clock)
	c.errs.log("hydracache: store error, reads fall back to the loader", "op", op, "namespace", c.cfg.namespace, "err", err)
}

func (c *Cache) decodeError(key string, err error) {
	c.stats.decodeErrors.Add(1)
	c.errs.log("hydracache: undecodable cache entry treated as a miss", "key", key, "err", err)
}

// burstLogger logs the first error of a burst and counts the rest, so a
// store outage does not log once per read.
type burstLogger struct {
	logger     interface{ Warn(string, ...any) }
	every      time.Duration
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (b *burstLogger) log(msg string, args ...any) {
	b.mu.Lock()
	now := time.Now()
	if !b.last.IsZero() && now.Sub(b.last) < b.every {
		b.suppressed++
		b.mu.Unlock()
		return
	}
	n := b.suppressed
	b.last, b.suppressed = now, 0
	b.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	b.logger.Warn(msg, args...)
}
