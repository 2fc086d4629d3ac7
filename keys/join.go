package keys

import (
	"errors"
	"fmt"
	"strings"
)

// Separator is the byte between two encoded segments of a key.
const Separator = ':'

// escape introduces a two-byte escape sequence inside a segment.
const escape = '\\'

// Escape codes: the byte after [escape]. A ':' is written as `\c` rather than
// `\:` so that a raw ':' in a key is always a separator, which keeps naive
// tools (redis-cli, SCAN patterns, strings.Split) seeing the right segments.
const (
	codeColon  = 'c'  // `\c` stands for ':'
	codeEscape = '\\' // `\\` stands for '\'
	codeEmpty  = 'e'  // `\e`, alone, stands for an empty segment
)

// ErrMalformed is wrapped by the error [Split] returns for a string that
// [Join] cannot have produced.
var ErrMalformed = errors.New("keys: malformed key")

// Join encodes segments into one key, separated by ':'.
//
// The encoding is injective: no two different segment lists give the same
// string. Inside a segment ':' is written `\c` and '\' is written `\\`; an
// empty segment is written `\e`; the empty list is the empty string. All
// other bytes (including non-UTF-8 ones) are copied unchanged, so
// Join("e", "users", "42") == "e:users:42".
//
// For non-empty lists a and b,
// Join(a...) + ":" + Join(b...) == Join(append(a, b...)...),
// which lets a caller prefix an already joined key with a namespace.
func Join(segments ...string) string {
	return join(nil, segments)
}

// join encodes head followed by tail without building a combined slice, so
// the builders below cost one allocation (the result).
func join(head, tail []string) string {
	n := 0
	for _, s := range head {
		n += encodedLen(s) + 1
	}
	for _, s := range tail {
		n += encodedLen(s) + 1
	}
	if n == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(n - 1)
	first := true
	for _, s := range head {
		appendSegment(&b, s, first)
		first = false
	}
	for _, s := range tail {
		appendSegment(&b, s, first)
		first = false
	}
	return b.String()
}

// encodedLen is the length of s once escaped.
func encodedLen(s string) int {
	if s == "" {
		return 2
	}
	n := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] == Separator || s[i] == escape {
			n++
		}
	}
	return n
}

func appendSegment(b *strings.Builder, s string, first bool) {
	if !first {
		b.WriteByte(Separator)
	}
	if s == "" {
		b.WriteByte(escape)
		b.WriteByte(codeEmpty)
		return
	}
	start := 0
	for i := 0; i < len(s); i++ {
		var code byte
		switch s[i] {
		case Separator:
			code = codeColon
		case escape:
			code = codeEscape
		default:
			continue
		}
		b.WriteString(s[start:i])
		b.WriteByte(escape)
		b.WriteByte(code)
		start = i + 1
	}
	b.WriteString(s[start:])
}

// Split decodes a key made by [Join]. It accepts exactly the strings Join
// produces (so Join(Split(k)) == k whenever Split succeeds); anything else
// gives an error wrapping [ErrMalformed].
func Split(key string) ([]string, error) {
	if key == "" {
		return []string{}, nil
	}
	out := make([]string, 0, strings.Count(key, ":")+1)
	start := 0
	for start <= len(key) {
		end := strings.IndexByte(key[start:], Separator)
		if end < 0 {
			end = len(key)
		} else {
			end += start
		}
		seg, err := decodeSegment(key[start:end])
		if err != nil {
			return nil, fmt.Errorf("keys: split %q: segment %d: %w", key, len(out), err)
		}
		out = append(out, seg)
		start = end + 1
	}
	return out, nil
}

// decodeSegment undoes appendSegment for one encoded segment (no ':').
func decodeSegment(enc string) (string, error) {
	switch enc {
	case "":
		return "", fmt.Errorf("%w: empty encoded segment", ErrMalformed)
	case `\e`:
		return "", nil
	}
	i := strings.IndexByte(enc, escape)
	if i < 0 {
		return enc, nil // the common case: no escapes, no copy
	}
	var b strings.Builder
	b.Grow(len(enc))
	start := 0
	for ; i < len(enc); i++ {
		if enc[i] != escape {
			continue
		}
		if i+1 == len(enc) {
			return "", fmt.Errorf("%w: trailing escape", ErrMalformed)
		}
		b.WriteString(enc[start:i])
		switch enc[i+1] {
		case codeColon:
			b.WriteByte(Separator)
		case codeEscape:
			b.WriteByte(escape)
		default:
			// `\e` inside a longer segment is rejected too: an empty segment
			// has exactly one spelling.
			return "", fmt.Errorf("%w: unknown escape %q", ErrMalformed, enc[i:i+2])
		}
		i++
		start = i + 1
	}
	b.WriteString(enc[start:])
	return b.String(), nil
}
