package hydragorm

import "strings"

// token is one lexical element of an SQL statement.
type token struct {
	kind  byte   // 'i' identifier or keyword, 'q' quoted identifier, 'p' punctuation, 'o' other
	text  string // identifier text (unquoted for 'q'), or the punctuation byte
	depth int    // parenthesis depth at the token
}

// lex splits s into tokens, skipping comments, string literals and
// numbers. multi reports a ';' followed by more text: several statements.
func lex(s string) (toks []token, multi bool) {
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return toks, multi
			}
			i += end + 4
		case c == '\'':
			i++
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				if s[i] == '\\' {
					i++ // MySQL-style escapes; harmless elsewhere
				}
				i++
			}
			i++
			toks = append(toks, token{kind: 'o', depth: depth})
		case c == '"' || c == '`':
			j := i + 1
			var b strings.Builder
			for j < len(s) {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{kind: 'q', text: b.String(), depth: depth})
			i = j + 1
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentPart(s[j]) {
				j++
			}
			toks = append(toks, token{kind: 'i', text: s[i:j], depth: depth})
			i = j
		case c >= '0' && c <= '9' || c == '$' || c == '?' || c == ':':
			j := i + 1
			for j < len(s) && (isIdentPart(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{kind: 'o', depth: depth})
			i = j
		case c == ';':
			if strings.TrimSpace(s[i+1:]) != "" {
				multi = true
			}
			i++
		default:
			if c == ')' {
				depth--
			}
			toks = append(toks, token{kind: 'p', text: s[i : i+1], depth: depth})
			if c == '(' {
				depth++
			}
			i++
		}
	}
	return toks, multi
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

func isName(t token) bool { return t.kind == 'i' || t.kind == 'q' }

func kw(t token, w string) bool { return t.kind == 'i' && strings.EqualFold(t.text, w) }

// fromListEnd are the keywords that end a FROM list.
var fromListEnd = map[string]bool{
	"where": true, "group": true, "order": true, "limit": true, "offset": true,
	"having": true, "window": true, "union": true, "intersect": true, "except": true,
	"for": true, "returning": true, "on": true, "using": true, "join": true,
	"inner": true, "left": true, "right": true, "full": true, "cross": true,
	"natural": true, "set": true, "values": true, "fetch": true, "select": true,
}

// tableRef reads a table name at toks[i] ("t", "s"."t", ONLY t, LATERAL
// (...)). It returns the normalised name, or "" when toks[i] starts a
// subquery or function, and the index after the name.
func tableRef(toks []token, i int) (string, int) {
	for i < len(toks) && (kw(toks[i], "only") || kw(toks[i], "lateral")) {
		i++
	}
	if i >= len(toks) || !isName(toks[i]) {
		return "", i
	}
	name := toks[i].text
	i++
	for i+1 < len(toks) && toks[i].kind == 'p' && toks[i].text == "." && isName(toks[i+1]) {
		name = toks[i+1].text
		i += 2
	}
	return normTable(name), i // as writes spell it: "a.b" quoted is b there too
}

// readTables returns the tables a statement reads or writes: every name
// after FROM, JOIN, INTO, UPDATE and in FROM lists. It over-approximates
// (a CTE name, a function in FROM, EXTRACT(x FROM col) count as tables),
// which costs extra tags, never a missed invalidation. ok is false for
// several statements in one string, and for a locking read (FOR UPDATE,
// FOR SHARE, ...), which must reach the database.
func readTables(s string) (tables []string, ok bool) {
	toks, multi := lex(s)
	if multi {
		return nil, false
	}
	add := func(t string) {
		if t == "" {
			return
		}
		for _, x := range tables {
			if x == t {
				return
			}
		}
		tables = append(tables, t)
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if kw(t, "for") && i+1 < len(toks) && (kw(toks[i+1], "update") || kw(toks[i+1], "share") ||
			kw(toks[i+1], "no") || kw(toks[i+1], "key")) {
			return nil, false // a locking read: never from a cache
		}
		switch {
		case kw(t, "join"), kw(t, "into"), kw(t, "update"), kw(t, "table"):
			name, _ := tableRef(toks, i+1)
			add(name)
		case kw(t, "from"):
			name, j := tableRef(toks, i+1)
			add(name)
			// A FROM list: each ',' at this depth starts another table.
			d := t.depth
			for ; j < len(toks); j++ {
				u := toks[j]
				if u.depth < d || u.depth == d && u.kind == 'i' && fromListEnd[strings.ToLower(u.text)] {
					break
				}
				if u.depth == d && u.kind == 'p' && u.text == "," {
					name, _ := tableRef(toks, j+1)
					add(name)
				}
			}
		}
	}
	return tables, true
}

