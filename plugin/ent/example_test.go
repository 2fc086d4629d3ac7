package hydraent_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/hydracache/hydracache/core"
	hydraent "github.com/hydracache/hydracache/plugin/ent"
	"github.com/hydracache/hydracache/plugin/ent/entschema"
	"github.com/hydracache/hydracache/plugin/ent/entschema/migrate"
	"github.com/hydracache/hydracache/store"
)

// openExample opens an in-memory SQLite database (foreign keys on, as Ent
// needs) and a Cache on the memory store.
func openExample(name string) (*sql.DB, *core.Cache) {
	db, err := sql.Open("sqlite", "file:"+name+"?mode=memory&cache=shared&_pragma=foreign_keys(1)")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	st, err := store.NewMemory()
	if err != nil {
		log.Fatal(err)
	}
	cache, err := core.New(st, core.WithNamespace(name))
	if err != nil {
		log.Fatal(err)
	}
	return db, cache
}

// Wrap the driver, then use the client as always: a read by id is loaded
// once, served from the cache, and reloaded after a write commits.
func Example() {
	ctx := context.Background()
	db, cache := openExample("hydraent-example")
	defer db.Close()
	defer cache.Close()

	drv, err := hydraent.OpenDB(dialect.SQLite, db, cache,
		hydraent.WithSchema(migrate.Tables...),
		hydraent.WithEntities(entschema.User{}, entschema.Pet{}))
	if err != nil {
		log.Fatal(err)
	}
	client := entschema.NewClient(entschema.Driver(drv))
	if err := client.Schema.Create(ctx); err != nil {
		log.Fatal(err)
	}
	ada := client.User.Create().SetName("Ada").SetAge(36).SaveX(ctx)

	for range 2 {
		fmt.Println(client.User.GetX(ctx, ada.ID).Name)
	}
	s := cache.Stats()
	fmt.Printf("hits %d, misses %d\n", s.Hits, s.Misses)

	client.User.UpdateOneID(ada.ID).SetName("Grace").ExecX(ctx)
	u := client.User.GetX(ctx, ada.ID)
	fmt.Println(u.Name)

	// A cached entity is a whole one: its edges and updates work.
	fmt.Println(len(u.QueryPets().AllX(ctx)), "pets")
	// Output:
	// Ada
	// Ada
	// hits 1, misses 1
	// Grace
	// 0 pets
}

// A transaction's writes are published when it commits; a rollback
// publishes nothing, and the cached row stays valid.
func ExampleDriver_Tx() {
	ctx := context.Background()
	db, cache := openExample("hydraent-example-tx")
	defer db.Close()
	defer cache.Close()

	drv, err := hydraent.NewDriver(entsql.OpenDB(dialect.SQLite, db), cache,
		hydraent.WithSchema(migrate.Tables...),
		hydraent.WithEntities(entschema.User{}))
	if err != nil {
		log.Fatal(err)
	}
	client := entschema.NewClient(entschema.Driver(drv))
	if err := client.Schema.Create(ctx); err != nil {
		log.Fatal(err)
	}
	id := client.User.Create().SetName("Ada").SetAge(36).SaveX(ctx).ID
	client.User.GetX(ctx, id) // fills the cache

	rename := func(name string, commit bool) {
		tx, err := client.Tx(ctx)
		if err != nil {
			log.Fatal(err)
		}
		tx.User.UpdateOneID(id).SetName(name).ExecX(ctx)
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			log.Fatal(err)
		}
	}

	rename("Bob", false)
	before := cache.Stats().Misses
	fmt.Println(client.User.GetX(ctx, id).Name, "- misses:", cache.Stats().Misses-before)

	rename("Grace", true)
	fmt.Println(client.User.GetX(ctx, id).Name, "- misses:", cache.Stats().Misses-before)
	// Output:
	// Ada - misses: 0
	// Grace - misses: 1
}

// Per-call modes travel in the context.
func ExampleNewDriver_callModes() {
	ctx := context.Background()
	db, cache := openExample("hydraent-example-modes")
	defer db.Close()
	defer cache.Close()

	drv, err := hydraent.NewDriver(entsql.OpenDB(dialect.SQLite, db), cache,
		hydraent.WithSchema(migrate.Tables...),
		hydraent.WithAllTables(core.Policy{}))
	if err != nil {
		log.Fatal(err)
	}
	client := entschema.NewClient(entschema.Driver(drv))
	if err := client.Schema.Create(ctx); err != nil {
		log.Fatal(err)
	}
	client.Setting.Create().SetID("theme").SetValue("dark").ExecX(ctx)

	_, err = client.Setting.Get(core.WithCacheOnly(ctx), "theme")
	fmt.Println("cache-only before any read:", err != nil)
	client.Setting.GetX(ctx, "theme")
	fmt.Println("cache-only after a read:", client.Setting.GetX(core.WithCacheOnly(ctx), "theme").Value)
	// A write behind the plugin's back (raw SQL on the *sql.DB) is not
	// seen by cached reads; bypass reads the database, refresh reloads
	// the entry.
	if _, err := db.ExecContext(ctx, "UPDATE settings SET value = 'light'"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("cached:", client.Setting.GetX(ctx, "theme").Value)
	fmt.Println("bypass:", client.Setting.GetX(core.WithBypass(ctx), "theme").Value)
	fmt.Println("cached:", client.Setting.GetX(ctx, "theme").Value)
	fmt.Println("refresh:", client.Setting.GetX(core.WithRefresh(ctx), "theme").Value)
	fmt.Println("cached:", client.Setting.GetX(ctx, "theme").Value)
	// Output:
	// cache-only before any read: true
	// cache-only after a read: dark
	// cached: dark
	// bypass: light
	// cached: dark
	// refresh: light
	// cached: light
}
