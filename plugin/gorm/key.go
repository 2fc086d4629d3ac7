package hydragorm

import (
	"reflect"
	"slices"
	"strconv"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/keys"
)

// keyShape is a key lookup recognised from a statement's clauses.
type keyShape struct {
	vals  []any    // key values, de-duplicated, in result order, as the query passes them
	strs  []string // their canonical key texts; nil for a single key
	one   string   // the canonical key text of a single key
	limit bool     // LIMIT 1: only the first row that exists
	// destKeyed: the destination struct held a key before the read, which
	// GORM renders as a condition too.
	destKeyed bool
}

// keyLookup recognises a read by primary key from the statement's
// clauses, without rendering SQL: First/Take/Last/Find by key or key
// list, a struct or map condition on the key, with or without the
// soft-delete condition.
func (p *Plugin) keyLookup(db *gorm.DB, m *model) (keyShape, bool) {
	stmt := db.Statement
	if !plainLookup(stmt) {
		return keyShape{}, false
	}
	c, ok := keyClausesOf(stmt, m)
	if !ok {
		return keyShape{}, false
	}
	vals, keyed, ok := withDestKey(stmt, m, c.vals, c.found)
	if !ok {
		return keyShape{}, false
	}
	ks, ok := p.shapeKeys(m, vals, c)
	ks.destKeyed = keyed
	return ks, ok
}

// plainLookup reports whether a statement reads whole rows of its model
// into the model's own type: no joins, column choices, DISTINCT, table
// expressions or column mapping.
func plainLookup(stmt *gorm.Statement) bool {
	if len(stmt.Joins) > 0 || len(stmt.Selects) > 0 || len(stmt.Omits) > 0 || stmt.Distinct ||
		stmt.TableExpr != nil || len(stmt.ColumnMapping) > 0 || stmt.Table != stmt.Schema.Table {
		return false
	}
	rv := stmt.ReflectValue
	if !rv.IsValid() {
		return false
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
		return false
	}
	return t == stmt.Schema.ModelType
}

// keyClauses is what a key lookup's clauses say.
type keyClauses struct {
	vals    []any // the key values of the WHERE condition
	found   int   // key conditions in WHERE
	limit   bool  // LIMIT 1
	desc    bool  // ORDER BY the key descending
	ordered bool  // ORDER BY the key
}

// keyClausesOf reads WHERE, LIMIT and ORDER BY; any other clause, or any
// other condition, is not a key lookup.
func keyClausesOf(stmt *gorm.Statement, m *model) (keyClauses, bool) {
	var c keyClauses
	// Three lookups cost less than ranging over the map.
	seen := 0
	for _, name := range [...]string{"WHERE", "LIMIT", "ORDER BY"} {
		cl, ok := stmt.Clauses[name]
		if !ok {
			continue
		}
		seen++
		switch name {
		case "WHERE":
			w, ok := cl.Expression.(clause.Where)
			if !ok {
				return c, false
			}
			for _, e := range w.Exprs {
				vals, ok := pkCondition(e, m, stmt.Table)
				if !ok {
					return c, false
				}
				c.vals = vals
				c.found++
			}
		case "LIMIT":
			l, ok := cl.Expression.(clause.Limit)
			if !ok || l.Limit == nil || *l.Limit != 1 || l.Offset != 0 {
				return c, false
			}
			c.limit = true
		case "ORDER BY":
			o, ok := cl.Expression.(clause.OrderBy)
			if !ok || o.Expression != nil || len(o.Columns) != 1 || o.Columns[0].Reorder {
				return c, false
			}
			col := o.Columns[0].Column
			if col.Raw || col.Alias != "" || !sameTable(col.Table, stmt.Table) ||
				col.Name != clause.PrimaryKey && col.Name != m.pk.DBName {
				return c, false
			}
			c.desc, c.ordered = o.Columns[0].Desc, true
		}
	}
	return c, seen == len(stmt.Clauses)
}

// withDestKey adds the key of a destination struct, which BuildQuerySQL
// adds as a condition: First(&u, 1) with u read before holds the key
// twice. Two different keys find no row: SQL says so.
func withDestKey(stmt *gorm.Statement, m *model, vals []any, found int) (out []any, keyed, ok bool) {
	rv := stmt.ReflectValue
	if rv.Kind() == reflect.Struct {
		if v, zero := m.pk.ValueOf(stmt.Context, rv); !zero {
			if found == 1 {
				sv, err := keys.Value(v)
				if err != nil || len(vals) != 1 {
					return nil, false, false
				}
				if kv, err := keys.Value(vals[0]); err != nil || kv != sv {
					return nil, false, false
				}
			}
			return []any{v}, true, true
		}
	}
	if found != 1 || len(vals) == 0 {
		return nil, false, false
	}
	return vals, false, true
}

// keyText returns the canonical text of a key value of m, or false when
// the value must not be read through an entity entry (see keytext).
func keyText(m *model, v any) (string, bool) {
	s, err := keys.Value(v)
	if err != nil {
		return "", false
	}
	return keytext.Canonical(m.pkKind, s)
}

// shapeKeys de-duplicates the keys by their canonical text and puts them
// in the order the database returns them for such a lookup, which is key
// order: numeric for integer keys, and for PostgreSQL's uuid the
// canonical text's. Text keys are ordered by the database's collation,
// which the cache cannot know: a lookup of several of them is not an
// entity read (a collection entry keeps the database's order).
func (p *Plugin) shapeKeys(m *model, vals []any, c keyClauses) (keyShape, bool) {
	ks := keyShape{limit: c.limit}
	if len(vals) == 1 { // the usual case, without allocating
		s, ok := keyText(m, vals[0])
		if !ok {
			return ks, false
		}
		ks.vals, ks.one = vals, s
		return ks, true
	}
	ks.vals = make([]any, 0, len(vals))
	ks.strs = make([]string, 0, len(vals))
	for _, v := range vals {
		s, ok := keyText(m, v)
		if !ok {
			return ks, false
		}
		if slices.Contains(ks.strs, s) {
			continue // IN (1, 1) returns the row once
		}
		ks.vals = append(ks.vals, v)
		ks.strs = append(ks.strs, s)
	}
	if len(ks.vals) > 1 {
		var less func(a, b string) int
		switch {
		case m.pkKind == keytext.Int:
			less = func(a, b string) int {
				x, _ := strconv.ParseInt(a, 10, 64)
				y, _ := strconv.ParseInt(b, 10, 64)
				switch {
				case x < y:
					return -1
				case x > y:
					return 1
				}
				return 0
			}
		case m.pkKind == keytext.UUID && p.sqlDialect == sqlstmt.Postgres:
			less = func(a, b string) int {
				switch {
				case a < b:
					return -1
				case a > b:
					return 1
				}
				return 0
			}
		default:
			return ks, false
		}
		idx := make([]int, len(ks.strs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			if c.desc {
				a, b = b, a
			}
			return less(ks.strs[a], ks.strs[b])
		})
		vs, ss := make([]any, len(idx)), make([]string, len(idx))
		for i, j := range idx {
			vs[i], ss[i] = ks.vals[j], ks.strs[j]
		}
		ks.vals, ks.strs = vs, ss
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
