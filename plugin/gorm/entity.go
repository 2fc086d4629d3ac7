package hydragorm

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/keys"
)

// entityDesc returns the descriptor of one row: its key in the scoped or
// unscoped space, its entity tag and its table's row-epoch tag. The
// prefixes are joined once per model (keys.Join(a)+":"+keys.Join(b) is
// keys.Join(a, b)), so a hit builds two strings.
func (p *Plugin) entityDesc(m *model, unscoped bool, pk string) core.Descriptor {
	pk = segment(pk)
	prefix := m.scopedKey
	if unscoped {
		prefix = m.unscopedKey
	}
	d := core.Descriptor{
		Key:    prefix + pk,
		Tags:   []string{m.entityTagPrefix + pk, m.rowsTag},
		Policy: m.policy,
	}
	if len(m.policy.Tags) > 0 {
		d = d.WithTags(m.policy.Tags...)
	}
	return d
}

// preparedDesc returns the prepared descriptor of one row, remembered per
// model.
func (p *Plugin) preparedDesc(m *model, unscoped bool, pk string) core.Descriptor {
	memo := &m.descs[0]
	if unscoped {
		memo = &m.descs[1]
	}
	if d, ok := memo.Load(pk); ok {
		return d
	}
	d := p.cache.Prepare(p.entityDesc(m, unscoped, pk))
	memo.Store(pk, d)
	return d
}

// segment escapes one key segment as keys.Join does, without allocating
// for the usual keys.
func segment(s string) string {
	if s == "" || strings.ContainsAny(s, ":\\") {
		return keys.Join(s)
	}
	return s
}

// readKeys answers a key lookup through entity descriptors: one per key.
func (p *Plugin) readKeys(db *gorm.DB, m *model, ks keyShape) {
	if len(ks.vals) == 1 {
		p.readOne(db, m, ks)
		return
	}
	p.readMany(db, m, ks)
}

// readOne answers a lookup of one key. A miss runs the statement GORM
// would run, rendered into db, so that GORM's logger and the callbacks
// after this one see it as without the cache; a hit reaches the logger
// with its statement rendered only if the logger asks for it.
func (p *Plugin) readOne(db *gorm.DB, m *model, ks keyShape) {
	stmt := db.Statement
	begin := time.Now()
	var mine atomic.Pointer[rowset.RowSet]
	d := p.preparedDesc(m, stmt.Unscoped, ks.one)
	raw, err := p.cache.FetchWith(stmt.Context, d, func() core.LoadFunc { return p.oneLoader(db, m, ks.one, &mine) })
	if rs := mine.Load(); rs != nil && (err == nil || errors.Is(err, core.ErrNotFound) || errors.Is(err, errNoStore)) {
		replay(db, rs)
		return
	}
	loaded := stmt.SQL.Len() > 0 // the loader was made: GORM logs the statement
	p.finish(db, raw, err, querySink(p))
	if !loaded {
		logHit(db, begin, ks.destKeyed)
	}
}

// oneLoader renders the statement of a one-key lookup into db (on the
// caller's goroutine, before the load) and returns the loader that runs
// it. Its result is cached when it is the row of key, or no row.
func (p *Plugin) oneLoader(db *gorm.DB, m *model, key string, mine *atomic.Pointer[rowset.RowSet]) core.LoadFunc {
	callbacks.BuildQuerySQL(db)
	if db.Error != nil {
		return func(context.Context) ([]byte, error) { return nil, errNoStore }
	}
	stmt := db.Statement
	conn, sql, vars := stmt.ConnPool, stmt.SQL.String(), slices.Clone(stmt.Vars)
	col, kind := m.pk.DBName, m.pkKind
	return func(ctx context.Context) ([]byte, error) {
		rows, err := conn.QueryContext(ctx, sql, vars...)
		if err != nil {
			return nil, err
		}
		rs, err := rowset.Record(rows)
		if err != nil {
			// GORM runs the statement again and reports its own error.
			return nil, errNoStore
		}
		switch rs.Len() {
		case 0:
			mine.Store(rs)
			return nil, core.ErrNotFound
		case 1:
			if !rowHasKey(rs, col, kind, key) {
				mine.Store(rs)
				return nil, errNoStore
			}
		default:
			mine.Store(rs)
			return nil, errNoStore
		}
		mine.Store(rs)
		b, err := rs.MarshalBinary()
		if err != nil {
			return nil, errNoStore
		}
		return b, nil
	}
}

