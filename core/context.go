package core

import (
	"context"
	"time"
)

// Mode selects how one call uses the cache.
type Mode uint8

const (
	// ModeNormal reads the cache and fills it on a miss.
	ModeNormal Mode = iota
	// ModeBypass neither reads nor fills the cache: the loader is called.
	ModeBypass
	// ModeRefresh skips the cached entry, loads and overwrites it.
	ModeRefresh
	// ModeCacheOnly never calls the loader: a miss returns ErrCacheMiss.
	ModeCacheOnly
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case ModeNormal:
		return "normal"
	case ModeBypass:
		return "bypass"
	case ModeRefresh:
		return "refresh"
	case ModeCacheOnly:
		return "cache-only"
	}
	return "unknown"
}

type callKey struct{}

type callOptions struct {
	mode     Mode
	ttl      time.Duration
	volatile bool
}

func withCall(ctx context.Context, f func(*callOptions)) context.Context {
	o, _ := ctx.Value(callKey{}).(callOptions)
	f(&o)
	return context.WithValue(ctx, callKey{}, o)
}

// WithMode returns a context whose cached reads use mode m.
func WithMode(ctx context.Context, m Mode) context.Context {
	return withCall(ctx, func(o *callOptions) { o.mode = m })
}

// WithBypass returns a context whose reads go to the database and leave the
// cache untouched.
func WithBypass(ctx context.Context) context.Context { return WithMode(ctx, ModeBypass) }

// WithRefresh returns a context whose reads load from the database and
// overwrite the cached entry.
func WithRefresh(ctx context.Context) context.Context { return WithMode(ctx, ModeRefresh) }

// WithCacheOnly returns a context whose reads are answered from the cache
// alone; a miss returns ErrCacheMiss.
func WithCacheOnly(ctx context.Context) context.Context { return WithMode(ctx, ModeCacheOnly) }

// WithTTL returns a context whose fills use ttl instead of the policy's TTL.
func WithTTL(ctx context.Context, ttl time.Duration) context.Context {
	return withCall(ctx, func(o *callOptions) { o.ttl = ttl })
}

// WithVolatile returns a context under which the plugins cache reads that
// they otherwise send to the database because their answer may change
// without a write: reads that call functions not known to be immutable
// (now(), random(), a user function) or read the clock (CURRENT_TIMESTAMP).
// Such an entry keeps its first answer until a write invalidates it or its
// TTL ends; use it for reads where that is acceptable.
func WithVolatile(ctx context.Context) context.Context {
	return withCall(ctx, func(o *callOptions) { o.volatile = true })
}

// VolatileAllowed reports whether ctx carries WithVolatile.
func VolatileAllowed(ctx context.Context) bool {
	o, _ := ctx.Value(callKey{}).(callOptions)
	return o.volatile
}

// ModeFrom returns the mode a context selects (ModeNormal by default).
func ModeFrom(ctx context.Context) Mode {
	o, _ := ctx.Value(callKey{}).(callOptions)
	return o.mode
}

// TTLFrom returns the TTL override a context carries, if any.
func TTLFrom(ctx context.Context) (time.Duration, bool) {
	o, _ := ctx.Value(callKey{}).(callOptions)
	return o.ttl, o.ttl > 0
}
