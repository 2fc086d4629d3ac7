package hydragorm

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/internal/valuetag"
	"github.com/hydracache/hydracache/keys"
)

// afterCreate collects the tags of an INSERT: the table; each new row's
// entity tag (which may hold a cached not-found), or the table's row epoch
// when a key is unknown; the value tags of the new rows (see valuetag).
// An upsert that changed no row (ON CONFLICT DO NOTHING, all rows there
// already) changed nothing and bumps nothing. One that may update rows
// bumps those it names only when its conflict target is the key; else
// the row epoch.
func (p *Plugin) afterCreate(db *gorm.DB) {
	defer p.recoverWrite(db)
	if !executed(db) {
		return
	}
	stmt := db.Statement
	table := normTable(stmt.Table)
	if table == "" {
		p.record(db, nil, true)
		return
	}
	oc, upsert := onConflict(stmt)
	if upsert && oc.DoNothing && db.Error == nil && db.RowsAffected == 0 {
		return // every row was there already: nothing changed
	}
	updates := upsert && !oc.DoNothing // existing rows may change
	p.refreshAtRoot(db)                // before the value tags read the catalog
	tags := []string{p.tableTag(table)}
	vw := p.valueWrite(table)
	single := stmt.Schema != nil && len(stmt.Schema.PrimaryFields) == 1
	known := stmt.Schema != nil && (!updates || conflictOnKey(stmt.Schema, oc))
	rv := reflect.Indirect(stmt.ReflectValue)
	each := func(v reflect.Value) {
		v = reflect.Indirect(v)
		if !v.IsValid() || v.Kind() != reflect.Struct {
			known = false
			vw.UnknownAll()
			return
		}
		p.structValues(stmt, v, vw)
		if !single {
			return
		}
		val, zero := stmt.Schema.PrimaryFields[0].ValueOf(stmt.Context, v)
		s, err := keys.Value(val)
		if zero || err != nil {
			known = false
			return
		}
		tags = p.appendEntityTags(tags, table, s)
	}
	switch rv.Kind() {
	case reflect.Struct:
		each(rv)
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			each(rv.Index(i))
		}
	default:
		known = false // a map: keys and values unknown
		vw.UnknownAll()
	}
	if updates {
		vw.UnknownAll() // the old values of the rows it updated
	}
	if !known && (single || stmt.Schema == nil) {
		tags = append(tags, p.rowsTag(table))
	}
	tags = append(tags, p.wrapAll(vw.Tags())...)
	var cascaded []string
	if updates {
		// ON CONFLICT ... DO UPDATE may change referenced columns.
		cascaded = p.cascades(stmt.Schema, table, false, nil)
	} else {
		cascaded = p.cfg.dependents[table]
	}
	for _, d := range cascaded {
		tags = append(tags, p.tableTag(d), p.rowsTag(d))
	}
	p.record(db, tags, false)
}

// onConflict returns the statement's ON CONFLICT clause, if it has one.
func onConflict(stmt *gorm.Statement) (clause.OnConflict, bool) {
	c, ok := stmt.Clauses["ON CONFLICT"]
	if !ok {
		return clause.OnConflict{}, false
	}
	oc, ok := c.Expression.(clause.OnConflict)
	if !ok {
		return clause.OnConflict{}, true // not GORM's: assume it updates
	}
	return oc, true
}

// conflictOnKey reports whether an upsert's conflict target is the
// primary key, so that the rows it updates are the rows it names.
func conflictOnKey(s *schema.Schema, oc clause.OnConflict) bool {
	if len(oc.Columns) == 0 || len(oc.Columns) != len(s.PrimaryFields) || oc.OnConstraint != "" {
		return false
	}
	for i, c := range oc.Columns {
		if c.Name != s.PrimaryFields[i].DBName {
			return false
		}
	}
	return true
}

// structValues records a created row's values of the table's indexed
// columns: a field's value, unknown for a zero field the database fills
// (a default) and for a column the model has no field for.
func (p *Plugin) structValues(stmt *gorm.Statement, v reflect.Value, vw *valuetag.Write) {
	for _, col := range vw.Columns() {
		f := stmt.Schema.LookUpField(col)
		if f == nil || f.DBName != col {
			vw.Unknown(col)
			continue
		}
		val, zero := f.ValueOf(stmt.Context, v)
		if zero && (f.HasDefaultValue || f.DefaultValueInterface != nil || f.AutoIncrement) {
			vw.Unknown(col)
			continue
		}
		if dv, ok := val.(driver.Valuer); ok {
			x, err := dv.Value()
			if err != nil {
				vw.Unknown(col)
				continue
			}
			val = x
		}
		vw.Value(col, val)
	}
}

