package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eko/gocache/lib/v4/store"
)

// fakeStore is a small map-backed store used to test the suite itself. Its
// zero flags make it correct; each flag plants one defect the suite must
// catch.
type fakeStore struct {
	mu sync.Mutex
	m  map[string]fakeEntry

	notFound     error         // error for a missing key; nil means store.NotFound
	dropEvery    int           // silently drop every n-th Set (buffered-write loss)
	ttlTruncate  time.Duration // truncate TTLs to this unit (second-granular stores)
	ignoreTTL    bool          // never expire
	noopClear    bool          // Clear does nothing
	nxOverwrites bool          // SetNX always overwrites
	staleReader  bool          // a prepared reader returns what the keys held when prepared
	sets         int
}

type fakeEntry struct {
	v   []byte
	exp time.Time // zero: no expiry
}

// fullStore adds the optional interfaces; fakeStore alone has none of them.
type fullStore struct{ *fakeStore }

func newFake() *fakeStore { return &fakeStore{m: map[string]fakeEntry{}} }

func (f *fakeStore) lookup(key string) ([]byte, time.Time, bool) {
	e, ok := f.m[key]
	if !ok || (!e.exp.IsZero() && time.Now().After(e.exp)) {
		return nil, time.Time{}, false
	}
	return e.v, e.exp, true
}

func (f *fakeStore) missing() error {
	if f.notFound != nil {
		return f.notFound
	}
	return store.NotFoundWithCause(nil)
}

func (f *fakeStore) put(key string, v []byte, ttl time.Duration) {
	f.sets++
	if f.dropEvery > 0 && f.sets%f.dropEvery == 0 {
		return
	}
	if f.ttlTruncate > 0 {
		ttl = ttl.Truncate(f.ttlTruncate)
	}
	e := fakeEntry{v: append([]byte(nil), v...)}
	if ttl > 0 && !f.ignoreTTL {
		e.exp = time.Now().Add(ttl)
	}
	f.m[key] = e
}

func (f *fakeStore) Get(_ context.Context, key any) (any, error) {
	v, _, err := f.GetWithTTL(context.Background(), key)
	return v, err
}

func (f *fakeStore) GetWithTTL(_ context.Context, key any) (any, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, exp, ok := f.lookup(key.(string))
	if !ok {
		return nil, 0, f.missing()
	}
	var ttl time.Duration
	if !exp.IsZero() {
		ttl = time.Until(exp)
	}
	return v, ttl, nil
}

func (f *fakeStore) Set(_ context.Context, key any, value any, options ...store.Option) error {
	o := store.ApplyOptions(options...)
	var b []byte
	switch v := value.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("unsupported value %T", value)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.put(key.(string), b, o.Expiration)
	return nil
}

func (f *fakeStore) Delete(_ context.Context, key any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key.(string))
	return nil
}

func (f *fakeStore) Invalidate(context.Context, ...store.InvalidateOption) error { return nil }

func (f *fakeStore) Clear(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.noopClear {
		clear(f.m)
	}
	return nil
}

func (f *fakeStore) GetType() string { return "fake" }

func (f fullStore) GetMulti(_ context.Context, keys []string) ([][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i], _, _ = f.lookup(k)
	}
	return out, nil
}

func (f fullStore) PrepareGetMulti(keys []string) func(context.Context) ([][]byte, error) {
	if f.staleReader {
		first, _ := f.GetMulti(context.Background(), keys)
		return func(context.Context) ([][]byte, error) { return first, nil }
	}
	return func(ctx context.Context) ([][]byte, error) { return f.GetMulti(ctx, keys) }
}

func (f fullStore) SetNX(_ context.Context, key string, value []byte, ttl time.Duration) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, _, ok := f.lookup(key); ok && !f.nxOverwrites {
		return v, nil
	}
	f.put(key, value, ttl)
	return value, nil
}

