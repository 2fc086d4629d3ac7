// Command quickstart shows HydraCache at work with nothing to set up: an
// embedded SQLite database and the in-memory store. It reads a row (a
// miss), reads it again (a hit), updates it in a transaction whose commit
// bumps the row's tag, and reads it once more (the reload), printing how
// many statements reached the database at each step.
//
// With HYDRACACHE_POSTGRES_DSN set it uses PostgreSQL instead of SQLite,
// and with HYDRACACHE_REDIS_ADDR set the Redis store instead of memory.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync/atomic"

	lib_store "github.com/eko/gocache/lib/v4/store"
	_ "github.com/glebarez/go-sqlite" // pure-Go SQLite, driver "sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
)

// statements counts the queries that reached the database.
var statements atomic.Int64

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	db, dbName, placeholder, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
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
	fmt.Printf("database: %s, store: %s\n\n", dbName, storeName)

	for _, q := range []string{
		`DROP TABLE IF EXISTS quickstart_users`,
		`CREATE TABLE quickstart_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
		`INSERT INTO quickstart_users (id, name) VALUES (1, 'Ada')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("set up: %w", err)
		}
	}

	// The read: a row by primary key through an entity descriptor. The
	// loader runs the SELECT and records its rows; a hit replays them as a
	// real *sql.Rows.
	byID := `SELECT id, name FROM quickstart_users WHERE id = ` + placeholder
	read := func(id int64) (string, error) {
		d := core.Entity("quickstart_users", strconv.FormatInt(id, 10))
		raw, err := cache.Fetch(ctx, d, func(ctx context.Context) ([]byte, error) {
			statements.Add(1)
			rows, err := db.QueryContext(ctx, byID, id)
			if err != nil {
				return nil, err
			}
			rs, err := rowset.Record(rows)
			if err != nil {
				return nil, err
			}
			if rs.Len() == 0 {
				return nil, core.ErrNotFound
			}
			return rs.MarshalBinary()
		})
		if err != nil {
			return "", err
		}
		var rs rowset.RowSet
		if err := rs.UnmarshalBinary(raw); err != nil {
			return "", err
		}
		rows, err := rs.Rows(ctx)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		var gotID int64
		var name string
		if !rows.Next() {
			return "", errors.New("no row")
		}
		if err := rows.Scan(&gotID, &name); err != nil {
			return "", err
		}
		return name, rows.Err()
	}

	step := func(what string, f func() (string, error)) error {
		before := statements.Load()
		got, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Printf("%-44s %-14s statements to the database: %d\n", what, got, statements.Load()-before)
		return nil
	}

	if err := step("1. read user 1 (cold cache: a miss)", func() (string, error) { return read(1) }); err != nil {
		return err
	}
	if err := step("2. read user 1 again (a hit)", func() (string, error) { return read(1) }); err != nil {
		return err
	}
	if err := step("3. rename user 1 in a transaction", func() (string, error) {
		tags := cache.NewTxBuffer()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		statements.Add(1)
		if _, err := tx.ExecContext(ctx, `UPDATE quickstart_users SET name = 'Grace' WHERE id = 1`); err != nil {
			_ = tx.Rollback()
			tags.Rollback()
			return "", err
		}
		// The plugins do this for you: the write's tags are collected in
		// the transaction and bumped only after the commit.
		if err := tags.Add(ctx, keys.EntityTag("quickstart_users", "1"), keys.TableTag("quickstart_users")); err != nil {
			return "", err
		}
		if err := tx.Commit(); err != nil {
			tags.Rollback()
			return "", err
		}
		return "(committed)", tags.Commit(ctx)
	}); err != nil {
		return err
	}
	if err := step("4. read user 1 (invalidated: a reload)", func() (string, error) { return read(1) }); err != nil {
		return err
	}
	if err := step("5. read user 1 again (a hit)", func() (string, error) { return read(1) }); err != nil {
		return err
	}

	s := cache.Stats()
	fmt.Printf("\ncache stats: hits=%d misses=%d loads=%d bumps=%d store errors=%d\n",
		s.Hits, s.Misses, s.Loads, s.Bumps, s.StoreErrors)
	_, err = db.ExecContext(ctx, `DROP TABLE quickstart_users`)
	return err
}

func openDB() (db *sql.DB, name, placeholder string, err error) {
	if dsn := os.Getenv("HYDRACACHE_POSTGRES_DSN"); dsn != "" {
		db, err = sql.Open("pgx", dsn)
		if err == nil {
			err = db.Ping()
		}
		if err != nil {
			return nil, "", "", fmt.Errorf("open PostgreSQL (HYDRACACHE_POSTGRES_DSN): %w", err)
		}
		return db, "PostgreSQL", "$1", nil
	}
	db, err = sql.Open("sqlite", "file:quickstart?mode=memory&cache=shared")
	if err != nil {
		return nil, "", "", fmt.Errorf("open SQLite: %w", err)
	}
	db.SetMaxOpenConns(1) // one in-memory database, one connection
	return db, "SQLite (embedded, in memory)", "?", nil
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
