package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	lib "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"
)

// RedisType is what (*Redis).GetType returns.
const RedisType = "hydracache-redis"

// DefaultRedisPrefix is the key prefix of a Redis store built without
// WithPrefix.
const DefaultRedisPrefix = "hydracache:"

// DefaultRedisClientCacheTTL is how long an entry may live in rueidis's
// client-side cache unless WithClientCacheTTL says otherwise.
const DefaultRedisClientCacheTTL = time.Minute

// DefaultRedisOwnWriteWindow is the own-write window unless
// WithOwnWriteWindow says otherwise.
const DefaultRedisOwnWriteWindow = 2 * time.Second

// Redis is a gocache store (lib/v4 store.StoreInterface) on a rueidis client.
// Reads go through rueidis's client-side cache, so a warm read costs no round
// trip and other processes' writes reach it by Redis's invalidation push.
// Writes by this store are visible to this store's next read at once (see
// WithOwnWriteWindow).
//
// Every key the store touches is its prefix followed by the caller's key.
// Each operation sends single-key commands only (batches are grouped by
// rueidis per slot), and Clear scans every node, so the store works on Redis
// Cluster; it never sends FLUSHALL or FLUSHDB. Client-side caching needs
// RESP3 (Redis 6 or later); SetNX needs Redis 7 (SET with NX and GET).
type Redis struct {
	// cl is the connection; nil while a store made by DialRedis waits for
	// Redis to come up.
	cl      atomic.Pointer[redisConn]
	dialing *redisDialer // DialRedis, Redis down at first: connects in the background
	prefix  string
	csTTL   time.Duration
	own     redisOwnWrites
	local   *redisLocal   // DialRedis only: mirror of client-side cached values
	owned   bool          // DialRedis made the client: Close closes it
	timeout time.Duration // bounds each network call (WithTimeout)
}

type redisConfig struct {
	prefix     string
	csTTL      time.Duration
	window     time.Duration
	localBytes int64
	timeout    time.Duration
}

// RedisOption configures NewRedis.
type RedisOption func(*redisConfig)

// WithPrefix sets the prefix put in front of every key the store touches
// (default DefaultRedisPrefix). Clear deletes only keys under it. It must not
// be empty, so that Clear can never delete the whole database.
func WithPrefix(p string) RedisOption {
	return func(c *redisConfig) { c.prefix = p }
}

// WithClientCacheTTL sets how long a value may stay in rueidis's client-side
// cache (default DefaultRedisClientCacheTTL). rueidis also bounds it by the
// key's TTL on the server. A value of zero or less turns client-side caching
// off for this store: every read is a round trip.
func WithClientCacheTTL(d time.Duration) RedisOption {
	return func(c *redisConfig) { c.csTTL = d }
}

// WithOwnWriteWindow sets how long after writing a key this store distrusts
// its client-side cache for that key (default DefaultRedisOwnWriteWindow).
//
// Redis sends the invalidation push caused by a write after the write's reply
// (redis/redis#9422), possibly on another of rueidis's connections, so a read
// right after a write could see the old cached value (rueidis#534). Within the
// window a cached value of a key this store wrote is returned only if it
// equals what the write left (the push has then been handled, or the value is
// the same); otherwise the store reads the server directly. The window only
// needs to exceed the push's delivery time; a longer one costs extra round
// trips for keys whose value another process changed after ours.
func WithOwnWriteWindow(d time.Duration) RedisOption {
	return func(c *redisConfig) { c.window = d }
}

// NewRedis returns a store on client. The client is the caller's: the store
// never closes it. Client-side caching is used unless the client was created
// with DisableCache.
func NewRedis(client rueidis.Client, opts ...RedisOption) (*Redis, error) {
	if client == nil {
		return nil, errors.New("hydracache/store: NewRedis: nil rueidis client")
	}
	r, err := newRedis(redisConfigOf(opts))
	if err != nil {
		return nil, err
	}
	r.connect(client)
	return r, nil
}

