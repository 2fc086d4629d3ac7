package hydraent

import (
	"context"
	"database/sql/driver"
	"reflect"
	"slices"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/internal/valuetag"
	"github.com/hydracache/hydracache/keys"
)

// writeSet is what one write invalidates.
type writeSet struct {
	table string
	tags  []string
	rows  bool            // the keys are unknown: bump the table's row epoch too
	flush bool            // the tables are unknown: flush the namespace
	ddl   bool            // a schema change: the catalog view is reloaded
	vw    *valuetag.Write // the value tags of the write to table
	// returning names the columns a write returns; doNothing: an INSERT
	// that skips conflicting rows (one that returns none changed nothing).
	returning []string
	doNothing bool
	// st and args are the statement's, for the value tags of an UPDATE or
	// DELETE, recorded when it ran (changed), or at publish without its rows.
	st      *sqlstmt.Statement
	args    []any
	changes bool
	capture int // index of the key column in RETURNING, -1 if none
}

func argList(args any) []any {
	a, _ := args.([]any)
	return a
}

// writeSet computes the tags of a write: the table's tag always; the
// entity tags of the keys the statement names, or the table's row epoch
// when they are unknown; the tags of the tables the foreign keys' actions
// reach. DDL and statements not understood flush the namespace.
func (d *Driver) writeSet(s *stmt, args any) writeSet {
	w := writeSet{capture: -1}
	if s.Kind == sqlstmt.Unknown || s.Kind == sqlstmt.DDL || len(s.Writes) == 0 {
		w.flush, w.ddl = true, s.Kind == sqlstmt.DDL
		return w
	}
	if s.Coarse || len(s.Writes) > 1 {
		// Several targets, or rows that depend on a CTE: every row of
		// each, and whatever their rows reach.
		for _, t := range append(slices.Clip(s.Writes), s.Folds...) {
			vw := d.valueWrite(t)
			vw.UnknownAll()
			w.tags = append(w.tags, vw.Tags()...)
			w.tags = append(w.tags, keys.TableTag(t), keys.RowsTag(t))
			if !d.related(&w, t, true, nil) {
				w.flush = true
			}
			d.related(&w, t, false, nil)
		}
		return w
	}
	argv := argList(args)
	t := s.Writes[0]
	w.table = t
	w.tags = append(w.tags, keys.TableTag(t))
	w.vw = d.valueWrite(t)
	w.returning, w.doNothing = s.Returning, s.Kind == sqlstmt.Insert && s.DoNothing
	w.st, w.args, w.changes = s.Statement, argv, s.Kind == sqlstmt.Update || s.Kind == sqlstmt.Delete
	pk := d.cfg.keyColumn(t)
	switch s.Kind {
	case sqlstmt.Insert:
		w.vw.Insert(s.Statement, argv, s.Returning...)
		if s.Upsert {
			w.vw.UnknownAll() // the old values of the rows it updated
		}
		if pk != "" {
			w.capture = slices.Index(s.Returning, pk)
		}
		if s.Upsert {
			// A conflicting row, whatever its key, may have been updated
			// (or, by REPLACE, deleted): only RETURNING tells which.
			w.rows = w.capture < 0
			if !d.related(&w, t, true, nil) {
				w.flush = true
			}
			d.related(&w, t, false, nil)
			break
		}
		at := -1
		if pk != "" {
			at = slices.Index(s.Cols, pk)
		}
		if at < 0 || len(s.Rows) == 0 {
			w.rows = w.capture < 0
			break
		}
		for _, row := range s.Rows {
			if at >= len(row) || !w.addKey(t, argv, row[at]) {
				w.rows = w.rows || w.capture < 0
			}
		}
	case sqlstmt.Update:
		d.keyTags(&w, s, t, pk, argv)
		for _, c := range s.SetCols {
			if c == "" || c == pk {
				w.rows = true // the key itself changes: rows move between keys
				break
			}
		}
		d.related(&w, t, false, s.SetCols)
	case sqlstmt.Delete:
		d.keyTags(&w, s, t, pk, argv)
		if !d.related(&w, t, true, nil) {
			// Neither the schema nor the catalog is known: the rows a
			// cascade changes are unknown.
			w.flush = true
		}
	}
	for _, f := range s.Folds {
		// UPDATE Users may mean "users": invalidate that table wholesale.
		w.tags = append(w.tags, keys.TableTag(f), keys.RowsTag(f))
		if s.Kind == sqlstmt.Delete {
			d.related(&w, f, true, nil)
		} else {
			d.related(&w, f, false, s.SetCols)
		}
	}
	return w
}

