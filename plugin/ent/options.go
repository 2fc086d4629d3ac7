package hydraent

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
	"github.com/go-openapi/inflect"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/internal/catalog"
	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
)

// ErrConfig is wrapped by the errors NewDriver returns for options that do
// not fit together.
var ErrConfig = errors.New("hydraent: invalid configuration")

// Option configures a Driver.
type Option func(*config) error

// TableNamer is implemented by an entity type that names its table, for
// types whose table is not Ent's default (snake_case plural of the type
// name). Generated packages hold the name as a constant, so the method is
// one line in a non-generated file: func (User) CacheTable() string {
// return user.Table }.
type TableNamer interface {
	CacheTable() string
}

type config struct {
	policies  map[string]core.Policy // cached tables
	all       *core.Policy           // cache every table
	tables    map[string]*entschema.Table
	pk        map[string]string  // key column of each table
	fks       *catalog.Snapshot  // the foreign keys WithSchema gives
	join      map[string]bool    // many-to-many join tables
	entities  []core.CacheEntity // resolved to tables once the schema is known
	annotated []annotated        // schema types carrying an Annotation
}

// WithSchema gives the driver the tables of the generated migrate package
// (migrate.Tables): their key columns, their foreign keys (a delete that
// cascades or sets NULL changes rows of other tables, which the driver then
// invalidates) and their join tables. Without it, every table's key column
// is taken to be "id", and a DELETE flushes the whole namespace, because its
// cascades are unknown.
func WithSchema(tables ...*entschema.Table) Option {
	return func(c *config) error {
		for _, t := range tables {
			if t == nil {
				return fmt.Errorf("%w: nil table", ErrConfig)
			}
			c.tables[t.Name] = t
		}
		return nil
	}
}

// WithEntities opts the given entity types in to caching with the policy
// their CachePolicy method returns. Pass zero values of the generated types:
// hydraent.WithEntities(ent.User{}, ent.Pet{}). A type's table is its
// CacheTable method's result (see TableNamer), else Ent's default name.
func WithEntities(entities ...core.CacheEntity) Option {
	return func(c *config) error {
		for _, e := range entities {
			if e == nil {
				return fmt.Errorf("%w: nil entity", ErrConfig)
			}
			c.entities = append(c.entities, e)
		}
		return nil
	}
}

// WithTable opts one table in to caching with policy p.
func WithTable(table string, p core.Policy) Option {
	return func(c *config) error {
		if table == "" {
			return fmt.Errorf("%w: empty table name", ErrConfig)
		}
		c.policies[table] = p
		return nil
	}
}

// WithAllTables caches every table with policy p, except those given their
// own policy. System catalogs are never cached.
func WithAllTables(p core.Policy) Option {
	return func(c *config) error {
		c.all = &p
		return nil
	}
}

// entityPolicy returns an entity type's table and policy. A CacheTable or
// CachePolicy method that panics is a configuration error.
func entityPolicy(e core.CacheEntity) (table string, p core.Policy, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: entity %T: CacheTable or CachePolicy panicked: %v", ErrConfig, e, r)
		}
	}()
	return tableOf(e), e.CachePolicy(), nil
}

// tableOf returns the table of an entity type.
func tableOf(e core.CacheEntity) string {
	if n, ok := e.(TableNamer); ok {
		return n.CacheTable()
	}
	return defaultTable(reflect.TypeOf(e))
}

// defaultTable is Ent's default table name of a type: the snake_case
// plural of its name.
func defaultTable(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return snake(inflect.Pluralize(t.Name()))
}