// redisConfigOf applies opts to the defaults.
func redisConfigOf(opts []RedisOption) redisConfig {
	cfg := redisConfig{
		prefix:     DefaultRedisPrefix,
		csTTL:      DefaultRedisClientCacheTTL,
		window:     DefaultRedisOwnWriteWindow,
		timeout:    DefaultRedisTimeout,
		localBytes: DefaultRedisLocalBytes,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	return cfg
}

// newRedis returns a store of cfg with no connection yet.
func newRedis(cfg redisConfig) (*Redis, error) {
	if cfg.prefix == "" {
		return nil, errors.New("hydracache/store: NewRedis: empty key prefix (Clear would delete every key)")
	}
	if cfg.window <= 0 {
		return nil, fmt.Errorf("hydracache/store: NewRedis: own-write window must be positive, got %v", cfg.window)
	}
	r := &Redis{prefix: cfg.prefix, csTTL: cfg.csTTL, timeout: cfg.timeout}
	r.own.window = cfg.window
	return r, nil
}

// redisConn is a store's rueidis client and what the store needs to know
// of it.
type redisConn struct {
	rueidis.Client
	cluster bool // keys of one batch may live in different slots
}

// connect makes client the store's connection.
func (r *Redis) connect(client rueidis.Client) {
	r.cl.Store(&redisConn{Client: client, cluster: client.Mode() == rueidis.ClientModeCluster})
}

// ErrRedisUnavailable is wrapped by the errors of a store made by
// DialRedis while Redis could not be reached; core then reads the
// database, as for any store failure, until the store connects.
var ErrRedisUnavailable = errors.New("hydracache/store: redis not connected yet")

// conn returns the store's connection, or ErrRedisUnavailable while a
// DialRedis store has none.
func (r *Redis) conn() (*redisConn, error) {
	if c := r.cl.Load(); c != nil {
		return c, nil
	}
	return nil, ErrRedisUnavailable
}

// DefaultDialConnWriteTimeout is the rueidis ConnWriteTimeout DialRedis
// sets when opt leaves it zero: how soon a connection that stopped
// answering is given up, and so how long a process cut off from Redis keeps
// serving values another process may have changed.
const DefaultDialConnWriteTimeout = time.Second

// DefaultRedisLocalBytes bounds the in-process mirror of a DialRedis store
// unless WithLocalBytes says otherwise.
const DefaultRedisLocalBytes int64 = 32 << 20

// WithLocalBytes bounds the in-process mirror that a store made by DialRedis
// keeps of values read through the client-side cache (default
// DefaultRedisLocalBytes); 0 turns the mirror off. NewRedis ignores it.
func WithLocalBytes(n int64) RedisOption {
	return func(c *redisConfig) { c.localBytes = n }
}

// DialRedis creates a rueidis client from opt and a store on it that owns
// it (Close closes both). Unlike NewRedis, it can hook the client's
// invalidation pushes, so the store keeps an in-process mirror of the values
// it read through the client-side cache: a warm read of several keys then
// costs map lookups instead of one rueidis cached command (see
// BenchmarkHit in core). The mirror drops a key when Redis's push for it
// arrives, when a connection closes, and when this store writes it, so it is
// exactly as fresh as rueidis's own cache. An OnInvalidations callback in
// opt still runs. A zero opt.ConnWriteTimeout becomes
// DefaultDialConnWriteTimeout.
func DialRedis(opt rueidis.ClientOption, opts ...RedisOption) (*Redis, error) {
	cfg := redisConfigOf(opts)
	if cfg.localBytes < 0 {
		return nil, fmt.Errorf("hydracache/store: DialRedis: negative local bytes %d", cfg.localBytes)
	}
	if opt.ConnWriteTimeout == 0 {
		// rueidis's default (10 s) is also how long a process cut off from
		// Redis goes on trusting cached values whose invalidation it can no
		// longer receive: the fault tests measured about 12 s with it.
		opt.ConnWriteTimeout = DefaultDialConnWriteTimeout
	}
	var local *redisLocal
	if cfg.localBytes > 0 && !opt.DisableCache {
		var err error
		if local, err = newRedisLocal(cfg.localBytes); err != nil {
			return nil, fmt.Errorf("hydracache/store: DialRedis: local mirror: %w", err)
		}
		user := opt.OnInvalidations
		opt.OnInvalidations = func(msgs []rueidis.RedisMessage) {
			local.onInvalidations(msgs)
			if user != nil {
				user(msgs)
			}
		}
	}
	r, err := newRedis(cfg)
	if err != nil {
		if local != nil {
			local.close()
		}
		return nil, err
	}
	r.local, r.own.local, r.owned = local, local, true
	client, err := rueidis.NewClient(opt)
	switch {
	case err == nil:
		r.connect(client)
	case unreachable(err):
		// Redis is down: serve as a failing store does (reads go to the
		// database) and connect when it comes up.
		r.dialing = startDialer(r, opt)
	default:
		if local != nil {
			local.close()
		}
		return nil, fmt.Errorf("hydracache/store: DialRedis: %w", err)
	}
	return r, nil
}

// Close closes the client if DialRedis made it, and stops the mirror's
// maintenance. A store from NewRedis leaves its client to the caller.
func (r *Redis) Close() error {
	if r.dialing != nil {
		r.dialing.stop()
	}
	if r.local != nil {
		r.local.close()
	}
	if c := r.cl.Load(); r.owned && c != nil {
		c.Close()
	}
	return nil
}

// Client returns the rueidis client the store uses; nil while a store made
// by DialRedis has not connected yet.
func (r *Redis) Client() rueidis.Client {
	if c := r.cl.Load(); c != nil {
		return c.Client
	}
	return nil
}

// Prefix returns the prefix of every key the store touches.
func (r *Redis) Prefix() string { return r.prefix }

// GetType returns RedisType.
func (r *Redis) GetType() string { return RedisType }

// redisKeyString turns a gocache key into a string: strings as they are,
// fmt.Stringer values through String.
func redisKeyString(key any) (string, error) {
	switch k := key.(type) {
	case string:
		return k, nil
	case fmt.Stringer:
		return k.String(), nil
	default:
		return "", fmt.Errorf("hydracache/store: key of type %T: want string", key)
	}
}

func (r *Redis) fullKey(key any) (string, error) {
	k, err := redisKeyString(key)
	if err != nil {
		return "", err
	}
	return r.prefix + k, nil
}

// redisNotFound is the error for a missing key; errors.Is(err,
// lib.NotFound{}) holds for it.
func redisNotFound(key string) error {
	return fmt.Errorf("hydracache/store: redis get %q: %w", key, lib.NotFoundWithCause(rueidis.Nil))
}

// Get returns the value of key as a new []byte, or an error satisfying
// errors.Is(err, store.NotFound{}) (gocache lib/v4) when the key is missing.
func (r *Redis) Get(ctx context.Context, key any) (any, error) {
	k, err := r.fullKey(key)
	if err != nil {
		return nil, fmt.Errorf("hydracache/store: redis get: %w", err)
	}
	v, found, err := r.get(ctx, k)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, redisNotFound(k)
	}
	return []byte(v), nil
}

