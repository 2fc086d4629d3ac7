// Command ent shows hydraent, HydraCache's Ent plugin, with nothing to set
// up: an embedded SQLite database and the in-memory store. It reads a user
// by id, a list, and users with their pets eager-loaded (misses), reads
// them again (hits), renames the user and moves a pet (the commits bump
// their tags), reads once more (reloads), and shows that a rolled-back
// transaction publishes nothing. Each step prints how many statements
// reached the database.
//
// With HYDRACACHE_POSTGRES_DSN set it uses PostgreSQL (in a schema of its
// own, dropped at the end) instead of SQLite, and with HYDRACACHE_REDIS_ADDR
// set the Redis store instead of memory.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	lib_store "github.com/eko/gocache/lib/v4/store"
	_ "github.com/glebarez/go-sqlite" // pure-Go SQLite, driver "sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/core"
	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
	"github.com/hydracache/hydracache/plugin/ent/entschema/pet"
	"github.com/hydracache/hydracache/plugin/ent/entschema/user"
	"github.com/hydracache/hydracache/store"
)

// pgSchema keeps the example's tables apart from anything else on the
// server.
const pgSchema = "hydraent_example"

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// counting counts the statements that reach the database.
type counting struct {
	dialect.Driver
	n atomic.Int64
}

func (c *counting) Exec(ctx context.Context, q string, args, v any) error {
	c.n.Add(1)
	return c.Driver.Exec(ctx, q, args, v)
}

func (c *counting) Query(ctx context.Context, q string, args, v any) error {
	c.n.Add(1)
	return c.Driver.Query(ctx, q, args, v)
}

func (c *counting) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, n: &c.n}, nil
}

// BeginTx keeps client.BeginTx working through the counter.
func (c *counting) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := c.Driver.(*entsql.Driver).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, n: &c.n}, nil
}

type countingTx struct {
	dialect.Tx
	n *atomic.Int64
}

func (t *countingTx) Exec(ctx context.Context, q string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Exec(ctx, q, args, v)
}

func (t *countingTx) Query(ctx context.Context, q string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Query(ctx, q, args, v)
}

