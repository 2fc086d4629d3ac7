package sqlstmt

import "strings"

// parser holds one statement's tokens and what the first pass found in
// them.
type parser struct {
	d     Dialect
	toks  []token
	query string

	depth []int  // parenthesis depth of each token
	match []int  // for '(' and ')', the index of the other one; else -1
	call  []bool // for '(', whether it opens a function call's arguments
	// inCall[i]: the innermost parenthesis around token i is a call's.
	inCall []bool

	calls  []string
	clock  bool
	lock   bool
	into   bool // SELECT ... INTO
	writes []string
	// lastBare is set by name: the last part of the name read was
	// unquoted, so the database may fold its case.
	lastBare bool
}

func (p *parser) at(i int) token {
	if i >= 0 && i < len(p.toks) {
		return p.toks[i]
	}
	return token{kind: tPunct, text: ""}
}

// scan is the first pass: parentheses, calls, locks, the clock, and the
// targets of data-modifying sub-statements. It reports false for
// unbalanced parentheses.
func (p *parser) scan() bool {
	n := len(p.toks)
	p.depth = make([]int, n)
	p.match = make([]int, n)
	p.call = make([]bool, n)
	p.inCall = make([]bool, n)
	var open []int
	for i, t := range p.toks {
		p.match[i] = -1
		p.depth[i] = len(open)
		if len(open) > 0 {
			p.inCall[i] = p.call[open[len(open)-1]]
		}
		switch {
		case t.punct("("):
			if name, ok := p.callAt(i); ok {
				p.call[i] = true
				p.addCall(name)
			}
			open = append(open, i)
			if p.at(i+1).is("INSERT") || p.at(i+1).is("UPDATE") || p.at(i+1).is("DELETE") || p.at(i+1).is("MERGE") {
				// A data-modifying sub-statement (a CTE body).
				if name, ok := p.target(i + 1); ok {
					p.writes = append(p.writes, name)
				} else {
					return false
				}
			}
		case t.punct(")"):
			if len(open) == 0 {
				return false
			}
			o := open[len(open)-1]
			open = open[:len(open)-1]
			p.match[o], p.match[i] = i, o
			p.depth[i] = len(open)
		case t.kind == tWord:
			switch {
			case p.clockWord(i):
				p.clock = true
			case p.inCall[i]:
			case t.up == "FOR" && (p.at(i+1).is("UPDATE") || p.at(i+1).is("SHARE") || p.at(i+1).is("NO") || p.at(i+1).is("KEY")):
				p.lock = true
			case t.up == "LOCK" && p.at(i+1).is("IN"):
				p.lock = true
			case t.up == "INTO" && p.selectInto(i):
				p.into = true
			}
		case t.kind == tString && p.d == Postgres && ClockWord(t.text):
			// 'now'::timestamp, timestamp 'today': the clock as a literal.
			p.clock = true
		}
	}
	return len(open) == 0
}

func (p *parser) addCall(name string) {
	for _, c := range p.calls {
		if c == name {
			return
		}
	}
	p.calls = append(p.calls, name)
}

// callAt reports whether the '(' at i opens a function call, and the
// function's name.
func (p *parser) callAt(i int) (string, bool) {
	prev := p.at(i - 1)
	if !prev.ident() || i == 0 {
		return "", false
	}
	if before := p.at(i - 2); before.punct("::") || before.is("AS") {
		return "", false // a type's modifier (::numeric(10,2)) or an alias's columns
	}
	if prev.kind == tWord {
		if notCall[prev.up] || p.clockWord(i-1) {
			return "", false
		}
	}
	if s := p.at(i + 1); s.is("SELECT") || s.is("WITH") {
		return "", false // f((SELECT ...)) aside, a sub-query, not arguments
	}
	return strings.ToLower(prev.text), true
}

// clockWord reports whether the word at i is one of the dialect's
// keywords that read the clock or the session (CURRENT_TIMESTAMP, ...).
func (p *parser) clockWord(i int) bool {
	t := p.at(i)
	if t.kind != tWord || p.at(i-1).punct(".") {
		return false
	}
	switch p.d {
	case Postgres:
		return pgClock[t.up]
	case MySQL:
		return mysqlClock[t.up]
	case SQLite:
		return sqliteClock[t.up]
	}
	return pgClock[t.up] || mysqlClock[t.up]
}

// selectInto reports whether INTO at i is SELECT ... INTO, which creates
// a table (PostgreSQL) or writes variables or files (MySQL): not a read.
func (p *parser) selectInto(i int) bool {
	prev := p.at(i - 1)
	return !(prev.is("INSERT") || prev.is("REPLACE") || prev.is("MERGE") || prev.is("IGNORE") ||
		prev.is("OR") || prev.is("REPLACE") || prev.is("ABORT") || prev.is("FAIL") || prev.is("ROLLBACK") ||
		prev.is("LOW_PRIORITY") || prev.is("DELAYED") || prev.is("HIGH_PRIORITY"))
}