// get reads one prefixed key, from the client-side cache when that is safe.
func (r *Redis) get(ctx context.Context, k string) (string, bool, error) {
	c, err := r.conn()
	if err != nil {
		return "", false, fmt.Errorf("hydracache/store: redis get %q: %w", k, err)
	}
	ctx, lazy := r.lazyCtx(ctx)
	defer lazy.release()
	if r.csTTL > 0 && !r.own.bypassAll() {
		mark := r.own.lookup(k)
		v, found, err := redisString(c.DoCache(ctx, c.B().Get().Key(k).Cache(), r.csTTL))
		if err != nil {
			return "", false, fmt.Errorf("hydracache/store: redis get %q: %w", k, err)
		}
		if mark == nil || r.own.trust(k, mark, !found, v) {
			return v, found, nil
		}
	}
	v, found, err := redisString(c.Do(ctx, c.B().Get().Key(k).Build()))
	if err != nil {
		return "", false, fmt.Errorf("hydracache/store: redis get %q: %w", k, err)
	}
	return v, found, nil
}

// redisString reads a GET-like reply: the string, whether the key exists.
func redisString(res rueidis.RedisResult) (string, bool, error) {
	v, err := res.ToString()
	if err != nil {
		if rueidis.IsRedisNil(err) {
			return "", false, nil
		}
		return "", false, err
	}
	return v, true, nil
}

