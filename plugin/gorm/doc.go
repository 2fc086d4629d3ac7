// Package hydragorm is HydraCache's GORM plugin: cached reads that are
// never stale after a commit, with no change to any query.
//
//	st, _ := store.NewMemory()
//	cache, _ := core.New(st)
//	err := db.Use(hydragorm.New(cache))
//
// A model opts in by implementing core.CacheEntity (WithDefaultPolicy
// caches every model). The plugin replaces GORM's gorm:query callback:
// reads by primary key (First, Take, Last, Find by key or key list, a
// struct or map condition on the key) are answered through one entity
// entry per row, and a read of several keys loads only the missing ones,
// with one IN query; every other read of a cached model is answered
// through a collection entry keyed by its SQL and arguments and tagged
// with every table its SQL names. Cached rows are replayed through
// gorm.Scan, so preloads, AfterFind hooks, serializers, soft delete,
// ErrRecordNotFound and RowsAffected behave as without the cache. For a
// model whose columns are all plain values (basic kinds, time.Time, the
// sql.Null types, gorm.DeletedAt), a warm hit copies the result gorm.Scan
// produced once into the destination instead of scanning it again, with
// the same outcome.
//
// db.Scan (which reads its rows to the end) is cached like Find.
//
// Writes (Create, Save, Update*, Delete, associations, db.Exec, migrations)
// bump the tags of what they changed after the transaction that made them
// commits: the plugin wraps GORM's connection pool, so it sees GORM's
// implicit transactions, Transaction (savepoints fold into the outer
// transaction), Begin/Commit/Rollback and prepared-statement mode. A
// rollback publishes nothing; a commit whose outcome is unknown publishes.
// Hard deletes also invalidate the tables that ON DELETE actions declared
// in GORM tags change; DDL and statements the plugin cannot classify
// invalidate everything.
//
// Not cached: reads inside a transaction, dry runs and ToSQL, locking
// clauses, Row and Rows (they stream), db.Raw selects unless the call opts
// in with WithRawTables, reads of tables listed with WithSkipTables, and
// reads whose tables cannot be known from their SQL. Not seen: views (a
// write to a view's base table does not invalidate reads of the view: list
// views with WithSkipTables), triggers and foreign-key actions declared
// only in the database (declare them with WithDependents), and writes made
// without the plugin.
//
// db.Connection pins a raw connection the plugin does not wrap, and
// dbresolver swaps in pools of its own (register it after the plugin or
// before, either works). Reads through such pools are not cached: a
// replica may lag behind the last bump. A write there bumps at once and,
// in GORM's implicit transaction (the associations it saves included),
// again after that commits. Known hole: in
// a transaction begun on such a pool (Begin, Transaction) it bumps only at
// once, before the commit, so a read in between may cache the old row
// until the next write.
package hydragorm
