package bench

// GORM read benchmarks: uncached, hydragorm (memory and Redis stores),
// go-gorm/caches v4.0.5 with its README's memory Cacher, and GORM's DryRun
// (the cost of GORM alone, the floor for any plugin), on the local
// PostgreSQL.
//
//	cd bench && go test -run='^$' -bench='^BenchmarkGorm' -benchmem -count=6 . | tee gorm.txt && benchstat gorm.txt

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-gorm/caches/v4"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// GormBenchUser is the benchmarks' model.
type GormBenchUser struct {
	ID        uint
	Name      string
	Email     string
	Age       int
	Active    bool
	CreatedAt time.Time
}

// CachePolicy opts the model in to hydragorm.
func (GormBenchUser) CachePolicy() core.Policy { return core.Policy{TTL: time.Hour} }

// memoryCacher is go-gorm/caches' README memory Cacher.
type memoryCacher struct{ store sync.Map }

func (c *memoryCacher) Get(_ context.Context, key string, q *caches.Query[any]) (*caches.Query[any], error) {
	val, ok := c.store.Load(key)
	if !ok {
		return nil, nil
	}
	if err := q.Unmarshal(val.([]byte)); err != nil {
		return nil, err
	}
	return q, nil
}

func (c *memoryCacher) Store(_ context.Context, key string, val *caches.Query[any]) error {
	res, err := val.Marshal()
	if err != nil {
		return err
	}
	c.store.Store(key, res)
	return nil
}

func (c *memoryCacher) Invalidate(context.Context) error {
	c.store.Clear()
	return nil
}

// gormSetups opens one *gorm.DB per contender on one seeded schema.
func gormSetups(b *testing.B) []struct {
	name string
	db   *gorm.DB
} {
	b.Helper()
	_, dsn := testenv.Postgres(b)
	open := func() *gorm.DB {
		db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
		if err != nil {
			b.Fatal(err)
		}
		return db
	}
	plain := open()
	if err := plain.AutoMigrate(&GormBenchUser{}); err != nil {
		b.Fatal(err)
	}
	users := make([]GormBenchUser, 1000)
	for i := range users {
		users[i] = GormBenchUser{Name: fmt.Sprintf("user%04d", i), Email: fmt.Sprintf("u%d@example.com", i), Age: 18 + i%60, Active: i%2 == 0, CreatedAt: time.Now()}
	}
	if err := plain.CreateInBatches(users, 200).Error; err != nil {
		b.Fatal(err)
	}

	mem, err := store.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	memCache, err := core.New(mem)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = memCache.Close() })
	hMem := open()
	if err := hMem.Use(hydragorm.New(memCache)); err != nil {
		b.Fatal(err)
	}

	client, prefix := testenv.Redis(b)
	rst, err := store.NewRedis(client, store.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	redisCache, err := core.New(rst)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = redisCache.Close() })
	hRedis := open()
	if err := hRedis.Use(hydragorm.New(redisCache)); err != nil {
		b.Fatal(err)
	}

	// DialRedis: the store owns its rueidis client and mirrors what it
	// reads in process, emptied by Redis's invalidation pushes.
	dial, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(prefix+"dial:"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dial.Close() })
	dialCache, err := core.New(dial)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dialCache.Close() })
	hDial := open()
	if err := hDial.Use(hydragorm.New(dialCache)); err != nil {
		b.Fatal(err)
	}

	peer := open()
	if err := peer.Use(&caches.Caches{Conf: &caches.Config{Cacher: &memoryCacher{}}}); err != nil {
		b.Fatal(err)
	}

	dry := open().Session(&gorm.Session{DryRun: true})
	return []struct {
		name string
		db   *gorm.DB
	}{
		{"uncached", plain},
		{"hydragorm-memory", hMem},
		{"hydragorm-redis", hRedis},
		{"hydragorm-redis-dial", hDial},
		{"go-gorm-caches", peer},
		{"dryrun", dry},
	}
}