// GetWithTTL returns the value of key and its remaining TTL on the server (0
// when it has none). It always asks the server, in one round trip: a
// remaining TTL cannot be served from the client-side cache.
func (r *Redis) GetWithTTL(ctx context.Context, key any) (any, time.Duration, error) {
	c, err := r.conn()
	if err != nil {
		return nil, 0, fmt.Errorf("hydracache/store: redis get with ttl: %w", err)
	}
	k, err := r.fullKey(key)
	if err != nil {
		return nil, 0, fmt.Errorf("hydracache/store: redis get with ttl: %w", err)
	}
	ctx, cancel := r.timeoutCtx(ctx)
	defer cancel()
	res := c.DoMulti(ctx, c.B().Get().Key(k).Build(), c.B().Pttl().Key(k).Build())
	v, found, err := redisString(res[0])
	if err != nil {
		return nil, 0, fmt.Errorf("hydracache/store: redis get %q: %w", k, err)
	}
	pttl, err := res[1].AsInt64()
	if err != nil {
		return nil, 0, fmt.Errorf("hydracache/store: redis pttl %q: %w", k, err)
	}
	if !found {
		return nil, 0, redisNotFound(k)
	}
	if pttl < 0 { // -1: no expiry; -2: expired between GET and PTTL
		pttl = 0
	}
	return []byte(v), time.Duration(pttl) * time.Millisecond, nil
}

// redisEmpty is returned for an existing empty value, so that only missing
// keys read as nil.
var redisEmpty = []byte{}

// GetMulti reads keys in at most one round trip, from the client-side cache
// where warm (rueidis groups the GETs per slot on a cluster). The result has
// one element per key, nil where the key is missing. The returned slices
// alias rueidis's cached memory and must not be modified (core never does).
// Right after this store wrote one of the keys, a stale cached copy costs a
// second round trip for that key (see WithOwnWriteWindow).
func (r *Redis) GetMulti(ctx context.Context, keys []string) ([][]byte, error) {
	return r.getMulti(ctx, keys, nil)
}

