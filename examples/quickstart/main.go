// Command quickstart shows HydraCache's GORM plugin at work with nothing to
// set up: an embedded SQLite database and the in-memory store. It reads a
// product by key and a list (misses), reads them again (hits), updates the
// product (the commit bumps its tags), and reads once more (the reloads),
// printing how many statements reached the database at each step.
//
// With HYDRACACHE_POSTGRES_DSN set it uses PostgreSQL instead of SQLite,
// and with HYDRACACHE_REDIS_ADDR set the Redis store instead of memory.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"sync/atomic"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/glebarez/sqlite" // pure-Go SQLite for GORM
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/rueidis"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
)

// Product opts in to caching: one method returning its policy.
type Product struct {
	ID    uint
	Code  string
	Price int
}

// TableName keeps the example's table apart from an application's.
func (Product) TableName() string { return "quickstart_products" }

// CachePolicy caches products for ten minutes.
func (Product) CachePolicy() core.Policy { return core.Policy{TTL: 10 * time.Minute} }

// statements counts the statements that reached the database.
var statements atomic.Int64

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	db, dbName, err := openDB()
	if err != nil {
		return err
	}
	st, storeName, err := openStore()
	if err != nil {
		return err
	}
	cache, err := core.New(st, core.WithNamespace("quickstart"))
	if err != nil {
		return err
	}
	defer cache.Close()
	// Start from a clean namespace when the store outlives this run (Redis).
	if err := cache.Flush(ctx); err != nil {
		return err
	}
	// The one line: every read of a cached model goes through the cache,
	// every committed write invalidates what it changed.
	if err := db.Use(hydragorm.New(cache, hydragorm.WithNamespace("quickstart"))); err != nil {
		return err
	}
	fmt.Printf("database: %s, store: %s\n\n", dbName, storeName)

	if err := db.Migrator().DropTable(&Product{}); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	if err := db.AutoMigrate(&Product{}); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	if err := db.Create([]Product{{Code: "tea", Price: 4}, {Code: "cake", Price: 6}, {Code: "pie", Price: 12}}).Error; err != nil {
		return fmt.Errorf("set up: %w", err)
	}

	base := cache.Stats() // the set-up's writes bumped tags too: count from here
	step := func(what string, f func() (string, error)) error {
		before := statements.Load()
		got, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Printf("%-46s %-16s statements to the database: %d\n", what, got, statements.Load()-before)
		return nil
	}
	byKey := func() (string, error) {
		var p Product
		err := db.First(&p, 1).Error
		return fmt.Sprintf("%s costs %d", p.Code, p.Price), err
	}
	list := func() (string, error) {
		var ps []Product
		err := db.Where("price < ?", 10).Order("price").Find(&ps).Error
		return fmt.Sprintf("%d under 10", len(ps)), err
	}
	steps := []struct {
		what string
		f    func() (string, error)
	}{
		{"1. First(&p, 1) (cold cache: a miss)", byKey},
		{"2. First(&p, 1) again (a hit)", byKey},
		{"3. Where(price < 10).Find (a miss)", list},
		{"4. Where(price < 10).Find again (a hit)", list},
		{"5. Update tea's price to 15 (commit bumps)", func() (string, error) {
			err := db.Model(&Product{ID: 1}).Update("price", 15).Error
			return "(committed)", err
		}},
		{"6. First(&p, 1) (invalidated: a reload)", byKey},
		{"7. Where(price < 10).Find (a reload)", list},
		{"8. First(&p, 1) again (a hit)", byKey},
	}
	for _, s := range steps {
		if err := step(s.what, s.f); err != nil {
			return err
		}
	}

	s := cache.Stats()
	fmt.Printf("\ncache stats for the steps: hits=%d misses=%d loads=%d bumps=%d store errors=%d\n",
		s.Hits-base.Hits, s.Misses-base.Misses, s.Loads-base.Loads, s.Bumps-base.Bumps, s.StoreErrors-base.StoreErrors)
	return db.Migrator().DropTable(&Product{})
}

func openDB() (*gorm.DB, string, error) {
	cfg := &gorm.Config{Logger: logger.Discard}
	if dsn := os.Getenv("HYDRACACHE_POSTGRES_DSN"); dsn != "" {
		sqlDB, err := sql.Open("pgx", dsn)
		if err == nil {
			err = sqlDB.Ping()
		}
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL (HYDRACACHE_POSTGRES_DSN): %w", err)
		}
		db, err := gorm.Open(postgres.New(postgres.Config{Conn: counting{sqlDB}}), cfg)
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, "PostgreSQL", nil
	}
	sqlDB, err := sql.Open("sqlite", "file::memory:?cache=shared")
	if err != nil {
		return nil, "", fmt.Errorf("open SQLite: %w", err)
	}
	sqlDB.SetMaxOpenConns(1) // one in-memory database, one connection
	db, err := gorm.Open(&sqlite.Dialector{Conn: counting{sqlDB}}, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("open SQLite: %w", err)
	}
	return db, "SQLite (embedded, in memory)", nil
}

func openStore() (lib_store.StoreInterface, string, error) {
	if addr := os.Getenv("HYDRACACHE_REDIS_ADDR"); addr != "" {
		client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
		if err != nil {
			return nil, "", fmt.Errorf("connect Redis (HYDRACACHE_REDIS_ADDR): %w", err)
		}
		st, err := store.NewRedis(client, store.WithPrefix("hydracache-quickstart:"))
		if err != nil {
			return nil, "", err
		}
		return st, "Redis at " + addr + " (client-side caching)", nil
	}
	st, err := store.NewMemory(store.WithMaxBytes(16 << 20))
	if err != nil {
		return nil, "", err
	}
	return st, "memory (16 MiB)", nil
}

// counting is the database handle GORM gets: it counts every statement
// that reaches the database, transactions included.
type counting struct{ db *sql.DB }

func (c counting) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return c.db.PrepareContext(ctx, q)
}

func (c counting) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	statements.Add(1)
	return c.db.ExecContext(ctx, q, args...)
}

func (c counting) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	statements.Add(1)
	return c.db.QueryContext(ctx, q, args...)
}

func (c counting) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	statements.Add(1)
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c counting) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return countingTx{tx}, nil
}

func (c counting) GetDBConn() (*sql.DB, error) { return c.db, nil }

func (c counting) Ping() error { return c.db.Ping() }

type countingTx struct{ *sql.Tx }

func (t countingTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	statements.Add(1)
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t countingTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	statements.Add(1)
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t countingTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	statements.Add(1)
	return t.Tx.QueryRowContext(ctx, q, args...)
}
