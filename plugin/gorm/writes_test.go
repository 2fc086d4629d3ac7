package hydragorm_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// checkReads are the reads every write test warms before its write and
// compares with the database after it.
var checkReads = []struct {
	name string
	run  func(db *gorm.DB) (any, error)
}{
	{"First 1", func(db *gorm.DB) (any, error) { var u User; err := db.First(&u, 1).Error; return u, err }},
	{"First 2", func(db *gorm.DB) (any, error) { var u User; err := db.First(&u, 2).Error; return u, err }},
	{"First 100", func(db *gorm.DB) (any, error) { var u User; err := db.First(&u, 100).Error; return u, err }},
	{"Unscoped First 3", func(db *gorm.DB) (any, error) { var u User; err := db.Unscoped().First(&u, 3).Error; return u, err }},
	{"Find keys", func(db *gorm.DB) (any, error) {
		var us []User
		err := db.Find(&us, []int{1, 2, 3, 4, 100, 101}).Error
		return us, err
	}},
	{"List with preloads", func(db *gorm.DB) (any, error) {
		var us []User
		err := db.Preload("Pets", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Preload("Languages", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Order("id").Find(&us).Error
		return us, err
	}},
	{"Count", func(db *gorm.DB) (any, error) { var n int64; err := db.Model(&User{}).Count(&n).Error; return n, err }},
	{"Unscoped list", func(db *gorm.DB) (any, error) {
		var us []User
		err := db.Unscoped().Order("id").Find(&us).Error
		return us, err
	}},
	{"Pets", func(db *gorm.DB) (any, error) { var ps []Pet; err := db.Order("id").Find(&ps).Error; return ps, err }},
	{"Pet 1", func(db *gorm.DB) (any, error) { var p Pet; err := db.First(&p, 1).Error; return p, err }},
}

func (e *env) warm(t *testing.T) {
	t.Helper()
	for _, r := range checkReads {
		if _, err := r.run(e.cached); err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	// Now every read is a hit.
	if n := e.statements(func() {
		for _, r := range checkReads {
			_, _ = r.run(e.cached)
		}
	}); n != 0 {
		t.Fatalf("warm reads reached the database %d times", n)
	}
}

// compare requires every check read through the cache to equal the same
// read without it.
func (e *env) compare(t *testing.T) {
	t.Helper()
	for _, r := range checkReads {
		want, werr := retryPlan(e.plain, r.run)
		got, gerr := retryPlan(e.cached, r.run)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Errorf("%s: error %v, want %v", r.name, gerr, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: stale read\ngot  %+v\nwant %+v", r.name, got, want)
		}
	}
}

// TestWriteKinds reads, writes, and reads again for each kind of write.
func TestWriteKinds(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(6)
	ctx := context.Background()
	writes := []struct {
		name  string
		write func(db *gorm.DB) error
	}{
		{"Create with key of a cached not-found", func(db *gorm.DB) error {
			return db.Create(&User{Model: gorm.Model{ID: 100}, Name: "hundred"}).Error
		}},
		{"Create batch", func(db *gorm.DB) error {
			return db.Create(&[]User{{Name: "b1"}, {Name: "b2", Model: gorm.Model{ID: 101}}}).Error
		}},
		{"CreateInBatches", func(db *gorm.DB) error {
			return db.CreateInBatches([]Pet{{Name: "x1", UserID: 1}, {Name: "x2", UserID: 2}, {Name: "x3", UserID: 1}}, 2).Error
		}},
		{"Upsert OnConflict", func(db *gorm.DB) error {
			return db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"name"})}).
				Create(&User{Model: gorm.Model{ID: 2}, Name: "upserted"}).Error
		}},
		{"Save existing", func(db *gorm.DB) error {
			var u User
			if err := db.First(&u, 1).Error; err != nil {
				return err
			}
			u.Name, u.Age = "saved", 99
			return db.Save(&u).Error
		}},
		{"Update", func(db *gorm.DB) error { return db.Model(&User{Model: gorm.Model{ID: 1}}).Update("age", 41).Error }},
		{"Updates struct", func(db *gorm.DB) error {
			return db.Model(&User{Model: gorm.Model{ID: 2}}).Updates(User{Name: "two", Age: 42}).Error
		}},
		{"Updates map", func(db *gorm.DB) error {
			return db.Model(&User{}).Where("id = ?", 3).Updates(map[string]any{"name": "three"}).Error
		}},
		{"UpdateColumn", func(db *gorm.DB) error {
			return db.Model(&User{Model: gorm.Model{ID: 4}}).UpdateColumn("age", 44).Error
		}},
		{"UpdateColumns slice", func(db *gorm.DB) error {
			us := []User{{Model: gorm.Model{ID: 1}}, {Model: gorm.Model{ID: 2}}}
			return db.Model(&us).UpdateColumns(map[string]any{"age": 50}).Error
		}},
		{"Bulk update", func(db *gorm.DB) error {
			return db.Model(&User{}).Where("age > ?", 20).Update("name", gorm.Expr("name || '!'")).Error
		}},
		{"Update pet by key", func(db *gorm.DB) error { return db.Model(&Pet{ID: 1}).Update("name", "renamed").Error }},
		{"Soft delete by key", func(db *gorm.DB) error { return db.Delete(&User{}, 3).Error }},
		{"Hard delete by key", func(db *gorm.DB) error { return db.Unscoped().Delete(&Pet{}, 1).Error }},
		{"Bulk soft delete", func(db *gorm.DB) error { return db.Where("age = ?", 44).Delete(&User{}).Error }},
		{"Association Append", func(db *gorm.DB) error {
			return db.Model(&User{Model: gorm.Model{ID: 1}}).Association("Pets").Append(&Pet{Name: "appended"})
		}},
		{"Association Append many2many", func(db *gorm.DB) error {
			var l Language
			if err := db.First(&l, 3).Error; err != nil {
				return err
			}
			return db.Model(&User{Model: gorm.Model{ID: 2}}).Association("Languages").Append(&l)
		}},
		{"Association Replace", func(db *gorm.DB) error {
			return db.Model(&User{Model: gorm.Model{ID: 2}}).Association("Pets").Replace([]Pet{{Name: "only"}})
		}},
		{"Association Delete many2many", func(db *gorm.DB) error {
			return db.Model(&User{Model: gorm.Model{ID: 2}}).Association("Languages").Delete(&Language{ID: 3})
		}},
		{"Association Clear", func(db *gorm.DB) error {
			return db.Model(&User{Model: gorm.Model{ID: 4}}).Association("Languages").Clear()
		}},
		{"Save with associations", func(db *gorm.DB) error {
			var u User
			if err := db.First(&u, 5).Error; err != nil {
				return err
			}
			u.Pets = append(u.Pets, Pet{Name: "saved-with"})
			return db.Save(&u).Error
		}},
		{"Raw Exec update", func(db *gorm.DB) error { return db.Exec(`UPDATE users SET age = age + 1 WHERE id = ?`, 5).Error }},
		{"Raw Exec delete pets", func(db *gorm.DB) error { return db.Exec(`DELETE FROM "pets" WHERE name = ?`, "only").Error }},
		{"Raw Exec DDL", func(db *gorm.DB) error { return db.Exec(`ALTER TABLE users ADD COLUMN extra int`).Error }},
		{"AutoMigrate", func(db *gorm.DB) error { return db.AutoMigrate(&User{}) }},
		{"Migrator DropColumn", func(db *gorm.DB) error { return db.Migrator().DropColumn(&User{}, "extra") }},
		{"Raw Row chain DML", func(db *gorm.DB) error {
			var id int
			return db.Raw(`UPDATE users SET name = 'returned' WHERE id = ? RETURNING id`, 6).Scan(&id).Error
		}},
		{"Transaction", func(db *gorm.DB) error {
			return db.Transaction(func(tx *gorm.DB) error {
				if err := tx.Model(&User{Model: gorm.Model{ID: 1}}).Update("name", "in-tx").Error; err != nil {
					return err
				}
				return tx.Create(&User{Name: "tx-created"}).Error
			})
		}},
		{"Transaction nested savepoint rolled back", func(db *gorm.DB) error {
			return db.Transaction(func(tx *gorm.DB) error {
				if err := tx.Model(&User{Model: gorm.Model{ID: 2}}).Update("name", "outer").Error; err != nil {
					return err
				}
				_ = tx.Transaction(func(tx2 *gorm.DB) error {
					if err := tx2.Model(&User{Model: gorm.Model{ID: 1}}).Update("name", "inner").Error; err != nil {
						return err
					}
					return errors.New("roll back the savepoint")
				})
				return nil
			})
		}},
		{"Begin Commit", func(db *gorm.DB) error {
			tx := db.Begin()
			if err := tx.Model(&User{Model: gorm.Model{ID: 4}}).Update("name", "begun").Error; err != nil {
				tx.Rollback()
				return err
			}
			return tx.Commit().Error
		}},
		{"Prepared statements", func(db *gorm.DB) error {
			ps := db.Session(&gorm.Session{PrepareStmt: true})
			if err := ps.Model(&User{Model: gorm.Model{ID: 5}}).Update("name", "prepared").Error; err != nil {
				return err
			}
			return ps.Transaction(func(tx *gorm.DB) error {
				return tx.Model(&User{Model: gorm.Model{ID: 6}}).Update("name", "prepared-tx").Error
			})
		}},
		{"SkipDefaultTransaction", func(db *gorm.DB) error {
			return db.Session(&gorm.Session{SkipDefaultTransaction: true}).Model(&User{Model: gorm.Model{ID: 1}}).Update("age", 77).Error
		}},
		{"With context", func(db *gorm.DB) error {
			return db.WithContext(ctx).Model(&Pet{}).Where("user_id = ?", 5).Update("name", "ctx").Error
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			e.warm(t)
			if err := w.write(e.cached); err != nil {
				t.Fatalf("write: %v", err)
			}
			e.compare(t)
		})
	}
}