// rowHasKey reports whether the single row of rs is the row of key.
func rowHasKey(rs *rowset.RowSet, col string, kind keytext.Kind, key string) bool {
	for i, c := range rs.Columns {
		if c.Name == col {
			s, err := keys.Value(rs.Values[0][i])
			if err != nil {
				return false
			}
			s, ok := keytext.Canonical(kind, s)
			return ok && s == key
		}
	}
	return false
}

// readMany answers a lookup of several keys, loading only the missing
// ones with one IN query.
func (p *Plugin) readMany(db *gorm.DB, m *model, ks keyShape) {
	stmt := db.Statement
	ctx := stmt.Context
	begin := time.Now()
	unscoped := stmt.Unscoped
	// What the loader needs, taken now: a shared load may outlive this
	// call when its context ends, and GORM then reuses the statement.
	spec := loadSpec{cfg: db.Config, conn: stmt.ConnPool, table: stmt.Table, schema: stmt.Schema, unscoped: unscoped}
	ds := make([]core.Descriptor, len(ks.vals))
	for i, s := range ks.strs {
		ds[i] = p.preparedDesc(m, unscoped, s)
	}
	loaded := make([]*rowset.RowSet, len(ks.vals)) // this call's own loads
	anyLoaded := false
	raws, err := p.cache.FetchMany(ctx, ds, func(lctx context.Context, missing []int) ([][]byte, error) {
		anyLoaded = true
		vals := make([]any, len(missing))
		strs := make([]string, len(missing))
		for j, i := range missing {
			vals[j], strs[j] = ks.vals[i], ks.strs[i]
		}
		rows, err := p.loadKeys(lctx, spec, m, vals, strs)
		if err != nil {
			return nil, err
		}
		out := make([][]byte, len(missing))
		for j, i := range missing {
			if rows[j] == nil {
				continue
			}
			loaded[i] = rows[j]
			b, err := rows[j].MarshalBinary()
			if err != nil {
				return nil, errNoStore
			}
			out[j] = b
		}
		return out, nil
	})
	if err != nil {
		if errors.Is(err, errNoStore) || errors.Is(err, core.ErrLoaderPanic) {
			p.origQuery(db)
			return
		}
		db.AddError(err)
		return
	}
	if anyLoaded {
		// Some rows came from the database: GORM logs the statement it
		// would have run.
		callbacks.BuildQuerySQL(db)
	} else {
		defer logHit(db, begin, ks.destKeyed)
	}
	// found holds the rows found, in key order; hits their decoded entries
	// while every one of them is a hit: their snapshots may then answer
	// instead of a replay.
	found := make([]*rowset.RowSet, 0, len(raws))
	hits := make([]*decodedVal, 0, len(raws))
	for i, raw := range raws {
		rs := loaded[i]
		if rs != nil {
			hits = nil
		} else if raw != nil {
			v, err := p.decode(raw)
			if err != nil {
				p.origQuery(db)
				return
			}
			rs = v.rs
			if hits != nil {
				hits = append(hits, v)
			}
		}
		if rs == nil {
			continue
		}
		if len(found) > 0 && !sameColumns(found[0].Columns, rs.Columns) {
			// Rows cached before and after a migration: ask the database.
			p.origQuery(db)
			return
		}
		found = append(found, rs)
		if ks.limit {
			break
		}
	}
	if !ks.limit && len(hits) > 0 && fillFromSnapshots(db, hits) {
		return
	}
	all := &rowset.RowSet{}
	for _, rs := range found {
		all.Columns = rs.Columns
		all.Values = append(all.Values, rs.Values...)
	}
	replay(db, all)
}

