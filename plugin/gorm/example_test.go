package hydragorm_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
)

// Product opts in to caching by implementing core.CacheEntity.
type Product struct {
	ID    uint
	Code  string
	Price int
}

// CachePolicy keeps products for five minutes.
func (Product) CachePolicy() core.Policy { return core.Policy{TTL: 5 * time.Minute} }

// openExample opens an embedded SQLite database with the plugin, and
// counts the statements that reach the database.
func openExample(name string, opts ...hydragorm.Option) (*gorm.DB, *core.Cache, *int) {
	st, err := store.NewMemory()
	if err != nil {
		log.Fatal(err)
	}
	cache, err := core.New(st)
	if err != nil {
		log.Fatal(err)
	}
	db, err := gorm.Open(sqlite.Open("file:"+name+"?mode=memory&cache=shared"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Use(hydragorm.New(cache, opts...)); err != nil {
		log.Fatal(err)
	}
	var n int
	_ = db.Callback().Query().Before("gorm:query").Register("example:count", func(*gorm.DB) { n++ })
	if err := db.AutoMigrate(&Product{}); err != nil {
		log.Fatal(err)
	}
	return db, cache, &n
}

// One line, db.Use, caches reads by key and lists; a write invalidates
// them when it commits.
func Example() {
	db, cache, _ := openExample("example")
	db.Create(&[]Product{{Code: "A", Price: 10}, {Code: "B", Price: 20}})

	var p Product
	db.First(&p, 1) // a miss: read from SQLite and cached
	db.First(&p, 1) // a hit
	var cheap []Product
	db.Where("price < ?", 15).Find(&cheap) // a list: a miss
	db.Where("price < ?", 15).Find(&cheap) // a hit

	db.Model(&p).Update("price", 12) // bumps the row's and the table's tags on commit
	db.First(&p, 1)                  // reloaded
	db.Where("price < ?", 15).Find(&cheap)

	s := cache.Stats()
	fmt.Printf("price %d, %d cheap; hits %d, misses %d\n", p.Price, len(cheap), s.Hits, s.Misses)
	// Output: price 12, 1 cheap; hits 2, misses 4
}

// Scopes and contexts choose how one call uses the cache.
func ExampleBypass() {
	db, cache, _ := openExample("example_bypass")
	db.Create(&Product{Code: "A", Price: 10})

	var p Product
	db.First(&p, 1)                           // miss, cached
	db.Scopes(hydragorm.Bypass).First(&p, 1)  // straight to the database
	db.Scopes(hydragorm.Refresh).First(&p, 1) // reload and overwrite
	db.Scopes(hydragorm.TTL(time.Second)).Find(&[]Product{})
	db.WithContext(core.WithCacheOnly(context.Background())).First(&p, 1) // hit or core.ErrCacheMiss

	s := cache.Stats()
	fmt.Printf("hits %d, misses %d, bypassed %d\n", s.Hits, s.Misses, s.Bypassed)
	// Output: hits 1, misses 3, bypassed 0
}

// Reads and writes in a transaction: the reads skip the cache, and the
// writes' tags are published only if it commits.
func ExamplePlugin_transaction() {
	db, _, n := openExample("example_tx")
	db.Create(&Product{Code: "A", Price: 10})
	var p Product
	db.First(&p, 1)

	_ = db.Transaction(func(tx *gorm.DB) error {
		tx.Model(&Product{ID: 1}).Update("price", 99)
		return fmt.Errorf("changed my mind") // rolled back: nothing published
	})
	before := *n
	db.First(&p, 1) // still a hit
	fmt.Println(p.Price, *n-before)

	_ = db.Transaction(func(tx *gorm.DB) error {
		return tx.Model(&Product{ID: 1}).Update("price", 11).Error
	})
	db.First(&p, 1) // invalidated at the commit
	fmt.Println(p.Price)
	// Output:
	// 10 1
	// 11
}

// A model that does not implement core.CacheEntity is cached under
// WithDefaultPolicy; WithSkipTables keeps tables out.
func ExampleWithDefaultPolicy() {
	db, cache, _ := openExample("example_default", hydragorm.WithDefaultPolicy(core.Policy{TTL: time.Minute}), hydragorm.WithSkipTables("audit_logs"))
	type Tag struct {
		ID   uint
		Name string
	}
	_ = db.AutoMigrate(&Tag{})
	db.Create(&Tag{Name: "go"})
	var tags []Tag
	db.Find(&tags)
	db.Find(&tags)
	fmt.Println(len(tags), cache.Stats().Hits)
	// Output: 1 1
}
