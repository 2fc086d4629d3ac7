package hydragorm

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core/rowset"
)

// fastRows replays a RowSet to gorm.Scan without database/sql for the
// destinations GORM scans into almost always: **T and *T for the basic
// types, *any, *sql.RawBytes and sql.Scanner values. Each conversion it
// does itself is one database/sql does in the same way for the same
// driver value (proven by TestFastRowsMatchesDatabaseSQL); for any other
// pair of destination and value, the whole row is scanned by a real
// database/sql replay (rowset.Rows) moved to the same row, so errors and
// unusual conversions are database/sql's own. DESIGN.md asks for this in
// core's rowset; it lives here until rowset offers it.
type fastRows struct {
	ctx   context.Context
	rs    *rowset.RowSet
	row   int // current row, -1 before the first Next
	slow  *sql.Rows
	moved int // Next calls made on slow
	err   error
}

var _ gorm.Rows = (*fastRows)(nil)

func newFastRows(ctx context.Context, rs *rowset.RowSet) *fastRows {
	return &fastRows{ctx: ctx, rs: rs, row: -1}
}

// Columns returns a slice of the caller's own: gorm.Scan rewrites it.
func (r *fastRows) Columns() ([]string, error) {
	names := make([]string, len(r.rs.Columns))
	for i := range r.rs.Columns {
		names[i] = r.rs.Columns[i].Name
	}
	return names, nil
}

// ColumnTypes comes from the database/sql replay: sql.ColumnType cannot be
// made elsewhere.
func (r *fastRows) ColumnTypes() ([]*sql.ColumnType, error) {
	if err := r.openSlow(); err != nil {
		return nil, err
	}
	return r.slow.ColumnTypes()
}

func (r *fastRows) Next() bool {
	if r.row+1 >= len(r.rs.Values) {
		r.row = len(r.rs.Values)
		return false
	}
	r.row++
	return true
}

func (r *fastRows) Err() error { return r.err }

func (r *fastRows) Close() error {
	if r.slow != nil {
		return r.slow.Close()
	}
	return nil
}

func (r *fastRows) openSlow() error {
	if r.slow != nil {
		return nil
	}
	rows, err := r.rs.Rows(r.ctx)
	if err != nil {
		r.err = err
		return err
	}
	r.slow = rows
	return nil
}

func (r *fastRows) Scan(dest ...any) error {
	if r.row >= 0 && r.row < len(r.rs.Values) {
		row := r.rs.Values[r.row]
		if len(row) == len(dest) && fastable(dest, row) {
			for i, d := range dest {
				if err := assign(d, row[i]); err != nil {
					// database/sql's words, so the error reads the same.
					return fmt.Errorf("sql: Scan error on column index %d, name %q: %w", i, r.rs.Columns[i].Name, err)
				}
			}
			return nil
		}
	}
	// database/sql, on the same row, for its exact conversions and errors.
	if err := r.openSlow(); err != nil {
		return err
	}
	for r.moved <= r.row && r.moved < len(r.rs.Values) {
		if !r.slow.Next() {
			break
		}
		r.moved++
	}
	return r.slow.Scan(dest...)
}

// fastable reports whether every destination takes its value the simple
// way. It assigns nothing, so a fallback never sees a half-scanned row
// (and a Scanner is never called twice).
func fastable(dest []any, row []driver.Value) bool {
	for i, d := range dest {
		if !canAssign(d, row[i]) {
			return false
		}
	}
	return true
}