func (f fullStore) SetMulti(_ context.Context, keys []string, values [][]byte, ttl time.Duration) error {
	if len(keys) != len(values) {
		return errors.New("keys and values differ in length")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, k := range keys {
		f.put(k, values[i], ttl)
	}
	return nil
}

// TestRunPassesCorrectStore runs the whole suite against a correct store,
// with and without the optional interfaces.
func TestRunPassesCorrectStore(t *testing.T) {
	t.Run("with optional interfaces", func(t *testing.T) {
		Run(t, func(*testing.T) store.StoreInterface { return fullStore{newFake()} })
	})
	t.Run("plain StoreInterface", func(t *testing.T) {
		Run(t, func(*testing.T) store.StoreInterface { return newFake() })
	})
}

// TestChecksCatchDefects feeds each check a store with one planted defect
// and asserts that the check reports it.
func TestChecksCatchDefects(t *testing.T) {
	cases := []struct {
		check string
		store func() store.StoreInterface
	}{
		{"get of a missing key is not found", func() store.StoreInterface {
			f := newFake()
			f.notFound = errors.New("nope")
			return f
		}},
		{"set is visible to the next get for 1000 keys in a row", func() store.StoreInterface {
			f := newFake()
			f.dropEvery = 100
			return f
		}},
		{"entry expires after its TTL", func() store.StoreInterface {
			f := newFake()
			f.ignoreTTL = true
			return f
		}},
		{"sub-second TTL is neither dropped nor rounded up past one second", func() store.StoreInterface {
			f := newFake()
			f.ttlTruncate = time.Second // 300ms becomes 0, i.e. no expiry
			return f
		}},
		{"clear empties the store", func() store.StoreInterface {
			f := newFake()
			f.noopClear = true
			return f
		}},
		{"SetNX sets only an absent key", func() store.StoreInterface {
			f := newFake()
			f.nxOverwrites = true
			return fullStore{f}
		}},
		{"concurrent SetNX on one key agree on one value", func() store.StoreInterface {
			f := newFake()
			f.nxOverwrites = true
			return fullStore{f}
		}},
		{"prepared GetMulti agrees with GetMulti, before and after writes", func() store.StoreInterface {
			f := newFake()
			f.staleReader = true
			return fullStore{f}
		}},
		{"SetMulti agrees with Set", func() store.StoreInterface {
			f := newFake()
			f.ignoreTTL = true
			return fullStore{f}
		}},
	}
	byName := map[string]check{}
	for _, c := range checks {
		byName[c.name] = c
	}
	for _, c := range cases {
		t.Run(c.check, func(t *testing.T) {
			t.Parallel() // the expiry defects each wait out a full deadline
			chk, ok := byName[c.check]
			if !ok {
				t.Fatalf("no check named %q", c.check)
			}
			err := chk.run(t.Context(), c.store())
			if err == nil || errors.Is(err, errNotImplemented) {
				t.Fatalf("check passed a defective store: err = %v", err)
			}
			t.Logf("reported: %v", err)
		})
	}
}

// TestOptionalChecksSkipPlainStore asserts that optional checks report
// errNotImplemented (a skip) rather than a failure for a plain store.
func TestOptionalChecksSkipPlainStore(t *testing.T) {
	for _, name := range []string{"GetMulti agrees with Get", "prepared GetMulti agrees with GetMulti, before and after writes", "SetNX sets only an absent key", "concurrent SetNX on one key agree on one value", "SetMulti agrees with Set"} {
		for _, c := range checks {
			if c.name == name {
				if err := c.run(t.Context(), newFake()); !errors.Is(err, errNotImplemented) {
					t.Errorf("%s on a plain store: err = %v, want errNotImplemented", name, err)
				}
			}
		}
	}
}

func BenchmarkFakeStore(b *testing.B) {
	RunBenchmarks(b, func(*testing.B) store.StoreInterface { return fullStore{newFake()} })
}
