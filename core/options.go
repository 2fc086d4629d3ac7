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

// WithClock sets the clock entries' expiry is measured with.
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
