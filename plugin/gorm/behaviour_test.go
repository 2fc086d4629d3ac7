package hydragorm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

func TestRegisterTwice(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.cached.Use(hydragorm.New(e.cache, hydragorm.WithNamespace("x"))); !errors.Is(err, gorm.ErrRegistered) {
		t.Fatalf("second Use: %v, want gorm.ErrRegistered", err)
	}
	other := openGorm(t, e.sqlDB, nil)
	if err := other.Use(e.plugin); !errors.Is(err, hydragorm.ErrAlreadyInitialized) {
		t.Fatalf("same plugin on another DB: %v", err)
	}
	// Opened on a connection, the dialector has no DSN to derive a
	// namespace from.
	if err := other.Use(hydragorm.New(e.cache)); !errors.Is(err, hydragorm.ErrNoNamespace) {
		t.Fatalf("no namespace: %v", err)
	}
}

func firstN(e *env, db *gorm.DB, id int) (User, int64) {
	var u User
	n := e.statements(func() { db.First(&u, id) })
	return u, n
}

func TestContextModes(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(2)
	ctx := context.Background()
	if _, n := firstN(e, e.cached, 1); n != 1 {
		t.Fatalf("cold read: %d statements", n)
	}
	if _, n := firstN(e, e.cached, 1); n != 0 {
		t.Fatalf("warm read: %d statements", n)
	}
	if _, n := firstN(e, e.cached.WithContext(core.WithBypass(ctx)), 1); n != 1 {
		t.Errorf("bypass: %d statements", n)
	}
	if _, n := firstN(e, e.cached.Scopes(hydragorm.Bypass), 1); n != 1 {
		t.Errorf("Bypass scope: %d statements", n)
	}
	// Refresh reloads and overwrites: a change made behind the plugin's
	// back shows after a refresh, and the next plain read hits it.
	if err := e.plain.Model(&User{}).Where("id = ?", 1).Update("name", "behind").Error; err != nil {
		t.Fatal(err)
	}
	if u, _ := firstN(e, e.cached, 1); u.Name == "behind" {
		t.Fatal("a write outside the plugin was seen without refresh: the test proves nothing")
	}
	if u, n := firstN(e, e.cached.Scopes(hydragorm.Refresh), 1); n != 1 || u.Name != "behind" {
		t.Errorf("refresh: %d statements, name %q", n, u.Name)
	}
	if u, n := firstN(e, e.cached, 1); n != 0 || u.Name != "behind" {
		t.Errorf("after refresh: %d statements, name %q", n, u.Name)
	}
	// Cache-only: a miss fails instead of loading.
	var u User
	if err := e.cached.Scopes(hydragorm.CacheOnly).First(&u, 2).Error; !errors.Is(err, core.ErrCacheMiss) {
		t.Errorf("cache-only miss: %v", err)
	}
	if err := e.cached.WithContext(core.WithCacheOnly(ctx)).First(&u, 1).Error; err != nil {
		t.Errorf("cache-only hit: %v", err)
	}
}

