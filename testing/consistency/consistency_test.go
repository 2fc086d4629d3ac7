package consistency_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/consistency"
)

const ms = int64(time.Millisecond)

func TestCheckFindsStaleReads(t *testing.T) {
	l := &consistency.Log{
		Writes: []consistency.Op{
			{Key: 1, Version: 10, Start: 0, End: 10 * ms},
			{Key: 1, Version: 20, Start: 20 * ms, End: 30 * ms},
			{Key: 2, Version: 5, Start: 0, End: 5 * ms},
		},
		Reads: []consistency.Op{
			{Key: 1, Version: 0, Start: 5 * ms, End: 6 * ms},    // before any write returned: unchecked
			{Key: 1, Version: 0, Start: 11 * ms, End: 12 * ms},  // stale: 10 returned at 10 ms
			{Key: 1, Version: 10, Start: 25 * ms, End: 40 * ms}, // 20 not returned yet: fine
			{Key: 1, Version: 20, Start: 29 * ms, End: 35 * ms}, // saw an in-flight write: fine
			{Key: 1, Version: 10, Start: 31 * ms, End: 32 * ms}, // stale by 1 ms
			{Key: 1, Version: 0, Start: 50 * ms, End: 51 * ms},  // stale since 10 ms
			{Key: 2, Version: 5, Start: 50 * ms, End: 51 * ms},
			{Key: 3, Version: 0, Start: 50 * ms, End: 51 * ms}, // never written
		},
	}
	r := consistency.Check(0, l)
	if r.Writes != 3 || r.Reads != 8 || r.Checked != 6 {
		t.Errorf("counts: %+v", r)
	}
	if len(r.Violations) != 3 {
		t.Fatalf("want 3 violations:\n%s", r)
	}
	want := []struct {
		seen, committed int64
		staleness       time.Duration
	}{{0, 10, time.Millisecond}, {10, 20, time.Millisecond}, {0, 20, 40 * time.Millisecond}}
	for i, w := range want {
		v := r.Violations[i]
		if v.Key != 1 || v.Seen != w.seen || v.Committed != w.committed || v.Staleness != w.staleness {
			t.Errorf("violation %d: got %+v, want %+v", i, v, w)
		}
	}
	if r.MaxStaleness != 40*time.Millisecond || r.OK() {
		t.Errorf("max staleness %v, OK %v", r.MaxStaleness, r.OK())
	}
	if s := r.String(); !strings.Contains(s, "3 stale reads") || !strings.Contains(s, "key 1: read at") {
		t.Errorf("String:\n%s", s)
	}

	// A grace covers reads in another process than the writer's only.
	if g := consistency.Check(2*time.Millisecond, l); len(g.Violations) != 3 || g.WithinGrace != 0 {
		t.Errorf("with a 2 ms grace, one process: %s", g)
	}
	writes, reads := &consistency.Log{Writes: l.Writes}, &consistency.Log{Reads: l.Reads}
	g := consistency.Check(2*time.Millisecond, writes, reads)
	if len(g.Violations) != 1 || g.WithinGrace != 2 || g.MaxWithinGrace != time.Millisecond ||
		g.Violations[0].Staleness != 40*time.Millisecond || g.Violations[0].ReadLog != 1 || g.Violations[0].WriteLog != 0 {
		t.Errorf("with a 2 ms grace, two processes: %s", g)
	}
	if s := g.String(); !strings.Contains(s, "2 within the 2ms grace between processes (max 1ms)") || !strings.Contains(s, "in log 1, written in log 0") {
		t.Errorf("String:\n%s", s)
	}
}

// The logs of several processes are merged: a read in one is checked
// against the writes of the other.
func TestCheckMergesLogs(t *testing.T) {
	a := &consistency.Log{Writes: []consistency.Op{{Key: 0, Version: 7, Start: 0, End: ms}}}
	b := &consistency.Log{Reads: []consistency.Op{{Key: 0, Version: 6, Start: 2 * ms, End: 3 * ms}}, FailedReads: 1, Errors: []string{"boom"}}
	r := consistency.Check(0, a, nil, b)
	if len(r.Violations) != 1 || r.FailedReads != 1 || len(r.Errors) != 1 {
		t.Errorf("%s", r)
	}
}

