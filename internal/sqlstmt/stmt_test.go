package sqlstmt

import (
	"reflect"
	"slices"
	"testing"
)

func TestReads(t *testing.T) {
	cases := []struct {
		d       Dialect
		sql     string
		kind    Kind
		tables  []string
		lock    bool
		catalog bool
		calls   []string
		clock   bool
	}{
		{Postgres, `SELECT * FROM "users" WHERE "users"."id" = $1`, Select, []string{"users"}, false, false, nil, false},
		{Postgres, `SELECT * FROM "public"."Users" u, orders o WHERE u.id = o.user_id`, Select, []string{"Users", "orders"}, false, false, nil, false},
		{Postgres, `SELECT "users"."id","Company"."id" AS "Company__id" FROM "users" LEFT JOIN "companies" "Company" ON "users"."company_id" = "Company"."id"`, Select, []string{"users", "companies"}, false, false, nil, false},
		{Postgres, `SELECT * FROM users WHERE id IN (SELECT user_id FROM pets WHERE name = 'FROM x')`, Select, []string{"users", "pets"}, false, false, nil, false},
		{Postgres, `SELECT * FROM (SELECT * FROM a) s, b JOIN c ON true`, Select, []string{"a", "b", "c"}, false, false, nil, false},
		{Postgres, `SELECT * FROM (a JOIN b ON a.id = b.a_id) x, c`, Select, []string{"a", "b", "c"}, false, false, nil, false},
		{Postgres, `SELECT * FROM ((a JOIN b ON a.id = b.a_id) JOIN c ON true)`, Select, []string{"a", "b", "c"}, false, false, nil, false},
		{Postgres, `SELECT * FROM a JOIN b ON a.x IN (1, 2), c WHERE a.y = 1 ORDER BY a.z, a.w`, Select, []string{"a", "b", "c"}, false, false, nil, false},
		{Postgres, `SELECT (SELECT max(x) FROM t), y FROM u`, Select, []string{"t", "u"}, false, false, []string{"max"}, false},
		{Postgres, `SELECT * FROM ONLY t -- FROM comment`, Select, []string{"t"}, false, false, nil, false},
		{Postgres, `SELECT * FROM users WHERE id = 1 FOR UPDATE`, Select, []string{"users"}, true, false, nil, false},
		{Postgres, `SELECT * FROM users FOR NO KEY UPDATE SKIP LOCKED`, Select, []string{"users"}, true, false, nil, false},
		{MySQL, `SELECT * FROM users LOCK IN SHARE MODE`, Select, []string{"users"}, true, false, nil, false},
		{SQLite, "SELECT * FROM `users` WHERE name = 'it''s'", Select, []string{"users"}, false, false, nil, false},
		{SQLite, "SELECT * FROM [my table]", Select, []string{"my table"}, false, false, nil, false},
		{Postgres, `SELECT * FROM "odd.Name"`, Select, []string{"odd.Name"}, false, false, nil, false},
		{Postgres, `SELECT 'it''s' FROM "we""ird"`, Select, []string{`we"ird`}, false, false, nil, false},
		{Postgres, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, Select, []string{"tables"}, false, true, nil, false},
		{Postgres, `SELECT * FROM pg_catalog.pg_class`, Select, []string{"pg_class"}, false, true, nil, false},
		{Postgres, `SELECT * FROM generate_series(1, 3) g`, Select, nil, false, false, []string{"generate_series"}, false},
		{Postgres, `SELECT 1`, Select, nil, false, false, nil, false},
		// Functions and the clock.
		{Postgres, `SELECT * FROM "users" ORDER BY RANDOM() LIMIT 1`, Select, []string{"users"}, false, false, []string{"random"}, false},
		{MySQL, "SELECT * FROM `users` ORDER BY RAND()", Select, []string{"users"}, false, false, []string{"rand"}, false},
		{Postgres, `SELECT * FROM sessions WHERE expires_at > NOW()`, Select, []string{"sessions"}, false, false, []string{"now"}, false},
		{Postgres, `SELECT * FROM t WHERE created_at <= CURRENT_TIMESTAMP`, Select, []string{"t"}, false, false, nil, true},
		{SQLite, `SELECT * FROM t WHERE created_at <= CURRENT_TIMESTAMP`, Select, []string{"t"}, false, false, nil, true},
		{Postgres, `SELECT * FROM t WHERE d > 'now'::timestamp`, Select, []string{"t"}, false, false, nil, true},
		{Postgres, `SELECT * FROM t WHERE d = CURRENT_DATE - 1`, Select, []string{"t"}, false, false, nil, true},
		{Postgres, `SELECT user FROM t`, Select, []string{"t"}, false, false, nil, true},
		{MySQL, `SELECT user FROM t`, Select, []string{"t"}, false, false, nil, false},
		{Postgres, `SELECT t.current_date FROM t`, Select, []string{"t"}, false, false, nil, false},
		{Postgres, `SELECT count(*) FROM "users" WHERE "users"."deleted_at" IS NULL`, Select, []string{"users"}, false, false, []string{"count"}, false},
		{Postgres, `SELECT pg_catalog.lower(name), COUNT(DISTINCT(x)) FROM t`, Select, []string{"t"}, false, false, []string{"lower", "count"}, false},
		{Postgres, `SELECT CAST(x AS numeric(10,2)), y::varchar(20), z::character varying(3) FROM t`, Select, []string{"t"}, false, false, nil, false},
		{Postgres, `SELECT EXTRACT(YEAR FROM created_at), substring(name FROM 2 FOR 3) FROM t`, Select, []string{"t"}, false, false, []string{"extract", "substring"}, false},
		{Postgres, `SELECT * FROM a WHERE a.x IS DISTINCT FROM a.y`, Select, []string{"a"}, false, false, nil, false},
		{Postgres, `SELECT coalesce((SELECT max(v) FROM w), 0) FROM a`, Select, []string{"w", "a"}, false, false, []string{"coalesce", "max"}, false},
		{Postgres, `SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.a = a.id) AND a.x IN (1, 2)`, Select, []string{"a", "b"}, false, false, nil, false},
		{Postgres, `SELECT * FROM t WHERE j ? 'k'`, Select, []string{"t"}, false, false, nil, false},
		{Postgres, `SELECT $$it's; FOR UPDATE$$, $tag$x$tag$ FROM t`, Select, []string{"t"}, false, false, nil, false},
		{Postgres, `SELECT E'a\'b; FOR UPDATE' FROM t`, Select, []string{"t"}, false, false, nil, false},
		{Postgres, `SELECT 'a\' FROM t FOR UPDATE --'`, Select, []string{"t"}, true, false, nil, false},
		{MySQL, `SELECT 'a\' FROM t FOR UPDATE --' FROM u`, Select, []string{"u"}, false, false, nil, false},
		{MySQL, `SELECT 1--1 FROM t FOR UPDATE`, Select, []string{"t"}, true, false, nil, false},
		{Postgres, `SELECT /* a /* nested */ FOR UPDATE */ * FROM t`, Select, []string{"t"}, false, false, nil, false},
		{Postgres, `SELECT * FROM t; `, Select, []string{"t"}, false, false, nil, false},
		// CTEs: names count as tables; a read-only CTE is a read.
		{Postgres, `WITH x AS (SELECT * FROM a) SELECT * FROM x JOIN b ON true`, Select, []string{"a", "x", "b"}, false, false, nil, false},
		{Postgres, `SELECT * FROM t WITH ORDINALITY`, Select, []string{"t"}, false, false, nil, false},
		// Not readable: Unknown.
		{Postgres, `SELECT * FROM users; DELETE FROM users`, Unknown, nil, false, false, nil, false},
		{Postgres, `SELECT 'unterminated`, Unknown, nil, false, false, nil, false},
		{Postgres, `SELECT (1`, Unknown, nil, false, false, nil, false},
		{MySQL, `SELECT /*! SQL_NO_CACHE */ * FROM t`, Unknown, nil, false, false, nil, false},
		{Postgres, `SELECT * INTO new_table FROM t`, Unknown, nil, false, false, nil, false},
	}
	for _, c := range cases {
		s := Parse(c.d, c.sql)
		if s.Kind != c.kind {
			t.Errorf("%s: kind %v, want %v", c.sql, s.Kind, c.kind)
			continue
		}
		if c.kind != Select {
			continue
		}
		if !reflect.DeepEqual(s.Reads, c.tables) || s.Lock != c.lock || s.Catalog != c.catalog ||
			!reflect.DeepEqual(s.Calls, c.calls) || s.Clock != c.clock {
			t.Errorf("%s:\n got reads %q lock %v catalog %v calls %q clock %v\nwant reads %q lock %v catalog %v calls %q clock %v",
				c.sql, s.Reads, s.Lock, s.Catalog, s.Calls, s.Clock, c.tables, c.lock, c.catalog, c.calls, c.clock)
		}
	}
}

