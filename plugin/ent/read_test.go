package hydraent_test

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/google/uuid"

	"github.com/hydracache/hydracache/core"
	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/group"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
	"github.com/hydracache/hydracache/plugin/ent/entschema/pet"
	"github.com/hydracache/hydracache/plugin/ent/entschema/setting"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
)

// shape is one read, run on a client.
type shape struct {
	name string
	run  func(ctx context.Context, c *entschema.Client) (any, error)
}

func firstUserID(ctx context.Context, c *entschema.Client) int {
	return c.User.Query().Where(user.Name("ada")).OnlyIDX(ctx)
}

func groupID(ctx context.Context, c *entschema.Client, name string) uuid.UUID {
	return c.Group.Query().Where(group.Name(name)).OnlyIDX(ctx)
}

func readShapes(ids func() (int, uuid.UUID)) []shape {
	return []shape{
		{"Get", func(ctx context.Context, c *entschema.Client) (any, error) {
			id, _ := ids()
			return c.User.Get(ctx, id)
		}},
		{"GetMissing", func(ctx context.Context, c *entschema.Client) (any, error) {
			_, err := c.User.Get(ctx, 999999)
			return entschema.IsNotFound(err), nil
		}},
		{"GetInt64Pet", func(ctx context.Context, c *entschema.Client) (any, error) { return c.Pet.Get(ctx, 3) }},
		{"GetUUIDGroup", func(ctx context.Context, c *entschema.Client) (any, error) {
			_, g := ids()
			return c.Group.Get(ctx, g)
		}},
		{"GetStringSetting", func(ctx context.Context, c *entschema.Client) (any, error) { return c.Setting.Get(ctx, "theme") }},
		{"OnlyByID", func(ctx context.Context, c *entschema.Client) (any, error) {
			id, _ := ids()
			return c.User.Query().Where(user.ID(id)).Only(ctx)
		}},
		{"FirstByID", func(ctx context.Context, c *entschema.Client) (any, error) {
			id, _ := ids()
			return c.User.Query().Where(user.ID(id)).First(ctx)
		}},
		{"IDIn", func(ctx context.Context, c *entschema.Client) (any, error) {
			id, _ := ids()
			us, err := c.User.Query().Where(user.IDIn(id, id+1, 999999)).All(ctx)
			sort.Slice(us, func(i, j int) bool { return us[i].ID < us[j].ID })
			return us, err
		}},
		{"IDInPets", func(ctx context.Context, c *entschema.Client) (any, error) {
			ps, err := c.Pet.Query().Where(pet.IDIn(4, 1, 2)).All(ctx)
			sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
			return ps, err
		}},
		{"IDInGroups", func(ctx context.Context, c *entschema.Client) (any, error) {
			_, g := ids()
			return c.Group.Query().Where(group.IDIn(g, uuid.MustParse("00000000-0000-4000-8000-000000000001"))).All(ctx)
		}},
		{"IDInSettings", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.Setting.Query().Where(setting.IDIn("theme", "nope")).All(ctx)
		}},
		{"List", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.User.Query().Where(user.AgeGT(10)).Order(user.ByName()).Limit(20).All(ctx)
		}},
		{"Count", func(ctx context.Context, c *entschema.Client) (any, error) { return c.User.Query().Count(ctx) }},
		{"Exist", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.User.Query().Where(user.Name("bob")).Exist(ctx)
		}},
		{"IDs", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.User.Query().Order(user.ByID()).IDs(ctx)
		}},
		{"SelectScan", func(ctx context.Context, c *entschema.Client) (any, error) {
			var v []struct {
				Name string `json:"name"`
				Age  int    `json:"age"`
			}
			err := c.User.Query().Order(user.ByName()).Select(user.FieldName, user.FieldAge).Scan(ctx, &v)
			return v, err
		}},
		{"SelectStrings", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.User.Query().Order(user.ByName()).Select(user.FieldName).Strings(ctx)
		}},
		{"Aggregate", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.User.Query().Aggregate(entschema.Sum(user.FieldAge)).Int(ctx)
		}},
		{"GroupBy", func(ctx context.Context, c *entschema.Client) (any, error) {
			var v []struct {
				Role  string `json:"role"`
				Count int    `json:"count"`
			}
			err := c.User.Query().Order(user.ByRole()).GroupBy(user.FieldRole).Aggregate(entschema.Count()).Scan(ctx, &v)
			return v, err
		}},
		{"EdgeO2M", func(ctx context.Context, c *entschema.Client) (any, error) {
			id, _ := ids()
			return c.User.Query().Where(user.ID(id)).QueryPets().Order(pet.ByID()).All(ctx)
		}},
		{"EdgeM2M", func(ctx context.Context, c *entschema.Client) (any, error) {
			id, _ := ids()
			return c.User.Query().Where(user.ID(id)).QueryGroups().Order(group.ByName()).All(ctx)
		}},
		{"EdgeFromEntity", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.Pet.Query().Where(pet.ID(3)).QueryOwner().Only(ctx)
		}},
		{"WithPets", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.User.Query().Order(user.ByID()).WithPets(func(q *entschema.PetQuery) { q.Order(pet.ByID()) }).All(ctx)
		}},
		{"WithGroups", func(ctx context.Context, c *entschema.Client) (any, error) {
			us, err := c.User.Query().Order(user.ByID()).WithGroups(func(q *entschema.GroupQuery) { q.Order(group.ByName()) }).All(ctx)
			return us, err
		}},
		{"WithOwner", func(ctx context.Context, c *entschema.Client) (any, error) {
			return c.Pet.Query().Order(pet.ByID()).WithOwner().All(ctx)
		}},
	}
}

