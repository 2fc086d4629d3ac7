package core_test

// Fault tests (issue 5, "Faults"): Redis stopped, restarted empty, slowed
// down or cut off (through testing/faultproxy), and full. Each test starts
// its own redis-server on a free loopback port and drives a Cache over both
// ways of making a Redis store (NewRedis on the caller's client, DialRedis
// with its mirror), asserting on every read that no error reached the caller
// and that the value is never older than the last write whose bump returned
// before the read started.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/faultproxy"
	"github.com/hydracache/hydracache/testing/testenv"
)

// faultRow stands for one row of the database, the way fakeDB does in
// cache_test.go, with a version number as its value so that a read can be
// checked against the writes that came before it.
type faultRow struct {
	d     core.Descriptor
	tag   string
	mu    sync.Mutex
	ver   int64        // the committed value
	acked atomic.Int64 // highest version whose bump returned (with or without error)
	calls atomic.Int64 // loader calls: a read that loads is a miss
}

func (r *faultRow) load(context.Context) ([]byte, error) {
	r.calls.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	return []byte(strconv.FormatInt(r.ver, 10)), nil
}

// commit changes the row in the database without telling the cache.
func (r *faultRow) commit() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ver++
	return r.ver
}

func (r *faultRow) current() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ver
}

// faultRig is a Cache over a Redis store and the rows it caches.
type faultRig struct {
	t     *testing.T
	c     *core.Cache
	st    lib_store.StoreInterface
	ns    string // the Cache's namespace
	pfx   string // the store's key prefix
	rows  []*faultRow
	reads atomic.Int64
	worst atomic.Int64 // slowest read, nanoseconds
}