func TestKeyReads(t *testing.T) {
	cases := []struct {
		d      Dialect
		sql    string
		key    bool
		col    string
		params []int
		limit  bool
	}{
		{Postgres, `SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."id" = $1 LIMIT 2`, true, "id", []int{0}, true},
		{SQLite, "SELECT `users`.`id` FROM `users` WHERE `users`.`id` IN (?, ?, ?)", true, "id", []int{0, 1, 2}, false},
		{SQLite, "SELECT id FROM users WHERE id = ?2", true, "id", []int{1}, false},
		{Postgres, `SELECT "users"."id" FROM "users" WHERE "users"."id" IN ($1, $2) LIMIT 1`, false, "", nil, false},
		{Postgres, `SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 ORDER BY "id"`, false, "", nil, false},
		{Postgres, `SELECT DISTINCT "users"."id" FROM "users" WHERE "users"."id" = $1`, false, "", nil, false},
		{Postgres, `SELECT COUNT("users"."id") FROM "users"`, false, "", nil, false},
		{Postgres, `SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 LIMIT 2 FOR UPDATE`, false, "", nil, false},
		{SQLite, "select id from users -- comment\n where /* note */ id = ?", true, "id", []int{0}, false},
	}
	for _, c := range cases {
		s := Parse(c.d, c.sql)
		if (s.Key != nil) != c.key {
			t.Errorf("%s: key read %v", c.sql, s.Key != nil)
			continue
		}
		if c.key && (s.Conds[0].Col != c.col || !reflect.DeepEqual(s.Conds[0].Params, c.params) || s.Key.Limit != c.limit) {
			t.Errorf("%s: key %q %v limit %v", c.sql, s.Conds[0].Col, s.Conds[0].Params, s.Key.Limit)
		}
	}
	s := Parse(Postgres, `SELECT "t"."id", "t"."a" FROM "t" WHERE "t"."id" = $1`)
	if s.Key.Prefix != `SELECT "t"."id", "t"."a" FROM "t"` || s.Key.KeyRef != `"t"."id"` {
		t.Errorf("prefix %q keyref %q", s.Key.Prefix, s.Key.KeyRef)
	}
}

