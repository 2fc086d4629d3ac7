package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	lib "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/storetest"
	"github.com/hydracache/hydracache/testing/testenv"
)

// newTestRedis returns a store under the test's own namespace on the test
// client, and that namespace.
func newTestRedis(t testing.TB, opts ...store.RedisOption) (*store.Redis, string) {
	t.Helper()
	client, ns := testenv.Redis(t)
	s, err := store.NewRedis(client, append([]store.RedisOption{store.WithPrefix(ns)}, opts...)...)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	return s, ns
}

// secondClient connects another rueidis client (another connection set and
// client-side cache, as another process would have) and closes it at the end.
func secondClient(t testing.TB) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(testenv.RedisClientOption())
	if err != nil {
		testenv.Unavailable(t, "Redis", err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestRedisConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lib.StoreInterface {
		s, _ := newTestRedis(t)
		return s
	})
}

func TestRedisNewRedisOptions(t *testing.T) {
	client, ns := testenv.Redis(t)
	tests := []struct {
		name    string
		client  rueidis.Client
		opts    []store.RedisOption
		wantErr bool
		prefix  string
	}{
		{name: "default prefix", client: client, prefix: store.DefaultRedisPrefix},
		{name: "custom prefix", client: client, opts: []store.RedisOption{store.WithPrefix(ns)}, prefix: ns},
		{name: "empty prefix", client: client, opts: []store.RedisOption{store.WithPrefix("")}, wantErr: true},
		{name: "nil client", wantErr: true},
		{name: "zero window", client: client, opts: []store.RedisOption{store.WithOwnWriteWindow(0)}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.NewRedis(tc.client, tc.opts...)
			if tc.wantErr {
				if err == nil {
					t.Fatal("NewRedis: want an error, got none")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewRedis: %v", err)
			}
			if s.Prefix() != tc.prefix || s.GetType() != store.RedisType || s.Client() != tc.client {
				t.Fatalf("got prefix %q type %q", s.Prefix(), s.GetType())
			}
		})
	}
}

func TestRedisSetGetErrors(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestRedis(t)
	tests := []struct {
		name    string
		value   any
		opts    []lib.Option
		want    []byte
		wantErr error
	}{
		{name: "bytes", value: []byte("v\x00\xff"), want: []byte("v\x00\xff")},
		{name: "string", value: "text", want: []byte("text")},
		{name: "empty", value: []byte{}, want: []byte{}},
		{name: "int", value: 42, wantErr: store.ErrUnsupportedValue},
		{name: "tags", value: []byte("x"), opts: []lib.Option{lib.WithTags([]string{"t"})}, wantErr: store.ErrTagsUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Set(ctx, tc.name, tc.value, tc.opts...)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Set: got %v, want %v", err, tc.wantErr)
				}
				if _, err := s.Get(ctx, tc.name); !errors.Is(err, lib.NotFound{}) {
					t.Fatalf("Get after failed Set: got %v, want not found", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := s.Get(ctx, tc.name)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if b, ok := got.([]byte); !ok || !bytes.Equal(b, tc.want) {
				t.Fatalf("Get: got %#v, want %q", got, tc.want)
			}
			multi, err := s.GetMulti(ctx, []string{tc.name, "missing"})
			if err != nil {
				t.Fatalf("GetMulti: %v", err)
			}
			if multi[0] == nil || !bytes.Equal(multi[0], tc.want) || multi[1] != nil {
				t.Fatalf("GetMulti: got %q, want [%q nil]", multi, tc.want)
			}
		})
	}
	if err := s.Invalidate(ctx, lib.WithInvalidateTags([]string{"t"})); !errors.Is(err, store.ErrTagsUnsupported) {
		t.Fatalf("Invalidate with tags: got %v", err)
	}
	if err := s.Invalidate(ctx); err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	if _, err := s.Get(ctx, 3.5); err == nil || errors.Is(err, lib.NotFound{}) {
		t.Fatalf("Get with a float key: got %v, want a key type error", err)
	}
}

func TestRedisSetNX(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestRedis(t)
	steps := []struct {
		value, want string
	}{
		{value: "first", want: "first"},
		{value: "second", want: "first"},
	}
	for i, st := range steps {
		got, err := s.SetNX(ctx, "k", []byte(st.value), time.Minute)
		if err != nil {
			t.Fatalf("step %d: SetNX: %v", i, err)
		}
		if string(got) != st.want {
			t.Fatalf("step %d: SetNX returned %q, want %q", i, got, st.want)
		}
		v, ttl, err := s.GetWithTTL(ctx, "k")
		if err != nil || string(v.([]byte)) != "first" || ttl <= 0 || ttl > time.Minute {
			t.Fatalf("step %d: GetWithTTL: %q %v %v", i, v, ttl, err)
		}
	}
}

