package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
)

// leaseStore is mapStore with fill leases (core.Leaser) that expire by the
// wall clock. Caches sharing one stand for processes sharing Redis.
type leaseStore struct {
	*mapStore
	lmu       sync.Mutex
	leases    map[string]lease
	acquires  atomic.Int64
	failLease atomic.Bool
}

type lease struct {
	token []byte
	until time.Time
}

var _ core.Leaser = (*leaseStore)(nil)

func newLeaseStore() *leaseStore {
	return &leaseStore{mapStore: newMapStore(), leases: map[string]lease{}}
}

func (s *leaseStore) AcquireLease(_ context.Context, key string, token []byte, ttl time.Duration) (bool, error) {
	s.acquires.Add(1)
	if s.failLease.Load() {
		return false, errStoreDown
	}
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if l, ok := s.leases[key]; ok && time.Now().Before(l.until) {
		return false, nil
	}
	s.leases[key] = lease{token: bytes.Clone(token), until: time.Now().Add(ttl)}
	return true, nil
}

func (s *leaseStore) ReleaseLease(_ context.Context, key string, token []byte) error {
	if s.failLease.Load() {
		return errStoreDown
	}
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if l, ok := s.leases[key]; ok && bytes.Equal(l.token, token) {
		delete(s.leases, key)
	}
	return nil
}

func (s *leaseStore) held() int {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	n := 0
	for _, l := range s.leases {
		if time.Now().Before(l.until) {
			n++
		}
	}
	return n
}

