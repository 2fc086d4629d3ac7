package hydragorm

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/internal/sqlstmt"
)

// captureKey holds, in the context of an UPDATE or DELETE by key, the box
// into which the plugin's pool puts the rows the statement changed: the
// pool runs it with RETURNING *, so that the write knows the values of its
// rows' indexed columns (see valuetag) without another statement.
type captureKey struct{}

type capture struct {
	stmt  *gorm.Statement // the statement it is for (nested ones share its context)
	table string
	keys  []string       // the key columns, which WHERE must restrict to values
	rows  *rowset.Result // the changed rows, once the statement ran
}

// beforeChange runs right before gorm:update and gorm:delete (after the
// associations saved before them): it asks the pool to capture the rows of
// an UPDATE or DELETE
// that GORM limits to known keys (so their rows are few), when the
// database takes RETURNING and the table has indexed columns to tag.
func (p *Plugin) beforeChange(db *gorm.DB) {
	stmt := db.Statement
	if db.Error != nil || db.DryRun || stmt.Schema == nil || p.catalog == nil {
		return
	}
	snap := p.catalog.Current()
	table := normTable(stmt.Table)
	if !snap.Returning() || len(snap.Indexed(table)) == 0 {
		return
	}
	if _, ok := stmt.Clauses["RETURNING"]; ok || len(stmt.Schema.PrimaryFields) == 0 {
		return // the caller's own RETURNING: GORM scans it
	}
	c := &capture{stmt: stmt, table: table}
	for _, f := range stmt.Schema.PrimaryFields {
		c.keys = append(c.keys, f.DBName)
	}
	stmt.Context = context.WithValue(stmt.Context, captureKey{}, c)
}

// capturedRows returns the rows the pool captured for db's statement.
func capturedRows(db *gorm.DB) *rowset.Result {
	if c, ok := db.Statement.Context.Value(captureKey{}).(*capture); ok && c.stmt == db.Statement {
		return c.rows
	}
	return nil
}

// execCapturing runs an UPDATE or DELETE whose context asks for its rows
// as a query with RETURNING *, keeping the rows, and answers as Exec
// would. Anything else runs as Exec.
func execCapturing(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, p *Plugin, query string, args []any) (sql.Result, error) {
	c, ok := ctx.Value(captureKey{}).(*capture)
	if !ok || c.rows != nil || !p.returnable(query, c) {
		return q.ExecContext(ctx, query, args...)
	}
	rows, err := q.QueryContext(ctx, query+" RETURNING *", args...)
	if err != nil {
		return nil, err
	}
	res := rowset.Capture(rows)
	if res.Err != nil {
		return nil, res.Err
	}
	c.rows = res
	return rowsAffected(len(res.Values)), nil
}

// returnable reports whether query is one UPDATE or DELETE of c's table,
// limited by its WHERE to values of the key (so its rows are few), that
// RETURNING * may be appended to.
func (p *Plugin) returnable(query string, c *capture) bool {
	if strings.Contains(query, ";") || strings.Contains(query, "--") || strings.Contains(query, "/*") {
		return false
	}
	s := p.parse(query)
	if s.Coarse || len(s.writes) != 1 || s.writes[0] != c.table || len(s.Returning) > 0 || !s.CondsKnown {
		return false
	}
	for _, k := range c.keys {
		if !slices.ContainsFunc(s.Conds, func(cd sqlstmt.Cond) bool { return cd.Col == k }) {
			return false
		}
	}
	if s.Kind != sqlstmt.Update && s.Kind != sqlstmt.Delete {
		return false
	}
	// ORDER BY and LIMIT on UPDATE or DELETE (SQLite, MySQL) come after
	// RETURNING's place.
	up := strings.ToUpper(query)
	return !strings.Contains(up, " ORDER BY ") && !strings.Contains(up, " LIMIT ")
}

// rowsAffected is the sql.Result of a statement run as a query.
type rowsAffected int64

func (n rowsAffected) RowsAffected() (int64, error) { return int64(n), nil }

func (rowsAffected) LastInsertId() (int64, error) {
	return 0, errors.New("hydragorm: LastInsertId is not available for an UPDATE or DELETE")
}
