package catalog

import "github.com/hydracache/hydracache/internal/sqlstmt"

// Volatile reports whether the answer of read s, run with args, may
// change without a write: it reads the clock or the session (a keyword,
// or in PostgreSQL an argument such as 'now'), or calls a function not
// known to be immutable. For PostgreSQL the catalog's pg_proc decides;
// snap returns the catalog view, loading it if need be, and is called only
// for a function the built-in list does not vouch for. For SQLite and
// MySQL the built-in lists decide.
func Volatile(d sqlstmt.Dialect, s *sqlstmt.Statement, args []any, snap func() *Snapshot) bool {
	if s.Clock || clockArgs(d, args) {
		return true
	}
	if d != sqlstmt.Postgres {
		for _, name := range s.Calls {
			if !sqlstmt.Immutable(d, name) {
				return true
			}
		}
		return false
	}
	var view *Snapshot
	if len(s.Calls) > 0 {
		view = snap()
	}
	for _, name := range s.Calls {
		if sqlstmt.PostgresGrammar(name) {
			continue
		}
		imm, known := view.Immutable(name)
		if !known {
			imm = sqlstmt.Immutable(d, name)
		}
		if !imm {
			return true
		}
	}
	return false
}

// clockArgs reports whether an argument is a word PostgreSQL turns into a
// time relative to now when it becomes a date or timestamp.
func clockArgs(d sqlstmt.Dialect, args []any) bool {
	if d != sqlstmt.Postgres {
		return false
	}
	for _, v := range args {
		switch x := v.(type) {
		case string:
			if sqlstmt.ClockWord(x) {
				return true
			}
		case []byte:
			if len(x) < 16 && sqlstmt.ClockWord(string(x)) {
				return true
			}
		}
	}
	return false
}
