package keys

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestJoinSplit(t *testing.T) {
	tests := []struct {
		name string
		segs []string
		want string
	}{
		{"plain", []string{"e", "users", "42"}, "e:users:42"},
		{"plain punctuation unchanged", []string{"a_b-c.d#e", "x/y", "*?[]"}, "a_b-c.d#e:x/y:*?[]"},
		{"one segment", []string{"users"}, "users"},
		{"empty list", []string{}, ""},
		{"one empty segment", []string{""}, `\e`},
		{"two empty segments", []string{"", ""}, `\e:\e`},
		{"empty in the middle", []string{"a", "", "b"}, `a:\e:b`},
		{"colon inside", []string{"a:b", "c"}, `a\cb:c`},
		{"colon alone", []string{":"}, `\c`},
		{"escape inside", []string{`a\b`}, `a\\b`},
		{"escape then e is not empty", []string{`\e`}, `\\e`},
		{"escape then c is not colon", []string{`\c`}, `\\c`},
		{"escape at the end", []string{`a\`, "b"}, `a\\:b`},
		{"unicode", []string{"tâble", "日本", "🙂"}, "tâble:日本:🙂"},
		{"invalid utf8 kept", []string{"\xff\xfe"}, "\xff\xfe"},
		{"nul byte kept", []string{"a\x00b"}, "a\x00b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Join(tt.segs...)
			if got != tt.want {
				t.Fatalf("Join(%q) = %q, want %q", tt.segs, got, tt.want)
			}
			back, err := Split(got)
			if err != nil {
				t.Fatalf("Split(%q): %v", got, err)
			}
			if !slices.Equal(back, tt.segs) || back == nil {
				t.Fatalf("Split(%q) = %q, want %q", got, back, tt.segs)
			}
		})
	}
}

func TestJoinInjectiveOnTrickyLists(t *testing.T) {
	// Lists that naive encodings confuse; all must give different keys.
	lists := [][]string{
		{}, {""}, {"", ""}, {"", "", ""},
		{":"}, {"", ""}, {`\`}, {`\`, ""}, {`\:`}, {`\`, `:`},
		{"a:b"}, {"a", "b"}, {"a", "", "b"}, {"a:", "b"}, {"a", ":b"},
		{`\e`}, {`\c`}, {"e"}, {"c"}, {`\\`},
	}
	seen := map[string][]string{}
	for _, l := range lists {
		k := Join(l...)
		if prev, ok := seen[k]; ok && !slices.Equal(prev, l) {
			t.Fatalf("Join(%q) == Join(%q) == %q", prev, l, k)
		}
		seen[k] = l
	}
}

func TestJoinConcatenation(t *testing.T) {
	parts := [][]string{{"a"}, {""}, {"", ""}, {"x:y", `\`}, {"tenant", "7"}, {"e", "users", "42"}}
	for _, a := range parts {
		for _, b := range parts {
			got := Join(a...) + ":" + Join(b...)
			want := Join(append(slices.Clone(a), b...)...)
			if got != want {
				t.Errorf("Join(%q)+\":\"+Join(%q) = %q, want %q", a, b, got, want)
			}
		}
	}
}

func TestSplitMalformed(t *testing.T) {
	for _, in := range []string{
		":", "a:", ":a", "a::b", // empty encoded segments
		`\`, `a\`, `a\:b`, // trailing escape (a raw ':' is always a separator)
		`\x`, `a\eb`, `\e\e`, `x\e`, `\C`, // unknown escapes, \e not alone
	} {
		got, err := Split(in)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Split(%q) = %q, %v; want ErrMalformed", in, got, err)
		}
	}
}

// fuzzSegments turns a fuzz string into a segment list so that every list is
// reachable: "" is the empty list, otherwise the first byte is dropped and the
// rest is split on NUL ("x" is [""], "x\x00" is ["", ""]).
func fuzzSegments(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s[1:], "\x00")
}

func FuzzJoinSplit(f *testing.F) {
	f.Add("", "x", "")
	f.Add("x", "x\x00", `\e`)
	f.Add("xa:b", "xa\x00b", "a:b")
	f.Add(`x\`, `x\e`, `a\cb:\\`)
	f.Add("xe\x00users\x0042", "x:\x00\\\x00", "e:users:42")
	f.Add("x日本\x00\xff", "x", `\c\\:\e:`)
	f.Fuzz(func(t *testing.T, sa, sb, raw string) {
		a, b := fuzzSegments(sa), fuzzSegments(sb)
		ka, kb := Join(a...), Join(b...)
		for _, c := range []struct {
			segs []string
			key  string
		}{{a, ka}, {b, kb}} {
			back, err := Split(c.key)
			if err != nil {
				t.Fatalf("Split(Join(%q)) failed: %v", c.segs, err)
			}
			if !slices.Equal(back, c.segs) {
				t.Fatalf("Split(Join(%q)) = %q", c.segs, back)
			}
		}
		if (ka == kb) != slices.Equal(a, b) {
			t.Fatalf("Join(%q) = %q, Join(%q) = %q: equality of keys and lists disagree", a, ka, b, kb)
		}
		if len(a) > 0 && len(b) > 0 {
			if got, want := ka+":"+kb, Join(append(slices.Clone(a), b...)...); got != want {
				t.Fatalf("concatenation: %q != %q", got, want)
			}
		}
		// Split accepts only canonical keys, so a key has one spelling.
		if segs, err := Split(raw); err == nil {
			if Join(segs...) != raw {
				t.Fatalf("Split(%q) = %q but Join gives %q", raw, segs, Join(segs...))
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Split(%q) error %v does not wrap ErrMalformed", raw, err)
		}
	})
}

type userID int64

type status int

func (s status) String() string { return "status-" + fmt.Sprint(int(s)) }

type fakeUUID [16]byte

func (u fakeUUID) Value() (driver.Value, error) { return uuidText(u), nil }

type ptrValuer struct{ v string }

func (p *ptrValuer) Value() (driver.Value, error) { return p.v, nil }

type failingValuer struct{}

func (failingValuer) Value() (driver.Value, error) { return nil, errors.New("boom") }

type nullValuer struct{}

func (nullValuer) Value() (driver.Value, error) { return nil, nil }

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

type ptrStringer struct{ s string }

func (p *ptrStringer) String() string { return p.s }

func TestValue(t *testing.T) {
	i64 := int64(42)
	pi := &i64
	str := "abc"
	tm := time.Unix(0, 0)
	u := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	const uText = "12345678-9abc-def0-0123-456789abcdef"
	tests := []struct {
		name string
		in   any
		want string
		err  error
	}{
		{"int64", int64(42), "42", nil},
		{"int32", int32(42), "42", nil},
		{"int16", int16(42), "42", nil},
		{"int8", int8(42), "42", nil},
		{"int", 42, "42", nil},
		{"uint8", uint8(42), "42", nil},
		{"uint16", uint16(42), "42", nil},
		{"uint32", uint32(42), "42", nil},
		{"uint64", uint64(42), "42", nil},
		{"uint", uint(42), "42", nil},
		{"string", "42", "42", nil},
		{"negative", int64(-7), "-7", nil},
		{"min int64", int64(math.MinInt64), "-9223372036854775808", nil},
		{"max uint64", uint64(math.MaxUint64), "18446744073709551615", nil},
		{"named int", userID(42), "42", nil},
		{"named int with String keeps its number", status(3), "3", nil},
		{"bool", true, "true", nil},
		{"bytes as lowercase hex", []byte{0xAB, 0x01}, "ab01", nil},
		{"empty bytes", []byte{}, "", nil},
		{"16-byte array as uuid", u, uText, nil},
		{"valuer", fakeUUID(u), uText, nil},
		{"pointer-receiver valuer", &ptrValuer{"v1"}, "v1", nil},
		{"stringer", stringer{"s1"}, "s1", nil},
		{"pointer-receiver stringer", &ptrStringer{"s2"}, "s2", nil},
		{"pointer", pi, "42", nil},
		{"pointer to pointer", &pi, "42", nil},
		{"pointer to string", &str, "abc", nil},
		{"string with colon unchanged", "a:b", "a:b", nil},
		{"nil", nil, "", ErrUnsupported},
		{"nil pointer", (*int64)(nil), "", ErrUnsupported},
		{"float", 1.5, "", ErrUnsupported},
		{"time", time.Unix(0, 0), "", ErrUnsupported},
		{"time pointer", &tm, "", ErrUnsupported},
		{"struct", struct{ A int }{1}, "", ErrUnsupported},
		{"map", map[string]int{}, "", ErrUnsupported},
		{"slice", []int{1}, "", ErrUnsupported},
		{"valuer returning NULL", nullValuer{}, "", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Value(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Value(%#v) = %q, %v; want error %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Value(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := Value(failingValuer{}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Value(failingValuer) error = %v, want the Value error wrapped", err)
	}
}

func TestBuildersDoNotCollide(t *testing.T) {
	fp, err := Query("postgres", "SELECT 1", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Entry keys: entities of various tables and collections.
	entryKeys := []string{
		Entity("users", "42"), Entity("users", "4", "2"), Entity("users:4", "2"),
		Entity("users"), Entity(""), Entity("", ""), Collection(fp),
		Entity("q", fp.String()),
	}
	// Tags: entity tags, table tags and row-epoch tags.
	tags := []string{
		EntityTag("users", "42"), EntityTag("users"), TableTag("users"), RowsTag("users"),
		TableTag("e"), RowsTag("t"), TableTag(""), RowsTag(""), EntityTag("t", "users"),
	}
	for _, space := range [][]string{entryKeys, tags} {
		seen := map[string]bool{}
		for _, k := range space {
			if seen[k] {
				t.Fatalf("builders collide on %q", k)
			}
			seen[k] = true
		}
	}
	// Builders are Join with a fixed first segment.
	checks := []struct{ got, want string }{
		{Entity("users", "42"), "e:users:42"},
		{Entity("order:items", "1", "2"), Join("e", "order:items", "1", "2")},
		{EntityTag("users", "42"), Join("e", "users", "42")},
		{TableTag("users"), "t:users"},
		{RowsTag("users"), "r:users"},
		{Collection(fp), Join("q", fp.String())},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestScope(t *testing.T) {
	var zero Scope
	acme := Tenant("acme")
	tests := []struct {
		name      string
		got, want string
	}{
		{"zero prefix", zero.Prefix(), ""},
		{"zero key", zero.Key("e", "users", "1"), "e:users:1"},
		{"zero wrap", zero.Wrap(TableTag("users")), "t:users"},
		{"tenant prefix", acme.Prefix(), "tenant:acme"},
		{"tenant key", acme.Key("e", "users", "1"), "tenant:acme:e:users:1"},
		{"tenant key is Join", acme.Key("e", "users", "1"), Join("tenant", "acme", "e", "users", "1")},
		{"tenant wrap", acme.Wrap(Entity("users", "1")), acme.Key("e", "users", "1")},
		{"tenant no segments", acme.Key(), "tenant:acme"},
		{"tenant escaped id", Tenant("a:b").Key("x"), Join("tenant", "a:b", "x")},
		{"tenant empty id", Tenant("").Key("x"), `tenant:\e:x`},
		{"with", acme.With("eu").Key("x"), Join("tenant", "acme", "eu", "x")},
		{"with on zero", zero.With("ns", "").Key("x"), Join("ns", "", "x")},
		{"with nothing", acme.With().Prefix(), acme.Prefix()},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if a1, a2 := Tenant("a"), Tenant("a"); a1 == Tenant("b") || a1 != a2 {
		t.Error("Scope equality must follow the prefix")
	}
	// Tenants never share a key with each other or with the unscoped space.
	if Tenant("a:b").Key("c") == Tenant("a").Key("b", "c") || Tenant("e").Key("x") == zero.Key("e", "x") {
		t.Error("scoped keys collide")
	}
}

func TestTags(t *testing.T) {
	in := []string{"b", "a", "b", "c", "a"}
	ts := NewTags(in...)
	if want := (Tags{"a", "b", "c"}); !slices.Equal(ts, want) {
		t.Fatalf("NewTags = %q, want %q", ts, want)
	}
	if !slices.Equal(in, []string{"b", "a", "b", "c", "a"}) {
		t.Fatalf("NewTags modified its argument: %q", in)
	}
	base := NewTags("m", "a")
	base = slices.Grow(base, 10) // spare capacity would expose aliasing
	x := base.Add("z", "b", "m")
	y := base.Add("c")
	if want := (Tags{"a", "b", "m", "z"}); !slices.Equal(x, want) {
		t.Fatalf("Add = %q, want %q", x, want)
	}
	if want := (Tags{"a", "c", "m"}); !slices.Equal(y, want) {
		t.Fatalf("second Add = %q, want %q (first Add must not leak into it)", y, want)
	}
	if !slices.Equal(base, Tags{"a", "m"}) {
		t.Fatalf("Add modified its receiver: %q", base)
	}
	for _, c := range []struct {
		tag  string
		want bool
	}{{"a", true}, {"b", true}, {"z", true}, {"", false}, {"n", false}, {"zz", false}} {
		if got := x.Contains(c.tag); got != c.want {
			t.Errorf("Contains(%q) = %v, want %v", c.tag, got, c.want)
		}
	}
	if NewTags().Contains("") || len(Tags(nil).Add()) != 0 {
		t.Error("empty tag sets misbehave")
	}
}

func BenchmarkJoin(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Join("e", "users", "1234567")
		}
	})
	b.Run("escaped", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Join("e", "order:items", `a\b`, "")
		}
	})
	b.Run("Entity", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Entity("users", "1234567")
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Split("e:users:1234567")
	}
}
