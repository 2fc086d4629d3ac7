package core_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
)

// fakeDB stands for the database: the loader reads its current value and
// counts the statements that reached it.
type fakeDB struct {
	mu      sync.Mutex
	val     string
	missing bool
	calls   atomic.Int64
}

func (db *fakeDB) write(v string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.val, db.missing = v, false
}

func (db *fakeDB) load(context.Context) ([]byte, error) {
	db.calls.Add(1)
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.missing {
		return nil, core.ErrNotFound
	}
	return []byte(db.val), nil
}

func newCache(t *testing.T, st *mapStore, opts ...core.Option) *core.Cache {
	t.Helper()
	c, err := core.New(st, append([]core.Option{core.WithNamespace("test"), core.WithLogger(discardLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
}

func fetch(t *testing.T, ctx context.Context, c *core.Cache, d core.Descriptor, db *fakeDB) string {
	t.Helper()
	v, err := c.Fetch(ctx, d, db.load)
	if err != nil {
		t.Fatalf("Fetch(%s): %v", d.Key, err)
	}
	return string(v)
}

func TestFetchHitAndInvalidation(t *testing.T) {
	user42 := core.Entity("users", "42")
	list := core.Collection(keys.Fingerprint{1}, "users", "pets")
	tests := []struct {
		name      string
		d         core.Descriptor
		bump      func(ctx context.Context, c *core.Cache) error
		reloads   bool // whether the read after the bump reaches the database
		otherKept bool // whether an unrelated entity stays cached
	}{
		{"entity tag bumps the row", user42, func(ctx context.Context, c *core.Cache) error {
			return c.InvalidateTags(ctx, keys.EntityTag("users", "42"))
		}, true, true},
		{"rows tag bumps every row of the table", user42, func(ctx context.Context, c *core.Cache) error {
			return c.InvalidateTags(ctx, keys.RowsTag("users"))
		}, true, false},
		{"table tag leaves rows alone", user42, func(ctx context.Context, c *core.Cache) error {
			return c.InvalidateTags(ctx, keys.TableTag("users"))
		}, false, true},
		{"table tag bumps collections", list, func(ctx context.Context, c *core.Cache) error {
			return c.InvalidateTags(ctx, keys.TableTag("pets"))
		}, true, true},
		{"another row's tag leaves the row", user42, func(ctx context.Context, c *core.Cache) error {
			return c.InvalidateTags(ctx, keys.EntityTag("users", "7"))
		}, false, true},
		{"flush bumps everything", user42, func(ctx context.Context, c *core.Cache) error {
			return c.Flush(ctx)
		}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := newCache(t, newMapStore())
			db := &fakeDB{val: "v1"}
			other := core.Entity("users", "1")
			otherDB := &fakeDB{val: "o1"}
			fetch(t, ctx, c, other, otherDB)

			if got := fetch(t, ctx, c, tt.d, db); got != "v1" {
				t.Fatalf("cold read = %q, want v1", got)
			}
			if got := fetch(t, ctx, c, tt.d, db); got != "v1" || db.calls.Load() != 1 {
				t.Fatalf("warm read = %q after %d loads, want v1 after 1", got, db.calls.Load())
			}
			db.write("v2")
			if err := tt.bump(ctx, c); err != nil {
				t.Fatal(err)
			}
			want, wantCalls := "v1", int64(1)
			if tt.reloads {
				want, wantCalls = "v2", 2
			}
			if got := fetch(t, ctx, c, tt.d, db); got != want || db.calls.Load() != wantCalls {
				t.Fatalf("read after bump = %q after %d loads, want %q after %d", got, db.calls.Load(), want, wantCalls)
			}
			fetch(t, ctx, c, other, otherDB)
			if kept := otherDB.calls.Load() == 1; kept != tt.otherKept {
				t.Fatalf("unrelated entity kept = %v, want %v", kept, tt.otherKept)
			}
		})
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	db := &fakeDB{val: "v"}
	d := core.Entity("users", "1")
	fetch(t, ctx, c, d, db)
	fetch(t, ctx, c, d, db)
	fetch(t, ctx, c, d, db)
	if err := c.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.Hits != 2 || s.Misses != 1 || s.Loads != 1 || s.Bumps != 1 {
		t.Fatalf("stats = %+v, want 2 hits, 1 miss, 1 load, 1 bump", s)
	}
}

func TestMissingTagGetsFreshStamp(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	c := newCache(t, st)
	db := &fakeDB{val: "v1"}
	d := core.Entity("users", "1")
	fetch(t, ctx, c, d, db)
	db.write("v2")
	// The tag's version vanishes (evicted, or the store lost its data):
	// the entry recorded under it must not be served again.
	for _, k := range st.keys() {
		if strings.Contains(k, ":v:e:users:1") {
			_ = st.Delete(ctx, k)
		}
	}
	if got := fetch(t, ctx, c, d, db); got != "v2" {
		t.Fatalf("read after tag loss = %q, want v2", got)
	}
}

func TestStoreLosesEverything(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	c := newCache(t, st)
	db := &fakeDB{val: "v1"}
	d := core.Entity("users", "1")
	fetch(t, ctx, c, d, db)
	// Keep the entry but lose the versions, as a store restart that kept a
	// snapshot older than the tags would.
	entries := map[string][]byte{}
	st.set(func(s *mapStore) {
		for k, v := range s.data {
			if strings.Contains(k, ":k:") {
				entries[k] = v
			}
		}
		s.data = entries
	})
	db.write("v2")
	if got := fetch(t, ctx, c, d, db); got != "v2" {
		t.Fatalf("read = %q, want v2: an entry outlived its tag versions", got)
	}
}

// TestLoadRacingBumpIsDiscarded proves the tag-version race rule: a load
// that was running while a write committed and bumped its tag returns its
// result to its caller but never stores it.
func TestLoadRacingBumpIsDiscarded(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	c := newCache(t, st)
	d := core.Entity("users", "1")
	inLoad, release := make(chan struct{}), make(chan struct{})
	done := make(chan string)
	go func() {
		v, err := c.Fetch(ctx, d, func(context.Context) ([]byte, error) {
			close(inLoad)
			<-release // the SELECT read the row before the write committed
			return []byte("old"), nil
		})
		if err != nil {
			t.Error(err)
		}
		done <- string(v)
	}()
	<-inLoad
	if err := c.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
		t.Fatal(err)
	}
	close(release)
	if got := <-done; got != "old" {
		t.Fatalf("racing load returned %q to its caller, want old", got)
	}
	if s := c.Stats(); s.StaleLoads != 1 {
		t.Fatalf("StaleLoads = %d, want 1", s.StaleLoads)
	}
	db := &fakeDB{val: "new"}
	if got := fetch(t, ctx, c, d, db); got != "new" || db.calls.Load() != 1 {
		t.Fatalf("read after the bump = %q (%d loads), want new from the database", got, db.calls.Load())
	}
}

// TestReaderAfterBumpDoesNotJoinOlderLoad: single-flight must not hand a
// reader that started after a bump the result of a load that started
// before it.
func TestReaderAfterBumpDoesNotJoinOlderLoad(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	d := core.Entity("users", "1")
	inLoad, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = c.Fetch(ctx, d, func(context.Context) ([]byte, error) {
			close(inLoad)
			<-release
			return []byte("old"), nil
		})
	}()
	<-inLoad
	defer close(release)
	if err := c.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
		t.Fatal(err)
	}
	v, err := c.Fetch(ctx, d, func(context.Context) ([]byte, error) { return []byte("new"), nil })
	if err != nil || string(v) != "new" {
		t.Fatalf("reader after bump got %q, %v; want new", v, err)
	}
	if s := c.Stats(); s.Joins != 0 {
		t.Fatalf("Joins = %d, want 0", s.Joins)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSingleFlight(t *testing.T) {
	const n = 8
	ctx := context.Background()
	tests := []struct {
		name    string
		load    func(release chan struct{}) core.LoadFunc
		wantErr error
		cached  bool
	}{
		{"value shared", func(r chan struct{}) core.LoadFunc {
			return func(context.Context) ([]byte, error) { <-r; return []byte("v"), nil }
		}, nil, true},
		{"error reaches every joiner and is not cached", func(r chan struct{}) core.LoadFunc {
			return func(context.Context) ([]byte, error) { <-r; return nil, errStoreDown }
		}, errStoreDown, false},
		{"panic does not wedge the key", func(r chan struct{}) core.LoadFunc {
			return func(context.Context) ([]byte, error) { <-r; panic("loader bug") }
		}, core.ErrLoaderPanic, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, newMapStore())
			d := core.Entity("users", "1")
			// Give the tags versions first: mapStore has no atomic
			// set-if-absent, so callers seeding a missing tag at once could
			// each get their own stamp, and callers with different versions
			// rightly never share a load.
			if err := c.InvalidateTags(ctx, d.Tags...); err != nil {
				t.Fatal(err)
			}
			if err := c.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			var loads atomic.Int64
			load := tt.load(release)
			counted := func(ctx context.Context) ([]byte, error) { loads.Add(1); return load(ctx) }
			errs := make(chan error, n)
			for range n {
				go func() {
					v, err := c.Fetch(ctx, d, counted)
					if err == nil && string(v) != "v" {
						err = errors.New("wrong value " + string(v))
					}
					errs <- err
				}()
			}
			waitFor(t, "joins", func() bool { return c.Stats().Joins == n-1 })
			close(release)
			for range n {
				if err := <-errs; !errors.Is(err, tt.wantErr) {
					t.Fatalf("caller got %v, want %v", err, tt.wantErr)
				}
			}
			if loads.Load() != 1 {
				t.Fatalf("%d loads, want 1", loads.Load())
			}
			db := &fakeDB{val: "v"}
			fetch(t, ctx, c, d, db)
			if reloaded := db.calls.Load() == 1; reloaded == tt.cached {
				t.Fatalf("next read reloaded = %v, want %v", reloaded, !tt.cached)
			}
		})
	}
}

func TestCancelledWaiterLeavesLoadRunning(t *testing.T) {
	c := newCache(t, newMapStore())
	d := core.Entity("users", "1")
	release := make(chan struct{})
	var loadCtxErr atomic.Value
	load := func(ctx context.Context) ([]byte, error) {
		<-release
		if ctx.Err() != nil {
			loadCtxErr.Store(ctx.Err())
		}
		return []byte("v"), nil
	}
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderDone := make(chan error)
	go func() { _, err := c.Fetch(leaderCtx, d, load); leaderDone <- err }()
	waitFor(t, "the load to start", func() bool { return c.Stats().Loads == 1 })
	joinerDone := make(chan []byte)
	go func() {
		v, err := c.Fetch(context.Background(), d, load)
		if err != nil {
			t.Error(err)
		}
		joinerDone <- v
	}()
	waitFor(t, "the joiner", func() bool { return c.Stats().Joins == 1 })
	cancelLeader()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled leader got %v, want context.Canceled at once", err)
	}
	close(release)
	if v := <-joinerDone; string(v) != "v" {
		t.Fatalf("joiner got %q, want v", v)
	}
	if err := loadCtxErr.Load(); err != nil {
		t.Fatalf("load saw its context cancelled (%v) while a joiner waited", err)
	}
}

