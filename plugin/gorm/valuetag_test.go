package hydragorm_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/consistency"
	"github.com/hydracache/hydracache/testing/testenv"
)

// Comment and Fav are the blog tables of the precise-invalidation tests.
type Comment struct {
	ID        uint
	ArticleID uint `gorm:"index"`
	Body      string
}

func (Comment) CachePolicy() core.Policy { return core.Policy{} }

type Fav struct {
	UserID    uint `gorm:"primaryKey;autoIncrement:false"`
	ArticleID uint `gorm:"primaryKey;autoIncrement:false;index"`
}

func (Fav) CachePolicy() core.Policy { return core.Policy{} }

// blog is a test env with comments and favorites on two articles.
func blog(t *testing.T, dialect string) *env {
	t.Helper()
	e := newBareEnv(t, dialect, nil)
	if err := e.plain.AutoMigrate(&Comment{}, &Fav{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		if err := e.plain.Create(&Comment{ID: uint(i), ArticleID: uint(5 + i%2), Body: fmt.Sprintf("c%d", i)}).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := e.plain.Create(&[]Fav{{UserID: 1, ArticleID: 5}, {UserID: 2, ArticleID: 6}}).Error; err != nil {
		t.Fatal(err)
	}
	return e
}

// comments lists an article's comment bodies through db.
func comments(t *testing.T, db *gorm.DB, article int) []string {
	t.Helper()
	var cs []Comment
	if err := db.Where("article_id = ?", article).Order("id").Find(&cs).Error; err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Body
	}
	return out
}

func favCount(t *testing.T, db *gorm.DB, article int) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&Fav{}).Where("article_id = ?", article).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// check reads each article's comments and favorites count through the
// cache, compares them with the database, and returns which articles'
// reads reached the database.
func (e *env) check(t *testing.T, step string) (reloaded []int) {
	t.Helper()
	for _, a := range []int{5, 6, 7} {
		var got []string
		var n int64
		if e.statements(func() { got, n = comments(t, e.cached, a), favCount(t, e.cached, a) }) > 0 {
			reloaded = append(reloaded, a)
		}
		if want, wantN := comments(t, e.plain, a), favCount(t, e.plain, a); !slices.Equal(got, want) || n != wantN {
			t.Errorf("%s: article %d: comments %v favorites %d, the database has %v %d", step, a, got, n, want, wantN)
		}
	}
	return reloaded
}

// TestValueTags: a write to the rows of article 5 leaves the cached reads
// of article 6 as hits; a row moved from 5 to 6 invalidates both; an
// UPDATE by predicate invalidates every read of the table; a DO NOTHING
// upsert that changed nothing invalidates nothing, and one that inserted
// only its rows' reads.
func TestValueTags(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := blog(t, dialect)
		e.check(t, "warm")
		if r := e.check(t, "warm again"); len(r) != 0 {
			t.Fatalf("warm reads reloaded %v", r)
		}
		steps := []struct {
			name     string
			write    func(db *gorm.DB) error
			reloaded []int // the articles whose reads must reload; nil: any
		}{
			{"create a comment on 5", func(db *gorm.DB) error { return db.Create(&Comment{ID: 10, ArticleID: 5, Body: "new"}).Error }, []int{5}},
			{"update a comment of 5 by key", func(db *gorm.DB) error {
				return db.Model(&Comment{ID: 2}).Update("body", "edited").Error
			}, []int{5}},
			{"delete a comment of 6 by key", func(db *gorm.DB) error { return db.Delete(&Comment{ID: 1}).Error }, []int{6}},
			{"move a comment from 6 to 5 (old value in WHERE)", func(db *gorm.DB) error {
				return db.Model(&Comment{}).Where("id = ? AND article_id = ?", 3, 6).Update("article_id", 5).Error
			}, []int{5, 6}},
			{"move a comment from 5 to 6 by key (old value returned)", func(db *gorm.DB) error {
				return db.Model(&Comment{ID: 3}).Update("article_id", 6).Error
			}, nil},
			{"favorite 6", func(db *gorm.DB) error { return db.Create(&Fav{UserID: 3, ArticleID: 6}).Error }, []int{6}},
			{"unfavorite 5", func(db *gorm.DB) error {
				return db.Where("user_id = ? AND article_id = ?", 1, 5).Delete(&Fav{}).Error
			}, []int{5}},
			{"favorite again, DO NOTHING, changes nothing", func(db *gorm.DB) error {
				return db.Clauses(clause.OnConflict{DoNothing: true}).Create(&Fav{UserID: 3, ArticleID: 6}).Error
			}, []int{}},
			{"DO NOTHING that inserts", func(db *gorm.DB) error {
				return db.Clauses(clause.OnConflict{DoNothing: true}).Create(&Fav{UserID: 4, ArticleID: 5}).Error
			}, []int{5}},
			{"move by predicate, old values unknown", func(db *gorm.DB) error {
				return db.Model(&Comment{}).Where("body = ?", "c4").Update("article_id", 7).Error
			}, []int{5, 6, 7}},
		}
		for _, s := range steps {
			if err := s.write(e.cached); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			got := e.check(t, s.name)
			if s.reloaded != nil && !slices.Equal(got, s.reloaded) && !(len(got) == 0 && len(s.reloaded) == 0) {
				t.Errorf("%s: reloaded %v, want exactly %v", s.name, got, s.reloaded)
			}
		}
	})
}

