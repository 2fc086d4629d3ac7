package hydraent_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschemapkg "entgo.io/ent/dialect/sql/schema"

	"github.com/hydracache/hydracache/core"
	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
	"github.com/hydracache/hydracache/plugin/ent/entschema/pet"
	"github.com/hydracache/hydracache/plugin/ent/entschema/predicate"
	"github.com/hydracache/hydracache/plugin/ent/entschema/setting"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
)

// allTables caches every table and gives the driver no schema: what it
// knows of foreign keys it learns from the database's catalog.
var allTables = []hydraent.Option{hydraent.WithAllTables(core.Policy{})}

// secondReadStatements runs read twice and returns the statements the
// second run sent.
func secondReadStatements(t *testing.T, e *env, read func(ctx context.Context) error) int {
	t.Helper()
	ctx := context.Background()
	if err := read(ctx); err != nil {
		t.Fatalf("first read: %v", err)
	}
	e.count.take()
	if err := read(ctx); err != nil {
		t.Fatalf("second read: %v", err)
	}
	return len(e.count.take())
}

// TestEntVolatileReadsNotCached: the Ent twin of GORM's test.
func TestEntVolatileReadsNotCached(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		where := func(expr string) predicate.User {
			return predicate.User(func(s *entsql.Selector) { s.Where(entsql.ExprP(expr)) })
		}
		cases := []struct {
			name   string
			read   func(ctx context.Context) error
			cached bool
		}{
			{"count", func(ctx context.Context) error { _, err := e.cached.User.Query().Count(ctx); return err }, true},
			{"current_timestamp", func(ctx context.Context) error {
				_, err := e.cached.User.Query().Where(where("created_at <= CURRENT_TIMESTAMP")).All(ctx)
				return err
			}, false},
			{"random order", func(ctx context.Context) error {
				_, err := e.cached.User.Query().Order(func(s *entsql.Selector) { s.OrderExpr(entsql.Expr("RANDOM()")) }).All(ctx)
				return err
			}, false},
		}
		for _, c := range cases {
			if n := secondReadStatements(t, e, c.read); (n == 0) != c.cached {
				t.Errorf("%s: second read sent %d statements, cached %v", c.name, n, c.cached)
			}
		}
		if n := secondReadStatements(t, e, func(ctx context.Context) error {
			_, err := e.cached.User.Query().Order(func(s *entsql.Selector) { s.OrderExpr(entsql.Expr("RANDOM()")) }).All(core.WithVolatile(ctx))
			return err
		}); n != 0 {
			t.Errorf("WithVolatile: second read sent %d statements", n)
		}
	})
}

// TestEntRawWritesBump: a write through the driver's raw QueryContext
// (UPDATE ... RETURNING, a data-modifying CTE) bumps what it wrote, and
// runs once.
func TestEntRawWritesBump(t *testing.T) {
	for _, d := range dbs[:2] {
		t.Run(d.name, func(t *testing.T) {
			e := newEnv(t, d.open, nil)
			e.seed(t)
			ctx := context.Background()
			id := firstUserID(ctx, e.raw)
			ph := "?"
			if e.name == dialect.Postgres {
				ph = "$1"
			}
			writes := []string{"UPDATE users SET age = age + 1 WHERE id = " + ph + " RETURNING id"}
			if e.name == dialect.Postgres {
				writes = append(writes, "WITH u AS (UPDATE users SET age = age + 1 WHERE id = $1 RETURNING *) SELECT id FROM u")
			}
			want := 36
			for _, q := range writes {
				if u := e.cached.User.GetX(ctx, id); u.Age != want {
					t.Fatalf("%s: before: age %d, want %d", q, u.Age, want)
				}
				rows, err := e.drv.QueryContext(ctx, q, id)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
				}
				_ = rows.Close()
				want++
				if u := e.cached.User.GetX(ctx, id); u.Age != want {
					t.Errorf("%s: after: age %d, want %d (stale, or the write ran twice)", q, u.Age, want)
					want = u.Age
				}
			}
		})
	}
}

