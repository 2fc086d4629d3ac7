// Package sqlstmt reads SQL statements as far as a cache must understand
// them, for both plugins: what kind of statement it is, the tables it reads
// and writes, the keys it names or returns, whether it locks, which
// functions it calls and whether it depends on the clock, and its
// data-modifying CTEs. It is not a full parser: a statement it cannot read
// is Unknown, which callers treat as the worst case (never cached; as a
// write, everything invalidated). It never errs towards a statement being
// less than it is.
package sqlstmt

import "strings"

// Dialect is the SQL dialect a statement is read in: quoting, comments,
// placeholders and escapes differ.
type Dialect uint8

// The dialects. Generic reads standard SQL with '?' and $n placeholders.
const (
	Generic Dialect = iota
	Postgres
	SQLite
	MySQL
)

// DialectOf returns the dialect of a driver or dialector name (GORM's
// Dialector.Name, Ent's dialect names).
func DialectOf(name string) Dialect {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pgx", "cloudsqlpostgres":
		return Postgres
	case "sqlite", "sqlite3":
		return SQLite
	case "mysql", "mariadb":
		return MySQL
	}
	return Generic
}

// Kind is what a statement does, as far as a cache is concerned.
type Kind uint8

// The kinds.
const (
	Unknown Kind = iota // not understood: never cached; as a write, invalidates everything
	Select              // a read
	Insert
	Update
	Delete
	DDL     // a schema change
	Session // SET, SAVEPOINT, PRAGMA, SHOW, EXPLAIN, ...: changes no rows
)

var kindNames = [...]string{"Unknown", "Select", "Insert", "Update", "Delete", "DDL", "Session"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Writes reports whether statements of kind k may change rows or schema.
func (k Kind) Writes() bool {
	switch k {
	case Insert, Update, Delete, DDL, Unknown:
		return true
	}
	return false
}

// Cond is a top-level conjunct "col = $n" or "col IN ($n, ...)" of a WHERE
// clause: the rows the statement touches are among those with these values.
type Cond struct {
	Table  string // the column's qualifier as written ("" when unqualified)
	Col    string // the column, unqualified
	Params []int  // argument indexes of the values
	In     bool   // an IN list
}

// KeyRead is the shape of SELECT <columns> FROM t WHERE <col> = $n [LIMIT n]
// or SELECT <columns> FROM t WHERE <col> IN ($n, ...): a read of rows by the
// values of one column.
type KeyRead struct {
	Prefix string // the text before WHERE: the shape of the row
	KeyRef string // the column as written in WHERE ("users"."id")
	Limit  bool   // the single-value read carries a LIMIT
}

// Statement is what Parse found in one statement. It depends on the text
// alone, so callers may compute it once per text and share it.
type Statement struct {
	Kind Kind

	// Reads are the tables a Select reads, in sub-queries, joins and CTE
	// bodies too (CTE names are not tables). Names are unquoted and
	// unqualified, as written.
	Reads []string
	// Writes are the tables a write changes: the target, then those of
	// data-modifying CTEs or of a multi-table UPDATE or DELETE. Empty for
	// DDL whose table is not known.
	Writes []string
	// Folds are the lower-cased names of tables in Writes that were
	// written unquoted in mixed case: the database may fold them.
	Folds []string
	// Coarse: the write's rows cannot be told from its text (several
	// targets, data-modifying CTEs, a multi-table form): Conds, Cols and
	// Rows are empty.
	Coarse bool

	Lock    bool     // a locking read (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE)
	Catalog bool     // reads a system catalog
	Calls   []string // functions called, lower-cased, unqualified
	Clock   bool     // depends on the clock or session without a call (CURRENT_TIMESTAMP, 'now')

	// Key is set for a read of rows by the values of one column.
	Key *KeyRead

	// Conds are the top-level conjuncts "col = $n" and "col IN (...)" of
	// an UPDATE's or DELETE's WHERE, or of a SELECT's that reads one table
	// (no join, sub-query, set operation or CTE); CondsKnown is false when
	// WHERE is not a plain conjunction (an OR at the top, say) or is
	// missing. Other conjuncts only narrow the rows further.
	Conds      []Cond
	CondsKnown bool

	// INSERT
	Cols      []string
	Rows      [][]int  // per VALUES row, the argument index of each item, -1 for others
	Upsert    bool     // ON CONFLICT DO UPDATE, ON DUPLICATE KEY UPDATE, REPLACE: existing rows may change
	DoNothing bool     // ON CONFLICT DO NOTHING, INSERT IGNORE, INSERT OR IGNORE: conflicting rows stay as they are
	Conflict  []string // the ON CONFLICT (...) columns, when named
	Returning []string // RETURNING columns ("" for an expression); also for UPDATE and DELETE

	// UPDATE
	SetCols   []string // the assigned columns ("" for a target not understood)
	SetParams []int    // per SetCols, the argument index of a value that is a lone placeholder, else -1
	Joined    bool     // UPDATE ... FROM, DELETE ... USING: the rows depend on other tables
}

// Parse reads one statement in dialect d.
func Parse(d Dialect, query string) *Statement {
	toks, ok := lex(d, query)
	if !ok {
		return &Statement{Kind: Unknown}
	}
	// A trailing semicolon is harmless; anything after it is a second
	// statement, which is not followed.
	for i, t := range toks {
		if t.punct(";") {
			for _, u := range toks[i+1:] {
				if !u.punct(";") {
					return &Statement{Kind: Unknown}
				}
			}
			toks = toks[:i]
			break
		}
	}
	if len(toks) == 0 {
		return &Statement{Kind: Session} // only comments: does nothing
	}
	p := &parser{d: d, toks: toks, query: query}
	if !p.scan() {
		return &Statement{Kind: Unknown}
	}
	return p.statement()
}

// Volatile reports whether a Select's answer may change without a write:
// it depends on the clock or session, or calls a function that immutable
// does not vouch for. immutable is asked with lower-cased names.
func (s *Statement) Volatile(immutable func(name string) bool) bool {
	if s.Clock {
		return true
	}
	for _, c := range s.Calls {
		if immutable == nil || !immutable(c) {
			return true
		}
	}
	return false
}

// ClockWord reports whether a string value is one PostgreSQL reads as a
// time relative to now when it becomes a date or timestamp ('now',
// 'today', ...): a query with such an argument depends on the clock.
func ClockWord(s string) bool {
	if len(s) < 3 || len(s) > 12 {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "now", "today", "tomorrow", "yesterday":
		return true
	}
	return false
}