// target returns the table a data-modifying statement starting at i
// writes: INSERT INTO t, UPDATE t, DELETE FROM t, MERGE INTO t.
func (p *parser) target(i int) (string, bool) {
	j := i + 1
	for p.at(j).kind == tWord && !p.at(j).is("INTO") && !p.at(j).is("FROM") && p.at(i).is("INSERT") {
		j++ // INSERT OR REPLACE, INSERT IGNORE
	}
	switch {
	case p.at(i).is("INSERT"), p.at(i).is("MERGE"):
		if !p.at(j).is("INTO") {
			return "", false
		}
		j++
	case p.at(i).is("DELETE"):
		if !p.at(j).is("FROM") {
			return "", false
		}
		j++
	}
	if p.at(j).is("ONLY") {
		j++
	}
	name, _, _, ok := p.name(j)
	return name, ok
}

// name reads a possibly qualified name at i ("s"."t" or t) and returns its
// last part, whether it is or lies in a system catalog, and the index
// after it.
func (p *parser) name(i int) (name string, catalog bool, next int, ok bool) {
	if !p.at(i).ident() {
		return "", false, i, false
	}
	parts := []string{p.at(i).text}
	i++
	for p.at(i).punct(".") && p.at(i+1).ident() {
		parts = append(parts, p.at(i+1).text)
		i += 2
	}
	for _, s := range parts {
		if IsCatalog(s) {
			catalog = true
		}
	}
	p.lastBare = p.at(i-1).kind == tWord
	return parts[len(parts)-1], catalog, i, true
}

// IsCatalog reports whether name is a system schema or table: migrations
// read them, and they are never cached.
func IsCatalog(name string) bool {
	n := strings.ToLower(name)
	return n == "information_schema" || n == "pg_catalog" || n == "mysql" || n == "performance_schema" ||
		n == "sys" || strings.HasPrefix(n, "pg_") || strings.HasPrefix(n, "sqlite_")
}

// fold returns the lower-cased name when the name just read was unquoted
// and is not all lower case, else "".
func (p *parser) fold(name string) string {
	if l := strings.ToLower(name); p.lastBare && l != name {
		return l
	}
	return ""
}

// notCall are keywords that a '(' can follow without a call.
var notCall = setOf(
	"ALL", "AND", "ANY", "ARRAY", "AS", "ASC", "AT", "BETWEEN", "BY", "CASE", "CAST", "CHECK",
	"COLLATE", "COLUMNS", "CONFLICT", "CONSTRAINT", "CONVERT", "CROSS", "CUBE", "CURRENT", "DEFAULT", "DESC",
	"DISTINCT", "DO", "ELSE", "END", "ESCAPE", "EXCEPT", "EXCLUDE", "EXISTS", "FILTER", "FOLLOWING",
	"FOR", "FORCE", "FROM", "FULL", "GLOB", "GROUP", "GROUPING", "GROUPS", "HAVING", "IGNORE", "ILIKE", "IN",
	"INDEX", "INNER", "INTERSECT", "INTO", "IS", "JOIN", "KEY", "LATERAL", "LIKE", "LIMIT",
	"MATERIALIZED", "NOT", "NULLS", "OF", "OFFSET", "ON", "ONLY", "OR", "ORDER", "OUTER", "OVER",
	"OVERLAPS", "PARTITION", "PRECEDING", "PRIMARY", "RANGE", "RECURSIVE", "REFERENCES", "REGEXP",
	"RETURNING", "RLIKE", "ROLLUP", "ROW", "ROWS", "SELECT", "SET", "SETS", "SIMILAR", "SOME",
	"TABLE", "THEN", "TIES", "TO", "TRY_CAST", "UNBOUNDED", "UNION", "UNIQUE", "UPDATE", "USE", "USING",
	"VALUES", "VARYING", "WHEN", "WHERE", "WINDOW", "WITH", "WITHIN", "AGAINST",
)

var (
	pgClock = setOf("CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIMESTAMP",
		"CURRENT_USER", "SESSION_USER", "USER", "CURRENT_ROLE", "CURRENT_SCHEMA", "CURRENT_CATALOG", "SYSTEM_USER")
	mysqlClock = setOf("CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIMESTAMP",
		"UTC_DATE", "UTC_TIME", "UTC_TIMESTAMP", "CURRENT_USER", "CURRENT_ROLE")
	sqliteClock = setOf("CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP")
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