func TestTTLOverride(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	st, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	cache, err := core.New(st, core.WithClock(clock), core.WithTTLJitter(0), core.WithNamespace("ttl"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil)
	e.seed(1)
	db := openGorm(t, counting{db: e.sqlDB, n: &e.n}, nil)
	if err := db.Use(hydragorm.New(cache, hydragorm.WithNamespace("ttl"))); err != nil {
		t.Fatal(err)
	}
	if _, n := firstN(e, db.Scopes(hydragorm.TTL(time.Second)), 1); n != 1 {
		t.Fatalf("cold: %d", n)
	}
	if _, n := firstN(e, db, 1); n != 0 {
		t.Fatalf("warm: %d", n)
	}
	clock.add(2 * time.Second)
	if _, n := firstN(e, db, 1); n != 1 {
		t.Errorf("after the 1s TTL passed: %d statements, want a reload", n)
	}
}

type fakeClock struct {
	now time.Time
}

func (c *fakeClock) Now() time.Time      { return c.now }
func (c *fakeClock) add(d time.Duration) { c.now = c.now.Add(d) }

func TestNotCached(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(3)
	twice := func(name string, f func()) {
		t.Helper()
		f()
		if n := e.statements(f); n == 0 {
			t.Errorf("%s: answered from the cache", name)
		}
	}
	twice("read inside Transaction", func() {
		_ = e.cached.Transaction(func(tx *gorm.DB) error {
			var u User
			return tx.First(&u, 1).Error
		})
	})
	twice("read inside Begin", func() {
		tx := e.cached.Begin()
		var us []User
		tx.Where("age > ?", 0).Find(&us)
		tx.Rollback()
	})
	twice("FOR UPDATE", func() {
		var u User
		e.cached.Clauses(clause.Locking{Strength: "UPDATE"}).First(&u, 2)
	})
	twice("Rows", func() {
		rows, err := e.cached.Model(&User{}).Where("id = ?", 1).Rows()
		if err == nil {
			rows.Close()
		}
	})
	// Reads inside a transaction do not fill the cache either.
	_ = e.cached.Transaction(func(tx *gorm.DB) error {
		var u User
		return tx.First(&u, 3).Error
	})
	if _, n := firstN(e, e.cached, 3); n != 1 {
		t.Errorf("a read inside a transaction filled the cache")
	}

	// Dry runs and ToSQL never touch the cache nor reach the database.
	stats := e.cache.Stats()
	var u User
	n := e.statements(func() {
		stmt := e.cached.Session(&gorm.Session{DryRun: true}).First(&u, 1).Statement
		if !strings.Contains(stmt.SQL.String(), "SELECT") {
			t.Errorf("dry run built %q", stmt.SQL.String())
		}
		sql := e.cached.ToSQL(func(tx *gorm.DB) *gorm.DB { return tx.Where("age > ?", 1).Find(&[]User{}) })
		if !strings.Contains(sql, "age > 1") {
			t.Errorf("ToSQL gave %q", sql)
		}
	})
	if s := e.cache.Stats(); n != 0 || s.Hits != stats.Hits || s.Misses != stats.Misses {
		t.Errorf("dry run: %d statements, cache stats %+v -> %+v", n, stats, s)
	}
	// The same query afterwards still works and caches.
	if _, n := firstN(e, e.cached, 2); n != 1 {
		t.Errorf("after ToSQL: %d", n)
	}
}

func TestRawOptIn(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(3)
	read := func() ([]User, int64) {
		var us []User
		n := e.statements(func() {
			e.cached.Scopes(hydragorm.RawTables("users")).Raw("SELECT * FROM users WHERE age > ? ORDER BY id", 0).Find(&us)
		})
		return us, n
	}
	if _, n := read(); n != 1 {
		t.Fatalf("cold: %d", n)
	}
	if us, n := read(); n != 0 || len(us) != 3 {
		t.Fatalf("warm: %d statements, %d rows", n, len(us))
	}
	if err := e.cached.Model(&User{}).Where("id = ?", 1).Update("age", 0).Error; err != nil {
		t.Fatal(err)
	}
	if us, n := read(); n != 1 || len(us) != 2 {
		t.Fatalf("after a write: %d statements, %d rows", n, len(us))
	}
}

func TestSkipTablesAndDefaultPolicy(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(2)
	db := openGorm(t, counting{db: e.sqlDB, n: &e.n}, nil)
	if err := db.Use(hydragorm.New(e.cache, hydragorm.WithNamespace("skip"),
		hydragorm.WithDefaultPolicy(core.Policy{}), hydragorm.WithSkipTables("pets"))); err != nil {
		t.Fatal(err)
	}
	var ps []Plain
	db.Find(&ps)
	if n := e.statements(func() { db.Find(&ps) }); n != 0 {
		t.Errorf("default policy: model without CachePolicy not cached (%d)", n)
	}
	var pets []Pet
	db.Find(&pets)
	if n := e.statements(func() { db.Find(&pets) }); n == 0 {
		t.Errorf("skipped table cached")
	}
	var us []User
	db.Joins("JOIN pets ON pets.user_id = users.id").Find(&us)
	if n := e.statements(func() { db.Joins("JOIN pets ON pets.user_id = users.id").Find(&us) }); n == 0 {
		t.Errorf("read joining a skipped table cached")
	}
}

// TestNamespaces: two databases share one cache; a write on one does not
// leak into the other's reads, and each sees its own rows.
func TestNamespaces(t *testing.T) {
	a := newEnv(t, nil)
	b := newEnv(t, nil)
	a.seed(1)
	b.seed(1)
	if err := b.plain.Model(&User{}).Where("id = 1").Update("name", "b-side").Error; err != nil {
		t.Fatal(err)
	}
	dbA := openGorm(t, a.sqlDB, nil)
	dbB := openGorm(t, b.sqlDB, nil)
	if err := dbA.Use(hydragorm.New(a.cache, hydragorm.WithNamespace("a"))); err != nil {
		t.Fatal(err)
	}
	if err := dbB.Use(hydragorm.New(a.cache, hydragorm.WithNamespace("b"))); err != nil {
		t.Fatal(err)
	}
	var ua, ub User
	dbA.First(&ua, 1)
	dbB.First(&ub, 1)
	dbA.First(&ua, 1)
	dbB.First(&ub, 1)
	if ua.Name != "user01" || ub.Name != "b-side" {
		t.Fatalf("shared cache mixed databases: %q %q", ua.Name, ub.Name)
	}
}

// TestDDLFlushes: a statement the plugin cannot classify invalidates
// everything.
func TestDDLFlushes(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(2)
	e.warm(t)
	if err := e.cached.Exec("CREATE INDEX users_age ON users (age)").Error; err != nil {
		t.Fatal(err)
	}
	if _, n := firstN(e, e.cached, 1); n != 1 {
		t.Errorf("after DDL: %d statements, want a reload", n)
	}
	// Savepoint statements are not writes.
	e.warm(t)
	bumps := e.cache.Stats().Bumps
	_ = e.cached.Transaction(func(tx *gorm.DB) error {
		return tx.Transaction(func(*gorm.DB) error { return nil })
	})
	if got := e.cache.Stats().Bumps; got != bumps {
		t.Errorf("a transaction with only a savepoint bumped %d tags", got-bumps)
	}
}

// TestPreparedStatementsConfig: GORM opened with PrepareStmt wraps its pool
// before the plugin does; writes still publish at commit and reads hit.
func TestPreparedStatementsConfig(t *testing.T) {
	e := newEnv(t, &gorm.Config{PrepareStmt: true})
	e.seed(3)
	e.warm(t)
	if err := e.cached.Transaction(func(tx *gorm.DB) error {
		return tx.Model(&User{Model: gorm.Model{ID: 1}}).Update("name", "prepared").Error
	}); err != nil {
		t.Fatal(err)
	}
	tx := e.cached.Begin()
	if err := tx.Model(&User{Model: gorm.Model{ID: 2}}).Update("name", "rolled back").Error; err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if err := e.cached.Model(&User{Model: gorm.Model{ID: 3}}).Update("age", 5).Error; err != nil {
		t.Fatal(err)
	}
	e.compare(t)
	if _, n := firstN(e, e.cached, 2); n != 0 {
		t.Errorf("a rolled-back write invalidated user 2 (%d statements)", n)
	}
	if sqlDB, err := e.cached.DB(); err != nil || sqlDB == nil {
		t.Errorf("DB() through the wrapped pool: %v", err)
	}
}

// TestRedisStore runs reads and writes with the Redis store.
func TestRedisStore(t *testing.T) {
	client, prefix := testenv.Redis(t)
	st, err := store.NewRedis(client, store.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := core.New(st)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	e := newEnv(t, nil)
	e.seed(3)
	db := openGorm(t, counting{db: e.sqlDB, n: &e.n}, nil)
	if err := db.Use(hydragorm.New(cache, hydragorm.WithNamespace("redis"))); err != nil {
		t.Fatal(err)
	}
	e.cached, e.cache = db, cache
	e.warm(t)
	if err := db.Model(&User{Model: gorm.Model{ID: 1}}).Update("name", "redis").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(&Pet{}, 1).Error; err != nil {
		t.Fatal(err)
	}
	e.compare(t)
}

// TestMultiKeyLoadsOnlyMisses: a read of several keys loads the missing
// ones with one statement and answers the others from the cache.
func TestMultiKeyLoadsOnlyMisses(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(5)
	firstN(e, e.cached, 1)
	firstN(e, e.cached, 3)
	before := e.cache.Stats()
	var us []User
	if n := e.statements(func() { e.cached.Find(&us, []int{1, 2, 3, 4, 404}) }); n != 1 {
		t.Errorf("%d statements, want one IN query", n)
	}
	s := e.cache.Stats()
	if s.Hits-before.Hits != 2 || s.Misses-before.Misses != 3 || s.Loads-before.Loads != 1 {
		t.Errorf("hits %d misses %d loads %d, want 2, 3, 1", s.Hits-before.Hits, s.Misses-before.Misses, s.Loads-before.Loads)
	}
	if len(us) != 4 {
		t.Fatalf("%d users", len(us))
	}
	if n := e.statements(func() { e.cached.Find(&us, []int{4, 404, 2}) }); n != 0 {
		t.Errorf("second read: %d statements (404 is cached as not found)", n)
	}
}

// Owner's items go with it: ON DELETE CASCADE, declared in a GORM tag.
type Owner struct {
	ID    uint
	Name  string
	Items []Item `gorm:"constraint:OnDelete:CASCADE"`
}

func (Owner) CachePolicy() core.Policy { return core.Policy{} }

// Item belongs to an Owner.
type Item struct {
	ID      uint
	OwnerID uint
	Name    string
}

func (Item) CachePolicy() core.Policy { return core.Policy{} }

// TestCascadeDelete: a hard delete invalidates the tables the database
// empties by itself through a declared ON DELETE action, and
// WithDependents covers actions GORM does not know.
func TestCascadeDelete(t *testing.T) {
	e := newEnv(t, nil, hydragorm.WithDependents("companies", "audit"))
	if err := e.plain.AutoMigrate(&Owner{}, &Item{}); err != nil {
		t.Fatal(err)
	}
	if err := e.plain.Create(&[]Owner{{Name: "o1", Items: []Item{{Name: "a"}, {Name: "b"}}}, {Name: "o2", Items: []Item{{Name: "c"}}}}).Error; err != nil {
		t.Fatal(err)
	}
	read := func() ([]Item, int64) {
		var items []Item
		n := e.statements(func() { e.cached.Order("id").Find(&items) })
		return items, n
	}
	read()
	if _, n := read(); n != 0 {
		t.Fatalf("warm: %d", n)
	}
	var one Item
	e.cached.First(&one, 1)
	if err := e.cached.Delete(&Owner{}, 1).Error; err != nil {
		t.Fatal(err)
	}
	if items, _ := read(); len(items) != 1 {
		t.Errorf("after the owner's delete: %d items, want 1 (the cascade)", len(items))
	}
	if err := e.cached.First(&one, 1).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Errorf("item 1 after the cascade: %v", err)
	}

	// A dependent declared with WithDependents.
	if err := e.plain.Exec(`CREATE TABLE audit (n int)`).Error; err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		var n int64
		e.cached.Scopes(hydragorm.RawTables("audit")).Raw(`SELECT count(*) FROM audit`).Scan(&n)
		return n
	}
	count()
	if err := e.plain.Exec(`INSERT INTO audit VALUES (1)`).Error; err != nil { // as a trigger would
		t.Fatal(err)
	}
	if err := e.cached.Create(&Company{Name: "new"}).Error; err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("dependent table not invalidated: count %d", n)
	}
}

