package keys

import "encoding/hex"

// First segments of the builders' keys and tags. Entry keys and tags live in
// separate spaces of the store, and within each space every builder has its
// own first segment, so no two builders can produce the same string.
const (
	kindEntity     = "e" // entry key and tag of one row
	kindCollection = "q" // entry key of a query result
	kindTable      = "t" // tag of a whole table
	kindRows       = "r" // row-epoch tag of a table
	kindValue      = "v" // tag of a table's rows by one column's value
	kindColumn     = "c" // tag of every value of one column
)

// Entity returns the entry key of one row: Join("e", table, pk...). The
// key values are usually made by [Value]; a composite key passes several.
func Entity(table string, pk ...string) string {
	return join([]string{kindEntity, table}, pk)
}

// Collection returns the entry key of a query result: Join("q", fp.String()).
func Collection(fp Fingerprint) string {
	// fp.String() is plain hex, so nothing needs escaping.
	var buf [2 + 32]byte
	buf[0], buf[1] = kindCollection[0], Separator
	hex.Encode(buf[2:], fp[:])
	return string(buf[:])
}

// EntityTag returns the tag of one row: Join("e", table, pk...). Writes to
// that row bump it.
func EntityTag(table string, pk ...string) string {
	return join([]string{kindEntity, table}, pk)
}

// TableTag returns the tag of a whole table: Join("t", table). Every
// collection that reads the table carries it; every write to the table
// bumps it.
func TableTag(table string) string {
	return join([]string{kindTable, table}, nil)
}

// RowsTag returns the row-epoch tag of a table: Join("r", table). Every
// entity of the table carries it, and every collection tagged by column
// values; bulk writes whose keys are unknown bump it.
func RowsTag(table string) string {
	return join([]string{kindRows, table}, nil)
}

// ValueTag returns the tag of the rows of table whose column holds value
// (a canonical key text): Join("v", table, column, value). A collection
// whose WHERE restricts column to values carries their tags instead of
// the table's tag; a write bumps the tags of the values its rows held and
// hold.
func ValueTag(table, column, value string) string {
	return join([]string{kindValue, table, column}, []string{value})
}

// ColumnTag returns the tag of every value of column: Join("c", table,
// column). Collections tagged by values of the column carry it; a write
// that cannot tell which values its rows held there bumps it.
func ColumnTag(table, column string) string {
	return join([]string{kindColumn, table, column}, nil)
}
