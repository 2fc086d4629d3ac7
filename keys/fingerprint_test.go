package keys

import (
	"database/sql/driver"
	"errors"
	"math"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func mustQuery(t testing.TB, dialect, sql string, args ...any) Fingerprint {
	t.Helper()
	fp, err := Query(dialect, sql, args)
	if err != nil {
		t.Fatalf("Query(%q, %q, %#v): %v", dialect, sql, args, err)
	}
	return fp
}

type strValuer string

func (v strValuer) Value() (driver.Value, error) { return string(v), nil }

type nilPtrValuer struct{}

// Value has a pointer receiver and tolerates a nil one, as database/sql
// allows; what it returns for nil must be hashed, not assumed NULL.
func (p *nilPtrValuer) Value() (driver.Value, error) {
	if p == nil {
		return "default", nil
	}
	return "set", nil
}

type panicValuer struct{ p *int }

func (v *panicValuer) Value() (driver.Value, error) { return int64(*v.p), nil }

type myString string

func TestQueryDistinct(t *testing.T) {
	utc := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	paris := utc.In(time.FixedZone("CEST", 2*3600))
	sameOffsetOtherName := utc.In(time.FixedZone("XYZ", 2*3600))
	var nilInt *int64
	// Every entry must get its own fingerprint.
	cases := []struct {
		name    string
		dialect string
		sql     string
		args    []any
	}{
		{"int64 1", "pg", "q", []any{int64(1)}},
		{"string 1", "pg", "q", []any{"1"}},
		{"bytes 1", "pg", "q", []any{[]byte("1")}},
		{"float 1", "pg", "q", []any{float64(1)}},
		{"true", "pg", "q", []any{true}},
		{"false", "pg", "q", []any{false}},
		{"int64 0", "pg", "q", []any{int64(0)}},
		{"nil", "pg", "q", []any{nil}},
		{"nil pointer", "pg", "q", []any{nilInt}},
		{"empty string", "pg", "q", []any{""}},
		{"empty bytes", "pg", "q", []any{[]byte{}}},
		{"nil bytes", "pg", "q", []any{[]byte(nil)}},
		{"no args", "pg", "q", nil},
		{"time utc", "pg", "q", []any{utc}},
		{"time other zone", "pg", "q", []any{paris}},
		{"time same offset other name", "pg", "q", []any{sameOffsetOtherName}},
		{"time next nanosecond", "pg", "q", []any{utc.Add(1)}},
		{"args ab,c", "pg", "q", []any{"ab", "c"}},
		{"args a,bc", "pg", "q", []any{"a", "bc"}},
		{"args abc", "pg", "q", []any{"abc"}},
		{"sql boundary q?,x", "pg", "q?", []any{"x"}},
		{"sql boundary q,?x", "pg", "q", []any{"?x"}},
		{"dialect boundary", "pgq", "", []any{int64(1)}},
		{"dialect other", "mysql", "q", []any{int64(1)}},
		{"uint above int64", "pg", "q", []any{uint64(math.MaxUint64)}},
		{"int64 -1", "pg", "q", []any{int64(-1)}},
		{"list of 1", "pg", "q", []any{[]int64{1}}},
		{"list of 1,2", "pg", "q", []any{[]int64{1, 2}}},
		{"list then 2", "pg", "q", []any{[]int64{1}, int64(2)}},
		{"list of string 1", "pg", "q", []any{[]string{"1"}}},
		{"empty list", "pg", "q", []any{[]int64{}}},
		{"nil list", "pg", "q", []any{[]int64(nil)}},
		{"array of 1", "pg", "q", []any{[1]int64{1}}},
		{"valuer 1", "pg", "q", []any{strValuer("1")}},
		{"nil pointer-receiver valuer", "pg", "q", []any{(*nilPtrValuer)(nil)}},
		{"float -0", "pg", "q", []any{math.Copysign(0, -1)}},
		{"float 0", "pg", "q", []any{0.0}},
		{"nested list", "pg", "q", []any{[]any{[]int64{1}}}},
		{"list of nil", "pg", "q", []any{[]any{nil}}},
		{"list of nil pointer", "pg", "q", []any{[]*int64{nil}}},
		{"list of valuer", "pg", "q", []any{[]strValuer{"1"}}},
	}
	seen := map[Fingerprint]string{}
	for _, c := range cases {
		fp := mustQuery(t, c.dialect, c.sql, c.args...)
		if prev, ok := seen[fp]; ok {
			t.Errorf("%q and %q share fingerprint %s", prev, c.name, fp)
		}
		seen[fp] = c.name
	}
}

func TestQueryEqual(t *testing.T) {
	s := "x"
	i := int64(7)
	pi := &i
	utc := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	withMonotonic := time.Now()
	// Each pair must share a fingerprint: the driver receives the same value.
	pairs := []struct {
		name string
		a, b any
	}{
		{"int widths", int64(7), int32(7)},
		{"int and int8", int64(7), int8(7)},
		{"int and uint8", int64(7), uint8(7)},
		{"int and uint64", int64(7), uint64(7)},
		{"named int", int64(7), userID(7)},
		{"pointer", int64(7), pi},
		{"pointer to pointer", int64(7), &pi},
		{"pointer to string", "x", &s},
		{"named string", "x", myString("x")},
		{"float widths", float64(0.5), float32(0.5)},
		{"[]any and []int64", []int64{1, 2}, []any{int64(1), int(2)}},
		{"[]string and []any", []string{"a"}, []any{"a"}},
		{"[]int and []int64", []int64{1, 2}, []int{1, 2}},
		{"named bytes", []byte("j"), myBytes("j")},
		{"[]int32 and []int64", []int32{1, -2}, []int64{1, -2}},
		{"[]userID and []any", []userID{3}, []any{int64(3)}},
		{"[]time.Time and []any", []time.Time{utc}, []any{utc}},
		{"[]valuer and []any", []strValuer{"v"}, []any{strValuer("v")}},
		{"[]*int64 and []any", []*int64{pi, nil}, []any{pi, (*int64)(nil)}},
		{"[][]byte and []any", [][]byte{nil, {1}}, []any{[]byte(nil), []byte{1}}},
		{"same time twice", utc, time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)},
		{"monotonic reading ignored", withMonotonic, withMonotonic.Round(0)},
	}
	for _, p := range pairs {
		if a, b := mustQuery(t, "pg", "q", p.a), mustQuery(t, "pg", "q", p.b); a != b {
			t.Errorf("%s: %#v and %#v differ", p.name, p.a, p.b)
		}
	}
}

