package hydragorm

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/keys"
)

// model is what the plugin knows about one parsed GORM schema, worked out
// once.
type model struct {
	cache  bool        // reads of the model may be cached
	policy core.Policy // its policy
	table  string      // normalised table name
	// pk is the single primary key field, nil for composite or no key;
	// pkKind what its column holds, for canonical key texts.
	pk     *schema.Field
	pkKind keytext.Kind
	// entityOK: the schema's query clauses are GORM's soft delete or none,
	// so a key lookup can be answered without rendering its SQL. Other
	// query clauses (multi-tenancy plugins) may add conditions we cannot
	// see.
	entityOK bool
	// scoped and unscoped prefix entity keys of reads with and without the
	// soft-delete condition; both carry the model's column fingerprint.
	scoped, unscoped keys.Scope
	// list prefixes collection keys.
	list keys.Scope
	// scopedKey, unscopedKey and entityTagPrefix, followed by a key
	// segment, are an entity's keys and tag; rowsTag is the table's
	// row-epoch tag.
	scopedKey, unscopedKey, entityTagPrefix, rowsTag string
	// fks are the foreign keys with ON DELETE or ON UPDATE actions that
	// the model's relations declare, and joins its many-to-many join
	// tables: what the database itself may change when rows go.
	fks   []*schema.Constraint
	joins []string
	// descs remembers prepared entity descriptors, scoped and unscoped.
	descs [2]core.PreparedMemo
}

var cacheEntityType = reflect.TypeFor[core.CacheEntity]()

// modelOf returns the plugin's view of s.
func (p *Plugin) modelOf(s *schema.Schema) *model {
	if m, ok := p.models.Load(s); ok {
		return m.(*model)
	}
	m := &model{table: normTable(s.Table)}
	switch {
	case p.cfg.skip[m.table]:
	case reflect.PointerTo(s.ModelType).Implements(cacheEntityType):
		m.policy, m.cache = p.policyOf(s)
	case p.cfg.defaultPolicy != nil:
		m.cache = true
		m.policy = *p.cfg.defaultPolicy
	case s.ModelType.Name() == "":
		// A many-to-many join table GORM built from a relation: its reads
		// come from preloading an opted-in model.
		m.cache = true
	}
	if len(s.PrimaryFields) == 1 {
		m.pk = s.PrimaryFields[0]
		m.pkKind = keyKind(m.pk, p.sqlDialect)
	}
	m.entityOK = true
	for _, c := range s.QueryClauses {
		if _, ok := c.(gorm.SoftDeleteQueryClause); !ok {
			m.entityOK = false
		}
	}
	// The column fingerprint: a deploy that changes the model never reads
	// rows cached by the old code.
	h := sha256.New()
	h.Write([]byte(s.Table))
	for _, f := range s.Fields {
		h.Write([]byte{0})
		h.Write([]byte(f.DBName))
		h.Write([]byte{0})
		h.Write([]byte(f.DataType))
	}
	fp := hex.EncodeToString(h.Sum(nil)[:6])
	m.scoped = p.scope.With("s", fp)
	m.unscoped = p.scope.With("u", fp)
	m.list = p.scope.With("q", fp)
	m.scopedKey = m.scoped.Wrap(keys.Entity(m.table)) + ":"
	m.unscopedKey = m.unscoped.Wrap(keys.Entity(m.table)) + ":"
	m.entityTagPrefix = p.scope.Wrap(keys.EntityTag(m.table)) + ":"
	m.rowsTag = p.rowsTag(m.table)
	for _, rel := range s.Relationships.Relations {
		if rel.JoinTable != nil {
			m.joins = append(m.joins, normTable(rel.JoinTable.Table))
		}
		if c := rel.ParseConstraint(); c != nil && (c.OnDelete != "" || c.OnUpdate != "") {
			m.fks = append(m.fks, c)
		}
	}
	actual, _ := p.models.LoadOrStore(s, m)
	return actual.(*model)
}

// policyOf calls the model's CachePolicy method. A method that panics
// leaves the model uncached (reads go to the database) and is logged.
func (p *Plugin) policyOf(s *schema.Schema) (pol core.Policy, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p.warn("policy:"+s.Table, "hydragorm: CachePolicy panicked; the model is not cached", "model", s.Name, "panic", r)
			pol, ok = core.Policy{}, false
		}
	}()
	return reflect.New(s.ModelType).Interface().(core.CacheEntity).CachePolicy(), true
}

