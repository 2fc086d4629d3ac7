package hydraent

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/internal/valuetag"
	"github.com/hydracache/hydracache/keys"
)

// errNoStore makes core skip storing a load whose result cannot be cached;
// the caller still gets the rows it loaded.
var errNoStore = errors.New("hydraent: result not cacheable")

// read answers a SELECT: a key read from entity entries, a cacheable
// collection from its entry, anything else from the database.
func (d *Driver) read(ctx context.Context, s *stmt, query string, args, v any) error {
	rows, ok := v.(*entsql.Rows)
	argv, argsOK := args.([]any)
	if !ok || !argsOK && args != nil || !d.readable(ctx, s, argv) {
		return d.drv.Query(ctx, query, args, v)
	}
	if core.ModeFrom(ctx) == core.ModeBypass && d.cacheable(s) {
		// Through core, which counts the bypass and calls the loader at
		// once; the loader hands Ent the live rows, recording nothing.
		_, err := d.cache.Fetch(ctx, core.Descriptor{}, func(ctx context.Context) ([]byte, error) {
			return nil, d.drv.Query(ctx, query, args, v)
		})
		return err
	}
	if s.keyRead() {
		if done, err := d.readKeys(ctx, s, query, argv, rows); done {
			return err
		}
	}
	p, ok := d.cfg.listPolicy(s.Reads)
	if !ok {
		return d.drv.Query(ctx, query, args, v)
	}
	fp, err := keys.Query(d.dialect, query, argv)
	if err != nil {
		return d.drv.Query(ctx, query, args, v)
	}
	// The tag slice is shared by every read of the statement: core only
	// reads it, and WithPolicy copies before adding.
	desc := core.Descriptor{Key: keys.Collection(fp), Tags: s.tableTags}
	if len(s.Reads) == 1 && s.CondsKnown && d.catalog.Supported() {
		// A read of one table restricted to values of an indexed column
		// depends on those rows alone; it is stored only while the
		// catalog view its tags come from is current.
		if snap, version := d.schemaForRead(ctx); version != "" {
			if vt := valuetag.Read(s.Reads[0], s.Conds, true, argv, snap.Indexed(s.Reads[0])); vt != nil {
				desc.Tags, desc.Epoch = vt, version
			}
		}
	}
	if len(p.Tags) > 0 {
		desc = desc.WithPolicy(p)
	} else {
		desc.Policy = p
	}
	var loaded atomic.Pointer[rowset.RowSet]
	payload, err := d.cache.Fetch(ctx, desc, func(ctx context.Context) ([]byte, error) {
		rs, err := d.load(ctx, query, argv)
		if err != nil {
			return nil, err
		}
		loaded.Store(rs)
		b, err := rs.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errNoStore, err)
		}
		return b, nil
	})
	rs := loaded.Load()
	switch {
	case err != nil && rs == nil:
		if errors.Is(err, errNoStore) || errors.Is(err, core.ErrLoaderPanic) {
			return d.drv.Query(ctx, query, args, v)
		}
		return err
	case rs == nil:
		hit, names, err := d.decoded.get(payload)
		if err != nil {
			// core validated the entry's versions, not its payload: a
			// corrupt one is a miss.
			return d.drv.Query(ctx, query, args, v)
		}
		return d.replayNames(ctx, hit, names, rows)
	}
	return d.replay(ctx, rs, rows)
}

// cacheable reports whether the statement's reads would use the cache.
func (d *Driver) cacheable(s *stmt) bool {
	if s.keyRead() {
		if _, ok := d.cfg.policy(s.Reads[0]); ok {
			return true
		}
	}
	_, ok := d.cfg.listPolicy(s.Reads)
	return ok
}

// load runs query on the database and records its whole result.
func (d *Driver) load(ctx context.Context, query string, argv []any) (*rowset.RowSet, error) {
	var r entsql.Rows
	if err := d.drv.Query(ctx, query, argv, &r); err != nil {
		return nil, err
	}
	rs, err := rowset.Record(r.ColumnScanner)
	if err != nil {
		// A value the recorder does not take, or an error mid-result: the
		// caller runs the query again, uncached, and gets the database's
		// own answer (or error) rather than a cache problem.
		return nil, fmt.Errorf("%w: %w", errNoStore, err)
	}
	return rs, nil
}

// replay hands rs to Ent as a result set.
func (d *Driver) replay(ctx context.Context, rs *rowset.RowSet, rows *entsql.Rows) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	*rows = entsql.Rows{ColumnScanner: rs.Fast(ctx, nil)}
	return nil
}

// replayNames is replay with the column names already made: a hit shares
// them with every other replay of the entry (Ent only reads them).
func (d *Driver) replayNames(ctx context.Context, rs *rowset.RowSet, names []string, rows *entsql.Rows) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	*rows = entsql.Rows{ColumnScanner: rs.Fast(ctx, names)}
	return nil
}

