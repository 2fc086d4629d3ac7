package hydraent_test

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/group"
	"github.com/hydracache/hydracache/plugin/ent/entschema/pet"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
)

var intercepted atomic.Int64

func init() { hydraent.SetInterceptHook(func() { intercepted.Add(1) }) }

// recorder is a driver that keeps the last statement Ent asked it to run.
type recorder struct {
	dialect.Driver
	mu    sync.Mutex
	query string
	args  any
}

func (r *recorder) Query(ctx context.Context, q string, args, v any) error {
	r.mu.Lock()
	r.query, r.args = q, args
	r.mu.Unlock()
	return r.Driver.Query(ctx, q, args, v)
}

// plainShapes are queries the template renders, as functions of a client.
var plainShapes = []struct {
	name  string
	query func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	}
	run func(ctx context.Context, c *entschema.Client) error
}{
	{"all users", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.User.Query()
	}, func(ctx context.Context, c *entschema.Client) error { _, err := c.User.Query().All(ctx); return err }},
	{"by id, limit 2 (Get)", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.User.Query().Where(user.ID(1)).Limit(2)
	}, func(ctx context.Context, c *entschema.Client) error { _, err := c.User.Get(ctx, 1); return err }},
	{"filters, order, limit, offset", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.User.Query().Where(user.NameNEQ("x"), user.AgeGT(3)).Order(user.ByAge(), user.ByID()).Limit(20).Offset(1)
	}, func(ctx context.Context, c *entschema.Client) error {
		_, err := c.User.Query().Where(user.NameNEQ("x"), user.AgeGT(3)).Order(user.ByAge(), user.ByID()).Limit(20).Offset(1).All(ctx)
		return err
	}},
	{"offset alone", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.User.Query().Order(user.ByID()).Offset(1)
	}, func(ctx context.Context, c *entschema.Client) error {
		_, err := c.User.Query().Order(user.ByID()).Offset(1).All(ctx)
		return err
	}},
	{"edge predicate", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.User.Query().Where(user.HasPetsWith(pet.NameHasPrefix("p")))
	}, func(ctx context.Context, c *entschema.Client) error {
		_, err := c.User.Query().Where(user.HasPetsWith(pet.NameHasPrefix("p"))).All(ctx)
		return err
	}},
	{"order by neighbours count", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.User.Query().Order(user.ByPetsCount(), user.ByID())
	}, func(ctx context.Context, c *entschema.Client) error {
		_, err := c.User.Query().Order(user.ByPetsCount(), user.ByID()).All(ctx)
		return err
	}},
	{"unique", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.User.Query().Order(user.ByID()).Unique(true)
	}, func(ctx context.Context, c *entschema.Client) error {
		_, err := c.User.Query().Order(user.ByID()).Unique(true).All(ctx)
		return err
	}},
	{"pets with an owner, first", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.Pet.Query().Where(pet.HasOwner()).Order(pet.ByID()).Limit(1)
	}, func(ctx context.Context, c *entschema.Client) error {
		_, err := c.Pet.Query().Where(pet.HasOwner()).Order(pet.ByID()).First(ctx)
		return err
	}},
	{"groups through the join table", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.Group.Query().Where(group.HasUsersWith(user.AgeGTE(20)))
	}, func(ctx context.Context, c *entschema.Client) error {
		_, err := c.Group.Query().Where(group.HasUsersWith(user.AgeGTE(20))).All(ctx)
		return err
	}},
	{"id list", func(c *entschema.Client) interface {
		HydraCacheSQL(context.Context) (string, []any, bool)
	} {
		return c.User.Query().Where(user.IDIn(1, 2, 3))
	}, func(ctx context.Context, c *entschema.Client) error {
		_, err := c.User.Query().Where(user.IDIn(1, 2, 3)).All(ctx)
		return err
	}},
}

