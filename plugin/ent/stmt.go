package hydraent

import (
	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/internal/sqlstmt"
)

// stmt is a SQL text as the driver reads it. It depends on the text alone,
// so it is computed once per distinct text and shared.
type stmt struct {
	*sqlstmt.Statement

	// Set by the Driver for reads, so that a hit builds no tag it can reuse.
	tableTags []string // keys.TableTag of every table read
	// Key reads (Statement.Key set): entityPrefix is keys.EntityTag(table)
	// (an entity tag is this, ':', the key), rowsTag keys.RowsTag(table),
	// shape a short hash of dialect and the row's shape, and prepared
	// remembers prepared entity descriptors.
	entityPrefix string
	rowsTag      string
	shape        string
	prepared     *core.PreparedMemo
}

// writes reports whether the statement may change rows or schema.
func (s *stmt) writes() bool { return s.Kind.Writes() }

// keyRead reports whether the statement reads rows by the values of one
// column.
func (s *stmt) keyRead() bool { return s.Key != nil }