// TestUnknownCommitOutcomeBumps: a commit that reports an error may still
// have committed; its writes are published anyway.
func TestUnknownCommitOutcomeBumps(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(2)
	var lost atomic.Bool
	db := openGorm(t, counting{db: e.sqlDB, n: &e.n, lostCommit: &lost}, nil)
	if err := db.Use(hydragorm.New(e.cache, hydragorm.WithNamespace("lost"))); err != nil {
		t.Fatal(err)
	}
	e.cached = db
	e.warm(t)
	lost.Store(true)
	err := db.Model(&User{Model: gorm.Model{ID: 1}}).Update("name", "committed after all").Error
	lost.Store(false)
	if err == nil {
		t.Fatal("the commit's error did not reach the caller")
	}
	e.compare(t)
}

// Flaky fails its AfterUpdate hook on demand, which rolls GORM's implicit
// transaction back after the UPDATE ran.
type Flaky struct {
	ID   uint
	Name string
}

func (Flaky) CachePolicy() core.Policy { return core.Policy{} }

// AfterUpdate fails for the name "fail".
func (f *Flaky) AfterUpdate(*gorm.DB) error {
	if f.Name == "fail" {
		return errors.New("hook failed")
	}
	return nil
}

// TestImplicitRollbackPublishesNothing: a write whose implicit transaction
// rolls back (a hook failed) bumps nothing, and the cached row stays.
func TestImplicitRollbackPublishesNothing(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.plain.AutoMigrate(&Flaky{}); err != nil {
		t.Fatal(err)
	}
	if err := e.plain.Create(&Flaky{Name: "ok"}).Error; err != nil {
		t.Fatal(err)
	}
	var f Flaky
	e.cached.First(&f, 1)
	bumps := e.cache.Stats().Bumps
	if err := e.cached.Model(&Flaky{ID: 1, Name: "fail"}).Updates(Flaky{Name: "fail"}).Error; err == nil {
		t.Fatal("the hook's error was lost")
	}
	if got := e.cache.Stats().Bumps; got != bumps {
		t.Errorf("a rolled-back implicit transaction bumped %d tags", got-bumps)
	}
	var g Flaky
	if n := e.statements(func() { e.cached.First(&g, 1) }); n != 0 || g.Name != "ok" {
		t.Errorf("after the rollback: %d statements, name %q", n, g.Name)
	}
}

