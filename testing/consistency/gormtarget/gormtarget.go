// Package gormtarget is a ready consistency.Target for GORM: a table of its
// own, hydracache_consistency, with one row per key holding its version,
// written and read through the *gorm.DB the HydraCache plugin is installed
// on.
//
//	db.Use(hydragorm.New(cache))
//	if err := gormtarget.Setup(ctx, db, 8); err != nil { ... }
//	report, err := consistency.Run(ctx, gormtarget.New(db), consistency.Config{
//		Keys: 8, Writers: 2, Readers: 4, Duration: 2 * time.Second,
//	})
//
// It checks the plugin and the stores on the user's set-up with a model of
// its own; to check a model of yours, write a consistency.Funcs over it the
// same way (see New's code).
package gormtarget

import (
	"context"
	"fmt"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/testing/consistency"
)

// Row is one key of the target: key k is the row with ID k+1 (GORM does not
// update by a zero primary key).
type Row struct {
	ID      int `gorm:"primaryKey;autoIncrement:false"`
	Version int64
}

// TableName returns hydracache_consistency.
func (Row) TableName() string { return "hydracache_consistency" }

// CachePolicy opts Row in to HydraCache with the cache's defaults.
func (Row) CachePolicy() core.Policy { return core.Policy{} }

// Setup creates the table if it is missing and the rows of keys 0 to
// keys-1 that are missing, at version 0. Rows already there are left alone.
func Setup(ctx context.Context, db *gorm.DB, keys int) error {
	db = db.WithContext(ctx)
	if err := db.AutoMigrate(&Row{}); err != nil {
		return fmt.Errorf("gormtarget: migrate: %w", err)
	}
	rows := make([]Row, keys)
	for i := range rows {
		rows[i].ID = i + 1
	}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("gormtarget: create rows: %w", err)
	}
	return nil
}

// New returns a Target over db, which should have the HydraCache plugin
// installed: Write updates the row by primary key (GORM's implicit
// transaction; the plugin bumps after the commit), and Read reads it back,
// three times in four by key (First: an entity entry) and once by a WHERE
// on the key (Find: a collection entry).
func New(db *gorm.DB) consistency.Target {
	var n atomic.Int64
	return consistency.Funcs{
		WriteFunc: func(ctx context.Context, key int, version int64) error {
			res := db.WithContext(ctx).Model(&Row{ID: key + 1}).Update("version", version)
			if res.Error == nil && res.RowsAffected != 1 {
				return fmt.Errorf("gormtarget: updated %d rows for key %d (run Setup)", res.RowsAffected, key)
			}
			return res.Error
		},
		ReadFunc: func(ctx context.Context, key int) (int64, error) {
			if n.Add(1)%4 == 0 {
				var rs []Row
				if err := db.WithContext(ctx).Where("id = ?", key+1).Find(&rs).Error; err != nil {
					return 0, err
				}
				if len(rs) != 1 {
					return 0, fmt.Errorf("gormtarget: found %d rows for key %d", len(rs), key)
				}
				return rs[0].Version, nil
			}
			var r Row
			err := db.WithContext(ctx).First(&r, key+1).Error
			return r.Version, err
		},
	}
}
