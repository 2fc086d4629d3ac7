package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/hydracache/hydracache/keys"
)

// GetOrLoad returns the value d describes, from the cache or from load,
// encoded with the Cache's codec. load returns ErrNotFound for a value that
// does not exist; that result is cached for the negative TTL.
func GetOrLoad[T any](ctx context.Context, c *Cache, d Descriptor, load func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	var loaded *T // the loader's own value, returned as is to its caller
	raw, err := c.Fetch(ctx, d, func(ctx context.Context) ([]byte, error) {
		v, err := load(ctx)
		if err != nil {
			return nil, err
		}
		b, err := c.cfg.codec.Marshal(v)
		if err != nil {
			// Uncacheable, but the caller still gets its value.
			loaded = &v
			return nil, fmt.Errorf("%w: %w", errUnencodable, err)
		}
		loaded = &v
		return b, nil
	})
	if err != nil {
		if !errors.Is(err, errUnencodable) {
			return zero, err
		}
		// The value cannot be cached. Our own load finished (we have its
		// error), so loaded is safe to read; a joiner of another caller's
		// load loads for itself.
		if loaded != nil {
			return *loaded, nil
		}
		return load(ctx)
	}
	if loaded != nil {
		return *loaded, nil
	}
	var v T
	if err := c.cfg.codec.Unmarshal(raw, &v); err != nil {
		// A corrupt entry is a miss: load again, bypassing the cache read.
		c.decodeError(d.Key, err)
		return GetOrLoad(WithRefresh(ctx), c, d, load)
	}
	return v, nil
}

var errUnencodable = errors.New("hydracache: value cannot be encoded")

// Get returns the cached value d describes, or ErrCacheMiss.
func Get[T any](ctx context.Context, c *Cache, d Descriptor) (T, error) {
	var v T
	raw, err := c.Fetch(WithCacheOnly(ctx), d, nil)
	if err != nil {
		return v, err
	}
	if err := c.cfg.codec.Unmarshal(raw, &v); err != nil {
		c.decodeError(d.Key, err)
		return v, ErrCacheMiss
	}
	return v, nil
}

// Set stores v as the value d describes, valid until one of its tags is
// bumped or its TTL passes.
func Set[T any](ctx context.Context, c *Cache, d Descriptor, v T) error {
	b, err := c.cfg.codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("hydracache: set %q: %w", d.Key, err)
	}
	return c.Put(ctx, d, b)
}

// View is a typed, namespaced window on a Cache for values of one type,
// for use without an ORM: its keys live apart from the plugins' and from
// other views'.
type View[T any] struct {
	c      *Cache
	scope  keys.Scope
	policy Policy
}

// NewView returns a view named name (for example "users") on c, whose
// entries use policy p.
func NewView[T any](c *Cache, name string, p Policy) *View[T] {
	return &View[T]{c: c, scope: keys.Scope{}.With("view", name), policy: p}
}

// Descriptor returns the descriptor of the view's entry id, carrying tags
// and the policy's tags.
func (v *View[T]) Descriptor(id string, tags ...string) Descriptor {
	d := Descriptor{Key: v.scope.Key(id), Tags: tags}
	return d.WithPolicy(v.policy)
}

// GetOrLoad returns entry id from the cache or from load.
func (v *View[T]) GetOrLoad(ctx context.Context, id string, tags []string, load func(ctx context.Context) (T, error)) (T, error) {
	return GetOrLoad(ctx, v.c, v.Descriptor(id, tags...), load)
}

// Get returns entry id, or ErrCacheMiss.
func (v *View[T]) Get(ctx context.Context, id string, tags ...string) (T, error) {
	return Get[T](ctx, v.c, v.Descriptor(id, tags...))
}

// Set stores entry id.
func (v *View[T]) Set(ctx context.Context, id string, val T, tags ...string) error {
	return Set(ctx, v.c, v.Descriptor(id, tags...), val)
}

// Invalidate deletes entry id.
func (v *View[T]) Invalidate(ctx context.Context, id string) error {
	return v.c.InvalidateKey(ctx, v.scope.Key(id))
}