func TestNegativeCaching(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := newCache(t, newMapStore(), core.WithClock(clock), core.WithNegativeTTL(time.Minute))
	d := core.Entity("users", "9")
	db := &fakeDB{missing: true}
	for range 2 {
		if _, err := c.Fetch(ctx, d, db.load); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if db.calls.Load() != 1 || c.Stats().NegativeHits != 1 {
		t.Fatalf("%d loads, %d negative hits; want the not-found cached", db.calls.Load(), c.Stats().NegativeHits)
	}
	// The row is created: its entity tag is bumped, as a plugin does.
	db.write("created")
	if err := c.InvalidateTags(ctx, keys.EntityTag("users", "9")); err != nil {
		t.Fatal(err)
	}
	if got := fetch(t, ctx, c, d, db); got != "created" {
		t.Fatalf("read after create = %q", got)
	}
	// And the negative TTL is its own.
	d2 := core.Entity("users", "10")
	db2 := &fakeDB{missing: true}
	_, _ = c.Fetch(ctx, d2, db2.load)
	clock.Advance(61 * time.Second)
	_, _ = c.Fetch(ctx, d2, db2.load)
	if db2.calls.Load() != 2 {
		t.Fatalf("negative entry outlived its TTL: %d loads", db2.calls.Load())
	}
	// A negative policy TTL turns negative caching off.
	d3 := core.Entity("users", "11").WithPolicy(core.Policy{NegativeTTL: -1})
	db3 := &fakeDB{missing: true}
	_, _ = c.Fetch(ctx, d3, db3.load)
	_, _ = c.Fetch(ctx, d3, db3.load)
	if db3.calls.Load() != 2 {
		t.Fatalf("negative caching off, but %d loads", db3.calls.Load())
	}
}

func TestModes(t *testing.T) {
	d := core.Entity("users", "1")
	tests := []struct {
		name      string
		ctx       func(context.Context) context.Context
		warm      bool
		want      string
		wantErr   error
		wantCalls int64
		after     string // what a normal read returns next
	}{
		{"bypass reads the database and leaves the cache", core.WithBypass, true, "v2", nil, 1, "v1"},
		{"bypass does not fill", core.WithBypass, false, "v2", nil, 1, "v2"},
		{"refresh loads and overwrites", core.WithRefresh, true, "v2", nil, 1, "v2"},
		{"cache-only hit", core.WithCacheOnly, true, "v1", nil, 0, "v1"},
		{"cache-only miss never calls the loader", core.WithCacheOnly, false, "", core.ErrCacheMiss, 0, "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := newCache(t, newMapStore())
			db := &fakeDB{val: "v1"}
			if tt.warm {
				fetch(t, ctx, c, d, db)
			}
			db.write("v2") // a change the cache was not told about
			db.calls.Store(0)
			v, err := c.Fetch(tt.ctx(ctx), d, db.load)
			if !errors.Is(err, tt.wantErr) || string(v) != tt.want || db.calls.Load() != tt.wantCalls {
				t.Fatalf("got %q, %v after %d loads; want %q, %v after %d", v, err, db.calls.Load(), tt.want, tt.wantErr, tt.wantCalls)
			}
			if got := fetch(t, ctx, c, d, db); got != tt.after {
				t.Fatalf("next normal read = %q, want %q", got, tt.after)
			}
		})
	}
}

