package bench

// Ent read benchmarks: uncached, hydraent (memory store; Redis store with a
// warm client-side cache) and ariga/entcache v0.1.0 with its LRU level, on
// the local PostgreSQL, for a Get by id, a 20-row list and an eager-loaded
// query (WithPets).
//
//	cd bench && go test -run='^$' -bench='^BenchmarkEnt' -benchmem -count=6 . | tee ent.txt && benchstat ent.txt

import (
	"context"
	stdsql "database/sql"
	"fmt"
	"os"
	"sort"
	"syscall"
	"testing"
	"time"

	"ariga.io/entcache"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	lib "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/core"
	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
	"github.com/hydracache/hydracache/plugin/ent/entschema/pet"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

type entSetup struct {
	name   string
	client *entschema.Client
}

// entSetups opens one client per contender on one seeded schema: 100
// users with 3 pets each.
func entSetups(b testing.TB) (setups []entSetup, hotID int) {
	b.Helper()
	db, _ := testenv.Postgres(b)
	base := entsql.OpenDB(dialect.Postgres, db)
	ctx := context.Background()
	raw := entschema.NewClient(entschema.Driver(base))
	if err := raw.Schema.Create(ctx); err != nil {
		b.Fatal(err)
	}
	var pid int64
	for i := range 100 {
		u := raw.User.Create().SetName(fmt.Sprintf("user%03d", i)).SetAge(20 + i%50).
			SetEmail(fmt.Sprintf("u%d@example.com", i)).SetLabels([]string{"a"}).SaveX(ctx)
		if i == 0 {
			hotID = u.ID
		}
		for j := range 3 {
			pid++
			raw.Pet.Create().SetID(pid).SetName(fmt.Sprintf("pet%d-%d", i, j)).SetOwner(u).ExecX(ctx)
		}
	}

	// hydra sets hydraent up as its documentation says: the driver, and
	// the interceptor on the client generated with hydraent's template;
	// with driverOnly, the driver alone.
	hydra := func(name string, st lib.StoreInterface, driverOnly bool) entSetup {
		cache, err := core.New(st, core.WithNamespace(testenv.Name(b)), core.WithDefaultTTL(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = cache.Close() })
		drv, err := hydraent.NewDriver(base, cache,
			hydraent.WithSchema(migrate.Tables...),
			hydraent.WithEntities(entschema.User{}, entschema.Pet{}))
		if err != nil {
			b.Fatal(err)
		}
		client := entschema.NewClient(entschema.Driver(drv))
		if !driverOnly {
			client.Intercept(drv.Interceptor())
		}
		return entSetup{name, client}
	}
	mem, err := store.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	mem2, err := store.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	rc, prefix := testenv.Redis(b)
	red, err := store.NewRedis(rc, store.WithPrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	setups = []entSetup{
		{"uncached", raw},
		hydra("hydraent-memory", mem, false),
		hydra("hydraent-redis", red, false),
		hydra("hydraent-memory-driver-only", mem2, true),
		{"entcache-lru", entschema.NewClient(entschema.Driver(entcache.NewDriver(base, entcache.Levels(entcache.NewLRU(0)))))},
	}
	return setups, hotID
}

func benchEnt(b *testing.B, read func(ctx context.Context, c *entschema.Client, hot int) error) {
	setups, hot := entSetups(b)
	ctx := context.Background()
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			// Two warm-up reads: the first fills, the second warms
			// rueidis's client-side cache.
			for range 2 {
				if err := read(ctx, s.client, hot); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := entCPU()
			n := 0
			for b.Loop() {
				if err := read(ctx, s.client, hot); err != nil {
					b.Fatal(err)
				}
				n++
			}
			// CPU time of the process per read: steadier than wall time
			// on a shared machine, and what a hit costs the service. It
			// leaves out the database server, so it flatters "uncached".
			b.ReportMetric(float64(entCPU()-start)/float64(n), "cpu-ns/op")
		})
	}
}

// entCPU returns the process's user+system CPU time.
func entCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEntGet reads one user by id.
func BenchmarkEntGet(b *testing.B) {
	benchEnt(b, func(ctx context.Context, c *entschema.Client, hot int) error {
		_, err := c.User.Get(ctx, hot)
		return err
	})
}

// BenchmarkEntList20 reads a 20-row page of users.
func BenchmarkEntList20(b *testing.B) {
	benchEnt(b, func(ctx context.Context, c *entschema.Client, hot int) error {
		us, err := c.User.Query().Where(user.AgeGTE(20)).Order(user.ByID()).Limit(20).All(ctx)
		if err == nil && len(us) != 20 {
			err = fmt.Errorf("%d rows", len(us))
		}
		return err
	})
}

// BenchmarkEntWithPets reads 5 users and eager-loads their 15 pets (two
// statements).
func BenchmarkEntWithPets(b *testing.B) {
	benchEnt(b, func(ctx context.Context, c *entschema.Client, hot int) error {
		us, err := c.User.Query().Where(user.IDLT(hot + 5)).Order(user.ByID()).
			WithPets(func(q *entschema.PetQuery) { q.Order(pet.ByID()) }).All(ctx)
		if err == nil && (len(us) != 5 || len(us[4].Edges.Pets) != 3) {
			err = fmt.Errorf("%d users", len(us))
		}
		return err
	})
}

