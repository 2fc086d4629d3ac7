// Package storetest is a conformance suite for cache stores: it checks that
// a gocache store.StoreInterface behaves the way HydraCache's core relies on
// (not-found errors, exact bytes, read-your-write, TTLs including sub-second
// ones, Clear, and consistency under concurrency), plus the optional batch
// and set-if-absent interfaces when the store has them.
//
// Run it from a test of any store:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.StoreInterface {
//			return newIsolatedStore(t)
//		})
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/core"
)

// The optional interfaces the suite checks are core's own, so that it tests
// exactly what core asserts.

// BatchGetter is core.BatchGetter: one result per key, nil if missing.
type BatchGetter = core.BatchGetter

// Adder is core.Adder: set only if absent, return the value stored
// afterwards.
type Adder = core.Adder

// BatchSetter is core.BatchSetter: several keys, one TTL.
type BatchSetter = core.BatchSetter

// BatchPreparer is core.BatchPreparer: a reader of a fixed list of keys
// that behaves as GetMulti of them.
type BatchPreparer = core.BatchPreparer

// errNotImplemented marks an optional check whose interface the store lacks;
// Run turns it into a skip.
var errNotImplemented = errors.New("store does not implement the optional interface")

// Timing knobs. The deadlines are generous because stores may sit behind a
// network and tests may run under -race on two cores; they bound how late an
// expiry may be observed, never how fast an operation is.
const (
	shortTTL       = 200 * time.Millisecond
	subSecondTTL   = 300 * time.Millisecond
	subSecondLimit = 1500 * time.Millisecond
	expiryDeadline = 5 * time.Second
	pollInterval   = 20 * time.Millisecond
)

// check is one conformance property. It returns an error describing the
// first violation instead of failing a *testing.T so that the suite's own
// tests can feed it broken stores and assert that it notices.
type check struct {
	name string
	run  func(ctx context.Context, s store.StoreInterface) error
}

// checks lists every property in the order Run reports them.
var checks = []check{
	{"get of a missing key is not found", checkMissing},
	{"set then get returns the exact bytes", checkRoundTrip},
	{"set is visible to the next get for 1000 keys in a row", checkReadYourWrites},
	{"overwrite replaces the value", checkOverwrite},
	{"delete removes the key", checkDelete},
	{"entry expires after its TTL", checkExpiry},
	{"sub-second TTL is neither dropped nor rounded up past one second", checkSubSecondTTL},
	{"get with TTL reports the remaining TTL", checkGetWithTTL},
	{"clear empties the store", checkClear},
	{"concurrent set, get and delete never return a foreign value", checkConcurrent},
	{"GetMulti agrees with Get", checkGetMulti},
	{"prepared GetMulti agrees with GetMulti, before and after writes", checkPreparedGetMulti},
	{"SetNX sets only an absent key", checkSetNX},
	{"concurrent SetNX on one key agree on one value", checkSetNXConcurrent},
	{"SetMulti agrees with Set", checkSetMulti},
}

// Run runs the conformance suite against stores made by newStore, which is
// called once per subtest; each store must be empty and isolated from the
// others (its own instance or its own key namespace). Checks of optional
// interfaces (BatchGetter, Adder, BatchSetter, BatchPreparer) are skipped when the store
// does not implement them.
func Run(t *testing.T, newStore func(t *testing.T) store.StoreInterface) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			err := c.run(t.Context(), s)
			switch {
			case errors.Is(err, errNotImplemented):
				t.Skipf("%s: %v", s.GetType(), err)
			case err != nil:
				t.Fatalf("%s: %v", s.GetType(), err)
			}
		})
	}
}

// RunBenchmarks measures the operations core performs most against stores
// made by newStore (called once per sub-benchmark): a parallel Get hit, a
// Get miss and a Set of a 200-byte value.
func RunBenchmarks(b *testing.B, newStore func(b *testing.B) store.StoreInterface) {
	const nkeys = 1024
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench:%d", i)
	}
	value := bytes.Repeat([]byte{0xab}, 200)

	b.Run("GetHit", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		for _, k := range keys {
			if err := s.Set(ctx, k, value); err != nil {
				b.Fatalf("set %q: %v", k, err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Get(ctx, keys[i%nkeys]); err != nil {
					b.Errorf("get: %v", err)
					return
				}
				i++
			}
		})
	})
	b.Run("GetMiss", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Get(ctx, keys[i%nkeys]); err == nil {
					b.Errorf("get of a missing key: no error")
					return
				}
				i++
			}
		})
	})
	b.Run("Set", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if err := s.Set(ctx, keys[i%nkeys], value); err != nil {
				b.Fatalf("set: %v", err)
			}
		}
	})
}