// readKeys answers a read by key from per-row entity entries. done is false
// when the statement turns out not to be a cacheable key read.
func (d *Driver) readKeys(ctx context.Context, s *stmt, query string, argv []any, rows *entsql.Rows) (done bool, err error) {
	table := s.Reads[0]
	pol, ok := d.cfg.policy(table)
	c := s.Conds[0]
	if !ok || c.Col != d.cfg.keyColumn(table) || c.Col == "" {
		return false, nil
	}
	if !c.In {
		if c.Params[0] >= len(argv) {
			return false, nil
		}
		v := argv[c.Params[0]]
		id, ok := keyText(d.cfg.keyKind(table, v, d.sqlDialect), v)
		if !ok {
			return false, nil
		}
		return true, d.readOne(ctx, s, table, id, pol, query, argv, rows)
	}
	ids := make([]string, 0, len(c.Params))
	vals := make([]any, 0, len(c.Params))
	var kind keytext.Kind
	for i, p := range c.Params {
		if p >= len(argv) {
			return false, nil
		}
		v := argv[p]
		if k := d.cfg.keyKind(table, v, d.sqlDialect); i == 0 {
			kind = k
		} else if k != kind {
			return false, nil
		}
		k, ok := keyText(kind, v)
		if !ok {
			return false, nil
		}
		if slices.Contains(ids, k) {
			continue // IN (1, 1) returns the row once
		}
		ids = append(ids, k)
		vals = append(vals, v)
	}
	// The database returns such a lookup in key order: numeric for
	// integers, the canonical text's for PostgreSQL's uuid. Text keys are
	// ordered by its collation, which is not known here: the statement
	// is then read as a collection, whose entry keeps the database's order.
	if !keyOrder(kind, d.sqlDialect, ids, vals) {
		return false, nil
	}
	return true, d.readMany(ctx, s, table, kind, ids, vals, pol, query, argv, rows)
}

// keyText returns the canonical text of a key value, or false when the
// value must not be read through an entity entry (see keytext).
func keyText(kind keytext.Kind, v any) (string, bool) {
	s, err := keys.Value(v)
	if err != nil {
		return "", false
	}
	return keytext.Canonical(kind, s)
}

// keyOrder sorts ids and vals into the order the database returns a
// lookup of these keys in, and reports false when that order is not
// known.
func keyOrder(kind keytext.Kind, dialect sqlstmt.Dialect, ids []string, vals []any) bool {
	if len(ids) < 2 {
		return true
	}
	var cmp func(a, b string) int
	switch {
	case kind == keytext.Int:
		cmp = func(a, b string) int {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			return cmpOrdered(x, y)
		}
	case kind == keytext.UUID && dialect == sqlstmt.Postgres:
		cmp = strings.Compare
	default:
		return false
	}
	idx := make([]int, len(ids))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp(ids[a], ids[b]) })
	sortedIDs, sortedVals := make([]string, len(ids)), make([]any, len(ids))
	for i, j := range idx {
		sortedIDs[i], sortedVals[i] = ids[j], vals[j]
	}
	copy(ids, sortedIDs)
	copy(vals, sortedVals)
	return true
}

func cmpOrdered(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// entity returns the descriptor of one row as read with the columns of
// the statement's shape: the key names the shape, the tags do not, so a
// write to the row invalidates it in every shape.
func entity(s *stmt, id string, p core.Policy) core.Descriptor {
	var tag string
	if id == "" || strings.ContainsAny(id, ":\\") {
		tag = keys.EntityTag(s.Reads[0], id)
	} else {
		// keys.Join(a...) + ":" + keys.Join(b...) == keys.Join(a..., b...),
		// and a key without ':' or '\\' is its own encoding.
		tag = s.entityPrefix + ":" + id
	}
	d := core.Descriptor{Key: tag + ":" + s.shape, Tags: []string{tag, s.rowsTag}}
	if len(p.Tags) > 0 {
		return d.WithPolicy(p)
	}
	d.Policy = p
	return d
}

func (d *Driver) readOne(ctx context.Context, s *stmt, table, id string, p core.Policy, query string, argv []any, rows *entsql.Rows) error {
	desc, ok := s.prepared.Load(id)
	if !ok {
		desc = d.cache.Prepare(entity(s, id, p))
		s.prepared.Store(id, desc)
	}
	var loaded atomic.Pointer[rowset.RowSet]
	payload, err := d.cache.Fetch(ctx, desc, func(ctx context.Context) ([]byte, error) {
		rs, err := d.load(ctx, query, argv)
		if err != nil {
			return nil, err
		}
		loaded.Store(rs)
		switch rs.Len() {
		case 0:
			d.empty.Store(s.shape, &rowset.RowSet{Columns: rs.Columns})
			return nil, core.ErrNotFound
		case 1:
		default:
			return nil, errNoStore // not a key after all
		}
		b, err := rs.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errNoStore, err)
		}
		return b, nil
	})
	if rs := loaded.Load(); rs != nil && (err == nil || errors.Is(err, core.ErrNotFound) || errors.Is(err, errNoStore)) {
		return d.replay(ctx, rs, rows)
	}
	switch {
	case errors.Is(err, core.ErrNotFound):
		if e, ok := d.empty.Load(s.shape); ok {
			return d.replay(ctx, e.(*rowset.RowSet), rows)
		}
		// A cached not-found of a shape this process has not seen empty:
		// no column list to replay it with.
		return d.drv.Query(ctx, query, argv, rows)
	case err != nil:
		if errors.Is(err, errNoStore) || errors.Is(err, core.ErrLoaderPanic) {
			return d.drv.Query(ctx, query, argv, rows)
		}
		return err
	}
	rs, names, err := d.decoded.get(payload)
	if err != nil {
		return d.drv.Query(ctx, query, argv, rows)
	}
	return d.replayNames(ctx, rs, names, rows)
}