// TestEntInterleaved measures the same reads as the benchmarks, but takes
// turns between the contenders in short rounds and reports each one's
// median CPU time per read. On a shared machine, load then stretches every
// contender alike, so the ratios hold even when absolute figures do not.
// It runs only with HYDRACACHE_BENCH_INTERLEAVE=1:
//
//	cd bench && HYDRACACHE_BENCH_INTERLEAVE=1 go test -run=TestEntInterleaved -v .
func TestEntInterleaved(t *testing.T) {
	if os.Getenv("HYDRACACHE_BENCH_INTERLEAVE") != "1" {
		t.Skip("set HYDRACACHE_BENCH_INTERLEAVE=1 to run")
	}
	reads := []struct {
		name string
		read func(ctx context.Context, c *entschema.Client, hot int) error
	}{
		{"Get", func(ctx context.Context, c *entschema.Client, hot int) error {
			_, err := c.User.Get(ctx, hot)
			return err
		}},
		{"List20", func(ctx context.Context, c *entschema.Client, hot int) error {
			_, err := c.User.Query().Where(user.AgeGTE(20)).Order(user.ByID()).Limit(20).All(ctx)
			return err
		}},
		{"WithPets", func(ctx context.Context, c *entschema.Client, hot int) error {
			_, err := c.User.Query().Where(user.IDLT(hot + 5)).Order(user.ByID()).
				WithPets(func(q *entschema.PetQuery) { q.Order(pet.ByID()) }).All(ctx)
			return err
		}},
	}
	setups, hot := entSetups(t)
	ctx := context.Background()
	const rounds, perRound = 15, 1000
	for _, r := range reads {
		samples := make([][]float64, len(setups))
		for _, s := range setups {
			for range 3 {
				if err := r.read(ctx, s.client, hot); err != nil {
					t.Fatal(err)
				}
			}
		}
		for round := range rounds {
			// Rotate who goes first: a round pays part of the GC debt
			// and cold caches its predecessor left.
			for k := range setups {
				i := (k + round) % len(setups)
				s := setups[i]
				n := perRound
				if s.name == "uncached" {
					n = perRound / 10
				}
				start := entCPU()
				for range n {
					if err := r.read(ctx, s.client, hot); err != nil {
						t.Fatal(err)
					}
				}
				samples[i] = append(samples[i], float64(entCPU()-start)/float64(n))
			}
		}
		med := make([]float64, len(setups))
		for i := range setups {
			sort.Float64s(samples[i])
			med[i] = samples[i][len(samples[i])/2]
		}
		for i, s := range setups {
			t.Logf("%-8s %-16s median %7.0f cpu-ns/read  (entcache / this = %.2f)", r.name, s.name, med[i], med[len(setups)-1]/med[i])
		}
	}
}

// BenchmarkEntDriverOnly measures the drivers alone: Query of the
// statement Ent renders for Get, and the scan of its row into the
// destinations Ent's scanner uses, with no Ent code around them. It
// separates the plugins' own cost from Ent's, which every hit pays.
func BenchmarkEntDriverOnly(b *testing.B) {
	db, _ := testenv.Postgres(b)
	base := entsql.OpenDB(dialect.Postgres, db)
	ctx := context.Background()
	raw := entschema.NewClient(entschema.Driver(base))
	if err := raw.Schema.Create(ctx); err != nil {
		b.Fatal(err)
	}
	u := raw.User.Create().SetName("x").SetAge(3).SetEmail("e").SaveX(ctx)
	st, err := store.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	cache, err := core.New(st, core.WithNamespace(testenv.Name(b)), core.WithDefaultTTL(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	defer cache.Close()
	h, err := hydraent.NewDriver(base, cache, hydraent.WithSchema(migrate.Tables...), hydraent.WithEntities(entschema.User{}))
	if err != nil {
		b.Fatal(err)
	}
	e := entcache.NewDriver(base, entcache.Levels(entcache.NewLRU(0)))
	q := `SELECT "users"."id", "users"."name", "users"."age", "users"."email", "users"."score", "users"."active", "users"."role", "users"."labels", "users"."avatar", "users"."created_at" FROM "users" WHERE "users"."id" = $1 LIMIT 2`
	for _, d := range []struct {
		name string
		drv  dialect.Driver
	}{{"hydraent-memory", h}, {"entcache-lru", e}} {
		b.Run(d.name, func(b *testing.B) {
			read := func() {
				var rows entsql.Rows
				if err := d.drv.Query(ctx, q, []any{u.ID}, &rows); err != nil {
					b.Fatal(err)
				}
				cols, err := rows.Columns()
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					dest := make([]any, len(cols))
					for i := range dest {
						dest[i] = new(stdsql.NullString)
					}
					if err := rows.Scan(dest...); err != nil {
						b.Fatal(err)
					}
				}
				if err := rows.Close(); err != nil {
					b.Fatal(err)
				}
			}
			read()
			read()
			b.ReportAllocs()
			for b.Loop() {
				read()
			}
		})
	}
}