// The reads the GORM benchmarks time, each returning how many rows it got.

// readFirst is a read by primary key: First(&u, id).
func readFirst(db *gorm.DB) (int, error) {
	var u GormBenchUser
	return 1, db.First(&u, 42).Error
}

// readList is a 20-row list: Where("age > ?", x).Order("id").Limit(20).Find.
func readList(db *gorm.DB) (int, error) {
	var us []GormBenchUser
	err := db.Where("age > ?", 30).Order("id").Limit(20).Find(&us).Error
	return len(us), err
}

// findIDs are the keys readIDs reads.
var findIDs = []int{3, 14, 15, 92, 65, 35, 89, 79, 323, 846}

// readIDs reads 10 rows by primary key: Find(&us, ids), one entity entry
// per row.
func readIDs(db *gorm.DB) (int, error) {
	var us []GormBenchUser
	err := db.Find(&us, findIDs).Error
	return len(us), err
}

// benchGorm times read on every contender, after reads that fill the
// cache and warm the Redis client-side cache. A read that gets other than
// want rows fails the benchmark (want 0: not checked), except in DryRun,
// which reads nothing.
func benchGorm(b *testing.B, read func(*gorm.DB) (int, error), want int) {
	for _, s := range gormSetups(b) {
		b.Run(s.name, func(b *testing.B) {
			once := func() {
				n, err := read(s.db)
				if err != nil {
					b.Fatal(err)
				}
				if want > 0 && n != want && !s.db.DryRun {
					b.Fatalf("%d rows", n)
				}
			}
			for range 3 {
				once()
			}
			measure(b, once)
		})
	}
}

// BenchmarkGormFirst is readFirst, a read by primary key.
func BenchmarkGormFirst(b *testing.B) { benchGorm(b, readFirst, 0) }

// BenchmarkGormList is readList, a 20-row list.
func BenchmarkGormList(b *testing.B) { benchGorm(b, readList, 20) }

// BenchmarkGormFindIDs is readIDs, 10 rows by primary key.
func BenchmarkGormFindIDs(b *testing.B) { benchGorm(b, readIDs, len(findIDs)) }

// measure runs read in the benchmark loop and reports, besides wall time,
// the process's CPU time per read (user+system, GC included). On a shared
// machine other processes stretch wall time; CPU time compares the
// in-process contenders (hydragorm, go-gorm/caches, DryRun) more steadily.
// It leaves out the database server's work, so it is not comparable for
// the uncached read.
func measure(b *testing.B, read func()) {
	b.ReportAllocs()
	start := cpuTime()
	n := 0
	for b.Loop() {
		read()
		n++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGormInterleaved runs the contenders' reads in turn, one of each
// per iteration, and reports the median wall time of each: on a shared,
// busy machine every contender then meets the same load, which makes
// their ratios steadier than those of separate benchmarks. Each read is
// timed alone (about 30 ns of clock reads included).
func BenchmarkGormInterleaved(b *testing.B) {
	setups := gormSetups(b)
	shapes := []struct {
		name string
		read func(db *gorm.DB) (int, error)
	}{
		{"first", readFirst},
		{"list", readList},
		{"ids", readIDs},
	}
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			for _, s := range setups {
				for range 3 {
					if _, err := sh.read(s.db); err != nil {
						b.Fatal(err)
					}
				}
			}
			samples := make([][]time.Duration, len(setups))
			round := 0
			for b.Loop() {
				// Each round starts one contender later, so that none always
				// follows the same one (the uncached read's round trip
				// leaves cold CPU caches behind).
				for j := range setups {
					i := (round + j) % len(setups)
					start := time.Now()
					if _, err := sh.read(setups[i].db); err != nil {
						b.Fatal(err)
					}
					samples[i] = append(samples[i], time.Since(start))
				}
				round++
			}
			for i, s := range setups {
				b.ReportMetric(float64(median(samples[i]).Nanoseconds()), s.name+"-ns/op")
			}
		})
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
