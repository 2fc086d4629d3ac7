package valuetag_test

import (
	"database/sql/driver"
	"slices"
	"testing"

	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/internal/valuetag"
	"github.com/hydracache/hydracache/keys"
)

var indexed = map[string]keytext.Kind{"id": keytext.Int, "article_id": keytext.Int, "slug": keytext.Text}

func v(col, val string) string { return keys.ValueTag("comments", col, val) }
func c(col string) string      { return keys.ColumnTag("comments", col) }

var rows = keys.RowsTag("comments")

func TestRead(t *testing.T) {
	cases := []struct {
		sql  string
		args []any
		want []string
	}{
		{`SELECT * FROM "comments" WHERE "comments"."article_id" = $1`, []any{5}, []string{v("article_id", "5"), c("article_id"), rows}},
		{`SELECT * FROM comments WHERE article_id = $1`, []any{"05"}, []string{v("article_id", "5"), c("article_id"), rows}},
		{`SELECT * FROM comments WHERE article_id IN ($1, $2) AND slug = $3`, []any{1, 2, "x"}, []string{v("slug", "x"), c("slug"), rows}},
		{`SELECT * FROM comments WHERE body = $1`, []any{"x"}, nil},
		{`SELECT * FROM comments WHERE article_id = $1 OR slug = $2`, []any{1, "x"}, nil},
		{`SELECT * FROM comments WHERE slug = $1`, []any{"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"}, nil},
		{`SELECT * FROM comments c JOIN a ON a.id = c.article_id WHERE c.article_id = $1`, []any{1}, nil},
	}
	for _, cs := range cases {
		st := sqlstmt.Parse(sqlstmt.Postgres, cs.sql)
		got := valuetag.Read("comments", st.Conds, st.CondsKnown, cs.args, indexed)
		if !slices.Equal(got, cs.want) {
			t.Errorf("%s %v:\n got %q\nwant %q", cs.sql, cs.args, got, cs.want)
		}
	}
}

func TestWrite(t *testing.T) {
	returned := &rowset.Result{RowSet: rowset.RowSet{
		Columns: []rowset.Column{{Name: "id"}, {Name: "article_id"}, {Name: "body"}, {Name: "slug"}},
		Values:  [][]driver.Value{{int64(3), int64(6), "b", "s3"}},
	}}
	cases := []struct {
		name string
		sql  string
		args []any
		res  *rowset.Result
		want []string
	}{
		{"insert", `INSERT INTO comments (article_id, body, slug) VALUES ($1, $2, $3)`, []any{5, "b", "s"},
			nil, []string{v("article_id", "5"), c("id"), v("slug", "s")}},
		{"update by key, returned", `UPDATE comments SET body = $1 WHERE id = $2`, []any{"b", 3},
			returned, []string{v("id", "3"), v("article_id", "6"), v("slug", "s3")}},
		{"update by key, not returned", `UPDATE comments SET body = $1 WHERE id = $2`, []any{"b", 3},
			nil, []string{c("article_id"), v("id", "3"), c("slug")}},
		{"move, old value in WHERE", `UPDATE comments SET article_id = $1 WHERE id = $2 AND article_id = $3`, []any{6, 3, 5},
			nil, []string{v("article_id", "6"), v("article_id", "5"), v("id", "3"), c("slug")}},
		{"move by key, returned", `UPDATE comments SET article_id = $1 WHERE id = $2`, []any{6, 3},
			returned, []string{v("id", "3"), v("article_id", "6"), v("slug", "s3"), c("article_id")}},
		{"delete by both keys", `DELETE FROM comments WHERE id = $1 AND article_id = $2 AND slug = $3`, []any{1, 2, "s"},
			nil, []string{v("article_id", "2"), v("id", "1"), v("slug", "s")}},
		{"delete, returned", `DELETE FROM comments WHERE id = $1`, []any{3},
			returned, []string{v("id", "3"), v("article_id", "6"), v("slug", "s3")}},
		{"update by predicate", `UPDATE comments SET article_id = $1 WHERE body = $2`, []any{7, "x"},
			nil, []string{v("article_id", "7"), c("article_id"), c("id"), c("slug")}},
	}
	for _, cs := range cases {
		st := sqlstmt.Parse(sqlstmt.Postgres, cs.sql)
		w := valuetag.NewWrite("comments", indexed)
		if st.Kind == sqlstmt.Insert {
			w.Insert(st, cs.args)
		} else {
			w.Change(st, cs.args, cs.res)
		}
		got, want := slices.Sorted(slices.Values(w.Tags())), slices.Sorted(slices.Values(cs.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", cs.name, got, want)
		}
	}
	if w := valuetag.NewWrite("comments", nil); !slices.Equal(w.Tags(), []string{rows}) {
		t.Errorf("a write without the catalog: %q", w.Tags())
	}
}
