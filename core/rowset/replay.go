package rowset

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
)

// DriverName is the name under which the replay driver is registered with
// database/sql. Replays do not go through sql.Open; the registration only
// lets tools list the driver.
const DriverName = "hydracache-rowset-replay"

// replayQuery is the only statement the replay driver runs; the RowSet
// travels as its single argument.
const replayQuery = "hydracache:rowset:replay"

var errNotReplay = errors.New("rowset: the replay driver only replays a *RowSet")

func init() {
	sql.Register(DriverName, replayDriver{})
}

var (
	replayDBOnce sync.Once
	replayDB     *sql.DB
)

// db returns the process's handle on the replay driver. The pool keeps many
// idle connections: a replay holds one until its *sql.Rows is closed, and
// creating a connection costs more than the replay itself.
func db() *sql.DB {
	replayDBOnce.Do(func() {
		replayDB = sql.OpenDB(replayConnector{})
		replayDB.SetMaxIdleConns(1 << 12)
		replayDB.SetConnMaxLifetime(0)
		replayDB.SetConnMaxIdleTime(0)
	})
	return replayDB
}

// Rows replays the recording as a real *sql.Rows from an in-process
// database/sql driver, so every conversion on Scan is database/sql's own.
// ColumnTypes reports the recorded metadata. The caller must close the rows,
// as for a database result.
//
// ctx is checked once, before the replay starts: the replay never waits, and
// handing database/sql a cancellable context would cost a goroutine per
// replay to watch it.
//
// A context that has ended gives its error as it is, as a database query
// begun with it would.
func (rs *RowSet) Rows(ctx context.Context) (*sql.Rows, error) {
	return replay(ctx, rs)
}

// Rows replays the captured result as a real *sql.Rows: its rows, then its
// error, if any, from Err. The caller must close the rows.
func (r *Result) Rows(ctx context.Context) (*sql.Rows, error) {
	return replay(ctx, r)
}

// Row replays the captured result as a *sql.Row, as QueryRowContext would
// have returned it.
func (r *Result) Row(ctx context.Context) *sql.Row {
	return db().QueryRowContext(context.WithoutCancel(ctx), replayQuery, r)
}

// FailedRow returns a *sql.Row whose Err and Scan return err, as
// QueryRowContext returns a query that failed.
func FailedRow(err error) *sql.Row {
	return db().QueryRowContext(context.Background(), replayQuery, failure{err})
}

// failure makes the replay driver fail its query with err.
type failure struct{ err error }

func replay(ctx context.Context, arg any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := db().QueryContext(context.Background(), replayQuery, arg)
	if err != nil {
		return nil, fmt.Errorf("rowset: replay: %w", err)
	}
	return rows, nil
}

type replayDriver struct{}

func (replayDriver) Open(string) (driver.Conn, error) { return &replayConn{}, nil }

type replayConnector struct{}

func (replayConnector) Connect(context.Context) (driver.Conn, error) { return &replayConn{}, nil }
func (replayConnector) Driver() driver.Driver                        { return replayDriver{} }

// replayConn holds no state: any connection replays any RowSet.
type replayConn struct{}

var (
	_ driver.QueryerContext    = (*replayConn)(nil)
	_ driver.NamedValueChecker = (*replayConn)(nil)
)

func (*replayConn) Prepare(string) (driver.Stmt, error) { return nil, errNotReplay }
func (*replayConn) Close() error                        { return nil }
func (*replayConn) Begin() (driver.Tx, error)           { return nil, errNotReplay }

// CheckNamedValue lets the *RowSet, *Result or failure argument through
// database/sql unchanged.
func (*replayConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch nv.Value.(type) {
	case *RowSet, *Result, failure:
		return nil
	}
	return errNotReplay
}

func (*replayConn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if query != replayQuery || len(args) != 1 {
		return nil, errNotReplay
	}
	var rs *RowSet
	var tail error
	switch a := args[0].Value.(type) {
	case *RowSet:
		rs = a
	case *Result:
		rs, tail = &a.RowSet, a.Err
	case failure:
		return nil, a.err
	}
	if rs == nil {
		return nil, errNotReplay
	}
	r := rowsPool.Get().(*replayRows)
	r.rs, r.tail = rs, tail
	return r, nil
}

// rowsPool recycles replayRows: database/sql calls Close exactly once and
// never touches the driver rows after it.
var rowsPool = sync.Pool{New: func() any { return new(replayRows) }}

// replayRows hands database/sql the recorded values row by row.
type replayRows struct {
	rs    *RowSet
	tail  error // returned after the last row instead of io.EOF
	names []string
	next  int
}

var (
	_ driver.RowsColumnTypeScanType         = (*replayRows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*replayRows)(nil)
	_ driver.RowsColumnTypeLength           = (*replayRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*replayRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*replayRows)(nil)
)

// Columns returns a slice of this replay's own: (*sql.Rows).Columns hands
// the driver's slice to the caller, and GORM rewrites it in place.
func (r *replayRows) Columns() []string {
	if r.names == nil {
		r.names = make([]string, len(r.rs.Columns))
		for i := range r.rs.Columns {
			r.names[i] = r.rs.Columns[i].Name
		}
	}
	return r.names
}

func (r *replayRows) Close() error {
	// names belongs to the caller now: drop it rather than reuse it.
	*r = replayRows{}
	rowsPool.Put(r)
	return nil
}

func (r *replayRows) Next(dest []driver.Value) error {
	if r.next >= len(r.rs.Values) {
		if r.tail != nil {
			return r.tail
		}
		return io.EOF
	}
	row := r.rs.Values[r.next]
	if len(row) != len(dest) {
		return fmt.Errorf("%w: row %d has %d values for %d columns", ErrShape, r.next, len(row), len(dest))
	}
	r.next++
	for i, v := range row {
		if b, ok := v.([]byte); ok {
			// A Scanner (or *sql.RawBytes) gets the driver's slice as it
			// is: it must be the caller's own, as a database's is.
			v = bytes.Clone(b)
		}
		dest[i] = v
	}
	return nil
}

var anyType = reflect.TypeFor[any]()

func (r *replayRows) ColumnTypeScanType(i int) reflect.Type {
	if t := r.rs.Columns[i].ScanType; t != nil {
		return t
	}
	return anyType
}

func (r *replayRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.rs.Columns[i].DatabaseTypeName
}

func (r *replayRows) ColumnTypeLength(i int) (int64, bool) {
	c := &r.rs.Columns[i]
	return c.Length, c.HasLength
}

func (r *replayRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	c := &r.rs.Columns[i]
	return c.Nullable, c.HasNullable
}

func (r *replayRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	c := &r.rs.Columns[i]
	return c.Precision, c.Scale, c.HasDecimalSize
}
