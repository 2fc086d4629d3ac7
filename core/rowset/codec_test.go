package rowset

import (
	"bytes"
	"database/sql/driver"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func roundTrip(t testing.TB, rs *RowSet) *RowSet {
	t.Helper()
	b, err := rs.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	var out RowSet
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	return &out
}

// sameValue reports whether a decoded value is indistinguishable from the
// original for database/sql and its users: same Go type, same bits for
// floats, same instant, zone name, offset and location identity (for UTC
// and Local) for times, deep equality otherwise.
func sameValue(want, got driver.Value) bool {
	if reflect.TypeOf(want) != reflect.TypeOf(got) {
		return false
	}
	switch w := want.(type) {
	case float64:
		return math.Float64bits(w) == math.Float64bits(got.(float64))
	case []byte:
		g := got.([]byte)
		return (w == nil) == (g == nil) && bytes.Equal(w, g)
	case time.Time:
		g := got.(time.Time)
		wn, wo := w.Zone()
		gn, gOff := g.Zone()
		wl, gl := w.Location(), g.Location()
		if (wl == time.UTC || wl == time.Local || gl == time.UTC || gl == time.Local) && wl != gl {
			return false
		}
		// The monotonic clock reading is process-local and not recorded;
		// databases never hand one out.
		return w.Equal(g) && wn == gn && wo == gOff && wl.String() == gl.String() &&
			reflect.DeepEqual(w.Round(0), g)
	default:
		return reflect.DeepEqual(want, got)
	}
}

func TestCodecRoundTripKeepsTypesAndValues(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	kolkata := mustLoad(t, "Asia/Kolkata")
	base := time.Date(2024, 3, 10, 6, 59, 59, 999999999, time.UTC) // NY switches to DST at 07:00Z
	values := []struct {
		name string
		v    driver.Value
	}{
		{"nil", nil},
		{"false", false},
		{"true", true},
		{"int64 zero", int64(0)},
		{"int64 small", int64(7)},
		{"int64 negative", int64(-1)},
		{"int64 min", int64(math.MinInt64)},
		{"int64 max", int64(math.MaxInt64)},
		{"float64 zero", 0.0},
		{"float64 negative zero", math.Copysign(0, -1)},
		{"float64 NaN", math.NaN()},
		{"float64 NaN payload", math.Float64frombits(0x7ff8dead_beef0001)},
		{"float64 +Inf", math.Inf(1)},
		{"float64 -Inf", math.Inf(-1)},
		{"float64 subnormal", math.SmallestNonzeroFloat64},
		{"float64 integral", 3.0},
		{"string empty", ""},
		{"string unicode", "héllo 世界"},
		{"string invalid UTF-8", "\xff\xfe"},
		{"string digits", "12345"},
		{"bytes nil", []byte(nil)},
		{"bytes empty", []byte{}},
		{"bytes", []byte{0, 1, 2, 255}},
		{"bytes text", []byte("12345")},
		{"time UTC", base},
		{"time Local", base.In(time.Local)},
		{"time zero", time.Time{}},
		{"time far past", time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC)},
		{"time far future", time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{"time fixed zone", base.In(time.FixedZone("", 3600))},
		{"time fixed zone named", base.In(time.FixedZone("XYZ", -(5*3600 + 1)))},
		{"time named zone before DST", base.In(ny)},
		{"time named zone after DST", base.Add(time.Nanosecond).In(ny)},
		{"time half-hour zone", base.In(kolkata)},
		{"time with monotonic reading", time.Now()},
	}
	for _, tt := range values {
		t.Run(tt.name, func(t *testing.T) {
			rs := &RowSet{Columns: []Column{{Name: "v"}}, Values: [][]driver.Value{{tt.v}}}
			got := roundTrip(t, rs).Values[0][0]
			if !sameValue(tt.v, got) {
				t.Fatalf("decoded %T(%#v), want %T(%#v)", got, got, tt.v, tt.v)
			}
		})
	}
	// A decoded named zone keeps its rules: DST arithmetic still works.
	rs := &RowSet{Columns: []Column{{Name: "v"}}, Values: [][]driver.Value{{base.In(ny)}}}
	dec := roundTrip(t, rs).Values[0][0].(time.Time)
	if _, off := dec.Add(time.Hour).Zone(); off != -4*3600 {
		t.Errorf("decoded New York time an hour later has offset %d, want EDT", off)
	}
}

func TestCodecRoundTripKeepsColumns(t *testing.T) {
	type custom struct{ A int }
	rs := &RowSet{
		Columns: []Column{
			{Name: "a", DatabaseTypeName: "INT4", ScanType: reflect.TypeFor[int32](), Nullable: true, HasNullable: true},
			{Name: "b", DatabaseTypeName: "NUMERIC", ScanType: reflect.TypeFor[float64](), Precision: 12, Scale: 3, HasDecimalSize: true},
			{Name: "c", DatabaseTypeName: "TEXT", ScanType: reflect.TypeFor[string](), Length: math.MaxInt64, HasLength: true},
			{Name: "d", DatabaseTypeName: "VARCHAR", ScanType: reflect.TypeFor[string](), Length: -5, HasLength: true, HasNullable: true},
			{Name: "", ScanType: nil},
			{Name: "f", ScanType: reflect.TypeFor[custom]()},
		},
	}
	got := roundTrip(t, rs)
	if !reflect.DeepEqual(got.Columns, rs.Columns) {
		t.Errorf("columns decoded as %+v, want %+v", got.Columns, rs.Columns)
	}
	if got.Len() != 0 {
		t.Errorf("Len() = %d, want 0", got.Len())
	}
}

func TestDecodeRejectsCorruptInput(t *testing.T) {
	good, err := sample().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Every proper prefix is a truncation.
	for n := 0; n < len(good); n++ {
		var rs RowSet
		if err := rs.UnmarshalBinary(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d/%d bytes: error %v, want ErrCorrupt", n, len(good), err)
		}
	}
	emptyCols := []byte{formatVersion, 0}
	tests := []struct {
		name string
		b    []byte
	}{
		{"unknown version", append([]byte{formatVersion + 1}, good[1:]...)},
		{"version zero", append([]byte{0}, good[1:]...)},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"huge column count", []byte{formatVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"huge row count", []byte{formatVersion, 1, 0, 0, noScanType, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, tagNil}},
		{"huge row count without columns", append(emptyCols, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"unknown scan type code", []byte{formatVersion, 1, 0, 0, 200, 0, 0}},
		{"unknown scan type name", []byte{formatVersion, 1, 0, 0, 0, 3, 'x', 'y', 'z', 0, 0}},
		{"unknown column flag", []byte{formatVersion, 1, 0, 0, noScanType, 0x80, 0}},
		{"nullable without its ok flag", []byte{formatVersion, 1, 0, 0, noScanType, flagNullable, 0}},
		{"unknown value tag", []byte{formatVersion, 1, 0, 0, noScanType, 0, 1, 99}},
		{"nanoseconds out of range", []byte{formatVersion, 1, 0, 0, noScanType, 0, 1, tagTime, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03, locUTC}},
		{"unknown location kind", []byte{formatVersion, 1, 0, 0, noScanType, 0, 1, tagTime, 0, 0, 9}},
		{"zone offset out of range", []byte{formatVersion, 1, 0, 0, noScanType, 0, 1, tagTime, 0, 0, locFixed, 0, 0xff, 0xff, 0x7f}},
		{"overlong varint", []byte{formatVersion, 1, 0, 0, noScanType, 0, 1, tagInt64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"string past the end", []byte{formatVersion, 1, 0, 0, noScanType, 0, 1, tagString, 5, 'a'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := sample()
			before := len(rs.Values)
			if err := rs.UnmarshalBinary(tt.b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
			if len(rs.Values) != before {
				t.Error("a failed decode changed the RowSet")
			}
		})
	}
}

func TestMarshalRejectsNonDriverValues(t *testing.T) {
	for _, v := range []driver.Value{int32(1), uint64(1), float32(1), &struct{}{}, []string{"a"}} {
		rs := &RowSet{Columns: []Column{{Name: "v"}}, Values: [][]driver.Value{{v}}}
		if _, err := rs.MarshalBinary(); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("MarshalBinary(%T) error %v, want ErrUnsupportedValue", v, err)
		}
	}
}

// FuzzCodec: values of every kind round-trip with their exact type and
// value.
func FuzzCodec(f *testing.F) {
	f.Add(int64(0), 0.0, "", []byte(nil), false, int64(0), int32(0), uint8(0))
	f.Add(int64(math.MinInt64), math.Inf(-1), "héllo", []byte{0}, true, int64(math.MaxInt64), int32(-43200), uint8(1))
	f.Add(int64(255), math.NaN(), "\xff", []byte{}, true, int64(-1), int32(50400), uint8(2))
	f.Add(int64(-256), math.Copysign(0, -1), "x", []byte("abc"), false, int64(1700000000123456789), int32(19800), uint8(3))
	f.Fuzz(func(t *testing.T, i int64, fl float64, s string, b []byte, bo bool, nanos int64, off int32, zone uint8) {
		tm := time.Unix(0, nanos)
		switch zone % 4 {
		case 0:
			tm = tm.UTC()
		case 1: // Local
		case 2:
			tm = tm.In(time.FixedZone("", int(off%86400)))
		case 3:
			tm = tm.In(time.FixedZone(s, int(off%86400)))
		}
		row := []driver.Value{i, fl, s, b, bo, tm, nil}
		rs := &RowSet{Columns: make([]Column, len(row)), Values: [][]driver.Value{row, row}}
		for c := range rs.Columns {
			rs.Columns[c].Name = s
		}
		got := roundTrip(t, rs)
		for r := range got.Values {
			for c := range row {
				if !sameValue(row[c], got.Values[r][c]) {
					t.Fatalf("row %d column %d: decoded %T(%#v), want %T(%#v)", r, c, got.Values[r][c], got.Values[r][c], row[c], row[c])
				}
			}
		}
	})
}

// FuzzDecode: no input makes UnmarshalBinary panic, every failure wraps
// ErrCorrupt, and whatever decodes re-encodes to a stable encoding.
func FuzzDecode(f *testing.F) {
	for _, rs := range []*RowSet{sample(), {}, {Columns: []Column{{Name: "a"}}}} {
		b, err := rs.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{formatVersion, 1, 0, 0, 0, 3, 'x', 'y', 'z', 0, 0})
	f.Add([]byte{formatVersion, 1, 0, 0, noScanType, 0, 1, tagTime, 0, 0, locNamed, 16, 'A', 'm', 'e', 'r', 'i', 'c', 'a', '/', 'L', 'i', 'm', 'a', '/', 'x', 'y', 'z', 3, 'L', 'M', 'T', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var rs RowSet
		if err := rs.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		enc1, err := rs.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding a decoded RowSet: %v", err)
		}
		var again RowSet
		if err := again.UnmarshalBinary(enc1); err != nil {
			t.Fatalf("decoding a re-encoding: %v", err)
		}
		enc2, err := again.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding not stable:\n%x\n%x", enc1, enc2)
		}
	})
}
