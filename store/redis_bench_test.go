package store_test

import (
	"fmt"
	"testing"
	"time"

	lib "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/storetest"
)

// benchKeys are shaped like core's: one entry key and two tag-version keys.
var benchKeys = []string{"e:users:42:fp1", "t:users:42", "t:users#rows"}

func seedBench(b *testing.B, s *store.Redis) {
	b.Helper()
	values := [][]byte{make([]byte, 200), []byte("stamp-0123456789ab"), []byte("stamp-ba9876543210")}
	if err := s.SetMulti(b.Context(), benchKeys, values, time.Hour); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRedisGetMultiWarm is core's cached read: three keys, all in the
// client-side cache, no round trip; "prepared" reads them through
// PrepareGetMulti's reader, as core does for a prepared descriptor.
func BenchmarkRedisGetMultiWarm(b *testing.B) {
	s, _ := newTestRedis(b, store.WithOwnWriteWindow(time.Millisecond))
	seedBench(b, s)
	time.Sleep(5 * time.Millisecond) // let the own-write window pass
	ctx := b.Context()
	prepared := s.PrepareGetMulti(benchKeys)
	reads := []struct {
		name string
		read func() ([][]byte, error)
	}{
		{"plain", func() ([][]byte, error) { return s.GetMulti(ctx, benchKeys) }},
		{"prepared", func() ([][]byte, error) { return prepared(ctx) }},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			for range 2 { // the first read fills the cache, the second retires the marks
				if _, err := r.read(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRedisGetMultiWarmParallel is the same read from all Ps at once.
func BenchmarkRedisGetMultiWarmParallel(b *testing.B) {
	s, _ := newTestRedis(b, store.WithOwnWriteWindow(time.Millisecond))
	seedBench(b, s)
	time.Sleep(5 * time.Millisecond)
	ctx := b.Context()
	for range 2 {
		if _, err := s.GetMulti(ctx, benchKeys); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetMulti(ctx, benchKeys); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRedisGetMultiCold is an honest round trip: client-side caching
// off, so every read asks the server.
func BenchmarkRedisGetMultiCold(b *testing.B) {
	s, _ := newTestRedis(b, store.WithClientCacheTTL(0))
	seedBench(b, s)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.GetMulti(ctx, benchKeys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisGetWarm is one gocache Get served from the client-side cache.
func BenchmarkRedisGetWarm(b *testing.B) {
	s, _ := newTestRedis(b, store.WithOwnWriteWindow(time.Millisecond))
	seedBench(b, s)
	time.Sleep(5 * time.Millisecond)
	ctx := b.Context()
	for range 2 {
		if _, err := s.Get(ctx, benchKeys[0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Get(ctx, benchKeys[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisSet is one SET with a TTL: a round trip.
func BenchmarkRedisSet(b *testing.B) {
	s, _ := newTestRedis(b)
	ctx := b.Context()
	value := make([]byte, 200)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("set:", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if err := s.Set(ctx, keys[i%len(keys)], value, lib.WithExpiration(time.Minute)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRedisConformance runs the suite's shared benchmarks, comparable
// with the memory store's.
func BenchmarkRedisConformance(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) lib.StoreInterface {
		s, _ := newTestRedis(b)
		return s
	})
}

// BenchmarkRedisRawMGetCacheWarm is the floor under GetMulti: the same cached
// MGET sent straight through rueidis, without prefixing, own-write checks or
// conversion.
func BenchmarkRedisRawMGetCacheWarm(b *testing.B) {
	s, ns := newTestRedis(b)
	seedBench(b, s)
	client := s.Client()
	full := make([]string, len(benchKeys))
	for i, k := range benchKeys {
		full[i] = ns + k
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := client.DoCache(ctx, client.B().Mget().Key(full...).Cache(), time.Minute).Error(); err != nil {
			b.Fatal(err)
		}
	}
}