func run(ctx context.Context) error {
	base, dbName, cleanup, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	st, storeName, err := openStore()
	if err != nil {
		return err
	}
	cache, err := core.New(st, core.WithNamespace("example-ent"))
	if err != nil {
		return err
	}
	defer cache.Close()
	// Start from a clean namespace when the store outlives this run (Redis).
	if err := cache.Flush(ctx); err != nil {
		return err
	}

	// The install: wrap the driver, name the schema and the cached types.
	counter := &counting{Driver: base}
	drv, err := hydraent.NewDriver(counter, cache,
		hydraent.WithSchema(migrate.Tables...),
		hydraent.WithEntities(entschema.User{}, entschema.Pet{}, entschema.Group{}))
	if err != nil {
		return err
	}
	client := entschema.NewClient(entschema.Driver(drv))
	// entschema is generated with hydraent's template: plain queries skip
	// Ent's column quoting and go through the same driver.
	client.Intercept(drv.Interceptor())
	fmt.Printf("database: %s, store: %s\n\n", dbName, storeName)

	if err := client.Schema.Create(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	ada, err := client.User.Create().SetName("Ada").SetAge(36).Save(ctx)
	if err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	bob, err := client.User.Create().SetName("Bob").SetAge(41).Save(ctx)
	if err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	if err := client.Pet.CreateBulk(
		client.Pet.Create().SetID(1).SetName("Rex").SetOwner(ada),
		client.Pet.Create().SetID(2).SetName("Tom").SetOwner(ada),
		client.Pet.Create().SetID(3).SetName("Kit").SetOwner(bob),
	).Exec(ctx); err != nil {
		return fmt.Errorf("set up: %w", err)
	}

	step := func(what string, f func() (string, error)) error {
		before := counter.n.Load()
		got, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Printf("%-44s %-22s statements to the database: %d\n", what, got, counter.n.Load()-before)
		return nil
	}
	get := func() (string, error) {
		u, err := client.User.Get(ctx, ada.ID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s, %d", u.Name, u.Age), nil
	}
	list := func() (string, error) {
		us, err := client.User.Query().Where(user.AgeGT(30)).Order(user.ByName()).All(ctx)
		return fmt.Sprintf("%d over 30", len(us)), err
	}
	eager := func() (string, error) {
		us, err := client.User.Query().Order(user.ByID()).WithPets(func(q *entschema.PetQuery) { q.Order(pet.ByID()) }).All(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("pets: %d and %d", len(us[0].Edges.Pets), len(us[1].Edges.Pets)), nil
	}
	steps := []struct {
		what string
		f    func() (string, error)
	}{
		{"1. User.Get(ada) (cold cache: a miss)", get},
		{"2. User.Get(ada) again (a hit)", get},
		{"3. Query().Where(age > 30) (a miss)", list},
		{"4. the same list again (a hit)", list},
		{"5. WithPets (two statements, misses)", eager},
		{"6. WithPets again (hits)", eager},
		{"7. UpdateOneID(ada).SetName (commit bumps)", func() (string, error) {
			return "(committed)", client.User.UpdateOneID(ada.ID).SetName("Ada L.").Exec(ctx)
		}},
		{"8. User.Get(ada) (invalidated: a reload)", get},
		{"9. the list (invalidated: a reload)", list},
		{"10. move Kit to Ada in a transaction", func() (string, error) {
			tx, err := client.Tx(ctx)
			if err != nil {
				return "", err
			}
			if err := tx.Pet.UpdateOneID(3).SetOwnerID(ada.ID).Exec(ctx); err != nil {
				return "", errors.Join(err, tx.Rollback())
			}
			return "(committed)", tx.Commit()
		}},
		{"11. WithPets (both invalidated: reloads)", eager},
		{"12. rename Bob, then roll back", func() (string, error) {
			tx, err := client.Tx(ctx)
			if err != nil {
				return "", err
			}
			if err := tx.User.UpdateOneID(bob.ID).SetName("nobody").Exec(ctx); err != nil {
				return "", errors.Join(err, tx.Rollback())
			}
			return "(rolled back)", tx.Rollback()
		}},
		{"13. WithPets (nothing published: hits)", eager},
		{"14. User.Get(ada) again (a hit)", get},
	}
	for _, s := range steps {
		if err := step(s.what, s.f); err != nil {
			return err
		}
	}
	s := cache.Stats()
	fmt.Printf("\ncache stats: hits=%d misses=%d loads=%d bumps=%d store errors=%d\n",
		s.Hits, s.Misses, s.Loads, s.Bumps, s.StoreErrors)
	return nil
}

// openDB opens SQLite in memory, or PostgreSQL in a schema of its own when
// HYDRACACHE_POSTGRES_DSN is set.
func openDB(ctx context.Context) (dialect.Driver, string, func(), error) {
	if dsn := os.Getenv("HYDRACACHE_POSTGRES_DSN"); dsn != "" {
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, "", nil, err
		}
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+pgSchema+` CASCADE; CREATE SCHEMA `+pgSchema); err != nil {
			_ = admin.Close()
			return nil, "", nil, fmt.Errorf("create schema: %w", err)
		}
		db, err := sql.Open("pgx", withSearchPath(dsn, pgSchema))
		if err != nil {
			_ = admin.Close()
			return nil, "", nil, err
		}
		cleanup := func() {
			_ = db.Close()
			if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA IF EXISTS `+pgSchema+` CASCADE`); err != nil {
				log.Printf("drop schema %s: %v", pgSchema, err)
			}
			_ = admin.Close()
		}
		return entsql.OpenDB(dialect.Postgres, db), "PostgreSQL", cleanup, nil
	}
	db, err := sql.Open("sqlite", "file:hydraent-example?mode=memory&cache=shared&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, "", nil, err
	}
	db.SetMaxOpenConns(1) // one in-memory database, one connection
	return entsql.OpenDB(dialect.SQLite, db), "SQLite (in memory)", func() { _ = db.Close() }, nil
}

// withSearchPath adds search_path to a URL or key/value DSN.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " search_path=" + schema
}

// openStore returns the memory store, or the Redis store when
// HYDRACACHE_REDIS_ADDR is set.
func openStore() (lib_store.StoreInterface, string, error) {
	if addr := os.Getenv("HYDRACACHE_REDIS_ADDR"); addr != "" {
		client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
		if err != nil {
			return nil, "", fmt.Errorf("redis: %w", err)
		}
		st, err := store.NewRedis(client, store.WithPrefix("hydracache-example-ent:"))
		if err != nil {
			return nil, "", err
		}
		return st, "Redis at " + addr, nil
	}
	st, err := store.NewMemory()
	return st, "memory", err
}