func TestLogRoundTrip(t *testing.T) {
	l := &consistency.Log{
		Writes:       []consistency.Op{{Key: 1, Version: 1 << 62, Start: 1, End: 2}},
		Reads:        []consistency.Op{{Key: 3, Version: -4, Start: 5, End: 6}, {Key: 0, Version: 0, Start: 7, End: 8}},
		FailedWrites: 2, FailedReads: 3,
		Errors: []string{"read key 1: line\nbreak"},
	}
	var buf bytes.Buffer
	buf.WriteString("=== RUN TestSomething\n")
	if _, err := l.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("PASS\n")
	got, err := consistency.ParseLog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	l.Errors[0] = "read key 1: line break"
	if len(got.Writes) != 1 || got.Writes[0] != l.Writes[0] || len(got.Reads) != 2 || got.Reads[0] != l.Reads[0] ||
		got.Reads[1] != l.Reads[1] || got.FailedWrites != 2 || got.FailedReads != 3 || len(got.Errors) != 1 || got.Errors[0] != l.Errors[0] {
		t.Errorf("round trip: got %+v, want %+v", got, l)
	}
	if _, err := consistency.ParseLog(strings.NewReader("hcc1 w 1 2 3\n")); err == nil {
		t.Error("a short line parsed")
	}
	if _, err := consistency.ParseLog(strings.NewReader("hcc1 x\n")); err == nil {
		t.Error("an unknown record parsed")
	}
}

func TestConfigErrors(t *testing.T) {
	tgt := consistency.Funcs{}
	for _, cfg := range []consistency.Config{
		{},
		{Keys: 1},
		{Keys: 1, Writers: 1},
		{Keys: 1, Readers: 1},
		{Keys: 1, Writers: 2, Duration: time.Second},
		{Keys: 2, Writers: 2, WriteKeys: []int{0}, Duration: time.Second},
		{Keys: 2, Writers: 1, WriteKeys: []int{2}, Duration: time.Second},
	} {
		if _, err := consistency.Run(context.Background(), tgt, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// memTarget is a linearizable Target: no read can be stale.
type memTarget struct {
	mu   sync.Mutex
	rows map[int]int64
}

func (m *memTarget) Write(_ context.Context, key int, v int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v <= m.rows[key] {
		return errors.New("version did not grow")
	}
	m.rows[key] = v
	return nil
}

func (m *memTarget) Read(_ context.Context, key int) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rows[key], nil
}

func TestRunBounds(t *testing.T) {
	m := &memTarget{rows: map[int]int64{}}
	r, err := consistency.Run(context.Background(), m, consistency.Config{Keys: 4, Writers: 2, Readers: 3, MaxWrites: 100, MaxReads: 300})
	if err != nil {
		t.Fatal(err)
	}
	if r.Writes != 100 || r.Reads != 300 || !r.OK() || r.FailedWrites != 0 {
		t.Errorf("%s", r)
	}
	// Only the write keys are written, and the readers' errors are counted.
	var calls atomic.Int64
	tgt := consistency.Funcs{
		WriteFunc: func(_ context.Context, key int, _ int64) error {
			if key != 2 {
				t.Errorf("wrote key %d", key)
			}
			return nil
		},
		ReadFunc: func(context.Context, int) (int64, error) { calls.Add(1); return 0, errors.New("down") },
	}
	r, err = consistency.Run(context.Background(), tgt, consistency.Config{Keys: 4, WriteKeys: []int{2}, Writers: 1, Readers: 1, Duration: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.FailedReads == 0 || int64(r.FailedReads) != calls.Load() || len(r.Errors) == 0 || r.Writes == 0 {
		t.Errorf("%s", r)
	}
}

// A Target whose reads lag behind its writes is caught, and StopAfter ends
// the run early.
func TestRunFindsLaggingReads(t *testing.T) {
	m := &memTarget{rows: map[int]int64{}}
	var frozen atomic.Int64
	lagging := consistency.Funcs{
		WriteFunc: m.Write,
		ReadFunc:  func(context.Context, int) (int64, error) { return frozen.Load(), nil },
	}
	start := time.Now()
	r, err := consistency.Run(context.Background(), lagging, consistency.Config{Keys: 2, Writers: 1, Readers: 2, Duration: 10 * time.Second, StopAfter: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Violations) < 3 || time.Since(start) > 5*time.Second {
		t.Errorf("after %v: %s", time.Since(start), r)
	}
}

// WithoutInvalidation drops the cache's bumps, so an entry outlives the
// write that should have invalidated it; on any store.
func TestWithoutInvalidation(t *testing.T) {
	mem, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]lib_store.StoreInterface{"memory": mem, "plain": newMapStore()} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, broken := range []bool{false, true} {
				s := st
				if broken {
					s = consistency.WithoutInvalidation(st)
				}
				c, err := core.New(s, core.WithNamespace(name+map[bool]string{false: "ok", true: "broken"}[broken]))
				if err != nil {
					t.Fatal(err)
				}
				v := 1
				d := core.Entity("t", "1")
				load := func(context.Context) (int, error) { return v, nil }
				if got, err := core.GetOrLoad(ctx, c, d, load); err != nil || got != 1 {
					t.Fatalf("first read: %v, %v", got, err)
				}
				v = 2
				if err := c.InvalidateTags(ctx, d.Tags...); err != nil {
					t.Fatal(err)
				}
				got, err := core.GetOrLoad(ctx, c, d, load)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[bool]int{false: 2, true: 1}[broken]; got != want {
					t.Errorf("broken=%v: read %d after the bump, want %d", broken, got, want)
				}
				_ = c.Close()
			}
		})
	}
}

// mapStore is a gocache store with none of core's optional interfaces.
type mapStore struct {
	mu sync.Mutex
	m  map[any]any
}

func newMapStore() *mapStore { return &mapStore{m: map[any]any{}} }

func (s *mapStore) Get(_ context.Context, key any) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, lib_store.NotFound{}
	}
	return v, nil
}