func TestWrites(t *testing.T) {
	cases := []struct {
		d         Dialect
		sql       string
		kind      Kind
		writes    []string
		coarse    bool
		known     bool
		conds     []Cond
		cols      []string
		rows      [][]int
		upsert    bool
		nothing   bool
		conflict  []string
		returning []string
		setCols   []string
	}{
		{d: Postgres, sql: `INSERT INTO "users" ("name", "age") VALUES ($1, $2) RETURNING "id"`, kind: Insert, writes: []string{"users"},
			cols: []string{"name", "age"}, rows: [][]int{{0, 1}}, returning: []string{"id"}},
		{d: SQLite, sql: "INSERT INTO `pets` (`id`, `name`, `owner_id`) VALUES (?, ?, ?), (?, ?, NULL) RETURNING `id`", kind: Insert, writes: []string{"pets"},
			cols: []string{"id", "name", "owner_id"}, rows: [][]int{{0, 1, 2}, {3, 4, -1}}, returning: []string{"id"}},
		{d: Postgres, sql: `INSERT INTO "groups" ("name", "id") VALUES ($1, $2) ON CONFLICT ("name") DO UPDATE SET "name" = "excluded"."name" RETURNING "id"`,
			kind: Insert, writes: []string{"groups"}, cols: []string{"name", "id"}, rows: [][]int{{0, 1}}, upsert: true, conflict: []string{"name"}, returning: []string{"id"}},
		{d: Postgres, sql: `INSERT INTO "group_users" ("group_id", "user_id") VALUES ($1, $2) ON CONFLICT DO NOTHING`, kind: Insert, writes: []string{"group_users"},
			cols: []string{"group_id", "user_id"}, rows: [][]int{{0, 1}}, nothing: true},
		{d: MySQL, sql: "INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = VALUES(a)", kind: Insert, writes: []string{"t"},
			cols: []string{"a"}, rows: [][]int{{0}}, upsert: true},
		{d: MySQL, sql: "INSERT IGNORE INTO t (a) VALUES (?)", kind: Insert, writes: []string{"t"}, cols: []string{"a"}, rows: [][]int{{0}}, nothing: true},
		{d: MySQL, sql: "REPLACE INTO t (a) VALUES (?)", kind: Insert, writes: []string{"t"}, cols: []string{"a"}, rows: [][]int{{0}}, upsert: true},
		{d: SQLite, sql: "INSERT OR REPLACE INTO t (id) VALUES (lower(?))", kind: Insert, writes: []string{"t"}, cols: []string{"id"}, rows: [][]int{{-1}}, upsert: true},
		{d: Postgres, sql: `INSERT INTO t SELECT * FROM u`, kind: Insert, writes: []string{"t"}},
		{d: Postgres, sql: `UPDATE "users" SET "name" = $1 WHERE "id" = $2`, kind: Update, writes: []string{"users"}, known: true,
			conds: []Cond{{Col: "id", Params: []int{1}}}, setCols: []string{"name"}},
		{d: Postgres, sql: `UPDATE "pets" SET "owner_id" = NULL WHERE "id" IN ($1, $2) AND "owner_id" = $3`, kind: Update, writes: []string{"pets"}, known: true,
			conds: []Cond{{Col: "id", Params: []int{0, 1}, In: true}, {Col: "owner_id", Params: []int{2}}}, setCols: []string{"owner_id"}},
		{d: Postgres, sql: `UPDATE "users" SET "age" = $1 WHERE "users"."age" > $2 OR "id" = $3`, kind: Update, writes: []string{"users"}, setCols: []string{"age"}},
		{d: Postgres, sql: `UPDATE "users" SET "age" = "age" + $1, "x" = coalesce("x", $2) WHERE "a" BETWEEN $3 AND $4 AND "id" = $5 RETURNING *`, kind: Update, writes: []string{"users"}, known: true,
			conds: []Cond{{Col: "id", Params: []int{4}}}, setCols: []string{"age", "x"}, returning: []string{""}},
		{d: Postgres, sql: `UPDATE users SET age = 1 WHERE (id = $1 OR id = $2)`, kind: Update, writes: []string{"users"}, known: true, setCols: []string{"age"}},
		{d: MySQL, sql: "UPDATE t1 JOIN t2 ON t1.id = t2.t1_id SET t1.a = 1, t2.b = 2", kind: Update, writes: []string{"t1", "t2"}, coarse: true, setCols: []string{""}},
		{d: MySQL, sql: "UPDATE t1, t2 SET t1.a = t2.a", kind: Update, writes: []string{"t1", "t2"}, coarse: true, setCols: []string{""}},
		{d: Postgres, sql: `DELETE FROM "users" WHERE "users"."id" = $1`, kind: Delete, writes: []string{"users"}, known: true, conds: []Cond{{Table: "users", Col: "id", Params: []int{0}}}},
		{d: Postgres, sql: `DELETE FROM "group_users" WHERE "user_id" = $1 AND "group_id" = $2`, kind: Delete, writes: []string{"group_users"}, known: true,
			conds: []Cond{{Col: "user_id", Params: []int{0}}, {Col: "group_id", Params: []int{1}}}},
		{d: Postgres, sql: `DELETE FROM "users"`, kind: Delete, writes: []string{"users"}},
		{d: Postgres, sql: `DELETE FROM pets WHERE id = $1 RETURNING owner_id, name`, kind: Delete, writes: []string{"pets"}, known: true,
			conds: []Cond{{Col: "id", Params: []int{0}}}, returning: []string{"owner_id", "name"}},
		{d: MySQL, sql: "DELETE t1, t2 FROM t1 JOIN t2 ON t1.id = t2.id", kind: Delete, writes: []string{"t1", "t2"}, coarse: true},
		{d: MySQL, sql: "DELETE a FROM t1 AS a JOIN t2 ON a.id = t2.id", kind: Delete, writes: []string{"a", "t1", "t2"}, coarse: true},
		{d: Postgres, sql: `TRUNCATE TABLE a, "b"`, kind: Delete, writes: []string{"a", "b"}},
		{d: Postgres, sql: `TRUNCATE users CASCADE`, kind: Unknown},
		{d: Postgres, sql: `WITH d AS (DELETE FROM pets RETURNING user_id) UPDATE users SET age = 0 FROM d`, kind: Update, writes: []string{"users", "pets"}, coarse: true, setCols: []string{""}},
		{d: Postgres, sql: `WITH u AS (UPDATE users SET age = 1 WHERE id = $1 RETURNING *) SELECT * FROM u`, kind: Update, writes: []string{"users"}, coarse: true, setCols: []string{""}},
		{d: Postgres, sql: `SELECT * FROM (WITH u AS (DELETE FROM x RETURNING *) SELECT * FROM u) s`, kind: Update, writes: []string{"x"}, coarse: true, setCols: []string{""}},
		{d: Postgres, sql: `MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a`, kind: Update, writes: []string{"t"}, coarse: true, setCols: []string{""}},
		{d: Postgres, sql: `CREATE TABLE IF NOT EXISTS "users" ("id" bigint)`, kind: DDL, writes: []string{"users"}},
		{d: Postgres, sql: `CREATE UNIQUE INDEX "x" ON "groups" ("name")`, kind: DDL, writes: []string{"groups"}},
		{d: Postgres, sql: `ALTER TABLE "pets" ADD COLUMN "x" int REFERENCES "users" ("id")`, kind: DDL, writes: []string{"pets"}},
		{d: Postgres, sql: `DROP TABLE a, b`, kind: DDL},
		{d: Postgres, sql: `UPDATE users SET a = 1; DELETE FROM pets`, kind: Unknown},
		{d: Postgres, sql: `EXPLAIN ANALYZE DELETE FROM users`, kind: Unknown},
		{d: Postgres, sql: `EXPLAIN (ANALYZE, BUFFERS) DELETE FROM users`, kind: Unknown},
		{d: Postgres, sql: `CALL do_things()`, kind: Unknown},
	}
	for _, c := range cases {
		s := Parse(c.d, c.sql)
		if s.Kind != c.kind || !reflect.DeepEqual(s.Writes, c.writes) || s.Coarse != c.coarse || s.CondsKnown != c.known ||
			!reflect.DeepEqual(s.Conds, c.conds) || !reflect.DeepEqual(s.Cols, c.cols) || !reflect.DeepEqual(s.Rows, c.rows) ||
			s.Upsert != c.upsert || s.DoNothing != c.nothing || !reflect.DeepEqual(s.Conflict, c.conflict) ||
			!reflect.DeepEqual(s.Returning, c.returning) || !reflect.DeepEqual(s.SetCols, c.setCols) {
			t.Errorf("%s:\n got %+v", c.sql, *s)
		}
	}
	for _, q := range []string{`PRAGMA foreign_keys = off`, `SAVEPOINT a`, `ROLLBACK TO SAVEPOINT sp1`, `RELEASE SAVEPOINT sp1`,
		`SET search_path = x`, `EXPLAIN SELECT 1`, `-- nothing`, `SHOW tables`} {
		if s := Parse(Postgres, q); s.Kind != Session || s.Kind.Writes() {
			t.Errorf("%s: kind %v", q, s.Kind)
		}
	}
	if s := Parse(Postgres, `UPDATE Users SET name = 'x'`); !slices.Equal(s.Folds, []string{"users"}) || s.Writes[0] != "Users" {
		t.Errorf("unquoted mixed case: %+v", *s)
	}
	if s := Parse(Postgres, `UPDATE "Users" SET name = 'x'`); len(s.Folds) != 0 {
		t.Errorf("quoted name folded: %+v", *s)
	}
}

