// Package valuetag computes the value tags that make invalidation precise,
// the same way for both plugins (django-cacheops' idea, on tag versions):
// a read of one table whose WHERE restricts an indexed column to values
// ("comments"."article_id" = 5) depends only on the rows holding those
// values, so it carries their value tags instead of the table's tag; a
// write bumps the value tags of the values its rows held and hold. Where
// a write cannot tell a column's values for its rows, it bumps that
// column's tag, which every read tagged by the column carries; where it
// cannot tell its rows at all, the table's row epoch, which they carry
// too. The table's tag is bumped by every write, as before, for the reads
// that have no value tags.
//
// Which columns: the indexed ones whose values compare as their canonical
// text (the catalog's Indexed), the same set in every process that shares
// the cache, since a writer must bump what any reader may have tagged.
package valuetag

import (
	"slices"

	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/keys"
)

// MaxValues bounds the values a read is tagged by: a longer IN list is
// tagged by its table, so that a read checks few tags.
const MaxValues = 32

// Read returns the tags a read of table depends on in place of the
// table's tag: the value tags of one indexed column its WHERE restricts
// (the conjunct with the fewest values), that column's tag and the
// table's row epoch. It returns nil when no conjunct fits. conds are the
// statement's top-level conjuncts (only when known, a plain conjunction of
// a one-table read).
func Read(table string, conds []sqlstmt.Cond, known bool, args []any, indexed map[string]keytext.Kind) []string {
	if !known || len(indexed) == 0 {
		return nil
	}
	var (
		best   []string
		bestOf string
	)
	for _, c := range conds {
		if c.Table != "" && c.Table != table && !equalFold(c.Table, table) {
			continue
		}
		kind, ok := indexed[c.Col]
		if !ok || len(c.Params) == 0 || len(c.Params) > MaxValues || best != nil && len(c.Params) >= len(best) {
			continue
		}
		vals := make([]string, 0, len(c.Params))
		for _, p := range c.Params {
			if p < 0 || p >= len(args) {
				vals = nil
				break
			}
			v, ok := text(kind, args[p])
			if !ok {
				vals = nil
				break
			}
			vals = append(vals, v)
		}
		if vals != nil {
			best, bestOf = vals, c.Col
		}
	}
	if best == nil {
		return nil
	}
	tags := make([]string, 0, len(best)+2)
	for _, v := range best {
		tags = append(tags, keys.ValueTag(table, bestOf, v))
	}
	return append(tags, keys.ColumnTag(table, bestOf), keys.RowsTag(table))
}

