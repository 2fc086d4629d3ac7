package hydraent

import (
	"reflect"
	"testing"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
)

func TestParseReads(t *testing.T) {
	cases := []struct {
		sql     string
		kind    stmtKind
		tables  []string
		keyRead bool
		col     string
		params  []int
	}{
		{`SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."id" = $1 LIMIT 2`, kSelect, []string{"users"}, true, "id", []int{0}},
		{"SELECT `users`.`id` FROM `users` WHERE `users`.`id` IN (?, ?, ?)", kSelect, []string{"users"}, true, "id", []int{0, 1, 2}},
		{`SELECT "users"."id" FROM "users" WHERE "users"."id" IN ($1, $2) LIMIT 1`, kSelect, []string{"users"}, false, "", nil},
		{`SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 ORDER BY "id"`, kSelect, []string{"users"}, false, "", nil},
		{`SELECT DISTINCT "users"."id" FROM "users" WHERE "users"."id" = $1`, kSelect, []string{"users"}, false, "", nil},
		{`SELECT COUNT("users"."id") FROM "users"`, kSelect, []string{"users"}, false, "", nil},
		{`SELECT DISTINCT "groups"."id" FROM "groups" JOIN (SELECT "group_users"."group_id" FROM "group_users" WHERE "group_users"."user_id" = $1) AS "t1" ON "groups"."id" = "t1"."group_id"`, kSelect, []string{"groups", "group_users"}, false, "", nil},
		{`SELECT a.x FROM a, b AS bb, "s"."c" WHERE a.id = b.id`, kSelect, []string{"a", "b", "c"}, false, "", nil},
		{`SELECT * FROM users u LEFT JOIN pets p ON p.owner_id = u.id`, kSelect, []string{"users", "pets"}, false, "", nil},
		{`select id from users -- comment
		  where /* note */ id = ?`, kSelect, []string{"users"}, true, "id", []int{0}},
		{`SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 LIMIT 2 FOR UPDATE`, kRead, nil, false, "", nil},
		{`SELECT * FROM users FOR SHARE`, kRead, nil, false, "", nil},
		{`SELECT * FROM users LOCK IN SHARE MODE`, kRead, nil, false, "", nil},
		{`WITH x AS (SELECT 1) SELECT * FROM x`, kRead, nil, false, "", nil},
		{`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, kRead, nil, false, "", nil},
		{`SELECT * FROM pg_catalog.pg_class`, kRead, nil, false, "", nil},
		{`SELECT name FROM sqlite_master JOIN pragma_table_list(sqlite_master.name)`, kRead, nil, false, "", nil},
		{`SELECT * FROM generate_series(1, 3)`, kRead, nil, false, "", nil},
		{`SELECT 1`, kRead, nil, false, "", nil},
		{`SELECT * FROM users; DELETE FROM users`, kUnknown, nil, false, "", nil},
		{`SELECT 'it''s' FROM "we""ird"`, kSelect, []string{`we"ird`}, false, "", nil},
	}
	for _, c := range cases {
		s := parse(c.sql)
		if s.kind != c.kind || !reflect.DeepEqual(s.tables, c.tables) || s.keyRead != c.keyRead {
			t.Errorf("%s:\n got kind %d tables %q keyRead %v", c.sql, s.kind, s.tables, s.keyRead)
			continue
		}
		if c.keyRead && (s.conds[0].col != c.col || !reflect.DeepEqual(s.conds[0].params, c.params)) {
			t.Errorf("%s: key %q %v", c.sql, s.conds[0].col, s.conds[0].params)
		}
	}
}

func TestParseWrites(t *testing.T) {
	cases := []struct {
		sql       string
		kind      stmtKind
		table     string
		known     bool
		conds     []keyCond
		cols      []string
		rows      [][]int
		upsert    bool
		returning []string
		setCols   []string
	}{
		{sql: `INSERT INTO "users" ("name", "age") VALUES ($1, $2) RETURNING "id"`, kind: kInsert, table: "users",
			cols: []string{"name", "age"}, rows: [][]int{{0, 1}}, returning: []string{"id"}},
		{sql: "INSERT INTO `pets` (`id`, `name`, `owner_id`) VALUES (?, ?, ?), (?, ?, NULL) RETURNING `id`", kind: kInsert, table: "pets",
			cols: []string{"id", "name", "owner_id"}, rows: [][]int{{0, 1, 2}, {3, 4, -1}}, returning: []string{"id"}},
		{sql: `INSERT INTO "groups" ("name", "id") VALUES ($1, $2) ON CONFLICT ("name") DO UPDATE SET "name" = "excluded"."name" RETURNING "id"`,
			kind: kInsert, table: "groups", cols: []string{"name", "id"}, rows: [][]int{{0, 1}}, upsert: true, returning: []string{"id"}},
		{sql: `INSERT INTO "group_users" ("group_id", "user_id") VALUES ($1, $2) ON CONFLICT DO NOTHING`, kind: kInsert, table: "group_users",
			cols: []string{"group_id", "user_id"}, rows: [][]int{{0, 1}}},
		{sql: "INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = VALUES(a)", kind: kInsert, table: "t",
			cols: []string{"a"}, rows: [][]int{{0}}, upsert: true},
		{sql: "INSERT OR REPLACE INTO t (id) VALUES (lower(?))", kind: kInsert, table: "t", cols: []string{"id"}, rows: [][]int{{-1}}, upsert: true},
		{sql: `INSERT INTO t SELECT * FROM u`, kind: kInsert, table: "t"},
		{sql: `UPDATE "users" SET "name" = $1 WHERE "id" = $2`, kind: kUpdate, table: "users", known: true,
			conds: []keyCond{{col: "id", params: []int{1}}}, setCols: []string{"name"}},
		{sql: `UPDATE "pets" SET "owner_id" = NULL WHERE "id" IN ($1, $2) AND "owner_id" = $3`, kind: kUpdate, table: "pets", known: true,
			conds: []keyCond{{col: "id", params: []int{0, 1}, in: true}, {col: "owner_id", params: []int{2}}}, setCols: []string{"owner_id"}},
		{sql: `UPDATE "users" SET "age" = $1 WHERE "users"."age" > $2 OR "id" = $3`, kind: kUpdate, table: "users", setCols: []string{"age"}},
		{sql: `UPDATE "users" SET "age" = "age" + $1, "x" = coalesce("x", $2) WHERE "a" BETWEEN $3 AND $4 AND "id" = $5`, kind: kUpdate, table: "users", known: true,
			conds: []keyCond{{col: "id", params: []int{4}}}, setCols: []string{"age", "x"}},
		{sql: `DELETE FROM "users" WHERE "users"."id" = $1`, kind: kDelete, table: "users", known: true, conds: []keyCond{{col: "id", params: []int{0}}}},
		{sql: `DELETE FROM "group_users" WHERE "user_id" = $1 AND "group_id" = $2`, kind: kDelete, table: "group_users", known: true,
			conds: []keyCond{{col: "user_id", params: []int{0}}, {col: "group_id", params: []int{1}}}},
		{sql: `DELETE FROM "users"`, kind: kDelete, table: "users"},
		{sql: `CREATE TABLE IF NOT EXISTS "users" ("id" bigint)`, kind: kDDL, table: "users"},
		{sql: `CREATE UNIQUE INDEX "x" ON "groups" ("name")`, kind: kDDL, table: "groups"},
		{sql: `ALTER TABLE "pets" ADD COLUMN "x" int REFERENCES "users" ("id")`, kind: kDDL, table: "pets"},
		{sql: `TRUNCATE pets`, kind: kDDL, table: "pets"},
		{sql: `DROP TABLE a, b`, kind: kDDL},
	}
	for _, c := range cases {
		s := parse(c.sql)
		var table string
		if len(s.tables) > 0 {
			table = s.tables[0]
		}
		if s.kind != c.kind || table != c.table || s.condsKnown != c.known || !reflect.DeepEqual(s.conds, c.conds) ||
			!reflect.DeepEqual(s.cols, c.cols) || !reflect.DeepEqual(s.rows, c.rows) || s.upsert != c.upsert ||
			!reflect.DeepEqual(s.returning, c.returning) || !reflect.DeepEqual(s.setCols, c.setCols) {
			t.Errorf("%s:\n got %+v", c.sql, *s)
		}
	}
	for _, q := range []string{`PRAGMA foreign_keys = off`, `SAVEPOINT a`, `SET search_path = x`} {
		if s := parse(q); s.kind != kSession || s.writes() {
			t.Errorf("%s: kind %d", q, s.kind)
		}
	}
	if s := parse(`UPDATE Users SET name = 'x'`); s.folded != "users" || s.tables[0] != "Users" {
		t.Errorf("unquoted mixed case: %+v", *s)
	}
	if s := parse(`UPDATE "Users" SET name = 'x'`); s.folded != "" {
		t.Errorf("quoted name folded: %+v", *s)
	}
	if s := parse(`TRUNCATE users CASCADE`); s.kind != kDDL || len(s.tables) != 0 {
		t.Errorf("TRUNCATE CASCADE: %+v", *s)
	}
	if s := parse(`WITH d AS (DELETE FROM users RETURNING id) SELECT * FROM d`); s.kind != kUnknown {
		t.Errorf("a CTE with a DELETE is kind %d", s.kind)
	}
	for _, q := range []string{`CALL proc()`, `EXPLAIN ANALYZE DELETE FROM users`, `SELECT 'unterminated`} {
		if s := parse(q); s.writes() != (s.kind == kUnknown) || s.kind == kSelect {
			t.Errorf("%s: kind %d", q, s.kind)
		}
	}
}

// FuzzParse checks that no input makes the parser panic.
func FuzzParse(f *testing.F) {
	f.Add(`SELECT "a"."b" FROM "a" WHERE "a"."id" IN ($1, $2)`)
	f.Add("INSERT INTO `t` (`a`) VALUES (?), (?) RETURNING `a`")
	f.Add(`UPDATE t SET (a, b) = (1, 2) WHERE id = $1`)
	f.Fuzz(func(t *testing.T, q string) { parse(q) })
}

// TestEntityTagShortcut checks that the tags a key read builds by
// concatenation are the ones writes bump with keys.EntityTag.
func TestEntityTagShortcut(t *testing.T) {
	d := &Driver{dialect: "postgres"}
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