func TestTTL(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := newCache(t, newMapStore(), core.WithClock(clock), core.WithDefaultTTL(time.Minute), core.WithTTLJitter(0))
	tests := []struct {
		name    string
		ctx     context.Context
		policy  core.Policy
		advance time.Duration
		expired bool
	}{
		{"default kept", ctx, core.Policy{}, 59 * time.Second, false},
		{"default expires", ctx, core.Policy{}, 61 * time.Second, true},
		{"policy TTL", ctx, core.Policy{TTL: 10 * time.Second}, 11 * time.Second, true},
		{"context override beats policy", core.WithTTL(ctx, time.Hour), core.Policy{TTL: 10 * time.Second}, 30 * time.Minute, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := core.Entity("ttl", string(rune('a'+i))).WithPolicy(tt.policy)
			db := &fakeDB{val: "v"}
			if _, err := c.Fetch(tt.ctx, d, db.load); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.advance)
			fetch(t, ctx, c, d, db)
			if expired := db.calls.Load() == 2; expired != tt.expired {
				t.Fatalf("expired = %v, want %v", expired, tt.expired)
			}
		})
	}
}

func TestStoreFailureNeverFailsARead(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(s *mapStore)
	}{
		{"get fails", func(s *mapStore) { s.failGet = true }},
		{"set fails", func(s *mapStore) { s.failSet = true }},
		{"store panics", func(s *mapStore) { s.panicGet = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := newMapStore()
			var logs bytes.Buffer
			c, err := core.New(st, core.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st.set(tt.breakIt)
			db := &fakeDB{val: "v"}
			for i := range 20 {
				v, err := c.Fetch(ctx, core.Entity("users", "1"), db.load)
				if err != nil || string(v) != "v" {
					t.Fatalf("read %d = %q, %v; want the database's value", i, v, err)
				}
			}
			// The first failure opens the breaker: the other reads leave
			// the store alone instead of each waiting for it to fail.
			if s := c.Stats(); db.calls.Load() != 20 || s.StoreErrors < 1 || s.Bypassed < 19 {
				t.Fatalf("%d loads, stats %+v; want 20 loads, a store error, 19 reads that skipped the store", db.calls.Load(), s)
			}
			if n := strings.Count(logs.String(), "store error"); n != 1 {
				t.Fatalf("logged %d times, want once per burst:\n%s", n, logs.String())
			}
		})
	}
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	c := newCache(t, st)
	d := core.Entity("users", "1")
	db := &fakeDB{val: "v1"}
	fetch(t, ctx, c, d, db)
	for _, garbage := range [][]byte{{}, {1}, {9, 9, 9}, bytes.Repeat([]byte{1}, 12)} {
		st.set(func(s *mapStore) {
			for k := range s.data {
				if strings.Contains(k, ":k:") {
					s.data[k] = garbage
				}
			}
		})
		if got := fetch(t, ctx, c, d, db); got != "v1" {
			t.Fatalf("read over corrupt entry %v = %q", garbage, got)
		}
	}
	if s := c.Stats(); s.DecodeErrors != 4 || db.calls.Load() != 5 {
		t.Fatalf("stats %+v after %d loads; want 4 decode errors and a reload each", s, db.calls.Load())
	}
}

