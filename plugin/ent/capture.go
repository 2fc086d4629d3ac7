package hydraent

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/internal/sqlstmt"
)

// runner runs a statement that returns no rows, or one that does, on the
// wrapped driver or transaction, whichever interface it offers.
type runner interface {
	exec(ctx context.Context, query string, args []any) (sql.Result, error)
	query(ctx context.Context, query string, args []any) (rowset.Source, error)
}

// dialectRunner runs statements through Ent's dialect interface.
type dialectRunner struct{ dialect.ExecQuerier }

func (r dialectRunner) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	var res sql.Result
	if err := r.Exec(ctx, query, args, &res); err != nil {
		return nil, err
	}
	return res, nil
}

func (r dialectRunner) query(ctx context.Context, query string, args []any) (rowset.Source, error) {
	var rows entsql.Rows
	if err := r.Query(ctx, query, args, &rows); err != nil {
		return nil, err
	}
	return rows.ColumnScanner, nil
}

// sqlRunner runs statements through database/sql's interface.
type sqlRunner struct {
	ex interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}
}

func (r sqlRunner) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	return r.ex.ExecContext(ctx, query, args...)
}

func (r sqlRunner) query(ctx context.Context, query string, args []any) (rowset.Source, error) {
	return r.ex.QueryContext(ctx, query, args...)
}

// runWrite runs a write that returns no rows. An UPDATE or DELETE limited
// to keys runs with RETURNING * when the database takes it, so that the
// write knows its rows' values (see valuetag); it then answers as Exec
// would, with the rows it changed as RowsAffected.
func (d *Driver) runWrite(ctx context.Context, r runner, s *stmt, query string, args []any) (sql.Result, *rowset.Result, error) {
	if !d.capturable(s, query) {
		res, err := r.exec(ctx, query, args)
		return res, nil, err
	}
	rows, err := r.query(ctx, query+" RETURNING *", args)
	if err != nil {
		return nil, nil, err
	}
	res := rowset.Capture(rows)
	if res.Err != nil {
		return nil, nil, res.Err
	}
	return rowsAffected(len(res.Values)), res, nil
}

// capturable reports whether RETURNING * may be appended to query: one
// UPDATE or DELETE of a table with indexed columns, limited by WHERE to
// values of its key, with no RETURNING, ORDER BY or LIMIT of its own, on
// a database that takes RETURNING.
func (d *Driver) capturable(s *stmt, query string) bool {
	if s.Kind != sqlstmt.Update && s.Kind != sqlstmt.Delete || s.Coarse || len(s.Writes) != 1 ||
		len(s.Returning) > 0 || !s.CondsKnown || s.Joined {
		return false
	}
	snap := d.catalog.Current()
	table := s.Writes[0]
	if !snap.Returning() || len(snap.Indexed(table)) == 0 {
		return false
	}
	pk := d.cfg.keyColumn(table)
	if pk == "" || !slices.ContainsFunc(s.Conds, func(c sqlstmt.Cond) bool { return c.Col == pk }) {
		return false
	}
	if strings.Contains(query, ";") || strings.Contains(query, "--") || strings.Contains(query, "/*") {
		return false
	}
	up := strings.ToUpper(query)
	return !strings.Contains(up, " ORDER BY ") && !strings.Contains(up, " LIMIT ")
}

// rowsAffected is the sql.Result of a write run as a query.
type rowsAffected int64

func (n rowsAffected) RowsAffected() (int64, error) { return int64(n), nil }

func (rowsAffected) LastInsertId() (int64, error) {
	return 0, errors.New("hydraent: LastInsertId is not available for an UPDATE or DELETE")
}
