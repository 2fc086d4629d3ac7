package hydragorm

import (
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
		if k, _ := classifyRaw(stmt.SQL.String()); !ok || k != writeNone {
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

// giveRows hands Scan a replay of the recorded rows, as gorm:row hands it
// the database's.
func giveRows(db *gorm.DB, rs *rowset.RowSet) {
	db.Statement.Settings.Delete("rows")
	rows, err := rs.Rows(db.Statement.Context)
	if err != nil {
		db.AddError(err)
		return
	}
	db.Statement.Dest = rows
	db.RowsAffected = -1
}
