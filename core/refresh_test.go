package core_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
)

// refreshRig is a Cache on a fake clock with a controllable random source,
// and a loader that takes loadTime by that clock.
type refreshRig struct {
	c     *core.Cache
	clk   *fakeClock
	r     atomic.Uint64 // float64 bits of what rand returns
	db    *fakeDB
	gate  chan struct{} // when non-nil, loads wait for it
	d     core.Descriptor
	loads atomic.Int64
}

const (
	rigTTL      = 10 * time.Second
	rigLoadTime = time.Second
)

func newRefreshRig(t *testing.T, st lib_store.StoreInterface, clk *fakeClock, beta float64, opts ...core.Option) *refreshRig {
	rg := &refreshRig{clk: clk, db: &fakeDB{val: "v1"}}
	rg.c = newLeaseCache(t, st, append([]core.Option{core.WithClock(clk), core.WithTTLJitter(0), core.WithDefaultTTL(rigTTL)}, opts...)...)
	rg.setRand(0.5)
	core.SetRand(rg.c, func() float64 { return math.Float64frombits(rg.r.Load()) })
	rg.d = core.Entity("users", "1").WithPolicy(core.Policy{EarlyRefresh: beta})
	return rg
}

// setRand makes rand return r.
func (rg *refreshRig) setRand(r float64) { rg.r.Store(math.Float64bits(r)) }

// setGap makes -ln(1-rand) equal x: a refresh triggers when x load times
// times beta reach the expiry.
func (rg *refreshRig) setGap(x float64) { rg.setRand(1 - math.Exp(-x)) }

func (rg *refreshRig) load(ctx context.Context) ([]byte, error) {
	rg.loads.Add(1)
	if rg.gate != nil {
		<-rg.gate
	}
	rg.clk.Advance(rigLoadTime)
	return rg.db.load(ctx)
}

func (rg *refreshRig) fetch(t *testing.T) string {
	t.Helper()
	v, err := rg.c.Fetch(context.Background(), rg.d, rg.load)
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// waitCached waits until the cache holds want for the rig's entry.
func (rg *refreshRig) waitCached(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := rg.c.Fetch(core.WithCacheOnly(context.Background()), rg.d, nil)
		if err == nil && string(v) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache holds %q, %v; want %q", v, err, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEarlyRefreshXFetchCondition(t *testing.T) {
	clk := newFakeClock()
	rg := newRefreshRig(t, newMapStore(), clk, 1)
	if got := rg.fetch(t); got != "v1" {
		t.Fatal(got)
	}
	// The entry expires 10 s after its 1 s load ended. 6 s before expiry:
	clk.Advance(4 * time.Second)
	rg.db.write("v2")
	rg.setGap(5.9) // 5.9 load times < 6 s: no refresh
	for range 10 {
		if got := rg.fetch(t); got != "v1" {
			t.Fatal(got)
		}
	}
	if s := rg.c.Stats(); s.EarlyRefreshes != 0 || rg.loads.Load() != 1 {
		t.Fatalf("refreshed 6 s before expiry with gap 5.9: %+v", s)
	}
	rg.setGap(6.1) // 6.1 load times >= 6 s: refresh, and serve the cached value meanwhile
	if got := rg.fetch(t); got != "v1" {
		t.Fatalf("the triggering hit got %q; want the cached v1", got)
	}
	rg.waitCached(t, "v2")
	if s := rg.c.Stats(); s.EarlyRefreshes != 1 || s.Misses != 1 || rg.loads.Load() != 2 {
		t.Fatalf("stats %+v, %d loads; want one early refresh and no new miss", s, rg.loads.Load())
	}
	// The refreshed entry lives a full TTL from its reload (which ended
	// 1 s after the trigger): 3 s later 7 s are left, and the same gap
	// does not trigger again.
	clk.Advance(3 * time.Second)
	if got := rg.fetch(t); got != "v2" {
		t.Fatal(got)
	}
	if n := rg.loads.Load(); n != 2 {
		t.Fatalf("%d loads", n)
	}
}

// Beta scales the gap: beta 2 refreshes as early as twice the load time.
func TestEarlyRefreshBeta(t *testing.T) {
	clk := newFakeClock()
	rg := newRefreshRig(t, newMapStore(), clk, 2)
	rg.fetch(t)
	clk.Advance(4 * time.Second) // 6 s left
	rg.setGap(3.1)               // 2 * 3.1 load times >= 6 s
	rg.db.write("v2")
	rg.fetch(t)
	rg.waitCached(t, "v2")
}

// Hits that trigger while a reload runs share it; every one of them gets
// the cached value without waiting.
func TestEarlyRefreshSingleFlight(t *testing.T) {
	clk := newFakeClock()
	rg := newRefreshRig(t, newMapStore(), clk, 1)
	rg.fetch(t)
	clk.Advance(9 * time.Second) // 1 s left
	rg.setGap(2)
	rg.db.write("v2")
	rg.gate = make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if got := rg.fetch(t); got != "v1" {
				t.Errorf("got %q while the reload runs", got)
			}
		})
	}
	wg.Wait() // returned with the reload still blocked
	close(rg.gate)
	rg.waitCached(t, "v2")
	if s := rg.c.Stats(); s.EarlyRefreshes != 1 || rg.loads.Load() != 2 {
		t.Fatalf("stats %+v, %d loads; want one reload", s, rg.loads.Load())
	}
}