// readMany answers an IN read by key: each key is an entity entry, and
// only the missing ones are loaded, with one statement.
func (d *Driver) readMany(ctx context.Context, s *stmt, table string, kind keytext.Kind, ids []string, vals []any, p core.Policy, query string, argv []any, rows *entsql.Rows) error {
	ds := make([]core.Descriptor, len(ids))
	for i, id := range ids {
		ds[i] = entity(s, id, p)
	}
	var cols atomic.Pointer[[]rowset.Column]
	var loadedRows atomic.Pointer[map[int][]driver.Value]
	out, err := d.cache.FetchMany(ctx, ds, func(ctx context.Context, missing []int) ([][]byte, error) {
		q, qargs := d.missingQuery(s, missing, vals)
		rs, err := d.load(ctx, q, qargs)
		if err != nil {
			return nil, err
		}
		cols.Store(&rs.Columns)
		d.empty.Store(s.shape, &rowset.RowSet{Columns: rs.Columns})
		at := -1
		for i, c := range rs.Columns {
			if c.Name == s.Conds[0].Col {
				at = i
			}
		}
		if at < 0 {
			return nil, errNoStore
		}
		byID := make(map[string][]driver.Value, len(rs.Values))
		for _, row := range rs.Values {
			k, ok := keyText(kind, row[at])
			if !ok {
				return nil, errNoStore
			}
			byID[k] = row
			if b, ok := row[at].([]byte); ok {
				byID[string(b)] = row // a text key read back as bytes
			}
		}
		res := make([][]byte, len(missing))
		got := make(map[int][]driver.Value, len(missing))
		found := 0
		for j, i := range missing {
			row, ok := byID[ids[i]]
			if !ok {
				continue // not found: cached as such
			}
			found++
			got[i] = row
			b, err := (&rowset.RowSet{Columns: rs.Columns, Values: [][]driver.Value{row}}).MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", errNoStore, err)
			}
			res[j] = b
		}
		if found != len(rs.Values) {
			// A row that matches no requested key: the key text of the
			// database differs from the argument's; do not cache.
			return nil, errNoStore
		}
		loadedRows.Store(&got)
		return res, nil
	})
	if err != nil {
		if errors.Is(err, errNoStore) || errors.Is(err, core.ErrLoaderPanic) {
			return d.drv.Query(ctx, query, argv, rows)
		}
		return err
	}
	var got map[int][]driver.Value
	if g := loadedRows.Load(); g != nil {
		got = *g
	}
	result := &rowset.RowSet{}
	if c := cols.Load(); c != nil {
		result.Columns = *c
	}
	for i, b := range out {
		if b == nil {
			continue
		}
		if row, ok := got[i]; ok {
			result.Values = append(result.Values, row)
			continue
		}
		one, _, err := d.decoded.get(b)
		if err != nil || one.Len() != 1 {
			return d.drv.Query(ctx, query, argv, rows)
		}
		if result.Columns == nil {
			result.Columns = one.Columns
		}
		result.Values = append(result.Values, one.Values[0])
	}
	if result.Columns == nil {
		e, ok := d.empty.Load(s.shape)
		if !ok {
			return d.drv.Query(ctx, query, argv, rows)
		}
		result.Columns = e.(*rowset.RowSet).Columns
	}
	return d.replay(ctx, result, rows)
}

// missingQuery renders the key read of the missing keys: the statement's
// own columns and table, then WHERE <key> IN (...).
func (d *Driver) missingQuery(s *stmt, missing []int, vals []any) (string, []any) {
	var b strings.Builder
	b.WriteString(s.Key.Prefix)
	b.WriteString(" WHERE ")
	b.WriteString(s.Key.KeyRef)
	b.WriteString(" IN (")
	args := make([]any, len(missing))
	for j, i := range missing {
		if j > 0 {
			b.WriteString(", ")
		}
		if d.dialect == "postgres" {
			b.WriteString("$" + strconv.Itoa(j+1))
		} else {
			b.WriteByte('?')
		}
		args[j] = vals[i]
	}
	b.WriteByte(')')
	return b.String(), args
}
