package keytext

import (
	"slices"
	"testing"
)

func TestCanonical(t *testing.T) {
	const u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	cases := []struct {
		k    Kind
		in   string
		want string
		ok   bool
	}{
		{Int, "100", "100", true},
		{Int, "0100", "100", true},
		{Int, "+100", "100", true},
		{Int, " 100 ", "100", true},
		{Int, "-0", "0", true},
		{Int, "-12", "-12", true},
		{Int, "1_000", "1000", true},
		{Int, "1e2", "", false},
		{Int, "abc", "", false},
		{Int, "99999999999999999999999", "", false},
		{UUID, u, u, true},
		{UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", u, true},
		{UUID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", u, true},
		{UUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11", u, true},
		{UUID, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", u, true},
		{UUID, "urn:uuid:" + u, u, true},
		{UUID, "not-a-uuid", "", false},
		{Text, "abc", "abc", true},
		{Text, "100", "100", true},
		{Text, "0100", "", false},
		{Text, u, u, true},
		{Text, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "", false},
		{Text, "", "", true},
	}
	for _, c := range cases {
		got, ok := Canonical(c.k, c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Canonical(%d, %q) = %q, %v; want %q, %v", c.k, c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestSpellings(t *testing.T) {
	cases := map[string][]string{
		"100":                                  {"100"},
		"0100":                                 {"0100", "100"},
		"abc":                                  {"abc"},
		"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11": {"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	}
	for in, want := range cases {
		if got := Spellings(in); !slices.Equal(got, want) {
			t.Errorf("Spellings(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCanonical checks that every spelling Canonical accepts is one
// Spellings of it bumps, so no cached entry outlives a write.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"100", "0100", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range []Kind{Text, Int, UUID} {
			c, ok := Canonical(k, s)
			if !ok {
				continue
			}
			if !slices.Contains(Spellings(s), c) {
				t.Fatalf("Canonical(%d, %q) = %q, not among Spellings %q", k, s, c, Spellings(s))
			}
			if c2, ok2 := Canonical(k, c); !ok2 || c2 != c {
				t.Fatalf("Canonical not idempotent: %q -> %q -> %q", s, c, c2)
			}
		}
	})
}
