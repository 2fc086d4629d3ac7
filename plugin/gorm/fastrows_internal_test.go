package hydragorm

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/keys"
)

// TestFastRowsMatchesDatabaseSQL scans every driver value kind into every
// destination kind through fastRows and through database/sql's replay,
// and requires the same values and the same errors.
func TestFastRowsMatchesDatabaseSQL(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	srcs := []driver.Value{
		nil, int64(0), int64(1), int64(-1), int64(127), int64(128), int64(-129), int64(255), int64(256),
		int64(math.MaxInt32), int64(math.MaxInt32) + 1, int64(math.MinInt32) - 1, int64(math.MaxUint32) + 1,
		int64(math.MaxInt64), int64(math.MinInt64), float64(0), float64(1.5), math.Inf(1), math.NaN(), 1e300,
		true, false, "", "abc", "42", "1.5", "true", []byte{}, []byte("xyz"), []byte("12"),
		time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC), time.Date(2024, 5, 6, 7, 8, 9, 10, loc),
	}
	dests := []func() any{
		func() any { return new(any) }, func() any { return new(string) }, func() any { return new(sql.RawBytes) },
		func() any { return new([]byte) }, func() any { return new(int64) }, func() any { return new(int) },
		func() any { return new(int32) }, func() any { return new(int16) }, func() any { return new(int8) },
		func() any { return new(uint) }, func() any { return new(uint64) }, func() any { return new(uint32) },
		func() any { return new(uint16) }, func() any { return new(uint8) }, func() any { return new(float64) },
		func() any { return new(float32) }, func() any { return new(bool) }, func() any { return new(time.Time) },
		func() any { return new(*string) }, func() any { return new(*int64) }, func() any { return new(*int) },
		func() any { return new(*int32) }, func() any { return new(*int8) }, func() any { return new(*uint) },
		func() any { return new(*uint8) }, func() any { return new(*float64) }, func() any { return new(*float32) },
		func() any { return new(*bool) }, func() any { return new(*time.Time) }, func() any { return new(*[]byte) },
		func() any { return new(sql.NullString) }, func() any { return new(sql.NullInt64) },
		func() any { return new(sql.NullTime) }, func() any { return new(gorm.DeletedAt) },
		func() any { return new(sql.NullFloat64) }, func() any { return new(*sql.NullString) },
	}
	ctx := context.Background()
	for _, src := range srcs {
		rs := &rowset.RowSet{Columns: []rowset.Column{{Name: "c"}}, Values: [][]driver.Value{{src}}}
		for _, mk := range dests {
			want, got := mk(), mk()
			slow, err := rs.Rows(ctx)
			if err != nil {
				t.Fatal(err)
			}
			slow.Next()
			werr := slow.Scan(want)
			slow.Close()
			fast := newFastRows(ctx, rs)
			fast.Next()
			gerr := fast.Scan(got)
			fast.Close()
			name := fmt.Sprintf("%T(%v) into %T", src, src, want)
			if fmt.Sprint(werr) != fmt.Sprint(gerr) {
				t.Errorf("%s: error %v, database/sql %v", name, gerr, werr)
				continue
			}
			if !equalScan(got, want) {
				t.Errorf("%s: %#v, database/sql %#v", name, reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem())
			}
		}
	}
}

// equalScan compares two scanned destinations, NaN equal to NaN.
func equalScan(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	deref := func(x any) string {
		v := reflect.ValueOf(x)
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		return fmt.Sprintf("%T %#v", x, v)
	}
	return deref(a) == deref(b)
}

// TestFastRowsFallbackMidway: a row the fast path cannot scan is scanned
// by database/sql positioned on the same row.
func TestFastRowsFallbackMidway(t *testing.T) {
	rs := &rowset.RowSet{Columns: []rowset.Column{{Name: "a"}}, Values: [][]driver.Value{{int64(1)}, {float64(2.5)}, {int64(3)}}}
	r := newFastRows(context.Background(), rs)
	defer r.Close()
	var got []float32
	for r.Next() {
		var f float32 // float32 always takes the database/sql path
		var i int64
		if err := r.Scan(&i); err == nil {
			got = append(got, float32(i))
			continue
		}
		if err := r.Scan(&f); err != nil {
			t.Fatal(err)
		}
		got = append(got, f)
	}
	if !reflect.DeepEqual(got, []float32{1, 2.5, 3}) {
		t.Fatalf("got %v", got)
	}
}

// TestEntityDescMatchesKeys: the precomputed prefixes give the keys and
// tags the keys package builds.
func TestEntityDescMatchesKeys(t *testing.T) {
	p := New(nil, WithNamespace("ns:1"))
	p.scope = keys.Scope{}.With("gorm", "ns:1")
	m := &model{table: "us:ers"}
	m.scoped = p.scope.With("s", "fp")
	m.unscoped = p.scope.With("u", "fp")
	m.scopedKey = m.scoped.Wrap(keys.Entity(m.table)) + ":"
	m.unscopedKey = m.unscoped.Wrap(keys.Entity(m.table)) + ":"
	m.entityTagPrefix = p.scope.Wrap(keys.EntityTag(m.table)) + ":"
	m.rowsTag = p.rowsTag(m.table)
	for _, pk := range []string{"42", "", "a:b", `a\\b`, "x"} {
		d := p.entityDesc(m, false, pk)
		if want := m.scoped.Wrap(keys.Entity(m.table, pk)); d.Key != want {
			t.Errorf("key %q, want %q", d.Key, want)
		}
		if want := p.scope.Wrap(keys.EntityTag(m.table, pk)); d.Tags[0] != want {
			t.Errorf("tag %q, want %q", d.Tags[0], want)
		}
		if u := p.entityDesc(m, true, pk); u.Key != m.unscoped.Wrap(keys.Entity(m.table, pk)) {
			t.Errorf("unscoped key %q", u.Key)
		}
	}
}

// TestDecodedCacheReusedBuffer: a store that reuses a buffer for other
// bytes gets a decode, never the RowSet of the old bytes.
func TestDecodedCacheReusedBuffer(t *testing.T) {
	c := decodedCache{limit: 1 << 20}
	buf := []byte("entry-one")
	a := &rowset.RowSet{}
	c.put(buf, a)
	if got := c.get(buf); got == nil || got.rs != a {
		t.Fatal("same bytes at the same address: not found")
	}
	copy(buf, "entry-two")
	if got := c.get(buf); got != nil {
		t.Fatal("other bytes at the same address gave the old RowSet")
	}
	if got := c.get([]byte("entry-one")); got != nil {
		t.Fatal("another address found an entry")
	}
}
