package rowset

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"
)

// sample is a RowSet with one value of every kind and a row of NULLs.
func sample() *RowSet {
	return &RowSet{
		Columns: []Column{
			{Name: "id", DatabaseTypeName: "INT8", ScanType: reflect.TypeFor[int64]()},
			{Name: "name", DatabaseTypeName: "VARCHAR", ScanType: reflect.TypeFor[string](), Length: 20, HasLength: true},
			{Name: "score", DatabaseTypeName: "NUMERIC", ScanType: reflect.TypeFor[float64](), Precision: 10, Scale: 2, HasDecimalSize: true},
			{Name: "ok", DatabaseTypeName: "BOOL", ScanType: reflect.TypeFor[bool](), Nullable: true, HasNullable: true},
			{Name: "raw", DatabaseTypeName: "BYTEA", ScanType: reflect.TypeFor[[]byte]()},
			{Name: "at", DatabaseTypeName: "TIMESTAMPTZ", ScanType: reflect.TypeFor[time.Time]()},
			{Name: "opaque"}, // no metadata at all: replays as database/sql's defaults
		},
		Values: [][]driver.Value{
			{int64(1), "ann", 12.5, true, []byte{0, 1}, time.Unix(1700000000, 42).In(time.Local), "x"},
			{nil, nil, nil, nil, nil, nil, nil},
		},
	}
}

func replayAll(t testing.TB, rs *RowSet) [][]any {
	t.Helper()
	rows, err := rs.Rows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
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

func TestReplayReportsRecordedValuesAndMetadata(t *testing.T) {
	rs := sample()
	got := replayAll(t, rs)
	if len(got) != len(rs.Values) {
		t.Fatalf("replayed %d rows, want %d", len(got), len(rs.Values))
	}
	for r := range got {
		for i := range got[r] {
			if !reflect.DeepEqual(got[r][i], rs.Values[r][i]) {
				t.Errorf("row %d column %d: %#v, want %#v", r, i, got[r][i], rs.Values[r][i])
			}
		}
	}

	rows, err := rs.Rows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	for i, ct := range cts {
		c := rs.Columns[i]
		wantScan := c.ScanType
		if wantScan == nil {
			wantScan = reflect.TypeFor[any]()
		}
		nullable, nullOK := ct.Nullable()
		length, lengthOK := ct.Length()
		prec, scale, decOK := ct.DecimalSize()
		if ct.Name() != c.Name || ct.DatabaseTypeName() != c.DatabaseTypeName || ct.ScanType() != wantScan ||
			nullable != c.Nullable || nullOK != c.HasNullable || length != c.Length || lengthOK != c.HasLength ||
			prec != c.Precision || scale != c.Scale || decOK != c.HasDecimalSize {
			t.Errorf("column %d reports %s %s %v null=%v,%v len=%d,%v dec=%d,%d,%v; recorded %+v", i,
				ct.Name(), ct.DatabaseTypeName(), ct.ScanType(), nullable, nullOK, length, lengthOK, prec, scale, decOK, c)
		}
	}
}

// TestReplayColumnsAreOwnedByTheCaller: GORM rewrites the slice that
// (*sql.Rows).Columns returns; that must not reach the recording or other
// replays.
func TestReplayColumnsAreOwnedByTheCaller(t *testing.T) {
	rs := sample()
	rows, err := rs.Rows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	cols[0] = "renamed"
	rows.Close()
	rows, err = rs.Rows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if cols, _ := rows.Columns(); cols[0] != "id" || rs.Columns[0].Name != "id" {
		t.Fatalf("a caller's edit of Columns leaked: %v, recorded %q", cols, rs.Columns[0].Name)
	}
}

func TestReplayChecksContextAndShape(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sample().Rows(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Rows(cancelled ctx) error = %v, want context.Canceled", err)
	}

	bad := &RowSet{Columns: []Column{{Name: "a"}, {Name: "b"}}, Values: [][]driver.Value{{int64(1)}}}
	rows, err := bad.Rows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Fatal("a short row was replayed")
	}
	if err := rows.Err(); !errors.Is(err, ErrShape) {
		t.Errorf("replay of a short row: Err() = %v, want ErrShape", err)
	}
	if _, err := bad.MarshalBinary(); !errors.Is(err, ErrShape) {
		t.Errorf("MarshalBinary of a short row: %v, want ErrShape", err)
	}
}

