package core

import (
	"context"
	"time"
)

// The optional store interfaces below let core do in one call what the plain
// gocache StoreInterface needs several for. Stores implement them by method
// set alone (store/ does not import core). Values are the encoded bytes core
// wrote; a store may return a slice that aliases its own memory, which core
// never modifies.

// BatchGetter reads several keys in one call. The result has one element per
// key, nil where the key is missing. It must not modify keys, which core
// may share between calls.
type BatchGetter interface {
	GetMulti(ctx context.Context, keys []string) ([][]byte, error)
}

// Adder stores value under key only if the key is absent and returns the
// value stored afterwards: value itself, or the one another writer put there
// first. Core seeds missing tag versions with it so that concurrent seeders
// agree on one stamp.
type Adder interface {
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) ([]byte, error)
}

// BatchSetter writes several keys with one TTL in one call.
type BatchSetter interface {
	SetMulti(ctx context.Context, keys []string, values [][]byte, ttl time.Duration) error
}

// Leaser takes and releases fill leases, short-lived locks that let one
// process fill a missing entry while the others sharing the store wait for
// it (see WithFillLease). AcquireLease stores token under key with ttl only
// if key is absent, atomically, and reports whether it did. ReleaseLease
// deletes key only if it still holds token, atomically, so that a holder
// whose lease expired and was taken by another never releases the other's.
// A lease whose holder died ends when its ttl does.
type Leaser interface {
	AcquireLease(ctx context.Context, key string, token []byte, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, key string, token []byte) error
}

// Generations is implemented by an in-process store that can tell cheaply
// whether a key may have been written since an earlier look: a key's
// shard's Generation changes after every write of a key of that shard has
// taken effect (not on eviction or expiry). Fetch then reuses the tag
// versions it read for a prepared descriptor (Cache.Prepare) while their
// shards' generations stay the same, and reads only the entry: one store
// read instead of one per tag. store.Memory implements it.
type Generations interface {
	KeyShard(key string) int
	Generation(shard int) uint64
}

// BatchPreparer is implemented by a store whose reads of a fixed list of
// keys get cheaper when the list is known in advance (store.Redis builds
// its prefixed keys and its command once). Cache.Prepare calls
// PrepareGetMulti once per prepared descriptor; Fetch then reads the
// descriptor's keys through the function it returned, which must behave as
// GetMulti(ctx, keys) and may be called concurrently.
type BatchPreparer interface {
	PrepareGetMulti(keys []string) func(ctx context.Context) ([][]byte, error)
}
