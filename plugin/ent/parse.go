package hydraent

import (
	"strings"

	"github.com/hydracache/hydracache/core"
)

// stmtKind is what a statement does, as far as the cache is concerned.
type stmtKind uint8

const (
	kUnknown stmtKind = iota // not understood: never cached; as a write, flushes
	kSelect                  // a read of known tables
	kRead                    // a read that must not be cached (locking, functions in FROM, ...)
	kInsert
	kUpdate
	kDelete
	kDDL     // schema change of table (or of something unknown when table is "")
	kSession // PRAGMA, SET, SAVEPOINT, ...: changes no rows
)

// keyCond is a top-level conjunct "col = $n" or "col IN ($n, ...)" of a
// WHERE clause: the rows it matches are among those keys.
type keyCond struct {
	col    string
	params []int
	in     bool
}

// stmt is the parsed shape of one SQL text. It depends on the text alone,
// so it is computed once per distinct text and shared.
type stmt struct {
	kind   stmtKind
	tables []string // kSelect: every table read; writes: the table written
	lock   bool     // a locking read (FOR UPDATE, FOR SHARE, ...)

	// Reads by key: SELECT <columns> FROM t WHERE <key> [LIMIT n].
	keyRead bool
	prefix  string // the text before WHERE: the shape of the row
	keyRef  string // the key column as written in WHERE ("users"."id")
	shape   string // short hash of dialect and prefix, set by the Driver

	// Set by the Driver for reads, so that a hit builds no tag it can reuse.
	entityPrefix string   // keys.EntityTag(table): an entity tag is this, ':', the key
	rowsTag      string   // keys.RowsTag(table)
	tableTags    []string // keys.TableTag of every table read
	limit        bool     // the key read carries a LIMIT
	// prepared remembers the prepared entity descriptors of key reads (set
	// by the Driver).
	prepared *core.PreparedMemo

	conds      []keyCond // top-level key conjuncts of WHERE
	condsKnown bool      // WHERE is a plain conjunction (no OR, no sub-structure at the top)

	// INSERT
	cols      []string
	rows      [][]int // per VALUES row, the argument index of each item, -1 for others
	upsert    bool    // ON CONFLICT DO UPDATE, ON DUPLICATE KEY, REPLACE: existing rows may change
	returning []string

	// UPDATE
	setCols []string
	// UPDATE ... FROM, DELETE ... USING: the keys depend on other tables.
	joined bool
	// folded is the lower-cased name of a written table named without
	// quotes in mixed case: the database may mean either spelling.
	folded string
}

func parse(query string) *stmt {
	toks, ok := lex(query)
	if !ok || len(toks) == 0 {
		return &stmt{kind: kUnknown}
	}
	// A trailing semicolon is harmless; anything after it is a second
	// statement, which this parser does not follow.
	for i, t := range toks {
		if t.punct(";") {
			if i != len(toks)-1 {
				return &stmt{kind: kUnknown}
			}
			toks = toks[:i]
			break
		}
	}
	if len(toks) == 0 {
		return &stmt{kind: kUnknown}
	}
	p := &parser{toks: toks, query: query}
	switch first := toks[0]; {
	case first.is("SELECT"):
		return p.selectStmt()
	case first.punct("("):
		return p.selectStmt()
	case first.is("INSERT"), first.is("REPLACE"):
		return p.insertStmt()
	case first.is("UPDATE"):
		return p.updateStmt()
	case first.is("DELETE"):
		return p.deleteStmt()
	case first.is("CREATE"), first.is("ALTER"), first.is("DROP"), first.is("TRUNCATE"), first.is("RENAME"), first.is("COMMENT"):
		return p.ddlStmt()
	case first.is("WITH"):
		// A CTE may hide a write (WITH x AS (DELETE ...)): then it is
		// unknown; else a read that is not cached (CTE names look like
		// tables).
		for _, t := range toks {
			if t.is("INSERT") || t.is("UPDATE") || t.is("DELETE") || t.is("MERGE") {
				return &stmt{kind: kUnknown}
			}
		}
		return &stmt{kind: kRead}
	case first.is("PRAGMA"):
		// "PRAGMA foreign_keys = off" changes no rows; pragmas that do
		// (none that Ent or Atlas send) are not told apart.
		return &stmt{kind: kSession}
	case first.is("SET"), first.is("SHOW"), first.is("SAVEPOINT"), first.is("RELEASE"),
		first.is("BEGIN"), first.is("START"), first.is("COMMIT"), first.is("END"):
		return &stmt{kind: kSession}
	case first.is("ROLLBACK"):
		return &stmt{kind: kSession}
	}
	return &stmt{kind: kUnknown}
}

