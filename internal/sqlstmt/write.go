package sqlstmt

// setTarget records the written table just read by name.
func (p *parser) setTarget(s *Statement, name string) {
	s.Writes = []string{name}
	if f := p.fold(name); f != "" {
		s.Folds = []string{f}
	}
}

// addTarget adds another written table.
func (p *parser) addTarget(s *Statement, name string) {
	if !contains(s.Writes, name) {
		s.Writes = append(s.Writes, name)
	}
	if f := p.fold(name); f != "" && !contains(s.Folds, f) {
		s.Folds = append(s.Folds, f)
	}
}

func (p *parser) insertStmt(i0 int) *Statement {
	s := &Statement{Kind: Insert}
	if p.at(i0).is("REPLACE") {
		s.Upsert = true
	}
	i := i0 + 1
	for {
		t := p.at(i)
		switch {
		case t.is("OR"): // SQLite INSERT OR REPLACE / OR IGNORE / OR ABORT ...
			switch {
			case p.at(i + 1).is("REPLACE"):
				s.Upsert = true
			case p.at(i + 1).is("IGNORE"):
				s.DoNothing = true
			}
			i += 2
			continue
		case t.is("IGNORE"): // MySQL INSERT IGNORE
			s.DoNothing = true
			i++
			continue
		case t.is("LOW_PRIORITY"), t.is("DELAYED"), t.is("HIGH_PRIORITY"):
			i++
			continue
		}
		break
	}
	switch {
	case p.at(i).is("INTO"):
		i++
	case p.d != MySQL: // MySQL lets INTO out
		return &Statement{Kind: Unknown}
	}
	name, _, next, ok := p.name(i)
	if !ok {
		return &Statement{Kind: Unknown}
	}
	p.setTarget(s, name)
	i = next
	if p.at(i).is("AS") { // PostgreSQL: INSERT INTO t AS alias
		i += 2
	}
	colsKnown := true
	if p.at(i).punct("(") && !p.at(i+1).is("SELECT") && !p.at(i+1).is("WITH") {
		end := p.match[i]
		for j := i + 1; j < end; j++ {
			if p.at(j).punct(",") {
				continue
			}
			col, next, ok := p.column(j)
			if !ok || !(p.at(next).punct(",") || next == end) {
				colsKnown = false
				break
			}
			s.Cols = append(s.Cols, col)
			j = next - 1
		}
		i = end + 1
	}
	if !colsKnown {
		s.Cols = nil
	}
	if p.at(i).is("VALUES") || p.at(i).is("VALUE") {
		i++
		for p.at(i).punct("(") {
			end := p.match[i]
			var row []int
			cur, items := -1, 0
			for j := i + 1; j <= end; j++ {
				t := p.toks[j]
				if j == end || t.punct(",") && p.depth[j] == p.depth[i]+1 {
					row = append(row, cur)
					cur, items = -1, 0
					continue
				}
				items++
				if items == 1 && t.kind == tParam {
					cur = t.n
				} else {
					cur = -1
				}
			}
			if colsKnown {
				s.Rows = append(s.Rows, row)
			}
			i = end + 1
			if !p.at(i).punct(",") {
				break
			}
			i++
		}
	}
	// INSERT ... SELECT and DEFAULT VALUES leave Rows empty: keys unknown.
	d := p.depth[i0]
	for j := i; j < len(p.toks); j++ {
		if p.depth[j] != d {
			continue
		}
		t := p.toks[j]
		switch {
		case t.is("CONFLICT") && p.at(j-1).is("ON"):
			if p.at(j + 1).punct("(") {
				end := p.match[j+1]
				for k := j + 2; k < end; k++ {
					if p.at(k).punct(",") {
						continue
					}
					col, next, ok := p.column(k)
					if !ok || !(p.at(next).punct(",") || next == end) {
						s.Conflict = nil // an expression: not a plain column list
						break
					}
					s.Conflict = append(s.Conflict, col)
					k = next - 1
				}
			}
		case t.is("NOTHING") && p.at(j-1).is("DO"):
			s.DoNothing = true
		case t.is("UPDATE") && (p.at(j-1).is("DO") || p.at(j-1).is("KEY")):
			s.Upsert = true // ON CONFLICT ... DO UPDATE, ON DUPLICATE KEY UPDATE
		case t.is("RETURNING"):
			p.returning(s, j+1)
			return s
		}
	}
	return s
}