func TestFlushStaysInNamespace(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	a := newCache(t, st, core.WithNamespace("a"))
	b := newCache(t, st, core.WithNamespace("b"))
	d := core.Entity("users", "1")
	dbA, dbB := &fakeDB{val: "a"}, &fakeDB{val: "b"}
	fetch(t, ctx, a, d, dbA)
	fetch(t, ctx, b, d, dbB)
	n := len(st.keys())
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(st.keys()) < n {
		t.Fatal("Flush deleted keys")
	}
	fetch(t, ctx, a, d, dbA)
	fetch(t, ctx, b, d, dbB)
	if dbA.calls.Load() != 2 || dbB.calls.Load() != 1 {
		t.Fatalf("loads a=%d b=%d; want a flushed, b untouched", dbA.calls.Load(), dbB.calls.Load())
	}
}

func TestPendingBumpBlocksCachedReads(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	c := newCache(t, st)
	d := core.Entity("users", "1")
	db := &fakeDB{val: "v1"}
	fetch(t, ctx, c, d, db)
	db.write("v2")
	st.set(func(s *mapStore) { s.failSet = true })
	if err := c.InvalidateTags(ctx, keys.EntityTag("users", "1")); err == nil {
		t.Fatal("bump into a failing store reported success")
	}
	// The old version is still in the store; reads must not trust it.
	if got := fetch(t, ctx, c, d, db); got != "v2" {
		t.Fatalf("read with a pending bump = %q, want v2", got)
	}
	st.set(func(s *mapStore) { s.failSet = false })
	waitFor(t, "the retried bump", func() bool { return c.Stats().Bumps == 1 })
	calls := db.calls.Load()
	fetch(t, ctx, c, d, db)
	if got := fetch(t, ctx, c, d, db); got != "v2" || db.calls.Load() != calls+1 {
		t.Fatalf("after the retry: %q with %d loads, want cached v2", got, db.calls.Load()-calls)
	}
}