// afterUpdate and afterDelete collect the tags of an UPDATE or DELETE
// (soft deletes are UPDATEs run by the Delete chain): the table, and the
// entity tags of the keys the WHERE clause restricts it to, or the row
// epoch when it restricts it to no known keys.
func (p *Plugin) afterUpdate(db *gorm.DB) { p.afterChange(db) }

func (p *Plugin) afterDelete(db *gorm.DB) { p.afterChange(db) }

func (p *Plugin) afterChange(db *gorm.DB) {
	defer p.recoverWrite(db)
	if !executed(db) {
		return
	}
	stmt := db.Statement
	table := normTable(stmt.Table)
	if table == "" {
		p.record(db, nil, true)
		return
	}
	p.refreshAtRoot(db)
	tags := []string{p.tableTag(table)}
	if stmt.Schema != nil {
		p.modelOf(stmt.Schema) // known from now on, for cascades
	}
	s := p.parse(stmt.SQL.String())
	cols := setColumns(stmt, s)
	vals, ok := writeKeys(stmt)
	if !ok {
		vals, ok = sqlKeys(stmt, s)
	}
	if ok && s.Kind != sqlstmt.Delete && setsKey(stmt, cols) {
		ok = false // the row moves to a key that may be cached as not found
	}
	// The database's own changes: rows deleted (a soft delete is an UPDATE
	// and deletes nothing) and referenced columns changed reach other
	// tables through their foreign keys' actions.
	var cascaded []string
	if s.Kind == sqlstmt.Delete {
		cascaded = p.cascades(stmt.Schema, table, true, nil)
	} else {
		cascaded = p.cascades(stmt.Schema, table, false, cols)
	}
	for _, d := range cascaded {
		tags = append(tags, p.tableTag(d), p.rowsTag(d))
	}
	if ok {
		for _, v := range vals {
			s, err := keys.Value(v)
			if err != nil {
				ok = false
				break
			}
			tags = p.appendEntityTags(tags, table, s)
		}
	}
	if !ok && (stmt.Schema == nil || len(stmt.Schema.PrimaryFields) == 1) {
		// Entity entries of rows it does not name may have changed.
		tags = append(tags, p.rowsTag(table))
	}
	vw := p.valueWrite(table)
	if s.Kind == sqlstmt.Update || s.Kind == sqlstmt.Delete {
		vw.Change(s.Statement, stmt.Vars, capturedRows(db))
	} else {
		vw.UnknownAll()
	}
	tags = append(tags, p.wrapAll(vw.Tags())...)
	p.record(db, tags, false)
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

// sqlKeys returns the key values an UPDATE or DELETE is limited to by a
// conjunct of its rendered WHERE ("id = ? AND ..." written as a string
// condition), when its clauses did not say.
func sqlKeys(stmt *gorm.Statement, s *statement) ([]any, bool) {
	if stmt.Schema == nil || len(stmt.Schema.PrimaryFields) != 1 || !s.CondsKnown || s.Coarse || s.Joined {
		return nil, false
	}
	pk := stmt.Schema.PrimaryFields[0].DBName
	for _, c := range s.Conds {
		if c.Col != pk || c.Table != "" && normTable(c.Table) != normTable(stmt.Table) {
			continue
		}
		vals := make([]any, 0, len(c.Params))
		for _, i := range c.Params {
			if i < 0 || i >= len(stmt.Vars) {
				return nil, false
			}
			vals = append(vals, stmt.Vars[i])
		}
		return vals, len(vals) > 0
	}
	return nil, false
}

// setColumns returns the columns an UPDATE assigns, lower-cased, nil when
// they are not known. gorm:update drops the SET clause it built from
// Update and Updates before the callbacks after it run, so the rendered
// statement is read when the clause is gone.
func setColumns(stmt *gorm.Statement, s *statement) []string {
	if c, ok := stmt.Clauses["SET"]; ok {
		set, ok := c.Expression.(clause.Set)
		if !ok {
			return nil
		}
		cols := make([]string, 0, len(set))
		for _, a := range set {
			name := a.Column.Name
			if name == clause.PrimaryKey && stmt.Schema != nil {
				for _, f := range stmt.Schema.PrimaryFields {
					cols = append(cols, strings.ToLower(f.DBName))
				}
				continue
			}
			cols = append(cols, strings.ToLower(name))
		}
		return cols
	}
	if s.Kind != sqlstmt.Update || len(s.SetCols) == 0 || s.Coarse {
		return nil
	}
	cols := make([]string, 0, len(s.SetCols))
	for _, c := range s.SetCols {
		if c == "" {
			return nil // a target not read: any column
		}
		cols = append(cols, strings.ToLower(c))
	}
	return cols
}

// setsKey reports whether an UPDATE assigning cols (nil: not known)
// assigns the primary key.
func setsKey(stmt *gorm.Statement, cols []string) bool {
	if cols == nil || stmt.Schema == nil {
		return true
	}
	for _, f := range stmt.Schema.PrimaryFields {
		if contains(cols, strings.ToLower(f.DBName)) {
			return true
		}
	}
	return false
}

// afterRaw classifies a statement run by db.Exec (the Raw chain) or by
// Row/Rows/Raw().Scan (the Row chain, where DML with RETURNING can
// arrive) and bumps what it wrote.
func (p *Plugin) afterRaw(db *gorm.DB) {
	defer p.recoverWrite(db)
	if !executed(db) {
		return
	}
	p.afterStatement(db, p.parse(db.Statement.SQL.String()))
}

// afterStatement bumps what a statement read from its SQL text wrote:
// each written table (every row of it: the text does not say which) and
// the tables its foreign keys' actions reach; DDL and anything not
// understood flush the namespace. Reads and session statements bump
// nothing.
func (p *Plugin) afterStatement(db *gorm.DB, s *statement) {
	switch s.Kind {
	case sqlstmt.Select, sqlstmt.Session:
		return
	case sqlstmt.Insert, sqlstmt.Update, sqlstmt.Delete:
		if len(s.writes) > 0 {
			break
		}
		fallthrough
	default:
		if s.Kind == sqlstmt.DDL && p.catalog != nil {
			p.catalog.Invalidate()
		}
		p.record(db, nil, true)
		return
	}
	p.refreshAtRoot(db)
	tags := make([]string, 0, 2*len(s.writes))
	add := func(t string) {
		tags = append(tags, p.tableTag(t), p.rowsTag(t))
	}
	for _, t := range s.writes {
		add(t)
		vw := p.valueWrite(t)
		switch {
		case s.Coarse || len(s.writes) > 1:
			vw.UnknownAll()
		case s.Kind == sqlstmt.Insert:
			vw.Insert(s.Statement, db.Statement.Vars)
			if s.Upsert {
				vw.UnknownAll()
			}
		default:
			vw.Change(s.Statement, db.Statement.Vars, nil)
		}
		tags = append(tags, p.wrapAll(vw.Tags())...)
		var cascaded []string
		switch {
		case s.Kind == sqlstmt.Delete:
			cascaded = p.cascades(nil, t, true, nil)
		case s.Kind == sqlstmt.Update && !s.Coarse:
			cascaded = p.cascades(nil, t, false, lowerAll(s.SetCols))
		case s.Kind == sqlstmt.Insert && !s.Upsert:
		default:
			// An upsert or REPLACE may delete and update conflicting rows;
			// a coarse write may do anything to them.
			cascaded = append(p.cascades(nil, t, true, nil), p.cascades(nil, t, false, nil)...)
		}
		for _, d := range cascaded {
			add(d)
		}
	}
	p.record(db, tags, false)
}

// valueWrite starts the value tags of a write to table, by the catalog's
// indexed columns: with none known (the catalog not read yet in a
// database that has one) the write bumps the row epoch, which every
// value-tagged read carries.
func (p *Plugin) valueWrite(table string) *valuetag.Write {
	if p.catalog == nil || !p.catalog.Supported() {
		return valuetag.NewWrite(table, map[string]keytext.Kind{}) // no read is tagged by value
	}
	snap := p.catalog.Current()
	if snap == nil {
		return valuetag.NewWrite(table, nil)
	}
	idx := snap.Indexed(table)
	if idx == nil {
		idx = map[string]keytext.Kind{}
	}
	return valuetag.NewWrite(table, idx)
}

// wrapAll puts tags in the plugin's namespace.
func (p *Plugin) wrapAll(tags []string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = p.scope.Wrap(t)
	}
	return out
}

// refreshAtRoot refreshes the catalog view before a write outside any
// transaction computes its tags: no connection of the caller is held.
func (p *Plugin) refreshAtRoot(db *gorm.DB) {
	if st, _ := p.locate(db.Statement.ConnPool); st == stateRoot {
		p.refreshSchema(db.Statement.Context)
	}
}

// recoverWrite keeps a panic in a write callback (user code the plugin
// calls, or a bug) from skipping GORM's commit or rollback, which would
// leave the transaction open with its locks. What the write changed is
// then unknown: the namespace is flushed.
func (p *Plugin) recoverWrite(db *gorm.DB) {
	r := recover()
	if r == nil {
		return
	}
	p.warn("panic", "hydragorm: a write callback panicked; the namespace is flushed", "panic", r)
	defer func() { _ = recover() }()
	p.record(db, nil, true)
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
