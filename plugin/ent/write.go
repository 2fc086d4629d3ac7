package hydraent

import (
	"context"
	"reflect"
	"slices"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/hydracache/hydracache/keys"
)

// writes reports whether the statement may change rows or schema.
func (s *stmt) writes() bool {
	switch s.kind {
	case kInsert, kUpdate, kDelete, kDDL, kUnknown:
		return true
	}
	return false
}

// writeSet is what one write invalidates.
type writeSet struct {
	table   string
	tags    []string
	rows    bool // the keys are unknown: bump the table's row epoch too
	flush   bool // the tables are unknown: flush the namespace
	capture int  // index of the key column in RETURNING, -1 if none
}

func argList(args any) []any {
	a, _ := args.([]any)
	return a
}

// writeSet computes the tags DESIGN.md names for a write: the table's tag
// always; the entity tags of the keys the statement names, or the table's
// row epoch when they are unknown; the tags of tables whose rows a
// foreign-key action changes.
func (d *Driver) writeSet(s *stmt, args any) writeSet {
	w := writeSet{capture: -1}
	if s.kind == kUnknown || len(s.tables) == 0 {
		w.flush = true
		return w
	}
	argv := argList(args)
	t := s.tables[0]
	w.table = t
	w.tags = append(w.tags, keys.TableTag(t))
	pk := d.cfg.keyColumn(t)
	switch s.kind {
	case kDDL:
		w.rows = true
		d.related(&w, t, d.cfg.children)
	case kInsert:
		if pk != "" {
			w.capture = slices.Index(s.returning, pk)
		}
		if s.upsert {
			// A conflicting row, whatever its key, may have been updated:
			// only RETURNING tells which.
			w.rows = w.capture < 0
			break
		}
		at := -1
		if pk != "" {
			at = slices.Index(s.cols, pk)
		}
		if at < 0 || len(s.rows) == 0 {
			w.rows = w.capture < 0
			break
		}
		for _, row := range s.rows {
			if at >= len(row) || !w.addKey(t, argv, row[at]) {
				w.rows = w.rows || w.capture < 0
			}
		}
	case kUpdate:
		d.keyTags(&w, s, t, pk, argv)
		for _, c := range s.setCols {
			if c == "" || c == pk {
				// The key itself changes: rows move between keys, and
				// ON UPDATE actions reach other tables.
				w.rows = true
				d.related(&w, t, d.cfg.onUpdate)
				break
			}
		}
	case kDelete:
		d.keyTags(&w, s, t, pk, argv)
		if len(d.cfg.tables) == 0 {
			// Without the schema, the rows a cascade changes are unknown.
			w.flush = true
			break
		}
		d.related(&w, t, d.cfg.children)
	}
	if f := s.folded; f != "" {
		// UPDATE Users may mean "users": invalidate that table wholesale.
		w.tags = append(w.tags, keys.TableTag(f), keys.RowsTag(f))
		if s.kind == kDelete || s.kind == kDDL {
			d.related(&w, f, d.cfg.children)
		}
	}
	return w
}

// keyTags adds the entity tags of the keys a WHERE clause restricts the
// statement to, or marks the keys unknown.
func (d *Driver) keyTags(w *writeSet, s *stmt, table, pk string, argv []any) {
	if pk == "" || !s.condsKnown || s.joined {
		w.rows = true
		return
	}
	for _, c := range s.conds {
		if c.col != pk {
			continue
		}
		// One key conjunct bounds the rows: the others only narrow them.
		for _, p := range c.params {
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
	w.tags = append(w.tags, keys.EntityTag(table, v))
	return true
}

// related adds the table and row-epoch tags of every table a foreign-key
// action from table reaches, following cascades.
func (d *Driver) related(w *writeSet, table string, edges map[string][]fkChild) {
	seen := map[string]bool{table: true}
	queue := []string{table}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		for _, c := range edges[t] {
			if seen[c.table] {
				continue
			}
			seen[c.table] = true
			w.tags = append(w.tags, keys.TableTag(c.table), keys.RowsTag(c.table))
			// A cascaded delete goes on to the child's own children.
			queue = append(queue, c.table)
		}
	}
}

// publish bumps w's tags: at once outside a transaction (the statement has
// committed), into the transaction's buffer inside one.
func (d *Driver) publish(ctx context.Context, tx *Tx, w writeSet) {
	tags := w.tags
	if w.rows && w.table != "" {
		tags = append(tags, keys.RowsTag(w.table))
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
	if err != nil || r.w.capture < 0 || r.w.capture >= len(dest) {
		return err
	}
	v := reflect.ValueOf(dest[r.w.capture])
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if !v.CanInterface() {
		return nil
	}
	x := v.Interface()
	if b, ok := x.([]byte); ok {
		// A driver may return a text key as bytes; reads key it by the
		// argument, a string. Bump both spellings.
		r.w.tags = append(r.w.tags, keys.EntityTag(r.w.table, string(b)))
	}
	if k, kerr := keys.Value(x); kerr == nil {
		r.w.tags = append(r.w.tags, keys.EntityTag(r.w.table, k))
	} else {
		r.w.rows = true
	}
	return nil
}

func (r *watchRows) Close() error {
	err := r.ColumnScanner.Close()
	if !r.closed {
		r.closed = true
		if r.w.capture >= 0 && !r.ended {
			r.w.rows = true // some returned keys were never read
		}
		r.d.publish(r.ctx, r.tx, r.w)
	}
	return err
}
