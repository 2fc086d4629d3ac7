package store

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultRedisTimeout bounds each call a Redis store makes to the network
// unless WithTimeout says otherwise.
//
// Without a bound, a read can wait for a long time: rueidis retries a
// read-only command that failed on the network (a stopped server, a dropped
// connection) until the caller's context ends, so with a context that has no
// deadline a GET against a stopped server never returns; and a server that
// stops answering (a stuck server, a network partition) is only given up on
// after ClientOption.ConnWriteTimeout (10 s by default) or the dial timeout
// (5 s). With the bound, such a call fails after it, the cache counts a store
// error and reads from the database instead.
const DefaultRedisTimeout = time.Second

// WithTimeout bounds how long one call of the store may wait for Redis
// (default DefaultRedisTimeout): the store gives the call a context that
// ends after d, or earlier if the caller's does. Only calls that reach the
// network are bounded, and the clock starts when rueidis first needs it:
// reads answered from the in-process mirror of a DialRedis store or from
// rueidis's client-side cache pay nothing for it. Zero or less turns the
// bound off; the caller's context, rueidis's ConnWriteTimeout and its
// Dialer.Timeout then decide alone.
//
// A call that times out returns an error wrapping
// context.DeadlineExceeded. Core treats it as any store failure: the read
// falls back to the loader, and a bump that did not land is retried.
//
// While Redis is down, rueidis (unless ClientOption.DisableRetry is set)
// retries every read until the deadline, so each read that reaches the
// network costs about d before it falls back to the loader (measured with
// the default: about 0.75 s per read with the server stopped, against
// under 0.1 ms with DisableRetry). Keep d short, near the latency a read
// from the database costs, rather than generous.
func WithTimeout(d time.Duration) RedisOption {
	return func(c *redisConfig) { c.timeout = max(d, 0) }
}

// timeoutCtx returns ctx bounded by the store's timeout, for calls that
// always reach the network (writes, direct reads). Call cancel when done.
func (r *Redis) timeoutCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, r.timeout)
}

// lazyCtx returns ctx bounded by the store's timeout for a call that may be
// answered from rueidis's client-side cache without reaching the network.
// The timer starts only when rueidis first asks the context for its
// deadline, done channel or error, which a cache hit never does; an unused
// one is recycled, so a warm read allocates nothing for it. Call b.release
// when the call returned (b may be nil).
func (r *Redis) lazyCtx(ctx context.Context) (context.Context, *redisLazyCtx) {
	if r.timeout <= 0 {
		return ctx, nil
	}
	b, _ := redisLazyPool.Get().(*redisLazyCtx)
	if b == nil {
		b = new(redisLazyCtx)
	}
	b.parent, b.d = ctx, r.timeout
	return b, b
}

// redisLazyPool recycles the lazy contexts that no call started: nothing
// can be waiting on them.
var redisLazyPool sync.Pool

// redisLazyCtx is a context.Context equal to
// context.WithTimeout(parent, d) made the first time one of its Deadline,
// Done or Err methods is called.
type redisLazyCtx struct {
	parent  context.Context
	d       time.Duration
	once    sync.Once
	started atomic.Bool // ctx and cancel are set
	ctx     context.Context
	cancel  context.CancelFunc
}

func (b *redisLazyCtx) start() context.Context {
	b.once.Do(func() {
		b.ctx, b.cancel = context.WithTimeout(b.parent, b.d)
		b.started.Store(true)
	})
	return b.ctx
}

func (b *redisLazyCtx) Deadline() (time.Time, bool) { return b.start().Deadline() }
func (b *redisLazyCtx) Done() <-chan struct{}       { return b.start().Done() }
func (b *redisLazyCtx) Err() error                  { return b.start().Err() }
func (b *redisLazyCtx) Value(key any) any           { return b.parent.Value(key) }

// release stops the timer, if one was started. It is called once the call
// the context was made for has returned, when nothing starts it any more.
func (b *redisLazyCtx) release() {
	if b == nil {
		return
	}
	if b.started.Load() {
		b.cancel() // and drop it: rueidis may still hold its done channel
		return
	}
	b.parent = nil
	redisLazyPool.Put(b)
}
