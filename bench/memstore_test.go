package bench

// The measurements behind store.NewMemory's choice of otter: hit cost on
// two cores, heap per entry, and what each candidate does when full.
//
//	cd bench && go test -run='^$' -bench=MemoryStores -benchmem -count=6 . | tee mem.txt && benchstat mem.txt

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/coocood/freecache"
	"github.com/dgraph-io/ristretto/v2"
	lib "github.com/eko/gocache/lib/v4/store"
	fcstore "github.com/eko/gocache/store/freecache/v4"
	rstore "github.com/eko/gocache/store/ristretto/v4"

	"github.com/hydracache/hydracache/store"
)

// getSetter is the part of gocache's store interface the comparison uses.
type getSetter interface {
	Get(ctx context.Context, key any) (any, error)
	Set(ctx context.Context, key any, value any, options ...lib.Option) error
}

// ristrettoStore charges each entry its size, as the byte bound needs.
type ristrettoStore struct {
	s    *rstore.RistrettoStore[string, []byte]
	sync bool
}

func (r ristrettoStore) Get(ctx context.Context, k any) (any, error) { return r.s.Get(ctx, k) }

func (r ristrettoStore) Set(ctx context.Context, k any, v any, o ...lib.Option) error {
	b := v.([]byte)
	o = append(o, lib.WithCost(int64(len(b)+len(k.(string))+100)))
	if r.sync {
		o = append(o, lib.WithSynchronousSet())
	}
	return r.s.Set(ctx, k, b, o...)
}

var candidates = []struct {
	name string
	make func(b *testing.B, maxBytes int64) getSetter
}{
	{"hydracache-otter", func(b *testing.B, maxBytes int64) getSetter {
		m, err := store.NewMemory(store.WithMaxBytes(maxBytes))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = m.Close() })
		return m
	}},
	{"gocache-freecache", func(b *testing.B, maxBytes int64) getSetter {
		return fcstore.NewFreecache(freecache.NewCache(int(maxBytes)))
	}},
	{"gocache-ristretto-async", func(b *testing.B, maxBytes int64) getSetter {
		return ristrettoStore{s: newRistretto(b, maxBytes)}
	}},
	{"gocache-ristretto-sync", func(b *testing.B, maxBytes int64) getSetter {
		return ristrettoStore{s: newRistretto(b, maxBytes), sync: true}
	}},
}

func newRistretto(b *testing.B, maxBytes int64) *rstore.RistrettoStore[string, []byte] {
	c, err := ristretto.NewCache(&ristretto.Config[string, []byte]{NumCounters: maxBytes / 20, MaxCost: maxBytes, BufferItems: 64})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return rstore.NewRistretto[string, []byte](c)
}

// BenchmarkMemoryStoresHit: parallel Get of present 200-byte values.
func BenchmarkMemoryStoresHit(b *testing.B) {
	ctx := context.Background()
	val := make([]byte, 200)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%d", i)
	}
	for _, c := range candidates {
		b.Run("store="+c.name, func(b *testing.B) {
			s := c.make(b, 64<<20)
			for _, k := range keys {
				_ = s.Set(ctx, k, val, lib.WithSynchronousSet())
			}
			present := make([]string, 0, len(keys))
			for _, k := range keys {
				if _, err := s.Get(ctx, k); err == nil {
					present = append(present, k)
				}
			}
			if len(present) == 0 {
				b.Skip("nothing readable")
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					_, _ = s.Get(ctx, present[i%len(present)])
					i++
				}
			})
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMemoryStoresFootprint: heap per entry for 100,000 entries of
// 200-byte values in a store bounded at 256 MiB (preallocation included),
// and how many of them a Get right after their Set could not read.
func BenchmarkMemoryStoresFootprint(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	val := make([]byte, 200)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%08d", i)
	}
	for _, c := range candidates {
		b.Run("store="+c.name, func(b *testing.B) {
			for b.Loop() {
				before := heapInUse()
				s := c.make(b, 256<<20)
				lost := 0
				for _, k := range keys {
					_ = s.Set(ctx, k, val)
					if _, err := s.Get(ctx, k); err != nil {
						lost++
					}
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/n, "heap-B/entry")
				b.ReportMetric(100*float64(lost)/n, "%unreadable-after-set")
				runtime.KeepAlive(s)
			}
		})
	}
}

// BenchmarkMemoryStoresFull: a store bounded at 1 MiB takes ten times that
// in 200-byte values; it reports how many values were unreadable right after
// their Set and how many of the last 100 are still there.
func BenchmarkMemoryStoresFull(b *testing.B) {
	ctx := context.Background()
	const maxBytes = 1 << 20
	val := make([]byte, 200)
	n := 10 * maxBytes / len(val)
	for _, c := range candidates {
		b.Run("store="+c.name, func(b *testing.B) {
			for b.Loop() {
				s := c.make(b, maxBytes)
				lost := 0
				for i := range n {
					k := fmt.Sprintf("key:%08d", i)
					_ = s.Set(ctx, k, val)
					if _, err := s.Get(ctx, k); err != nil {
						lost++
					}
				}
				time.Sleep(50 * time.Millisecond) // let asynchronous stores settle
				last := 0
				for i := n - 100; i < n; i++ {
					if _, err := s.Get(ctx, fmt.Sprintf("key:%08d", i)); err == nil {
						last++
					}
				}
				b.ReportMetric(100*float64(lost)/float64(n), "%unreadable-after-set")
				b.ReportMetric(float64(last), "last100-readable")
			}
		})
	}
}