// writeKind classifies a raw statement by its first keyword.
type writeKind int

const (
	writeNone    writeKind = iota // a read, a session or transaction statement
	writeTables                   // DML on the named tables
	writeUnknown                  // DDL, or anything not understood: flush
)

// classifyRaw classifies a statement run through db.Exec or the Row chain
// and returns the tables it writes.
func classifyRaw(s string) (writeKind, []string) {
	toks, multi := lex(s)
	// Skip leading parentheses: (SELECT ...) UNION ...
	i := 0
	for i < len(toks) && toks[i].kind == 'p' && toks[i].text == "(" {
		i++
	}
	if i >= len(toks) || toks[i].kind != 'i' {
		if len(toks) == 0 {
			return writeNone, nil
		}
		return writeUnknown, nil
	}
	if multi {
		return writeUnknown, nil
	}
	first := strings.ToLower(toks[i].text)
	switch first {
	case "select", "show", "explain", "describe", "pragma", "values", "table":
		// EXPLAIN ANALYZE runs its statement; a SELECT can call a function
		// that writes. Both are beyond what a cache can see; PRAGMA can
		// change a SQLite schema (writable_schema), rarely.
		if first == "explain" && len(toks) > i+1 && kw(toks[i+1], "analyze") {
			return writeUnknown, nil
		}
		return writeNone, nil
	case "savepoint", "release", "begin", "start", "commit", "end", "set", "reset",
		"prepare", "deallocate", "listen", "unlisten", "notify", "discard", "vacuum", "analyze":
		return writeNone, nil
	case "rollback":
		return writeNone, nil
	case "insert", "update", "delete", "merge", "replace", "upsert", "truncate":
		tables, ok := writtenTables(toks[i:])
		if !ok || len(tables) == 0 {
			return writeUnknown, nil
		}
		return writeTables, tables
	case "with":
		// A data-modifying CTE writes tables that are hard to tell apart
		// from the ones it reads: bump all of them.
		for _, t := range toks {
			if kw(t, "insert") || kw(t, "update") || kw(t, "delete") || kw(t, "merge") {
				tables, ok := readTables(s)
				if !ok || len(tables) == 0 {
					return writeUnknown, nil
				}
				return writeTables, tables
			}
		}
		return writeNone, nil
	}
	return writeUnknown, nil
}

// writtenTables returns the target tables of a DML statement starting at
// toks[0]. TRUNCATE takes a list.
func writtenTables(toks []token) ([]string, bool) {
	first := strings.ToLower(toks[0].text)
	i := 1
	switch first {
	case "insert", "replace", "merge", "upsert":
		for i < len(toks) && !kw(toks[i], "into") {
			if toks[i].kind != 'i' { // INSERT OR REPLACE INTO, INSERT IGNORE INTO
				return nil, false
			}
			i++
		}
		i++
	case "delete":
		if i < len(toks) && !kw(toks[i], "from") {
			return nil, false // MySQL multi-table DELETE t1, t2 FROM ...
		}
		i++
	case "update":
		for i < len(toks) && (kw(toks[i], "or") || kw(toks[i], "low_priority") || kw(toks[i], "ignore") ||
			kw(toks[i], "rollback") || kw(toks[i], "abort") || kw(toks[i], "replace") || kw(toks[i], "fail")) {
			i++
		}
	case "truncate":
		if i < len(toks) && kw(toks[i], "table") {
			i++
		}
		var out []string
		for {
			name, j := tableRef(toks, i)
			if name == "" {
				return nil, false
			}
			out = append(out, name)
			if j < len(toks) && toks[j].kind == 'p' && toks[j].text == "," {
				i = j + 1
				continue
			}
			return out, true
		}
	}
	name, j := tableRef(toks, i)
	if name == "" {
		return nil, false
	}
	// UPDATE t1 JOIN t2 (MySQL) or a comma list writes several: refuse.
	if first == "update" && j < len(toks) && (toks[j].kind == 'p' && toks[j].text == "," || kw(toks[j], "join")) {
		return nil, false
	}
	return []string{name}, true
}
