package sqlstmt

import (
	"strconv"
	"strings"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tWord   tokKind = iota // bare identifier or keyword; up holds it upper-cased
	tQuoted                // "quoted", `quoted` or [quoted] identifier, unquoted in text
	tString                // a string literal, its contents in text
	tNumber                // numeric literal
	tParam                 // a placeholder; n holds its 0-based argument index
	tPunct                 // operator or punctuation
)

type token struct {
	kind tokKind
	text string // identifier text (unquoted), string contents, or the operator
	up   string // upper-cased text of a tWord
	n    int    // argument index of a tParam
	pos  int    // byte offset in the statement
}

func (t token) is(kw string) bool   { return t.kind == tWord && t.up == kw }
func (t token) punct(p string) bool { return t.kind == tPunct && t.text == p }

// ident reports whether t names something (a column, table or function).
func (t token) ident() bool { return t.kind == tWord || t.kind == tQuoted }

// lexer splits a statement into tokens the way its dialect reads it. What
// matters is that no token the database sees is hidden inside what the
// lexer takes for a string or a comment: such a token (a FOR UPDATE, a
// second statement) could change what the statement is. Input the lexer
// cannot read in the dialect's terms (an unterminated quote or comment, a
// MySQL executable comment) fails the whole statement, which the caller
// then treats as the worst case.
type lexer struct {
	d      Dialect
	q      string
	toks   []token
	qmarks int // '?' placeholders seen
}

// lex splits query into tokens. ok is false for input it cannot read.
func lex(d Dialect, query string) (toks []token, ok bool) {
	l := lexer{d: d, q: query, toks: make([]token, 0, 32)}
	if !l.run() {
		return nil, false
	}
	return l.toks, true
}

func (l *lexer) run() bool {
	q := l.q
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-' && l.dashComment(i):
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '#' && l.d == MySQL:
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			end, ok := l.blockComment(i)
			if !ok {
				return false
			}
			i = end
		case c == '\'':
			end, text, ok := l.quoted(i, '\'', l.d == MySQL)
			if !ok {
				return false
			}
			l.add(token{kind: tString, text: text, pos: i})
			i = end
		case c == '"' && l.d == MySQL:
			// A string in MySQL's default mode (not ANSI_QUOTES).
			end, text, ok := l.quoted(i, '"', true)
			if !ok {
				return false
			}
			l.add(token{kind: tString, text: text, pos: i})
			i = end
		case c == '"' || c == '`':
			end, text, ok := l.quoted(i, c, false)
			if !ok {
				return false
			}
			l.add(token{kind: tQuoted, text: text, pos: i})
			i = end
		case c == '[' && l.d == SQLite:
			end := strings.IndexByte(q[i+1:], ']')
			if end < 0 {
				return false
			}
			l.add(token{kind: tQuoted, text: q[i+1 : i+1+end], pos: i})
			i += end + 2
		case (c == 'e' || c == 'E') && l.d == Postgres && i+1 < len(q) && q[i+1] == '\'':
			// E'...': a string with backslash escapes.
			end, text, ok := l.quoted(i+1, '\'', true)
			if !ok {
				return false
			}
			l.add(token{kind: tString, text: text, pos: i})
			i = end
		case c == '$' && l.d == Postgres && i+1 < len(q) && isDigit(q[i+1]):
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			n, err := strconv.Atoi(q[i+1 : j])
			if err != nil || n < 1 {
				return false
			}
			l.add(token{kind: tParam, n: n - 1, pos: i})
			i = j
		case c == '$' && l.d == Postgres:
			end, text, ok := l.dollarQuoted(i)
			if !ok {
				return false
			}
			l.add(token{kind: tString, text: text, pos: i})
			i = end
		case c == '?' && l.d != Postgres:
			// In PostgreSQL '?' is a jsonb operator, never a placeholder.
			j := i + 1
			n := l.qmarks
			if l.d == SQLite && j < len(q) && isDigit(q[j]) { // ?NNN
				for j < len(q) && isDigit(q[j]) {
					j++
				}
				v, err := strconv.Atoi(q[i+1 : j])
				if err != nil || v < 1 {
					return false
				}
				n = v - 1
			}
			l.qmarks++
			l.add(token{kind: tParam, n: n, pos: i})
			i = j
		case isDigit(c) || c == '.' && i+1 < len(q) && isDigit(q[i+1]):
			j := i
			for j < len(q) && (isWordPart(q[j]) || q[j] == '.') {
				if (q[j] == 'e' || q[j] == 'E') && j+1 < len(q) && (q[j+1] == '+' || q[j+1] == '-') {
					j++
				}
				j++
			}
			l.add(token{kind: tNumber, text: q[i:j], pos: i})
			i = j
		case isWordStart(c):
			j := i
			for j < len(q) && isWordPart(q[j]) {
				j++
			}
			w := q[i:j]
			l.add(token{kind: tWord, text: w, up: strings.ToUpper(w), pos: i})
			i = j
		default:
			// Two-character operators stay whole so "<=" is not "<" "=".
			if i+1 < len(q) {
				switch q[i : i+2] {
				case "<=", ">=", "<>", "!=", "||", "::", "->", ":=":
					l.add(token{kind: tPunct, text: q[i : i+2], pos: i})
					i += 2
					continue
				}
			}
			l.add(token{kind: tPunct, text: q[i : i+1], pos: i})
			i++
		}
	}
	return true
}