func newLeaseCache(t *testing.T, st lib_store.StoreInterface, opts ...core.Option) *core.Cache {
	t.Helper()
	c, err := core.New(st, append([]core.Option{core.WithNamespace("test"), core.WithLogger(discardLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// blockingDB is a loader that reports when it starts and returns val once
// released (or never).
type blockingDB struct {
	val     string
	started chan struct{}
	release chan struct{}
	calls   atomic.Int64
}

func newBlockingDB(val string) *blockingDB {
	return &blockingDB{val: val, started: make(chan struct{}, 100), release: make(chan struct{})}
}

func (db *blockingDB) load(ctx context.Context) ([]byte, error) {
	db.calls.Add(1)
	db.started <- struct{}{}
	select {
	case <-db.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []byte(db.val), nil
}

func waitStarted(t *testing.T, db *blockingDB) {
	t.Helper()
	select {
	case <-db.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the loader did not start")
	}
}

// A waiter takes the holder's result from the store instead of loading.
func TestFillLeaseWaiterTakesHolderResult(t *testing.T) {
	ctx := context.Background()
	st := newLeaseStore()
	a := newLeaseCache(t, st, core.WithFillLease(10*time.Second, 5*time.Second))
	b := newLeaseCache(t, st, core.WithFillLease(10*time.Second, 5*time.Second))
	d := core.Entity("users", "1")
	dbA := newBlockingDB("v1")
	dbB := &fakeDB{val: "from b"}

	resA := make(chan string, 1)
	go func() {
		v, err := a.Fetch(ctx, d, dbA.load)
		if err != nil {
			t.Error(err)
		}
		resA <- string(v)
	}()
	waitStarted(t, dbA)
	resB := make(chan string, 1)
	go func() { resB <- fetch(t, ctx, b, d, dbB) }()
	time.Sleep(30 * time.Millisecond) // b is waiting now
	close(dbA.release)
	if got := <-resA; got != "v1" {
		t.Fatalf("holder got %q", got)
	}
	select {
	case got := <-resB:
		if got != "v1" {
			t.Fatalf("waiter got %q, want the holder's v1", got)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the waiter did not return")
	}
	if n := dbB.calls.Load(); n != 0 {
		t.Fatalf("the waiter loaded %d times", n)
	}
	if s := b.Stats(); s.LeaseHits != 1 || s.Loads != 0 || s.LeaseTimeouts != 0 {
		t.Fatalf("waiter stats %+v", s)
	}
	if n := st.held(); n != 0 {
		t.Fatalf("%d leases still held after the fill", n)
	}
}

// A holder that hangs (or died) holds its lease until it expires; waiters
// wait at most maxWait, then load themselves.
func TestFillLeaseHolderHangsWaitersFallThrough(t *testing.T) {
	ctx := context.Background()
	st := newLeaseStore()
	const maxWait = 150 * time.Millisecond
	a := newLeaseCache(t, st, core.WithFillLease(time.Minute, maxWait))
	b := newLeaseCache(t, st, core.WithFillLease(time.Minute, maxWait))
	d := core.Entity("users", "1")
	dbA := newBlockingDB("never")
	t.Cleanup(func() { close(dbA.release) })
	actx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go func() { _, _ = a.Fetch(actx, d, dbA.load) }()
	waitStarted(t, dbA)

	dbB := &fakeDB{val: "v1"}
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			if got := fetch(t, ctx, b, d, dbB); got != "v1" {
				t.Errorf("got %q", got)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if took < maxWait || took > maxWait+time.Second {
		t.Fatalf("waiters returned after %v; want a little over %v", took, maxWait)
	}
	if n := dbB.calls.Load(); n != 1 {
		t.Fatalf("%d loads in b; want 1 (its goroutines share one)", n)
	}
	if s := b.Stats(); s.LeaseTimeouts != 1 {
		t.Fatalf("stats %+v; want one lease timeout", s)
	}
}

// A holder that died leaves its lease to expire: a waiter then takes it
// over and loads, long before maxWait.
func TestFillLeaseExpiredLeaseIsTakenOver(t *testing.T) {
	ctx := context.Background()
	st := newLeaseStore()
	a := newLeaseCache(t, st, core.WithFillLease(50*time.Millisecond, 10*time.Second))
	b := newLeaseCache(t, st, core.WithFillLease(50*time.Millisecond, 10*time.Second))
	d := core.Entity("users", "1")
	dbA := newBlockingDB("never")
	t.Cleanup(func() { close(dbA.release) })
	actx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go func() { _, _ = a.Fetch(actx, d, dbA.load) }()
	waitStarted(t, dbA)

	dbB := &fakeDB{val: "v1"}
	start := time.Now()
	if got := fetch(t, ctx, b, d, dbB); got != "v1" {
		t.Fatalf("got %q", got)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the waiter took %v; the lease expired after 50 ms", took)
	}
	if s := b.Stats(); s.Loads != 1 || s.LeaseTimeouts != 0 {
		t.Fatalf("stats %+v; want one load under the taken-over lease", s)
	}
}

// A holder whose load fails releases its lease without an entry: a waiter
// takes the lease and loads at once instead of waiting maxWait.
func TestFillLeaseReleasedWithoutEntry(t *testing.T) {
	ctx := context.Background()
	st := newLeaseStore()
	a := newLeaseCache(t, st, core.WithFillLease(time.Minute, 10*time.Second))
	b := newLeaseCache(t, st, core.WithFillLease(time.Minute, 10*time.Second))
	d := core.Entity("users", "1")
	started, fail := make(chan struct{}), make(chan struct{})
	errDB := errors.New("db down")
	go func() {
		_, _ = a.Fetch(ctx, d, func(context.Context) ([]byte, error) {
			close(started)
			<-fail
			return nil, errDB
		})
	}()
	<-started
	res := make(chan string, 1)
	dbB := &fakeDB{val: "v1"}
	startB := time.Now()
	go func() { res <- fetch(t, ctx, b, d, dbB) }()
	time.Sleep(20 * time.Millisecond)
	close(fail)
	if got := <-res; got != "v1" {
		t.Fatalf("got %q", got)
	}
	if took := time.Since(startB); took > 2*time.Second {
		t.Fatalf("the waiter took %v after the holder failed", took)
	}
}

// A bump while the holder loads: the holder's fill is discarded, and a
// waiter that reads the new versions never takes a value loaded before
// the bump; it loads under the new versions.
func TestFillLeaseBumpDuringHolderLoad(t *testing.T) {
	ctx := context.Background()
	st := newLeaseStore()
	a := newLeaseCache(t, st, core.WithFillLease(time.Minute, 5*time.Second))
	b := newLeaseCache(t, st, core.WithFillLease(time.Minute, 5*time.Second))
	d := core.Entity("users", "1")
	dbA := newBlockingDB("old")
	resA := make(chan string, 1)
	go func() {
		v, err := a.Fetch(ctx, d, dbA.load)
		if err != nil {
			t.Error(err)
		}
		resA <- string(v)
	}()
	waitStarted(t, dbA)
	resB := make(chan string, 1)
	dbB := newBlockingDB("new")
	go func() {
		v, err := b.Fetch(ctx, d, dbB.load)
		if err != nil {
			t.Error(err)
		}
		resB <- string(v)
	}()
	time.Sleep(30 * time.Millisecond) // b is waiting for a's lease

	// The write commits, then bumps the row's tag.
	if err := a.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
		t.Fatal(err)
	}
	// b sees the new versions on its next read and loads under them,
	// while a still holds the old lease.
	waitStarted(t, dbB)
	close(dbA.release) // a's load, begun before the bump, completes
	if got := <-resA; got != "old" {
		t.Fatalf("holder got %q", got)
	}
	if s := a.Stats(); s.StaleLoads != 1 {
		t.Fatalf("holder stats %+v; want its fill discarded", s)
	}
	close(dbB.release)
	if got := <-resB; got != "new" {
		t.Fatalf("the waiter got %q, loaded before the bump it had read", got)
	}
	// What the cache holds now is b's fill.
	c := newLeaseCache(t, st, core.WithFillLease(time.Minute, 5*time.Second))
	if got := fetch(t, ctx, c, d, &fakeDB{val: "must not load"}); got != "new" {
		t.Fatalf("cached %q after the bump", got)
	}
}

// A waiter whose snapshot already has the new versions never waits for a
// lease taken before the bump.
func TestFillLeaseIsPerVersions(t *testing.T) {
	ctx := context.Background()
	st := newLeaseStore()
	a := newLeaseCache(t, st, core.WithFillLease(time.Minute, 5*time.Second))
	b := newLeaseCache(t, st, core.WithFillLease(time.Minute, 5*time.Second))
	d := core.Entity("users", "1")
	dbA := newBlockingDB("old")
	t.Cleanup(func() { close(dbA.release) })
	go func() { _, _ = a.Fetch(ctx, d, dbA.load) }()
	waitStarted(t, dbA)
	if err := b.InvalidateTags(ctx, keys.EntityTag("users", "1")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if got := fetch(t, ctx, b, d, &fakeDB{val: "new"}); got != "new" {
		t.Fatalf("got %q", got)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a read after the bump waited %v for a lease taken before it", took)
	}
	if s := b.Stats(); s.LeaseTimeouts != 0 || s.Loads != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// Lease failures fall through to the loader with no error for the caller.
func TestFillLeaseStoreFailureFallsThrough(t *testing.T) {
	ctx := context.Background()
	st := newLeaseStore()
	st.failLease.Store(true)
	c := newLeaseCache(t, st, core.WithFillLease(time.Minute, 5*time.Second))
	d := core.Entity("users", "1")
	db := &fakeDB{val: "v1"}
	if got := fetch(t, ctx, c, d, db); got != "v1" {
		t.Fatalf("got %q", got)
	}
	if s := c.Stats(); s.StoreErrors == 0 || s.Loads != 1 {
		t.Fatalf("stats %+v; want the lease failure counted and one load", s)
	}
}

// Without a Leaser the option changes nothing.
func TestFillLeaseWithoutLeaser(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore(), core.WithFillLease(time.Minute, 5*time.Second))
	d := core.Entity("users", "1")
	db := &fakeDB{val: "v1"}
	for range 3 {
		if got := fetch(t, ctx, c, d, db); got != "v1" {
			t.Fatalf("got %q", got)
		}
	}
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("%d loads", n)
	}
}

func TestWithFillLeaseValidates(t *testing.T) {
	for _, tc := range [][2]time.Duration{{0, time.Second}, {time.Second, 0}, {-1, -1}} {
		if _, err := core.New(newMapStore(), core.WithFillLease(tc[0], tc[1])); !errors.Is(err, core.ErrInvalidOption) {
			t.Errorf("WithFillLease(%v, %v): err %v", tc[0], tc[1], err)
		}
	}
}

// herdLoads runs caches × goroutines concurrent misses of one entry, the
// caches sharing st as processes share Redis, and returns the loads that
// reached the database.
func herdLoads(t *testing.T, st lib_store.StoreInterface, caches, goroutines int, opts ...core.Option) int64 {
	ctx := context.Background()
	d := core.Entity("users", "1")
	var loads atomic.Int64
	load := func(context.Context) ([]byte, error) {
		loads.Add(1)
		time.Sleep(50 * time.Millisecond)
		return []byte("v1"), nil
	}
	cs := make([]*core.Cache, caches)
	for i := range cs {
		cs[i] = newLeaseCache(t, st, append([]core.Option{core.WithNamespace(fmt.Sprint("herd", len(opts)))}, opts...)...)
	}
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range cs {
		for range goroutines {
			wg.Go(func() {
				<-gate
				v, err := c.Fetch(ctx, d, load)
				if err != nil || string(v) != "v1" {
					t.Errorf("Fetch = %q, %v", v, err)
				}
			})
		}
	}
	close(gate)
	wg.Wait()
	return loads.Load()
}

// The herd in one process, over the memory store's leases: caches stand
// for processes.
func TestFillLeaseHerdMemory(t *testing.T) {
	st, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	off := herdLoads(t, st, 4, 16)
	on := herdLoads(t, st, 4, 16, core.WithFillLease(5*time.Second, 2*time.Second))
	t.Logf("loads: %d without lease, %d with", off, on)
	if on != 1 || off <= on {
		t.Fatalf("loads: %d without lease, %d with; want 1 with, more without", off, on)
	}
}