type parser struct {
	toks  []token
	query string
	// lastBare is set by name: the last part of the name was unquoted,
	// so the database may fold its case (PostgreSQL lowers it).
	lastBare bool
}

func (p *parser) at(i int) token {
	if i < len(p.toks) {
		return p.toks[i]
	}
	return token{kind: tPunct, text: ""}
}

// name reads a possibly qualified name at i ("s"."t" or t) and returns its
// last part, whether it was qualified by a catalog schema, and the index
// after it.
func (p *parser) name(i int) (name string, catalog bool, next int, ok bool) {
	if !p.at(i).ident() {
		return "", false, i, false
	}
	var parts []string
	parts = append(parts, p.at(i).text)
	i++
	for p.at(i).punct(".") && p.at(i+1).ident() {
		parts = append(parts, p.at(i+1).text)
		i += 2
	}
	for _, s := range parts[:len(parts)-1] {
		if isCatalog(s) {
			catalog = true
		}
	}
	p.lastBare = p.at(i-1).kind == tWord
	return parts[len(parts)-1], catalog, i, true
}

// isCatalog reports whether name is a system schema or table: migrations
// read them, and they are never cached.
func isCatalog(name string) bool {
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

// skipAlias steps over "AS x" or a bare alias after a table reference.
func (p *parser) skipAlias(i int) int {
	if p.at(i).is("AS") {
		return i + 2
	}
	if t := p.at(i); t.kind == tQuoted || t.kind == tWord && !clauseWords[t.up] {
		return i + 1
	}
	return i
}

func (p *parser) selectStmt() *stmt {
	s := &stmt{kind: kSelect}
	depth := 0
	seen := map[string]bool{}
	addTable := func(t string) {
		if !seen[t] {
			seen[t] = true
			s.tables = append(s.tables, t)
		}
	}
	for i := 0; i < len(p.toks); i++ {
		t := p.toks[i]
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case t.is("WITH"), t.is("INTO"), t.is("LATERAL"):
			// CTE names look like tables; SELECT INTO writes.
			return &stmt{kind: kRead}
		case t.is("FOR") && (p.at(i+1).is("UPDATE") || p.at(i+1).is("SHARE") || p.at(i+1).is("NO") || p.at(i+1).is("KEY")):
			return &stmt{kind: kRead, lock: true}
		case t.is("LOCK") && p.at(i+1).is("IN"):
			return &stmt{kind: kRead, lock: true}
		case t.is("FROM") || t.is("JOIN"):
			j := i + 1
			for {
				if p.at(j).punct("(") {
					break // a sub-query: its own FROM follows
				}
				if p.at(j).is("ONLY") {
					j++
				}
				name, catalog, next, ok := p.name(j)
				if !ok || catalog || isCatalog(name) || p.at(next).punct("(") {
					// A function (generate_series, pragma_table_list), a
					// catalog, or something not understood.
					return &stmt{kind: kRead}
				}
				addTable(name)
				j = p.skipAlias(next)
				if !p.at(j).punct(",") {
					break
				}
				j++
			}
			i = j - 1
		}
	}
	if depth != 0 || len(s.tables) == 0 {
		return &stmt{kind: kRead}
	}
	p.keyRead(s)
	return s
}

// keyRead recognises SELECT <plain columns> FROM t WHERE <col> = $n
// [LIMIT n] and SELECT <plain columns> FROM t WHERE <col> IN (...).
func (p *parser) keyRead(s *stmt) {
	if len(s.tables) != 1 {
		return
	}
	i := 1
	for ; i < len(p.toks); i++ {
		t := p.toks[i]
		if t.is("FROM") {
			break
		}
		// Only column references: no DISTINCT, functions, expressions.
		if !(t.ident() && !t.is("DISTINCT") && !t.is("ALL") || t.punct(".") || t.punct(",") || t.punct("*")) {
			return
		}
	}
	_, _, next, ok := p.name(i + 1)
	if !ok || !p.at(next).is("WHERE") {
		return
	}
	where := next
	col, after, ok := p.column(where + 1)
	if !ok {
		return
	}
	colEnd := after
	var params []int
	in := false
	switch {
	case p.at(after).punct("=") && p.at(after+1).kind == tParam:
		params = []int{p.at(after + 1).n}
		after += 2
	case p.at(after).is("IN") && p.at(after+1).punct("("):
		in = true
		j := after + 2
		for {
			if p.at(j).kind != tParam {
				return
			}
			params = append(params, p.at(j).n)
			j++
			if p.at(j).punct(")") {
				break
			}
			if !p.at(j).punct(",") {
				return
			}
			j++
		}
		after = j + 1
	default:
		return
	}
	limit := false
	if p.at(after).is("LIMIT") {
		// A LIMIT of at least one leaves a single-key result whole; on an
		// IN list it could cut rows, so only "=" keeps it.
		if in || p.at(after+1).kind != tNumber || p.at(after+1).text == "0" {
			return
		}
		limit = true
		after += 2
	}
	if after != len(p.toks) {
		return
	}
	s.keyRead = true
	s.limit = limit
	s.prefix = strings.TrimSpace(p.query[:p.toks[where].pos])
	s.keyRef = strings.TrimSpace(p.query[p.toks[where+1].pos:p.toks[colEnd].pos])
	s.conds = []keyCond{{col: col, params: params, in: in}}
	s.condsKnown = true
}

