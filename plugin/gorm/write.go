package hydragorm

import (
	"context"
	"reflect"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/hydracache/hydracache/keys"
)

// afterCreate collects the tags of an INSERT: the table, and each new
// row's entity tag (which may hold a cached not-found). Rows whose key is
// unknown, and upserts, which may change rows we cannot name, bump the
// table's row epoch instead.
func (p *Plugin) afterCreate(db *gorm.DB) {
	if !executed(db) {
		return
	}
	stmt := db.Statement
	table := normTable(stmt.Table)
	if table == "" {
		p.record(db, nil, true)
		return
	}
	tags := []string{p.tableTag(table)}
	_, upsert := stmt.Clauses["ON CONFLICT"]
	known := !upsert && stmt.Schema != nil && len(stmt.Schema.PrimaryFields) == 1
	if known {
		pk := stmt.Schema.PrimaryFields[0]
		rv := reflect.Indirect(stmt.ReflectValue)
		each := func(v reflect.Value) {
			v = reflect.Indirect(v)
			if !v.IsValid() || v.Kind() != reflect.Struct {
				known = false
				return
			}
			val, zero := pk.ValueOf(stmt.Context, v)
			s, err := keys.Value(val)
			if zero || err != nil {
				known = false
				return
			}
			tags = append(tags, p.entityTag(table, s))
		}
		switch rv.Kind() {
		case reflect.Struct:
			each(rv)
		case reflect.Slice, reflect.Array:
			for i := 0; i < rv.Len() && known; i++ {
				each(rv.Index(i))
			}
		default:
			known = false // a map: keys unknown
		}
	}
	if !known {
		tags = append(tags, p.rowsTag(table))
	}
	for _, d := range p.cfg.dependents[table] {
		tags = append(tags, p.tableTag(d), p.rowsTag(d))
	}
	p.record(db, tags, false)
}

// afterUpdate and afterDelete collect the tags of an UPDATE or DELETE
// (soft deletes are UPDATEs run by the Delete chain): the table, and the
// entity tags of the keys the WHERE clause restricts it to, or the row
// epoch when it restricts it to no known keys.
func (p *Plugin) afterUpdate(db *gorm.DB) { p.afterChange(db) }

func (p *Plugin) afterDelete(db *gorm.DB) { p.afterChange(db) }

func (p *Plugin) afterChange(db *gorm.DB) {
	if !executed(db) {
		return
	}
	stmt := db.Statement
	table := normTable(stmt.Table)
	if table == "" {
		p.record(db, nil, true)
		return
	}
	tags := []string{p.tableTag(table)}
	if stmt.Schema != nil {
		p.modelOf(stmt.Schema) // known from now on, for cascades
	}
	keyMoves := setsKey(stmt)
	vals, ok := writeKeys(stmt)
	if ok && keyMoves {
		ok = false // the row moves to a key that may be cached as not found
	}
	// The database's own changes: rows deleted (a soft delete is an UPDATE
	// and deletes nothing) or keys moved cascade to other tables.
	if hard := isDelete(stmt.SQL.String()); hard || keyMoves {
		for _, d := range p.cascades(stmt.Schema, table, !hard) {
			tags = append(tags, p.tableTag(d), p.rowsTag(d))
		}
	} else {
		for _, d := range p.cfg.dependents[table] {
			tags = append(tags, p.tableTag(d), p.rowsTag(d))
		}
	}
	if ok {
		for _, v := range vals {
			s, err := keys.Value(v)
			if err != nil {
				ok = false
				break
			}
			tags = append(tags, p.entityTag(table, s))
		}
	}
	if !ok {
		tags = append(tags, p.rowsTag(table))
	}
	p.record(db, tags, false)
}

// isDelete reports whether a statement is a DELETE.
func isDelete(sql string) bool {
	toks, _ := lex(sql)
	return len(toks) > 0 && kw(toks[0], "delete")
}

// writeKeys returns the primary-key values an UPDATE or DELETE is limited
// to: a key = or IN among the conjuncts of its WHERE, with no OR anywhere
// at the top level (GORM renders an OrConditions in a list as OR).
func writeKeys(stmt *gorm.Statement) ([]any, bool) {
	if stmt.Schema == nil || len(stmt.Schema.PrimaryFields) != 1 {
		return nil, false
	}
	c, ok := stmt.Clauses["WHERE"]
	if !ok {
		return nil, false
	}
	w, ok := c.Expression.(clause.Where)
	if !ok {
		return nil, false
	}
	m := &model{pk: stmt.Schema.PrimaryFields[0]}
	var conj []clause.Expression
	var flatten func([]clause.Expression) bool
	flatten = func(es []clause.Expression) bool {
		for _, e := range es {
			switch x := e.(type) {
			case clause.OrConditions:
				return false
			case clause.AndConditions:
				if !flatten(x.Exprs) {
					return false
				}
			default:
				conj = append(conj, e)
			}
		}
		return true
	}
	if !flatten(w.Exprs) {
		return nil, false
	}
	for _, e := range conj {
		if vals, ok := pkCondition(e, m, stmt.Table); ok {
			return vals, true
		}
	}
	return nil, false
}

