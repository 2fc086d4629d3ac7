package sqlstmt

import "strings"

// statement builds the Statement from the scanned tokens.
func (p *parser) statement() *Statement {
	first := p.toks[0]
	switch {
	case first.is("SELECT"), first.punct("("), first.is("VALUES"), first.is("TABLE"):
		return p.read(0)
	case first.is("WITH"):
		return p.with()
	case first.is("INSERT"), first.is("REPLACE"):
		return p.write(p.insertStmt(0))
	case first.is("UPDATE"):
		return p.write(p.updateStmt(0))
	case first.is("DELETE"):
		return p.write(p.deleteStmt(0))
	case first.is("MERGE"):
		if name, ok := p.target(0); ok {
			return p.write(&Statement{Kind: Update, Writes: []string{name}, Coarse: true})
		}
	case first.is("TRUNCATE"):
		return p.truncate()
	case first.is("CREATE"), first.is("ALTER"), first.is("DROP"), first.is("RENAME"), first.is("COMMENT"),
		first.is("GRANT"), first.is("REVOKE"), first.is("CLUSTER"), first.is("REINDEX"), first.is("SECURITY"):
		return p.ddlStmt()
	case first.is("EXPLAIN"), first.is("DESCRIBE"), first.is("DESC"):
		// EXPLAIN ANALYZE runs the statement it explains.
		for _, t := range p.toks[1:] {
			if t.is("ANALYZE") || t.is("ANALYSE") {
				return &Statement{Kind: Unknown}
			}
		}
		return &Statement{Kind: Session}
	case first.is("SET"), first.is("SHOW"), first.is("SAVEPOINT"), first.is("RELEASE"), first.is("BEGIN"),
		first.is("START"), first.is("COMMIT"), first.is("END"), first.is("ROLLBACK"), first.is("ABORT"),
		first.is("PRAGMA"), first.is("RESET"), first.is("DISCARD"), first.is("LISTEN"), first.is("UNLISTEN"),
		first.is("NOTIFY"), first.is("DEALLOCATE"), first.is("PREPARE"), first.is("VACUUM"), first.is("ANALYZE"),
		first.is("ANALYSE"), first.is("CHECKPOINT"), first.is("USE"), first.is("LOCK"), first.is("UNLOCK"):
		// PRAGMA can change a SQLite schema (writable_schema), rarely;
		// none that Ent, GORM or Atlas send do.
		return &Statement{Kind: Session}
	}
	// CALL, DO, EXECUTE, COPY, LOAD, ...: they may write anything.
	return &Statement{Kind: Unknown}
}

// read finishes a read whose main SELECT starts at i (0 unless after a
// WITH list).
func (p *parser) read(i int) *Statement {
	if len(p.writes) > 0 {
		// A data-modifying CTE under a SELECT.
		return p.write(&Statement{Kind: Update, Coarse: true})
	}
	if p.into {
		return &Statement{Kind: Unknown}
	}
	s := &Statement{Kind: Select, Lock: p.lock, Calls: p.calls, Clock: p.clock}
	s.Reads, s.Catalog = p.readTables()
	if i == 0 && p.toks[0].is("SELECT") && !s.Lock && !s.Catalog && len(s.Calls) == 0 && !s.Clock && len(s.Reads) == 1 {
		p.keyRead(s)
	}
	if s.Key == nil && i == 0 && p.toks[0].is("SELECT") && len(s.Reads) == 1 && p.singleSelect() {
		if w := p.topWhere(); w >= 0 {
			end := p.clauseEnd(w+1, "GROUP", "ORDER", "LIMIT", "OFFSET", "HAVING", "WINDOW", "FOR", "FETCH", "LOCK")
			p.where(s, w+1, end)
		}
	}
	return s
}

// singleSelect reports whether the statement is one SELECT of one FROM:
// no set operation, no sub-query or second FROM.
func (p *parser) singleSelect() bool {
	froms := 0
	for i, t := range p.toks {
		switch {
		case t.is("UNION"), t.is("INTERSECT"), t.is("EXCEPT"), t.is("JOIN"):
			return false
		case t.is("SELECT") && i > 0:
			return false
		case t.is("FROM") && !p.inCall[i] && !p.at(i-1).is("DISTINCT"):
			froms++
		}
	}
	return froms == 1
}

