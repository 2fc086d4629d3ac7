package core

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Clock tells core the time; tests substitute one they control.
type Clock interface {
	Now() time.Time
}

// systemClock reads the wall clock once, at start, and the monotonic clock
// afterwards: one clock read per hit instead of two.
type systemClock struct{ base time.Time }

func (c systemClock) Now() time.Time { return c.base.Add(time.Since(c.base)) }

// Option configures a Cache.
type Option func(*config) error

type config struct {
	namespace   string
	ttl         time.Duration
	jitter      float64
	negativeTTL time.Duration
	tagTTL      time.Duration
	codec       Codec
	clock       Clock
	logger      *slog.Logger
	logEvery    time.Duration
	leaseTTL    time.Duration // 0: no fill lease
	leaseWait   time.Duration
}

func defaultConfig() config {
	return config{
		namespace:   "default",
		ttl:         10 * time.Minute,
		jitter:      0.1,
		negativeTTL: 30 * time.Second,
		tagTTL:      24 * time.Hour,
		codec:       MsgpackCodec{},
		clock:       systemClock{base: time.Now()},
		logger:      slog.Default(),
		logEvery:    10 * time.Second,
	}
}

// ErrInvalidOption is returned by New when an option's value is out of range.
var ErrInvalidOption = errors.New("hydracache: invalid option")

// WithNamespace sets the namespace under which every key and tag of this
// Cache lives. Caches with different namespaces share a store without
// seeing each other's entries; Flush affects only its own namespace.
func WithNamespace(ns string) Option {
	return func(c *config) error {
		if ns == "" {
			return fmt.Errorf("%w: empty namespace", ErrInvalidOption)
		}
		c.namespace = ns
		return nil
	}
}

// WithDefaultTTL sets the TTL of entries whose policy gives none
// (default 10 minutes).
func WithDefaultTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: default TTL %v must be positive", ErrInvalidOption, d)
		}
		c.ttl = d
		return nil
	}
}

// WithTTLJitter spreads entry TTLs by up to ±fraction of their length, so
// entries filled together do not expire together (default 0.1).
func WithTTLJitter(fraction float64) Option {
	return func(c *config) error {
		if fraction < 0 || fraction >= 1 {
			return fmt.Errorf("%w: TTL jitter %v must be in [0, 1)", ErrInvalidOption, fraction)
		}
		c.jitter = fraction
		return nil
	}
}

// WithNegativeTTL sets how long a not-found result is cached when the policy
// gives no negative TTL (default 30 seconds). A negative d disables negative
// caching by default.
func WithNegativeTTL(d time.Duration) Option {
	return func(c *config) error {
		c.negativeTTL = d
		return nil
	}
}

// WithTagTTL sets how long tag versions live in the store (default 24 hours).
// An expired version is re-seeded with a fresh stamp, which invalidates the
// entries that carried the old one: a short tag TTL costs hits, never
// correctness.
func WithTagTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: tag TTL %v must be positive", ErrInvalidOption, d)
		}
		c.tagTTL = d
		return nil
	}
}

// WithCodec sets the codec of the generic API (GetOrLoad, Get, Set, View).
// The default is MsgpackCodec.
func WithCodec(codec Codec) Option {
	return func(c *config) error {
		if codec == nil {
			return fmt.Errorf("%w: nil codec", ErrInvalidOption)
		}
		c.codec = codec
		return nil
	}
}

// WithClock sets the clock entries' expiry, and the store breaker's
// backoff, are measured with. With a clock that never advances, a store
// failure keeps the store skipped until it does.
func WithClock(clock Clock) Option {
	return func(c *config) error {
		if clock == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidOption)
		}
		c.clock = clock
		return nil
	}
}

// WithLogger sets the logger for store and decode errors (default
// slog.Default()). Errors are logged once per burst, not once per read.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithFillLease makes every miss of Fetch fill the entry under a lease, so
// that of the processes sharing the store that miss one entry at once, one
// loads and the others wait up to maxWait for its result, polling the
// store, instead of all loading from the database. Within a process,
// concurrent misses share one load anyway (single-flight); the lease
// extends that across processes.
//
// The lease is keyed by the entry and the tag versions the miss read, so a
// caller that read versions bumped since never waits for a load that began
// before the bump; and a waiter takes the holder's result only if it was
// stored under the versions current when it reads it. A waiter that gets
// nothing within maxWait, or whose store fails, calls the loader itself: the
// lease saves loads and never decides what a read returns. A holder that
// dies without releasing its lease holds it until ttl ends, after which a
// waiter takes it over; ttl should exceed the time a load takes.
//
// Leases need a store implementing Leaser (both stores of package store
// do); with another store the option has no effect. Each leased miss costs
// the store two extra calls (take and release), so the option suits
// entries many processes miss together. FetchMany and refresh mode do not
// take leases.
func WithFillLease(ttl, maxWait time.Duration) Option {
	return func(c *config) error {
		if ttl <= 0 || maxWait <= 0 {
			return fmt.Errorf("%w: fill lease TTL %v and wait %v must be positive", ErrInvalidOption, ttl, maxWait)
		}
		c.leaseTTL, c.leaseWait = ttl, maxWait
		return nil
	}
}
