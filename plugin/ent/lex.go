package hydraent

import (
	"strconv"
	"strings"
)

// tokKind is the kind of a SQL token. The lexer knows just enough SQL to
// find tables, key conditions and placeholders in the statements Ent and
// Atlas produce; anything it does not understand makes a statement
// uncacheable (reads) or a coarse invalidation (writes), never a wrong one.
type tokKind uint8

const (
	tWord   tokKind = iota // bare identifier or keyword; up holds it upper-cased
	tQuoted                // "quoted" or `quoted` identifier, unquoted in text
	tString                // 'literal'
	tNumber                // numeric literal
	tParam                 // $n or ?; n holds the 0-based argument index
	tPunct                 // operator or punctuation
)

type token struct {
	kind tokKind
	text string // identifier text (unquoted), or the operator
	up   string // upper-cased text of a tWord
	n    int    // argument index of a tParam
	pos  int    // byte offset in the statement
}

func (t token) is(kw string) bool   { return t.kind == tWord && t.up == kw }
func (t token) punct(p string) bool { return t.kind == tPunct && t.text == p }

// ident reports whether t names something (a column or table).
func (t token) ident() bool { return t.kind == tWord || t.kind == tQuoted }

// lex splits query into tokens. ok is false for input it cannot read
// (an unterminated quote, for example).
func lex(query string) (toks []token, ok bool) {
	toks = make([]token, 0, 32)
	qmarks := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			for i < len(query) && query[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				return nil, false
			}
			i += end + 4
		case c == '"' || c == '`':
			j := i + 1
			var b strings.Builder
			for {
				if j >= len(query) {
					return nil, false
				}
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c { // doubled quote
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(query[j])
				j++
			}
			toks = append(toks, token{kind: tQuoted, text: b.String(), pos: i})
			i = j + 1
		case c == '\'':
			j := i + 1
			for {
				if j >= len(query) {
					return nil, false
				}
				if query[j] == '\'' {
					if j+1 < len(query) && query[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			toks = append(toks, token{kind: tString, text: query[i+1 : j], pos: i})
			i = j + 1
		case c == '?':
			toks = append(toks, token{kind: tParam, n: qmarks, pos: i})
			qmarks++
			i++
		case c == '$' && i+1 < len(query) && isDigit(query[i+1]):
			j := i + 1
			for j < len(query) && isDigit(query[j]) {
				j++
			}
			n, err := strconv.Atoi(query[i+1 : j])
			if err != nil || n < 1 {
				return nil, false
			}
			toks = append(toks, token{kind: tParam, n: n - 1, pos: i})
			i = j
		case isDigit(c):
			j := i
			for j < len(query) && (isDigit(query[j]) || query[j] == '.' || query[j] == 'e' || query[j] == 'E') {
				j++
			}
			toks = append(toks, token{kind: tNumber, text: query[i:j], pos: i})
			i = j
		case isWordStart(c):
			j := i
			for j < len(query) && isWordPart(query[j]) {
				j++
			}
			w := query[i:j]
			toks = append(toks, token{kind: tWord, text: w, up: strings.ToUpper(w), pos: i})
			i = j
		default:
			// Two-character operators stay whole so "<=" is not "<" "=".
			if i+1 < len(query) {
				switch query[i : i+2] {
				case "<=", ">=", "<>", "!=", "||", "::", "->":
					toks = append(toks, token{kind: tPunct, text: query[i : i+2], pos: i})
					i += 2
					continue
				}
			}
			toks = append(toks, token{kind: tPunct, text: query[i : i+1], pos: i})
			i++
		}
	}
	return toks, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isWordPart(c byte) bool { return isWordStart(c) || isDigit(c) || c == '$' }

// keywords that can follow a table reference and so are never its alias.
var clauseWords = map[string]bool{
	"WHERE": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "FULL": true,
	"CROSS": true, "NATURAL": true, "ON": true, "USING": true, "GROUP": true, "ORDER": true,
	"LIMIT": true, "OFFSET": true, "HAVING": true, "UNION": true, "INTERSECT": true,
	"EXCEPT": true, "FOR": true, "WINDOW": true, "SET": true, "VALUES": true, "RETURNING": true,
	"LOCK": true, "FETCH": true, "OUTER": true, "DEFAULT": true, "SELECT": true, "AS": true,
	"ONLY": true, "LATERAL": true,
}