// changed records the value tags of an UPDATE or DELETE once it ran:
// rows, when not nil, are the rows it changed (RETURNING *).
func (w *writeSet) changed(s *stmt, args []any, rows *rowset.Result) {
	if w.vw != nil && w.changes {
		w.vw.Change(s.Statement, args, rows)
		w.changes = false
	}
}

// valueWrite starts the value tags of a write to table (see GORM's twin).
func (d *Driver) valueWrite(table string) *valuetag.Write {
	if !d.catalog.Supported() {
		return valuetag.NewWrite(table, map[string]keytext.Kind{}) // no read is tagged by value
	}
	snap := d.catalog.Current()
	if snap == nil {
		return valuetag.NewWrite(table, nil)
	}
	idx := snap.Indexed(table)
	if idx == nil {
		idx = map[string]keytext.Kind{}
	}
	return valuetag.NewWrite(table, idx)
}

// keyTags adds the entity tags of the keys a WHERE clause restricts the
// statement to, or marks the keys unknown.
func (d *Driver) keyTags(w *writeSet, s *stmt, table, pk string, argv []any) {
	if pk == "" || !s.CondsKnown || s.Joined {
		w.rows = true
		return
	}
	for _, c := range s.Conds {
		if c.Col != pk {
			continue
		}
		// One key conjunct bounds the rows: the others only narrow them.
		for _, p := range c.Params {
			if !w.addKey(table, argv, p) {
				w.rows = true
			}
		}
		return
	}
	w.rows = true
}

// addKey adds the entity tag of argument i as a key of table.
func (w *writeSet) addKey(table string, argv []any, i int) bool {
	if i < 0 || i >= len(argv) {
		return false
	}
	v, err := keys.Value(argv[i])
	if err != nil {
		return false
	}
	w.addEntity(table, v)
	return true
}

// addEntity adds the tags of the row whose key text is key: under every
// spelling a read may have cached it (see keytext.Spellings).
func (w *writeSet) addEntity(table, key string) {
	for _, s := range keytext.Spellings(key) {
		w.tags = append(w.tags, keys.EntityTag(table, s))
	}
}

// related adds the table and row-epoch tags of every table the foreign
// keys' actions reach when rows of table are deleted (del) or when its
// columns cols are updated (nil: any), as the schema given with WithSchema
// and the database's catalog have them. It reports false when neither is
// known.
func (d *Driver) related(w *writeSet, table string, del bool, cols []string) bool {
	snap := d.catalog.Current()
	for _, t := range d.cfg.fks.Affected(table, !del, cols) {
		w.tags = append(w.tags, keys.TableTag(t), keys.RowsTag(t))
	}
	for _, t := range snap.Affected(table, !del, cols) {
		w.tags = append(w.tags, keys.TableTag(t), keys.RowsTag(t))
	}
	return snap != nil || len(d.cfg.tables) > 0
}

// publish bumps w's tags: at once outside a transaction (the statement has
// committed), into the transaction's buffer inside one.
func (d *Driver) publish(ctx context.Context, tx *Tx, w writeSet) {
	tags := w.tags
	if w.rows && w.table != "" {
		tags = append(tags, keys.RowsTag(w.table))
	}
	if w.vw != nil {
		if w.changes { // not recorded with its rows
			w.vw.Change(w.st, w.args, nil)
		}
		tags = append(tags, w.vw.Tags()...)
	}
	if w.ddl {
		d.catalog.Invalidate()
	}
	if tx != nil {
		if w.flush {
			tx.flush.Store(true)
		}
		_ = tx.buf.Add(ctx, tags...) // cannot fail while the transaction is open
		return
	}
	// A cancelled request must still bump: its write may have committed.
	ctx = context.WithoutCancel(ctx)
	if len(tags) > 0 {
		_ = d.cache.InvalidateTags(ctx, tags...) // core retries and logs failures
	}
	if w.flush {
		_ = d.cache.Flush(ctx)
	}
}

