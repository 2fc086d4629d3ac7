package hydragorm_test

import (
	"context"
	"database/sql"
	"reflect"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
)

// Flat has only fields a snapshot can copy: a hit copies a scanned value
// instead of scanning the rows again.
type Flat struct {
	gorm.Model
	Name  string
	Score int // nullable: GORM keeps a struct's old value on NULL
	Email sql.NullString
	Ratio float64
	On    bool
	Inner FlatInner `gorm:"embedded;embeddedPrefix:in_"`
	Skip  int       `gorm:"-"`
}

// FlatInner is embedded by value.
type FlatInner struct{ Code string }

func (Flat) CachePolicy() core.Policy { return core.Policy{} }

// Whole has columns only: a struct destination takes a row in one copy.
type Whole struct {
	ID    uint
	Name  string
	Score int
	At    time.Time
}

func (Whole) CachePolicy() core.Policy { return core.Policy{} }

// FlatList is a named slice type.
type FlatList []Flat

type snapMark struct{}

var (
	snapMu   sync.Mutex
	snapSeen = map[string]int{}
)

func init() {
	hydragorm.SetSnapshotHook(func(db *gorm.DB) {
		if name, ok := db.Statement.Context.Value(snapMark{}).(string); ok {
			snapMu.Lock()
			snapSeen[name]++
			snapMu.Unlock()
		}
	})
}

func snapshotFills(name string) int {
	snapMu.Lock()
	defer snapMu.Unlock()
	return snapSeen[name]
}

// TestSnapshotFidelity: a warm read answered from a snapshot leaves the
// destination exactly as an uncached read does, for each kind of
// destination, including GORM's quirks (a NULL leaves a struct's field as
// it was; a slice with room is appended into; fields that are not
// columns are kept).
func TestSnapshotFidelity(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.plain.AutoMigrate(&Flat{}, &Whole{}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 3, 4, 5, 6000, time.UTC)
	if err := e.plain.Create(&[]Whole{{Name: "w1", Score: 1, At: at}, {Name: "w2", Score: 2, At: at.Add(time.Hour)}}).Error; err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		f := Flat{Name: "f" + string(rune('a'+i)), Score: i * 10, Ratio: float64(i) / 4, On: i%2 == 0,
			Email: sql.NullString{String: "e", Valid: i%3 == 0}, Inner: FlatInner{Code: "c"}}
		if err := e.plain.Create(&f).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := e.plain.Exec("UPDATE flats SET score = NULL, in_code = NULL WHERE id IN (3, 4)").Error; err != nil {
		t.Fatal(err)
	}

	type result struct {
		Dest  any
		Array any // the caller's backing array, when it gave one
		Rows  int64
		Err   error
	}
	cases := []struct {
		name string
		run  func(db *gorm.DB) result
	}{
		{"struct by key, NULLs keep old values", func(db *gorm.DB) result {
			f := Flat{Name: "old", Score: 99, Skip: 7, Inner: FlatInner{Code: "keep"}}
			r := db.First(&f, 3)
			return result{Dest: f, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"struct by key, every column set", func(db *gorm.DB) result {
			f := Flat{Name: "old", Score: 99, Skip: 7}
			r := db.Take(&f, 6)
			return result{Dest: f, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"struct of columns only", func(db *gorm.DB) result {
			w := Whole{Name: "old", Score: 99}
			r := db.First(&w, 2)
			return result{Dest: w, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"struct from several rows", func(db *gorm.DB) result {
			w := Whole{Name: "old", Score: 99}
			r := db.Where("score > ?", 0).Order("id").Find(&w)
			return result{Dest: w, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"struct by list query", func(db *gorm.DB) result {
			f := Flat{Score: 99, Skip: 7}
			r := db.Where("ratio > ?", 0.5).Order("id").First(&f)
			return result{Dest: f, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"nil slice", func(db *gorm.DB) result {
			var fs []Flat
			r := db.Where("id > ?", 1).Order("id").Find(&fs)
			return result{Dest: fs, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"slice with room", func(db *gorm.DB) result {
			fs := make([]Flat, 1, 40)
			fs[0].Name = "was here"
			arr := fs[:40]
			r := db.Where("id > ?", 1).Order("id").Find(&fs)
			return result{Dest: fs, Array: arr, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"slice too short", func(db *gorm.DB) result {
			fs := make([]Flat, 0, 3)
			arr := fs[:3]
			r := db.Where("id > ?", 1).Order("id").Find(&fs)
			return result{Dest: fs, Array: arr, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"pointer slice", func(db *gorm.DB) result {
			var fs []*Flat
			r := db.Where("id > ?", 1).Order("id").Find(&fs)
			return result{Dest: fs, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"named slice", func(db *gorm.DB) result {
			var fs FlatList
			r := db.Where("id > ?", 1).Order("id").Find(&fs)
			return result{Dest: fs, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"slice by keys", func(db *gorm.DB) result {
			var fs []Flat
			r := db.Find(&fs, []int{2, 5, 9})
			return result{Dest: fs, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"slice by keys, one missing", func(db *gorm.DB) result {
			var fs []Flat
			r := db.Find(&fs, []int{5, 404, 9})
			return result{Dest: fs, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"pointer slice by keys", func(db *gorm.DB) result {
			var fs []*Flat
			r := db.Find(&fs, []int{2, 5, 9})
			return result{Dest: fs, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"slice with room by keys", func(db *gorm.DB) result {
			fs := make([]Flat, 1, 10)
			fs[0].Name = "was here"
			arr := fs[:10]
			r := db.Find(&fs, []int{2, 5, 9})
			return result{Dest: fs, Array: arr, Rows: r.RowsAffected, Err: r.Error}
		}},
		{"some columns", func(db *gorm.DB) result {
			var fs []Flat
			r := db.Select("id", "name", "score").Where("id < ?", 6).Order("id").Find(&fs)
			return result{Dest: fs, Rows: r.RowsAffected, Err: r.Error}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.run(e.plain)
			if want.Err != nil {
				t.Fatal(want.Err)
			}
			ctx := context.WithValue(context.Background(), snapMark{}, t.Name())
			for _, round := range []string{"cold", "warm", "warm again"} {
				got := c.run(e.cached.WithContext(ctx))
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s read differs:\n got %+v\nwant %+v", round, got, want)
				}
			}
			// Cases sharing a statement find it warm from the start.
			if n := snapshotFills(t.Name()); n < 2 {
				t.Fatalf("%d reads answered from a snapshot, want at least the 2 warm ones", n)
			}
		})
	}
}

// TestSnapshotNotForOtherModels: models with fields a copy would share
// or that a Scanner fills are replayed through gorm.Scan, never copied.
func TestSnapshotNotForOtherModels(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(3)
	ctx := context.WithValue(context.Background(), snapMark{}, t.Name())
	for range 3 {
		var us []User
		if err := e.cached.WithContext(ctx).Order("id").Find(&us).Error; err != nil {
			t.Fatal(err)
		}
		if len(us) != 3 {
			t.Fatalf("%d users", len(us))
		}
	}
	if n := snapshotFills(t.Name()); n != 0 {
		t.Fatalf("%d reads of User (pointer, serializer and Scanner fields) copied a snapshot", n)
	}
}
