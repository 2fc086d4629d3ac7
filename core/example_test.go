package core_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
)

type User struct {
	ID   int64
	Name string
}

// A row read through GetOrLoad is loaded once and then served from the
// cache until a write bumps its tag.
func ExampleGetOrLoad() {
	ctx := context.Background()
	st, _ := store.NewMemory()
	cache, _ := core.New(st, core.WithNamespace("example"))
	defer cache.Close()

	name := "Ada"
	load := func(ctx context.Context) (User, error) {
		fmt.Println("  loading from the database")
		return User{ID: 1, Name: name}, nil
	}
	d := core.Entity("users", "1")

	u, _ := core.GetOrLoad(ctx, cache, d, load)
	fmt.Println(u.Name)
	u, _ = core.GetOrLoad(ctx, cache, d, load)
	fmt.Println(u.Name)

	// A write commits, then bumps the row's tag.
	name = "Grace"
	_ = cache.InvalidateTags(ctx, keys.EntityTag("users", "1"))
	u, _ = core.GetOrLoad(ctx, cache, d, load)
	fmt.Println(u.Name)
	// Output:
	//   loading from the database
	// Ada
	// Ada
	//   loading from the database
	// Grace
}

// Per-call control rides on the context.
func ExampleWithBypass() {
	ctx := context.Background()
	st, _ := store.NewMemory()
	cache, _ := core.New(st, core.WithNamespace("example"))
	defer cache.Close()
	d := core.Entity("users", "1")
	load := func(ctx context.Context) (User, error) { return User{ID: 1, Name: "Ada"}, nil }

	_, err := core.GetOrLoad(core.WithCacheOnly(ctx), cache, d, load)
	fmt.Println("cache-only, cold:", errors.Is(err, core.ErrCacheMiss))
	_, _ = core.GetOrLoad(core.WithBypass(ctx), cache, d, load)
	_, err = core.GetOrLoad(core.WithCacheOnly(ctx), cache, d, load)
	fmt.Println("cache-only after a bypassed read:", errors.Is(err, core.ErrCacheMiss))
	_, _ = core.GetOrLoad(core.WithTTL(ctx, time.Minute), cache, d, load)
	u, err := core.GetOrLoad(core.WithCacheOnly(ctx), cache, d, load)
	fmt.Println("cache-only after a normal read:", u.Name, err)
	// Output:
	// cache-only, cold: true
	// cache-only after a bypassed read: true
	// cache-only after a normal read: Ada <nil>
}

// A transaction's bumps wait for its commit and vanish with a rollback.
func ExampleTxBuffer() {
	ctx := context.Background()
	st, _ := store.NewMemory()
	cache, _ := core.New(st, core.WithNamespace("example"))
	defer cache.Close()

	tx := cache.NewTxBuffer()
	_ = tx.Add(ctx, keys.EntityTag("users", "1"), keys.TableTag("users"))
	fmt.Println("bumps before commit:", cache.Stats().Bumps)
	_ = tx.Commit(ctx) // after the database's COMMIT returned
	fmt.Println("bumps after commit:", cache.Stats().Bumps)

	rolledBack := cache.NewTxBuffer()
	_ = rolledBack.Add(ctx, keys.TableTag("users"))
	rolledBack.Rollback()
	fmt.Println("bumps after a rollback:", cache.Stats().Bumps)
	// Output:
	// bumps before commit: 0
	// bumps after commit: 2
	// bumps after a rollback: 2
}

// A View is a typed corner of the cache for use without an ORM.
func ExampleView() {
	ctx := context.Background()
	st, _ := store.NewMemory()
	cache, _ := core.New(st, core.WithNamespace("example"))
	defer cache.Close()

	sessions := core.NewView[string](cache, "sessions", core.Policy{TTL: 30 * time.Minute})
	_ = sessions.Set(ctx, "s-1", "user 42")
	who, _ := sessions.Get(ctx, "s-1")
	fmt.Println(who)
	_ = sessions.Invalidate(ctx, "s-1")
	_, err := sessions.Get(ctx, "s-1")
	fmt.Println(errors.Is(err, core.ErrCacheMiss))
	// Output:
	// user 42
	// true
}

// Flush invalidates a whole namespace without deleting anything.
func ExampleCache_Flush() {
	ctx := context.Background()
	st, _ := store.NewMemory()
	cache, _ := core.New(st, core.WithNamespace("example"))
	defer cache.Close()
	_ = core.Set(ctx, cache, core.Entity("users", "1"), User{ID: 1, Name: "Ada"})
	_ = cache.Flush(ctx)
	_, err := core.Get[User](ctx, cache, core.Entity("users", "1"))
	fmt.Println(errors.Is(err, core.ErrCacheMiss))
	// Output: true
}

// A descriptor read again and again (a hot row) can be prepared once: its
// store keys are then not built on every read.
func ExampleCache_Prepare() {
	ctx := context.Background()
	st, _ := store.NewMemory()
	cache, _ := core.New(st, core.WithNamespace("example"))
	defer cache.Close()

	hot := cache.Prepare(core.Entity("users", "1"))
	load := func(ctx context.Context) ([]byte, error) {
		fmt.Println("  loading from the database")
		return []byte("Ada"), nil
	}
	for range 3 {
		v, _ := cache.Fetch(ctx, hot, load)
		fmt.Println(string(v))
	}
	// Output:
	//   loading from the database
	// Ada
	// Ada
	// Ada
}