// Without EarlyRefresh in the policy, an entry is never reloaded early;
// nor in cache-only mode; nor an entry whose load time is unknown (Put).
func TestEarlyRefreshOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	rg := newRefreshRig(t, newMapStore(), clk, 0)
	rg.fetch(t)
	clk.Advance(9 * time.Second)
	rg.setGap(100)
	rg.fetch(t)
	if n := rg.loads.Load(); n != 1 {
		t.Fatalf("%d loads without EarlyRefresh", n)
	}

	rg = newRefreshRig(t, newMapStore(), clk, 1)
	rg.fetch(t)
	clk.Advance(9 * time.Second)
	rg.setGap(100)
	if _, err := rg.c.Fetch(core.WithCacheOnly(ctx), rg.d, rg.load); err != nil {
		t.Fatal(err)
	}
	if n := rg.loads.Load(); n != 1 {
		t.Fatalf("%d loads in cache-only mode", n)
	}

	if err := rg.c.Put(ctx, rg.d, []byte("put")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Second)
	if got := rg.fetch(t); got != "put" {
		t.Fatal(got)
	}
	if n := rg.loads.Load(); n != 1 {
		t.Fatalf("%d loads after a hit on a Put entry", n)
	}
}

// A bump while the reload runs discards its result: the next read misses
// and loads, as with any fill raced by a bump.
func TestEarlyRefreshRacedByBump(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	rg := newRefreshRig(t, newMapStore(), clk, 1)
	rg.fetch(t)
	clk.Advance(9 * time.Second)
	rg.setGap(2)
	rg.db.write("v2")
	rg.gate = make(chan struct{})
	if got := rg.fetch(t); got != "v1" {
		t.Fatal(got)
	}
	// The reload read v2... then v3 commits and bumps before it stores.
	for rg.loads.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	rg.db.write("v3")
	if err := rg.c.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
		t.Fatal(err)
	}
	close(rg.gate)
	deadline := time.Now().Add(5 * time.Second)
	for rg.c.Stats().StaleLoads != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v; want the reload discarded", rg.c.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	rg.gate = nil
	if got := rg.fetch(t); got != "v3" {
		t.Fatalf("after the bump got %q", got)
	}
}

// With a fill lease, caches sharing a store (processes sharing Redis)
// reload a hot entry once between them.
func TestEarlyRefreshOneReloadAcrossCaches(t *testing.T) {
	clk := newFakeClock()
	st := newLeaseStore()
	opt := core.WithFillLease(time.Minute, time.Second)
	a := newRefreshRig(t, st, clk, 1, opt)
	b := newRefreshRig(t, st, clk, 1, opt)
	b.db = a.db
	a.fetch(t)
	if got := b.fetch(t); got != "v1" {
		t.Fatal(got)
	}
	clk.Advance(9 * time.Second)
	a.setGap(2)
	b.setGap(2)
	a.db.write("v2")
	a.gate = make(chan struct{})
	a.fetch(t) // a reloads, holding the lease
	for a.loads.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	if got := b.fetch(t); got != "v1" { // b triggers too, finds the lease taken
		t.Fatal(got)
	}
	close(a.gate)
	a.waitCached(t, "v2")
	b.waitCached(t, "v2")
	if a.loads.Load() != 2 || b.loads.Load() != 0 || b.c.Stats().EarlyRefreshes != 0 {
		t.Fatalf("loads %d + %d, b's stats %+v; want a's first load and its reload only", a.loads.Load(), b.loads.Load(), b.c.Stats())
	}
}

// BenchmarkEarlyRefreshCheck is a memory hit of an entry far from expiry
// without and with Policy.EarlyRefresh: the cost of the XFetch draw on a
// hot entry's hit (beta=1 never triggers here: its entry has an hour left).
func BenchmarkEarlyRefreshCheck(b *testing.B) {
	for _, beta := range []float64{0, 1} {
		b.Run(fmt.Sprintf("beta=%v", beta), func(b *testing.B) {
			ctx := context.Background()
			st, err := store.NewMemory()
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			c, err := core.New(st, core.WithNamespace("app"), core.WithLogger(discardLogger()), core.WithDefaultTTL(time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			d := core.Entity("users", "42").WithPolicy(core.Policy{EarlyRefresh: beta})
			load := func(context.Context) ([]byte, error) {
				time.Sleep(time.Millisecond) // a load time for XFetch to weigh
				return []byte("payload"), nil
			}
			if _, err := c.Fetch(ctx, d, load); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Fetch(ctx, d, load); err != nil {
					b.Fatal(err)
				}
			}
			if s := c.Stats(); s.Loads != 1 {
				b.Fatalf("%d loads", s.Loads)
			}
		})
	}
}
