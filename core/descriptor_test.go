package core_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	lib_store "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
)

// TestPrepare: a prepared descriptor reads and is invalidated as the
// plain one; one changed after Prepare, or prepared by another Cache,
// reads its own entry, never the one it was prepared for.
func TestPrepare(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	c := newCache(t, st)
	other := newCache(t, newMapStore(), core.WithNamespace("other"))
	u1 := &fakeDB{val: "one"}
	u2 := &fakeDB{val: "two"}

	p1 := c.Prepare(core.Entity("users", "1"))
	if got := fetch(t, ctx, c, p1, u1); got != "one" {
		t.Fatalf("prepared miss: %q", got)
	}
	if got := fetch(t, ctx, c, core.Entity("users", "1"), u1); got != "one" || u1.calls.Load() != 1 {
		t.Fatalf("plain read of a prepared fill: %q after %d loads, want a hit", got, u1.calls.Load())
	}
	if got := fetch(t, ctx, c, p1, u1); got != "one" || u1.calls.Load() != 1 {
		t.Fatalf("prepared hit: %q after %d loads", got, u1.calls.Load())
	}

	// A prepared descriptor changed since reads its new key.
	d := p1
	d.Key, d.Tags = core.Entity("users", "2").Key, core.Entity("users", "2").Tags
	if got := fetch(t, ctx, c, d, u2); got != "two" {
		t.Fatalf("key changed after Prepare: got %q, want users/2's value", got)
	}
	// ... and is validated against its new tags.
	tagChanged := c.Prepare(core.Entity("users", "3"))
	tagChanged.Tags = []string{keys.EntityTag("users", "3"), "extra"}
	for _, tc := range []struct {
		name string
		d    core.Descriptor
		bump string
	}{
		{"tag changed", tagChanged, "extra"},
		{"tag added", c.Prepare(core.Entity("users", "4")).WithTags("added"), "added"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{val: "v1"}
			fetch(t, ctx, c, tc.d, db)
			db.write("v2")
			if err := c.InvalidateTags(ctx, tc.bump); err != nil {
				t.Fatal(err)
			}
			if got := fetch(t, ctx, c, tc.d, db); got != "v2" {
				t.Fatalf("after bumping %q: %q, want v2", tc.bump, got)
			}
		})
	}

	// Invalidation reaches reads through the prepared descriptor.
	u1.write("one, changed")
	if err := c.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
		t.Fatal(err)
	}
	if got := fetch(t, ctx, c, p1, u1); got != "one, changed" {
		t.Fatalf("prepared read after a bump: %q", got)
	}

	// Another Cache builds its own keys (its own namespace): it neither
	// reads nor writes the entry of the Cache that prepared them.
	if got := fetch(t, ctx, other, p1, u2); got != "two" {
		t.Fatalf("another cache: %q, want a load of its own", got)
	}
	if got := fetch(t, ctx, c, p1, u1); got != "one, changed" {
		t.Fatalf("the preparing cache after another's fill: %q", got)
	}
}

// countingMemory is the memory store, counting the keys read.
type countingMemory struct {
	*store.Memory
	keys atomic.Int64
}

func (m *countingMemory) GetMulti(ctx context.Context, keys []string) ([][]byte, error) {
	m.keys.Add(int64(len(keys)))
	return m.Memory.GetMulti(ctx, keys)
}

// generationCaches returns a counting memory store (which has write
// generations) and two Caches on it with namespace ns: c, and other to
// write behind c's back.
func generationCaches(t *testing.T, ns string) (*countingMemory, *core.Cache, *core.Cache) {
	t.Helper()
	mem, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	st := &countingMemory{Memory: mem}
	c, err := core.New(st, core.WithNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	other, err := core.New(st, core.WithNamespace(ns)) // another Cache, same store
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = other.Close() })
	return st, c, other
}

