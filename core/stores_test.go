package core_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// TestProtocolOnRealStores runs the read-write-read cycle on the stores we
// ship, through their fast interfaces (batch get, set-if-absent).
func TestProtocolOnRealStores(t *testing.T) {
	tests := []struct {
		name  string
		cache func(t *testing.T) *core.Cache
	}{
		{"memory", func(t *testing.T) *core.Cache {
			st, err := store.NewMemory()
			if err != nil {
				t.Fatal(err)
			}
			return newCacheOn(t, st, "mem")
		}},
		{"redis", func(t *testing.T) *core.Cache {
			client, ns := testenv.Redis(t)
			st, err := store.NewRedis(client, store.WithPrefix(ns))
			if err != nil {
				t.Fatal(err)
			}
			return newCacheOn(t, st, "redis")
		}},
		{"redis, DialRedis with its mirror", func(t *testing.T) *core.Cache {
			_, ns := testenv.Redis(t)
			st, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(ns))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return newCacheOn(t, st, "dial")
		}},
		{"redis cluster", func(t *testing.T) *core.Cache {
			if testing.Short() {
				t.Skip("starts three redis-server processes")
			}
			st, err := store.NewRedis(testenv.RedisCluster(t, 3))
			if err != nil {
				t.Fatal(err)
			}
			return newCacheOn(t, st, "cluster")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := tt.cache(t)
			db := &fakeDB{val: "v0"}
			d := core.Entity("users", "1")
			for i := 1; i <= 200; i++ {
				if got := fetch(t, ctx, c, d, db); got != fmt.Sprintf("v%d", i-1) {
					t.Fatalf("round %d: read %q before the write", i, got)
				}
				db.write(fmt.Sprintf("v%d", i))
				if err := c.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
					t.Fatal(err)
				}
				if got := fetch(t, ctx, c, d, db); got != fmt.Sprintf("v%d", i) {
					t.Fatalf("round %d: read %q right after the bump, want v%d", i, got, i)
				}
			}
			if s := c.Stats(); s.Hits != 199 || s.Loads != 201 {
				t.Fatalf("stats %+v: want a hit before every write but the first, a load after each", s)
			}
		})
	}
}

func newCacheOn(t *testing.T, st lib_store.StoreInterface, ns string) *core.Cache {
	t.Helper()
	c, err := core.New(st, core.WithNamespace(ns), core.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestTwoProcessesShareRedis: two caches on two rueidis clients (two
// processes) with one namespace. The process that bumps reads its own new
// version at once; the other sees it when Redis's invalidation push
// arrives.
func TestTwoProcessesShareRedis(t *testing.T) {
	variants := []struct {
		name string
		open func(t *testing.T, ns string) lib_store.StoreInterface
	}{
		{"NewRedis", func(t *testing.T, ns string) lib_store.StoreInterface {
			client, err := rueidis.NewClient(testenv.RedisClientOption())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(client.Close)
			st, err := store.NewRedis(client, store.WithPrefix(ns))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
		{"DialRedis", func(t *testing.T, ns string) lib_store.StoreInterface {
			st, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(ns))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			_, ns := testenv.Redis(t)
			a := newCacheOn(t, v.open(t, ns), "shared")
			b := newCacheOn(t, v.open(t, ns), "shared")
			twoProcesses(t, a, b)
		})
	}
}

func twoProcesses(t *testing.T, a, b *core.Cache) {
	ctx := context.Background()
	db := &fakeDB{val: "v0"}
	d := core.Entity("users", "1")

	for i := 1; i <= 100; i++ {
		want := fmt.Sprintf("v%d", i-1)
		// Both warm: A's entry is in B's client-side cache too.
		if got := fetch(t, ctx, a, d, db); got != want {
			t.Fatalf("round %d: A read %q, want %s", i, got, want)
		}
		waitFor(t, "B to hit A's entry", func() bool {
			v, err := b.Fetch(core.WithCacheOnly(ctx), d, nil)
			return err == nil && string(v) == want
		})
		// B commits a write and bumps; B's very next read is fresh.
		want = fmt.Sprintf("v%d", i)
		db.write(want)
		if err := b.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
			t.Fatal(err)
		}
		if got := fetch(t, ctx, b, d, db); got != want {
			t.Fatalf("round %d: the bumping process read %q right after its bump, want %s", i, got, want)
		}
		// A sees the bump through the invalidation push, within a bound.
		deadline := time.Now().Add(5 * time.Second)
		for {
			v, err := a.Fetch(ctx, d, db.load)
			if err == nil && string(v) == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: A still reads %q 5s after B's bump", i, v)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
