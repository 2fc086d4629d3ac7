// Package rowset records a query result as column metadata and raw driver
// values, encodes it for a cache store, and replays it as a real *sql.Rows.
//
// Caching rows instead of decoded structs keeps a cached read faithful: the
// ORM scans the replayed *sql.Rows with the same code and the same
// database/sql conversions it uses for a database result, so scanners,
// serializers, map destinations and "not found" behave identically. One
// recorder/replayer serves both the GORM and the Ent plugin.
package rowset

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// Source is what Record reads; *sql.Rows satisfies it.
type Source interface {
	Columns() ([]string, error)
	ColumnTypes() ([]*sql.ColumnType, error)
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Column is a column's recorded name and metadata, exactly as the source
// reported them through sql.ColumnType. Replay reports the same values, so
// code that inspects column types (GORM uses ScanType for map destinations)
// sees no difference between a cached and a live result.
type Column struct {
	// Name is the column's name as the driver reported it.
	Name string
	// DatabaseTypeName is the driver's type name, such as "INT4"; empty when
	// the driver reports none.
	DatabaseTypeName string
	// ScanType is the Go type the driver suggests for scanning. database/sql
	// reports any (interface{}) for drivers without a suggestion; a nil
	// ScanType replays as any too.
	ScanType reflect.Type
	// Nullable and HasNullable are sql.ColumnType.Nullable's results.
	Nullable, HasNullable bool
	// Length and HasLength are sql.ColumnType.Length's results.
	Length    int64
	HasLength bool
	// Precision, Scale and HasDecimalSize are sql.ColumnType.DecimalSize's
	// results.
	Precision, Scale int64
	HasDecimalSize   bool
}

// RowSet is a recorded result: columns and raw driver values. Every value is
// one of int64, float64, bool, string, []byte, time.Time or nil, and every
// row has one value per column.
//
// A RowSet is immutable once recorded or decoded: replays share its values
// (a replayed sql.RawBytes points into the recording and must not be
// modified), so any number of goroutines may replay one RowSet at once.
//
// The rows are in Values, not in a field named Rows: the method Rows
// replays them.
type RowSet struct {
	Columns []Column
	Values  [][]driver.Value
}

var (
	// ErrCorrupt is wrapped by every error UnmarshalBinary returns for input
	// that is malformed, truncated, or written in an unknown format version.
	// A cache treats it as a miss.
	ErrCorrupt = errors.New("rowset: corrupt encoding")
	// ErrUnsupportedValue is wrapped by the errors of Record and
	// MarshalBinary when a value is not one of the driver value types
	// (int64, float64, bool, string, []byte, time.Time, nil).
	ErrUnsupportedValue = errors.New("rowset: unsupported driver value")
	// ErrShape is wrapped by the errors of MarshalBinary and of replays when
	// a row's length differs from the number of columns.
	ErrShape = errors.New("rowset: row length differs from column count")
)

// Len returns the number of rows.
func (rs *RowSet) Len() int { return len(rs.Values) }

// Size returns an estimate of the bytes the RowSet holds in memory, for a
// store's memory accounting. It walks every value, which costs far less than
// decoding it did.
func (rs *RowSet) Size() int {
	const (
		header    = 48 // RowSet plus slice headers
		colSize   = 96 // Column struct
		sliceHdr  = 24
		ifaceSize = 16
	)
	n := header + len(rs.Columns)*colSize
	for _, c := range rs.Columns {
		n += len(c.Name) + len(c.DatabaseTypeName)
	}
	for _, row := range rs.Values {
		n += sliceHdr + len(row)*ifaceSize
		for _, v := range row {
			switch v := v.(type) {
			case string:
				n += 16 + len(v)
			case []byte:
				n += sliceHdr + len(v)
			case time.Time:
				n += 24
			case int64, float64:
				n += 8
			}
		}
	}
	return n
}

// Record reads src to the end and closes it. A result whose iteration ended
// in an error (a Scan error, or src.Err() != nil after the last row) is
// never returned: Record returns the error, wrapped, and a nil RowSet, so a
// partial result can never be cached. Only the first result set is read.
func Record(src Source) (rs *RowSet, err error) {
	r, err := read(src, true)
	if err != nil {
		return nil, err
	}
	return &r.RowSet, nil
}

// Result is a write's result read to the end by Capture, to be handed on
// as if it were live: its rows, and the error that ended them.
type Result struct {
	RowSet
	// Err ended the iteration (a failed Scan, Close or src.Err()); nil
	// at a clean end.
	Err error
}

// Capture reads src to the end and closes it, keeping whatever values it
// holds (not only the types Record takes) and the error that ended it, so
// that a statement with effects (an UPDATE ... RETURNING) has completed
// before its rows are replayed (Result.Rows, Result.Row). It never fails:
// an error is kept in the Result, after the rows read before it.
func Capture(src Source) *Result {
	r, err := read(src, false)
	if r == nil {
		r = &Result{}
	}
	r.Err = err
	return r
}

// read reads src to the end and closes it. strict refuses values that are
// not driver value types; otherwise they are kept as they are. The rows
// read before an error come back with it.
func read(src Source, strict bool) (r *Result, err error) {
	defer func() {
		if cerr := src.Close(); cerr != nil && err == nil {
			err = &causeErr{"rowset: record: close", cerr}
		}
		if !strict && err != nil {
			err = cause(err) // a Capture hands on the source's own error
		}
	}()
	names, err := src.Columns()
	if err != nil {
		return nil, &causeErr{"rowset: record: columns", err}
	}
	types, err := src.ColumnTypes()
	if err != nil {
		return nil, &causeErr{"rowset: record: column types", err}
	}
	if len(types) != len(names) {
		return nil, fmt.Errorf("rowset: record: %d column types for %d columns", len(types), len(names))
	}
	cols := make([]Column, len(names))
	for i, ct := range types {
		c := Column{Name: names[i], DatabaseTypeName: ct.DatabaseTypeName(), ScanType: ct.ScanType()}
		c.Nullable, c.HasNullable = ct.Nullable()
		c.Length, c.HasLength = ct.Length()
		c.Precision, c.Scale, c.HasDecimalSize = ct.DecimalSize()
		if c.ScanType != nil && strict {
			registerScanType(c.ScanType)
		}
		cols[i] = c
	}

	// database/sql already copies []byte into *any destinations; other
	// sources may hand out a reused buffer.
	_, cloned := src.(*sql.Rows)
	scratch := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range scratch {
		ptrs[i] = &scratch[i]
	}
	r = &Result{RowSet: RowSet{Columns: cols}}
	for src.Next() {
		if err := src.Scan(ptrs...); err != nil {
			return r, &causeErr{fmt.Sprintf("rowset: record: scan row %d", len(r.Values)), err}
		}
		row := make([]driver.Value, len(cols))
		for i, v := range scratch {
			switch x := v.(type) {
			case nil, int64, float64, bool, string, time.Time:
				row[i] = x
			case []byte:
				if !cloned {
					x = append([]byte(nil), x...)
				}
				row[i] = x
			default:
				if strict {
					return r, fmt.Errorf("rowset: record: row %d column %q: %w: %T", len(r.Values), cols[i].Name, ErrUnsupportedValue, v)
				}
				row[i] = x
			}
			scratch[i] = nil
		}
		r.Values = append(r.Values, row)
	}
	if err := src.Err(); err != nil {
		return r, &causeErr{fmt.Sprintf("rowset: record: after row %d", len(r.Values)), err}
	}
	return r, nil
}

// causeErr is an error of read wrapping the source's own.
type causeErr struct {
	msg string
	err error
}

func (e *causeErr) Error() string { return e.msg + ": " + e.err.Error() }
func (e *causeErr) Unwrap() error { return e.err }

// cause returns the source's error inside an error of read.
func cause(err error) error {
	var c *causeErr
	if errors.As(err, &c) {
		return c.err
	}
	return err
}
