package hydragorm

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/keys"
)

// errNoStore ends a load whose result cannot be cached (it cannot be
// encoded, or its rows do not match the keys asked for); the caller then
// reads the database itself.
var errNoStore = errors.New("hydragorm: result not cacheable")

// query replaces gorm:query. It answers from the cache what it may and
// leaves every other read to GORM's own query callback; gorm:preload and
// gorm:after_query run after it either way.
func (p *Plugin) query(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	stmt := db.Statement
	ctx := stmt.Context
	if db.DryRun || core.ModeFrom(ctx) == core.ModeBypass {
		p.origQuery(db)
		return
	}
	if _, locked := stmt.Clauses["FOR"]; locked {
		p.origQuery(db)
		return
	}
	if st, _ := p.locate(stmt.ConnPool); st != stateRoot {
		// Inside a transaction (or a pool we do not know): the rows may
		// be uncommitted, so neither read nor fill.
		p.origQuery(db)
		return
	}
	if stmt.SQL.Len() > 0 {
		s := p.parse(stmt.SQL.String())
		if s.Kind.Writes() {
			// A write run through the Query chain (db.Raw("UPDATE ...
			// RETURNING *").Find): gorm:query reads its rows to the end,
			// so it has completed when the bump follows.
			p.origQuery(db)
			p.afterStatement(db, s)
			return
		}
		p.rawRead(db)
		return
	}
	if stmt.Schema == nil {
		p.origQuery(db)
		return
	}
	m := p.modelOf(stmt.Schema)
	if !m.cache {
		p.origQuery(db)
		return
	}
	if m.entityOK && m.pk != nil {
		if ks, ok := p.keyLookup(db, m); ok {
			p.readKeys(db, m, ks)
			return
		}
	}
	if m.policy.SkipLists {
		p.origQuery(db)
		return
	}
	callbacks.BuildQuerySQL(db)
	if db.Error != nil {
		return
	}
	p.listRead(db, m.list, m.policy, normTable(stmt.Table))
}

// rawRead caches a db.Raw select only when the call opted in.
func (p *Plugin) rawRead(db *gorm.DB) {
	extra, ok := rawTablesFrom(db.Statement.Context)
	if !ok {
		p.origQuery(db)
		return
	}
	pol := core.Policy{}
	if p.cfg.defaultPolicy != nil {
		pol = *p.cfg.defaultPolicy
	}
	p.listRead(db, p.scope.With("raw"), pol, extra...)
}

// listRead reads a built statement through a collection descriptor tagged
// with every table the SQL names.
func (p *Plugin) listRead(db *gorm.DB, scope keys.Scope, pol core.Policy, extra ...string) {
	p.collection(db, scope, pol, querySink(p), extra...)
}

// sink is where a collection read ends: the Query chain scans the rows
// into the destination, the Row chain hands them to Scan.
type sink struct {
	fallback func(*gorm.DB)                 // the chain's own callback
	deliver  func(*gorm.DB, *rowset.RowSet) // answer with recorded rows
	scans    bool                           // the Query chain: snapshots apply
}

func querySink(p *Plugin) sink { return sink{fallback: p.origQuery, deliver: replay, scans: true} }

// write runs a statement that turned out to write, through the chain's own
// callback, and bumps what it wrote once it has completed.
func (p *Plugin) write(db *gorm.DB, out sink, s *statement) {
	if out.scans {
		p.origQuery(db)
		p.afterStatement(db, s)
		return
	}
	p.rowWrite(db) // the Row chain's hydracache:after_row bumps
}

// collection answers a built statement through a collection descriptor.
func (p *Plugin) collection(db *gorm.DB, scope keys.Scope, pol core.Policy, out sink, extra ...string) {
	stmt := db.Statement
	sql := stmt.SQL.String()
	s := p.parse(sql)
	if s.Kind.Writes() {
		p.write(db, out, s)
		return
	}
	if !p.cacheableRead(stmt.Context, s, stmt.Vars) {
		out.fallback(db)
		return
	}
	tables := s.reads
	for _, t := range extra {
		if t != "" && !slices.Contains(tables, t) {
			tables = append(slices.Clip(tables), t) // never into the memo's array
		}
	}
	if len(tables) == 0 || p.skipped(tables) {
		out.fallback(db)
		return
	}
	fp, err := keys.Query(p.dialect, sql, stmt.Vars)
	if err != nil {
		out.fallback(db)
		return
	}
	tags := make([]string, 0, len(tables)+2)
	epoch := ""
	for i, t := range tables {
		if i == 0 && len(s.reads) == 1 && s.CondsKnown {
			// A read of one table restricted to values of an indexed
			// column depends on those rows alone.
			if vt, v := p.valueTags(stmt.Context, t, s, stmt.Vars); vt != nil {
				tags, epoch = append(tags, vt...), v
				continue
			}
		}
		tags = append(tags, p.tableTag(t))
	}
	d := core.Descriptor{Key: scope.Wrap(keys.Collection(fp)), Tags: tags, Epoch: epoch}.WithPolicy(pol)

	var mine atomic.Pointer[rowset.RowSet]
	conn, vars := stmt.ConnPool, stmt.Vars
	raw, err := p.cache.Fetch(stmt.Context, d, func(ctx context.Context) ([]byte, error) {
		rows, err := conn.QueryContext(ctx, sql, vars...)
		if err != nil {
			return nil, err
		}
		rs, err := rowset.Record(rows)
		if err != nil {
			return nil, errNoStore // GORM runs the statement again and reports its own error
		}
		mine.Store(rs)
		b, err := rs.MarshalBinary()
		if err != nil {
			return nil, errNoStore
		}
		return b, nil
	})
	if rs := mine.Load(); rs != nil && (err == nil || errors.Is(err, errNoStore)) {
		out.deliver(db, rs)
		return
	}
	p.finish(db, raw, err, out)
}

// finish replays an encoded result, or handles Fetch's error.
func (p *Plugin) finish(db *gorm.DB, raw []byte, err error, out sink) {
	switch {
	case err == nil:
		v, uerr := p.decode(raw)
		if uerr != nil {
			out.fallback(db) // a corrupt entry is a miss
			return
		}
		if out.scans && fillFromSnapshot(db, v) {
			return
		}
		out.deliver(db, v.rs)
	case errors.Is(err, errNoStore), errors.Is(err, core.ErrLoaderPanic):
		out.fallback(db)
	case errors.Is(err, core.ErrNotFound):
		out.deliver(db, &rowset.RowSet{})
	default:
		// The database's error, core.ErrCacheMiss in cache-only mode, or
		// the caller's context.
		db.AddError(err)
	}
}

// replay scans a recorded result exactly as gorm:query scans a live one.
func replay(db *gorm.DB, rs *rowset.RowSet) {
	if err := db.Statement.Context.Err(); err != nil {
		db.AddError(err)
		return
	}
	rows := rs.Fast(db.Statement.Context, nil)
	gorm.Scan(rows, db, 0)
	db.AddError(rows.Close())
	if db.Statement.Result != nil {
		db.Statement.Result.RowsAffected = db.RowsAffected
	}
}