func TestSelectConds(t *testing.T) {
	cases := []struct {
		d     Dialect
		sql   string
		known bool
		conds []Cond
	}{
		{Postgres, `SELECT * FROM "comments" WHERE "comments"."article_id" = $1 AND "comments"."deleted_at" IS NULL ORDER BY created_at LIMIT 20`,
			true, []Cond{{Table: "comments", Col: "article_id", Params: []int{0}}}},
		{Postgres, `SELECT count(*) FROM "favorites" WHERE user_id = $1 AND article_id = $2`,
			true, []Cond{{Col: "user_id", Params: []int{0}}, {Col: "article_id", Params: []int{1}}}},
		{SQLite, "SELECT * FROM `pets` WHERE `pets`.`owner_id` IN (?,?,?)",
			true, []Cond{{Table: "pets", Col: "owner_id", Params: []int{0, 1, 2}, In: true}}},
		{Postgres, `SELECT * FROM t WHERE a = $1 OR b = $2`, false, nil},
		{Postgres, `SELECT * FROM t WHERE (a = $1 OR b = $2) AND c = $3`, true, []Cond{{Col: "c", Params: []int{2}}}},
		// Not one table: no conjuncts.
		{Postgres, `SELECT * FROM t JOIN u ON t.id = u.t_id WHERE t.a = $1`, false, nil},
		{Postgres, `SELECT * FROM t WHERE t.a = $1 AND t.id IN (SELECT t_id FROM u)`, false, nil},
		{Postgres, `SELECT * FROM t WHERE a = $1 UNION SELECT * FROM t WHERE a = $2`, false, nil},
		{Postgres, `SELECT * FROM t`, false, nil},
	}
	for _, c := range cases {
		s := Parse(c.d, c.sql)
		if s.CondsKnown != c.known || !reflect.DeepEqual(s.Conds, c.conds) {
			t.Errorf("%s:\n got known %v conds %+v", c.sql, s.CondsKnown, s.Conds)
		}
	}
	s := Parse(Postgres, `UPDATE "comments" SET "body" = $1, "article_id" = $2, "n" = "n" + $3 WHERE "id" = $4`)
	if !slices.Equal(s.SetCols, []string{"body", "article_id", "n"}) || !slices.Equal(s.SetParams, []int{0, 1, -1}) {
		t.Errorf("set: %q %v", s.SetCols, s.SetParams)
	}
}

