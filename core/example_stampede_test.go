package core_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/store"
)

// Two caches sharing a store stand for two processes sharing Redis. With
// a fill lease, a miss in one while the other loads the same entry waits
// for the other's result instead of querying the database again.
func ExampleWithFillLease() {
	ctx := context.Background()
	st, _ := store.NewMemory() // in production: store.DialRedis, shared by the processes
	lease := core.WithFillLease(5*time.Second, time.Second)
	a, _ := core.New(st, core.WithNamespace("example"), lease)
	defer a.Close()
	b, _ := core.New(st, core.WithNamespace("example"), lease)
	defer b.Close()

	d := core.Entity("users", "1")
	var mu sync.Mutex
	queries := 0
	started := make(chan struct{}, 2)
	slowQuery := func(ctx context.Context) ([]byte, error) {
		mu.Lock()
		queries++
		mu.Unlock()
		started <- struct{}{}
		time.Sleep(100 * time.Millisecond)
		return []byte("Ada"), nil
	}

	done := make(chan []byte)
	go func() {
		v, _ := a.Fetch(ctx, d, slowQuery) // takes the lease and loads
		done <- v
	}()
	<-started
	v, _ := b.Fetch(ctx, d, slowQuery) // waits, then reads a's fill
	fmt.Println("a:", string(<-done))
	fmt.Println("b:", string(v))
	fmt.Println("queries:", queries, "- b waited for a's fill:", b.Stats().LeaseHits)
	// Output:
	// a: Ada
	// b: Ada
	// queries: 1 - b waited for a's fill: 1
}

// exampleClock is a clock the example moves by hand.
type exampleClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *exampleClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *exampleClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A hot entry is reloaded in the background shortly before it expires,
// while readers keep getting the cached value: its expiry sends no burst of
// reads to the database.
func ExamplePolicy_earlyRefresh() {
	ctx := context.Background()
	clock := &exampleClock{t: time.Unix(1_700_000_000, 0)}
	st, _ := store.NewMemory()
	cache, _ := core.New(st, core.WithNamespace("example"), core.WithClock(clock),
		core.WithDefaultTTL(time.Minute), core.WithTTLJitter(0))
	defer cache.Close()

	d := core.Entity("settings", "global").WithPolicy(core.Policy{EarlyRefresh: 1})
	version := 0
	var mu sync.Mutex
	load := func(ctx context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		version++
		clock.Advance(2 * time.Second) // the query takes 2 s
		return fmt.Appendf(nil, "v%d", version), nil
	}

	v, _ := cache.Fetch(ctx, d, load)
	fmt.Println(string(v))
	// A microsecond before expiry, a reload is all but certain: the chance
	// grows as expiry nears, in proportion to the 2 s the load took.
	clock.Advance(time.Minute - time.Microsecond)
	v, _ = cache.Fetch(ctx, d, load)
	fmt.Println(string(v), "(cached, while the reload runs); misses:", cache.Stats().Misses)
	for string(v) != "v2" {
		time.Sleep(time.Millisecond)
		v, _ = cache.Fetch(core.WithCacheOnly(ctx), d, nil)
	}
	fmt.Println(string(v), "- early refreshes:", cache.Stats().EarlyRefreshes)
	// Output:
	// v1
	// v1 (cached, while the reload runs); misses: 1
	// v2 - early refreshes: 1
}
