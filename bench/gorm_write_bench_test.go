package bench

// The costs the cache adds where it does not save a read: a write by key
// (the bumps after its commit) and a miss (recording, encoding and the
// store's reads and write around the database read), for hydragorm with
// the memory store, NewRedis and DialRedis, against the same statements
// without the plugin. GORM's default configuration (writes in its
// implicit transaction). Contenders run in turn, one of each per
// iteration, each timed alone; the medians are reported.
//
//	cd bench && go test -run='^$' -bench='^BenchmarkGorm(Write|Miss)Cost$' -benchtime=2000x -count=6 . | tee cost.txt && benchstat cost.txt

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// costSetup is one contender of the cost benchmarks.
type costSetup struct {
	name  string
	db    *gorm.DB
	cache *core.Cache // nil without the plugin
}

// costSetups opens the contenders on one seeded schema of 1,000 users.
func costSetups(b *testing.B) []costSetup {
	b.Helper()
	_, dsn := testenv.Postgres(b)
	open := func() *gorm.DB {
		db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
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
		users[i] = GormBenchUser{Name: fmt.Sprintf("user%04d", i), Email: fmt.Sprintf("u%d@example.com", i), Age: 18 + i%60, CreatedAt: time.Now()}
	}
	if err := plain.CreateInBatches(users, 200).Error; err != nil {
		b.Fatal(err)
	}
	setups := []costSetup{{name: "uncached", db: plain}}
	with := func(name string, st interface {
		Close() error
	}, cache *core.Cache) {
		b.Cleanup(func() { _ = cache.Close() })
		db := open()
		if err := db.Use(hydragorm.New(cache)); err != nil {
			b.Fatal(err)
		}
		setups = append(setups, costSetup{name: name, db: db, cache: cache})
	}
	mem, err := store.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	memCache, err := core.New(mem)
	if err != nil {
		b.Fatal(err)
	}
	with("hydragorm-memory", mem, memCache)

	client, prefix := testenv.Redis(b)
	rst, err := store.NewRedis(client, store.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	redisCache, err := core.New(rst)
	if err != nil {
		b.Fatal(err)
	}
	with("hydragorm-redis", rst, redisCache)

	dial, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(prefix+"dial:"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dial.Close() })
	dialCache, err := core.New(dial)
	if err != nil {
		b.Fatal(err)
	}
	with("hydragorm-redis-dial", dial, dialCache)
	return setups
}

// interleave runs op for each contender in turn, b.N rounds (each round
// starting one contender later), timing only op, and reports each
// contender's median and its ratio to the first contender's.
func interleave(b *testing.B, setups []costSetup, prepare func(s costSetup, round int), op func(s costSetup, round int) error) {
	for i, s := range setups { // warm connections, catalog and caches
		for r := range 3 {
			prepare(s, r+i*10)
			if err := op(s, r+i*10); err != nil {
				b.Fatal(err)
			}
		}
	}
	samples := make([][]time.Duration, len(setups))
	round := 0
	for b.Loop() {
		for j := range setups {
			i := (round + j) % len(setups)
			prepare(setups[i], round)
			start := time.Now()
			if err := op(setups[i], round); err != nil {
				b.Fatal(err)
			}
			samples[i] = append(samples[i], time.Since(start))
		}
		round++
	}
	base := float64(median(samples[0]))
	for i, s := range setups {
		m := float64(median(samples[i]))
		b.ReportMetric(m, s.name+"-ns/op")
		if i > 0 && base > 0 {
			b.ReportMetric(m/base, s.name+"-x")
		}
	}
}

// BenchmarkGormWriteCost times db.Model(&u).Update("age", n) by key, each
// contender on rows of its own, with the row's entity entry cached.
func BenchmarkGormWriteCost(b *testing.B) {
	setups := costSetups(b)
	ctx := context.Background()
	interleave(b, setups, func(s costSetup, round int) {
		if s.cache != nil && round%50 == 0 {
			var u GormBenchUser // keep some of the rows' entries warm
			_ = s.db.WithContext(ctx).First(&u, rowOf(s, setups, round)).Error
		}
	}, func(s costSetup, round int) error {
		return s.db.WithContext(ctx).Model(&GormBenchUser{ID: uint(rowOf(s, setups, round))}).Update("age", 20+round%50).Error
	})
}

// BenchmarkGormMissCost times First(&u, id) right after a write of the
// row (untimed), so that every read through the plugin is a miss that
// loads and stores, against the same read without the plugin.
func BenchmarkGormMissCost(b *testing.B) {
	setups := costSetups(b)
	ctx := context.Background()
	interleave(b, setups, func(s costSetup, round int) {
		_ = s.db.WithContext(ctx).Model(&GormBenchUser{ID: uint(rowOf(s, setups, round))}).Update("age", 20+round%50).Error
	}, func(s costSetup, round int) error {
		var u GormBenchUser
		return s.db.WithContext(ctx).First(&u, rowOf(s, setups, round)).Error
	})
}

// rowOf is the row contender s uses in round: 200 rows of its own.
func rowOf(s costSetup, setups []costSetup, round int) int {
	for i := range setups {
		if setups[i].name == s.name {
			return 1 + i*200 + round%200
		}
	}
	return 1
}