// topWhere returns the index of the WHERE of the outermost SELECT, or -1.
func (p *parser) topWhere() int {
	for i, t := range p.toks {
		if t.is("WHERE") && p.depth[i] == 0 {
			return i
		}
	}
	return -1
}

// write finishes a write statement: the targets of data-modifying CTEs
// join the main target, and several targets make it coarse.
func (p *parser) write(s *Statement) *Statement {
	if s.Kind == Unknown {
		return s
	}
	for _, w := range p.writes {
		if !contains(s.Writes, w) {
			s.Writes = append(s.Writes, w)
		}
	}
	if len(p.writes) > 0 {
		s.Coarse = true
	}
	if s.Coarse {
		s.Conds, s.CondsKnown, s.Cols, s.Rows, s.Key = nil, false, nil, nil, nil
		if s.Kind == Update {
			s.SetCols, s.SetParams = []string{""}, []int{-1} // any column of any target may change
		}
	}
	s.Calls, s.Clock = p.calls, p.clock
	s.Reads, s.Catalog = p.readTables()
	return s
}

// with reads WITH [RECURSIVE] name AS (...), ... followed by the main
// statement.
func (p *parser) with() *Statement {
	main := -1
	for i := 1; i < len(p.toks); i++ {
		t := p.toks[i]
		if p.depth[i] != 0 {
			continue
		}
		if t.is("SELECT") || t.is("INSERT") || t.is("UPDATE") || t.is("DELETE") || t.is("MERGE") ||
			t.is("VALUES") || t.is("TABLE") || t.is("REPLACE") {
			main = i
			break
		}
	}
	if main < 0 {
		return &Statement{Kind: Unknown}
	}
	switch t := p.toks[main]; {
	case t.is("SELECT"), t.is("VALUES"), t.is("TABLE"):
		return p.read(main)
	case t.is("INSERT"), t.is("REPLACE"):
		return p.write(coarse(p.insertStmt(main)))
	case t.is("UPDATE"):
		return p.write(coarse(p.updateStmt(main)))
	case t.is("DELETE"):
		return p.write(coarse(p.deleteStmt(main)))
	}
	if name, ok := p.target(main); ok {
		return p.write(&Statement{Kind: Update, Writes: []string{name}, Coarse: true})
	}
	return &Statement{Kind: Unknown}
}

// coarse marks a write whose rows depend on a CTE as coarse: its WHERE
// and VALUES may refer to the CTE's rows.
func coarse(s *Statement) *Statement {
	s.Coarse = true
	return s
}

// readTables returns the tables the statement reads: every name in a
// table position (after FROM or JOIN, after a comma of a FROM list, in a
// parenthesized join), at any depth; and whether one is a system catalog.
// CTE names count as tables: an extra tag costs a miss, a missing one
// would serve stale rows.
func (p *parser) readTables() (tables []string, catalog bool) {
	add := func(name string, cat bool) {
		catalog = catalog || cat || IsCatalog(name)
		if !contains(tables, name) {
			tables = append(tables, name)
		}
	}
	// fromAt[d]: a FROM list is open at depth d.
	fromAt := map[int]bool{}
	for i, t := range p.toks {
		d := p.depth[i]
		switch {
		case t.punct(")"):
			for k := range fromAt {
				if k > d {
					delete(fromAt, k)
				}
			}
		case t.kind != tWord || p.inCall[i]:
		case t.up == "FROM" && !p.at(i-1).is("DISTINCT") && !p.at(i-1).is("ROWS"):
			fromAt[d] = true
			p.tableAt(i+1, add)
		case t.up == "JOIN":
			p.tableAt(i+1, add)
		case fromListEnd[t.up]:
			delete(fromAt, d)
		}
		if t.punct(",") && fromAt[d] && !p.inCall[i] {
			p.tableAt(i+1, add)
		}
	}
	return tables, catalog
}

// tableAt reads the table reference at i, if it names a table.
func (p *parser) tableAt(i int, add func(string, bool)) {
	for {
		switch t := p.at(i); {
		case t.is("ONLY"), t.is("LATERAL"):
			i++
			continue
		case t.punct("("):
			if s := p.at(i + 1); s.is("SELECT") || s.is("WITH") || s.is("VALUES") || s.is("TABLE") || p.call[i] {
				return // a sub-query: its own FROM is read where it stands
			}
			i++ // a parenthesized join: a table follows
			continue
		}
		break
	}
	name, cat, next, ok := p.name(i)
	if !ok {
		return
	}
	if p.at(next).punct("(") {
		return // a function in FROM: called, not read
	}
	add(name, cat)
}

