package hydraent_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	lib "github.com/eko/gocache/lib/v4/store"
	_ "github.com/glebarez/go-sqlite" // registers "sqlite"

	"github.com/hydracache/hydracache/core"
	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// counter counts the statements that reach the database, under the cache.
type counter struct {
	dialect.Driver
	mu    sync.Mutex
	stmts []string
}

func (c *counter) note(q string) {
	if strings.Contains(q, "pg_catalog.") || strings.Contains(q, "sqlite_master") || strings.Contains(q, "sqlite_version()") {
		return // the driver's own catalog reads, not the application's
	}
	c.mu.Lock()
	c.stmts = append(c.stmts, q)
	c.mu.Unlock()
}

func (c *counter) Exec(ctx context.Context, q string, args, v any) error {
	c.note(q)
	return c.Driver.Exec(ctx, q, args, v)
}

func (c *counter) Query(ctx context.Context, q string, args, v any) error {
	c.note(q)
	return c.Driver.Query(ctx, q, args, v)
}

func (c *counter) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &countTx{Tx: tx, c: c}, nil
}

func (c *counter) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := c.Driver.(*entsql.Driver).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countTx{Tx: tx, c: c}, nil
}

func (c *counter) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.note(q)
	return c.Driver.(*entsql.Driver).ExecContext(ctx, q, args...)
}

func (c *counter) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.note(q)
	return c.Driver.(*entsql.Driver).QueryContext(ctx, q, args...)
}

type countTx struct {
	dialect.Tx
	c *counter
}

func (t *countTx) Exec(ctx context.Context, q string, args, v any) error {
	t.c.note(q)
	return t.Tx.Exec(ctx, q, args, v)
}

func (t *countTx) Query(ctx context.Context, q string, args, v any) error {
	t.c.note(q)
	return t.Tx.Query(ctx, q, args, v)
}

// n returns the number of statements since the last call, and their text.
func (c *counter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts
	c.stmts = nil
	return s
}

// env is one database with two clients on it: raw (no cache) and cached.
type env struct {
	name   string
	raw    *entschema.Client
	cached *entschema.Client
	drv    *hydraent.Driver
	cache  *core.Cache
	count  *counter
}

type opener func(t *testing.T) (string, *sql.DB)

func postgresDB(t *testing.T) (string, *sql.DB) {
	db, _ := testenv.Postgres(t)
	return dialect.Postgres, db
}

func sqliteDB(t *testing.T) (string, *sql.DB) {
	path := filepath.Join(t.TempDir(), "ent.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return dialect.SQLite, db
}

// dbs are the databases the tests run on, each with the cached client set
// up as the package documentation says (driver and interceptor) and with
// the driver alone (clients generated without hydraent's template).
var dbs = []struct {
	name       string
	open       opener
	driverOnly bool
}{
	{"postgres", postgresDB, false},
	{"sqlite", sqliteDB, false},
	{"postgres/driver-only", postgresDB, true},
	{"sqlite/driver-only", sqliteDB, true},
}

// forEachDB runs f on PostgreSQL and SQLite, with and without the
// interceptor.
func forEachDB(t *testing.T, f func(t *testing.T, e *env)) {
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			f(t, newEnvMode(t, d.open, nil, memoryStore(t), d.driverOnly))
		})
	}
}

func newEnv(t *testing.T, open opener, opts []hydraent.Option) *env {
	t.Helper()
	return newEnvStore(t, open, opts, memoryStore(t))
}