func TestVolatile(t *testing.T) {
	imm := func(d Dialect) func(string) bool { return func(n string) bool { return Immutable(d, n) } }
	cases := []struct {
		d        Dialect
		sql      string
		volatile bool
	}{
		{Postgres, `SELECT count(*) FROM "users"`, false},
		{Postgres, `SELECT coalesce(max(a), 0) FROM t`, false},
		{Postgres, `SELECT * FROM t ORDER BY random()`, true},
		{Postgres, `SELECT * FROM t WHERE at > now()`, true},
		{Postgres, `SELECT * FROM t WHERE at > CURRENT_TIMESTAMP`, true},
		{Postgres, `SELECT * FROM t WHERE at > clock_timestamp()`, true},
		{Postgres, `SELECT * FROM t WHERE my_func(a)`, true},
		{MySQL, "SELECT * FROM t WHERE at > NOW()", true},
		{MySQL, "SELECT * FROM t WHERE lower(name) = ?", false},
		{SQLite, `SELECT * FROM t WHERE at > datetime('now')`, true},
		{SQLite, `SELECT * FROM t WHERE at > date(?)`, true},
		{SQLite, `SELECT ifnull(a, 1) FROM t`, false},
	}
	for _, c := range cases {
		if got := Parse(c.d, c.sql).Volatile(imm(c.d)); got != c.volatile {
			t.Errorf("%s: volatile %v, want %v", c.sql, got, c.volatile)
		}
	}
	for _, w := range []string{"now", " NOW ", "today", "Tomorrow", "yesterday"} {
		if !ClockWord(w) {
			t.Errorf("ClockWord(%q) = false", w)
		}
	}
	for _, w := range []string{"nowhere", "", "epoch", "know"} {
		if ClockWord(w) {
			t.Errorf("ClockWord(%q) = true", w)
		}
	}
}

// FuzzParse checks that no input makes the parser panic, in any dialect,
// and that what it cannot read is the worst case.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`SELECT "a"."b" FROM "a" WHERE "a"."id" IN ($1, $2)`,
		"INSERT INTO `t` (`a`) VALUES (?), (?) RETURNING `a`",
		`UPDATE t SET (a, b) = (1, 2) WHERE id = $1`,
		`WITH d AS (DELETE FROM pets RETURNING user_id) UPDATE users SET age = 0 FROM d`,
		`SELECT $$x$$, E'\'', 'a\' FROM t`,
		`DELETE t1, t2 FROM t1 JOIN t2 ON t1.id = t2.id`,
		`SELECT * FROM (a JOIN b ON x) , c WHERE EXTRACT(YEAR FROM d) = 1`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, d := range []Dialect{Generic, Postgres, SQLite, MySQL} {
			s := Parse(d, q)
			if s.Kind == Unknown && !s.Kind.Writes() {
				t.Fatalf("Unknown must count as a write")
			}
		}
	})
}