// faultStoreKinds are the two ways of making a Redis store.
var faultStoreKinds = []struct {
	name string
	open func(t *testing.T, opt rueidis.ClientOption, opts ...store.RedisOption) lib_store.StoreInterface
}{
	{"NewRedis", func(t *testing.T, opt rueidis.ClientOption, opts ...store.RedisOption) lib_store.StoreInterface {
		client, err := rueidis.NewClient(opt)
		if err != nil {
			t.Fatalf("rueidis: %v", err)
		}
		t.Cleanup(client.Close)
		st, err := store.NewRedis(client, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"DialRedis", func(t *testing.T, opt rueidis.ClientOption, opts ...store.RedisOption) lib_store.StoreInterface {
		st, err := store.DialRedis(opt, opts...)
		if err != nil {
			t.Fatalf("DialRedis: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
}

// faultTimeout is the store timeout of the fault tests, and faultReadBound
// the longest a read may take under any fault: a liveness bound, generous
// for -race on two loaded cores, not a speed target.
const (
	faultTimeout   = 150 * time.Millisecond
	faultReadBound = 2 * time.Second
)

func newFaultRig(t *testing.T, st lib_store.StoreInterface, rows int) *faultRig {
	t.Helper()
	rig := &faultRig{t: t, st: st, ns: "fault", pfx: store.DefaultRedisPrefix}
	if p, ok := st.(interface{ Prefix() string }); ok {
		rig.pfx = p.Prefix()
	}
	c, err := core.New(st, core.WithNamespace(rig.ns), core.WithLogger(discardLogger()), core.WithTTLJitter(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	rig.c = c
	for i := range rows {
		id := strconv.Itoa(i)
		d := core.Entity("users", id)
		if i%2 == 1 {
			// Odd rows are read as the plugins read keys: prepared, through
			// the store's prepared reader.
			d = c.Prepare(d)
		}
		rig.rows = append(rig.rows, &faultRow{d: d, tag: keys.EntityTag("users", id)})
	}
	return rig
}

// read fetches row i and checks the result: no error, and a value no older
// than the last write acknowledged before the read began. It reports
// whether the read was a hit (the loader did not run).
func (rig *faultRig) read(ctx context.Context, i int) bool {
	rig.t.Helper()
	r := rig.rows[i]
	floor := r.acked.Load()
	calls := r.calls.Load()
	start := time.Now()
	v, err := rig.c.Fetch(ctx, r.d, r.load)
	took := time.Since(start)
	rig.reads.Add(1)
	for {
		w := rig.worst.Load()
		if int64(took) <= w || rig.worst.CompareAndSwap(w, int64(took)) {
			break
		}
	}
	if err != nil {
		rig.t.Errorf("read of row %d: error reached the caller: %v", i, err)
		return false
	}
	got, perr := strconv.ParseInt(string(v), 10, 64)
	if perr != nil {
		rig.t.Errorf("read of row %d: undecodable value %q", i, v)
		return false
	}
	if got < floor {
		rig.t.Errorf("read of row %d: STALE value %d, the write of %d was acknowledged before the read", i, got, floor)
	}
	if took > faultReadBound {
		rig.t.Errorf("read of row %d took %v, bound %v", i, took, faultReadBound)
	}
	return r.calls.Load() == calls
}

// write commits a new value of row i and bumps its tag, as a plugin does
// after a commit. It returns the bump's error.
func (rig *faultRig) write(ctx context.Context, i int) error {
	r := rig.rows[i]
	v := r.commit()
	err := rig.c.InvalidateTags(ctx, r.tag)
	for {
		a := r.acked.Load()
		if v <= a || r.acked.CompareAndSwap(a, v) {
			break
		}
	}
	return err
}

// readAll reads every row once and returns the number of hits.
func (rig *faultRig) readAll(ctx context.Context) int {
	rig.t.Helper()
	hits := 0
	for i := range rig.rows {
		if rig.read(ctx, i) {
			hits++
		}
	}
	return hits
}

// warm reads every row until it is a hit, so that each is cached.
func (rig *faultRig) warm(ctx context.Context) {
	rig.t.Helper()
	for i := range rig.rows {
		rig.waitHit(ctx, i, "row to be cached")
	}
}

// waitHit reads row i until a read is a hit: the cache recovered by itself.
func (rig *faultRig) waitHit(ctx context.Context, i int, what string) {
	rig.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !rig.read(ctx, i) {
		if rig.t.Failed() {
			rig.t.FailNow()
		}
		if time.Now().After(deadline) {
			rig.t.Fatalf("row %d: no hit 20s later, waiting for %s; stats %+v", i, what, rig.c.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// entryKey and tagKey are the Redis keys of row i's entry and tag version.
func (rig *faultRig) entryKey(i int) string {
	return rig.pfx + keys.Join("hc", rig.ns, "k") + ":" + rig.rows[i].d.Key
}

func (rig *faultRig) tagKey(tag string) string {
	return rig.pfx + keys.Join("hc", rig.ns, "v") + ":" + tag
}

// clientOption connects to addr with rueidis's defaults, retries included,
// as an application would.
func clientOption(addr string) rueidis.ClientOption {
	return rueidis.ClientOption{InitAddress: []string{addr}}
}

func TestFaultRedisStopped(t *testing.T) {
	for _, kind := range faultStoreKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			srv := testenv.StartRedis(t)
			rig := newFaultRig(t, kind.open(t, clientOption(srv.Addr), store.WithTimeout(faultTimeout)), 4)
			rig.warm(ctx)

			srv.Stop()
			before := rig.c.Stats()
			// Once rueidis notices the closed connection it drops the
			// client-side copies (and the mirror) with it, so reads reach
			// Redis, fail and are counted. Until it notices, warm reads are
			// still served locally: poll, with a deadline.
			deadline := time.Now().Add(5 * time.Second)
			for rig.c.Stats().StoreErrors == before.StoreErrors {
				if time.Now().After(deadline) {
					t.Fatalf("no store error counted 5 s after Redis stopped: %+v", rig.c.Stats())
				}
				rig.readAll(ctx)
				time.Sleep(time.Millisecond)
			}
			// A write while Redis is down: its bump cannot land.
			if err := rig.write(ctx, 0); err == nil {
				t.Fatal("a bump with Redis stopped returned no error")
			}
			bypassed := rig.c.Stats().Bypassed
			for range 3 {
				rig.read(ctx, 0)
			}
			if rig.c.Stats().Bypassed < bypassed+3 {
				t.Fatalf("reads of a tag with a pending bump did not bypass the cache: %+v", rig.c.Stats())
			}

			testenv.RestartRedis(t, srv.Addr)
			// The retry lands and hits resume, with no manual step.
			for i := range rig.rows {
				rig.waitHit(ctx, i, "hits to resume after Redis came back")
			}
			if rig.rows[0].calls.Load() < 2 {
				t.Fatal("row 0 was never reloaded after its write")
			}
			t.Logf("%d reads, slowest %v; %+v", rig.reads.Load(), time.Duration(rig.worst.Load()), rig.c.Stats())
		})
	}
}

func TestFaultRedisRestartLosesEveryKey(t *testing.T) {
	for _, kind := range faultStoreKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			srv := testenv.StartRedis(t)
			rig := newFaultRig(t, kind.open(t, clientOption(srv.Addr), store.WithTimeout(faultTimeout)), 4)
			rig.warm(ctx)

			// Every row changes in the database with no bump: only the loss
			// of Redis's data can make a read see it. An entry from before
			// the loss, served from any cache, would show the old value.
			for _, r := range rig.rows {
				r.commit()
			}
			srv.Stop()
			srv = testenv.RestartRedis(t, srv.Addr)
			for i, r := range rig.rows {
				want := r.current()
				v, err := rig.c.Fetch(ctx, r.d, r.load)
				if err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				if got, _ := strconv.ParseInt(string(v), 10, 64); got != want {
					t.Fatalf("row %d: read %d after Redis lost its data, want %d: an entry from before the loss was served", i, got, want)
				}
			}
			for i := range rig.rows {
				rig.waitHit(ctx, i, "hits to resume after the restart")
			}

			// A write and bump while Redis is down, then a restart.
			srv.Stop()
			if err := rig.write(ctx, 1); err == nil {
				t.Fatal("a bump with Redis stopped returned no error")
			}
			rig.readAll(ctx)
			testenv.RestartRedis(t, srv.Addr)
			rig.readAll(ctx)
			for i := range rig.rows {
				rig.waitHit(ctx, i, "hits to resume after the second restart")
			}
			t.Logf("%d reads, slowest %v; %+v", rig.reads.Load(), time.Duration(rig.worst.Load()), rig.c.Stats())
		})
	}
}

// TestFaultRedisFlushedWhileConnected: Redis loses its data while the
// connections stay up (an operator's FLUSHALL): the server's flush
// invalidation must empty every client-side copy.
func TestFaultRedisFlushedWhileConnected(t *testing.T) {
	for _, kind := range faultStoreKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			srv := testenv.StartRedis(t)
			rig := newFaultRig(t, kind.open(t, clientOption(srv.Addr), store.WithTimeout(faultTimeout)), 4)
			rig.warm(ctx)
			for _, r := range rig.rows {
				r.commit()
			}
			admin := adminClient(t, srv.Addr)
			if err := admin.Do(ctx, admin.B().Flushall().Build()).Error(); err != nil {
				t.Fatal(err)
			}
			for i, r := range rig.rows {
				want := r.current()
				// The flush's invalidation reaches the client by push, like
				// another process's bump: allow for its delivery.
				deadline := time.Now().Add(5 * time.Second)
				for {
					v, err := rig.c.Fetch(ctx, r.d, r.load)
					if err != nil {
						t.Fatalf("row %d: %v", i, err)
					}
					if got, _ := strconv.ParseInt(string(v), 10, 64); got == want {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("row %d: still served from before FLUSHALL 5s later", i)
					}
					time.Sleep(time.Millisecond)
				}
			}
			for i := range rig.rows {
				rig.waitHit(ctx, i, "hits to resume after the flush")
			}
		})
	}
}

func adminClient(t *testing.T, addr string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestFaultRedisSlowAndDropped: Redis behind a proxy that adds latency
// above the store timeout, drops every connection, or blackholes traffic.
// Reads stay bounded and fresh; the cache recovers when the fault ends.
func TestFaultRedisSlowAndDropped(t *testing.T) {
	for _, kind := range faultStoreKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			srv := testenv.StartRedis(t)
			p := faultproxy.Start(t, srv.Addr)
			rig := newFaultRig(t, kind.open(t, clientOption(p.Addr), store.WithTimeout(faultTimeout)), 6)
			rig.warm(ctx)

			t.Run("latency above the timeout", func(t *testing.T) {
				rig.t = t
				p.SetLatency(200 * time.Millisecond)
				rig.readAll(ctx) // warm copies may still answer: they are current
				if err := rig.write(ctx, 0); err == nil {
					t.Fatal("a bump through 400 ms round trips with a 150 ms timeout returned no error")
				}
				for range 3 {
					rig.readAll(ctx)
				}
				p.SetLatency(0)
				for i := range rig.rows {
					rig.waitHit(ctx, i, "hits to resume once latency is gone")
				}
			})

			t.Run("dropped connections under load", func(t *testing.T) {
				rig.t = t
				var wg sync.WaitGroup
				stop := make(chan struct{})
				for w := range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for n := 0; ; n++ {
							select {
							case <-stop:
								return
							default:
							}
							i := (w + n) % len(rig.rows)
							if n%7 == 0 {
								_ = rig.write(ctx, i) // may fail while connections drop
							}
							rig.read(ctx, i)
						}
					}()
				}
				for range 5 {
					time.Sleep(50 * time.Millisecond)
					p.DropAll()
				}
				time.Sleep(50 * time.Millisecond)
				close(stop)
				wg.Wait()
				if rig.t.Failed() {
					return
				}
				for i := range rig.rows {
					rig.waitHit(ctx, i, "hits to resume after dropped connections")
				}
			})

			t.Run("blackhole", func(t *testing.T) {
				rig.t = t
				p.Blackhole(true)
				rig.readAll(ctx)
				if err := rig.write(ctx, 2); err == nil {
					t.Fatal("a bump into a blackhole returned no error")
				}
				for range 3 {
					rig.readAll(ctx)
				}
				p.Blackhole(false)
				for i := range rig.rows {
					rig.waitHit(ctx, i, "hits to resume after the blackhole")
				}
			})
			rig.t = t
			t.Logf("%d reads, slowest %v; %+v", rig.reads.Load(), time.Duration(rig.worst.Load()), rig.c.Stats())
		})
	}
}

