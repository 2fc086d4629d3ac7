package hydragorm

import (
	"database/sql"
	"reflect"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/hydracache/hydracache/core/rowset"
)

// snapshot is a cached result already scanned by gorm.Scan into fresh
// values of a model, kept beside the decoded entry so that a later hit
// copies values instead of scanning the rows again (most of a hit's cost).
//
// It is only made for models whose read columns all land in fields of
// value types whose scan depends on the row alone (basic kinds, time.Time,
// the sql.Null types, gorm.DeletedAt), and only used where gorm.Scan would
// do exactly the same: a destination of the model's own struct, []T or
// []*T, no column mapping, no joins. Copies share only immutable memory
// (string bytes, *time.Location) with the snapshot.
type snapshot struct {
	schema *schema.Schema
	elems  reflect.Value // []T, one fresh T per row, as gorm.Scan fills it
	// set lists, for a struct destination, the fields gorm.Scan assigns
	// from the first row: a NULL column leaves GORM's field as it was.
	set [][]int
	// whole: set is every field of the model, so a struct destination
	// takes the first row in one copy.
	whole bool
}

var scannerTypes = map[reflect.Type]bool{
	reflect.TypeFor[time.Time]():       true,
	reflect.TypeFor[sql.NullString]():  true,
	reflect.TypeFor[sql.NullInt64]():   true,
	reflect.TypeFor[sql.NullInt32]():   true,
	reflect.TypeFor[sql.NullInt16]():   true,
	reflect.TypeFor[sql.NullByte]():    true,
	reflect.TypeFor[sql.NullFloat64](): true,
	reflect.TypeFor[sql.NullBool]():    true,
	reflect.TypeFor[sql.NullTime]():    true,
	reflect.TypeFor[gorm.DeletedAt]():  true,
}

var scannerIface = reflect.TypeFor[sql.Scanner]()

// plainField reports whether gorm.Scan sets f from a non-NULL value to a
// value that depends on that value alone and shares no mutable memory.
func plainField(f *schema.Field) bool {
	if f.Serializer != nil {
		return false
	}
	t := f.FieldType
	if scannerTypes[t] {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		// A named type with a Scan method could do anything.
		return !t.Implements(scannerIface) && !reflect.PointerTo(t).Implements(scannerIface)
	}
	return false
}

// snapshotPlan maps the columns of rs to the model's fields as gorm.Scan
// does, or reports that a snapshot would not be faithful.
func snapshotPlan(sch *schema.Schema, cols []rowset.Column) ([]*schema.Field, bool) {
	if len(cols) < 2 { // one column: gorm.Scan's Pluck rules
		return nil, false
	}
	fields := make([]*schema.Field, len(cols))
	seen := make(map[string]bool, len(cols))
	for i, c := range cols {
		if seen[c.Name] {
			return nil, false // gorm.Scan's duplicate-column rules
		}
		seen[c.Name] = true
		f := sch.LookUpField(c.Name)
		if f == nil || !f.Readable {
			if strings.Contains(c.Name, "__") {
				return nil, false // a joined relation's column
			}
			continue // gorm.Scan reads it into a throwaway value
		}
		if !plainField(f) {
			return nil, false
		}
		if !valuePath(sch.ModelType, f.StructField.Index) {
			return nil, false
		}
		fields[i] = f
	}
	return fields, true
}

// valuePath reports whether the field at index lies in t without going
// through a pointer (an embedded *Base would be shared by copies).
func valuePath(t reflect.Type, index []int) bool {
	for _, i := range index {
		// GORM marks a field of an embedded pointer struct with a
		// negative index.
		if t.Kind() != reflect.Struct || i < 0 || i >= t.NumField() {
			return false
		}
		t = t.Field(i).Type
	}
	return true
}

