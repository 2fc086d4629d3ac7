package consistency_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/consistency"
)

// rowsTarget is a Target over a map that stands in for a database, read
// through a core.Cache. A real Target writes and reads through the cached
// ORM (see plugin/gorm/consistency_test.go and
// plugin/ent/consistency_test.go).
func rowsTarget(cache *core.Cache) consistency.Target {
	var mu sync.Mutex
	rows := map[int]int64{}
	return consistency.Funcs{
		WriteFunc: func(ctx context.Context, key int, version int64) error {
			mu.Lock()
			rows[key] = version // the commit
			mu.Unlock()
			return cache.InvalidateTags(ctx, keys.EntityTag("rows", strconv.Itoa(key)))
		},
		ReadFunc: func(ctx context.Context, key int) (int64, error) {
			return core.GetOrLoad(ctx, cache, core.Entity("rows", strconv.Itoa(key)),
				func(context.Context) (int64, error) {
					mu.Lock()
					defer mu.Unlock()
					return rows[key], nil
				})
		},
	}
}

// Two writers and four readers on eight keys for 200 ms find no stale read;
// the same run on a store that drops the cache's invalidations stops at the
// first of many.
func Example() {
	ctx := context.Background()
	cfg := consistency.Config{
		Keys: 8, Writers: 2, Readers: 4,
		Duration: 200 * time.Millisecond, WritePause: time.Millisecond,
	}

	st, _ := store.NewMemory()
	cache, _ := core.New(st, core.WithNamespace("example"))
	defer cache.Close()
	rep, _ := consistency.Run(ctx, rowsTarget(cache), cfg)
	fmt.Println("with invalidation: stale reads:", len(rep.Violations))

	st, _ = store.NewMemory()
	broken, _ := core.New(consistency.WithoutInvalidation(st), core.WithNamespace("example"))
	defer broken.Close()
	cfg.Duration, cfg.StopAfter = 5*time.Second, 1
	rep, _ = consistency.Run(ctx, rowsTarget(broken), cfg)
	fmt.Println("without invalidation: found stale reads:", len(rep.Violations) > 0)
	// Output:
	// with invalidation: stale reads: 0
	// without invalidation: found stale reads: true
}