// writeQuery runs a write that returns rows (INSERT ... RETURNING). Its
// tags are published when Ent closes the rows: by then the statement has
// run to completion, and the keys it returned are known.
func (d *Driver) writeQuery(ctx context.Context, q dialect.ExecQuerier, tx *Tx, s *stmt, query string, args, v any) error {
	w := d.writeSet(s, args)
	rows, ok := v.(*entsql.Rows)
	if !ok {
		err := q.Query(ctx, query, args, v)
		w.rows = true
		d.publish(ctx, tx, w)
		return err
	}
	if err := q.Query(ctx, query, args, v); err != nil {
		d.publish(ctx, tx, w)
		return err
	}
	rows.ColumnScanner = &watchRows{ColumnScanner: rows.ColumnScanner, d: d, ctx: ctx, tx: tx, w: w}
	return nil
}

// returned adds the keys of the rows a write returned, read to the end by
// rowset.Capture; keys it cannot read leave the row epoch to bump.
func (w *writeSet) returned(res *rowset.Result) {
	if w.vw != nil {
		w.vw.Returned(res)
	}
	if w.capture < 0 {
		w.rows = true
		return
	}
	if res.Err != nil {
		w.rows = true // some returned keys were never read
	}
	col := w.capture // RETURNING's columns are the result's
	if col >= len(res.Columns) {
		w.rows = true
		return
	}
	for _, row := range res.Values {
		v := row[col]
		if b, ok := v.([]byte); ok {
			w.addEntity(w.table, string(b)) // a text key read back as bytes
		}
		if k, err := keys.Value(v); err == nil {
			w.addEntity(w.table, k)
		} else {
			w.rows = true
		}
	}
}

// watchRows collects the keys a write returns and publishes the write's
// tags when closed.
type watchRows struct {
	entsql.ColumnScanner
	d      *Driver
	ctx    context.Context
	tx     *Tx
	w      writeSet
	ended  bool // Next returned false: every returned key was seen
	closed bool
	seen   int // rows scanned
}

func (r *watchRows) Next() bool {
	ok := r.ColumnScanner.Next()
	if !ok {
		r.ended = true
	}
	return ok
}

func (r *watchRows) Scan(dest ...any) error {
	err := r.ColumnScanner.Scan(dest...)
	if err != nil {
		return err
	}
	r.seen++
	if r.w.vw != nil {
		for i, d := range dest {
			if i < len(r.w.returning) && r.w.returning[i] != "" {
				if x, ok := scanned(d); ok {
					r.w.vw.Value(r.w.returning[i], x)
				} else {
					r.w.vw.Unknown(r.w.returning[i])
				}
			}
		}
	}
	if r.w.capture < 0 || r.w.capture >= len(dest) {
		return nil
	}
	x, ok := scanned(dest[r.w.capture])
	if !ok {
		return nil
	}
	if b, ok := x.([]byte); ok {
		// A driver may return a text key as bytes; reads key it by the
		// argument, a string. Bump both spellings.
		r.w.addEntity(r.w.table, string(b))
	}
	if k, kerr := keys.Value(x); kerr == nil {
		r.w.addEntity(r.w.table, k)
	} else {
		r.w.rows = true
	}
	return nil
}

func (r *watchRows) Close() error {
	err := r.ColumnScanner.Close()
	if !r.closed {
		r.closed = true
		if r.ended && r.seen == 0 && r.w.doNothing && err == nil && r.ColumnScanner.Err() == nil {
			return nil // every row was there already: nothing changed
		}
		if !r.ended {
			if r.w.capture >= 0 {
				r.w.rows = true // some returned keys were never read
			}
			if r.w.vw != nil {
				for _, c := range r.w.returning {
					r.w.vw.Unknown(c)
				}
			}
		}
		r.d.publish(r.ctx, r.tx, r.w)
	}
	return err
}

// scanned returns the value a Scan destination holds.
func scanned(dest any) (any, bool) {
	v := reflect.ValueOf(dest)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	if !v.CanInterface() {
		return nil, false
	}
	x := v.Interface()
	if dv, ok := x.(driver.Valuer); ok {
		y, err := dv.Value()
		if err != nil {
			return nil, false
		}
		return y, true
	}
	return x, true
}
