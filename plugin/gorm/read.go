package hydragorm

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"

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
		if ks, ok := p.entityShape(db, m); ok {
			p.entityRead(db, m, ks)
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
	tags := make([]string, len(tables))
	for i, t := range tables {
		tags[i] = p.tableTag(t)
	}
	d := core.Descriptor{Key: scope.Wrap(keys.Collection(fp)), Tags: tags}.WithPolicy(pol)

	var mine atomic.Pointer[rowset.RowSet]
	conn, vars := stmt.ConnPool, stmt.Vars
	raw, err := p.cache.Fetch(stmt.Context, d, func(ctx context.Context) ([]byte, error) {
		rows, err := conn.QueryContext(ctx, sql, vars...)
		if err != nil {
			return nil, err
		}
		rs, err := rowset.Record(rows)
		if err != nil {
			return nil, err
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
	case errors.Is(err, errNoStore):
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

// keyShape is a key lookup recognised from a statement's clauses.
type keyShape struct {
	vals  []any    // key values, de-duplicated, in result order
	strs  []string // their keys.Value texts; nil for a single key
	one   string   // the keys.Value text of a single key
	limit bool     // LIMIT 1: only the first row that exists
}

// entityShape recognises a read by primary key from the statement's
// clauses, without rendering SQL: First/Take/Last/Find by key or key
// list, a struct or map condition on the key, with or without the
// soft-delete condition.
func (p *Plugin) entityShape(db *gorm.DB, m *model) (keyShape, bool) {
	stmt := db.Statement
	var ks keyShape
	if len(stmt.Joins) > 0 || len(stmt.Selects) > 0 || len(stmt.Omits) > 0 || stmt.Distinct ||
		stmt.TableExpr != nil || len(stmt.ColumnMapping) > 0 || stmt.Table != stmt.Schema.Table {
		return ks, false
	}
	rv := stmt.ReflectValue
	if !rv.IsValid() {
		return ks, false
	}
	t := rv.Type()
	switch t.Kind() {
	case reflect.Struct:
	case reflect.Slice, reflect.Array:
		t = t.Elem()
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	default:
		return ks, false
	}
	if t != stmt.Schema.ModelType {
		return ks, false
	}
	var (
		keyVals []any
		found   int
		desc    bool
		ordered bool
	)
	// Three lookups cost less than ranging over the map.
	seen := 0
	for _, name := range [...]string{"WHERE", "LIMIT", "ORDER BY"} {
		c, ok := stmt.Clauses[name]
		if !ok {
			continue
		}
		seen++
		switch name {
		case "WHERE":
			w, ok := c.Expression.(clause.Where)
			if !ok {
				return ks, false
			}
			for _, e := range w.Exprs {
				vals, ok := pkCondition(e, m, stmt.Table)
				if !ok {
					return ks, false
				}
				keyVals = vals
				found++
			}
		case "LIMIT":
			l, ok := c.Expression.(clause.Limit)
			if !ok || l.Limit == nil || *l.Limit != 1 || l.Offset != 0 {
				return ks, false
			}
			ks.limit = true
		case "ORDER BY":
			o, ok := c.Expression.(clause.OrderBy)
			if !ok || o.Expression != nil || len(o.Columns) != 1 || o.Columns[0].Reorder {
				return ks, false
			}
			col := o.Columns[0].Column
			if col.Raw || col.Alias != "" || !sameTable(col.Table, stmt.Table) ||
				col.Name != clause.PrimaryKey && col.Name != m.pk.DBName {
				return ks, false
			}
			desc, ordered = o.Columns[0].Desc, true
		}
	}
	if seen != len(stmt.Clauses) {
		return ks, false // another clause
	}
	// BuildQuerySQL adds the key of a destination struct as a condition:
	// First(&u, 1) with u read before holds the key twice.
	if rv.Kind() == reflect.Struct {
		if v, zero := m.pk.ValueOf(stmt.Context, rv); !zero {
			if found == 1 {
				sv, err := keys.Value(v)
				if err != nil || len(keyVals) != 1 {
					return ks, false
				}
				if kv, err := keys.Value(keyVals[0]); err != nil || kv != sv {
					return ks, false // two different keys: no row, let SQL say so
				}
			}
			keyVals = []any{v}
			found = 1
		}
	}
	if found != 1 || len(keyVals) == 0 {
		return ks, false
	}
	if len(keyVals) == 1 { // the usual case, without allocating
		s, err := keys.Value(keyVals[0])
		if err != nil {
			return ks, false
		}
		ks.vals, ks.strs = keyVals, nil
		ks.one = s
		return ks, true
	}
	// Several keys: de-duplicate by key text; order the keys as the database would
	// (ascending for integers) when the result's order matters.
	ks.vals = make([]any, 0, len(keyVals))
	ks.strs = make([]string, 0, len(keyVals))
	allInt := true
	for _, v := range keyVals {
		s, err := keys.Value(v)
		if err != nil {
			return ks, false
		}
		if slices.Contains(ks.strs, s) {
			continue
		}
		allInt = allInt && isIntKind(v)
		ks.vals = append(ks.vals, v)
		ks.strs = append(ks.strs, s)
	}
	if len(ks.vals) > 1 {
		if !allInt {
			if ordered || ks.limit {
				return ks, false // string order is the database's collation
			}
		} else {
			ns := make([]int64, len(ks.strs))
			for i, s := range ks.strs {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return ks, false
				}
				ns[i] = n
			}
			idx := make([]int, len(ns))
			for i := range idx {
				idx[i] = i
			}
			slices.SortFunc(idx, func(a, b int) int {
				if desc {
					a, b = b, a
				}
				switch {
				case ns[a] < ns[b]:
					return -1
				case ns[a] > ns[b]:
					return 1
				}
				return 0
			})
			vals, strs := make([]any, len(idx)), make([]string, len(idx))
			for i, j := range idx {
				vals[i], strs[i] = ks.vals[j], ks.strs[j]
			}
			ks.vals, ks.strs = vals, strs
		}
	}
	if len(ks.vals) == 1 {
		ks.one, ks.strs = ks.strs[0], nil
	}
	return ks, true
}

// pkCondition returns the key values of a condition on the primary key
// alone: IN or = on the key column.
func pkCondition(e clause.Expression, m *model, table string) ([]any, bool) {
	isPK := func(col any) bool {
		switch c := col.(type) {
		case string:
			return c == m.pk.DBName || c == m.pk.Name
		case clause.Column:
			return !c.Raw && c.Alias == "" && sameTable(c.Table, table) &&
				(c.Name == clause.PrimaryKey || c.Name == m.pk.DBName)
		}
		return false
	}
	switch x := e.(type) {
	case clause.IN:
		if isPK(x.Column) && len(x.Values) > 0 {
			for _, v := range x.Values {
				if !plainKey(v) {
					return nil, false
				}
			}
			return x.Values, true
		}
	case clause.Eq:
		if isPK(x.Column) && plainKey(x.Value) {
			return []any{x.Value}, true
		}
	case clause.AndConditions:
		if len(x.Exprs) == 1 {
			return pkCondition(x.Exprs[0], m, table)
		}
	}
	return nil, false
}

// plainKey reports whether v is a value a key can be made of: not nil, not
// a sub-query, column or expression, not a list.
func plainKey(v any) bool {
	switch v.(type) {
	case nil, clause.Expression, *gorm.DB, clause.Column:
		return false
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return false
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Slice:
		return rv.Type().Elem().Kind() == reflect.Uint8 // []byte keys
	case reflect.Map, reflect.Func, reflect.Chan, reflect.Interface, reflect.Float32, reflect.Float64:
		return false
	}
	return true
}