// buildSnapshot scans rs with gorm.Scan into a fresh []T of the
// statement's model, or returns nil when the result is not one a snapshot
// reproduces.
func buildSnapshot(db *gorm.DB, rs *rowset.RowSet) *snapshot {
	sch := db.Statement.Schema
	fields, ok := snapshotPlan(sch, rs.Columns)
	if !ok || len(rs.Values) == 0 {
		return nil
	}
	dest := reflect.New(reflect.SliceOf(sch.ModelType))
	stmt := &gorm.Statement{
		Context:      db.Statement.Context,
		Schema:       sch,
		Dest:         dest.Interface(),
		ReflectValue: dest.Elem(),
	}
	sdb := &gorm.DB{Config: db.Config, Statement: stmt}
	stmt.DB = sdb
	rows := rs.Fast(stmt.Context, nil)
	gorm.Scan(rows, sdb, 0)
	if sdb.Error != nil || rows.Close() != nil || int(sdb.RowsAffected) != len(rs.Values) ||
		dest.Elem().Len() != len(rs.Values) {
		return nil
	}
	s := &snapshot{schema: sch, elems: dest.Elem()}
	for i, f := range fields {
		if f != nil && rs.Values[0][i] != nil {
			s.set = append(s.set, f.StructField.Index)
		}
	}
	s.whole = covers(sch.ModelType, nil, s.set)
	return s
}

// covers reports whether the field paths in set, under prefix, reach
// every field of struct type t.
func covers(t reflect.Type, prefix []int, set [][]int) bool {
	for i := range t.NumField() {
		path := append(slices.Clip(prefix), i)
		if slices.ContainsFunc(set, func(p []int) bool { return slices.Equal(p, path) }) {
			continue
		}
		ft := t.Field(i).Type
		if ft.Kind() != reflect.Struct || scannerTypes[ft] || !covers(ft, path, set) {
			return false
		}
	}
	return true
}

// snapshotDest reports whether db's destination is one a snapshot of its
// model fills exactly as gorm.Scan would.
func snapshotDest(db *gorm.DB) bool {
	stmt := db.Statement
	if stmt.Schema == nil || len(stmt.ColumnMapping) > 0 || len(stmt.Joins) > 0 {
		return false
	}
	switch stmt.Dest.(type) {
	case map[string]any, *map[string]any, *[]map[string]any:
		return false
	}
	rv := stmt.ReflectValue
	if !rv.IsValid() || !rv.CanSet() {
		return false
	}
	switch rv.Kind() {
	case reflect.Struct:
		return rv.Type() == stmt.Schema.ModelType
	case reflect.Slice:
		et := rv.Type().Elem()
		if et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		return et == stmt.Schema.ModelType
	}
	return false
}

// fill copies the snapshot into db's destination as gorm.Scan would have
// scanned the rows, and sets RowsAffected.
func (s *snapshot) fill(db *gorm.DB) {
	rv := db.Statement.ReflectValue
	n := s.elems.Len()
	if rv.Kind() == reflect.Struct {
		src := s.elems.Index(0)
		if s.whole {
			rv.Set(src)
		} else {
			for _, idx := range s.set {
				rv.FieldByIndex(idx).Set(src.FieldByIndex(idx))
			}
		}
		db.RowsAffected = 1
		return
	}
	src := s.elems
	if rv.Type().Elem().Kind() == reflect.Pointer {
		src = s.pointers()
	}
	var out reflect.Value
	switch c := rv.Cap(); {
	case c == 0:
		out = reflect.MakeSlice(rv.Type(), n, max(20, n)) // gorm.Scan's initial capacity
		reflect.Copy(out, src)
	case c >= n:
		out = rv.Slice(0, n) // gorm.Scan appends into the caller's array
		reflect.Copy(out, src)
	default:
		// gorm.Scan fills the caller's array before it grows the slice.
		old := rv.Slice(0, c)
		reflect.Copy(old, src)
		out = reflect.AppendSlice(old, src.Slice(c, n))
	}
	rv.Set(out)
	db.RowsAffected = int64(n)
}

// pointers returns a []*T of fresh copies of the snapshot's rows, in one
// block.
func (s *snapshot) pointers() reflect.Value {
	n := s.elems.Len()
	block := reflect.MakeSlice(s.elems.Type(), n, n)
	reflect.Copy(block, s.elems)
	ps := reflect.MakeSlice(reflect.SliceOf(reflect.PointerTo(s.elems.Type().Elem())), n, n)
	for i := range n {
		ps.Index(i).Set(block.Index(i).Addr())
	}
	return ps
}