func memoryStore(t *testing.T) lib.StoreInterface {
	st, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func redisStore(t *testing.T) lib.StoreInterface {
	client, prefix := testenv.Redis(t)
	st, err := store.NewRedis(client, store.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newEnvStore(t *testing.T, open opener, opts []hydraent.Option, st lib.StoreInterface) *env {
	t.Helper()
	return newEnvMode(t, open, opts, st, false)
}

// newEnvMode is newEnvStore, with the interceptor on the cached client
// unless driverOnly.
func newEnvMode(t *testing.T, open opener, opts []hydraent.Option, st lib.StoreInterface, driverOnly bool) *env {
	t.Helper()
	dia, db := open(t)
	cache, err := core.New(st, core.WithNamespace(strings.ReplaceAll(t.Name(), "/", "_")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	base := entsql.OpenDB(dia, db)
	cnt := &counter{Driver: base}
	if opts == nil {
		opts = []hydraent.Option{
			hydraent.WithSchema(migrate.Tables...),
			hydraent.WithEntities(entschema.User{}, entschema.Pet{}, entschema.Group{}, entschema.Setting{}),
		}
	}
	drv, err := hydraent.NewDriver(cnt, cache, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		name:   dia,
		raw:    entschema.NewClient(entschema.Driver(base)),
		cached: entschema.NewClient(entschema.Driver(drv)),
		drv:    drv,
		cache:  cache,
		count:  cnt,
	}
	if !driverOnly {
		e.cached.Intercept(drv.Interceptor())
	}
	ctx := context.Background()
	before := cache.Stats()
	if err := e.cached.Schema.Create(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if after := cache.Stats(); after.Hits != before.Hits || after.Misses != before.Misses || after.Loads != before.Loads {
		t.Fatalf("migration used the cache: before %+v after %+v", before, after)
	}
	e.count.take()
	return e
}

// seed fills the database through the raw client: 3 users, pets, groups.
func (e *env) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c := e.raw
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	email := "ada@example.com"
	u1 := c.User.Create().SetName("ada").SetAge(36).SetEmail(email).SetScore(1.5).SetLabels([]string{"a", "b"}).SetAvatar([]byte{0, 1, 2}).SetCreatedAt(at).SaveX(ctx)
	u2 := c.User.Create().SetName("bob").SetAge(20).SetActive(false).SetRole("admin").SetCreatedAt(at.Add(time.Hour)).SaveX(ctx)
	u3 := c.User.Create().SetName("cy").SetAge(50).SetCreatedAt(at.Add(2 * time.Hour)).SaveX(ctx)
	c.Pet.CreateBulk(
		c.Pet.Create().SetID(1).SetName("rex").SetOwner(u1),
		c.Pet.Create().SetID(2).SetName("tom").SetOwner(u1),
		c.Pet.Create().SetID(3).SetName("kit").SetOwner(u2),
		c.Pet.Create().SetID(4).SetName("stray"),
	).SaveX(ctx)
	c.Group.Create().SetName("admins").AddUsers(u1, u2).SaveX(ctx)
	c.Group.Create().SetName("all").AddUsers(u1, u2, u3).SaveX(ctx)
	c.Setting.Create().SetID("theme").SetValue("dark").SaveX(ctx)
}

// equal compares two results field by field, exported fields only (an
// entity's config differs between clients), with times compared by
// instant and location.
func equal(a, b any) error {
	return equalValue(reflect.ValueOf(a), reflect.ValueOf(b), "result")
}

var timeType = reflect.TypeFor[time.Time]()

func equalValue(a, b reflect.Value, path string) error {
	if a.IsValid() != b.IsValid() {
		return fmt.Errorf("%s: validity %v vs %v", path, a.IsValid(), b.IsValid())
	}
	if !a.IsValid() {
		return nil
	}
	if a.Type() != b.Type() {
		return fmt.Errorf("%s: type %v vs %v", path, a.Type(), b.Type())
	}
	if a.Type() == timeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		if !ta.Equal(tb) || ta.Location().String() != tb.Location().String() {
			return fmt.Errorf("%s: %v vs %v", path, ta, tb)
		}
		return nil
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() != b.IsNil() {
			return fmt.Errorf("%s: nil %v vs %v", path, a.IsNil(), b.IsNil())
		}
		if a.IsNil() {
			return nil
		}
		return equalValue(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return fmt.Errorf("%s: nil slice %v vs %v", path, a.IsNil(), b.IsNil())
		}
		fallthrough
	case reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Errorf("%s: len %d vs %d", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if err := equalValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if a.Len() != b.Len() {
			return fmt.Errorf("%s: len %d vs %d", path, a.Len(), b.Len())
		}
		for _, k := range a.MapKeys() {
			if err := equalValue(a.MapIndex(k), b.MapIndex(k), fmt.Sprintf("%s[%v]", path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if err := equalValue(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); err != nil {
				return err
			}
		}
		return nil
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Errorf("%s: %#v vs %#v", path, a.Interface(), b.Interface())
	}
	return nil
}