// tableTag returns the namespaced table tag of a normalised table name,
// made once per table.
func (p *Plugin) tableTag(table string) string {
	if t, ok := p.tableTags.Load(table); ok {
		return t.(string)
	}
	t := p.scope.Wrap(keys.TableTag(table))
	if p.tableTagsN.Add(1) <= statementsMax { // SQL text may name many things
		p.tableTags.Store(table, t)
	}
	return t
}

// rowsTag returns the namespaced row-epoch tag of a table.
func (p *Plugin) rowsTag(table string) string { return p.scope.Wrap(keys.RowsTag(table)) }

// entityTag returns the namespaced tag of one row.
func (p *Plugin) entityTag(table, pk string) string {
	return p.scope.Wrap(keys.EntityTag(table, pk))
}

// appendEntityTags appends the tags of the row whose key text is key:
// under every spelling reads may have cached it (see keytext.Spellings).
func (p *Plugin) appendEntityTags(tags []string, table, key string) []string {
	for _, s := range keytext.Spellings(key) {
		tags = append(tags, p.entityTag(table, s))
	}
	return tags
}

// skipped reports whether any of tables is on the skip list.
func (p *Plugin) skipped(tables []string) bool {
	for _, t := range tables {
		if p.cfg.skip[t] {
			return true
		}
	}
	return false
}

// keyKind tells what a key field's column holds: an integer for the
// integer kinds; for PostgreSQL, whose uuid type reads every spelling of a
// UUID as one value, a uuid for a field of type uuid (by its GORM type or
// a 16-byte array such as uuid.UUID); text otherwise (other databases
// keep a UUID as text and compare it as text).
func keyKind(f *schema.Field, d sqlstmt.Dialect) keytext.Kind {
	t := f.FieldType
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if d == sqlstmt.Postgres && (strings.Contains(strings.ToLower(string(f.DataType)), "uuid") ||
		t.Kind() == reflect.Array && t.Len() == 16 && t.Elem().Kind() == reflect.Uint8) {
		return keytext.UUID
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return keytext.Int
	}
	return keytext.Text
}

// sameTable reports whether a clause column's table names the statement's
// own table.
func sameTable(colTable, stmtTable string) bool {
	return colTable == "" || colTable == clause.CurrentTable || strings.EqualFold(colTable, stmtTable)
}

// cascades returns the tables the database may change by itself when rows
// of table are deleted (del), or when columns cols of it are updated (nil:
// any column): the tables its foreign keys' actions reach, as the
// database's catalog has them and as the models this plugin has seen
// declare them; on a delete, the join tables of the deleted model; and the
// tables declared with WithDependents. Triggers are not seen; declare
// their tables with WithDependents.
func (p *Plugin) cascades(s *schema.Schema, table string, del bool, cols []string) []string {
	var out []string
	add := func(t string) {
		if t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	if s != nil && del {
		for _, j := range p.modelOf(s).joins {
			add(j)
		}
	}
	if p.catalog != nil {
		for _, t := range p.catalog.Current().Affected(table, !del, cols) {
			add(t)
		}
	}
	p.models.Range(func(_, v any) bool {
		for _, c := range v.(*model).fks {
			if c.ReferenceSchema == nil || c.Schema == nil || normTable(c.ReferenceSchema.Table) != table {
				continue
			}
			switch {
			case del && c.OnDelete != "":
				add(normTable(c.Schema.Table))
			case !del && c.OnUpdate != "" && referencesAny(c, cols):
				add(normTable(c.Schema.Table))
			}
		}
		return true
	})
	for _, d := range p.cfg.dependents[table] {
		add(d)
	}
	return out
}

// referencesAny reports whether constraint c refers to one of cols (nil:
// any column).
func referencesAny(c *schema.Constraint, cols []string) bool {
	if cols == nil || len(c.References) == 0 {
		return true
	}
	for _, f := range c.References {
		if contains(cols, strings.ToLower(f.DBName)) {
			return true
		}
	}
	return false
}