// column reads a column reference (t.c or c) at i.
func (p *parser) column(i int) (col string, next int, ok bool) {
	name, _, next, ok := p.name(i)
	return name, next, ok
}

// where parses the conjuncts of a WHERE clause starting at i (after the
// WHERE keyword) up to end.
func (p *parser) where(s *stmt, i, end int) {
	s.condsKnown = true
	depth := 0
	start := i
	flush := func(a, b int) {
		// a..b is one conjunct.
		col, next, ok := p.column(a)
		if !ok {
			return
		}
		switch {
		case next+2 == b && p.at(next).punct("=") && p.at(next+1).kind == tParam:
			s.conds = append(s.conds, keyCond{col: col, params: []int{p.at(next + 1).n}})
		case p.at(next).is("IN") && p.at(next+1).punct("(") && p.at(b-1).punct(")"):
			var params []int
			for j := next + 2; j < b-1; j++ {
				switch t := p.at(j); {
				case t.kind == tParam:
					params = append(params, t.n)
				case t.punct(","):
				default:
					return
				}
			}
			s.conds = append(s.conds, keyCond{col: col, params: params, in: true})
		}
	}
	for j := i; j < end; j++ {
		t := p.toks[j]
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case depth == 0 && t.is("OR"):
			s.condsKnown = false
			s.conds = nil
			return
		case depth == 0 && t.is("AND"):
			if p.between(start, j) {
				continue // BETWEEN x AND y
			}
			flush(start, j)
			start = j + 1
		}
	}
	flush(start, end)
}

// between reports whether the conjunct a..b ends in "BETWEEN x", whose AND
// is not a conjunction.
func (p *parser) between(a, b int) bool {
	return b-2 >= a && p.at(b-2).is("BETWEEN")
}

// clauseEnd returns the index of the first top-level token at or after i
// that is one of words, or len(toks).
func (p *parser) clauseEnd(i int, words ...string) int {
	depth := 0
	for j := i; j < len(p.toks); j++ {
		t := p.toks[j]
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case depth == 0 && t.kind == tWord:
			for _, w := range words {
				if t.up == w {
					return j
				}
			}
		}
	}
	return len(p.toks)
}

func (p *parser) returning(s *stmt, i int) {
	for j := i; j < len(p.toks); j++ {
		if p.toks[j].punct(",") {
			continue
		}
		col, next, ok := p.column(j)
		if !ok {
			s.returning = append(s.returning, "")
			continue
		}
		s.returning = append(s.returning, col)
		j = next - 1
	}
}

func (p *parser) insertStmt() *stmt {
	s := &stmt{kind: kInsert}
	i := 1
	if p.at(0).is("REPLACE") {
		s.upsert = true
	}
	if p.at(i).is("OR") { // SQLite INSERT OR REPLACE / OR IGNORE
		if p.at(i + 1).is("REPLACE") {
			s.upsert = true
		}
		i += 2
	}
	if p.at(i).is("IGNORE") { // MySQL INSERT IGNORE
		i++
	}
	if !p.at(i).is("INTO") {
		return &stmt{kind: kUnknown}
	}
	name, _, next, ok := p.name(i + 1)
	if !ok {
		return &stmt{kind: kUnknown}
	}
	s.tables = []string{name}
	s.folded = p.fold(name)
	i = p.skipAlias(next)
	if p.at(i).punct("(") {
		i++
		for !p.at(i).punct(")") {
			if p.at(i).punct(",") {
				i++
				continue
			}
			col, next, ok := p.column(i)
			if !ok {
				return &stmt{kind: kInsert, tables: s.tables, upsert: true}
			}
			s.cols = append(s.cols, col)
			i = next
		}
		i++
	}
	if p.at(i).is("VALUES") {
		i++
		for p.at(i).punct("(") {
			i++
			var row []int
			depth := 0
			cur := -1
			items := 0
			for ; i < len(p.toks); i++ {
				t := p.toks[i]
				if depth == 0 && (t.punct(",") || t.punct(")")) {
					row = append(row, cur)
					cur = -1
					items = 0
					if t.punct(")") {
						break
					}
					continue
				}
				switch {
				case t.punct("("):
					depth++
				case t.punct(")"):
					depth--
				}
				items++
				if items == 1 && t.kind == tParam {
					cur = t.n
				} else {
					cur = -1
				}
			}
			s.rows = append(s.rows, row)
			i++
			if !p.at(i).punct(",") {
				break
			}
			i++
		}
	} else {
		s.rows = nil // INSERT ... SELECT or DEFAULT VALUES: keys unknown
	}
	for j := i; j < len(p.toks); j++ {
		t := p.toks[j]
		switch {
		case t.is("UPDATE") && (p.at(j-1).is("DO") || p.at(j-1).is("KEY")):
			s.upsert = true // ON CONFLICT ... DO UPDATE, ON DUPLICATE KEY UPDATE
		case t.is("RETURNING"):
			p.returning(s, j+1)
			return s
		}
	}
	return s
}