// TestDifferential runs every read shape without the plugin, then with it
// cold and warm: the results must be equal, and the warm read must reach
// the database with no statement at all.
func TestDifferential(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		uid := firstUserID(ctx, e.raw)
		gid := groupID(ctx, e.raw, "admins")
		ids := func() (int, uuid.UUID) { return uid, gid }
		for _, s := range readShapes(ids) {
			t.Run(s.name, func(t *testing.T) {
				want, werr := s.run(ctx, e.raw)
				e.count.take()
				cold, cerr := s.run(ctx, e.cached)
				coldStmts := e.count.take()
				warm, herr := s.run(ctx, e.cached)
				warmStmts := e.count.take()
				if (werr == nil) != (cerr == nil) || (werr == nil) != (herr == nil) {
					t.Fatalf("errors differ: raw %v, cold %v, warm %v", werr, cerr, herr)
				}
				if err := equal(want, cold); err != nil {
					t.Errorf("cold read differs: %v", err)
				}
				if err := equal(want, warm); err != nil {
					t.Errorf("warm read differs: %v", err)
				}
				// Only and First by id share Get's entity entries.
				if len(coldStmts) == 0 && s.name != "OnlyByID" && s.name != "FirstByID" {
					t.Errorf("cold read ran no statement")
				}
				if len(warmStmts) != 0 {
					t.Errorf("warm read ran %d statements: %q", len(warmStmts), warmStmts)
				}
			})
		}
	})
}

// TestDifferentialRedis runs the differential on PostgreSQL with the Redis
// store, whose hits come from rueidis's client-side cache.
func TestDifferentialRedis(t *testing.T) {
	e := newEnvStore(t, postgresDB, nil, redisStore(t))
	e.seed(t)
	ctx := context.Background()
	uid := firstUserID(ctx, e.raw)
	gid := groupID(ctx, e.raw, "admins")
	ids := func() (int, uuid.UUID) { return uid, gid }
	for _, s := range readShapes(ids) {
		want, _ := s.run(ctx, e.raw)
		s.run(ctx, e.cached)
		e.count.take()
		got, _ := s.run(ctx, e.cached)
		if n := len(e.count.take()); n != 0 {
			t.Errorf("%s: warm read ran %d statements", s.name, n)
		}
		if err := equal(want, got); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
	// A write through the cached client is seen at once.
	e.cached.User.UpdateOneID(uid).SetName("renamed").ExecX(ctx)
	if n := e.cached.User.GetX(ctx, uid).Name; n != "renamed" {
		t.Fatalf("after update: %q", n)
	}
}

// TestAllTables caches every table without per-type opt-in.
func TestAllTables(t *testing.T) {
	e := newEnv(t, sqliteDB, []hydraent.Option{hydraent.WithSchema(migrate.Tables...), hydraent.WithAllTables(core.Policy{})})
	e.seed(t)
	ctx := context.Background()
	e.cached.Setting.GetX(ctx, "theme")
	e.cached.Group.Query().WithUsers().AllX(ctx)
	e.count.take()
	e.cached.Setting.GetX(ctx, "theme")
	e.cached.Group.Query().WithUsers().AllX(ctx)
	if s := e.count.take(); len(s) != 0 {
		t.Fatalf("warm reads ran %q", s)
	}
}

// TestOptIn leaves tables that did not opt in uncached.
func TestOptIn(t *testing.T) {
	e := newEnv(t, sqliteDB, []hydraent.Option{hydraent.WithSchema(migrate.Tables...), hydraent.WithEntities(entschema.User{})})
	e.seed(t)
	ctx := context.Background()
	for range 2 {
		e.cached.Setting.GetX(ctx, "theme")
		e.cached.User.Query().WithPets().AllX(ctx) // users cached, pets not
	}
	if s := e.count.take(); len(s) != 5 {
		t.Fatalf("want 5 statements (2 settings, 1 user list, 2 pet lists), got %d: %q", len(s), s)
	}
	if _, err := hydraent.NewDriver(e.drv.Unwrap(), e.cache, hydraent.WithSchema(migrate.Tables...), hydraent.WithEntities(unknownEntity{})); err == nil {
		t.Fatal("an entity whose table the schema lacks was accepted")
	}
}

type unknownEntity struct{}

func (unknownEntity) CachePolicy() core.Policy { return core.Policy{} }

// TestKeyReadsShareRows shows IDIn loading only the rows Get did not.
func TestKeyReadsShareRows(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		id := firstUserID(ctx, e.raw)
		e.cached.User.GetX(ctx, id)
		e.count.take()
		us := e.cached.User.Query().Where(user.IDIn(id, id+1)).AllX(ctx)
		stmts := e.count.take()
		if len(us) != 2 || len(stmts) != 1 {
			t.Fatalf("got %d users with %d statements %q", len(us), len(stmts), stmts)
		}
		// First and Only by id use the rows Get cached.
		e.cached.User.Query().Where(user.ID(id + 1)).FirstX(ctx)
		e.cached.User.Query().Where(user.ID(id)).OnlyX(ctx)
		if s := e.count.take(); len(s) != 0 {
			t.Fatalf("key reads after IDIn ran %q", s)
		}
	})
}