// TestRedisOwnWritesTwoClients proves that a store reads its own writes at
// once although its client-side cache held the old value, while another
// process (client B) keeps the key cached and writes it too.
func TestRedisOwnWritesTwoClients(t *testing.T) {
	ctx := t.Context()
	a, ns := newTestRedis(t)
	b, err := store.NewRedis(secondClient(t), store.WithPrefix(ns))
	if err != nil {
		t.Fatalf("NewRedis B: %v", err)
	}
	const rounds = 2000
	const key = "k"
	keys := []string{key, "other"}
	if err := a.Set(ctx, "other", []byte("o")); err != nil {
		t.Fatal(err)
	}

	t.Run("A writes then reads", func(t *testing.T) {
		failures := 0
		for i := range rounds {
			// Warm both client-side caches with the current value.
			if _, err := a.GetMulti(ctx, keys); err != nil {
				t.Fatal(err)
			}
			if _, err := b.GetMulti(ctx, keys); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("v%d", i)
			var err error
			switch i % 3 {
			case 0:
				err = a.Set(ctx, key, []byte(want))
			case 1:
				err = a.SetMulti(ctx, []string{key}, [][]byte{[]byte(want)}, time.Minute)
			case 2:
				// Make the key absent first so that SetNX stores ours.
				if err = a.Delete(ctx, key); err == nil {
					_, err = a.SetNX(ctx, key, []byte(want), time.Minute)
				}
			}
			if err != nil {
				t.Fatalf("round %d: write: %v", i, err)
			}
			got, err := a.GetMulti(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if string(got[0]) != want {
				failures++
				t.Errorf("round %d: GetMulti after write: got %q, want %q", i, got[0], want)
			}
			v, err := a.Get(ctx, key)
			if err != nil || string(v.([]byte)) != want {
				failures++
				t.Errorf("round %d: Get after write: got %q (%v), want %q", i, v, err, want)
			}
			if failures > 10 {
				t.FailNow()
			}
		}
	})

	t.Run("A deletes then reads", func(t *testing.T) {
		for i := range rounds {
			if err := a.Set(ctx, key, []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			if _, err := a.GetMulti(ctx, keys); err != nil {
				t.Fatal(err)
			}
			if err := a.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			got, err := a.GetMulti(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != nil {
				t.Fatalf("round %d: GetMulti after Delete: got %q, want nil", i, got[0])
			}
			if _, err := a.Get(ctx, key); !errors.Is(err, lib.NotFound{}) {
				t.Fatalf("round %d: Get after Delete: got %v, want not found", i, err)
			}
		}
	})

	t.Run("B writes and A sees it through its cache", func(t *testing.T) {
		// A fresh key that A never wrote, so A's reads are plain cached reads.
		const bk = "written-by-b"
		if err := b.Set(ctx, bk, []byte("old")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, a, bk, "old")
		if res := a.Client().DoCache(ctx, a.Client().B().Get().Key(ns+bk).Cache(), time.Minute); !res.IsCacheHit() {
			t.Fatalf("A's read of %q was not served from the client-side cache", bk)
		}
		if err := b.Set(ctx, bk, []byte("new")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, a, bk, "new")
	})
}

// waitFor polls s until key reads want through GetMulti and Get; the
// deadline is generous because it bounds push delivery, not speed.
func waitFor(t *testing.T, s *store.Redis, key, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := s.GetMulti(t.Context(), []string{key})
		if err != nil {
			t.Fatal(err)
		}
		if string(got[0]) == want {
			v, err := s.Get(t.Context(), key)
			if err != nil || string(v.([]byte)) != want {
				t.Fatalf("Get %q: got %q (%v), want %q", key, v, err, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still reads %q after 5s, want %q", key, got[0], want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRedisRawDoCacheIsStale shows why the own-write tracking exists: with
// plain rueidis, DoCache right after Do(SET) on the same client can return
// the old value. It only logs how often, since the race depends on timing.
func TestRedisRawDoCacheIsStale(t *testing.T) {
	ctx := t.Context()
	client, ns := testenv.Redis(t)
	k := ns + "raw"
	stale := 0
	const rounds = 2000
	for i := range rounds {
		_ = client.DoCache(ctx, client.B().Get().Key(k).Cache(), time.Minute)
		want := fmt.Sprint(i)
		if err := client.Do(ctx, client.B().Set().Key(k).Value(want).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		got, _ := client.DoCache(ctx, client.B().Get().Key(k).Cache(), time.Minute).ToString()
		if got != want {
			stale++
		}
	}
	t.Logf("plain rueidis: %d of %d reads right after the client's own SET returned the old value", stale, rounds)
}

// scanPrefix lists every key on the server under prefix.
func scanPrefix(t *testing.T, client rueidis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	for _, node := range client.Nodes() {
		var cursor uint64
		for {
			e, err := node.Do(t.Context(), node.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				t.Fatalf("SCAN: %v", err)
			}
			keys = append(keys, e.Elements...)
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func TestRedisKeysUnderPrefix(t *testing.T) {
	ctx := t.Context()
	client, ns := testenv.Redis(t)
	prefix := ns + "p:"
	s, err := store.NewRedis(client, store.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "set", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetNX(ctx, "setnx", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMulti(ctx, []string{"m1", "m2"}, [][]byte{[]byte("1"), []byte("2")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Reads and deletes of missing keys must not create anything either.
	if _, err := s.GetMulti(ctx, []string{"set", "nothing"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	got := scanPrefix(t, client, ns)
	want := []string{prefix + "m1", prefix + "m2", prefix + "set", prefix + "setnx"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("keys under the test namespace: got %q, want %q", got, want)
	}
	for _, k := range []string{"set", "setnx", "m1", "m2"} {
		if n, err := client.Do(ctx, client.B().Exists().Key(k).Build()).AsInt64(); err != nil || n != 0 {
			t.Fatalf("unprefixed key %q exists (%d, %v)", k, n, err)
		}
	}
}

// TestRedisSubSecondTTL checks that TTLs below one second are honoured on the
// server and in the client-side cached copy, for every write path.
func TestRedisSubSecondTTL(t *testing.T) {
	const ttl = 300 * time.Millisecond
	writes := []struct {
		name  string
		write func(ctx context.Context, s *store.Redis, key string) error
	}{
		{"Set", func(ctx context.Context, s *store.Redis, key string) error {
			return s.Set(ctx, key, []byte("v"), lib.WithExpiration(ttl))
		}},
		{"SetNX", func(ctx context.Context, s *store.Redis, key string) error {
			_, err := s.SetNX(ctx, key, []byte("v"), ttl)
			return err
		}},
		{"SetMulti", func(ctx context.Context, s *store.Redis, key string) error {
			return s.SetMulti(ctx, []string{key}, [][]byte{[]byte("v")}, ttl)
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			ctx := t.Context()
			// A short own-write window, so that the reads below soon come
			// from the client-side cache rather than the server.
			s, ns := newTestRedis(t, store.WithOwnWriteWindow(50*time.Millisecond))
			start := time.Now()
			if err := w.write(ctx, s, "k"); err != nil {
				t.Fatal(err)
			}
			_, left, err := s.GetWithTTL(ctx, "k")
			if err != nil || left <= 0 || left > ttl {
				t.Fatalf("GetWithTTL: ttl %v, err %v; want in (0, %v]", left, err, ttl)
			}
			cached := false
			for {
				got, err := s.GetMulti(ctx, []string{"k"})
				if err != nil {
					t.Fatal(err)
				}
				res := s.Client().DoCache(ctx, s.Client().B().Get().Key(ns+"k").Cache(), time.Minute)
				cached = cached || (res.IsCacheHit() && got[0] != nil)
				if got[0] == nil {
					if !rueidis.IsRedisNil(res.Error()) {
						t.Fatalf("store reads not-found but the client-side cache still returns %v", res)
					}
					break
				}
				if time.Since(start) > 1500*time.Millisecond {
					t.Fatalf("a %v entry still reads %q after %v", ttl, got[0], time.Since(start))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if !cached {
				t.Error("the entry was never served from the client-side cache; the test proved nothing about it")
			}
			if elapsed := time.Since(start); elapsed < ttl {
				t.Fatalf("entry gone after %v, before its TTL %v", elapsed, ttl)
			}
		})
	}
}

func TestRedisClear(t *testing.T) {
	ctx := t.Context()
	client, ns := testenv.Redis(t)
	tests := []struct {
		name, prefix, sibling string
	}{
		{name: "plain", prefix: ns + "in:", sibling: ns + "out"},
		// Pattern characters in the prefix must be matched literally.
		{name: "glob", prefix: ns + "a*[b]?:", sibling: ns + "aXb?:z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.NewRedis(client, store.WithPrefix(tc.prefix))
			if err != nil {
				t.Fatal(err)
			}
			if err := client.Do(ctx, client.B().Set().Key(tc.sibling).Value("keep").Build()).Error(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Do(context.Background(), client.B().Unlink().Key(tc.sibling).Build()) })
			keys := make([]string, 50)
			for i := range keys {
				keys[i] = fmt.Sprint("k", i)
				if err := s.Set(ctx, keys[i], []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.GetMulti(ctx, keys); err != nil { // warm the client-side cache
				t.Fatal(err)
			}
			if err := s.Clear(ctx); err != nil {
				t.Fatalf("Clear: %v", err)
			}
			got, err := s.GetMulti(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				if v != nil {
					t.Fatalf("%q survived Clear: %q", keys[i], v)
				}
			}
			if left := scanPrefix(t, client, strings.NewReplacer("*", `\*`, "[", `\[`, "]", `\]`, "?", `\?`).Replace(tc.prefix)); len(left) != 0 {
				t.Fatalf("keys left under the prefix: %q", left)
			}
			if v, err := client.Do(ctx, client.B().Get().Key(tc.sibling).Build()).ToString(); err != nil || v != "keep" {
				t.Fatalf("sibling %q outside the prefix: got %q, %v", tc.sibling, v, err)
			}
		})
	}
}

func TestRedisClientCacheOff(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestRedis(t, store.WithClientCacheTTL(0))
	if err := s.SetMulti(ctx, []string{"a", "b"}, [][]byte{[]byte("1"), []byte("2")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMulti(ctx, []string{"a", "x", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0]) != "1" || got[1] != nil || string(got[2]) != "2" {
		t.Fatalf("GetMulti: got %q", got)
	}
}

// TestRedisOwnWritesAcrossKeySets reads a key this store just wrote through
// GetMulti calls of different key sets. rueidis keeps a client-side cache
// per connection and routes an MGET by its first key, so the key can be
// cached twice; every copy must give way to the write, not only the first
// one that agrees with it.
func TestRedisOwnWritesAcrossKeySets(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestRedis(t)
	sets := [][]string{{"entry", "tag", "rows", "epoch"}, {"tag", "rows", "epoch"}, {"tag"}, {"epoch", "tag"}}
	for _, k := range []string{"entry", "tag", "rows", "epoch"} {
		if err := s.Set(ctx, k, []byte("init")); err != nil {
			t.Fatal(err)
		}
	}
	stale := 0
	for i := range 1000 {
		for _, ks := range sets { // warm every connection's copy
			if _, err := s.GetMulti(ctx, ks); err != nil {
				t.Fatal(err)
			}
		}
		want := fmt.Sprintf("v%d", i)
		if err := s.SetMulti(ctx, []string{"tag"}, [][]byte{[]byte(want)}, time.Hour); err != nil {
			t.Fatal(err)
		}
		for _, ks := range sets {
			got, err := s.GetMulti(ctx, ks)
			if err != nil {
				t.Fatal(err)
			}
			if j := slices.Index(ks, "tag"); string(got[j]) != want {
				stale++
				if stale <= 3 {
					t.Errorf("round %d: GetMulti(%v) read tag %q after writing %q", i, ks, got[j], want)
				}
			}
		}
	}
	if stale > 0 {
		t.Fatalf("%d stale reads of this store's own writes", stale)
	}
}

// TestRedisPreparedConcurrent shares one prepared reader (one pinned
// command) between goroutines while the store writes the keys it reads:
// every read succeeds, none returns a value that was never written, and
// after each write returns the writer's own next read sees it.
func TestRedisPreparedConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *store.Redis
	}{
		{"NewRedis", func(t *testing.T) *store.Redis { s, _ := newTestRedis(t); return s }},
		{"DialRedis", func(t *testing.T) *store.Redis {
			_, ns := testenv.Redis(t) // its cleanup deletes everything under ns
			s, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(ns))
			if err != nil {
				testenv.Unavailable(t, "Redis", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s := tc.open(t)
			keys := []string{"e", "t1", "t2"}
			for _, k := range keys {
				if err := s.Set(ctx, k, []byte("v0")); err != nil {
					t.Fatal(err)
				}
			}
			read := s.PrepareGetMulti(keys)
			const rounds = 300
			done := make(chan struct{})
			errs := make(chan error, 4)
			for range 3 {
				go func() {
					for {
						select {
						case <-done:
							errs <- nil
							return
						default:
						}
						got, err := read(ctx)
						if err != nil {
							errs <- err
							return
						}
						for i, v := range got {
							if !strings.HasPrefix(string(v), "v") {
								errs <- fmt.Errorf("%s read %q", keys[i], v)
								return
							}
						}
					}
				}()
			}
			for i := 1; i <= rounds; i++ {
				want := fmt.Sprintf("v%d", i)
				k := keys[i%len(keys)]
				if err := s.Set(ctx, k, []byte(want)); err != nil {
					t.Fatal(err)
				}
				got, err := read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(got[i%len(keys)]) != want {
					t.Fatalf("round %d: prepared read of %s after writing %q: %q", i, k, want, got[i%len(keys)])
				}
			}
			close(done)
			for range 3 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