type myBytes []byte

func TestQueryUnsupported(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = &cyclic
	var deep any = int64(1)
	for range 2 * maxDepth {
		deep = []any{deep}
	}
	tests := []struct {
		name string
		arg  any
	}{
		{"struct", struct{ A int }{1}},
		{"map", map[string]int{"a": 1}},
		{"func", func() {}},
		{"chan", make(chan int)},
		{"complex", complex(1, 2)},
		{"slice of structs", []struct{}{{}}},
		{"pointer to struct", &struct{}{}},
		{"failing valuer", failingValuer{}},
		{"panicking valuer", &panicValuer{}},
		{"cycle", cyclic},
		{"too deep", deep},
		{"list of structs in []any", []any{struct{}{}}},
		{"list of maps", []map[int]int{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Query("pg", "q", []any{int64(1), tt.arg})
			if err == nil {
				t.Fatalf("Query accepted %T", tt.arg)
			}
			if tt.name != "failing valuer" && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v does not wrap ErrUnsupported", err)
			}
		})
	}
}

func TestFingerprintString(t *testing.T) {
	fp := mustQuery(t, "pg", "SELECT 1")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(fp.String()) {
		t.Fatalf("String() = %q, want 32 lowercase hex chars", fp.String())
	}
	if got := (Fingerprint{0xab, 0x01}).String(); got != "ab010000000000000000000000000000" {
		t.Fatalf("String() = %q", got)
	}
}

