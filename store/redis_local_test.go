package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	lib "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/testing/storetest"
	"github.com/hydracache/hydracache/testing/testenv"
)

// dialTest returns a DialRedis store on addr under prefix, closed at the
// end of the test.
func dialTest(t *testing.T, addr, prefix string, opts ...RedisOption) *Redis {
	t.Helper()
	opt := testenv.RedisClientOption()
	opt.InitAddress = []string{addr}
	s, err := DialRedis(opt, append([]RedisOption{WithPrefix(prefix)}, opts...)...)
	if err != nil {
		testenv.Unavailable(t, "Redis", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestDialRedisConformance(t *testing.T) {
	_, ns := testenv.Redis(t) // its cleanup deletes everything under ns
	n := 0
	storetest.Run(t, func(t *testing.T) lib.StoreInterface {
		n++
		return dialTest(t, testenv.RedisAddr(), fmt.Sprintf("%sconf%d:", ns, n))
	})
}

// waitUntil polls cond with a generous deadline: pushes travel on loopback
// in well under a millisecond, the deadline only bounds a broken run.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDialRedisMirror: two processes (two DialRedis stores, one prefix).
// A's warm reads come from its mirror; B's write reaches A through the
// invalidation push; A's own writes are read back at once.
func TestDialRedisMirror(t *testing.T) {
	ctx := context.Background()
	_, ns := testenv.Redis(t)
	a := dialTest(t, testenv.RedisAddr(), ns)
	b := dialTest(t, testenv.RedisAddr(), ns)
	keys := []string{"entry", "tag", "rows", "epoch"}
	for _, k := range keys {
		if err := b.Set(ctx, k, []byte("init")); err != nil {
			t.Fatal(err)
		}
	}
	read := func(s *Redis, k string) string {
		t.Helper()
		vals, err := s.GetMulti(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		for i, key := range keys {
			if key == k {
				return string(vals[i])
			}
		}
		t.Fatalf("no key %s", k)
		return ""
	}
	for round := range 200 {
		// A reads until its mirror holds the tag (one read may only warm
		// rueidis's cache while a push is in flight).
		waitUntil(t, "A mirrors the tag", func() bool {
			read(a, "tag")
			_, ok := a.local.get(ns + "tag")
			return ok
		})
		// Another process writes: A must see it without reading the server
		// itself, through the push.
		want := fmt.Sprintf("b%d", round)
		if err := b.SetMulti(ctx, []string{"tag"}, [][]byte{[]byte(want)}, time.Hour); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "A sees B's write", func() bool { return read(a, "tag") == want })
		// A writes: its very next read is its own value, in every key set.
		want = fmt.Sprintf("a%d", round)
		if err := a.SetMulti(ctx, []string{"tag"}, [][]byte{[]byte(want)}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if got := read(a, "tag"); got != want {
			t.Fatalf("round %d: A read %q right after writing %q", round, got, want)
		}
		if got, err := a.GetMulti(ctx, []string{"tag"}); err != nil || string(got[0]) != want {
			t.Fatalf("round %d: A read %q, %v right after writing %q", round, got, err, want)
		}
	}
}

// TestDialRedisMirrorSurvivesDisconnect: when A's connections drop, the
// pushes sent meanwhile are lost, so the mirror must be emptied; a write
// made while A was cut off is seen once A reconnects.
func TestDialRedisMirrorSurvivesDisconnect(t *testing.T) {
	ctx := context.Background()
	srv := testenv.StartRedis(t)
	a := dialTest(t, srv.Addr, "p:")
	b := dialTest(t, srv.Addr, "p:")
	if err := b.Set(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "A mirrors k", func() bool {
		_, _ = a.GetMulti(ctx, []string{"k", "other"})
		_, ok := a.local.get("p:k")
		return ok
	})
	// Cut every connection of A (and B, which reconnects on its next call).
	for _, node := range b.Client().Nodes() {
		if err := node.Do(ctx, node.B().ClientKill().TypeNormal().Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	// B's own connection was cut too: its first write may fail with EOF
	// (writes are not retried), so it retries until the write lands.
	waitUntil(t, "B's write lands", func() bool { return b.Set(ctx, "k", []byte("v2")) == nil })
	waitUntil(t, "A sees the write made while it was cut off", func() bool {
		vals, err := a.GetMulti(ctx, []string{"k", "other"})
		return err == nil && string(vals[0]) == "v2"
	})
}

func TestDialRedisOptions(t *testing.T) {
	if _, err := DialRedis(testenv.RedisClientOption(), WithLocalBytes(-1)); err == nil {
		t.Fatal("negative local bytes accepted")
	}
	_, ns := testenv.Redis(t)
	s := dialTest(t, testenv.RedisAddr(), ns, WithLocalBytes(0))
	if s.local != nil {
		t.Fatal("WithLocalBytes(0) kept a mirror")
	}
}

// TestRedisLocalOrdering drives the mirror without Redis: what a write, a
// push and a disconnect do to it, and to fills that raced them.
func TestRedisLocalOrdering(t *testing.T) {
	v := func(s string) [][]byte { return [][]byte{[]byte(s)} }
	tests := []struct {
		name string
		run  func(l *redisLocal, o *redisOwnWrites) // leaves what "k" should hold in want
		want string                                 // "" = not mirrored
	}{
		{"a fill is mirrored", func(l *redisLocal, o *redisOwnWrites) {
			l.fill(l.begin(), []string{"k"}, v("old"))
		}, "old"},
		{"a write drops the key at once", func(l *redisLocal, o *redisOwnWrites) {
			l.fill(l.begin(), []string{"k"}, v("old"))
			o.begin("k")
		}, ""},
		{"a fill that began before a write's end is dropped", func(l *redisLocal, o *redisOwnWrites) {
			m, g := o.begin("k")
			gen := l.begin() // a read concurrent with the write
			o.end(m, g, true, false, "new")
			l.fill(gen, []string{"k"}, v("old"))
		}, ""},
		{"a read after the write is mirrored", func(l *redisLocal, o *redisOwnWrites) {
			m, g := o.begin("k")
			o.end(m, g, true, false, "new")
			l.fill(l.begin(), []string{"k"}, v("new"))
		}, "new"},
		{"a push drops the key", func(l *redisLocal, o *redisOwnWrites) {
			l.fill(l.begin(), []string{"k"}, v("old"))
			l.invalidate([]string{"k"})
		}, ""},
		{"a fill that raced any push is dropped", func(l *redisLocal, o *redisOwnWrites) {
			gen := l.begin()
			l.invalidate([]string{"other"})
			l.fill(gen, []string{"k"}, v("old"))
		}, ""},
		{"a disconnect drops everything", func(l *redisLocal, o *redisOwnWrites) {
			l.fill(l.begin(), []string{"k"}, v("old"))
			l.onInvalidations(nil)
		}, ""},
		{"values too big are not mirrored", func(l *redisLocal, o *redisOwnWrites) {
			l.fill(l.begin(), []string{"k"}, [][]byte{make([]byte, redisLocalMaxValue+1)})
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := newRedisLocal(1 << 20)
			if err != nil {
				t.Fatal(err)
			}
			defer l.close()
			o := &redisOwnWrites{window: time.Hour, local: l}
			tt.run(l, o)
			got, ok := l.get("k")
			if (tt.want == "") == ok || (ok && string(got) != tt.want) {
				t.Fatalf("mirror holds %q (%v), want %q", got, ok, tt.want)
			}
		})
	}
}
