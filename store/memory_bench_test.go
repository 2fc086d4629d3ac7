package store_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"runtime"
	"strconv"
	"testing"

	lib "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/storetest"
)

// newBenchMemory returns a default-sized store closed at the end.
func newBenchMemory(b *testing.B) *store.Memory {
	b.Helper()
	m, err := store.NewMemory()
	if err != nil {
		b.Fatalf("NewMemory: %v", err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return m
}

// fillMemory stores n 200-byte values and returns their keys, boxed once
// up front so that the benchmarks measure the store, not the caller's
// string-to-interface conversion.
func fillMemory(b *testing.B, m *store.Memory, n int) ([]string, []any) {
	b.Helper()
	keys := make([]string, n)
	boxed := make([]any, n)
	value := bytes.Repeat([]byte{0xab}, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("e:users:%d:fp", i)
		boxed[i] = keys[i]
		if err := m.Set(context.Background(), keys[i], value); err != nil {
			b.Fatalf("Set: %v", err)
		}
	}
	return keys, boxed
}

func BenchmarkMemoryGetHit(b *testing.B) {
	m := newBenchMemory(b)
	_, keys := fillMemory(b, m, 10000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Errorf("Get: %v", err)
				return
			}
			i++
		}
	})
}

func BenchmarkMemorySet(b *testing.B) {
	m := newBenchMemory(b)
	keys := make([]any, 100000)
	for i := range keys {
		keys[i] = fmt.Sprintf("e:users:%d:fp", i)
	}
	value := bytes.Repeat([]byte{0xab}, 200)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := m.Set(ctx, keys[i%len(keys)], value); err != nil {
			b.Fatalf("Set: %v", err)
		}
	}
}

func BenchmarkMemoryGetMulti(b *testing.B) {
	m := newBenchMemory(b)
	keys, _ := fillMemory(b, m, 10000)
	ctx := context.Background()
	const batch = 16
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		start := (i * batch) % (len(keys) - batch)
		if _, err := m.GetMulti(ctx, keys[start:start+batch]); err != nil {
			b.Fatalf("GetMulti: %v", err)
		}
	}
}

// BenchmarkMemoryBytesPerEntry reports the heap the store takes per entry
// for 100k entries of 200-byte values, keys excluded; it is the basis of
// MemoryEntryOverhead.
func BenchmarkMemoryBytesPerEntry(b *testing.B) {
	const n = 100000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("e:users:%d:fp", i)
	}
	value := bytes.Repeat([]byte{0xab}, 200)
	ctx := context.Background()
	for b.Loop() {
		before := memoryHeap()
		m, err := store.NewMemory(store.WithMaxBytes(1 << 30))
		if err != nil {
			b.Fatalf("NewMemory: %v", err)
		}
		for _, k := range keys {
			if err := m.Set(ctx, k, value); err != nil {
				b.Fatalf("Set: %v", err)
			}
		}
		after := memoryHeap()
		b.ReportMetric(float64(after-before)/n, "heapB/entry")
		runtime.KeepAlive(m)
		_ = m.Close()
	}
}

func memoryHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func BenchmarkMemoryStoretest(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) lib.StoreInterface { return newBenchMemory(b) })
}

// BenchmarkMemoryZipfHitRatio reports the hit ratio of a full store under
// a Zipf-distributed read-through workload (200,000 keys of 200 bytes, a
// 1 MiB bound that holds about 2% of them, 400,000 reads, each miss
// followed by a Set): the eviction policy's quality, not its speed.
func BenchmarkMemoryZipfHitRatio(b *testing.B) {
	ctx := context.Background()
	value := bytes.Repeat([]byte{0xab}, 200)
	for _, skew := range []float64{1.01, 1.2} {
		b.Run(fmt.Sprintf("s=%.2f", skew), func(b *testing.B) {
			var ratio float64
			for b.Loop() {
				m, err := store.NewMemory(store.WithMaxBytes(1 << 20))
				if err != nil {
					b.Fatal(err)
				}
				z := rand.NewZipf(rand.New(rand.NewSource(1)), skew, 1, 200_000)
				const reads = 400_000
				hits := 0
				for range reads {
					k := "k" + strconv.FormatUint(z.Uint64(), 10)
					if _, err := m.Get(ctx, k); err == nil {
						hits++
					} else if err := m.Set(ctx, k, value); err != nil {
						b.Fatal(err)
					}
				}
				_ = m.Close()
				ratio = float64(hits) / reads
			}
			b.ReportMetric(100*ratio, "hit-%")
		})
	}
}
