package catalog_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/glebarez/go-sqlite" // registers "sqlite"

	"github.com/hydracache/hydracache/internal/catalog"
	"github.com/hydracache/hydracache/internal/keytext"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/testing/testenv"
)

// schema: members.refer is referenced with ON UPDATE CASCADE; profiles go
// with their member (CASCADE), notes lose it (SET NULL) and notes' author
// keeps a NO ACTION key; tags of a profile cascade further.
var ddl = []string{
	`CREATE TABLE members (id INTEGER PRIMARY KEY, refer INTEGER UNIQUE, name VARCHAR(20), flag BOOLEAN)`,
	`CREATE TABLE profiles (id INTEGER PRIMARY KEY, member_refer INTEGER REFERENCES members (refer) ON UPDATE CASCADE ON DELETE CASCADE)`,
	`CREATE TABLE notes (id INTEGER PRIMARY KEY, member_id INTEGER REFERENCES members (id) ON DELETE SET NULL, author_id INTEGER REFERENCES members (id))`,
	`CREATE TABLE ptags (id INTEGER PRIMARY KEY, profile_id INTEGER REFERENCES profiles (id) ON DELETE CASCADE)`,
	`CREATE INDEX notes_member ON notes (member_id)`,
	`CREATE INDEX members_name_flag ON members (name, flag)`,
}

func open(t *testing.T, d sqlstmt.Dialect) *sql.DB {
	if d == sqlstmt.Postgres {
		db, _ := testenv.Postgres(t)
		return db
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestCatalog(t *testing.T) {
	for _, d := range []sqlstmt.Dialect{sqlstmt.Postgres, sqlstmt.SQLite} {
		t.Run(map[sqlstmt.Dialect]string{sqlstmt.Postgres: "postgres", sqlstmt.SQLite: "sqlite"}[d], func(t *testing.T) {
			db := open(t, d)
			ctx := context.Background()
			for _, q := range ddl {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			c := catalog.New(d, func(ctx context.Context, q string, args ...any) (catalog.Rows, error) {
				return db.QueryContext(ctx, q, args...)
			}, strings.ToLower)
			if c.Current() != nil || c.Fresh("v1") {
				t.Fatal("a new catalog has a snapshot")
			}
			s, err := c.Refresh(ctx, "v1")
			if err != nil {
				t.Fatal(err)
			}
			if !c.Fresh("v1") || c.Fresh("v2") {
				t.Error("freshness is not the version's")
			}
			cases := []struct {
				name   string
				table  string
				update bool
				cols   []string
				want   []string
			}{
				{"delete member", "members", false, nil, []string{"notes", "profiles", "ptags"}},
				{"update refer", "members", true, []string{"refer"}, []string{"profiles"}},
				{"update name", "members", true, []string{"name"}, nil},
				{"update any", "members", true, nil, []string{"profiles"}},
				{"delete profile", "profiles", false, nil, []string{"ptags"}},
				{"delete note", "notes", false, nil, nil},
			}
			for _, cs := range cases {
				got := s.Affected(cs.table, cs.update, cs.cols)
				slices.Sort(got)
				if !slices.Equal(got, cs.want) {
					t.Errorf("%s: affected %v, want %v", cs.name, got, cs.want)
				}
			}
			if !s.Referenced("members", []string{"refer"}) || s.Referenced("members", []string{"name"}) {
				t.Error("Referenced")
			}
			idx := s.Indexed("members")
			if idx["id"] != keytext.Int || idx["refer"] != keytext.Int || idx["name"] != keytext.Text {
				t.Errorf("members' indexed columns: %v", idx)
			}
			if _, ok := idx["flag"]; ok {
				t.Error("a boolean column is tagged by value")
			}
			if _, ok := s.Indexed("notes")["member_id"]; !ok {
				t.Errorf("notes' indexed columns: %v", s.Indexed("notes"))
			}
			if _, ok := s.Indexed("notes")["author_id"]; ok {
				t.Error("an unindexed column is tagged by value")
			}
			if !s.Returning() {
				t.Error("RETURNING not known")
			}
			if d == sqlstmt.Postgres {
				if imm, known := s.Immutable("lower"); !imm || !known {
					t.Error("lower is not immutable")
				}
				if imm, _ := s.Immutable("now"); imm {
					t.Error("now is immutable")
				}
			}
			c.Invalidate()
			if c.Fresh("v1") {
				t.Error("fresh after Invalidate")
			}
		})
	}
}

func TestVolatileWithoutCatalog(t *testing.T) {
	st := sqlstmt.Parse(sqlstmt.Postgres, "SELECT * FROM t WHERE a = lower($1)")
	if catalog.Volatile(sqlstmt.Postgres, st, []any{"x"}, func() *catalog.Snapshot { return nil }) {
		t.Error("lower is volatile without the catalog")
	}
	if !catalog.Volatile(sqlstmt.Postgres, st, []any{"now"}, func() *catalog.Snapshot { return nil }) {
		t.Error("a 'now' argument is not volatile")
	}
}