// TestForeignPoolWriteRebumps: a write through a pool the plugin does not
// know (db.Connection pins a *sql.Conn) runs in GORM's implicit
// transaction, so the plugin's bump comes before the commit. A read in
// between reads the old row and caches it; the bump repeated after the
// commit retires that entry, and the next read sees the write.
func TestForeignPoolWriteRebumps(t *testing.T) {
	readUser := func(db *gorm.DB) string {
		var u User
		if err := db.First(&u, 1).Error; err != nil {
			return err.Error()
		}
		return u.Name
	}
	readPet := func(db *gorm.DB) string {
		var p Pet
		if err := db.First(&p, 9001).Error; err != nil {
			return err.Error()
		}
		return p.Name
	}
	countPets := func(db *gorm.DB) string {
		var n int64
		if err := db.Model(&Pet{}).Where("name = ?", "assoc").Count(&n).Error; err != nil {
			return err.Error()
		}
		return fmt.Sprint(n)
	}
	cases := []struct {
		name     string
		register func(db *gorm.DB, fn func(*gorm.DB)) error
		write    func(tx *gorm.DB) error
		read     func(db *gorm.DB) string
		want     string
	}{
		{"update", func(db *gorm.DB, fn func(*gorm.DB)) error {
			return db.Callback().Update().After("hydracache:after_update").Before("gorm:commit_or_rollback_transaction").Register("test:read_between", fn)
		}, func(tx *gorm.DB) error {
			return tx.Model(&User{Model: gorm.Model{ID: 1}}).Update("name", "renamed").Error
		}, readUser, "renamed"},
		{"delete", func(db *gorm.DB, fn func(*gorm.DB)) error {
			return db.Callback().Delete().After("hydracache:after_delete").Before("gorm:commit_or_rollback_transaction").Register("test:read_between", fn)
		}, func(tx *gorm.DB) error {
			return tx.Delete(&User{}, 1).Error
		}, readUser, gorm.ErrRecordNotFound.Error()},
		{"create", func(db *gorm.DB, fn func(*gorm.DB)) error {
			return db.Callback().Create().After("hydracache:after_create").Before("gorm:commit_or_rollback_transaction").Register("test:read_between", fn)
		}, func(tx *gorm.DB) error {
			return tx.Create(&Pet{ID: 9001, UserID: 1, Name: "new"}).Error
		}, readPet, "new"},
		// The pet is inserted by a nested statement (association saving)
		// inside the user insert's implicit transaction.
		{"association", func(db *gorm.DB, fn func(*gorm.DB)) error {
			return db.Callback().Create().After("gorm:save_after_associations").Before("gorm:commit_or_rollback_transaction").Register("test:read_between", fn)
		}, func(tx *gorm.DB) error {
			return tx.Create(&User{Name: "owner", Pets: []Pet{{Name: "assoc"}}}).Error
		}, countPets, "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.seed(1)
			before := tc.read(e.cached)
			var armed atomic.Bool
			var seen string
			err := tc.register(e.cached, func(*gorm.DB) {
				if armed.Load() {
					seen = tc.read(e.cached.Session(&gorm.Session{NewDB: true, Context: context.Background()}))
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			armed.Store(true)
			err = e.cached.Connection(func(tx *gorm.DB) error { return tc.write(tx) })
			armed.Store(false)
			if err != nil {
				t.Fatal(err)
			}
			if seen != before {
				t.Fatalf("the read between bump and commit got %q, want the old %q (the window this test is about)", seen, before)
			}
			if got := tc.read(e.cached); got != tc.want {
				t.Fatalf("after the write committed: %q, want %q", got, tc.want)
			}
			if n := hydragorm.PendingForeignTx(e.plugin); n != 0 {
				t.Errorf("%d transactions still tracked after their commit", n)
			}
		})
	}
}
