package gormtarget_test

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/glebarez/sqlite" // pure-Go SQLite for GORM
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/consistency"
	"github.com/hydracache/hydracache/testing/consistency/gormtarget"
)

// cachedDB opens an in-memory SQLite database through GORM with the
// HydraCache plugin on st.
func cachedDB(name string, st lib_store.StoreInterface) (*gorm.DB, error) {
	sqlDB, err := sql.Open("sqlite", "file:"+name+"?mode=memory&cache=shared")
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1) // one in-memory database, one connection
	db, err := gorm.Open(&sqlite.Dialector{Conn: sqlDB}, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, err
	}
	cache, err := core.New(st)
	if err != nil {
		return nil, err
	}
	return db, db.Use(hydragorm.New(cache, hydragorm.WithNamespace(name)))
}

// The checker through GORM and the plugin: no stale read; and on a store
// that drops the cache's invalidations, stale reads at once.
func Example() {
	ctx := context.Background()
	cfg := consistency.Config{Keys: 4, Writers: 2, Readers: 2, Duration: 300 * time.Millisecond}

	st, _ := store.NewMemory()
	db, err := cachedDB("gormtarget_ok", st)
	if err == nil {
		err = gormtarget.Setup(ctx, db, cfg.Keys)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	report, _ := consistency.Run(ctx, gormtarget.New(db), cfg)
	fmt.Println("stale reads:", len(report.Violations), "failed calls:", report.FailedWrites+report.FailedReads)

	st, _ = store.NewMemory()
	broken, _ := cachedDB("gormtarget_broken", consistency.WithoutInvalidation(st))
	_ = gormtarget.Setup(ctx, broken, cfg.Keys)
	cfg.Duration, cfg.StopAfter = 5*time.Second, 1
	report, _ = consistency.Run(ctx, gormtarget.New(broken), cfg)
	fmt.Println("without invalidation, stale reads found:", !report.OK())
	// Output:
	// stale reads: 0 failed calls: 0
	// without invalidation, stale reads found: true
}
