package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/faultproxy"
	"github.com/hydracache/hydracache/testing/testenv"
)

// faultKinds are the two ways of making a Redis store, on a client with
// rueidis's defaults (retries included), as an application makes it.
var faultKinds = []struct {
	name string
	open func(t *testing.T, addr string, opts ...store.RedisOption) *store.Redis
}{
	{"NewRedis", func(t *testing.T, addr string, opts ...store.RedisOption) *store.Redis {
		client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
		if err != nil {
			t.Fatalf("rueidis: %v", err)
		}
		t.Cleanup(client.Close)
		s, err := store.NewRedis(client, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"DialRedis", func(t *testing.T, addr string, opts ...store.RedisOption) *store.Redis {
		s, err := store.DialRedis(rueidis.ClientOption{InitAddress: []string{addr}}, opts...)
		if err != nil {
			t.Fatalf("DialRedis: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

// storeOps are the store's calls that reach Redis, each on keys no
// client-side cache holds.
var storeOps = []struct {
	name string
	do   func(ctx context.Context, s *store.Redis) error
}{
	{"GetMulti", func(ctx context.Context, s *store.Redis) error {
		_, err := s.GetMulti(ctx, []string{"cold1", "cold2", "cold3"})
		return err
	}},
	{"Get", func(ctx context.Context, s *store.Redis) error { _, err := s.Get(ctx, "cold4"); return err }},
	{"GetWithTTL", func(ctx context.Context, s *store.Redis) error { _, _, err := s.GetWithTTL(ctx, "cold5"); return err }},
	{"Set", func(ctx context.Context, s *store.Redis) error { return s.Set(ctx, "w1", []byte("v")) }},
	{"SetNX", func(ctx context.Context, s *store.Redis) error {
		_, err := s.SetNX(ctx, "w2", []byte("v"), time.Minute)
		return err
	}},
	{"SetMulti", func(ctx context.Context, s *store.Redis) error {
		return s.SetMulti(ctx, []string{"w3", "w4"}, [][]byte{[]byte("a"), []byte("b")}, time.Minute)
	}},
	{"Delete", func(ctx context.Context, s *store.Redis) error { return s.Delete(ctx, "w5") }},
	{"Clear", func(ctx context.Context, s *store.Redis) error { return s.Clear(ctx) }},
}

// timed runs op and returns its error and duration.
func timed(op func() error) (time.Duration, error) {
	start := time.Now()
	err := op()
	return time.Since(start), err
}

// TestRedisTimeoutStoppedServer: with the server stopped, rueidis retries
// read-only commands until the caller's context ends (with
// context.Background, forever). The store's timeout bounds every call.
func TestRedisTimeoutStoppedServer(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for _, kind := range faultKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := testenv.StartRedis(t)
			s := kind.open(t, srv.Addr, store.WithTimeout(timeout))
			ctx := context.Background()
			if err := s.Set(ctx, "k", []byte("v")); err != nil {
				t.Fatal(err)
			}
			srv.Stop()
			for _, op := range storeOps {
				took, err := timed(func() error { return op.do(ctx, s) })
				if err == nil {
					t.Errorf("%s with Redis stopped: no error", op.name)
				}
				if took > timeout+time.Second {
					t.Errorf("%s with Redis stopped took %v, timeout %v", op.name, took, timeout)
				}
			}
		})
	}
}

// TestRedisDefaultTimeout: without WithTimeout, a read of a stopped server
// ends after about DefaultRedisTimeout instead of never.
func TestRedisDefaultTimeout(t *testing.T) {
	srv := testenv.StartRedis(t)
	s := faultKinds[0].open(t, srv.Addr)
	srv.Stop()
	took, err := timed(func() error { _, err := s.GetMulti(context.Background(), []string{"a", "b"}); return err })
	if err == nil || took > store.DefaultRedisTimeout+2*time.Second {
		t.Fatalf("GetMulti with Redis stopped: %v after %v, want an error within about %v", err, took, store.DefaultRedisTimeout)
	}
}

// TestRedisTimeoutBlackhole: the server stops answering with the
// connections up (a partition, a stuck server). Every call that needs the
// network fails with context.DeadlineExceeded after the timeout, while
// warm reads, answered by the client-side cache or the mirror, go on.
func TestRedisTimeoutBlackhole(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for _, kind := range faultKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := testenv.StartRedis(t)
			p := faultproxy.Start(t, srv.Addr)
			s := kind.open(t, p.Addr, store.WithTimeout(timeout))
			ctx := context.Background()
			if err := s.SetMulti(ctx, []string{"a", "b"}, [][]byte{[]byte("1"), []byte("2")}, time.Minute); err != nil {
				t.Fatal(err)
			}
			// Past the own-write window, reads are answered locally.
			warm := func() ([][]byte, error) { return s.GetMulti(ctx, []string{"a", "b"}) }
			deadline := time.Now().Add(10 * time.Second)
			for {
				if _, err := warm(); err != nil {
					t.Fatal(err)
				}
				p.Blackhole(true)
				vals, err := warm()
				if err == nil && string(vals[0]) == "1" && string(vals[1]) == "2" {
					break // answered without the network
				}
				p.Blackhole(false)
				if time.Now().After(deadline) {
					t.Fatalf("warm read never answered locally: %q %v", vals, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			for range 100 {
				vals, err := warm()
				if err != nil || string(vals[0]) != "1" {
					t.Fatalf("warm read in a blackhole: %q %v", vals, err)
				}
			}
			for _, op := range storeOps {
				took, err := timed(func() error { return op.do(ctx, s) })
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s in a blackhole: err %v, want context.DeadlineExceeded", op.name, err)
				}
				if took < timeout || took > timeout+time.Second {
					t.Errorf("%s in a blackhole took %v, timeout %v", op.name, took, timeout)
				}
			}
			p.Blackhole(false)
			// Recovery: the held commands are answered, new ones too.
			waitNoErr(t, func() error { return s.Set(ctx, "after", []byte("x")) })
		})
	}
}

// TestRedisTimeoutCallerContext: the caller's deadline still applies when
// it is the shorter, and WithTimeout(0) leaves the caller's alone.
func TestRedisTimeoutCallerContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{{"caller shorter", 10 * time.Second}, {"no store timeout", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.StartRedis(t)
			p := faultproxy.Start(t, srv.Addr)
			s := faultKinds[1].open(t, p.Addr, store.WithTimeout(tc.timeout))
			p.Blackhole(true)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			took, err := timed(func() error { _, err := s.GetMulti(ctx, []string{"x"}); return err })
			if !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
				t.Fatalf("GetMulti: %v after %v, want the caller's deadline after 100ms", err, took)
			}
		})
	}
}

