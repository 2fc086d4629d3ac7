package hydragorm_test

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"
	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/consistency"
	"github.com/hydracache/hydracache/testing/consistency/gormtarget"
	"github.com/hydracache/hydracache/testing/testenv"
)

const ccKeys = 8

// ccGrace is how long after a write returned in one process a read in the
// other may still see the older version: the delivery of Redis's
// invalidation push (the README measured a few milliseconds on an idle
// machine; this allows for a loaded CI machine running -race). Reads in
// the writing process get no grace.
const ccGrace = 100 * time.Millisecond

// ccConfig is the workload: hot keys that readers read constantly while
// writers update them, bounded in time and operations.
func ccConfig(broken bool) consistency.Config {
	cfg := consistency.Config{
		Keys: ccKeys, Writers: 2, Readers: 4,
		Duration: 1500 * time.Millisecond, MaxWrites: 5000, MaxReads: 200000,
		WritePause: time.Millisecond,
	}
	if broken {
		// Without invalidation a stale read follows the first write of
		// a cached key: stop at the first few, or at the bounds.
		cfg.Duration, cfg.StopAfter = 5*time.Second, 3
	}
	return cfg
}

// ccCachedDB opens sqlDB through GORM with the plugin on a cache over st
// in namespace ns; broken drops the cache's invalidations.
func ccCachedDB(t testing.TB, sqlDB *sql.DB, st lib_store.StoreInterface, ns string, broken bool) (*gorm.DB, *core.Cache) {
	t.Helper()
	if broken {
		st = consistency.WithoutInvalidation(st)
	}
	cache, err := core.New(st, core.WithNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	db := openGorm(t, sqlDB, nil)
	if err := db.Use(hydragorm.New(cache, hydragorm.WithNamespace("t"))); err != nil {
		t.Fatal(err)
	}
	return db, cache
}

// ccSeed creates gormtarget's table and rows, without the cache.
func ccSeed(t testing.TB, sqlDB *sql.DB) {
	t.Helper()
	if err := gormtarget.Setup(context.Background(), openGorm(t, sqlDB, nil), ccKeys); err != nil {
		t.Fatal(err)
	}
}

// ccVerdict fails t unless r is what the run should give: no stale read
// (and enough checked reads to mean something), or, without invalidation,
// some.
func ccVerdict(t *testing.T, r *consistency.Report, broken bool, caches ...*core.Cache) {
	t.Helper()
	t.Log(r)
	for _, c := range caches {
		t.Logf("cache stats: %+v", c.Stats())
	}
	if r.FailedWrites+r.FailedReads > 0 {
		t.Errorf("%d writes and %d reads failed", r.FailedWrites, r.FailedReads)
	}
	if broken {
		if r.OK() {
			t.Error("without invalidation the checker found no stale read: it proves nothing")
		}
		return
	}
	if !r.OK() {
		t.Errorf("%d stale reads", len(r.Violations))
	}
	if r.Checked < 100 || r.Writes < 10 {
		t.Errorf("only %d writes and %d checked reads: the run proves little", r.Writes, r.Checked)
	}
	var hits uint64
	for _, c := range caches {
		hits += c.Stats().Hits
	}
	if hits == 0 {
		t.Error("no read was a hit: the run did not exercise the cache")
	}
}

// TestConsistencyChecker runs the consistency checker through the plugin,
// on gormtarget's table:
// in one process on the memory store, and in two processes sharing Redis
// (each writing half the keys and reading all of them), each with the
// cache's invalidations on (no stale read allowed) and dropped (the checker
// must find stale reads).
func TestConsistencyChecker(t *testing.T) {
	for _, broken := range []bool{false, true} {
		name := map[bool]string{false: "", true: "-without-invalidation"}[broken]
		t.Run("memory"+name, func(t *testing.T) {
			sqlDB, _ := testenv.Postgres(t)
			ccSeed(t, sqlDB)
			st, err := store.NewMemory()
			if err != nil {
				t.Fatal(err)
			}
			db, cache := ccCachedDB(t, sqlDB, st, testenv.Name(t), broken)
			r, err := consistency.Run(context.Background(), gormtarget.New(db), ccConfig(broken))
			if err != nil {
				t.Fatal(err)
			}
			ccVerdict(t, r, broken, cache)
		})
		t.Run("redis-two-processes"+name, func(t *testing.T) {
			sqlDB, dsn := testenv.Postgres(t)
			_, prefix := testenv.Redis(t)
			ccSeed(t, sqlDB)
			st, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(prefix))
			if err != nil {
				testenv.Unavailable(t, "Redis", err)
			}
			t.Cleanup(func() { _ = st.Close() })
			ns := testenv.Name(t)
			db, cache := ccCachedDB(t, sqlDB, st, ns, broken)

			child := consistency.StartChild(t, "TestConsistencyCheckerChild",
				"CC_DSN="+dsn, "CC_PREFIX="+prefix, "CC_NS="+ns, "CC_BROKEN="+strconv.FormatBool(broken))
			cfg := ccConfig(broken)
			cfg.WriteKeys = []int{0, 1, 2, 3}
			mine, err := consistency.Record(context.Background(), gormtarget.New(db), cfg)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := child.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if len(theirs.Writes) == 0 || len(theirs.Reads) == 0 {
				t.Errorf("the child process did %d writes and %d reads", len(theirs.Writes), len(theirs.Reads))
			}
			ccVerdict(t, consistency.Check(ccGrace, mine, theirs), broken, cache)
		})
	}
}

// TestConsistencyCheckerChild is the second process of
// TestConsistencyChecker's Redis runs; it does nothing unless that test
// started it. It writes keys 4 to 7 through the plugin on its own
// rueidis client (NewRedis, where the parent uses DialRedis) and reads all
// keys.
func TestConsistencyCheckerChild(t *testing.T) {
	if !consistency.IsChild() {
		t.Skip("the second process of TestConsistencyChecker")
	}
	sqlDB, err := sql.Open("pgx", os.Getenv("CC_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	client, err := rueidis.NewClient(testenv.RedisClientOption())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	st, err := store.NewRedis(client, store.WithPrefix(os.Getenv("CC_PREFIX")))
	if err != nil {
		t.Fatal(err)
	}
	broken := os.Getenv("CC_BROKEN") == "true"
	db, _ := ccCachedDB(t, sqlDB, st, os.Getenv("CC_NS"), broken)
	cfg := ccConfig(broken)
	cfg.WriteKeys = []int{4, 5, 6, 7}
	consistency.ChildReady()
	l, err := consistency.Record(context.Background(), gormtarget.New(db), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := consistency.ChildDone(l); err != nil {
		t.Fatal(err)
	}
}
