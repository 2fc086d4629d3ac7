package hydragorm

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core"
)

type rawKey struct{}

// WithRawTables returns a context under which a db.Raw(...) select run
// with Find or Scan is cached, tagged with tables, the tables it reads. Raw selects are not cached otherwise. Tables named in the
// statement's FROM and JOIN are added to the given ones.
func WithRawTables(ctx context.Context, tables ...string) context.Context {
	norm := make([]string, len(tables))
	for i, t := range tables {
		norm[i] = normTable(t)
	}
	return context.WithValue(ctx, rawKey{}, norm)
}

func rawTablesFrom(ctx context.Context) ([]string, bool) {
	t, ok := ctx.Value(rawKey{}).([]string)
	return t, ok
}

// Bypass is a GORM scope whose reads go to the database and leave the
// cache untouched: db.Scopes(hydragorm.Bypass).First(&u, 1).
func Bypass(db *gorm.DB) *gorm.DB {
	return db.WithContext(core.WithBypass(db.Statement.Context))
}

// Refresh is a GORM scope whose reads load from the database and
// overwrite the cached entry.
func Refresh(db *gorm.DB) *gorm.DB {
	return db.WithContext(core.WithRefresh(db.Statement.Context))
}

// CacheOnly is a GORM scope whose reads are answered from the cache alone;
// a miss fails with core.ErrCacheMiss.
func CacheOnly(db *gorm.DB) *gorm.DB {
	return db.WithContext(core.WithCacheOnly(db.Statement.Context))
}

// TTL returns a GORM scope whose fills use ttl instead of the policy's.
func TTL(ttl time.Duration) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		return db.WithContext(core.WithTTL(db.Statement.Context, ttl))
	}
}

// RawTables returns a GORM scope that caches a Raw select (see
// WithRawTables).
func RawTables(tables ...string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		return db.WithContext(WithRawTables(db.Statement.Context, tables...))
	}
}
