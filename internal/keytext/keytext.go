// Package keytext decides the spelling under which the plugins keep a
// row's entry and tag, so that two spellings of one key ('0100' and 100,
// an upper- and a lower-case UUID), which the database reads as the same
// row, never hold two entries: a cached "not found" under one spelling
// would survive the create of the row under the other.
package keytext

import (
	"strconv"
	"strings"
)

// Kind is what a key column holds, as far as the plugin knows.
type Kind uint8

// The kinds.
const (
	Text Kind = iota // a string column, or a column of unknown type
	Int              // an integer column
	UUID             // a uuid column
)

// Canonical returns the spelling under which the row of key text s is
// kept, for a key column of kind k, and false when s must not be cached
// at all: the database may read it as another spelling of a key whose
// canonical form cannot be told here (an integer spelled '0100' in a
// column whose type is unknown, a UUID in a form not read here).
func Canonical(k Kind, s string) (string, bool) {
	switch k {
	case Int:
		if isCanonicalInt(s) {
			return s, true
		}
		return canonicalInt(s)
	case UUID:
		if isCanonicalUUID(s) {
			return s, true
		}
		return canonicalUUID(s)
	}
	if _, ok := canonicalInt(s); ok && !isCanonicalInt(s) {
		return "", false
	}
	if looksUUID(s) && !isCanonicalUUID(s) {
		return "", false
	}
	return s, true
}

// Spellings returns the key texts a write of the row whose key text is s
// bumps: s, and its canonical integer or UUID form when s spells one
// otherwise, whatever the column holds.
func Spellings(s string) []string {
	out := []string{s}
	if c, ok := canonicalInt(s); ok && c != s {
		out = append(out, c)
	}
	if c, ok := canonicalUUID(s); ok && c != s {
		out = append(out, c)
	}
	return out
}

// isCanonicalInt reports whether s is an integer's decimal text as
// strconv.FormatInt writes it.
func isCanonicalInt(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	i := 0
	if s[0] == '-' {
		i = 1
		if len(s) == 1 || s == "-0" {
			return false
		}
	}
	if s[i] == '0' && len(s) > i+1 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalInt reads s as a database reads an integer (surrounding space,
// a sign, leading zeros, underscores between digits) and returns its
// canonical text.
func canonicalInt(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if t == "" || len(t) > 64 {
		return "", false
	}
	neg := false
	switch t[0] {
	case '+':
		t = t[1:]
	case '-':
		neg, t = true, t[1:]
	}
	if t == "" {
		return "", false
	}
	digits := strings.ReplaceAll(t, "_", "")
	if digits == "" || strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") {
		return "", false
	}
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return "", false
	}
	if neg {
		if u > 1<<63 {
			return "", false
		}
		return strconv.FormatInt(-int64(u), 10), true
	}
	if u > 1<<63-1 {
		return strconv.FormatUint(u, 10), true
	}
	return strconv.FormatInt(int64(u), 10), true
}

// isCanonicalUUID reports whether s is 8-4-4-4-12 lower-case hex.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// looksUUID reports whether s could be a UUID in some spelling: hex
// digits, hyphens and braces, 32 hex digits in all.
func looksUUID(s string) bool {
	if len(s) < 32 || len(s) > 45 {
		return false
	}
	s = strings.TrimPrefix(strings.ToLower(s), "urn:uuid:")
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			n++
		case c == '-' || c == '{' || c == '}':
		default:
			return false
		}
	}
	return n == 32
}

// canonicalUUID reads the spellings of a UUID PostgreSQL reads (any case,
// braces, hyphens after any group of four digits or none, urn:uuid:) and
// returns the canonical one.
func canonicalUUID(s string) (string, bool) {
	if !looksUUID(s) {
		return "", false
	}
	t := strings.TrimPrefix(strings.ToLower(s), "urn:uuid:")
	if strings.HasPrefix(t, "{") != strings.HasSuffix(t, "}") {
		return "", false
	}
	t = strings.TrimSuffix(strings.TrimPrefix(t, "{"), "}")
	var hex [32]byte
	n := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == '-' {
			// PostgreSQL takes a hyphen after any group of four digits.
			if n == 0 || n%4 != 0 || i+1 == len(t) || t[i+1] == '-' {
				return "", false
			}
			continue
		}
		if c == '{' || c == '}' {
			return "", false
		}
		hex[n] = c
		n++
	}
	b := make([]byte, 0, 36)
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b = append(b, '-')
		}
		b = append(b, hex[i])
	}
	return string(b), true
}
