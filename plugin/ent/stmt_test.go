package hydraent

import (
	"testing"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/keys"
)

// TestEntityTagShortcut checks that the tags a key read builds by
// concatenation are the ones writes bump with keys.EntityTag.
func TestEntityTagShortcut(t *testing.T) {
	d := &Driver{dialect: "postgres", sqlDialect: sqlstmt.Postgres}
	s := d.stmt(`SELECT "t"."id" FROM "t" WHERE "t"."id" = $1`)
	for _, id := range []string{"1", "a:b", `back\slash`, "", "f2bc98a6-a2c2-40a6-98bf-fd0d6e194df2"} {
		desc := entity(s, id, core.Policy{})
		if want := keys.EntityTag("t", id); desc.Tags[0] != want {
			t.Errorf("%q: tag %q, want %q", id, desc.Tags[0], want)
		}
		if want := keys.Entity("t", id, s.shape); desc.Key != want {
			t.Errorf("%q: key %q, want %q", id, desc.Key, want)
		}
		if desc.Tags[1] != keys.RowsTag("t") {
			t.Errorf("rows tag %q", desc.Tags[1])
		}
	}
}
