package hydraent

import (
	"context"
	"database/sql"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/internal/catalog"
)

// catalogTimeout bounds one load of the database's catalog.
const catalogTimeout = 5 * time.Second

// openCatalog sets up the driver's view of the database's schema, read
// through the wrapped driver outside any transaction.
//
// Through the *sql.DB of an entsql.Driver when it is one: the catalog reads
// are the driver's, not the application's statements.
func (d *Driver) openCatalog() {
	if sd, ok := d.drv.(*entsql.Driver); ok {
		if db, ok := sd.ExecQuerier.(*sql.DB); ok {
			d.catalog = catalog.New(d.sqlDialect, func(ctx context.Context, q string, args ...any) (catalog.Rows, error) {
				return db.QueryContext(ctx, q, args...)
			}, nil)
			return
		}
	}
	d.catalog = catalog.New(d.sqlDialect, func(ctx context.Context, q string, args ...any) (catalog.Rows, error) {
		var rows entsql.Rows
		if err := d.drv.Query(ctx, q, args, &rows); err != nil {
			return nil, err
		}
		return rows.ColumnScanner, nil
	}, nil)
}

// refreshSchema brings the catalog view up to date with the cache's flush
// version. It is called only where the caller holds no connection (before
// a transaction begins, before a write outside one).
func (d *Driver) refreshSchema(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), catalogTimeout)
	defer cancel()
	v, err := d.cache.FlushVersion(ctx)
	if err != nil {
		return // the store is failing: keep what is known
	}
	if _, err := d.catalog.Refresh(ctx, v); err != nil {
		d.warn("catalog", "hydraent: cannot read the database's catalog; cascades are known from WithSchema only", "err", err)
	}
}

// schemaForRead returns the catalog view for a read and the flush version
// it was loaded under, loading it if it never was or this process's DDL
// made it stale ("" when no fresh one could be had).
func (d *Driver) schemaForRead(ctx context.Context) (*catalog.Snapshot, string) {
	if s, v := d.catalog.Loaded(); s != nil && v != "" {
		return s, v
	}
	d.refreshSchema(ctx)
	return d.catalog.Loaded()
}

// readable reports whether a SELECT may be answered from the cache: no
// lock, no system catalog, some table, and an answer that cannot change
// without a write, unless the call allows volatile reads.
func (d *Driver) readable(ctx context.Context, s *stmt, argv []any) bool {
	if s.Lock || s.Catalog || len(s.Reads) == 0 {
		return false
	}
	if catalog.Volatile(d.sqlDialect, s.Statement, argv, func() *catalog.Snapshot { snap, _ := d.schemaForRead(ctx); return snap }) {
		return core.VolatileAllowed(ctx)
	}
	return true
}

// warnings limits the driver's own warnings to one per kind a minute.
type warnings struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// warn logs msg through the Cache's logger, at most once a minute for key.
func (d *Driver) warn(key, msg string, args ...any) {
	w := &d.warnings
	now := time.Now()
	w.mu.Lock()
	if w.last == nil {
		w.last = make(map[string]time.Time)
	}
	if t, ok := w.last[key]; ok && now.Sub(t) < time.Minute {
		w.mu.Unlock()
		return
	}
	w.last[key] = now
	w.mu.Unlock()
	d.cache.Logger().Warn(msg, args...)
}