// getMulti is GetMulti, with the prefixed keys and commands of pre when it
// is not nil (pre was prepared for keys).
func (r *Redis) getMulti(ctx context.Context, keys []string, pre *redisPrepared) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	c, err := r.conn()
	if err != nil {
		return nil, fmt.Errorf("hydracache/store: redis get %d keys: %w", len(keys), err)
	}
	if pre != nil && pre.c != c {
		pre = nil // prepared before the store connected
	}
	if r.csTTL <= 0 || r.own.bypassAll() {
		ctx, lazy := r.lazyCtx(ctx)
		defer lazy.release()
		if err := r.getMultiDirect(ctx, c, keys, nil, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	var full []string
	if pre != nil {
		full = pre.full
	} else {
		full = r.fullKeys(keys)
	}
	if r.local == nil {
		ctx, lazy := r.lazyCtx(ctx) // not started by a client-side cache hit
		defer lazy.release()
		if err := r.getMultiCached(ctx, c, keys, full, nil, out, pre); err != nil {
			return nil, err
		}
		return out, nil
	}
	var missing []int
	for i, k := range full {
		if v, ok := r.local.get(k); ok {
			out[i] = v
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return out, nil // mirror hits: no timeout needed, none made
	}
	if len(missing) == len(keys) {
		missing = nil // all of them: pre's commands fit
	} else {
		pre = nil
	}
	ctx, lazy := r.lazyCtx(ctx)
	defer lazy.release()
	if err := r.getMultiCached(ctx, c, keys, full, missing, out, pre); err != nil {
		return nil, err
	}
	return out, nil
}

// getMultiCached reads keys[i] for each i in idx (all keys when idx is nil)
// through the client-side cache into out. With a local mirror, values that
// came from the client-side cache and passed the own-write check are
// mirrored; values read from the server directly are not (Redis does not
// track them for us). pre, prepared for keys, may be given only with a nil
// idx: its commands are then sent instead of new ones.
func (r *Redis) getMultiCached(ctx context.Context, c *redisConn, keys, full []string, idx []int, out [][]byte, pre *redisPrepared) error {
	var gen uint64
	if r.local != nil {
		gen = r.local.begin()
	}
	sub := full
	if idx != nil {
		sub = make([]string, len(idx))
		for j, i := range idx {
			sub[j] = full[i]
		}
	}
	vals := out // all keys: read straight into out
	if idx != nil {
		vals = make([][]byte, len(sub))
	}
	var recheck []int
	if len(sub) == 1 {
		// One key: a cached GET. (A one-command DoMultiCache tripped a race
		// report inside rueidis after dropped connections.)
		var cmd rueidis.Cacheable
		if pre != nil {
			cmd = pre.one
		} else {
			cmd = c.B().Get().Key(sub[0]).Cache()
		}
		res := c.DoCache(ctx, cmd, r.csTTL)
		if err := r.accept(0, sub[0], res, vals, &recheck); err != nil {
			return err
		}
	} else if c.cluster {
		// MGET cannot cross slots on a cluster: DoMultiCache groups the GETs
		// per slot and node.
		var cmds []rueidis.CacheableTTL
		if pre != nil {
			cmds = pre.gets
		} else {
			cmds = make([]rueidis.CacheableTTL, len(sub))
			for j, k := range sub {
				cmds[j] = rueidis.CT(c.B().Get().Key(k).Cache(), r.csTTL)
			}
		}
		for j, res := range c.DoMultiCache(ctx, cmds...) {
			if err := r.accept(j, sub[j], res, vals, &recheck); err != nil {
				return err
			}
		}
	} else {
		// One cached MGET: rueidis serves it key by key from its cache and
		// sends only the missing keys. DoMultiCache would spread the keys
		// over rueidis's connections and start goroutines even when every
		// key is cached (about 7 us instead of about 3 us for three keys in
		// BenchmarkRedisGetMultiWarm on a loaded two-core machine).
		var cmd rueidis.Cacheable
		if pre != nil {
			cmd = pre.one
		} else {
			cmd = c.B().Mget().Key(sub...).Cache()
		}
		msgs, err := c.DoCache(ctx, cmd, r.csTTL).ToArray()
		if err != nil {
			return fmt.Errorf("hydracache/store: redis mget %d keys: %w", len(sub), err)
		}
		if len(msgs) != len(sub) {
			return fmt.Errorf("hydracache/store: redis mget: %d replies for %d keys", len(msgs), len(sub))
		}
		for j := range msgs {
			if err := r.accept(j, sub[j], rueidis.NewResult(msgs[j], nil), vals, &recheck); err != nil {
				return err
			}
		}
	}
	if r.local != nil {
		// Before the rechecked keys' direct reads land in vals: those are
		// not tracked for us, and recheck's entries are still nil here.
		r.local.fill(gen, sub, vals)
	}
	if len(recheck) > 0 {
		subKeys := keys
		if idx != nil {
			subKeys = make([]string, len(idx))
			for j, i := range idx {
				subKeys[j] = keys[i]
			}
		}
		if err := r.getMultiDirect(ctx, c, subKeys, recheck, vals); err != nil {
			return err
		}
	}
	for j, i := range idx {
		out[i] = vals[j]
	}
	return nil
}

// fullKeys prefixes keys, cutting them all from one string: one allocation
// for the lot instead of one per key.
func (r *Redis) fullKeys(keys []string) []string {
	n := len(r.prefix) * len(keys)
	for _, k := range keys {
		n += len(k)
	}
	var b strings.Builder
	b.Grow(n)
	for _, k := range keys {
		b.WriteString(r.prefix)
		b.WriteString(k)
	}
	all := b.String()
	full := make([]string, len(keys))
	off := 0
	for i, k := range keys {
		end := off + len(r.prefix) + len(k)
		full[i] = all[off:end]
		off = end
	}
	return full
}

// accept puts the cached read res of full (the i-th key) into out, or adds
// i to recheck when this store's own recent write makes the cached value
// untrustworthy.
func (r *Redis) accept(i int, full string, res rueidis.RedisResult, out [][]byte, recheck *[]int) error {
	v, found, err := redisString(res)
	if err != nil {
		return fmt.Errorf("hydracache/store: redis get %q: %w", full, err)
	}
	if mark := r.own.lookup(full); mark != nil && !r.own.trust(full, mark, !found, v) {
		*recheck = append(*recheck, i)
		return nil
	}
	if found {
		out[i] = redisBytes(v)
	}
	return nil
}

// getMultiDirect reads keys[i] for each i in idx (all keys when idx is nil)
// from the server, bypassing the client-side cache, into out.
func (r *Redis) getMultiDirect(ctx context.Context, c *redisConn, keys []string, idx []int, out [][]byte) error {
	if idx == nil {
		idx = make([]int, len(keys))
		for i := range idx {
			idx[i] = i
		}
	}
	cmds := make(rueidis.Commands, len(idx))
	for j, i := range idx {
		cmds[j] = c.B().Get().Key(r.prefix + keys[i]).Build()
	}
	for j, res := range c.DoMulti(ctx, cmds...) {
		v, found, err := redisString(res)
		if err != nil {
			return fmt.Errorf("hydracache/store: redis get %q: %w", r.prefix+keys[idx[j]], err)
		}
		out[idx[j]] = nil
		if found {
			out[idx[j]] = redisBytes(v)
		}
	}
	return nil
}

// redisBytes views s as a byte slice without copying; callers must not
// modify it.
func redisBytes(s string) []byte {
	if len(s) == 0 {
		return redisEmpty
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// redisValue converts a Set value to the string sent to Redis. A []byte is
// viewed without copying: Set does not keep it after returning.
func redisValue(value any) (string, error) {
	switch v := value.(type) {
	case []byte:
		return rueidis.BinaryString(v), nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%w: got %T", ErrUnsupportedValue, value)
	}
}

// redisPX converts a TTL to whole milliseconds for SET ... PX, rounding up
// so that a TTL below one millisecond still expires instead of failing.
// Zero means no expiry.
func redisPX(ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, fmt.Errorf("hydracache/store: negative TTL %v", ttl)
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

// setCmd builds SET k v [PX ms].
func setCmd(c *redisConn, k, v string, px int64) rueidis.Completed {
	s := c.B().Set().Key(k).Value(v)
	if px > 0 {
		return s.PxMilliseconds(px).Build()
	}
	return s.Build()
}

// Set stores value ([]byte or string, else ErrUnsupportedValue) under key.
// store.WithExpiration sets a TTL, honoured to the millisecond (SET ... PX);
// no expiration or zero means none. store.WithTags returns
// ErrTagsUnsupported. Other gocache options are ignored.
func (r *Redis) Set(ctx context.Context, key any, value any, options ...lib.Option) error {
	c, err := r.conn()
	if err != nil {
		return fmt.Errorf("hydracache/store: redis set: %w", err)
	}
	k, err := r.fullKey(key)
	if err != nil {
		return fmt.Errorf("hydracache/store: redis set: %w", err)
	}
	v, err := redisValue(value)
	if err != nil {
		return fmt.Errorf("hydracache/store: redis set %q: %w", k, err)
	}
	opts := lib.ApplyOptions(options...)
	if len(opts.Tags) > 0 {
		return fmt.Errorf("hydracache/store: redis set %q: %w", k, ErrTagsUnsupported)
	}
	px, err := redisPX(opts.Expiration)
	if err != nil {
		return fmt.Errorf("hydracache/store: redis set %q: %w", k, err)
	}
	expected := v
	if b, ok := value.([]byte); ok {
		expected = string(b) // v aliases the caller's slice; the mark outlives it
	}
	ctx, cancel := r.timeoutCtx(ctx)
	defer cancel()
	mark, gen := r.own.begin(k)
	err = c.Do(ctx, setCmd(c, k, v, px)).Error()
	r.own.end(mark, gen, err == nil, false, expected)
	if err != nil {
		return fmt.Errorf("hydracache/store: redis set %q: %w", k, err)
	}
	return nil
}

// SetNX stores value under key with ttl (0: no expiry) only if key is absent,
// atomically (SET key value NX GET PX ttl, Redis 7 or later), and returns
// the value stored afterwards: value itself, or the one already there.
func (r *Redis) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) ([]byte, error) {
	c, err := r.conn()
	if err != nil {
		return nil, fmt.Errorf("hydracache/store: redis setnx %q: %w", key, err)
	}
	k := r.prefix + key
	px, err := redisPX(ttl)
	if err != nil {
		return nil, fmt.Errorf("hydracache/store: redis setnx %q: %w", k, err)
	}
	set := c.B().Set().Key(k).Value(rueidis.BinaryString(value)).Nx().Get()
	var cmd rueidis.Completed
	if px > 0 {
		cmd = set.PxMilliseconds(px).Build()
	} else {
		cmd = set.Build()
	}
	ctx, cancel := r.timeoutCtx(ctx)
	defer cancel()
	mark, gen := r.own.begin(k)
	old, existed, err := redisString(c.Do(ctx, cmd))
	stored := string(value) // we set it; a copy, since value is the caller's
	if existed {
		stored = old
	}
	r.own.end(mark, gen, err == nil, false, stored)
	if err != nil {
		return nil, fmt.Errorf("hydracache/store: redis setnx %q: %w", k, err)
	}
	return []byte(stored), nil
}

// SetMulti stores values[i] under keys[i], all with ttl (0: no expiry), in
// one pipelined batch of single-key SETs (cluster safe, not atomic as a
// whole). It returns the first error after all commands ran.
func (r *Redis) SetMulti(ctx context.Context, keys []string, values [][]byte, ttl time.Duration) error {
	c, err := r.conn()
	if err != nil {
		return fmt.Errorf("hydracache/store: redis setmulti: %w", err)
	}
	if len(keys) != len(values) {
		return fmt.Errorf("hydracache/store: redis setmulti: %d keys but %d values", len(keys), len(values))
	}
	if len(keys) == 0 {
		return nil
	}
	px, err := redisPX(ttl)
	if err != nil {
		return fmt.Errorf("hydracache/store: redis setmulti: %w", err)
	}
	cmds := make(rueidis.Commands, len(keys))
	marks := make([]*redisOwnMark, len(keys))
	gens := make([]uint64, len(keys))
	for i, key := range keys {
		k := r.prefix + key
		cmds[i] = setCmd(c, k, rueidis.BinaryString(values[i]), px)
		marks[i], gens[i] = r.own.begin(k)
	}
	ctx, cancel := r.timeoutCtx(ctx)
	defer cancel()
	var first error
	for i, res := range c.DoMulti(ctx, cmds...) {
		err := res.Error()
		r.own.end(marks[i], gens[i], err == nil, false, string(values[i]))
		if err != nil && first == nil {
			first = fmt.Errorf("hydracache/store: redis setmulti %q: %w", r.prefix+keys[i], err)
		}
	}
	return first
}

// Delete removes key (UNLINK: the server frees the value in the
// background). Deleting a missing key is not an error.
func (r *Redis) Delete(ctx context.Context, key any) error {
	c, err := r.conn()
	if err != nil {
		return fmt.Errorf("hydracache/store: redis delete: %w", err)
	}
	k, err := r.fullKey(key)
	if err != nil {
		return fmt.Errorf("hydracache/store: redis delete: %w", err)
	}
	ctx, cancel := r.timeoutCtx(ctx)
	defer cancel()
	mark, gen := r.own.begin(k)
	err = c.Do(ctx, c.B().Unlink().Key(k).Build()).Error()
	r.own.end(mark, gen, err == nil, true, "")
	if err != nil {
		return fmt.Errorf("hydracache/store: redis delete %q: %w", k, err)
	}
	return nil
}

// Invalidate returns ErrTagsUnsupported when tags are given and does nothing
// otherwise: HydraCache invalidates through tag versions, not gocache tags.
func (r *Redis) Invalidate(ctx context.Context, options ...lib.InvalidateOption) error {
	if len(lib.ApplyInvalidateOptions(options...).Tags) > 0 {
		return fmt.Errorf("hydracache/store: redis invalidate: %w", ErrTagsUnsupported)
	}
	return nil
}

// Clear deletes every key under the store's prefix and nothing else: SCAN
// MATCH on every node the client knows, then single-key UNLINKs. Keys written
// while Clear runs may survive. Until the own-write window after Clear has
// passed, this store's reads skip the client-side cache.
func (r *Redis) Clear(ctx context.Context) error {
	c, err := r.conn()
	if err != nil {
		return fmt.Errorf("hydracache/store: redis clear: %w", err)
	}
	r.own.clearing.Add(1)
	if r.local != nil {
		r.local.invalidate(nil)
	}
	defer func() {
		if r.local != nil {
			r.local.invalidate(nil)
		}
		r.own.bypassUntil.Store(time.Now().Add(r.own.window).UnixNano())
		r.own.clearing.Add(-1)
	}()
	match := redisGlobEscape(r.prefix) + "*"
	for addr, node := range c.Nodes() {
		var cursor uint64
		for {
			sctx, cancel := r.timeoutCtx(ctx) // per round trip: a big keyspace takes many
			entry, err := node.Do(sctx, node.B().Scan().Cursor(cursor).Match(match).Count(1000).Build()).AsScanEntry()
			cancel()
			if err != nil {
				return fmt.Errorf("hydracache/store: redis clear: scan %s on %s: %w", match, addr, err)
			}
			if len(entry.Elements) > 0 {
				cmds := make(rueidis.Commands, len(entry.Elements))
				for i, k := range entry.Elements {
					cmds[i] = c.B().Unlink().Key(k).Build()
				}
				uctx, cancel := r.timeoutCtx(ctx)
				results := c.DoMulti(uctx, cmds...)
				cancel()
				for i, res := range results {
					if err := res.Error(); err != nil {
						return fmt.Errorf("hydracache/store: redis clear: unlink %q: %w", entry.Elements[i], err)
					}
				}
			}
			if cursor = entry.Cursor; cursor == 0 {
				break
			}
		}
	}
	return nil
}

// redisGlobEscape escapes the characters SCAN MATCH treats as patterns.
func redisGlobEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