// TestTemplateRendersEntSQL: the statement the template renders is the
// one Ent itself sends to the driver, text and arguments, on both
// dialects: the interceptor changes how it is built, not what runs.
func TestTemplateRendersEntSQL(t *testing.T) {
	for _, d := range dbs[:2] {
		t.Run(d.name, func(t *testing.T) {
			dia, db := d.open(t)
			rec := &recorder{Driver: entsql.OpenDB(dia, db)}
			c := entschema.NewClient(entschema.Driver(rec))
			ctx := context.Background()
			if err := c.Schema.Create(ctx); err != nil {
				t.Fatal(err)
			}
			for _, s := range plainShapes {
				t.Run(s.name, func(t *testing.T) {
					if err := s.run(ctx, c); err != nil && !entschema.IsNotFound(err) {
						t.Fatal(err)
					}
					query, args, ok := s.query(c).HydraCacheSQL(ctx)
					if !ok {
						t.Fatal("the template did not render a plain query")
					}
					if query != rec.query || !reflect.DeepEqual(any(args), rec.args) {
						t.Fatalf("rendered\n  %s %v\nEnt ran\n  %s %v", query, args, rec.query, rec.args)
					}
				})
			}
		})
	}
}

// TestInterceptorAnswers: plain queries are answered by the interceptor;
// the others (eager loading, edge traversal, field selection, locks,
// transactions, IDs and counts) go to Ent.
func TestInterceptorAnswers(t *testing.T) {
	e := newEnv(t, postgresDB, nil)
	e.seed(t)
	ctx := context.Background()
	u := e.cached.User.Query().Order(user.ByID()).FirstX(ctx)
	cases := []struct {
		name string
		want bool
		run  func() error
	}{
		{"Get", true, func() error { _, err := e.cached.User.Get(ctx, u.ID); return err }},
		{"All", true, func() error { _, err := e.cached.User.Query().All(ctx); return err }},
		{"Only", true, func() error { _, err := e.cached.User.Query().Where(user.ID(u.ID)).Only(ctx); return err }},
		{"First", true, func() error { _, err := e.cached.Pet.Query().Order(pet.ByID()).First(ctx); return err }},
		{"WithPets", false, func() error { _, err := e.cached.User.Query().WithPets().All(ctx); return err }},
		{"QueryPets", false, func() error { _, err := u.QueryPets().All(ctx); return err }},
		{"Select", false, func() error { _, err := e.cached.User.Query().Select(user.FieldName).Strings(ctx); return err }},
		{"Select fields into entities", false, func() error {
			_, err := e.cached.User.Query().Select(user.FieldName).All(ctx)
			return err
		}},
		{"IDs", false, func() error { _, err := e.cached.User.Query().IDs(ctx); return err }},
		{"Count", false, func() error { _, err := e.cached.User.Query().Count(ctx); return err }},
		{"Exist", false, func() error { _, err := e.cached.User.Query().Exist(ctx); return err }},
		{"in a transaction", false, func() error {
			tx, err := e.cached.Tx(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			_, err = tx.User.Query().All(ctx)
			return err
		}},
		{"ForUpdate", false, func() error {
			tx, err := e.cached.Tx(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			_, err = tx.User.Query().ForUpdate().All(ctx)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := intercepted.Load()
			if err := c.run(); err != nil {
				t.Fatal(err)
			}
			if got := intercepted.Load() > before; got != c.want {
				t.Fatalf("answered by the interceptor: %v, want %v", got, c.want)
			}
		})
	}
}

// TestInterceptorNotInnermost: with an interceptor after hydraent's (as a
// schema's own Interceptors are), the query goes to Ent, and what the
// inner interceptor adds (here a predicate) is in the answer.
func TestInterceptorNotInnermost(t *testing.T) {
	e := newEnvMode(t, postgresDB, nil, memoryStore(t), true)
	e.seed(t)
	ctx := context.Background()
	onlyFirst := entschema.InterceptFunc(func(next entschema.Querier) entschema.Querier {
		return entschema.QuerierFunc(func(ctx context.Context, q entschema.Query) (entschema.Value, error) {
			if uq, ok := q.(*entschema.UserQuery); ok {
				uq.Where(user.NameEQ("ada"))
			}
			return next.Query(ctx, q)
		})
	})
	e.cached.Intercept(e.drv.Interceptor(), onlyFirst)
	before := intercepted.Load()
	for range 2 { // cold, then warm
		us, err := e.cached.User.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != 1 || us[0].Name != "ada" {
			t.Fatalf("got %d users, want only ada: the inner interceptor's predicate was lost", len(us))
		}
	}
	if n := intercepted.Load() - before; n != 0 {
		t.Fatalf("%d queries answered by hydraent's interceptor while another came after it", n)
	}
}