// TestEntCascadesFromCatalog: without WithSchema the driver knows pets'
// ON DELETE SET NULL from the catalog, and a DELETE no longer flushes
// the namespace: an unrelated table's entries stay hits.
func TestEntCascadesFromCatalog(t *testing.T) {
	for _, d := range dbs[:2] {
		t.Run(d.name, func(t *testing.T) {
			e := newEnv(t, d.open, allTables)
			e.seed(t)
			ctx := context.Background()
			id := firstUserID(ctx, e.raw)
			owned := func() int {
				return e.cached.Pet.Query().Where(pet.OwnerIDIsNil()).CountX(ctx)
			}
			before := owned()
			e.cached.Setting.GetX(ctx, "theme") // warm
			if _, err := e.cached.User.Delete().Where(user.ID(id)).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			e.count.take()
			e.cached.Setting.GetX(ctx, "theme")
			if n := len(e.count.take()); n != 0 {
				t.Errorf("a DELETE flushed the namespace: the setting read sent %d statements", n)
			}
			if after, want := owned(), before+2; after != want {
				t.Errorf("pets without owner after the delete: %d, want %d (ON DELETE SET NULL not seen)", after, want)
			}
		})
	}
}

// TestEntKeySpellings: a read by key spelled '0100' caches under the key
// 100, so the create of pet 100 is seen.
func TestEntKeySpellings(t *testing.T) {
	for _, d := range dbs[:2] {
		t.Run(d.name, func(t *testing.T) {
			e := newEnv(t, d.open, nil)
			ctx := context.Background()
			q := "SELECT id, name FROM pets WHERE id = ?"
			if e.name == dialect.Postgres {
				q = "SELECT id, name FROM pets WHERE id = $1"
			}
			names := func(arg any) []string {
				var rows entsql.Rows
				if err := e.drv.Query(ctx, q, []any{arg}, &rows); err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var id int64
					var name string
					if err := rows.Scan(&id, &name); err != nil {
						t.Fatal(err)
					}
					out = append(out, name)
				}
				return out
			}
			for _, arg := range []any{"0100", 100, "100"} {
				if got := names(arg); len(got) != 0 {
					t.Fatalf("%v before create: %v", arg, got)
				}
			}
			e.cached.Pet.Create().SetID(100).SetName("hundred").SaveX(ctx)
			for _, arg := range []any{"0100", 100, "100"} {
				if got := names(arg); !reflect.DeepEqual(got, []string{"hundred"}) {
					t.Errorf("%v after create: %v", arg, got)
				}
			}
		})
	}
}

// keeper is a Scanner that keeps the bytes it is given (an Ent
// field.Bytes(...).GoType(...)).
type keeper struct{ b []byte }

func (k *keeper) Scan(src any) error {
	k.b, _ = src.([]byte)
	return nil
}

// TestEntCachedBytesAreTheCallers: a caller mutating the bytes its Scanner
// kept changes nothing a later hit returns.
func TestEntCachedBytesAreTheCallers(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		q := "SELECT avatar FROM users WHERE name = ?"
		if e.name == dialect.Postgres {
			q = "SELECT avatar FROM users WHERE name = $1"
		}
		for i := range 3 {
			var rows entsql.Rows
			if err := e.drv.Query(ctx, q, []any{"ada"}, &rows); err != nil {
				t.Fatal(err)
			}
			if !rows.Next() {
				t.Fatal("no row")
			}
			var k keeper
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			_ = rows.Close()
			if string(k.b) != "\x00\x01\x02" {
				t.Fatalf("read %d: %q: an earlier caller's change reached it", i, k.b)
			}
			for j := range k.b {
				k.b[j] = 'X'
			}
		}
	})
}

// panicky's CachePolicy panics.
type panicky struct{}

func (panicky) CachePolicy() core.Policy { panic("policy exploded") }
func (panicky) CacheTable() string       { return "users" }