// TestCachedEntityIsWhole uses an entity that came from the cache as any
// other: its edges and its update builder work.
func TestCachedEntityIsWhole(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		id := firstUserID(ctx, e.raw)
		e.cached.User.GetX(ctx, id)
		u := e.cached.User.GetX(ctx, id) // a hit
		if s := e.count.take(); len(s) != 1 {
			t.Fatalf("two Gets ran %d statements", len(s))
		}
		if n := len(u.QueryPets().AllX(ctx)); n != 2 {
			t.Fatalf("cached user has %d pets", n)
		}
		u2 := u.Update().SetAge(37).SaveX(ctx)
		if u2.Age != 37 || e.cached.User.GetX(ctx, id).Age != 37 {
			t.Fatalf("update through a cached entity not seen")
		}
	})
}

// TestCallModes checks the per-call context modes.
func TestCallModes(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		id := firstUserID(ctx, e.raw)
		if _, err := e.cached.User.Get(core.WithCacheOnly(ctx), id); !errors.Is(err, core.ErrCacheMiss) {
			t.Fatalf("cache-only cold read: %v", err)
		}
		e.count.take()
		e.cached.User.GetX(ctx, id)
		e.cached.User.GetX(core.WithBypass(ctx), id)
		e.cached.User.GetX(core.WithRefresh(ctx), id)
		if s := e.count.take(); len(s) != 3 {
			t.Fatalf("fill, bypass, refresh ran %d statements", len(s))
		}
		if b := e.cache.Stats().Bypassed; b != 1 {
			t.Fatalf("%d bypassed reads counted, want 1", b)
		}
		e.cached.User.GetX(core.WithCacheOnly(ctx), id)
		e.cached.User.Query().CountX(core.WithTTL(ctx, 1))
		e.cached.User.Query().CountX(ctx) // filled with a 1ns TTL: a miss
		if s := e.count.take(); len(s) != 2 {
			t.Fatalf("cache-only hit and TTL override ran %d statements, want 2", len(s))
		}
	})
}

// TestNotCached lists reads that never use the cache.
func TestNotCached(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		id := firstUserID(ctx, e.raw)
		twice := func(name string, f func()) {
			t.Helper()
			e.count.take()
			f()
			f()
			if s := e.count.take(); len(s) < 2 {
				t.Errorf("%s: %d statements for two reads", name, len(s))
			}
		}
		twice("in a transaction", func() {
			tx, err := e.cached.Tx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tx.User.GetX(ctx, id)
			_ = tx.Commit()
		})
		if e.name == "postgres" {
			twice("locking", func() {
				e.cached.User.Query().Where(user.ID(id)).ForUpdate().OnlyX(ctx)
			})
		}
		before := e.cache.Stats()
		if err := e.cached.Schema.Create(ctx); err != nil {
			t.Fatal(err)
		}
		if after := e.cache.Stats(); after.Hits+after.Misses != before.Hits+before.Misses {
			t.Errorf("migration read the cache")
		}
	})
}

// TestPolicies: a policy's extra tags reach both entry kinds, and
// SkipLists keeps lists out of the cache but not key reads.
func TestPolicies(t *testing.T) {
	e := newEnv(t, sqliteDB, []hydraent.Option{
		hydraent.WithSchema(migrate.Tables...),
		hydraent.WithTable("users", core.Policy{Tags: []string{"app-users"}}),
		hydraent.WithTable("pets", core.Policy{SkipLists: true}),
	})
	e.seed(t)
	ctx := context.Background()
	id := firstUserID(ctx, e.raw)
	reads := func() int {
		e.count.take()
		e.cached.User.GetX(ctx, id)
		e.cached.User.Query().CountX(ctx)
		return len(e.count.take())
	}
	reads()
	if n := reads(); n != 0 {
		t.Fatalf("warm reads ran %d statements", n)
	}
	if err := e.cache.InvalidateTags(ctx, "app-users"); err != nil {
		t.Fatal(err)
	}
	if n := reads(); n != 2 {
		t.Fatalf("after bumping the policy tag: %d statements, want 2", n)
	}
	e.cached.Pet.GetX(ctx, 1)
	e.cached.Pet.Query().AllX(ctx)
	e.count.take()
	e.cached.Pet.GetX(ctx, 1)
	e.cached.Pet.Query().AllX(ctx)
	if s := e.count.take(); len(s) != 1 {
		t.Fatalf("SkipLists: want only the list to run, got %q", s)
	}
}