// TestRollbackPublishesNothing: a rolled-back write leaves the cache as it
// was (the reads stay hits) and the data as it was.
func TestRollbackPublishesNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(4)
	e.warm(t)
	bumps := e.cache.Stats().Bumps
	_ = e.cached.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&User{Model: gorm.Model{ID: 1}}).Update("name", "never").Error; err != nil {
			t.Fatal(err)
		}
		return errors.New("roll back")
	})
	tx := e.cached.Begin()
	if err := tx.Delete(&User{}, 2).Error; err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if got := e.cache.Stats().Bumps; got != bumps {
		t.Errorf("rollbacks bumped %d tags", got-bumps)
	}
	if n := e.statements(func() { e.compare(t) }); n == 0 {
		t.Log("compare ran on hits only, as expected for the cached side")
	}
	var u User
	if n := e.statements(func() { e.cached.First(&u, 1) }); n != 0 || u.Name != "user01" {
		t.Errorf("after rollback: %d statements, name %q", n, u.Name)
	}
}

// retryPlan runs a read again when PostgreSQL rejects a prepared plan that
// DDL made stale (SQLSTATE 0A000): pgx drops the plan after the error. The
// plain and the cached DB meet it alike; it is not the cache's doing.
func retryPlan(db *gorm.DB, run func(*gorm.DB) (any, error)) (any, error) {
	v, err := run(db)
	if err != nil && strings.Contains(err.Error(), "0A000") {
		v, err = run(db)
	}
	return v, err
}
