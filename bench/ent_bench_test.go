package bench

// Ent read benchmarks: uncached, hydraent (memory store; Redis store with a
// warm client-side cache) and ariga/entcache v0.1.0 with its LRU level, on
// the local PostgreSQL, for a Get by id, a 20-row list and an eager-loaded
// query (WithPets).
//
//	cd bench && go test -run='^$' -bench='^BenchmarkEnt' -benchmem -count=6 . | tee ent.txt && benchstat ent.txt

import (
	"context"
	"fmt"
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
func entSetups(b *testing.B) (setups []entSetup, hotID int) {
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

	hydra := func(name string, st lib.StoreInterface) entSetup {
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
		return entSetup{name, entschema.NewClient(entschema.Driver(drv))}
	}
	mem, err := store.NewMemory()
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
		hydra("hydraent-memory", mem),
		hydra("hydraent-redis", red),
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
			for b.Loop() {
				if err := read(ctx, s.client, hot); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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