func (p *parser) updateStmt(i0 int) *Statement {
	s := &Statement{Kind: Update}
	i := i0 + 1
	for {
		t := p.at(i)
		switch {
		case t.is("OR"): // SQLite UPDATE OR REPLACE ...
			i += 2
			continue
		case t.is("LOW_PRIORITY"), t.is("IGNORE"), t.is("ONLY"):
			i++
			continue
		}
		break
	}
	name, _, next, ok := p.name(i)
	if !ok {
		return &Statement{Kind: Unknown}
	}
	p.setTarget(s, name)
	i = p.skipAlias(next)
	if p.at(i).punct("*") { // UPDATE t * (PostgreSQL: with descendants)
		i++
	}
	if !p.at(i).is("SET") {
		// MySQL's multi-table forms: UPDATE t1 JOIN t2 ON ... SET, UPDATE
		// t1, t2 SET. Any of them may be written.
		set := p.clauseEnd(i, "SET")
		if set >= len(p.toks) {
			return &Statement{Kind: Unknown}
		}
		for j := i; j < set; j++ {
			if t := p.toks[j]; (t.punct(",") || t.is("JOIN")) && p.depth[j] == p.depth[i0] {
				p.tableAt(j+1, func(name string, _ bool) { p.addTarget(s, name) })
			}
		}
		s.Coarse, s.Joined = true, true
		i = set
	}
	end := p.clauseEnd(i+1, "FROM", "WHERE", "RETURNING", "ORDER", "LIMIT")
	// SET targets: a column at the start of each top-level item.
	d := p.depth[i]
	expect := true
	for j := i + 1; j < end; j++ {
		t := p.toks[j]
		switch {
		case p.depth[j] > d:
			continue
		case t.punct("("):
			if expect {
				s.SetCols = append(s.SetCols, "") // (a, b) = (...): targets not read
				s.SetParams = append(s.SetParams, -1)
			}
		case t.punct(","):
			expect = true
			continue
		case expect:
			col, next, ok := p.column(j)
			if !ok {
				col = ""
			}
			s.SetCols = append(s.SetCols, col)
			param := -1
			if ok && p.at(next).punct("=") && p.at(next+1).kind == tParam &&
				(next+2 >= end || p.at(next+2).punct(",") && p.depth[next+2] == d) {
				param = p.at(next + 1).n
			}
			s.SetParams = append(s.SetParams, param)
		}
		expect = false
	}
	if p.at(end).is("FROM") {
		s.Joined = true
		end = p.clauseEnd(end+1, "WHERE", "RETURNING", "ORDER", "LIMIT")
	}
	if p.at(end).is("WHERE") {
		wend := p.clauseEnd(end+1, "RETURNING", "ORDER", "LIMIT")
		if !s.Coarse {
			p.where(s, end+1, wend)
		}
		end = wend
	}
	if r := p.clauseEnd(end, "RETURNING"); r < len(p.toks) {
		p.returning(s, r+1)
	}
	return s
}

func (p *parser) deleteStmt(i0 int) *Statement {
	s := &Statement{Kind: Delete}
	i := i0 + 1
	for p.at(i).is("LOW_PRIORITY") || p.at(i).is("QUICK") || p.at(i).is("IGNORE") {
		i++
	}
	if !p.at(i).is("FROM") {
		// MySQL: DELETE t1, t2 FROM t1 JOIN t2 ...: the names may be
		// aliases, so every table of the statement counts as written.
		from := p.clauseEnd(i, "FROM")
		if from >= len(p.toks) {
			return &Statement{Kind: Unknown}
		}
		for j := i; j < from; j++ {
			if j == i || p.toks[j].punct(",") {
				k := j
				if j > i {
					k = j + 1
				}
				if name, _, _, ok := p.name(k); ok {
					p.addTarget(s, name)
				}
			}
		}
		tables, _ := p.readTables()
		for _, t := range tables {
			p.addTarget(s, t)
		}
		if len(s.Writes) == 0 {
			return &Statement{Kind: Unknown}
		}
		s.Coarse, s.Joined = true, true
		return s
	}
	i++
	if p.at(i).is("ONLY") {
		i++
	}
	name, _, next, ok := p.name(i)
	if !ok {
		return &Statement{Kind: Unknown}
	}
	p.setTarget(s, name)
	i = p.skipAlias(next)
	if p.at(i).punct(",") {
		// MySQL: DELETE FROM t1, t2 USING ...
		using := p.clauseEnd(i, "USING")
		for j := i; j < using; j++ {
			if p.toks[j].punct(",") {
				if name, _, _, ok := p.name(j + 1); ok {
					p.addTarget(s, name)
				}
			}
		}
		s.Coarse, s.Joined = true, true
		return s
	}
	if p.at(i).is("USING") {
		s.Joined = true
		i = p.clauseEnd(i+1, "WHERE", "RETURNING")
	}
	end := i
	if p.at(i).is("WHERE") {
		end = p.clauseEnd(i+1, "RETURNING", "ORDER", "LIMIT")
		p.where(s, i+1, end)
	}
	if r := p.clauseEnd(end, "RETURNING"); r < len(p.toks) {
		p.returning(s, r+1)
	}
	return s
}

// truncate reads TRUNCATE [TABLE] [ONLY] a [*], b ...: a delete of every
// row. With CASCADE it empties every table that refers to them too, which
// the text does not name: Unknown.
func (p *parser) truncate() *Statement {
	s := &Statement{Kind: Delete}
	for _, t := range p.toks {
		if t.is("CASCADE") {
			return &Statement{Kind: Unknown}
		}
	}
	i := 1
	if p.at(i).is("TABLE") {
		i++
	}
	for {
		if p.at(i).is("ONLY") {
			i++
		}
		name, _, next, ok := p.name(i)
		if !ok {
			return &Statement{Kind: Unknown}
		}
		p.addTarget(s, name)
		i = next
		if p.at(i).punct("*") {
			i++
		}
		if !p.at(i).punct(",") {
			break
		}
		i++
	}
	return s
}

// ddlStmt finds the table a schema change is about: CREATE TABLE t, ALTER
// TABLE t, DROP TABLE t, CREATE INDEX i ON t. Several tables, or none
// found, leave Writes empty.
func (p *parser) ddlStmt() *Statement {
	s := &Statement{Kind: DDL}
	for i := 1; i < len(p.toks); i++ {
		t := p.toks[i]
		var at int
		switch {
		case t.is("TABLE"):
			at = i + 1
		case t.is("ON") && p.at(0).is("CREATE"):
			at = i + 1
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
		p.setTarget(s, name)
		return s
	}
	return s
}