func FuzzQuery(f *testing.F) {
	f.Add("SELECT * FROM t WHERE a = $1", "ab", int64(1), 1)
	f.Add("q", "1", int64(1), 0)
	f.Add("", "", int64(0), 0)
	f.Add("x", "abc", int64(-5), 2)
	f.Add("SELECT $1", "\x00\xff", int64(math.MaxInt64), 7)
	f.Fuzz(func(t *testing.T, sql, s string, n int64, cut int) {
		if len(s) > 0 {
			cut = ((cut % len(s)) + len(s)) % len(s)
		} else {
			cut = 0
		}
		q := func(dialect, sql string, args ...any) Fingerprint {
			t.Helper()
			a, err := Query(dialect, sql, args)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			b, _ := Query(dialect, sql, args)
			if a != b {
				t.Fatalf("Query(%q, %q, %#v) is not deterministic", dialect, sql, args)
			}
			return a
		}
		ns := strconv.FormatInt(n, 10)
		at := time.Unix(n%(1<<40), int64(cut)).UTC()
		variants := []struct {
			name string
			fp   Fingerprint
		}{
			{"string", q("pg", sql, s)},
			{"bytes", q("pg", sql, []byte(s))},
			{"int64", q("pg", sql, n)},
			{"float", q("pg", sql, float64(n))},
			{"valuer", q("pg", sql, strValuer(s))},
			{"list of string", q("pg", sql, []string{s})},
			{"nil", q("pg", sql, nil)},
			{"no args", q("pg", sql)},
			{"two args", q("pg", sql, s, n)},
			{"split args", q("pg", sql, s[:cut], s[cut:])},
			{"time utc", q("pg", sql, at)},
			{"time other zone", q("pg", sql, at.In(time.FixedZone("Z1", 3600)))},
			{"bool", q("pg", sql, n%2 == 0)},
		}
		type variant = struct {
			name string
			fp   Fingerprint
		}
		if s != ns {
			variants = append(variants, variant{"int as string", q("pg", sql, ns)})
		}
		if s != "" { // bytes moved from the argument into the SQL
			variants = append(variants, variant{"sql+s no args", q("pg", sql+s)})
		}
		if sql != "" { // bytes moved from the SQL into the dialect
			variants = append(variants, variant{"dialect moved", q("pg"+sql, "", s)})
		}
		seen := map[Fingerprint]string{}
		for _, v := range variants {
			if prev, ok := seen[v.fp]; ok {
				t.Fatalf("sql %q s %q n %d: %s and %s share a fingerprint", sql, s, n, prev, v.name)
			}
			seen[v.fp] = v.name
		}
		// Moving the split point changes the arguments, so the fingerprint.
		if cut+1 < len(s) && q("pg", sql, s[:cut], s[cut:]) == q("pg", sql, s[:cut+1], s[cut+1:]) {
			t.Fatalf("split %q at %d and %d share a fingerprint", s, cut, cut+1)
		}
		// What the driver sees identically hashes identically.
		if q("pg", sql, n) != q("pg", sql, &n) || q("pg", sql, []any{s}) != q("pg", sql, []string{s}) {
			t.Fatal("equivalent arguments differ")
		}
	})
}

func BenchmarkQuery(b *testing.B) {
	sql := `SELECT "users"."id","users"."name" FROM "users" WHERE "org_id" = $1 AND "name" = $2 LIMIT $3`
	for len(sql) < 100 {
		sql += " "
	}
	sql = sql[:100]
	args := []any{int64(12345), "alice", 20}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Query("postgres", sql, args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCollection(b *testing.B) {
	fp := mustQuery(b, "pg", "SELECT 1")
	b.ReportAllocs()
	for b.Loop() {
		_ = Collection(fp)
	}
}