// setsKey reports whether an UPDATE assigns the primary key.
func setsKey(stmt *gorm.Statement) bool {
	c, ok := stmt.Clauses["SET"]
	if !ok || stmt.Schema == nil {
		return false
	}
	set, ok := c.Expression.(clause.Set)
	if !ok {
		return true
	}
	for _, a := range set {
		for _, f := range stmt.Schema.PrimaryFields {
			if a.Column.Name == f.DBName || a.Column.Name == clause.PrimaryKey {
				return true
			}
		}
	}
	return false
}

// afterRaw classifies a statement run by db.Exec (the Raw chain) or by
// Row/Rows/Raw().Scan (the Row chain, where DML with RETURNING can
// arrive): writes bump their tables, DDL and anything not understood
// flush the namespace, reads and savepoints bump nothing.
func (p *Plugin) afterRaw(db *gorm.DB) {
	if !executed(db) {
		return
	}
	kind, tables := classifyRaw(db.Statement.SQL.String())
	switch kind {
	case writeNone:
	case writeTables:
		tags := make([]string, 0, 2*len(tables))
		for _, t := range tables {
			tags = append(tags, p.tableTag(t), p.rowsTag(t))
			for _, d := range p.cascades(nil, t, false) {
				tags = append(tags, p.tableTag(d), p.rowsTag(d))
			}
		}
		p.record(db, tags, false)
	default:
		p.record(db, nil, true)
	}
}

// executed reports whether a write callback's statement may have reached
// the database. A failed statement counts: its outcome may be unknown,
// and a needless bump costs only a miss.
func executed(db *gorm.DB) bool {
	return !db.DryRun && db.Statement.SQL.Len() > 0
}

// record publishes a write's tags: after the commit inside a transaction
// begun through the plugin's pool, at once otherwise. In GORM's implicit
// transaction on a pool the plugin does not know (db.Connection, another
// plugin's pool) the bump at once is repeated after the commit, for every
// statement of that transaction (associations are saved by statements of
// their own): a read in between may have cached what the commit changed.
func (p *Plugin) record(db *gorm.DB, tags []string, flush bool) {
	st, tx := p.locate(db.Statement.ConnPool)
	if st == stateTx {
		if flush {
			tx.flush.Store(true)
		}
		_ = tx.buf.Add(context.Background(), tags...)
		return
	}
	p.bumpNow(tags, flush)
	if st == stateForeign {
		if v, ok := p.foreignTx.Load(db.Statement.ConnPool); ok {
			v.(*pendingBump).add(tags, flush)
		}
	}
}

// pendingKey holds, on the statement that began GORM's implicit
// transaction on a foreign pool, the bumps to repeat after its commit.
const pendingKey = "hydracache:pending_bump"

// pendingBump gathers the bumps of one implicit transaction on a foreign
// pool.
type pendingBump struct {
	pool  gorm.ConnPool // the transaction, its key in Plugin.foreignTx
	mu    sync.Mutex
	tags  []string
	flush bool
}

func (pb *pendingBump) add(tags []string, flush bool) {
	pb.mu.Lock()
	pb.tags = append(pb.tags, tags...)
	pb.flush = pb.flush || flush
	pb.mu.Unlock()
}

// afterBegin starts gathering the bumps of GORM's implicit transaction
// when it was begun on a pool the plugin does not know.
func (p *Plugin) afterBegin(db *gorm.DB) {
	if _, started := db.InstanceGet("gorm:started_transaction"); !started {
		return
	}
	cp := db.Statement.ConnPool
	if st, _ := p.locate(cp); st != stateForeign || !hashable(cp) {
		return
	}
	pb := &pendingBump{pool: cp}
	p.foreignTx.Store(cp, pb)
	db.InstanceSet(pendingKey, pb)
}

// afterCommit repeats the gathered bumps once the implicit transaction has
// ended (committed or not: a needless bump costs only a miss).
func (p *Plugin) afterCommit(db *gorm.DB) {
	v, ok := db.InstanceGet(pendingKey)
	if !ok {
		return
	}
	pb := v.(*pendingBump)
	p.foreignTx.Delete(pb.pool)
	pb.mu.Lock()
	tags, flush := pb.tags, pb.flush
	pb.mu.Unlock()
	if len(tags) > 0 || flush {
		p.bumpNow(tags, flush)
	}
}

// hashable reports whether v can be a map key (a foreign pool of a
// non-comparable type is not tracked).
func hashable(v any) bool {
	return v != nil && reflect.TypeOf(v).Comparable()
}