// logHit hands GORM's logger a read answered from the cache as gorm:query
// would hand it a database read: the statement (rendered only when the
// logger asks for it, as GORM renders it before the read: with the key of
// a destination struct only when destKeyed), the rows, the error, the
// time since begin.
func logHit(db *gorm.DB, begin time.Time, destKeyed bool) {
	db.Logger.Trace(db.Statement.Context, begin, func() (string, int64) {
		tx := db.Session(&gorm.Session{Context: db.Statement.Context})
		tx.Statement.BuildClauses = db.Statement.BuildClauses
		tx.Error = nil
		if rv := tx.Statement.ReflectValue; rv.Kind() == reflect.Struct && !destKeyed {
			tx.Statement.ReflectValue = reflect.New(rv.Type()).Elem() // filled by the hit since
		}
		callbacks.BuildQuerySQL(tx)
		sql, vars := tx.Statement.SQL.String(), tx.Statement.Vars
		if filter, ok := db.Logger.(gorm.ParamsFilter); ok {
			sql, vars = filter.ParamsFilter(db.Statement.Context, sql, vars...)
		}
		return db.Dialector.Explain(sql, vars...), db.RowsAffected
	}, db.Error)
}

// loadSpec is what loadKeys needs of the statement.
type loadSpec struct {
	cfg      *gorm.Config
	conn     gorm.ConnPool
	table    string
	schema   *schema.Schema
	unscoped bool
}

func sameColumns(a, b []rowset.Column) bool {
	return slices.EqualFunc(a, b, func(x, y rowset.Column) bool { return x.Name == y.Name })
}

// loadKeys reads the rows of vals with one query, SELECT * ... WHERE pk IN
// (...) plus the soft-delete condition unless unscoped, and returns one
// single-row RowSet per key, nil for a key with no row. A row whose key
// matches none of strs (a key type the database converts differently)
// makes the result uncacheable.
func (p *Plugin) loadKeys(ctx context.Context, src loadSpec, m *model, vals []any, strs []string) ([]*rowset.RowSet, error) {
	stmt := &gorm.Statement{
		// A DB of its own (for the dialector and clause builders): errors
		// of the build must not land on the caller's, which may have moved
		// on.
		DB:       &gorm.DB{Config: src.cfg},
		ConnPool: src.conn,
		Context:  ctx,
		Clauses:  map[string]clause.Clause{},
		Table:    src.table,
		Schema:   src.schema,
		Unscoped: src.unscoped,
	}
	stmt.DB.Statement = stmt // soft delete reads Unscoped through it
	stmt.AddClause(clause.Where{Exprs: []clause.Expression{
		clause.IN{Column: clause.Column{Table: clause.CurrentTable, Name: m.pk.DBName}, Values: vals},
	}})
	if !stmt.Unscoped {
		for _, c := range src.schema.QueryClauses {
			stmt.AddClause(c)
		}
	}
	stmt.AddClause(clause.Select{})
	stmt.AddClause(clause.From{})
	stmt.Build("SELECT", "FROM", "WHERE")
	if stmt.Error != nil {
		return nil, stmt.Error
	}
	rows, err := stmt.ConnPool.QueryContext(ctx, stmt.SQL.String(), stmt.Vars...)
	if err != nil {
		return nil, err
	}
	all, err := rowset.Record(rows)
	if err != nil {
		return nil, errNoStore // GORM runs the statement again and reports its own error
	}
	col := -1
	for i, c := range all.Columns {
		if c.Name == m.pk.DBName {
			col = i
		}
	}
	if col < 0 {
		return nil, errNoStore
	}
	out := make([]*rowset.RowSet, len(vals))
	for _, row := range all.Values {
		s, err := keys.Value(row[col])
		if err != nil {
			return nil, errNoStore
		}
		s, ok := keytext.Canonical(m.pkKind, s)
		if !ok {
			return nil, errNoStore
		}
		i := slices.Index(strs, s)
		if i < 0 || out[i] != nil {
			return nil, errNoStore
		}
		out[i] = &rowset.RowSet{Columns: all.Columns, Values: [][]driver.Value{row}}
	}
	return out, nil
}