// TestRedisDroppedConnections: every connection is closed under the
// store's feet; calls may fail while it happens, never hang, and the store
// works again by itself.
func TestRedisDroppedConnections(t *testing.T) {
	for _, kind := range faultKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := testenv.StartRedis(t)
			p := faultproxy.Start(t, srv.Addr)
			s := kind.open(t, p.Addr, store.WithTimeout(200*time.Millisecond))
			ctx := context.Background()
			for i := range 5 {
				// A write on a connection being dropped fails (writes are
				// not retried): the caller learns it, and tries again.
				waitNoErr(t, func() error { return s.Set(ctx, "k", []byte{byte('0' + i)}) })
				p.DropAll()
				// Two keys, as core always reads (entry, tags, epoch): one
				// cached MGET; then one key: a cached GET.
				took, err := timed(func() error { _, err := s.GetMulti(ctx, []string{"k", "other"}); return err })
				if took > 2*time.Second {
					t.Fatalf("GetMulti after DropAll took %v (err %v)", took, err)
				}
				waitNoErr(t, func() error {
					vals, err := s.GetMulti(ctx, []string{"k"})
					if err == nil && string(vals[0]) != string([]byte{byte('0' + i)}) {
						t.Fatalf("after DropAll read %q, want %q", vals[0], []byte{byte('0' + i)})
					}
					return err
				})
			}
			if p.Accepted() < 5 {
				t.Fatalf("%d connections accepted: the client did not reconnect", p.Accepted())
			}
		})
	}
}

func waitNoErr(t *testing.T, op func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := op()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing 10s later: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