// snake is Ent's snake_case of a type name: UserInfo -> user_info,
// HTTPCode -> http_code.
func snake(s string) string {
	var b strings.Builder
	j := 0
	for i := 0; i < len(s); i++ {
		r := rune(s[i])
		if i > 0 && i < len(s)-1 && unicode.IsUpper(r) {
			if unicode.IsLower(rune(s[i-1])) ||
				j != i-1 && unicode.IsLower(rune(s[i+1])) && unicode.IsLetter(rune(s[i-1])) {
				j = i
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// resolve turns the options into lookup tables.
func (c *config) resolve() error {
	for _, e := range c.entities {
		table, pol, err := entityPolicy(e)
		if err != nil {
			return err
		}
		if len(c.tables) > 0 && c.tables[table] == nil {
			return fmt.Errorf("%w: entity %T maps to table %q, which the schema does not have (add a CacheTable method)", ErrConfig, e, table)
		}
		c.policies[table] = pol
	}
	for _, a := range c.annotated {
		if len(c.tables) > 0 && c.tables[a.table] == nil {
			return fmt.Errorf("%w: schema type %T maps to table %q, which the schema does not have (set entsql.Annotation's Table)", ErrConfig, a.from, a.table)
		}
		c.policies[a.table] = a.policy
	}
	var fks []catalog.ForeignKey
	defer func() { c.fks = catalog.NewSnapshot(fks) }()
	for name, t := range c.tables {
		if len(t.PrimaryKey) == 1 {
			c.pk[name] = t.PrimaryKey[0].Name
		} else {
			c.pk[name] = "" // composite or none: no key reads, no key tags
		}
		inFK := map[string]bool{}
		for _, fk := range t.ForeignKeys {
			for _, col := range fk.Columns {
				inFK[col.Name] = true
			}
			if fk.RefTable == nil {
				continue
			}
			k := catalog.ForeignKey{Table: name, RefTable: fk.RefTable.Name,
				OnDelete: action(fk.OnDelete), OnUpdate: action(fk.OnUpdate)}
			for _, col := range fk.Columns {
				k.Columns = append(k.Columns, col.Name)
			}
			for _, col := range fk.RefColumns {
				k.RefColumns = append(k.RefColumns, col.Name)
			}
			fks = append(fks, k)
		}
		all := len(t.Columns) > 0
		for _, col := range t.Columns {
			if !inFK[col.Name] {
				all = false
			}
		}
		c.join[name] = all
	}
	return nil
}

// action maps Ent's referential action to the catalog's.
func action(a entschema.ReferenceOption) catalog.Action {
	switch a {
	case entschema.Cascade:
		return catalog.Cascade
	case entschema.SetNull:
		return catalog.SetNull
	case entschema.SetDefault:
		return catalog.SetDefault
	}
	return catalog.NoAction
}

// keyColumn returns the key column of table, "" when it has no single one.
func (c *config) keyColumn(table string) string {
	if len(c.tables) == 0 {
		return "id"
	}
	if pk, ok := c.pk[table]; ok {
		return pk
	}
	return "id"
}

// keyKind tells what the key column of table holds, from the schema when
// it is known, else from the Go type of a key value v (Ent passes keys as
// the generated code types them).
//
// A uuid is one only for PostgreSQL, whose uuid type reads every spelling
// of a UUID as one value; other databases compare UUIDs as text.
func (c *config) keyKind(table string, v any, d sqlstmt.Dialect) keytext.Kind {
	if t := c.tables[table]; t != nil && len(t.PrimaryKey) == 1 {
		switch t.PrimaryKey[0].Type {
		case field.TypeInt, field.TypeInt8, field.TypeInt16, field.TypeInt32, field.TypeInt64,
			field.TypeUint, field.TypeUint8, field.TypeUint16, field.TypeUint32, field.TypeUint64:
			return keytext.Int
		case field.TypeUUID:
			if d == sqlstmt.Postgres {
				return keytext.UUID
			}
		}
		return keytext.Text
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return keytext.Int
	case reflect.Array:
		if d == sqlstmt.Postgres && rv.Len() == 16 && rv.Type().Elem().Kind() == reflect.Uint8 {
			return keytext.UUID
		}
	}
	return keytext.Text
}

// policy returns the policy of a cached table.
func (c *config) policy(table string) (core.Policy, bool) {
	if p, ok := c.policies[table]; ok {
		return p, true // named by the user: a catalog would be their choice
	}
	if c.all != nil && !sqlstmt.IsCatalog(table) {
		return *c.all, true
	}
	return core.Policy{}, false
}

// listPolicy returns the policy of a collection that reads tables: cached
// only when every table is cached and allows lists (join tables ride along
// with the tables they join), with the shortest TTL and every extra tag.
func (c *config) listPolicy(tables []string) (core.Policy, bool) {
	var out core.Policy
	any := false
	for _, t := range tables {
		p, ok := c.policy(t)
		if !ok {
			if c.join[t] && !sqlstmt.IsCatalog(t) {
				continue
			}
			return core.Policy{}, false
		}
		if p.SkipLists {
			return core.Policy{}, false
		}
		any = true
		if p.TTL > 0 && (out.TTL == 0 || p.TTL < out.TTL) {
			out.TTL = p.TTL
		}
		if p.NegativeTTL != 0 && (out.NegativeTTL == 0 || p.NegativeTTL < out.NegativeTTL) {
			out.NegativeTTL = p.NegativeTTL
		}
		out.Tags = append(out.Tags, p.Tags...)
	}
	return out, any
}
