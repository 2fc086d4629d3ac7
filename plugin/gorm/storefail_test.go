package hydragorm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
)

// downStore fails every operation, like an unreachable Redis.
type downStore struct{}

var errDown = errors.New("store down")

func (downStore) Get(context.Context, any) (any, error) { return nil, errDown }
func (downStore) GetWithTTL(context.Context, any) (any, time.Duration, error) {
	return nil, 0, errDown
}
func (downStore) Set(context.Context, any, any, ...lib_store.Option) error        { return errDown }
func (downStore) Delete(context.Context, any) error                               { return errDown }
func (downStore) Invalidate(context.Context, ...lib_store.InvalidateOption) error { return errDown }
func (downStore) Clear(context.Context) error                                     { return errDown }
func (downStore) GetType() string                                                 { return "down" }

// TestStoreDownReadsDatabase: a store that fails never fails a read or a
// write; everything goes to the database.
func TestStoreDownReadsDatabase(t *testing.T) {
	cache, err := core.New(downStore{})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	e := newEnv(t, nil)
	e.seed(3)
	db := openGorm(t, e.sqlDB, nil)
	if err := db.Use(hydragorm.New(cache, hydragorm.WithNamespace("down"))); err != nil {
		t.Fatal(err)
	}
	e.cached = db
	for range 2 {
		e.compare(t)
	}
	if err := db.Model(&User{Model: gorm.Model{ID: 1}}).Update("name", "down").Error; err != nil {
		t.Fatalf("write with the store down: %v", err)
	}
	e.compare(t)
	if s := cache.Stats(); s.StoreErrors == 0 {
		t.Errorf("no store error counted: %+v", s)
	}
}