// TestPreparedGenerations: on a store with write generations, a prepared
// hit reads the entry alone while no tag key was written, and any write of
// a tag key (a bump by another Cache on the same store, a direct Set, a
// Clear) makes the next read see it.
func TestPreparedGenerations(t *testing.T) {
	ctx := context.Background()
	st, c, other := generationCaches(t, "gen")
	db := &fakeDB{val: "v1"}
	d := c.Prepare(core.Entity("users", "1"))
	fetch(t, ctx, c, d, db) // fill: seeds the tags
	fetch(t, ctx, c, d, db) // reads entry and tags, remembers the versions
	before := st.keys.Load()
	for range 3 {
		if got := fetch(t, ctx, c, d, db); got != "v1" {
			t.Fatalf("hit: %q", got)
		}
	}
	if n := st.keys.Load() - before; n != 3 {
		t.Fatalf("3 hits read %d keys, want the entry alone each time", n)
	}

	writes := []struct {
		name  string
		write func() error
	}{
		{"bump by another Cache", func() error { return other.InvalidateTags(ctx, keys.EntityTag("users", "1")) }},
		{"row-epoch bump", func() error { return c.InvalidateTags(ctx, keys.RowsTag("users")) }},
		{"flush", func() error { return other.Flush(ctx) }},
		{"store cleared", func() error { return st.Clear(ctx) }},
	}
	for i, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			fetch(t, ctx, c, d, db) // remember the current versions again
			val := fmt.Sprintf("v%d", i+2)
			db.write(val)
			if err := w.write(); err != nil {
				t.Fatal(err)
			}
			if got := fetch(t, ctx, c, d, db); got != val {
				t.Fatalf("after the write: %q, want %q", got, val)
			}
		})
	}
}

// TestPreparedMemo: what is stored is found; past MemoMax the memo starts
// over rather than growing.
func TestPreparedMemo(t *testing.T) {
	c := newCache(t, newMapStore())
	var pm core.PreparedMemo
	if _, ok := pm.Load("1"); ok {
		t.Fatal("the zero memo found a descriptor")
	}
	d := c.Prepare(core.Entity("users", "1"))
	pm.Store("1", d)
	if got, ok := pm.Load("1"); !ok || got.Key != d.Key {
		t.Fatalf("Load after Store: %v %v", got.Key, ok)
	}
	for i := range core.MemoMax {
		pm.Store(fmt.Sprint("k", i), d)
	}
	if _, ok := pm.Load("1"); ok {
		t.Fatalf("after %d more descriptors the first is still held: the memo grows without bound", core.MemoMax)
	}
}

// preparingStore is a mapStore with a BatchPreparer whose readers count
// their reads, or panic when told to.
type preparingStore struct {
	*mapStore
	prepared     atomic.Int64 // readers made
	reads        atomic.Int64 // reads through them
	panicPrepare bool
	panicRead    bool
}

func (s *preparingStore) PrepareGetMulti(keys []string) func(context.Context) ([][]byte, error) {
	if s.panicPrepare {
		panic("prepare bug")
	}
	s.prepared.Add(1)
	return func(ctx context.Context) ([][]byte, error) {
		if s.panicRead {
			panic("reader bug")
		}
		s.reads.Add(1)
		out := make([][]byte, len(keys))
		for i, k := range keys {
			v, err := s.Get(ctx, k)
			if err == nil {
				out[i] = v.([]byte)
			}
		}
		return out, nil
	}
}

// TestPreparedReader: a prepared descriptor on a BatchPreparer store is
// read through the store's reader, prepared once, and still sees every
// bump; a plain descriptor is not.
func TestPreparedReader(t *testing.T) {
	ctx := context.Background()
	st := &preparingStore{mapStore: newMapStore()}
	c := newCacheOn(t, st, "test")
	db := &fakeDB{val: "v1"}
	d := c.Prepare(core.Entity("users", "1"))
	if n := st.prepared.Load(); n != 1 {
		t.Fatalf("Prepare made %d readers, want 1", n)
	}
	for range 3 {
		if got := fetch(t, ctx, c, d, db); got != "v1" {
			t.Fatalf("read: %q", got)
		}
	}
	if n := st.reads.Load(); n < 3 {
		t.Fatalf("3 prepared reads went %d times through the store's reader", n)
	}
	if db.calls.Load() != 1 {
		t.Fatalf("%d loads for a miss and two hits", db.calls.Load())
	}
	db.write("v2")
	if err := c.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
		t.Fatal(err)
	}
	if got := fetch(t, ctx, c, d, db); got != "v2" {
		t.Fatalf("prepared read after a bump: %q, want v2", got)
	}
	before := st.reads.Load()
	fetch(t, ctx, c, core.Entity("users", "1"), db)
	if st.reads.Load() != before || st.prepared.Load() != 1 {
		t.Fatal("a plain descriptor was read through a prepared reader")
	}
}

// panickyGenerations is a store whose Generations methods panic.
type panickyGenerations struct {
	*mapStore
	panicShard bool
}

func (s *panickyGenerations) KeyShard(string) int {
	if s.panicShard {
		panic("shard bug")
	}
	return 0
}

func (s *panickyGenerations) Generation(int) uint64 { panic("generation bug") }