func TestTxBuffer(t *testing.T) {
	tag := keys.EntityTag("users", "1")
	tests := []struct {
		name   string
		run    func(ctx context.Context, b *core.TxBuffer)
		bumped bool
	}{
		{"commit publishes", func(ctx context.Context, b *core.TxBuffer) {
			_ = b.Add(ctx, tag)
			_ = b.Commit(ctx)
		}, true},
		{"rollback drops", func(ctx context.Context, b *core.TxBuffer) {
			_ = b.Add(ctx, tag)
			b.Rollback()
		}, false},
		{"savepoint rolled back still folds into the commit", func(ctx context.Context, b *core.TxBuffer) {
			sp := b.Savepoint()
			_ = sp.Add(ctx, tag)
			sp.Rollback()
			_ = b.Commit(ctx)
		}, true},
		{"savepoint commit publishes nothing before the outer commit", func(ctx context.Context, b *core.TxBuffer) {
			sp := b.Savepoint()
			_ = sp.Add(ctx, tag)
			_ = sp.Commit(ctx)
			b.Rollback()
		}, false},
		{"nothing before commit", func(ctx context.Context, b *core.TxBuffer) {
			_ = b.Add(ctx, tag)
		}, false},
		{"add after rollback bumps at once", func(ctx context.Context, b *core.TxBuffer) {
			b.Rollback()
			_ = b.Add(ctx, tag)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := newCache(t, newMapStore())
			d := core.Entity("users", "1")
			db := &fakeDB{val: "v1"}
			fetch(t, ctx, c, d, db)
			db.write("v2")
			tt.run(ctx, c.NewTxBuffer())
			want := "v1"
			if tt.bumped {
				want = "v2"
			}
			if got := fetch(t, ctx, c, d, db); got != want {
				t.Fatalf("read after = %q, want %q", got, want)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  core.Option
	}{
		{"empty namespace", core.WithNamespace("")},
		{"zero TTL", core.WithDefaultTTL(0)},
		{"jitter 1", core.WithTTLJitter(1)},
		{"nil codec", core.WithCodec(nil)},
		{"nil clock", core.WithClock(nil)},
		{"nil logger", core.WithLogger(nil)},
		{"zero tag TTL", core.WithTagTTL(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := core.New(newMapStore(), tt.opt); !errors.Is(err, core.ErrInvalidOption) {
				t.Fatalf("err = %v, want ErrInvalidOption", err)
			}
		})
	}
	if _, err := core.New(nil); !errors.Is(err, core.ErrInvalidOption) {
		t.Fatalf("nil store: err = %v", err)
	}
}

// TestBreakerProbesAndRecovers: after a store failure reads skip the store
// for a backoff, then one read probes it, and a working store closes the
// breaker.
func TestBreakerProbesAndRecovers(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	clock := newFakeClock()
	c := newCache(t, st, core.WithClock(clock))
	d := core.Entity("users", "1")
	db := &fakeDB{val: "v1"}
	gets := func() int { st.mu.Lock(); defer st.mu.Unlock(); return st.gets }

	st.set(func(s *mapStore) { s.failGet = true })
	fetch(t, ctx, c, d, db)
	before := gets()
	for range 5 {
		fetch(t, ctx, c, d, db)
	}
	if gets() != before {
		t.Fatalf("the store was asked %d times while the breaker was open", gets()-before)
	}
	// Still failing when the backoff ends: one probe, then a longer backoff.
	clock.Advance(150 * time.Millisecond)
	fetch(t, ctx, c, d, db)
	fetch(t, ctx, c, d, db)
	if n := gets() - before; n != 1 {
		t.Fatalf("%d store reads after the first backoff, want one probe", n)
	}
	clock.Advance(150 * time.Millisecond) // less than the doubled backoff
	fetch(t, ctx, c, d, db)
	if n := gets() - before; n != 1 {
		t.Fatalf("%d store reads within the doubled backoff, want none more", n)
	}
	// The store comes back: the next probe closes the breaker and hits resume.
	st.set(func(s *mapStore) { s.failGet = false })
	clock.Advance(time.Second)
	fetch(t, ctx, c, d, db)
	calls := db.calls.Load()
	if got := fetch(t, ctx, c, d, db); got != "v1" || db.calls.Load() != calls {
		t.Fatalf("after recovery: %q with %d more loads, want a hit", got, db.calls.Load()-calls)
	}
}

// TestEpochDescriptor: a descriptor made under a flush version that is no
// longer current loads and stores nothing; one made under the current
// version fills the cache as usual.
func TestEpochDescriptor(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	db := &fakeDB{val: "v1"}
	epoch, err := c.FlushVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := core.Collection(keys.Fingerprint{1}, "t")
	d.Epoch = epoch
	fetch(t, ctx, c, d, db)
	fetch(t, ctx, c, d, db)
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("current epoch: %d loads, want 1 (the second read a hit)", n)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if now, _ := c.FlushVersion(ctx); now == epoch {
		t.Fatal("Flush did not change the flush version")
	}
	for range 2 {
		fetch(t, ctx, c, d, db) // the old epoch: never stored
	}
	if n := db.calls.Load(); n != 3 {
		t.Errorf("stale epoch: %d loads, want 3 (nothing stored)", n)
	}
}