func (s *mapStore) GetWithTTL(ctx context.Context, key any) (any, time.Duration, error) {
	v, err := s.Get(ctx, key)
	return v, 0, err
}

func (s *mapStore) Set(_ context.Context, key any, value any, _ ...lib_store.Option) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

func (s *mapStore) Delete(_ context.Context, key any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *mapStore) Invalidate(context.Context, ...lib_store.InvalidateOption) error { return nil }

func (s *mapStore) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[any]any{}
	return nil
}

func (s *mapStore) GetType() string { return "map" }

// StartChild runs a test of this binary as a second process and collects
// its log.
func TestStartChild(t *testing.T) {
	child := consistency.StartChild(t, "TestStartChildHelper", "CONSISTENCY_TEST_READS=25")
	l, err := child.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Reads) != 25 || len(l.Writes) == 0 {
		t.Errorf("child log: %d writes, %d reads", len(l.Writes), len(l.Reads))
	}
	if r := consistency.Check(0, l); !r.OK() || r.Reads != 25 {
		t.Errorf("%s", r)
	}
}

// TestStartChildHelper is TestStartChild's second process.
func TestStartChildHelper(t *testing.T) {
	if !consistency.IsChild() {
		t.Skip("the second process of TestStartChild")
	}
	n, _ := strconv.Atoi(os.Getenv("CONSISTENCY_TEST_READS"))
	m := &memTarget{rows: map[int]int64{}}
	consistency.ChildReady()
	l, err := consistency.Record(context.Background(), m, consistency.Config{Keys: 2, Writers: 1, Readers: 1, MaxWrites: 5, MaxReads: n})
	if err != nil {
		t.Fatal(err)
	}
	if err := consistency.ChildDone(l); err != nil {
		t.Fatal(err)
	}
}