// asBytes normalises what Get returns: stores may hand back []byte or string.
func asBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	default:
		return nil, fmt.Errorf("get returned a %T, want []byte or string", v)
	}
}

// getBytes reads key and requires it to be present.
func getBytes(ctx context.Context, s store.StoreInterface, key string) ([]byte, error) {
	v, err := s.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	b, err := asBytes(v)
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	return b, nil
}

// expectValue requires key to hold exactly want.
func expectValue(ctx context.Context, s store.StoreInterface, key string, want []byte) error {
	got, err := getBytes(ctx, s, key)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("get %q = %s, want %s", key, show(got), show(want))
	}
	return nil
}

// expectMissing requires Get of key to fail with store.NotFound.
func expectMissing(ctx context.Context, s store.StoreInterface, key string) error {
	v, err := s.Get(ctx, key)
	if err == nil {
		return fmt.Errorf("get %q = %v, want a not-found error", key, v)
	}
	if !errors.Is(err, store.NotFound{}) {
		return fmt.Errorf("get %q: error %q (%T) does not satisfy errors.Is(err, store.NotFound{})", key, err, err)
	}
	return nil
}

// waitMissing polls until key is gone, failing once deadline has passed
// since start. Polling instead of one sleep keeps the check fast on quick
// stores and reliable on slow ones.
func waitMissing(ctx context.Context, s store.StoreInterface, key string, start time.Time, deadline time.Duration) error {
	for {
		_, err := s.Get(ctx, key)
		if errors.Is(err, store.NotFound{}) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get %q while waiting for expiry: %w", key, err)
		}
		if time.Since(start) > deadline {
			return fmt.Errorf("get %q: still present %v after set, want gone", key, time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %q to expire: %w", key, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// show prints a value briefly: long values are elided to their length.
func show(b []byte) string {
	if len(b) > 32 {
		return fmt.Sprintf("%d bytes %x...", len(b), b[:16])
	}
	return fmt.Sprintf("%q", b)
}

func checkMissing(ctx context.Context, s store.StoreInterface) error {
	if err := expectMissing(ctx, s, "storetest:missing"); err != nil {
		return err
	}
	v, _, err := s.GetWithTTL(ctx, "storetest:missing")
	if err == nil {
		return fmt.Errorf("get with TTL of a missing key = %v, want a not-found error", v)
	}
	if !errors.Is(err, store.NotFound{}) {
		return fmt.Errorf("get with TTL of a missing key: error %q (%T) does not satisfy errors.Is(err, store.NotFound{})", err, err)
	}
	return nil
}

func checkRoundTrip(ctx context.Context, s store.StoreInterface) error {
	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	cases := []struct {
		name  string
		key   string
		value any
		want  []byte
	}{
		{"binary bytes", "storetest:binary", []byte{0x00, 0xff, 0x00, 0x7f, 0x80, 0xff}, []byte{0x00, 0xff, 0x00, 0x7f, 0x80, 0xff}},
		{"string value", "storetest:string", "plain text", []byte("plain text")},
		{"empty value", "storetest:empty", []byte{}, []byte{}},
		{"256 KiB value", "storetest:big", big, big},
		{"key with spaces and unicode", "storetest:ключ with spaces", []byte("v1"), []byte("v1")},
		{"key with hash-tag braces", "storetest:{tag}:x", []byte("v2"), []byte("v2")},
		{"key with binary bytes", "storetest:\x00\xff", []byte("v3"), []byte("v3")},
	}
	for _, c := range cases {
		if err := s.Set(ctx, c.key, c.value); err != nil {
			return fmt.Errorf("%s: set %q: %w", c.name, c.key, err)
		}
	}
	// Read back after all sets so that one key overwriting another (a bad
	// key encoding) shows up too.
	for _, c := range cases {
		if err := expectValue(ctx, s, c.key, c.want); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return nil
}

func checkReadYourWrites(ctx context.Context, s store.StoreInterface) error {
	for i := range 1000 {
		key := fmt.Sprintf("storetest:ryw:%d", i)
		want := fmt.Appendf(nil, "value-%d", i)
		if err := s.Set(ctx, key, want); err != nil {
			return fmt.Errorf("set %q: %w", key, err)
		}
		if err := expectValue(ctx, s, key, want); err != nil {
			return fmt.Errorf("right after set #%d: %w", i, err)
		}
	}
	return nil
}

func checkOverwrite(ctx context.Context, s store.StoreInterface) error {
	const key = "storetest:overwrite"
	steps := [][]byte{
		[]byte("first value, fairly long"),
		[]byte("second"),
		[]byte("third value, longer than the second"),
	}
	for _, v := range steps {
		if err := s.Set(ctx, key, v); err != nil {
			return fmt.Errorf("set %q: %w", key, err)
		}
		if err := expectValue(ctx, s, key, v); err != nil {
			return fmt.Errorf("after overwrite: %w", err)
		}
	}
	return nil
}

func checkDelete(ctx context.Context, s store.StoreInterface) error {
	const key, other = "storetest:delete", "storetest:keep"
	for _, k := range []string{key, other} {
		if err := s.Set(ctx, k, []byte(k)); err != nil {
			return fmt.Errorf("set %q: %w", k, err)
		}
	}
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if err := expectMissing(ctx, s, key); err != nil {
		return fmt.Errorf("after delete: %w", err)
	}
	if err := expectValue(ctx, s, other, []byte(other)); err != nil {
		return fmt.Errorf("delete touched another key: %w", err)
	}
	// Core deletes keys that may already be gone; that must not be an error.
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete of an already deleted key: %w", err)
	}
	return nil
}

func checkExpiry(ctx context.Context, s store.StoreInterface) error {
	const key, keep = "storetest:ttl", "storetest:no-ttl"
	if err := s.Set(ctx, keep, []byte("stays")); err != nil {
		return fmt.Errorf("set %q: %w", keep, err)
	}
	start := time.Now()
	if err := s.Set(ctx, key, []byte("expires"), store.WithExpiration(shortTTL)); err != nil {
		return fmt.Errorf("set %q with TTL %v: %w", key, shortTTL, err)
	}
	if err := expectValue(ctx, s, key, []byte("expires")); err != nil {
		return fmt.Errorf("right after set with TTL %v: %w", shortTTL, err)
	}
	if err := waitMissing(ctx, s, key, start, expiryDeadline); err != nil {
		return fmt.Errorf("TTL %v: %w", shortTTL, err)
	}
	if err := expectValue(ctx, s, keep, []byte("stays")); err != nil {
		return fmt.Errorf("entry without TTL: %w", err)
	}
	return nil
}

func checkSubSecondTTL(ctx context.Context, s store.StoreInterface) error {
	const key = "storetest:subsecond"
	start := time.Now()
	if err := s.Set(ctx, key, []byte("brief"), store.WithExpiration(subSecondTTL)); err != nil {
		return fmt.Errorf("set %q with TTL %v: %w", key, subSecondTTL, err)
	}
	if err := expectValue(ctx, s, key, []byte("brief")); err != nil {
		return fmt.Errorf("right after set with TTL %v (rounded down to nothing?): %w", subSecondTTL, err)
	}
	if err := waitMissing(ctx, s, key, start, subSecondLimit); err != nil {
		return fmt.Errorf("TTL %v (rounded up, or dropped?): %w", subSecondTTL, err)
	}
	return nil
}

func checkGetWithTTL(ctx context.Context, s store.StoreInterface) error {
	const key, ttl = "storetest:getttl", 10 * time.Second
	if err := s.Set(ctx, key, []byte("v"), store.WithExpiration(ttl)); err != nil {
		return fmt.Errorf("set %q with TTL %v: %w", key, ttl, err)
	}
	v, got, err := s.GetWithTTL(ctx, key)
	if err != nil {
		return fmt.Errorf("get with TTL %q: %w", key, err)
	}
	b, err := asBytes(v)
	if err != nil {
		return fmt.Errorf("get with TTL %q: %w", key, err)
	}
	if !bytes.Equal(b, []byte("v")) {
		return fmt.Errorf("get with TTL %q = %s, want \"v\"", key, show(b))
	}
	if got <= 0 || got > ttl {
		return fmt.Errorf("get with TTL %q reports TTL %v, want in (0, %v]", key, got, ttl)
	}
	return nil
}

func checkClear(ctx context.Context, s store.StoreInterface) error {
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprintf("storetest:clear:%d", i)
		if err := s.Set(ctx, keys[i], []byte("x")); err != nil {
			return fmt.Errorf("set %q: %w", keys[i], err)
		}
	}
	if err := s.Clear(ctx); err != nil {
		return fmt.Errorf("clear: %w", err)
	}
	for _, k := range keys {
		if err := expectMissing(ctx, s, k); err != nil {
			return fmt.Errorf("after clear: %w", err)
		}
	}
	// The store must stay usable after Clear.
	if err := s.Set(ctx, keys[0], []byte("again")); err != nil {
		return fmt.Errorf("set after clear: %w", err)
	}
	if err := expectValue(ctx, s, keys[0], []byte("again")); err != nil {
		return fmt.Errorf("after clear and set: %w", err)
	}
	return nil
}

// concurrentValue makes the value writer g writes to key at step i. It is
// long enough that a torn write or a value read from another key would not
// be in the written set by accident.
func concurrentValue(key string, g, i int) []byte {
	head := fmt.Sprintf("%s|w%d|%d|", key, g, i)
	return []byte(head + strings.Repeat(head[len(head)-2:], 24))
}

func checkConcurrent(ctx context.Context, s store.StoreInterface) error {
	const goroutines, ops, nkeys = 8, 500, 16
	var (
		mu      sync.Mutex
		written = make(map[string]map[string]bool, nkeys)
	)
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("storetest:conc:%d", i)
		written[keys[i]] = map[string]bool{}
	}
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range ops {
				key := keys[(g*7+i)%nkeys]
				switch i % 4 {
				case 0, 1:
					v := concurrentValue(key, g, i)
					// Record before writing so a reader that sees the value
					// finds it in the written set.
					mu.Lock()
					written[key][string(v)] = true
					mu.Unlock()
					if err := s.Set(ctx, key, v); err != nil {
						errs <- fmt.Errorf("goroutine %d: set %q: %w", g, key, err)
						return
					}
				case 2:
					v, err := s.Get(ctx, key)
					if errors.Is(err, store.NotFound{}) {
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("goroutine %d: get %q: %w", g, key, err)
						return
					}
					b, err := asBytes(v)
					if err != nil {
						errs <- fmt.Errorf("goroutine %d: get %q: %w", g, key, err)
						return
					}
					mu.Lock()
					ok := written[key][string(b)]
					mu.Unlock()
					if !ok {
						errs <- fmt.Errorf("goroutine %d: get %q = %s, which was never written to that key", g, key, show(b))
						return
					}
				case 3:
					if err := s.Delete(ctx, key); err != nil {
						errs <- fmt.Errorf("goroutine %d: delete %q: %w", g, key, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

func checkGetMulti(ctx context.Context, s store.StoreInterface) error {
	bg, ok := s.(BatchGetter)
	if !ok {
		return fmt.Errorf("BatchGetter: %w", errNotImplemented)
	}
	if err := s.Set(ctx, "storetest:gm:a", []byte{0x00, 'a'}); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	if err := s.Set(ctx, "storetest:gm:c", "c"); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	if err := s.Set(ctx, "storetest:gm:gone", []byte("x")); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	if err := s.Delete(ctx, "storetest:gm:gone"); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	cases := []struct {
		name string
		keys []string
		want [][]byte
	}{
		{"no keys", nil, [][]byte{}},
		{"one present", []string{"storetest:gm:a"}, [][]byte{{0x00, 'a'}}},
		{"one missing", []string{"storetest:gm:b"}, [][]byte{nil}},
		{
			"mixed, deleted and repeated",
			[]string{"storetest:gm:a", "storetest:gm:b", "storetest:gm:c", "storetest:gm:gone", "storetest:gm:a"},
			[][]byte{{0x00, 'a'}, nil, []byte("c"), nil, {0x00, 'a'}},
		},
	}
	for _, c := range cases {
		got, err := bg.GetMulti(ctx, c.keys)
		if err != nil {
			return fmt.Errorf("%s: GetMulti %q: %w", c.name, c.keys, err)
		}
		if len(got) != len(c.want) {
			return fmt.Errorf("%s: GetMulti %q returned %d values, want %d", c.name, c.keys, len(got), len(c.want))
		}
		for i := range got {
			if (got[i] == nil) != (c.want[i] == nil) || !bytes.Equal(got[i], c.want[i]) {
				return fmt.Errorf("%s: GetMulti %q: value %d = %s, want %s", c.name, c.keys, i, showNil(got[i]), showNil(c.want[i]))
			}
		}
	}
	return nil
}

// checkPreparedGetMulti reads key lists through readers prepared before
// the keys were written, after writes, overwrites and deletes: a prepared
// reader must never return what a plain GetMulti would not.
func checkPreparedGetMulti(ctx context.Context, s store.StoreInterface) error {
	bp, ok := s.(BatchPreparer)
	if !ok {
		return fmt.Errorf("BatchPreparer: %w", errNotImplemented)
	}
	lists := [][]string{
		nil,
		{"storetest:pg:a"},
		{"storetest:pg:a", "storetest:pg:b", "storetest:pg:c", "storetest:pg:a"},
	}
	readers := make([]func(context.Context) ([][]byte, error), len(lists))
	for i, keys := range lists {
		readers[i] = bp.PrepareGetMulti(keys)
	}
	expect := func(step string, want map[string][]byte) error {
		for i, keys := range lists {
			for range 2 { // the second read may come from a cache the first filled
				got, err := readers[i](ctx)
				if err != nil {
					return fmt.Errorf("%s: prepared read of %q: %w", step, keys, err)
				}
				if len(got) != len(keys) {
					return fmt.Errorf("%s: prepared read of %q returned %d values", step, keys, len(got))
				}
				for j, k := range keys {
					if (got[j] == nil) != (want[k] == nil) || !bytes.Equal(got[j], want[k]) {
						return fmt.Errorf("%s: prepared read of %q: %s = %s, want %s", step, keys, k, showNil(got[j]), showNil(want[k]))
					}
				}
			}
		}
		return nil
	}
	want := map[string][]byte{}
	if err := expect("before any write", want); err != nil {
		return err
	}
	steps := []struct {
		name  string
		key   string
		value []byte // nil deletes
	}{
		{"set a", "storetest:pg:a", []byte{0x00, 'a'}},
		{"set c", "storetest:pg:c", []byte("c")},
		{"overwrite a", "storetest:pg:a", []byte("a2")},
		{"delete c", "storetest:pg:c", nil},
		{"set b", "storetest:pg:b", []byte("b")},
	}
	for _, st := range steps {
		var err error
		if st.value == nil {
			err = s.Delete(ctx, st.key)
			delete(want, st.key)
		} else {
			err = s.Set(ctx, st.key, st.value)
			want[st.key] = st.value
		}
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		if err := expect(st.name, want); err != nil {
			return err
		}
	}
	return nil
}

// showNil prints a GetMulti element, where nil means missing.
func showNil(b []byte) string {
	if b == nil {
		return "nil (missing)"
	}
	return show(b)
}

func checkSetNX(ctx context.Context, s store.StoreInterface) error {
	a, ok := s.(Adder)
	if !ok {
		return fmt.Errorf("Adder: %w", errNotImplemented)
	}
	const key = "storetest:setnx"
	steps := []struct {
		name   string
		before func() error
		value  string
		ttl    time.Duration
		want   string
	}{
		{"absent key takes the value", nil, "first", 0, "first"},
		{"present key keeps its value", nil, "second", 0, "first"},
		{"deleted key takes the value", func() error { return s.Delete(ctx, key) }, "third", 0, "third"},
		{"key set by Set keeps its value", func() error { return s.Set(ctx, key, []byte("by set")) }, "fourth", 0, "by set"},
	}
	for _, st := range steps {
		if st.before != nil {
			if err := st.before(); err != nil {
				return fmt.Errorf("%s: preparing: %w", st.name, err)
			}
		}
		got, err := a.SetNX(ctx, key, []byte(st.value), st.ttl)
		if err != nil {
			return fmt.Errorf("%s: SetNX %q: %w", st.name, key, err)
		}
		if string(got) != st.want {
			return fmt.Errorf("%s: SetNX %q returned %s, want %q", st.name, key, show(got), st.want)
		}
		if err := expectValue(ctx, s, key, []byte(st.want)); err != nil {
			return fmt.Errorf("%s: after SetNX: %w", st.name, err)
		}
	}

	// The TTL applies, and an expired key counts as absent.
	const tkey = "storetest:setnx:ttl"
	start := time.Now()
	if _, err := a.SetNX(ctx, tkey, []byte("brief"), shortTTL); err != nil {
		return fmt.Errorf("SetNX %q with TTL %v: %w", tkey, shortTTL, err)
	}
	if err := waitMissing(ctx, s, tkey, start, expiryDeadline); err != nil {
		return fmt.Errorf("SetNX with TTL %v: %w", shortTTL, err)
	}
	got, err := a.SetNX(ctx, tkey, []byte("after expiry"), 0)
	if err != nil {
		return fmt.Errorf("SetNX %q after expiry: %w", tkey, err)
	}
	if string(got) != "after expiry" {
		return fmt.Errorf("SetNX %q after expiry returned %s, want \"after expiry\"", tkey, show(got))
	}
	return nil
}

func checkSetNXConcurrent(ctx context.Context, s store.StoreInterface) error {
	a, ok := s.(Adder)
	if !ok {
		return fmt.Errorf("Adder: %w", errNotImplemented)
	}
	const key, n = "storetest:setnx:race", 8
	results := make([][]byte, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			<-start // release all at once to maximise the overlap
			results[g], errs[g] = a.SetNX(ctx, key, fmt.Appendf(nil, "writer-%d", g), 0)
		})
	}
	close(start)
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			return fmt.Errorf("writer %d: SetNX %q: %w", g, key, err)
		}
	}
	won := results[0]
	if !bytes.HasPrefix(won, []byte("writer-")) {
		return fmt.Errorf("SetNX %q returned %s, which no writer wrote", key, show(won))
	}
	for g, r := range results {
		if !bytes.Equal(r, won) {
			return fmt.Errorf("writers disagree: writer 0 got %s, writer %d got %s", show(won), g, show(r))
		}
	}
	if err := expectValue(ctx, s, key, won); err != nil {
		return fmt.Errorf("after concurrent SetNX: %w", err)
	}
	return nil
}

func checkSetMulti(ctx context.Context, s store.StoreInterface) error {
	bs, ok := s.(BatchSetter)
	if !ok {
		return fmt.Errorf("BatchSetter: %w", errNotImplemented)
	}
	keys := []string{"storetest:sm:a", "storetest:sm:b", "storetest:sm:c"}
	values := [][]byte{{0x00, 0xff}, []byte("b"), {}}
	if err := s.Set(ctx, keys[1], []byte("old")); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	if err := bs.SetMulti(ctx, keys, values, 0); err != nil {
		return fmt.Errorf("SetMulti %q: %w", keys, err)
	}
	for i, k := range keys {
		if err := expectValue(ctx, s, k, values[i]); err != nil {
			return fmt.Errorf("after SetMulti: %w", err)
		}
	}
	if err := bs.SetMulti(ctx, nil, nil, 0); err != nil {
		return fmt.Errorf("SetMulti of no keys: %w", err)
	}
	if err := bs.SetMulti(ctx, keys, values[:2], 0); err == nil {
		return fmt.Errorf("SetMulti with 3 keys and 2 values: no error, want one")
	}

	tkeys := []string{"storetest:sm:t1", "storetest:sm:t2"}
	start := time.Now()
	if err := bs.SetMulti(ctx, tkeys, [][]byte{[]byte("1"), []byte("2")}, shortTTL); err != nil {
		return fmt.Errorf("SetMulti %q with TTL %v: %w", tkeys, shortTTL, err)
	}
	if err := expectValue(ctx, s, tkeys[0], []byte("1")); err != nil {
		return fmt.Errorf("right after SetMulti with TTL %v: %w", shortTTL, err)
	}
	for _, k := range tkeys {
		if err := waitMissing(ctx, s, k, start, expiryDeadline); err != nil {
			return fmt.Errorf("SetMulti with TTL %v: %w", shortTTL, err)
		}
	}
	return nil
}