// TestReplayDriverRejectsOtherUse: the registered driver only replays.
func TestReplayDriverRejectsOtherUse(t *testing.T) {
	db, err := sql.Open(DriverName, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Query("SELECT 1"); err == nil {
		t.Error("the replay driver ran an arbitrary query")
	}
	if _, err := db.Query(replayQuery, 42); err == nil {
		t.Error("the replay driver accepted a non-RowSet argument")
	}
	if _, err := db.Begin(); err == nil {
		t.Error("the replay driver began a transaction")
	}
}

// fakeSource drives Record through a replay (for real column types) and
// injects failures, odd values and buffer reuse.
type fakeSource struct {
	*sql.Rows
	scanErrAt int // 1-based row whose Scan fails; 0 for none
	endErr    error
	odd       any    // when set, replaces column 0's value
	shared    []byte // when set, replaces []byte values, and is rewritten after each Scan
	scans     int
	closed    bool
}

func (f *fakeSource) Scan(dest ...any) error {
	f.scans++
	if f.scans == f.scanErrAt {
		return errors.New("scan failed")
	}
	if err := f.Rows.Scan(dest...); err != nil {
		return err
	}
	for i, d := range dest {
		p := d.(*any)
		if _, ok := (*p).([]byte); ok && f.shared != nil {
			copy(f.shared, fmt.Sprintf("row%d", f.scans))
			*p = f.shared
		}
		if i == 0 && f.odd != nil {
			*p = f.odd
		}
	}
	return nil
}

func (f *fakeSource) Err() error {
	if f.endErr != nil {
		return f.endErr
	}
	return f.Rows.Err()
}

func (f *fakeSource) Close() error {
	f.closed = true
	return f.Rows.Close()
}

func newFake(t *testing.T) *fakeSource {
	t.Helper()
	rows, err := sample().Rows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &fakeSource{Rows: rows}
}

func TestRecordNeverKeepsAFailedResult(t *testing.T) {
	errEnd := errors.New("connection reset")
	tests := []struct {
		name  string
		setup func(*fakeSource)
		want  error
	}{
		{"scan error on first row", func(f *fakeSource) { f.scanErrAt = 1 }, nil},
		{"scan error on last row", func(f *fakeSource) { f.scanErrAt = 2 }, nil},
		{"error after the last row", func(f *fakeSource) { f.endErr = errEnd }, errEnd},
		{"value that is not a driver value", func(f *fakeSource) { f.odd = int32(7) }, ErrUnsupportedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			tt.setup(f)
			rs, err := Record(f)
			if rs != nil || err == nil {
				t.Fatalf("Record = %v, %v; want nil and an error", rs, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v does not wrap %v", err, tt.want)
			}
			if !f.closed {
				t.Error("Record did not close the source")
			}
		})
	}
}

func TestRecordCopiesReusedBuffers(t *testing.T) {
	f := newFake(t)
	f.shared = make([]byte, 4)
	rs, err := Record(f)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.shared, "XXXX")
	if got := rs.Values[0][4]; !reflect.DeepEqual(got, []byte("row1")) {
		t.Errorf("recorded bytes %q changed with the source's buffer", got)
	}
	if !f.closed {
		t.Error("Record did not close the source")
	}
}

func TestRecordOfReplayIsIdentical(t *testing.T) {
	want := sample()
	rows, err := want.Rows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Record(rows)
	if err != nil {
		t.Fatal(err)
	}
	// Record reports database/sql's view: a column without a scan type
	// reads as any.
	want.Columns[6].ScanType = reflect.TypeFor[any]()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Record(replay) = %+v, want %+v", got, want)
	}
	if got.Len() != 2 || got.Size() <= 0 {
		t.Errorf("Len() = %d, Size() = %d", got.Len(), got.Size())
	}
}

// TestConcurrentReplays replays shared and distinct RowSets from many
// goroutines (run under -race) and checks that every connection went back
// to the pool.
func TestConcurrentReplays(t *testing.T) {
	sets := make([]*RowSet, 8)
	for i := range sets {
		rs := &RowSet{Columns: []Column{{Name: "n", ScanType: reflect.TypeFor[int64]()}, {Name: "s"}, {Name: "f"}}}
		for r := 0; r <= i; r++ {
			rs.Values = append(rs.Values, []driver.Value{int64(i*100 + r), fmt.Sprint(i, "/", r), math.Inf(1)})
		}
		b, err := rs.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		sets[i] = new(RowSet)
		if err := sets[i].UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
	}
	const workers, iters = 16, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range iters {
				// Half the workers share set 0; the rest spread out.
				i := 0
				if w%2 == 1 {
					i = (w + k) % len(sets)
				}
				if err := checkReplay(sets[i], i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := db().Stats(); st.InUse != 0 {
		t.Errorf("%d replay connections still in use", st.InUse)
	}
}

func checkReplay(rs *RowSet, i int) error {
	rows, err := rs.Rows(context.Background())
	if err != nil {
		return err
	}
	defer rows.Close()
	r := 0
	for rows.Next() {
		var (
			n int64
			s string
			f float64
		)
		if err := rows.Scan(&n, &s, &f); err != nil {
			return err
		}
		if n != int64(i*100+r) || s != fmt.Sprint(i, "/", r) || !math.IsInf(f, 1) {
			return fmt.Errorf("set %d row %d: got %d %q %v", i, r, n, s, f)
		}
		r++
	}
	if r != i+1 {
		return fmt.Errorf("set %d: %d rows, want %d", i, r, i+1)
	}
	return rows.Err()
}
