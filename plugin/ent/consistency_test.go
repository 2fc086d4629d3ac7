package hydraent_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/core"
	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/consistency"
	"github.com/hydracache/hydracache/testing/testenv"
)

// The consistency checker's rows are users 1 to ccKeys; a user's age is
// the version (Ent's int is 64 bits here).
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

// entTarget writes users' ages and reads them through the cached client:
// every fourth read is a query with a predicate on the id (a collection
// entry), the others are Get (an entity entry).
func entTarget(client *entschema.Client) consistency.Target {
	var n atomic.Int64
	return consistency.Funcs{
		WriteFunc: func(ctx context.Context, key int, v int64) error {
			return client.User.UpdateOneID(key + 1).SetAge(int(v)).Exec(ctx)
		},
		ReadFunc: func(ctx context.Context, key int) (int64, error) {
			var u *entschema.User
			var err error
			if n.Add(1)%4 == 0 {
				u, err = client.User.Query().Where(user.ID(key + 1)).Only(ctx)
			} else {
				u, err = client.User.Get(ctx, key+1)
			}
			if err != nil {
				return 0, err
			}
			return int64(u.Age), nil
		},
	}
}

// ccClient opens an Ent client on sqlDB through hydraent with a cache over
// st in namespace ns; broken drops the cache's invalidations.
func ccClient(t testing.TB, sqlDB *sql.DB, st lib_store.StoreInterface, ns string, broken bool) (*entschema.Client, *core.Cache) {
	t.Helper()
	if broken {
		st = consistency.WithoutInvalidation(st)
	}
	cache, err := core.New(st, core.WithNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	drv, err := hydraent.OpenDB(dialect.Postgres, sqlDB, cache,
		hydraent.WithSchema(migrate.Tables...), hydraent.WithEntities(entschema.User{}))
	if err != nil {
		t.Fatal(err)
	}
	return entschema.NewClient(entschema.Driver(drv)), cache
}

// ccSeed creates the schema and users 1 to ccKeys, age 0, without the
// cache.
func ccSeed(t testing.TB, sqlDB *sql.DB) {
	t.Helper()
	ctx := context.Background()
	raw := entschema.NewClient(entschema.Driver(entsql.OpenDB(dialect.Postgres, sqlDB)))
	if err := raw.Schema.Create(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= ccKeys; i++ {
		u, err := raw.User.Create().SetName(fmt.Sprintf("u%d", i)).SetAge(0).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != i {
			t.Fatalf("user %d got id %d", i, u.ID)
		}
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

// TestConsistencyChecker runs the consistency checker through the driver
// on PostgreSQL: in one process on the memory store, and in two processes
// sharing Redis (each writing half the keys and reading all of them), each
// with the cache's invalidations on (no stale read allowed) and dropped
// (the checker must find stale reads).
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
			client, cache := ccClient(t, sqlDB, st, testenv.Name(t), broken)
			r, err := consistency.Run(context.Background(), entTarget(client), ccConfig(broken))
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
			client, cache := ccClient(t, sqlDB, st, ns, broken)

			child := consistency.StartChild(t, "TestConsistencyCheckerChild",
				"CC_DSN="+dsn, "CC_PREFIX="+prefix, "CC_NS="+ns, "CC_BROKEN="+strconv.FormatBool(broken))
			cfg := ccConfig(broken)
			cfg.WriteKeys = []int{0, 1, 2, 3}
			mine, err := consistency.Record(context.Background(), entTarget(client), cfg)
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
// started it. It writes keys 4 to 7 through the driver on its own rueidis
// client (NewRedis, where the parent uses DialRedis) and reads all keys.
func TestConsistencyCheckerChild(t *testing.T) {
	if !consistency.IsChild() {
		t.Skip("the second process of TestConsistencyChecker")
	}
	sqlDB, err := sql.Open("pgx", os.Getenv("CC_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	rc, err := rueidis.NewClient(testenv.RedisClientOption())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	st, err := store.NewRedis(rc, store.WithPrefix(os.Getenv("CC_PREFIX")))
	if err != nil {
		t.Fatal(err)
	}
	broken := os.Getenv("CC_BROKEN") == "true"
	client, _ := ccClient(t, sqlDB, st, os.Getenv("CC_NS"), broken)
	cfg := ccConfig(broken)
	cfg.WriteKeys = []int{4, 5, 6, 7}
	consistency.ChildReady()
	l, err := consistency.Record(context.Background(), entTarget(client), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := consistency.ChildDone(l); err != nil {
		t.Fatal(err)
	}
}
