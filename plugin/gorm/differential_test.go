package hydragorm_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// shape is one read, run on a *gorm.DB into a fresh destination.
type shape struct {
	name string
	// uncached: the plugin must not answer this read from the cache.
	uncached bool
	run      func(db *gorm.DB) (any, *gorm.DB)
}

func readShapes() []shape {
	type nameAge struct {
		Name string
		Age  int
	}
	one := func(f func(db *gorm.DB, u *User) *gorm.DB) func(db *gorm.DB) (any, *gorm.DB) {
		return func(db *gorm.DB) (any, *gorm.DB) { u := new(User); return u, f(db, u) }
	}
	many := func(f func(db *gorm.DB, us *[]User) *gorm.DB) func(db *gorm.DB) (any, *gorm.DB) {
		return func(db *gorm.DB) (any, *gorm.DB) { us := new([]User); return us, f(db, us) }
	}
	return []shape{
		{name: "First by key", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.First(u, 3) })},
		{name: "Take by key", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.Take(u, 4) })},
		{name: "Last by key", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.Last(u, 4) })},
		{name: "First by string key", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.First(u, "5") })},
		{name: "First missing key", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.First(u, 999) })},
		{name: "First with key in struct", run: one(func(db *gorm.DB, u *User) *gorm.DB { u.ID = 6; return db.First(u) })},
		{name: "Where struct on key", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.Where(&User{Model: gorm.Model{ID: 7}}).First(u) })},
		{name: "Where map on key", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.Where(map[string]any{"id": 8}).Take(u) })},
		{name: "Find key list", run: many(func(db *gorm.DB, us *[]User) *gorm.DB { return db.Find(us, []int{5, 2, 9, 2, 999}) })},
		{name: "First of key list", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.First(u, []int{9, 4, 6}) })},
		{name: "Find key list pointers", run: func(db *gorm.DB) (any, *gorm.DB) { us := new([]*User); return us, db.Find(us, []uint{1, 2, 3}) }},
		{name: "Unscoped First of deleted", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.Unscoped().First(u, 10) })},
		{name: "First of deleted", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.First(u, 10) })},
		{name: "First by key with preloads", run: one(func(db *gorm.DB, u *User) *gorm.DB {
			return db.Preload("Pets").Preload("Languages").Preload("Company").First(u, 2)
		})},
		{name: "Where filter", run: many(func(db *gorm.DB, us *[]User) *gorm.DB { return db.Where("age > ?", 22).Find(us) })},
		{name: "Where order limit offset", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Where("age > ?", 21).Order("id desc").Limit(3).Offset(1).Find(us)
		})},
		{name: "Where IN names", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Where("name IN ?", []string{"user01", "user03"}).Find(us)
		})},
		{name: "Or", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Where("id = ?", 1).Or("id = ?", 2).Order("id").Find(us)
		})},
		{name: "Not", run: many(func(db *gorm.DB, us *[]User) *gorm.DB { return db.Not("age = ?", 21).Order("id").Find(us) })},
		{name: "First without key", run: one(func(db *gorm.DB, u *User) *gorm.DB { return db.Where("name = ?", "user02").First(u) })},
		{name: "Distinct", run: func(db *gorm.DB) (any, *gorm.DB) {
			var ages []int
			return &ages, db.Model(&User{}).Distinct("age").Order("age").Pluck("age", &ages)
		}},
		{name: "Group having", run: func(db *gorm.DB) (any, *gorm.DB) {
			var rows []struct {
				Age int
				N   int
			}
			return &rows, db.Model(&User{}).Select("age, count(*) as n").Group("age").Having("count(*) > ?", 1).Order("age").Find(&rows)
		}},
		{name: "Joins relation", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Joins("Company").Where("\"Company\".name = ?", "acme").Order("users.id").Find(us)
		})},
		{name: "Joins raw", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Joins("JOIN pets ON pets.user_id = users.id AND pets.name = ?", "pet3a").Find(us)
		})},
		{name: "Subquery", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Where("id IN (?)", db.Session(&gorm.Session{NewDB: true}).Model(&Pet{}).Select("user_id").Where("name LIKE ?", "pet1%")).Order("id").Find(us)
		})},
		{name: "Raw where subquery", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Where("id IN (SELECT user_id FROM pets WHERE name = ?)", "pet2b").Find(us)
		})},
		{name: "Count", run: func(db *gorm.DB) (any, *gorm.DB) {
			var n int64
			return &n, db.Model(&User{}).Where("age > ?", 22).Count(&n)
		}},
		{name: "Pluck", run: func(db *gorm.DB) (any, *gorm.DB) {
			var names []string
			return &names, db.Model(&User{}).Order("name").Pluck("name", &names)
		}},
		{name: "Find into smaller struct", run: func(db *gorm.DB) (any, *gorm.DB) {
			var rows []nameAge
			return &rows, db.Model(&User{}).Order("id").Limit(5).Find(&rows)
		}},
		{name: "Find into maps", run: func(db *gorm.DB) (any, *gorm.DB) {
			var rows []map[string]any
			return &rows, db.Model(&User{}).Select("id", "name", "age", "email", "birthday").Order("id").Find(&rows)
		}},
		{name: "Take into map", run: func(db *gorm.DB) (any, *gorm.DB) {
			row := map[string]any{}
			return &row, db.Model(&User{}).Select("id", "name").Where("id = ?", 2).Take(&row)
		}},
		{name: "Select columns", run: many(func(db *gorm.DB, us *[]User) *gorm.DB { return db.Select("id", "name").Order("id").Find(us) })},
		{name: "Omit columns", run: many(func(db *gorm.DB, us *[]User) *gorm.DB { return db.Omit("tags").Order("id").Limit(4).Find(us) })},
		{name: "Unscoped list", run: many(func(db *gorm.DB, us *[]User) *gorm.DB { return db.Unscoped().Order("id").Find(us) })},
		{name: "Scopes", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			older := func(db *gorm.DB) *gorm.DB { return db.Where("age >= ?", 24) }
			return db.Scopes(older).Order("id").Find(us)
		})},
		{name: "Preload list", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Preload("Pets", "name LIKE ?", "%a").Preload("Languages").Preload("Company").Order("id").Limit(5).Find(us)
		})},
		{name: "Preload all", run: many(func(db *gorm.DB, us *[]User) *gorm.DB { return db.Preload(clause.Associations).Order("id").Find(us) })},
		{name: "Empty list", run: many(func(db *gorm.DB, us *[]User) *gorm.DB { return db.Where("age > ?", 1000).Find(us) })},
		{name: "Raw select (not opted in)", uncached: true, run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Raw("SELECT * FROM users WHERE age > ? ORDER BY id", 22).Find(us)
		})},
		{name: "Scan into structs", run: func(db *gorm.DB) (any, *gorm.DB) {
			var rows []nameAge
			return &rows, db.Model(&User{}).Order("id").Scan(&rows)
		}},
		{name: "Scan into a struct", run: func(db *gorm.DB) (any, *gorm.DB) {
			var row nameAge
			return &row, db.Model(&User{}).Where("id = ?", 3).Scan(&row)
		}},
		{name: "Scan into maps", run: func(db *gorm.DB) (any, *gorm.DB) {
			var rows []map[string]any
			return &rows, db.Model(&User{}).Select("id", "name", "birthday").Order("id").Scan(&rows)
		}},
		{name: "Scan none", run: func(db *gorm.DB) (any, *gorm.DB) {
			var row nameAge
			return &row, db.Model(&User{}).Where("id = ?", 999).Scan(&row)
		}},
		{name: "Raw Scan (not opted in)", uncached: true, run: func(db *gorm.DB) (any, *gorm.DB) {
			var rows []nameAge
			return &rows, db.Raw("SELECT name, age FROM users ORDER BY id").Scan(&rows)
		}},
		{name: "Raw Scan opted in", run: func(db *gorm.DB) (any, *gorm.DB) {
			var rows []nameAge
			return &rows, db.Scopes(hydragorm.RawTables("users")).Raw("SELECT name, age FROM users WHERE age > ? ORDER BY id", 21).Scan(&rows)
		}},
		{name: "Raw Find opted in", run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Scopes(hydragorm.RawTables()).Raw("SELECT * FROM users WHERE age > ? ORDER BY id", 22).Find(us)
		})},
		{name: "First with another key in the struct", run: one(func(db *gorm.DB, u *User) *gorm.DB { u.ID = 6; return db.First(u, 7) })},
		{name: "Locking", uncached: true, run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Clauses(clause.Locking{Strength: "UPDATE"}).Order("id").Find(us)
		})},
		{name: "Raw locking read opted in", uncached: true, run: many(func(db *gorm.DB, us *[]User) *gorm.DB {
			return db.Scopes(hydragorm.RawTables("users")).Raw("SELECT * FROM users WHERE id = ? FOR SHARE", 1).Find(us)
		})},
		{name: "Model not opted in", uncached: true, run: func(db *gorm.DB) (any, *gorm.DB) {
			var ps []Plain
			return &ps, db.Order("id").Find(&ps)
		}},
	}
}

