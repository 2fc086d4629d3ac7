// Package catalog is the plugins' view of the database's schema, read from
// the database's own catalog: the foreign keys and their ON DELETE and ON
// UPDATE actions (what the database changes by itself when rows go or
// keys change), and for PostgreSQL which functions are immutable. Every
// process that shares a cache learns every cascade this way, whatever
// models it parsed.
//
// A Catalog is refreshed when the version its owner passes changes (the
// plugins pass the cache's flush version, which every DDL they see moves)
// and when it is older than its maximum age, so that DDL run outside the
// plugins is seen too.
package catalog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
)

// Rows is what a catalog query returns: *sql.Rows and Ent's ColumnScanner
// both are.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Close() error
	Err() error
}

// QueryFunc runs a catalog query outside any transaction.
type QueryFunc func(ctx context.Context, query string, args ...any) (Rows, error)

// Action is a foreign key's referential action.
type Action uint8

// The actions that change rows of the referencing table; NO ACTION and
// RESTRICT change none (they fail the statement instead).
const (
	NoAction Action = iota
	Cascade
	SetNull
	SetDefault
)

// changes reports whether the action changes referencing rows.
func (a Action) changes() bool { return a != NoAction }

func parseAction(s string) Action {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CASCADE", "C":
		return Cascade
	case "SET NULL", "N":
		return SetNull
	case "SET DEFAULT", "D":
		return SetDefault
	}
	return NoAction
}

// ForeignKey is one foreign key: Table's Columns refer to RefTable's
// RefColumns (empty when the catalog does not name them: the referenced
// table's key).
type ForeignKey struct {
	Table, RefTable     string
	Columns, RefColumns []string
	OnDelete, OnUpdate  Action
}

// Snapshot is the catalog as read at one time. It is immutable.
type Snapshot struct {
	byRef map[string][]ForeignKey
	// funcs are PostgreSQL's functions immutable in every overload; nil
	// when not read.
	funcs map[string]bool
	// indexed are, per table, the columns of its indexes (its key
	// included) whose values compare as their canonical text does.
	indexed map[string]map[string]keytext.Kind
	// returning: the database takes RETURNING on UPDATE and DELETE.
	returning bool
}

// Indexed returns the indexed columns of table whose values compare as
// their canonical key text does (integers, text compared byte for byte,
// PostgreSQL uuids), with what they hold; nil when the snapshot has none.
// These are the columns the plugins tag reads and writes by value.
func (s *Snapshot) Indexed(table string) map[string]keytext.Kind {
	if s == nil {
		return nil
	}
	return s.indexed[table]
}

// Returning reports whether the database takes RETURNING on UPDATE and
// DELETE (PostgreSQL; SQLite 3.35 and later).
func (s *Snapshot) Returning() bool { return s != nil && s.returning }

// NewSnapshot returns a snapshot holding fks, for tests and for schemas
// given in code.
func NewSnapshot(fks []ForeignKey) *Snapshot {
	s := &Snapshot{byRef: map[string][]ForeignKey{}}
	for _, fk := range fks {
		s.byRef[fk.RefTable] = append(s.byRef[fk.RefTable], fk)
	}
	return s
}

// ForeignKeys returns the foreign keys that refer to table.
func (s *Snapshot) ForeignKeys(table string) []ForeignKey {
	if s == nil {
		return nil
	}
	return s.byRef[table]
}

// Immutable reports whether a function is immutable in every overload, and
// whether the snapshot knows (PostgreSQL's catalog was read).
func (s *Snapshot) Immutable(name string) (immutable, known bool) {
	if s == nil || s.funcs == nil {
		return false, false
	}
	return s.funcs[name], true
}

// Affected returns the tables whose rows the database itself may change
// when rows of table are deleted (cols nil, update false) or when columns
// cols of table are updated (cols nil: any column), following the chain:
// a cascaded delete deletes further, a SET NULL or SET DEFAULT updates
// the referencing columns, which may be referenced in turn.
func (s *Snapshot) Affected(table string, update bool, cols []string) []string {
	if s == nil {
		return nil
	}
	type change struct {
		table  string
		update bool
		cols   []string
	}
	var out []string
	seen := map[string]bool{}
	queue := []change{{table, update, cols}}
	for steps := 0; len(queue) > 0 && steps < 10000; steps++ {
		c := queue[0]
		queue = queue[1:]
		for _, fk := range s.byRef[c.table] {
			var next *change
			switch {
			case !c.update && fk.OnDelete == Cascade:
				next = &change{table: fk.Table}
			case !c.update && fk.OnDelete.changes():
				next = &change{table: fk.Table, update: true, cols: fk.Columns}
			case c.update && fk.OnUpdate.changes() && overlaps(c.cols, fk.RefColumns):
				next = &change{table: fk.Table, update: true, cols: fk.Columns}
			}
			if next == nil {
				continue
			}
			key := next.table + "\x00" + fmt.Sprint(next.update, next.cols)
			if seen[key] {
				continue
			}
			seen[key] = true
			if !contains(out, next.table) {
				out = append(out, next.table)
			}
			queue = append(queue, *next)
		}
	}
	return out
}