// TestFaultRedisFull: a Redis with a small maxmemory that evicts keys
// (entries and tag versions alike) under allkeys-lru. No read fails or is
// stale; an entry whose tag version was evicted is never served again,
// since the tag is re-seeded with a fresh stamp.
func TestFaultRedisFull(t *testing.T) {
	for _, kind := range faultStoreKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			args := []string{"--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"}
			srv := testenv.StartRedis(t, args...)
			admin := adminClient(t, srv.Addr)
			const rows = 64
			rig := newFaultRig(t, kind.open(t, clientOption(srv.Addr), store.WithTimeout(faultTimeout)), rows)
			for round := range 3 {
				// Fill: every row cached, then far more entries than fit.
				rig.readAll(ctx)
				filler := strings.Repeat("x", 2048)
				for j := range 1500 {
					d := core.Entity("filler", fmt.Sprintf("%d-%d", round, j))
					if _, err := rig.c.Fetch(ctx, d, func(context.Context) ([]byte, error) { return []byte(filler), nil }); err != nil {
						t.Fatalf("filler read: %v", err)
					}
					if j%100 == 0 {
						// Keep the even rows recently used, so that LRU
						// evicts some rows' keys and not others'.
						for i := 0; i < rows; i += 2 {
							rig.read(ctx, i)
						}
					}
				}
				// Every row changes in the database without a bump, so a read
				// that returns the new value was reloaded, one that returns
				// the old value was served from an entry.
				olds := make([]int64, rows)
				for i, r := range rig.rows {
					olds[i] = r.current()
					r.commit()
				}
				evicted, served := 0, 0
				for i, r := range rig.rows {
					// What the server holds now: an entry whose entity tag,
					// rows tag or epoch is gone must not be served.
					res := admin.DoMulti(ctx,
						admin.B().Exists().Key(rig.entryKey(i)).Build(),
						admin.B().Exists().Key(rig.tagKey(r.tag)).Build(),
						admin.B().Exists().Key(rig.tagKey(keys.RowsTag("users"))).Build(),
						admin.B().Exists().Key(rig.pfx+keys.Join("hc", rig.ns, "epoch")).Build(),
					)
					present := make([]int64, len(res))
					for k, x := range res {
						n, err := x.AsInt64()
						if err != nil {
							t.Fatal(err)
						}
						present[k] = n
					}
					v, err := rig.c.Fetch(ctx, r.d, r.load)
					if err != nil {
						t.Fatalf("round %d row %d: error reached the caller: %v", round, i, err)
					}
					got, _ := strconv.ParseInt(string(v), 10, 64)
					if got == olds[i] {
						served++
					}
					switch {
					case got != olds[i] && got != r.current():
						t.Fatalf("round %d row %d: read %d, neither the old %d nor the new %d", round, i, got, olds[i], r.current())
					case present[1] == 0 || present[2] == 0 || present[3] == 0:
						evicted++
						if got != r.current() {
							t.Fatalf("round %d row %d: a tag version was evicted (entity %d, rows %d, epoch %d) but the entry recorded under it was served: %d, want %d",
								round, i, present[1], present[2], present[3], got, r.current())
						}
					}
				}
				// And the protocol holds under eviction: write, bump, read.
				for i := range rig.rows {
					if err := rig.write(ctx, i); err != nil {
						t.Fatalf("bump under eviction: %v", err)
					}
					rig.read(ctx, i)
				}
				t.Logf("round %d: %d of %d rows had a tag version evicted, %d served from their entry; %+v", round, evicted, rows, served, rig.c.Stats())
			}
			var info string
			if s, err := admin.Do(ctx, admin.B().Info().Section("stats").Build()).ToString(); err == nil {
				for _, l := range strings.Split(s, "\n") {
					if strings.HasPrefix(l, "evicted_keys:") {
						info = strings.TrimSpace(l)
					}
				}
			}
			if info == "" || info == "evicted_keys:0" {
				t.Fatalf("Redis evicted nothing (%q): the test did not fill it", info)
			}
			t.Logf("%s; %d reads, slowest %v", info, rig.reads.Load(), time.Duration(rig.worst.Load()))
		})
	}
}

