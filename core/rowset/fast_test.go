package rowset_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/hydracache/hydracache/core/rowset"
)

// cents is a Scanner of the kind ORMs declare.
type cents struct{ n int64 }

func (c *cents) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		c.n = v
	case nil:
		c.n = 0
	default:
		return fmt.Errorf("cents: cannot scan %T", src)
	}
	return nil
}

// fastDests are the destination kinds the differential tests scan into.
var fastDests = []func() any{
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
	func() any { return new(sql.NullTime) }, func() any { return new(cents) },
	func() any { return new(sql.NullFloat64) }, func() any { return new(*sql.NullString) },
}

// TestFastMatchesDatabaseSQL scans every driver value kind into every
// destination kind through FastRows and through database/sql's replay,
// and requires the same values and the same errors.
func TestFastMatchesDatabaseSQL(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	srcs := []driver.Value{
		nil, int64(0), int64(1), int64(-1), int64(127), int64(128), int64(-129), int64(255), int64(256),
		int64(math.MaxInt32), int64(math.MaxInt32) + 1, int64(math.MinInt32) - 1, int64(math.MaxUint32) + 1,
		int64(math.MaxInt64), int64(math.MinInt64), float64(0), float64(1.5), math.Inf(1), math.NaN(), 1e300,
		true, false, "", "abc", "42", "1.5", "true", []byte{}, []byte("xyz"), []byte("12"),
		time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC), time.Date(2024, 5, 6, 7, 8, 9, 10, loc),
	}
	ctx := context.Background()
	for _, src := range srcs {
		rs := &rowset.RowSet{Columns: []rowset.Column{{Name: "c"}}, Values: [][]driver.Value{{src}}}
		for _, mk := range fastDests {
			want, got := mk(), mk()
			werr := scanSlow(ctx, rs, want)
			fast := rs.Fast(ctx, nil)
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

// scanSlow scans the first row into dest through database/sql.
func scanSlow(ctx context.Context, rs *rowset.RowSet, dest any) error {
	slow, err := rs.Rows(ctx)
	if err != nil {
		panic(err)
	}
	defer slow.Close()
	slow.Next()
	return slow.Scan(dest)
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

// TestFastFallbackMidway: a row the fast path cannot scan is scanned
// by database/sql positioned on the same row.
func TestFastFallbackMidway(t *testing.T) {
	rs := &rowset.RowSet{Columns: []rowset.Column{{Name: "a"}}, Values: [][]driver.Value{{int64(1)}, {float64(2.5)}, {int64(3)}}}
	r := rs.Fast(context.Background(), nil)
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

// TestFastRowsAsDatabaseSQL: the calls around Scan behave as
// database/sql's: scanning before Next, with the wrong number of
// destinations, after the end; Columns gives the given names or a copy.
func TestFastRowsAsDatabaseSQL(t *testing.T) {
	ctx := context.Background()
	rs := &rowset.RowSet{Columns: []rowset.Column{{Name: "a"}, {Name: "b"}}, Values: [][]driver.Value{{int64(1), "x"}}}
	var a int64
	var b string
	cases := []struct {
		name string
		scan func(r interface {
			Scan(...any) error
			Next() bool
		}) error
	}{
		{"before Next", func(r interface {
			Scan(...any) error
			Next() bool
		}) error {
			return r.Scan(&a, &b)
		}},
		{"too few destinations", func(r interface {
			Scan(...any) error
			Next() bool
		}) error {
			r.Next()
			return r.Scan(&a)
		}},
		{"after the end", func(r interface {
			Scan(...any) error
			Next() bool
		}) error {
			r.Next()
			r.Next()
			return r.Scan(&a, &b)
		}},
		{"one row", func(r interface {
			Scan(...any) error
			Next() bool
		}) error {
			r.Next()
			return r.Scan(&a, &b)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			slow, err := rs.Rows(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Close()
			fast := rs.Fast(ctx, nil)
			defer fast.Close()
			werr, gerr := c.scan(slow), c.scan(fast)
			if fmt.Sprint(werr) != fmt.Sprint(gerr) {
				t.Fatalf("error %v, database/sql %v", gerr, werr)
			}
		})
	}

	names := []string{"a", "b"}
	if got, _ := rs.Fast(ctx, names).Columns(); &got[0] != &names[0] {
		t.Error("Columns did not return the given names")
	}
	r := rs.Fast(ctx, nil)
	c1, _ := r.Columns()
	c1[0] = "changed"
	if c2, _ := r.Columns(); c2[0] != "a" {
		t.Error("Columns returned a slice another caller changed")
	}
	if r.NextResultSet() {
		t.Error("NextResultSet: a recording has one result set")
	}
	types, err := r.ColumnTypes()
	if err != nil || len(types) != 2 || types[1].Name() != "b" {
		t.Fatalf("ColumnTypes: %v, %v", types, err)
	}
}

// FuzzFast scans fuzzed driver values into each destination kind through
// FastRows and through database/sql, and requires the same values and
// errors.
func FuzzFast(f *testing.F) {
	f.Add(uint8(0), int64(0), 0.0, "", []byte(nil), false, int64(0), uint8(0))
	f.Add(uint8(1), int64(-129), 1.5, "42", []byte("12"), true, int64(1700000000123456789), uint8(7))
	f.Add(uint8(5), int64(math.MaxInt64), math.NaN(), "true", []byte{}, false, int64(-1), uint8(17))
	f.Fuzz(func(t *testing.T, kind uint8, i int64, fl float64, s string, b []byte, bo bool, nanos int64, dest uint8) {
		var src driver.Value
		switch kind % 7 {
		case 0:
			src = i
		case 1:
			src = fl
		case 2:
			src = s
		case 3:
			src = b
		case 4:
			src = bo
		case 5:
			src = time.Unix(0, nanos).UTC()
		}
		mk := fastDests[int(dest)%len(fastDests)]
		rs := &rowset.RowSet{Columns: []rowset.Column{{Name: "c"}}, Values: [][]driver.Value{{src}}}
		want, got := mk(), mk()
		werr := scanSlow(context.Background(), rs, want)
		fast := rs.Fast(context.Background(), nil)
		fast.Next()
		gerr := fast.Scan(got)
		fast.Close()
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("%T(%v) into %T: error %v, database/sql %v", src, src, want, gerr, werr)
		}
		if !equalScan(got, want) {
			t.Fatalf("%T(%v) into %T: %#v, database/sql %#v", src, src, want, reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem())
		}
	})
}

// keeper is a Scanner that keeps the bytes it is given, as
// gorm.io/datatypes.JSON does.
type keeper struct{ b []byte }

func (k *keeper) Scan(src any) error {
	k.b, _ = src.([]byte)
	return nil
}

// TestReplayBytesAreTheCallers: a Scanner that keeps and then changes the
// bytes it was given changes nothing a later replay of the same RowSet
// hands out, on the fast path and on database/sql's, and neither do
// *sql.RawBytes destinations.
func TestReplayBytesAreTheCallers(t *testing.T) {
	rs := &rowset.RowSet{Columns: []rowset.Column{{Name: "b"}}, Values: [][]driver.Value{{[]byte("json")}}}
	replays := map[string]func() (interface {
		Next() bool
		Scan(...any) error
		Close() error
	}, error){
		"fast": func() (interface {
			Next() bool
			Scan(...any) error
			Close() error
		}, error) {
			return rs.Fast(context.Background(), nil), nil
		},
		"database/sql": func() (interface {
			Next() bool
			Scan(...any) error
			Close() error
		}, error) {
			return rs.Rows(context.Background())
		},
	}
	for name, open := range replays {
		for _, dest := range []string{"scanner", "rawbytes"} {
			for i := range 3 {
				rows, err := open()
				if err != nil {
					t.Fatal(err)
				}
				if !rows.Next() {
					t.Fatal("no row")
				}
				var got []byte
				switch dest {
				case "scanner":
					var k keeper
					err = rows.Scan(&k)
					got = k.b
				case "rawbytes":
					var rb sql.RawBytes
					err = rows.Scan(&rb)
					got = rb
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != "json" {
					t.Fatalf("%s, %s, replay %d: %q: an earlier caller's change reached it", name, dest, i, got)
				}
				for j := range got {
					got[j] = 'X'
				}
				_ = rows.Close()
			}
		}
	}
}