// TestValueTagsAfterOtherProcessDDL: a process whose catalog view predates
// another's DDL (an index dropped) must not store reads tagged by values
// the other process no longer bumps.
func TestValueTagsAfterOtherProcessDDL(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := blog(t, dialect)
		// A second process: its own plugin on the same database and cache.
		other := openDialect(t, dialect, e.sqlDB, nil)
		if err := other.Use(hydragorm.New(e.cache, hydragorm.WithNamespace("t"))); err != nil {
			t.Fatal(err)
		}
		comments(t, e.cached, 5) // e's catalog view: article_id is indexed
		if err := other.Exec("DROP INDEX idx_comments_article_id").Error; err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			comments(t, e.cached, 5) // after the flush: e's view is stale
			if err := other.Create(&Comment{ID: uint(100 + i), ArticleID: 5, Body: fmt.Sprintf("n%d", i)}).Error; err != nil {
				t.Fatal(err)
			}
			if got, want := comments(t, e.cached, 5), comments(t, e.plain, 5); !slices.Equal(got, want) {
				t.Fatalf("round %d: comments %v, the database has %v", i, got, want)
			}
		}
	})
}

// Entry is a row of a key's log: the consistency target below reads a
// key's latest version through a read tagged by the value of Key.
type Entry struct {
	ID  uint
	Key int `gorm:"index"`
	Ver int64
}

func (Entry) CachePolicy() core.Policy { return core.Policy{} }

// TestConsistencyValueTags runs the consistency checker on reads tagged
// by value (the latest version of a key is the max of its rows' Ver,
// WHERE key = ?), with writes that insert a row and delete an older one
// by its key, on PostgreSQL and SQLite: no stale read, and it finds stale
// reads when invalidation is dropped.
func TestConsistencyValueTags(t *testing.T) {
	for _, broken := range []bool{false, true} {
		t.Run(map[bool]string{false: "invalidating", true: "without-invalidation"}[broken], func(t *testing.T) {
			forDialects(t, func(t *testing.T, dialect string) { consistencyValueTags(t, dialect, broken) })
		})
	}
}

func consistencyValueTags(t *testing.T, dialect string, broken bool) {
	sqlDB := openSQL(t, dialect)
	plain := openDialect(t, dialect, sqlDB, nil)
	if err := plain.AutoMigrate(&Entry{}); err != nil {
		t.Fatal(err)
	}
	for k := range ccKeys {
		if err := plain.Create(&Entry{Key: k}).Error; err != nil {
			t.Fatal(err)
		}
	}
	var st lib_store.StoreInterface
	st, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	if broken {
		st = consistency.WithoutInvalidation(st)
	}
	cache, err := core.New(st, core.WithNamespace(testenv.Name(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	db := openDialect(t, dialect, sqlDB, nil)
	if err := db.Use(hydragorm.New(cache, hydragorm.WithNamespace("t"))); err != nil {
		t.Fatal(err)
	}
	target := consistency.Funcs{
		WriteFunc: func(ctx context.Context, key int, version int64) error {
			db := db.WithContext(ctx)
			if err := db.Create(&Entry{Key: key, Ver: version}).Error; err != nil {
				return err
			}
			var old Entry
			if err := db.Where("key = ? AND ver < ?", key, version).Order("ver").First(&old).Error; err == nil {
				return db.Delete(&Entry{ID: old.ID}).Error
			}
			return nil
		},
		ReadFunc: func(ctx context.Context, key int) (int64, error) {
			var v int64
			err := db.WithContext(ctx).Model(&Entry{}).Where("key = ?", key).Select("coalesce(max(ver), 0)").Scan(&v).Error
			return v, err
		},
	}
	cfg := ccConfig(broken)
	if dialect == "sqlite" {
		cfg.Writers = 1 // one writer at a time: SQLite locks the file
	}
	r, err := consistency.Run(context.Background(), target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ccVerdict(t, r, broken, cache)
}