// text is the canonical text of a column value, as reads and writes spell
// it.
func text(kind keytext.Kind, v any) (string, bool) {
	if b, ok := v.([]byte); ok && kind != keytext.UUID {
		v = string(b) // a driver's text read back as bytes
	}
	s, err := keys.Value(v)
	if err != nil {
		return "", false
	}
	return keytext.Canonical(kind, s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Write gathers the value tags of one write to one table.
type Write struct {
	table   string
	indexed map[string]keytext.Kind
	tags    []string
	seen    map[string]bool
	unknown map[string]bool // columns whose tag is in tags
	rows    bool            // the row epoch is in tags
}

// NewWrite starts the tags of a write to table, whose indexed columns are
// indexed (nil when the catalog is not known: the write then bumps the
// table's row epoch, which every value-tagged read carries).
func NewWrite(table string, indexed map[string]keytext.Kind) *Write {
	w := &Write{table: table, indexed: indexed, seen: map[string]bool{}, unknown: map[string]bool{}}
	if indexed == nil {
		w.Rows()
	}
	return w
}

// Value records a value that rows of the write held or hold in col.
func (w *Write) Value(col string, v any) {
	kind, ok := w.indexed[col]
	if !ok || w.unknown[col] {
		return
	}
	if v == nil {
		return // NULL: no read is tagged by it
	}
	s, ok := text(kind, v)
	if !ok {
		// A spelling reads may not share: every value of the column.
		w.Unknown(col)
		return
	}
	w.add(keys.ValueTag(w.table, col, s))
}

// Unknown records that the write's rows held or hold values of col it
// cannot tell.
func (w *Write) Unknown(col string) {
	if _, ok := w.indexed[col]; !ok || w.unknown[col] {
		return
	}
	w.unknown[col] = true
	w.add(keys.ColumnTag(w.table, col))
}

// UnknownAll records that the write's values of every indexed column are
// unknown.
func (w *Write) UnknownAll() {
	for _, col := range w.Columns() {
		w.Unknown(col)
	}
}

// Rows records that the write's rows are unknown: the row epoch.
func (w *Write) Rows() {
	if !w.rows {
		w.rows = true
		w.add(keys.RowsTag(w.table))
	}
}

func (w *Write) add(tag string) {
	if !w.seen[tag] {
		w.seen[tag] = true
		w.tags = append(w.tags, tag)
	}
}

// Columns returns the table's indexed columns, sorted.
func (w *Write) Columns() []string {
	cols := make([]string, 0, len(w.indexed))
	for c := range w.indexed {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	return cols
}

// Tags returns the tags gathered.
func (w *Write) Tags() []string { return w.tags }

// Insert records an INSERT's rows from the values it sends: each indexed
// column sent as a placeholder gives its value; one not sent, or sent as
// an expression, is unknown (a default, a sequence), unless it is among
// returned, the columns whose values the caller records from RETURNING
// (with Value, or Unknown when it cannot read them all).
func (w *Write) Insert(st *sqlstmt.Statement, args []any, returned ...string) {
	if st.Coarse || len(st.Cols) == 0 || len(st.Rows) == 0 {
		w.UnknownAll()
		return
	}
	for _, col := range w.Columns() {
		at := -1
		for i, c := range st.Cols {
			if c == col {
				at = i
			}
		}
		if at < 0 {
			if !slices.Contains(returned, col) {
				w.Unknown(col)
			}
			continue
		}
		for _, row := range st.Rows {
			if at >= len(row) || row[at] < 0 || row[at] >= len(args) {
				w.Unknown(col)
				break
			}
			w.Value(col, args[row[at]])
		}
	}
}

// Returned records the values of the rows a write returned, column by
// column of res (RETURNING's columns; those not indexed are ignored).
func (w *Write) Returned(res *rowset.Result) {
	for i, c := range res.Columns {
		if _, ok := w.indexed[c.Name]; !ok {
			continue
		}
		for _, row := range res.Values {
			if i < len(row) {
				w.Value(c.Name, row[i])
			}
		}
	}
	if res.Err != nil {
		w.UnknownAll() // rows not read
	}
}

// Change records an UPDATE's or DELETE's rows. res, when not nil, holds
// every column of the rows it changed as they are after it (RETURNING *):
// the columns it did not assign held those values before too. Without
// res, the values of the rows are known only for columns its WHERE
// restricts to values. An assigned column's old values are known only
// from WHERE; its new ones from a placeholder assigned.
func (w *Write) Change(st *sqlstmt.Statement, args []any, res *rowset.Result) {
	if st.Coarse {
		w.UnknownAll()
		return
	}
	if res != nil {
		w.Returned(res)
	}
	for _, col := range w.Columns() {
		assigned, newKnown := false, true
		for i, c := range st.SetCols {
			if c == "" {
				w.UnknownAll()
				return
			}
			if c != col {
				continue
			}
			assigned = true
			if i >= len(st.SetParams) || st.SetParams[i] < 0 || st.SetParams[i] >= len(args) {
				newKnown = false
			} else {
				w.Value(col, args[st.SetParams[i]])
			}
		}
		switch {
		case res != nil && !assigned:
			continue // unchanged: RETURNING told its values
		case !newKnown && res == nil:
			w.Unknown(col) // the new values are not known
		case !w.fromWhere(st, args, col):
			// Unassigned, these are its values; assigned, the old ones
			// (RETURNING told the new). Without WHERE's, not known.
			w.Unknown(col)
		}
	}
}

// fromWhere records the values WHERE restricts col to, and reports
// whether it does.
func (w *Write) fromWhere(st *sqlstmt.Statement, args []any, col string) bool {
	if !st.CondsKnown {
		return false
	}
	for _, c := range st.Conds {
		if c.Col != col || c.Table != "" && !equalFold(c.Table, w.table) {
			continue
		}
		for _, p := range c.Params {
			if p < 0 || p >= len(args) {
				return false
			}
		}
		for _, p := range c.Params {
			w.Value(col, args[p])
		}
		return true
	}
	return false
}
