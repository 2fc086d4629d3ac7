package hydraent

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/hydracache/hydracache/core/rowset"
)

// fastRows replays a RowSet to Ent without a trip through database/sql,
// for the destinations Ent's generated scanners use. Each one is assigned
// exactly as database/sql's convertAssignRows assigns it (Go 1.26): a
// sql.Scanner gets the driver value itself; *any and *[]byte get a copy of
// bytes; *string, *time.Time and *bool take same-typed values. Any other
// destination or value scans the row through rowset's database/sql replay,
// so what Ent sees never depends on which path ran. DESIGN.md asks for
// this fast path in core; until rowset has one, it lives here. The
// differential tests compare both paths with the database's own answer.
type fastRows struct {
	rs    *rowset.RowSet
	ctx   context.Context
	next  int
	cur   []driver.Value
	names []string
}

var errNoNext = errors.New("sql: Scan called without calling Next")

func (r *fastRows) Close() error        { r.cur = nil; r.next = len(r.rs.Values); return nil }
func (r *fastRows) Err() error          { return nil }
func (r *fastRows) NextResultSet() bool { return false }

func (r *fastRows) Next() bool {
	if r.next >= len(r.rs.Values) {
		r.cur = nil
		return false
	}
	r.cur = r.rs.Values[r.next]
	r.next++
	return true
}

func (r *fastRows) Columns() ([]string, error) {
	if r.names == nil {
		r.names = columnNames(r.rs)
	}
	return r.names, nil
}

// ColumnTypes comes from a real replay: *sql.ColumnType cannot be made
// outside database/sql.
func (r *fastRows) ColumnTypes() ([]*sql.ColumnType, error) {
	rows, err := (&rowset.RowSet{Columns: r.rs.Columns}).Rows(r.ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.ColumnTypes()
}

func (r *fastRows) Scan(dest ...any) error {
	if r.cur == nil {
		return errNoNext
	}
	if len(dest) != len(r.cur) {
		return fmt.Errorf("sql: expected %d destination arguments in Scan, not %d", len(r.cur), len(dest))
	}
	for i, d := range dest {
		ok, err := assign(d, r.cur[i])
		if !ok {
			return r.slowScan(dest)
		}
		if err != nil {
			return fmt.Errorf(`sql: Scan error on column index %d, name %q: %w`, i, r.rs.Columns[i].Name, err)
		}
	}
	return nil
}

// slowScan scans the current row through database/sql.
func (r *fastRows) slowScan(dest []any) error {
	one := &rowset.RowSet{Columns: r.rs.Columns, Values: [][]driver.Value{r.cur}}
	rows, err := one.Rows(r.ctx)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		return fmt.Errorf("hydraent: replay of a recorded row returned none: %w", rows.Err())
	}
	return rows.Scan(dest...)
}

// assign stores src in dest as database/sql would, reporting ok=false for
// a pair it leaves to database/sql.
func assign(dest any, src driver.Value) (ok bool, err error) {
	switch d := dest.(type) {
	case *any:
		if d == nil {
			return false, nil
		}
		if b, isBytes := src.([]byte); isBytes {
			*d = bytes.Clone(b)
		} else {
			*d = src
		}
		return true, nil
	case *[]byte:
		if d == nil {
			return false, nil
		}
		switch s := src.(type) {
		case []byte:
			*d = bytes.Clone(s)
		case string:
			*d = []byte(s)
		case nil:
			*d = nil
		default:
			return false, nil
		}
		return true, nil
	case *string:
		if d == nil {
			return false, nil
		}
		switch s := src.(type) {
		case string:
			*d = s
		case []byte:
			*d = string(s)
		default:
			return false, nil
		}
		return true, nil
	case *time.Time:
		s, isTime := src.(time.Time)
		if d == nil || !isTime {
			return false, nil
		}
		*d = s
		return true, nil
	case *bool:
		s, isBool := src.(bool)
		if d == nil || !isBool {
			return false, nil
		}
		*d = s
		return true, nil
	case *sql.RawBytes:
		return false, nil
	case sql.Scanner:
		// database/sql reaches Scanner destinations after the cases
		// above, with the driver value unchanged.
		return true, d.Scan(src)
	}
	return false, nil
}