// Referenced reports whether an update of cols of table (nil: any column)
// makes the database change rows of other tables.
func (s *Snapshot) Referenced(table string, cols []string) bool {
	if s == nil {
		return false
	}
	for _, fk := range s.byRef[table] {
		if fk.OnUpdate.changes() && overlaps(cols, fk.RefColumns) {
			return true
		}
	}
	return false
}

// overlaps reports whether columns a (nil: any) meet b (empty: the key,
// which may be any).
func overlaps(a, b []string) bool {
	if a == nil || len(b) == 0 {
		return true
	}
	for _, x := range a {
		if x == "" {
			return true // a target not understood
		}
		for _, y := range b {
			if strings.EqualFold(x, y) {
				return true
			}
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Catalog loads and keeps the current Snapshot of one database.
type Catalog struct {
	d      sqlstmt.Dialect
	query  QueryFunc
	norm   func(string) string
	maxAge time.Duration
	retry  time.Duration
	now    func() time.Time

	mu  sync.Mutex // one load at a time
	cur atomic.Pointer[state]
	// failed is when the last load failed; loads wait retry after it.
	failed atomic.Int64
}

type state struct {
	snap    *Snapshot
	version string
	at      time.Time
}

// New returns a Catalog of a database of dialect d reached through query.
// norm maps table names as the catalog stores them to the form the caller
// uses (GORM's plugin lower-cases them).
func New(d sqlstmt.Dialect, query QueryFunc, norm func(string) string) *Catalog {
	if norm == nil {
		norm = func(s string) string { return s }
	}
	return &Catalog{d: d, query: query, norm: norm, maxAge: time.Minute, retry: 10 * time.Second, now: time.Now}
}

// Supported reports whether the dialect has a catalog reader: without
// one there is never a snapshot, and no reader tags by value.
func (c *Catalog) Supported() bool {
	return c.d == sqlstmt.Postgres || c.d == sqlstmt.SQLite || c.d == sqlstmt.MySQL
}

// Current returns the last snapshot loaded, nil when none was.
func (c *Catalog) Current() *Snapshot {
	if s := c.cur.Load(); s != nil {
		return s.snap
	}
	return nil
}

// Loaded returns the current snapshot and the version it was loaded under
// (nil, "" when none was). A snapshot this process made stale (Invalidate)
// reports no version.
func (c *Catalog) Loaded() (*Snapshot, string) {
	s := c.cur.Load()
	if s == nil {
		return nil, ""
	}
	if s.version == staleVersion {
		return s.snap, ""
	}
	return s.snap, s.version
}

// staleVersion marks a snapshot Invalidate made stale.
const staleVersion = "\x00stale"

// Fresh reports whether the current snapshot was loaded under version and
// is younger than the maximum age.
func (c *Catalog) Fresh(version string) bool {
	s := c.cur.Load()
	return s != nil && s.version == version && c.now().Sub(s.at) < c.maxAge
}

// Refresh loads the snapshot unless it is fresh for version, and returns
// the current one. A failed load keeps the previous snapshot (nil if
// there was none) and is not tried again for a while; its error is
// returned.
func (c *Catalog) Refresh(ctx context.Context, version string) (*Snapshot, error) {
	if c.Fresh(version) {
		return c.Current(), nil
	}
	if f := c.failed.Load(); f != 0 && c.now().Sub(time.Unix(0, f)) < c.retry {
		return c.Current(), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fresh(version) {
		return c.Current(), nil
	}
	snap, err := c.load(ctx)
	if err != nil {
		c.failed.Store(c.now().UnixNano())
		return c.Current(), fmt.Errorf("catalog: %w", err)
	}
	c.failed.Store(0)
	c.cur.Store(&state{snap: snap, version: version, at: c.now()})
	return snap, nil
}

// Invalidate makes the next Refresh load again, whatever its version.
func (c *Catalog) Invalidate() {
	if s := c.cur.Load(); s != nil {
		c.cur.Store(&state{snap: s.snap, version: staleVersion, at: s.at})
	}
	c.failed.Store(0)
}

func (c *Catalog) load(ctx context.Context) (*Snapshot, error) {
	var fks []ForeignKey
	var err error
	switch c.d {
	case sqlstmt.Postgres:
		fks, err = c.postgresKeys(ctx)
	case sqlstmt.SQLite:
		fks, err = c.sqliteKeys(ctx)
	case sqlstmt.MySQL:
		fks, err = c.mysqlKeys(ctx)
	default:
		return nil, fmt.Errorf("no catalog reader for this dialect")
	}
	if err != nil {
		return nil, err
	}
	s := NewSnapshot(fks)
	if c.d == sqlstmt.Postgres {
		if s.funcs, err = c.postgresFuncs(ctx); err != nil {
			return nil, err
		}
	}
	if s.indexed, s.returning, err = c.indexes(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// indexes reads the indexed columns of every table and whether the
// database takes RETURNING.
func (c *Catalog) indexes(ctx context.Context) (map[string]map[string]keytext.Kind, bool, error) {
	var query string
	returning := false
	switch c.d {
	case sqlstmt.Postgres:
		query, returning = postgresIndexed, true
	case sqlstmt.SQLite:
		query = sqliteIndexed
		var v string
		if err := c.collect(ctx, "SELECT sqlite_version()", []any{&v}, func() error { return nil }); err != nil {
			return nil, false, err
		}
		returning = versionAtLeast(v, 3, 35)
	case sqlstmt.MySQL:
		query = mysqlIndexed
	default:
		return nil, false, nil
	}
	out := map[string]map[string]keytext.Kind{}
	conflict := map[string]bool{}
	var table, col, typ, coll string
	err := c.collect(ctx, query, []any{&table, &col, &typ, &coll}, func() error {
		t := c.norm(table)
		k, ok := columnKind(c.d, typ, coll)
		key := t + "\x00" + col
		if prev, seen := out[t][col]; !ok || conflict[key] || seen && prev != k {
			// A type whose values do not compare as their text (or tables
			// of one name in several schemas that disagree): not tagged.
			conflict[key] = true
			if out[t] != nil {
				delete(out[t], col)
			}
			return nil
		}
		if out[t] == nil {
			out[t] = map[string]keytext.Kind{}
		}
		out[t][col] = k
		return nil
	})
	return out, returning, err
}

// columnKind maps a column's type (and collation) to what it holds, and
// reports false for a type whose values do not compare as their canonical
// text: booleans and times (their texts differ between drivers), numbers
// with fractions, text under a collation that folds case.
func columnKind(d sqlstmt.Dialect, typ, coll string) (keytext.Kind, bool) {
	t := strings.ToLower(typ)
	switch d {
	case sqlstmt.Postgres:
		switch {
		case t == "smallint" || t == "integer" || t == "bigint":
			return keytext.Int, true
		case t == "uuid":
			return keytext.UUID, true
		case t == "text" || strings.HasPrefix(t, "character varying"):
			// Under a deterministic collation equal texts are equal
			// bytes; character(n) pads, so 'a' equals 'a  '.
			return keytext.Text, coll != "nondeterministic"
		}
	case sqlstmt.SQLite:
		c := strings.ToUpper(coll)
		switch {
		case strings.Contains(t, "int"):
			return keytext.Int, true
		case strings.Contains(t, "char") || strings.Contains(t, "clob") || strings.Contains(t, "text"):
			return keytext.Text, c == "" || c == "BINARY"
		}
	case sqlstmt.MySQL:
		switch {
		case strings.HasSuffix(t, "int"):
			return keytext.Int, true
		case t == "char" || t == "varchar" || strings.HasSuffix(t, "text"):
			return keytext.Text, strings.HasSuffix(strings.ToLower(coll), "_bin")
		}
	}
	return 0, false
}

// versionAtLeast reports whether a dotted version is major.minor or later.
func versionAtLeast(v string, major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(v, "%d.%d", &a, &b); err != nil {
		return false
	}
	return a > major || a == major && b >= minor
}

// postgresIndexed lists every index column of ordinary tables, with its
// type and collation ("default" for the database's; the default collation
// of a database that is not C is not byte order, but equality under the
// deterministic collations PostgreSQL uses by default is byte equality).
const postgresIndexed = `SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
 coalesce((SELECT co.collname::text FROM pg_catalog.pg_collation co WHERE co.oid = a.attcollation AND co.collisdeterministic), CASE WHEN a.attcollation = 0 THEN '' ELSE 'nondeterministic' END)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid AND c.relkind IN ('r', 'p')
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) AND a.attnum > 0`

// sqliteIndexed lists the columns of every index, and the key of rowid
// tables (INTEGER PRIMARY KEY has no index of its own), with their
// declared types and collations.
const sqliteIndexed = `SELECT m.name, ti.name, ti.type, coalesce(ix.coll, 'BINARY')
FROM sqlite_master m
JOIN pragma_index_list(m.name) il
JOIN pragma_index_xinfo(il.name) ix ON ix.key = 1 AND ix.cid >= 0
JOIN pragma_table_info(m.name) ti ON ti.cid = ix.cid
WHERE m.type = 'table'
UNION ALL
SELECT m.name, ti.name, ti.type, 'BINARY'
FROM sqlite_master m JOIN pragma_table_info(m.name) ti ON ti.pk > 0
WHERE m.type = 'table'`

const mysqlIndexed = `SELECT s.TABLE_NAME, s.COLUMN_NAME, c.DATA_TYPE, coalesce(c.COLLATION_NAME, '')
FROM information_schema.STATISTICS s
JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
WHERE s.TABLE_SCHEMA = DATABASE()`

// collect runs query and calls row for each row.
func (c *Catalog) collect(ctx context.Context, query string, dest []any, row func() error) error {
	rows, err := c.query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := row(); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

func splitCols(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x1f")
}

const postgresKeys = `SELECT c.relname::text, r.relname::text, k.confdeltype::text, k.confupdtype::text,
 coalesce((SELECT string_agg(a.attname::text, chr(31) ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(n, ord)
   JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n), ''),
 coalesce((SELECT string_agg(a.attname::text, chr(31) ORDER BY u.ord) FROM unnest(k.confkey) WITH ORDINALITY u(n, ord)
   JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n), '')
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
WHERE k.contype = 'f'`

func (c *Catalog) postgresKeys(ctx context.Context) ([]ForeignKey, error) {
	var fks []ForeignKey
	var table, ref, del, upd, cols, refCols string
	err := c.collect(ctx, postgresKeys, []any{&table, &ref, &del, &upd, &cols, &refCols}, func() error {
		fks = append(fks, ForeignKey{
			Table: c.norm(table), RefTable: c.norm(ref),
			Columns: splitCols(cols), RefColumns: splitCols(refCols),
			OnDelete: parseAction(del), OnUpdate: parseAction(upd),
		})
		return nil
	})
	return fks, err
}

const postgresFuncs = `SELECT p.proname::text, bool_and(p.provolatile = 'i') FROM pg_catalog.pg_proc p GROUP BY p.proname`

func (c *Catalog) postgresFuncs(ctx context.Context) (map[string]bool, error) {
	funcs := map[string]bool{}
	var name string
	var imm bool
	err := c.collect(ctx, postgresFuncs, []any{&name, &imm}, func() error {
		if imm {
			funcs[name] = true
		}
		return nil
	})
	return funcs, err
}

// sqliteKeys reads every table's foreign keys; "to" is NULL for a
// reference to the parent's primary key.
const sqliteKeys = `SELECT m.name, f."table", f."from", coalesce(f."to", ''), f.on_update, f.on_delete, f.id
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq`

func (c *Catalog) sqliteKeys(ctx context.Context) ([]ForeignKey, error) {
	var fks []ForeignKey
	var table, ref, from, to, upd, del string
	var id int64
	last := ""
	err := c.collect(ctx, sqliteKeys, []any{&table, &ref, &from, &to, &upd, &del, &id}, func() error {
		key := fmt.Sprint(table, "\x00", id)
		if key != last {
			last = key
			fks = append(fks, ForeignKey{Table: c.norm(table), RefTable: c.norm(ref),
				OnDelete: parseAction(del), OnUpdate: parseAction(upd)})
		}
		fk := &fks[len(fks)-1]
		fk.Columns = append(fk.Columns, from)
		if to == "" {
			fk.RefColumns = nil // the parent's key, whichever it is
		} else {
			fk.RefColumns = append(fk.RefColumns, to)
		}
		return nil
	})
	return fks, err
}

const mysqlKeys = `SELECT k.TABLE_NAME, k.REFERENCED_TABLE_NAME, r.DELETE_RULE, r.UPDATE_RULE,
 k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME, k.CONSTRAINT_NAME
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
 ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`

func (c *Catalog) mysqlKeys(ctx context.Context) ([]ForeignKey, error) {
	var fks []ForeignKey
	var table, ref, del, upd, col, refCol, name string
	last := ""
	err := c.collect(ctx, mysqlKeys, []any{&table, &ref, &del, &upd, &col, &refCol, &name}, func() error {
		if key := table + "\x00" + name; key != last {
			last = key
			fks = append(fks, ForeignKey{Table: c.norm(table), RefTable: c.norm(ref),
				OnDelete: parseAction(del), OnUpdate: parseAction(upd)})
		}
		fk := &fks[len(fks)-1]
		fk.Columns = append(fk.Columns, col)
		fk.RefColumns = append(fk.RefColumns, refCol)
		return nil
	})
	return fks, err
}