func (p *parser) updateStmt() *stmt {
	s := &stmt{kind: kUpdate}
	i := 1
	if p.at(i).is("ONLY") {
		i++
	}
	name, _, next, ok := p.name(i)
	if !ok {
		return &stmt{kind: kUnknown}
	}
	s.tables = []string{name}
	s.folded = p.fold(name)
	i = p.skipAlias(next)
	if !p.at(i).is("SET") {
		return &stmt{kind: kUnknown}
	}
	end := p.clauseEnd(i+1, "FROM", "WHERE", "RETURNING", "ORDER", "LIMIT")
	// SET targets: a column at the start of each top-level item.
	depth := 0
	expect := true
	for j := i + 1; j < end; j++ {
		t := p.toks[j]
		switch {
		case t.punct("("):
			if expect {
				s.setCols = append(s.setCols, "") // (a, b) = (...): unknown targets
			}
			depth++
		case t.punct(")"):
			depth--
		case depth == 0 && t.punct(","):
			expect = true
			continue
		case expect:
			if col, _, ok := p.column(j); ok {
				s.setCols = append(s.setCols, col)
			} else {
				s.setCols = append(s.setCols, "")
			}
		}
		expect = false
	}
	if p.at(end).is("FROM") {
		s.joined = true
		end = p.clauseEnd(end+1, "WHERE", "RETURNING", "ORDER", "LIMIT")
	}
	if p.at(end).is("WHERE") {
		wend := p.clauseEnd(end+1, "RETURNING", "ORDER", "LIMIT")
		p.where(s, end+1, wend)
	}
	return s
}

func (p *parser) deleteStmt() *stmt {
	s := &stmt{kind: kDelete}
	if !p.at(1).is("FROM") {
		return &stmt{kind: kUnknown}
	}
	i := 2
	if p.at(i).is("ONLY") {
		i++
	}
	name, _, next, ok := p.name(i)
	if !ok {
		return &stmt{kind: kUnknown}
	}
	s.tables = []string{name}
	s.folded = p.fold(name)
	i = p.skipAlias(next)
	if p.at(i).is("USING") {
		s.joined = true
		i = p.clauseEnd(i+1, "WHERE", "RETURNING")
	}
	if p.at(i).is("WHERE") {
		end := p.clauseEnd(i+1, "RETURNING", "ORDER", "LIMIT")
		p.where(s, i+1, end)
	}
	return s
}

// ddlStmt finds the table a schema change is about: CREATE TABLE t,
// ALTER TABLE t, DROP TABLE t, CREATE INDEX i ON t, TRUNCATE t. Several
// tables, or none found, leave tables empty: the caller flushes.
func (p *parser) ddlStmt() *stmt {
	s := &stmt{kind: kDDL}
	for i := 1; i < len(p.toks); i++ {
		t := p.toks[i]
		var at int
		switch {
		case t.is("TABLE"):
			at = i + 1
		case t.is("ON") && p.at(0).is("CREATE"):
			at = i + 1
		case i == 1 && p.at(0).is("TRUNCATE") && t.ident():
			at = i
		default:
			continue
		}
		for p.at(at).is("IF") || p.at(at).is("NOT") || p.at(at).is("EXISTS") || p.at(at).is("ONLY") {
			at++
		}
		name, _, next, ok := p.name(at)
		if !ok || p.at(next).punct(",") {
			return s
		}
		if p.at(0).is("TRUNCATE") {
			for _, t := range p.toks {
				if t.is("CASCADE") {
					return s // empties the referencing tables too: flush
				}
			}
		}
		s.tables = []string{name}
		s.folded = p.fold(name)
		return s
	}
	return s
}