// fromListEnd are the keywords that end a FROM list at its depth.
var fromListEnd = setOf("WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "HAVING", "WINDOW", "UNION",
	"INTERSECT", "EXCEPT", "FOR", "RETURNING", "SET", "FETCH", "LOCK", "VALUES", "SELECT", "QUALIFY")

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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

// keyRead recognises SELECT <plain columns> FROM t WHERE <col> = $n
// [LIMIT n] and SELECT <plain columns> FROM t WHERE <col> IN (...).
func (p *parser) keyRead(s *Statement) {
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
	s.Key = &KeyRead{
		Prefix: strings.TrimSpace(p.query[:p.toks[where].pos]),
		KeyRef: strings.TrimSpace(p.query[p.toks[where+1].pos:p.toks[colEnd].pos]),
		Limit:  limit,
	}
	s.Conds = []Cond{{Table: p.qualifier(where + 1), Col: col, Params: params, In: in}}
	s.CondsKnown = true
}

// column reads a column reference (t.c or c) at i.
func (p *parser) column(i int) (col string, next int, ok bool) {
	name, _, next, ok := p.name(i)
	return name, next, ok
}

// qualifier returns the part before the last of the name at i ("t" of
// "t"."c"), or "".
func (p *parser) qualifier(i int) string {
	q := ""
	for p.at(i).ident() && p.at(i+1).punct(".") && p.at(i+2).ident() {
		q = p.at(i).text
		i += 2
	}
	return q
}

// where parses the conjuncts of a WHERE clause from i (after the WHERE
// keyword) up to end.
func (p *parser) where(s *Statement, i, end int) {
	s.CondsKnown = true
	if i >= end {
		return
	}
	start := i
	flush := func(a, b int) {
		// a..b is one conjunct.
		col, next, ok := p.column(a)
		if !ok {
			return
		}
		switch {
		case next+2 == b && p.at(next).punct("=") && p.at(next+1).kind == tParam:
			s.Conds = append(s.Conds, Cond{Table: p.qualifier(a), Col: col, Params: []int{p.at(next + 1).n}})
		case next+1 < b && p.at(next).is("IN") && p.at(next+1).punct("(") && p.match[next+1] == b-1:
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
			s.Conds = append(s.Conds, Cond{Table: p.qualifier(a), Col: col, Params: params, In: true})
		}
	}
	d := p.depth[i]
	for j := i; j < end; j++ {
		t := p.toks[j]
		if p.depth[j] != d {
			continue
		}
		switch {
		case t.is("OR"):
			s.CondsKnown = false
			s.Conds = nil
			return
		case t.is("AND"):
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

// clauseEnd returns the index of the first token at or after i, at i's
// depth, that is one of words, or len(toks).
func (p *parser) clauseEnd(i int, words ...string) int {
	d := p.depth[min(i, len(p.toks)-1)]
	for j := i; j < len(p.toks); j++ {
		t := p.toks[j]
		if p.depth[j] < d {
			return j
		}
		if p.depth[j] == d && t.kind == tWord {
			for _, w := range words {
				if t.up == w {
					return j
				}
			}
		}
	}
	return len(p.toks)
}

func (p *parser) returning(s *Statement, i int) {
	for j := i; j < len(p.toks); j++ {
		if p.toks[j].punct(",") {
			continue
		}
		col, next, ok := p.column(j)
		if !ok || !(p.at(next).punct(",") || next >= len(p.toks)) {
			// An expression: skip to the next top-level comma.
			s.Returning = append(s.Returning, "")
			for j < len(p.toks) && !(p.toks[j].punct(",") && p.depth[j] == p.depth[i]) {
				j++
			}
			continue
		}
		s.Returning = append(s.Returning, col)
		j = next - 1
	}
}

// keywords that can follow a table reference and so are never its alias.
var clauseWords = setOf("WHERE", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "ON",
	"USING", "GROUP", "ORDER", "LIMIT", "OFFSET", "HAVING", "UNION", "INTERSECT", "EXCEPT", "FOR",
	"WINDOW", "SET", "VALUES", "RETURNING", "LOCK", "FETCH", "OUTER", "DEFAULT", "SELECT", "AS",
	"ONLY", "LATERAL", "STRAIGHT_JOIN", "PARTITION", "USE", "FORCE", "IGNORE", "TABLESAMPLE")
