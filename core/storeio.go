package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
)

// storeIO reaches the store through its fastest interface and turns every
// failure, panics of foreign stores included, into an error: a cache
// problem must never break a read.
type storeIO struct {
	st lib_store.StoreInterface
	bg BatchGetter
	ad Adder
	bs BatchSetter
	ls Leaser
	gn Generations
	bp BatchPreparer
}

func newStoreIO(st lib_store.StoreInterface) storeIO {
	io := storeIO{st: st}
	io.bg, _ = st.(BatchGetter)
	io.ad, _ = st.(Adder)
	io.bs, _ = st.(BatchSetter)
	io.ls, _ = st.(Leaser)
	io.gn, _ = st.(Generations)
	io.bp, _ = st.(BatchPreparer)
	return io
}

func recovered(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("store panicked: %v", r)
	}
}

func isNotFound(err error) bool {
	return errors.Is(err, lib_store.NotFound{})
}

func asBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("store returned %T, want []byte or string", v)
}

func (io storeIO) getMulti(ctx context.Context, keys []string) (vals [][]byte, err error) {
	defer recovered(&err)
	if io.bg != nil {
		vals, err = io.bg.GetMulti(ctx, keys)
		if err == nil && len(vals) != len(keys) {
			err = fmt.Errorf("store returned %d values for %d keys", len(vals), len(keys))
		}
		return vals, err
	}
	vals = make([][]byte, len(keys))
	for i, k := range keys {
		v, err := io.st.Get(ctx, k)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("get %q: %w", k, err)
		}
		if vals[i], err = asBytes(v); err != nil {
			return nil, fmt.Errorf("get %q: %w", k, err)
		}
	}
	return vals, nil
}

// prepareGetMulti returns the store's prepared reader of keys, or nil when
// it has none (or its preparation failed: reads then take getMulti).
func (io storeIO) prepareGetMulti(keys []string) (read func(context.Context) ([][]byte, error)) {
	if io.bp == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			read = nil
		}
	}()
	return io.bp.PrepareGetMulti(keys)
}

// getPrepared is getMulti through a reader from prepareGetMulti for n keys.
func (io storeIO) getPrepared(ctx context.Context, read func(context.Context) ([][]byte, error), n int) (vals [][]byte, err error) {
	defer recovered(&err)
	vals, err = read(ctx)
	if err == nil && len(vals) != n {
		err = fmt.Errorf("store returned %d values for %d keys", len(vals), n)
	}
	return vals, err
}

// keyShards returns the Generations shard of each key, or nil when the
// store has no generations or KeyShard panicked (the descriptor then gets
// no version memo).
func (io storeIO) keyShards(keys []string) (shards []int) {
	if io.gn == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			shards = nil
		}
	}()
	shards = make([]int, len(keys))
	for i, k := range keys {
		shards[i] = io.gn.KeyShard(k)
	}
	return shards
}

func (io storeIO) set(ctx context.Context, key string, val []byte, ttl time.Duration) (err error) {
	defer recovered(&err)
	if err := io.st.Set(ctx, key, val, lib_store.WithExpiration(ttl)); err != nil {
		return fmt.Errorf("set %q: %w", key, err)
	}
	return nil
}

// setNX seeds key with val unless it holds a value already, and returns
// what it holds afterwards. Without an atomic Adder two seeders may both
// write; the loser's readers then see a version that changed under them,
// which costs a miss, never a stale hit.
func (io storeIO) setNX(ctx context.Context, key string, val []byte, ttl time.Duration) (cur []byte, err error) {
	defer recovered(&err)
	if io.ad != nil {
		return io.ad.SetNX(ctx, key, val, ttl)
	}
	v, err := io.st.Get(ctx, key)
	if err == nil {
		if cur, err = asBytes(v); err == nil && cur != nil {
			return cur, nil
		}
	} else if !isNotFound(err) {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	if err := io.st.Set(ctx, key, val, lib_store.WithExpiration(ttl)); err != nil {
		return nil, fmt.Errorf("set %q: %w", key, err)
	}
	return val, nil
}

func (io storeIO) setMulti(ctx context.Context, keys []string, vals [][]byte, ttl time.Duration) (err error) {
	defer recovered(&err)
	if io.bs != nil {
		return io.bs.SetMulti(ctx, keys, vals, ttl)
	}
	for i, k := range keys {
		if err := io.st.Set(ctx, k, vals[i], lib_store.WithExpiration(ttl)); err != nil {
			return fmt.Errorf("set %q: %w", k, err)
		}
	}
	return nil
}

func (io storeIO) delete(ctx context.Context, key string) (err error) {
	defer recovered(&err)
	if err := io.st.Delete(ctx, key); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

func (io storeIO) acquireLease(ctx context.Context, key string, token []byte, ttl time.Duration) (ok bool, err error) {
	defer recovered(&err)
	if ok, err = io.ls.AcquireLease(ctx, key, token, ttl); err != nil {
		return false, fmt.Errorf("acquire lease %q: %w", key, err)
	}
	return ok, nil
}

func (io storeIO) releaseLease(ctx context.Context, key string, token []byte) (err error) {
	defer recovered(&err)
	if err := io.ls.ReleaseLease(ctx, key, token); err != nil {
		return fmt.Errorf("release lease %q: %w", key, err)
	}
	return nil
}