func canAssign(dest any, src driver.Value) bool {
	switch dest.(type) {
	case *any, sql.Scanner:
		return true
	case *string:
		switch src.(type) {
		case string, []byte:
			return true
		}
	case *sql.RawBytes:
		switch src.(type) {
		case string, []byte, nil:
			return true
		}
	case *[]byte:
		switch src.(type) {
		case []byte, nil:
			return true
		}
	case *int64:
		_, ok := src.(int64)
		return ok
	case *int:
		_, ok := src.(int64)
		return ok && strconv.IntSize == 64
	case *int32:
		v, ok := src.(int64)
		return ok && v >= math.MinInt32 && v <= math.MaxInt32
	case *int16:
		v, ok := src.(int64)
		return ok && v >= math.MinInt16 && v <= math.MaxInt16
	case *int8:
		v, ok := src.(int64)
		return ok && v >= math.MinInt8 && v <= math.MaxInt8
	case *uint, *uint64:
		v, ok := src.(int64)
		return ok && v >= 0 && strconv.IntSize == 64
	case *uint32:
		v, ok := src.(int64)
		return ok && v >= 0 && v <= math.MaxUint32
	case *uint16:
		v, ok := src.(int64)
		return ok && v >= 0 && v <= math.MaxUint16
	case *uint8:
		v, ok := src.(int64)
		return ok && v >= 0 && v <= math.MaxUint8
	case *float64:
		_, ok := src.(float64)
		return ok
	case *bool:
		_, ok := src.(bool)
		return ok
	case *time.Time:
		_, ok := src.(time.Time)
		return ok
	}
	// **T: NULL gives a nil *T, a value a new T. Typed nil pointers carry
	// T's type to canAssign without allocating one.
	var elem any
	switch dest.(type) {
	case **string:
		elem = (*string)(nil)
	case **int64:
		elem = (*int64)(nil)
	case **int:
		elem = (*int)(nil)
	case **int32:
		elem = (*int32)(nil)
	case **int16:
		elem = (*int16)(nil)
	case **int8:
		elem = (*int8)(nil)
	case **uint:
		elem = (*uint)(nil)
	case **uint64:
		elem = (*uint64)(nil)
	case **uint32:
		elem = (*uint32)(nil)
	case **uint16:
		elem = (*uint16)(nil)
	case **uint8:
		elem = (*uint8)(nil)
	case **float64:
		elem = (*float64)(nil)
	case **bool:
		elem = (*bool)(nil)
	case **time.Time:
		elem = (*time.Time)(nil)
	case **[]byte:
		elem = (*[]byte)(nil)
	default:
		return false
	}
	return src == nil || canAssign(elem, src)
}

// assign does what database/sql's convertAssign does for the pairs
// canAssign accepts.
func assign(dest any, src driver.Value) error {
	switch d := dest.(type) {
	case *any:
		if b, ok := src.([]byte); ok {
			*d = bytes.Clone(b)
			return nil
		}
		*d = src
	case *string:
		switch s := src.(type) {
		case string:
			*d = s
		case []byte:
			*d = string(s)
		}
	case *sql.RawBytes:
		switch s := src.(type) {
		case string:
			*d = append((*d)[:0], s...)
		case []byte:
			*d = s
		case nil:
			*d = nil
		}
	case *[]byte:
		if s, ok := src.([]byte); ok {
			*d = bytes.Clone(s)
		} else {
			*d = nil
		}
	case *int64:
		*d = src.(int64)
	case *int:
		*d = int(src.(int64))
	case *int32:
		*d = int32(src.(int64))
	case *int16:
		*d = int16(src.(int64))
	case *int8:
		*d = int8(src.(int64))
	case *uint:
		*d = uint(src.(int64))
	case *uint64:
		*d = uint64(src.(int64))
	case *uint32:
		*d = uint32(src.(int64))
	case *uint16:
		*d = uint16(src.(int64))
	case *uint8:
		*d = uint8(src.(int64))
	case *float64:
		*d = src.(float64)
	case *bool:
		*d = src.(bool)
	case *time.Time:
		*d = src.(time.Time)
	case sql.Scanner:
		// database/sql hands a Scanner the driver's value as is.
		return d.Scan(src)
	case **string:
		assignPtr(d, src)
	case **int64:
		assignPtr(d, src)
	case **int:
		assignPtr(d, src)
	case **int32:
		assignPtr(d, src)
	case **int16:
		assignPtr(d, src)
	case **int8:
		assignPtr(d, src)
	case **uint:
		assignPtr(d, src)
	case **uint64:
		assignPtr(d, src)
	case **uint32:
		assignPtr(d, src)
	case **uint16:
		assignPtr(d, src)
	case **uint8:
		assignPtr(d, src)
	case **float64:
		assignPtr(d, src)
	case **bool:
		assignPtr(d, src)
	case **time.Time:
		assignPtr(d, src)
	case **[]byte:
		assignPtr(d, src)
	}
	return nil
}

// assignPtr fills a **T: nil for NULL, else a new T holding the value.
func assignPtr[T any](d **T, src driver.Value) {
	if src == nil {
		*d = nil
		return
	}
	v := new(T)
	_ = assign(v, src) // canAssign vetted the pair: no error
	*d = v
}