// TestPreparedForeignPanics: a foreign store's panic in one of the optional
// interfaces Prepare and prepared reads use costs the shortcut, never the
// read: Fetch still returns the database's value.
func TestPreparedForeignPanics(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		store func() lib_store.StoreInterface
		hits  bool // whether hits still come from the cache
	}{
		{"PrepareGetMulti", func() lib_store.StoreInterface {
			return &preparingStore{mapStore: newMapStore(), panicPrepare: true}
		}, true},
		{"prepared reader", func() lib_store.StoreInterface {
			return &preparingStore{mapStore: newMapStore(), panicRead: true}
		}, false},
		{"KeyShard", func() lib_store.StoreInterface {
			return &panickyGenerations{mapStore: newMapStore(), panicShard: true}
		}, true},
		{"Generation", func() lib_store.StoreInterface {
			return &panickyGenerations{mapStore: newMapStore()}
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCacheOn(t, tc.store(), "test")
			db := &fakeDB{val: "v1"}
			d := c.Prepare(core.Entity("users", "1"))
			for range 3 {
				if got := fetch(t, ctx, c, d, db); got != "v1" {
					t.Fatalf("read: %q", got)
				}
			}
			if loads := db.calls.Load(); tc.hits != (loads == 1) {
				t.Fatalf("%d loads for 3 reads; want hits: %v", loads, tc.hits)
			}
		})
	}
}

// TestFetchManyGenerations: FetchMany of prepared descriptors on a store
// with write generations reads the entries alone once their tag versions
// are remembered, sees every later write of a tag key, and when a
// remembered row's entry is gone reads everything again, counting each
// row once.
func TestFetchManyGenerations(t *testing.T) {
	ctx := context.Background()
	st, c, other := generationCaches(t, "genmany")
	ids := []string{"1", "2", "3"}
	db := &rowsDB{rows: map[string]string{"1": "a", "2": "b", "3": "c"}}
	ds := descriptors(ids)
	for i := range ds {
		ds[i] = c.Prepare(ds[i])
	}
	read := func() []string {
		t.Helper()
		got, err := c.FetchMany(ctx, ds, db.loader(ids))
		if err != nil {
			t.Fatal(err)
		}
		return values(got)
	}
	read() // fill
	read() // reads entries and tags, remembers the versions
	before, loads := st.keys.Load(), len(db.asked)
	if got := read(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("hit: %v", got)
	}
	if n := st.keys.Load() - before; n != 3 || len(db.asked) != loads {
		t.Fatalf("a warm read of 3 rows read %d keys and loaded %d times, want the 3 entries alone", n, len(db.asked)-loads)
	}

	writes := []struct {
		name  string
		row   string
		write func() error
	}{
		{"bump by another Cache", "2", func() error { return other.InvalidateTags(ctx, keys.EntityTag("users", "2")) }},
		{"row-epoch bump", "3", func() error { return c.InvalidateTags(ctx, keys.RowsTag("users")) }},
		{"flush", "1", func() error { return other.Flush(ctx) }},
	}
	for i, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			read() // remember the current versions again
			db.rows[w.row] = fmt.Sprintf("v%d", i)
			if err := w.write(); err != nil {
				t.Fatal(err)
			}
			got := read()
			if got[slices.Index(ids, w.row)] != db.rows[w.row] {
				t.Fatalf("after the write: %v, want %s = %q", got, w.row, db.rows[w.row])
			}
		})
	}

	t.Run("remembered entry gone", func(t *testing.T) {
		read()
		read() // remembered again
		// The memory store's key of ds[0]'s entry (namespace "genmany").
		if err := st.Delete(ctx, keys.Join("hc", "genmany", "k")+":"+ds[0].Key); err != nil {
			t.Fatal(err)
		}
		stats := c.Stats()
		if got := read(); !slices.Equal(got, values([][]byte{[]byte(db.rows["1"]), []byte(db.rows["2"]), []byte(db.rows["3"])})) {
			t.Fatalf("after the entry went: %v", got)
		}
		after := c.Stats()
		if after.Hits-stats.Hits != 2 || after.Misses-stats.Misses != 1 {
			t.Fatalf("one read of 3 rows, one gone, counted %d hits and %d misses", after.Hits-stats.Hits, after.Misses-stats.Misses)
		}
		if last := db.asked[len(db.asked)-1]; !slices.Equal(last, []string{"1"}) {
			t.Fatalf("loaded %v, want only the row whose entry went", last)
		}
	})
}
