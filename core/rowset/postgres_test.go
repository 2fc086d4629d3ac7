package rowset

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hydracache/hydracache/testing/testenv"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgColumns are the column types under test, each with a literal for the
// row that has values (the other row is all NULL).
var pgColumns = []struct{ name, typ, literal string }{
	{"c_int2", "int2", "-12345"},
	{"c_int4", "int4", "2000000000"},
	{"c_int8", "int8", "9000000000000000000"},
	{"c_numeric", "numeric(12,3)", "12345.678"},
	{"c_numeric_any", "numeric", "3.14159265358979323846"},
	{"c_real", "real", "1.5"},
	{"c_double", "double precision", "-2.25e-300"},
	{"c_bool", "bool", "true"},
	{"c_text", "text", "'héllo, wörld'"},
	{"c_varchar", "varchar(20)", "'short'"},
	{"c_bytea", "bytea", `'\x00ff10'`},
	{"c_date", "date", "'2024-02-29'"},
	{"c_timestamp", "timestamp", "'2024-03-10 02:30:00.123456'"},
	{"c_timestamptz", "timestamptz", "'2024-06-01 12:00:00.5+02'"},
	{"c_uuid", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"},
	{"c_json", "json", `'{"a": [1, 2], "b": null}'`},
	{"c_jsonb", "jsonb", `'{"a": [1, 2], "b": null}'`},
	{"c_int4_array", "int4[]", "'{1,2,NULL}'"},
	{"c_text_array", "text[]", `'{"x","y z"}'`},
	{"c_small", "int4", "7"}, // small enough for msgpack to shrink to uint8
	{"c_double_nan", "double precision", "'NaN'"},
	{"c_real_neg_inf", "real", "'-Infinity'"},
	{"c_numeric_nan", "numeric", "'NaN'"},
	{"c_tstz_infinity", "timestamptz", "'infinity'"},
	{"c_empty_bytea", "bytea", "''"},
	{"c_char", "char(5)", "'ab'"},
	{"c_interval", "interval", "'1 day 02:03:04'"},
	{"c_time", "time", "'13:14:15.5'"},
	{"c_inet", "inet", "'10.0.0.1/8'"},
}

// pgTable creates the test table with a row of values (id 1) and a row of
// NULLs (id 2).
func pgTable(t *testing.T) *sql.DB {
	t.Helper()
	db, _ := testenv.Postgres(t)
	var defs, names, lits []string
	for _, c := range pgColumns {
		defs = append(defs, c.name+" "+c.typ)
		names = append(names, c.name)
		lits = append(lits, c.literal)
	}
	ctx := context.Background()
	stmts := []string{
		"CREATE TABLE t (id int8 PRIMARY KEY, " + strings.Join(defs, ", ") + ")",
		"INSERT INTO t (id, " + strings.Join(names, ", ") + ") VALUES (1, " + strings.Join(lits, ", ") + ")",
		"INSERT INTO t (id) VALUES (2)",
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return db
}

// cacheRoundTrip records rows, encodes and decodes the recording, as a
// cache miss followed by a hit in another request would.
func cacheRoundTrip(t *testing.T, rows *sql.Rows) *RowSet {
	t.Helper()
	rec, err := Record(rows)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	b, err := rec.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	var dec RowSet
	if err := dec.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	return &dec
}

func TestPostgresAnyValuesAndMetadata(t *testing.T) {
	db := pgTable(t)
	ctx := context.Background()
	const q = "SELECT * FROM t ORDER BY id"

	direct, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := scanAllAny(t, direct)
	wantTypes := columnTypes(t, db, q, nil)

	src, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	rs := cacheRoundTrip(t, src)
	if rs.Len() != 2 {
		t.Fatalf("Len() = %d, want 2", rs.Len())
	}
	replay, err := rs.Rows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gotTypes := describeTypes(t, replay)
	got := scanAllAny(t, replay)

	for r := range want {
		for i := range want[r] {
			w, g := want[r][i], got[r][i]
			if reflect.TypeOf(w) != reflect.TypeOf(g) || !identical(w, g) {
				t.Errorf("row %d column %s: replay %T(%#v), database %T(%#v)",
					r, wantTypes[i].name, g, g, w, w)
			}
		}
	}
	if !reflect.DeepEqual(gotTypes, wantTypes) {
		for i := range wantTypes {
			if gotTypes[i] != wantTypes[i] {
				t.Errorf("column %d metadata: replay %+v, database %+v", i, gotTypes[i], wantTypes[i])
			}
		}
	}

	// The timestamptz column must come back in the process's zone (the
	// test's America/Sao_Paulo, see TestMain), date and timestamp in UTC.
	byName := map[string]int{}
	for i, c := range wantTypes {
		byName[c.name] = i
	}
	for col, wantLoc := range map[string]*time.Location{
		"c_timestamptz": time.Local, "c_date": time.UTC, "c_timestamp": time.UTC,
	} {
		tm, ok := got[0][byName[col]].(time.Time)
		if !ok || tm.Location() != wantLoc {
			t.Errorf("%s: replayed %#v, want a time.Time in %v", col, got[0][byName[col]], wantLoc)
		}
	}
	if tm := got[0][byName["c_timestamptz"]].(time.Time); !tm.Equal(time.Date(2024, 6, 1, 10, 0, 0, 5e8, time.UTC)) {
		t.Errorf("timestamptz instant %v, want 2024-06-01T10:00:00.5Z", tm)
	}
}

func scanAllAny(t *testing.T, rows *sql.Rows) [][]any {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// colMeta is everything sql.ColumnType reports, comparable with ==.
type colMeta struct {
	name, dbType     string
	scanType         reflect.Type
	nullable, nullOK bool
	length           int64
	lengthOK         bool
	precision, scale int64
	decimalOK        bool
}

func describeTypes(t *testing.T, rows *sql.Rows) []colMeta {
	t.Helper()
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]colMeta, len(cts))
	for i, ct := range cts {
		m := colMeta{name: ct.Name(), dbType: ct.DatabaseTypeName(), scanType: ct.ScanType()}
		m.nullable, m.nullOK = ct.Nullable()
		m.length, m.lengthOK = ct.Length()
		m.precision, m.scale, m.decimalOK = ct.DecimalSize()
		out[i] = m
	}
	return out
}

func columnTypes(t *testing.T, db *sql.DB, q string, args []any) []colMeta {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	return describeTypes(t, rows)
}

// dests are the typed destinations every column is scanned into, directly
// and from a replay: the values and the errors (conversion failures, NULL
// into a non-nullable type) must be the same.
var dests = []struct {
	name string
	new  func() any
}{
	{"*any", func() any { return new(any) }},
	{"*int", func() any { return new(int) }},
	{"*int16", func() any { return new(int16) }},
	{"*int32", func() any { return new(int32) }},
	{"*int64", func() any { return new(int64) }},
	{"*uint8", func() any { return new(uint8) }},
	{"*uint64", func() any { return new(uint64) }},
	{"*float32", func() any { return new(float32) }},
	{"*float64", func() any { return new(float64) }},
	{"*bool", func() any { return new(bool) }},
	{"*string", func() any { return new(string) }},
	{"*[]byte", func() any { return new([]byte) }},
	{"*json.RawMessage", func() any { return new(json.RawMessage) }},
	{"*sql.RawBytes", func() any { return new(sql.RawBytes) }},
	{"*time.Time", func() any { return new(time.Time) }},
	{"*sql.NullString", func() any { return new(sql.NullString) }},
	{"*sql.NullInt16", func() any { return new(sql.NullInt16) }},
	{"*sql.NullInt32", func() any { return new(sql.NullInt32) }},
	{"*sql.NullInt64", func() any { return new(sql.NullInt64) }},
	{"*sql.NullFloat64", func() any { return new(sql.NullFloat64) }},
	{"*sql.NullBool", func() any { return new(sql.NullBool) }},
	{"*sql.NullTime", func() any { return new(sql.NullTime) }},
	{"*sql.Null[string]", func() any { return new(sql.Null[string]) }},
	{"**string", func() any { return new(*string) }},
	{"**int64", func() any { return new(*int64) }},
	{"**int32", func() any { return new(*int32) }},
	{"**float64", func() any { return new(*float64) }},
	{"**bool", func() any { return new(*bool) }},
	{"**time.Time", func() any { return new(*time.Time) }},
	{"**[]byte", func() any { return new(*[]byte) }},
}

// scanResult is one row scanned into one destination: the value (copied
// out of RawBytes, which is only valid until the next Next) or the error.
type scanResult struct {
	val any
	err string
}

func scanTyped(t *testing.T, rows *sql.Rows, newDest func() any) []scanResult {
	t.Helper()
	defer rows.Close()
	var out []scanResult
	for rows.Next() {
		d := newDest()
		var r scanResult
		if err := rows.Scan(d); err != nil {
			r.err = err.Error()
		} else {
			v := reflect.ValueOf(d).Elem().Interface()
			if rb, ok := v.(sql.RawBytes); ok {
				v = append([]byte(nil), rb...)
			}
			r.val = v
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPostgresTypedScans(t *testing.T) {
	db := pgTable(t)
	ctx := context.Background()
	for _, c := range pgColumns {
		t.Run(c.name, func(t *testing.T) {
			q := fmt.Sprintf("SELECT %s FROM t ORDER BY id", c.name)
			src, err := db.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			rs := cacheRoundTrip(t, src)
			for _, d := range dests {
				direct, err := db.QueryContext(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want := scanTyped(t, direct, d.new)
				replay, err := rs.Rows(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got := scanTyped(t, replay, d.new)
				if len(got) != len(want) {
					t.Fatalf("%s: replay gave %d rows, database %d", d.name, len(got), len(want))
				}
				for r := range want {
					if got[r].err != want[r].err {
						t.Errorf("%s row %d: replay error %q, database error %q", d.name, r, got[r].err, want[r].err)
					}
					if !identical(got[r].val, want[r].val) {
						t.Errorf("%s row %d: replay %#v, database %#v", d.name, r, got[r].val, want[r].val)
					}
				}
			}
		})
	}
}

// TestPostgresMetadataOfExpressions covers columns that are not table
// columns (no length modifier, unknown nullability) and an empty result,
// whose column types must replay too.
func TestPostgresMetadataOfExpressions(t *testing.T) {
	db, _ := testenv.Postgres(t)
	ctx := context.Background()
	for _, q := range []string{
		"SELECT 1::int2 AS a, 'x'::varchar(5) AS b, 1.5::numeric(5,2) AS c, NULL AS d, now() AS e",
		"SELECT 1 AS a WHERE false",
		"SELECT",
	} {
		t.Run(q, func(t *testing.T) {
			want := columnTypes(t, db, q, nil)
			src, err := db.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			rs := cacheRoundTrip(t, src)
			replay, err := rs.Rows(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := describeTypes(t, replay)
			n := 0
			for replay.Next() {
				n++
			}
			replay.Close()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("metadata: replay %+v, database %+v", got, want)
			}
			if n != rs.Len() {
				t.Errorf("replayed %d rows, recorded %d", n, rs.Len())
			}
		})
	}
}

// TestPostgresFailureMidResult: PostgreSQL sends rows 1 and 2, then the
// division by zero; the rows already read must not become a cache entry.
func TestPostgresFailureMidResult(t *testing.T) {
	db, _ := testenv.Postgres(t)
	rows, err := db.QueryContext(context.Background(), "SELECT 1/(x-3) FROM generate_series(1,5) x")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Record(rows)
	if rs != nil {
		t.Fatalf("Record returned a RowSet of %d rows for a failed query", rs.Len())
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("Record error = %v, want the division_by_zero error wrapped", err)
	}
	// Record closed the rows: the connection is back in the pool.
	if st := db.Stats(); st.InUse != 0 {
		t.Errorf("%d connections still in use after Record", st.InUse)
	}
}

// identical is reflect.DeepEqual, except that floats compare by their bits,
// so that a NaN equals the same NaN (values reached only through exported
// fields).
func identical(a, b any) bool {
	return identicalValues(reflect.ValueOf(a), reflect.ValueOf(b))
}

func identicalValues(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return identicalValues(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !identicalValues(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !identicalValues(a.MapIndex(k), b.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		if a.Type() != reflect.TypeFor[time.Time]() {
			for i := range a.NumField() {
				if !identicalValues(a.Field(i), b.Field(i)) {
					return false
				}
			}
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
