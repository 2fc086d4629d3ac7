package hydragorm

import (
	"context"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/core/rowset"
)

// recorderType is the logger type db.Scan installs while it runs the Row
// chain: it tells a Scan, whose rows are read to the end at once, from
// Rows and Row, which stream and are never cached.
var recorderType = reflect.TypeOf(logger.Recorder.New())

// row replaces gorm:row. db.Scan into a struct, a slice or a map is
// answered from the cache like a Find; Row and Rows go to the database.
func (p *Plugin) row(db *gorm.DB) {
	if db.Error != nil {
		return
	}
	stmt := db.Statement
	if stmt.SQL.Len() > 0 && !db.DryRun && p.parse(stmt.SQL.String()).Kind.Writes() {
		// A write through Row, Rows or Scan (UPDATE ... RETURNING): read
		// to the end before hydracache:after_row bumps.
		p.rowWrite(db)
		return
	}
	isRows, _ := db.Get("rows")
	if rows, _ := isRows.(bool); !rows || db.DryRun || reflect.TypeOf(db.Logger) != recorderType ||
		core.ModeFrom(stmt.Context) == core.ModeBypass {
		p.origRow(db)
		return
	}
	if _, locked := stmt.Clauses["FOR"]; locked {
		p.origRow(db)
		return
	}
	if st, _ := p.locate(stmt.ConnPool); st != stateRoot {
		p.origRow(db)
		return
	}
	out := sink{fallback: p.origRow, deliver: giveRows}
	if stmt.SQL.Len() > 0 {
		extra, ok := rawTablesFrom(stmt.Context)
		if !ok {
			p.origRow(db)
			return
		}
		pol := core.Policy{}
		if p.cfg.defaultPolicy != nil {
			pol = *p.cfg.defaultPolicy
		}
		p.collection(db, p.scope.With("raw"), pol, out, extra...)
		return
	}
	if stmt.Schema == nil {
		p.origRow(db)
		return
	}
	m := p.modelOf(stmt.Schema)
	if !m.cache || m.policy.SkipLists {
		p.origRow(db)
		return
	}
	callbacks.BuildQuerySQL(db)
	if db.Error != nil {
		return
	}
	p.collection(db, m.list, m.policy, out, normTable(stmt.Table))
}

// rowWrite runs a write that returns rows through the Row chain and reads
// its result to the end, so that the statement has completed (and, outside
// a transaction, committed) before the bump that follows; the caller gets
// a replay of the rows, as gorm:row would have handed it the live ones. In
// a transaction the bump waits for the commit, and the live rows are
// handed on.
func (p *Plugin) rowWrite(db *gorm.DB) {
	stmt := db.Statement
	if st, _ := p.locate(stmt.ConnPool); st == stateTx {
		p.origRow(db)
		return
	}
	isRows, _ := db.Get("rows")
	rows, _ := isRows.(bool)
	if rows {
		stmt.Settings.Delete("rows")
	}
	live, err := stmt.ConnPool.QueryContext(stmt.Context, stmt.SQL.String(), stmt.Vars...)
	db.RowsAffected = -1
	switch {
	case err != nil && rows:
		db.AddError(err)
	case err != nil:
		stmt.Dest = rowset.FailedRow(err)
	case rows:
		replayed, err := rowset.Capture(live).Rows(context.WithoutCancel(stmt.Context))
		stmt.Dest = replayed
		db.AddError(err)
	default:
		stmt.Dest = rowset.Capture(live).Row(stmt.Context)
	}
}

// giveRows hands Scan a replay of the recorded rows, as gorm:row hands it
// the database's.
func giveRows(db *gorm.DB, rs *rowset.RowSet) {
	db.Statement.Settings.Delete("rows")
	db.RowsAffected = -1
	rows, err := rs.Rows(db.Statement.Context)
	if err != nil {
		db.AddError(err) // the context's error, as the database's query would give it
		return
	}
	db.Statement.Dest = rows
}