// TestEntPanickingPolicy: a CachePolicy that panics is a configuration
// error, not a crash.
func TestEntPanickingPolicy(t *testing.T) {
	e := newEnv(t, sqliteDB, nil)
	_, err := hydraent.NewDriver(e.drv.Unwrap(), e.cache, hydraent.WithEntities(panicky{}))
	if !errors.Is(err, hydraent.ErrConfig) {
		t.Fatalf("NewDriver: %v, want ErrConfig", err)
	}
}

// TestEntMultiKeyOrder: IN lookups come back in the database's order,
// cold and warm, for integer and text keys.
func TestEntMultiKeyOrder(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		for _, id := range []string{"m", "x", "a"} {
			e.raw.Setting.Create().SetID(id).SetValue(id).SaveX(ctx)
		}
		ids := e.raw.User.Query().IDsX(ctx)
		in := []int{ids[2], ids[0], ids[1]}
		for round := range 2 {
			want := e.raw.User.Query().Where(user.IDIn(in...)).IDsX(ctx)
			got := e.cached.User.Query().Where(user.IDIn(in...)).IDsX(ctx)
			gotAll := e.cached.User.Query().Where(user.IDIn(in...)).AllX(ctx)
			if !reflect.DeepEqual(got, want) || len(gotAll) != len(want) {
				t.Errorf("round %d, integer keys: %v, want %v", round, got, want)
			}
			for i, u := range gotAll {
				if u.ID != want[i] {
					t.Errorf("round %d, integer keys (All): %d at %d, want %d", round, u.ID, i, want[i])
				}
			}
			wantS := fmt.Sprint(e.raw.Setting.Query().Where(setting.IDIn("x", "a", "m")).IDsX(ctx))
			gotS := fmt.Sprint(e.cached.Setting.Query().Where(setting.IDIn("x", "a", "m")).IDsX(ctx))
			if gotS != wantS {
				t.Errorf("round %d, text keys: %v, want %v", round, gotS, wantS)
			}
		}
	})
}

// TestEntMigrationHookGetsSQLTx: Ent's documented apply hook, which
// asserts a *sql.Tx, works through the driver (Ent's migrate test).
func TestEntMigrationHookGetsSQLTx(t *testing.T) {
	dia, db := postgresDB(t)
	cache, err := core.New(memoryStore(t), core.WithNamespace(t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	drv, err := hydraent.NewDriver(entsql.OpenDB(dia, db), cache, hydraent.WithSchema(migrate.Tables...))
	if err != nil {
		t.Fatal(err)
	}
	client := entschema.NewClient(entschema.Driver(drv))
	ctx := context.Background()
	called := false
	err = client.Schema.Create(ctx, entschemapkg.WithApplyHook(func(next entschemapkg.Applier) entschemapkg.Applier {
		return entschemapkg.ApplyFunc(func(ctx context.Context, conn dialect.ExecQuerier, plan *atlasmigrate.Plan) error {
			tx, ok := conn.(*entsql.Tx)
			if !ok {
				return fmt.Errorf("conn is %T, not *sql.Tx", conn)
			}
			called = true
			c := entsql.Conn{ExecQuerier: tx}
			if err := c.Exec(ctx, "SELECT 1", []any{}, nil); err != nil {
				return err
			}
			return next.Apply(ctx, conn, plan)
		})
	}))
	if err != nil || !called {
		t.Fatalf("migrate with a hook: %v (hook called: %v)", err, called)
	}
}

// TestEntCancelledContext: a cancelled context gives the database path's
// error, warm cache or not.
func TestEntCancelledContext(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t)
		ctx := context.Background()
		e.cached.User.Query().Where(user.AgeGT(1)).AllX(ctx) // warm
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, werr := e.raw.User.Query().Where(user.AgeGT(1)).All(cctx)
		_, gerr := e.cached.User.Query().Where(user.AgeGT(1)).All(cctx)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !errors.Is(gerr, context.Canceled) {
			t.Errorf("cancelled: %v; the database path gives %v", gerr, werr)
		}
	})
}
