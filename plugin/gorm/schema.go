package hydragorm

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/internal/catalog"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/internal/valuetag"
)

// catalogTimeout bounds one load of the database's catalog.
const catalogTimeout = 5 * time.Second

// openCatalog sets up the plugin's view of the database's schema, read
// outside any transaction: through the *sql.DB under pool when it has one
// (the catalog reads are the plugin's, not the application's statements),
// else through pool.
func (p *Plugin) openCatalog(pool gorm.ConnPool) {
	q := pool.QueryContext
	if c, ok := pool.(gorm.GetDBConnector); ok {
		if db, err := c.GetDBConn(); err == nil && db != nil {
			q = db.QueryContext
		}
	} else if db, ok := pool.(*sql.DB); ok {
		q = db.QueryContext
	}
	p.catalog = catalog.New(p.sqlDialect, func(ctx context.Context, query string, args ...any) (catalog.Rows, error) {
		return q(ctx, query, args...)
	}, strings.ToLower)
}

// refreshSchema brings the catalog view up to date with the cache's flush
// version (which the DDL every plugin sees moves). It is called only where
// the caller holds no connection (a transaction's begin, a write outside
// one), so that a load can take one of its own even from a pool of one.
func (p *Plugin) refreshSchema(ctx context.Context) {
	if p.catalog == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), catalogTimeout)
	defer cancel()
	v, err := p.cache.FlushVersion(ctx)
	if err != nil {
		return // the store is failing: keep what is known
	}
	if _, err := p.catalog.Refresh(ctx, v); err != nil {
		p.warn("catalog", "hydragorm: cannot read the database's catalog; cascades are known from models only", "err", err)
	}
}

// schemaForRead returns the catalog view for a read and the flush version
// it was loaded under, loading it if it never was or this process's DDL
// made it stale ("" when no fresh one could be had).
func (p *Plugin) schemaForRead(ctx context.Context) (*catalog.Snapshot, string) {
	if p.catalog == nil {
		return nil, ""
	}
	if s, v := p.catalog.Loaded(); s != nil && v != "" {
		return s, v
	}
	p.refreshSchema(ctx)
	return p.catalog.Loaded()
}

// cacheableRead reports whether a rendered read may be answered from the
// cache: a plain SELECT of known tables, no lock, no system catalog, and
// an answer that cannot change without a write (no volatile function, no
// clock), unless the call allows volatile reads.
func (p *Plugin) cacheableRead(ctx context.Context, s *statement, vars []any) bool {
	if s.Kind != sqlstmt.Select || s.Lock || s.Catalog || len(s.reads) == 0 {
		return false
	}
	if catalog.Volatile(p.sqlDialect, s.Statement, vars, func() *catalog.Snapshot { snap, _ := p.schemaForRead(ctx); return snap }) {
		return core.VolatileAllowed(ctx)
	}
	return true
}

// valueTags returns the value tags a one-table read depends on in place of
// its table's tag (see valuetag.Read), nil when it has none, and the
// flush version of the catalog view they come from: the entry is stored
// only while it is current (core.Descriptor.Epoch).
func (p *Plugin) valueTags(ctx context.Context, table string, s *statement, vars []any) ([]string, string) {
	if p.catalog == nil || !p.catalog.Supported() {
		return nil, ""
	}
	snap, version := p.schemaForRead(ctx)
	if version == "" {
		return nil, ""
	}
	vt := valuetag.Read(table, s.Conds, s.CondsKnown, vars, snap.Indexed(table))
	for i, t := range vt {
		vt[i] = p.scope.Wrap(t)
	}
	return vt, version
}
