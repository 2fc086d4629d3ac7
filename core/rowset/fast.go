package rowset

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// FastRows replays a RowSet to a scanner such as GORM's gorm.Scan or Ent's
// generated code without database/sql, for the destinations they scan into
// almost always: *T and **T of the basic types, *any, *sql.RawBytes and
// sql.Scanner values. Each conversion it does itself is the one
// database/sql's convertAssign does for the same driver value (proven by
// TestFastMatchesDatabaseSQL); a row with any other pair of destination
// and value is scanned whole by the database/sql replay (Rows) moved to the
// same row, so errors and unusual conversions are database/sql's own.
//
// It has the methods of gorm.Rows and of Ent's dialect/sql.ColumnScanner.
type FastRows struct {
	ctx   context.Context
	rs    *RowSet
	names []string
	row   int // current row, -1 before the first Next
	slow  *sql.Rows
	moved int // Next calls made on slow
	err   error
}

// database/sql's words, so that errors read the same on both paths.
var (
	errScanBeforeNext = errors.New("sql: Scan called without calling Next")
	errRowsClosed     = errors.New("sql: Rows are closed")
)

// Fast returns a replay of rs. names, when not nil, are rs's column
// names, which Columns returns as they are (the caller does not modify
// them); with nil, Columns returns a slice of the caller's own each time.
func (rs *RowSet) Fast(ctx context.Context, names []string) *FastRows {
	return &FastRows{ctx: ctx, rs: rs, names: names, row: -1}
}

// Columns returns the column names.
func (r *FastRows) Columns() ([]string, error) {
	if r.names != nil {
		return r.names, nil
	}
	names := make([]string, len(r.rs.Columns))
	for i := range r.rs.Columns {
		names[i] = r.rs.Columns[i].Name
	}
	return names, nil
}

// ColumnTypes comes from the database/sql replay: sql.ColumnType cannot be
// made elsewhere.
func (r *FastRows) ColumnTypes() ([]*sql.ColumnType, error) {
	if err := r.openSlow(); err != nil {
		return nil, err
	}
	return r.slow.ColumnTypes()
}

// Next moves to the next row.
func (r *FastRows) Next() bool {
	if r.row+1 >= len(r.rs.Values) {
		r.row = len(r.rs.Values)
		return false
	}
	r.row++
	return true
}

// NextResultSet reports false: a recording holds one result set.
func (r *FastRows) NextResultSet() bool { return false }

// Err returns the error that ended the replay, if any.
func (r *FastRows) Err() error { return r.err }

// Close releases the database/sql replay, if one was opened.
func (r *FastRows) Close() error {
	r.row = len(r.rs.Values)
	if r.slow != nil {
		return r.slow.Close()
	}
	return nil
}

func (r *FastRows) openSlow() error {
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

// Scan copies the current row into dest, as database/sql's Rows.Scan does.
func (r *FastRows) Scan(dest ...any) error {
	switch {
	case r.row < 0:
		return errScanBeforeNext
	case r.row >= len(r.rs.Values):
		return errRowsClosed // database/sql closes rows when Next reports false
	}
	if row := r.rs.Values[r.row]; len(row) == len(dest) && fastable(dest, row) {
		for i, d := range dest {
			if err := assign(d, row[i]); err != nil {
				return fmt.Errorf("sql: Scan error on column index %d, name %q: %w", i, r.rs.Columns[i].Name, err)
			}
		}
		return nil
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
	// A nil pointer is database/sql's to report (errNilPtr).
	switch d := dest.(type) {
	case sql.Scanner:
		return true
	case *any:
		return d != nil
	case *string:
		switch src.(type) {
		case string, []byte:
			return d != nil
		}
	case *sql.RawBytes:
		switch src.(type) {
		case string, []byte, nil:
			return d != nil
		}
	case *[]byte:
		switch src.(type) {
		case []byte, string, nil:
			return d != nil
		}
	case *int64:
		_, ok := src.(int64)
		return ok && d != nil
	case *int:
		_, ok := src.(int64)
		return ok && d != nil && strconv.IntSize == 64
	case *int32:
		v, ok := src.(int64)
		return ok && d != nil && v >= math.MinInt32 && v <= math.MaxInt32
	case *int16:
		v, ok := src.(int64)
		return ok && d != nil && v >= math.MinInt16 && v <= math.MaxInt16
	case *int8:
		v, ok := src.(int64)
		return ok && d != nil && v >= math.MinInt8 && v <= math.MaxInt8
	case *uint:
		v, ok := src.(int64)
		return ok && d != nil && v >= 0 && strconv.IntSize == 64
	case *uint64:
		v, ok := src.(int64)
		return ok && d != nil && v >= 0
	case *uint32:
		v, ok := src.(int64)
		return ok && d != nil && v >= 0 && v <= math.MaxUint32
	case *uint16:
		v, ok := src.(int64)
		return ok && d != nil && v >= 0 && v <= math.MaxUint16
	case *uint8:
		v, ok := src.(int64)
		return ok && d != nil && v >= 0 && v <= math.MaxUint8
	case *float64:
		_, ok := src.(float64)
		return ok && d != nil
	case *bool:
		_, ok := src.(bool)
		return ok && d != nil
	case *time.Time:
		_, ok := src.(time.Time)
		return ok && d != nil
	case **string:
		return d != nil && (src == nil || canAssign(&elems.s, src))
	case **int64:
		return d != nil && (src == nil || canAssign(&elems.i64, src))
	case **int:
		return d != nil && (src == nil || canAssign(&elems.i, src))
	case **int32:
		return d != nil && (src == nil || canAssign(&elems.i32, src))
	case **int16:
		return d != nil && (src == nil || canAssign(&elems.i16, src))
	case **int8:
		return d != nil && (src == nil || canAssign(&elems.i8, src))
	case **uint:
		return d != nil && (src == nil || canAssign(&elems.u, src))
	case **uint64:
		return d != nil && (src == nil || canAssign(&elems.u64, src))
	case **uint32:
		return d != nil && (src == nil || canAssign(&elems.u32, src))
	case **uint16:
		return d != nil && (src == nil || canAssign(&elems.u16, src))
	case **uint8:
		return d != nil && (src == nil || canAssign(&elems.u8, src))
	case **float64:
		return d != nil && (src == nil || canAssign(&elems.f64, src))
	case **bool:
		return d != nil && (src == nil || canAssign(&elems.b, src))
	case **time.Time:
		return d != nil && (src == nil || canAssign(&elems.t, src))
	case **[]byte:
		return d != nil && (src == nil || canAssign(&elems.bs, src))
	}
	return false
}

// elems are the element destinations canAssign checks a **T's value
// against: never written, there only for their types and addresses.
var elems struct {
	s   string
	i64 int64
	i   int
	i32 int32
	i16 int16
	i8  int8
	u   uint
	u64 uint64
	u32 uint32
	u16 uint16
	u8  uint8
	f64 float64
	b   bool
	t   time.Time
	bs  []byte
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
			if *d == nil {
				*d = make(sql.RawBytes, 0, len(s))
			}
			*d = append((*d)[:0], s...) // never the cache's own bytes
		case nil:
			*d = nil
		}
	case *[]byte:
		switch s := src.(type) {
		case []byte:
			*d = bytes.Clone(s)
		case string:
			*d = []byte(s)
		default:
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
		// database/sql hands a Scanner the driver's value as is; the
		// driver's bytes are the caller's, so must these be (a Scanner
		// such as datatypes.JSON keeps them).
		if b, ok := src.([]byte); ok {
			return d.Scan(bytes.Clone(b))
		}
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
