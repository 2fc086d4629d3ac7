package consistency

import (
	"context"
	"errors"
	"fmt"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
)

// WithoutInvalidation wraps st so that a core.Cache built on it never
// invalidates anything: the cache's bumps (new tag versions, which core
// writes with SetMulti and with nothing else) are dropped, and reported as
// written. Entries, tag seeds and reads pass through. Build the cache of a
// run on it to check that the run can see stale reads at all; never use it
// outside such a test. Of the optional store interfaces core uses, batch
// get, set-if-absent and fill leases are passed through.
func WithoutInvalidation(st lib_store.StoreInterface) lib_store.StoreInterface {
	if l, ok := st.(leaser); ok {
		return noBumpsLeaser{noBumps{StoreInterface: st}, l}
	}
	return noBumps{StoreInterface: st}
}

// noBumpsLeaser is noBumps on a store that has fill leases.
type noBumpsLeaser struct {
	noBumps
	leaser
}

type noBumps struct {
	lib_store.StoreInterface
}

// The method sets of core's optional store interfaces (core.BatchGetter,
// core.Adder, core.BatchSetter, core.Leaser).
type (
	batchGetter interface {
		GetMulti(ctx context.Context, keys []string) ([][]byte, error)
	}
	adder interface {
		SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) ([]byte, error)
	}
	leaser interface {
		AcquireLease(ctx context.Context, key string, token []byte, ttl time.Duration) (bool, error)
		ReleaseLease(ctx context.Context, key string, token []byte) error
	}
)

// SetMulti drops the bump.
func (noBumps) SetMulti(context.Context, []string, [][]byte, time.Duration) error { return nil }

// GetMulti reads through the wrapped store.
func (s noBumps) GetMulti(ctx context.Context, keys []string) ([][]byte, error) {
	if bg, ok := s.StoreInterface.(batchGetter); ok {
		return bg.GetMulti(ctx, keys)
	}
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.get(ctx, k)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

// SetNX seeds through the wrapped store.
func (s noBumps) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) ([]byte, error) {
	if ad, ok := s.StoreInterface.(adder); ok {
		return ad.SetNX(ctx, key, value, ttl)
	}
	cur, err := s.get(ctx, key)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		return cur, nil
	}
	if err := s.Set(ctx, key, value, lib_store.WithExpiration(ttl)); err != nil {
		return nil, err
	}
	return value, nil
}

// get returns key's value, nil when it is missing.
func (s noBumps) get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Get(ctx, key)
	if err != nil {
		if errors.Is(err, lib_store.NotFound{}) {
			return nil, nil
		}
		return nil, err
	}
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("consistency: store returned %T for %q", v, key)
}