// TestFaultPartitionedProcess: two processes share Redis; one of them is
// cut off (its connections blackholed) while the other writes and bumps.
// The cut-off process cannot receive the invalidation push, and its warm
// reads need no network, so it serves the old value until rueidis notices
// that its connection is dead (its background PING gets no answer within
// ClientOption.ConnWriteTimeout) and drops the connection and, with it,
// every client-side copy. ConnWriteTimeout therefore bounds cross-process
// staleness under a partition: here it is set to 300 ms and the old value
// must be gone within 5 s (measured: about 2.4 s, rueidis pings once per
// Dialer.KeepAlive, 1 s by default; with rueidis's default ConnWriteTimeout
// of 10 s the same test measured about 12 s).
func TestFaultPartitionedProcess(t *testing.T) {
	const connTimeout = 300 * time.Millisecond
	for _, kind := range faultStoreKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			srv := testenv.StartRedis(t)
			p := faultproxy.Start(t, srv.Addr)
			optA := clientOption(p.Addr)
			optA.ConnWriteTimeout = connTimeout
			a := newFaultRig(t, kind.open(t, optA, store.WithTimeout(faultTimeout)), 1)
			b := newFaultRig(t, kind.open(t, clientOption(srv.Addr), store.WithTimeout(faultTimeout)), 1)
			b.rows = a.rows // one database
			a.warm(ctx)

			p.Blackhole(true)
			start := time.Now()
			if err := b.write(ctx, 0); err != nil {
				t.Fatal(err)
			}
			want := a.rows[0].current()
			stale := 0
			for {
				v, err := a.c.Fetch(ctx, a.rows[0].d, a.rows[0].load)
				if err != nil {
					t.Fatalf("partitioned read: %v", err)
				}
				if got, _ := strconv.ParseInt(string(v), 10, 64); got == want {
					break
				}
				stale++
				if time.Since(start) > 5*time.Second {
					t.Fatalf("the partitioned process still serves the old value %v after the bump, ConnWriteTimeout %v", time.Since(start), connTimeout)
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("partitioned process served the old value for %v (%d reads) after another process's bump", time.Since(start), stale)
			p.Blackhole(false)
			a.waitHit(ctx, 0, "hits to resume after the partition")
		})
	}
}