// TestDifferential runs every read shape without the plugin and with it,
// cold then warm: the results must be deep-equal, and a warm read of a
// cached shape must reach the database zero times.
func TestDifferential(t *testing.T) {
	t.Run("memory store", func(t *testing.T) { differential(t, newEnv(t, nil)) })
	t.Run("prepared statements", func(t *testing.T) {
		e := newEnv(t, &gorm.Config{PrepareStmt: true})
		e.prepared = true
		differential(t, e)
	})
	t.Run("redis store", func(t *testing.T) {
		e := newEnv(t, nil)
		client, prefix := testenv.Redis(t)
		st, err := store.NewRedis(client, store.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		cache, err := core.New(st)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cache.Close() })
		db := openGorm(t, counting{db: e.sqlDB, n: &e.n}, nil)
		if err := db.Use(hydragorm.New(cache, hydragorm.WithNamespace("diff"))); err != nil {
			t.Fatal(err)
		}
		e.cached, e.cache = db, cache
		differential(t, e)
	})
}

func differential(t *testing.T, e *env) {
	e.seed(12)
	if err := e.plain.Delete(&User{}, 10).Error; err != nil { // soft-deleted row
		t.Fatal(err)
	}
	for _, s := range readShapes() {
		t.Run(s.name, func(t *testing.T) {
			want, wdb := s.run(e.plain)
			var cold, warm any
			var cdb, hdb *gorm.DB
			nCold := e.statements(func() { cold, cdb = s.run(e.cached) })
			before := e.cache.Stats()
			nWarm := e.statements(func() { warm, hdb = s.run(e.cached) })
			after := e.cache.Stats()
			if e.prepared {
				// Prepared statements run on *sql.Stmt, past the counting
				// pool: tell hits by the cache's counters instead.
				nWarm = int64(after.Misses - before.Misses + after.Bypassed - before.Bypassed)
				if after.Hits == before.Hits {
					nWarm++
				}
			}
			for i, got := range []struct {
				v  any
				db *gorm.DB
			}{{cold, cdb}, {warm, hdb}} {
				if !errors.Is(got.db.Error, wdb.Error) && fmt.Sprint(got.db.Error) != fmt.Sprint(wdb.Error) {
					t.Fatalf("run %d: error %v, want %v", i, got.db.Error, wdb.Error)
				}
				if got.db.RowsAffected != wdb.RowsAffected {
					t.Errorf("run %d: RowsAffected %d, want %d", i, got.db.RowsAffected, wdb.RowsAffected)
				}
				if !reflect.DeepEqual(got.v, want) {
					t.Errorf("run %d: got\n%+v\nwant\n%+v", i, got.v, want)
				}
			}
			// A cold read may hit when an earlier shape filled its rows.
			_ = nCold
			switch {
			case s.uncached && nWarm == 0:
				t.Errorf("uncached shape was answered from the cache")
			case !s.uncached && nWarm != 0:
				t.Errorf("warm read reached the database %d times (cold: %d)", nWarm, nCold)
			}
		})
	}
}
