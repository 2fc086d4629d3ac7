package hydragorm

import (
	"reflect"
	"testing"
)

func TestReadTables(t *testing.T) {
	cases := []struct {
		sql    string
		tables []string
		ok     bool
	}{
		{`SELECT * FROM "users" WHERE "users"."id" = $1`, []string{"users"}, true},
		{`SELECT * FROM "public"."Users" u, orders o WHERE u.id = o.user_id`, []string{"users", "orders"}, true},
		{`SELECT "users"."id","Company"."id" AS "Company__id" FROM "users" LEFT JOIN "companies" "Company" ON "users"."company_id" = "Company"."id"`, []string{"users", "companies"}, true},
		{`SELECT * FROM users WHERE id IN (SELECT user_id FROM pets WHERE name = 'FROM x')`, []string{"users", "pets"}, true},
		{`SELECT * FROM (SELECT * FROM a) s, b JOIN c ON true`, []string{"b", "a", "c"}, true}, // order of discovery; any order tags alike
		{`SELECT * FROM ONLY t -- FROM comment`, []string{"t"}, true},
		{`SELECT 1; DROP TABLE users`, nil, false},
		{`SELECT * FROM users WHERE id = 1 FOR UPDATE`, nil, false},
		{`SELECT * FROM users FOR NO KEY UPDATE SKIP LOCKED`, nil, false},
		{"SELECT * FROM `users` WHERE name = 'it''s'", []string{"users"}, true},
		{`SELECT * FROM "odd.Name"`, []string{normTable(`"odd.Name"`)}, true},
	}
	for _, c := range cases {
		got, ok := readTables(c.sql)
		if ok != c.ok || (ok && !reflect.DeepEqual(got, c.tables)) {
			t.Errorf("readTables(%q) = %v, %v; want %v, %v", c.sql, got, ok, c.tables, c.ok)
		}
	}
}

func TestClassifyRaw(t *testing.T) {
	cases := []struct {
		sql    string
		kind   writeKind
		tables []string
	}{
		{`SAVEPOINT sp1`, writeNone, nil},
		{`ROLLBACK TO SAVEPOINT sp1`, writeNone, nil},
		{`RELEASE SAVEPOINT sp1`, writeNone, nil},
		{`SELECT * FROM users`, writeNone, nil},
		{`  (SELECT 1) UNION (SELECT 2)`, writeNone, nil},
		{`UPDATE users SET age = 1 WHERE id = 2`, writeTables, []string{"users"}},
		{`UPDATE ONLY "public"."users" SET age = 1`, writeTables, []string{"users"}},
		{`DELETE FROM "pets" WHERE id = 1`, writeTables, []string{"pets"}},
		{`INSERT INTO users (name) VALUES ('x') ON CONFLICT DO NOTHING`, writeTables, []string{"users"}},
		{`INSERT OR REPLACE INTO users (id) VALUES (1)`, writeTables, []string{"users"}},
		{`TRUNCATE TABLE a, "b"`, writeTables, []string{"a", "b"}},
		{`WITH d AS (DELETE FROM pets RETURNING user_id) UPDATE users SET age = 0 FROM d`, writeTables, []string{"pets", "users", "d"}},
		{`WITH x AS (SELECT 1) SELECT * FROM x`, writeNone, nil},
		{`ALTER TABLE users ADD COLUMN x int`, writeUnknown, nil},
		{`CREATE INDEX i ON users (age)`, writeUnknown, nil},
		{`UPDATE users SET a = 1; DELETE FROM pets`, writeUnknown, nil},
		{`EXPLAIN ANALYZE DELETE FROM users`, writeUnknown, nil},
		{`CALL do_things()`, writeUnknown, nil},
		{`DELETE t1, t2 FROM t1 JOIN t2`, writeUnknown, nil},
	}
	for _, c := range cases {
		kind, tables := classifyRaw(c.sql)
		if kind != c.kind || !reflect.DeepEqual(tables, c.tables) {
			t.Errorf("classifyRaw(%q) = %v, %v; want %v, %v", c.sql, kind, tables, c.kind, c.tables)
		}
	}
}