func (l *lexer) add(t token) { l.toks = append(l.toks, t) }

// dashComment reports whether "--" at i starts a comment. In MySQL it does
// only when followed by white space or the end ("1--1" is 1 - -1).
func (l *lexer) dashComment(i int) bool {
	if l.d != MySQL {
		return true
	}
	if i+2 >= len(l.q) {
		return true
	}
	switch l.q[i+2] {
	case ' ', '\t', '\n', '\r', '\f', '\v':
		return true
	}
	return false
}

// blockComment returns the index after the comment starting at i.
// PostgreSQL nests block comments; MySQL runs the text of /*! ... */, which
// this lexer does not read.
func (l *lexer) blockComment(i int) (int, bool) {
	q := l.q
	if l.d == MySQL && i+2 < len(q) && q[i+2] == '!' {
		return 0, false
	}
	depth := 0
	for j := i; j+1 < len(q); {
		switch {
		case q[j] == '/' && q[j+1] == '*':
			depth++
			j += 2
			if l.d != Postgres && depth > 1 {
				depth = 1 // only PostgreSQL nests
			}
		case q[j] == '*' && q[j+1] == '/':
			depth--
			j += 2
			if depth == 0 {
				return j, true
			}
		default:
			j++
		}
	}
	return 0, false
}

// quoted reads a literal or identifier opened by quote at i, where a
// doubled quote stands for itself and, with escapes, a backslash escapes
// the next byte. It returns the index after the closing quote.
func (l *lexer) quoted(i int, quote byte, escapes bool) (int, string, bool) {
	q := l.q
	var b strings.Builder
	for j := i + 1; j < len(q); j++ {
		c := q[j]
		switch {
		case escapes && c == '\\':
			if j+1 >= len(q) {
				return 0, "", false
			}
			j++
			b.WriteByte(q[j])
		case c == quote:
			if j+1 < len(q) && q[j+1] == quote {
				b.WriteByte(quote)
				j++
				continue
			}
			return j + 1, b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return 0, "", false
}

// dollarQuoted reads a PostgreSQL dollar-quoted string ($$...$$ or
// $tag$...$tag$) at i.
func (l *lexer) dollarQuoted(i int) (int, string, bool) {
	q := l.q
	j := i + 1
	for j < len(q) && q[j] != '$' {
		if !isWordStart(q[j]) && !(j > i+1 && isDigit(q[j])) {
			return 0, "", false // a lone '$': not something we read
		}
		j++
	}
	if j >= len(q) {
		return 0, "", false
	}
	delim := q[i : j+1]
	end := strings.Index(q[j+1:], delim)
	if end < 0 {
		return 0, "", false
	}
	return j + 1 + end + len(delim), q[j+1 : j+1+end], true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordPart(c byte) bool { return isWordStart(c) || isDigit(c) || c == '$' }
