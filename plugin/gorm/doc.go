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
// db.Scan (which reads its rows to the end) is cached like Find. A key read
// reaches GORM's logger as without the cache: a miss runs the statement
// GORM renders and logs it; a hit hands the logger the same statement,
// rendered only if the logger asks. A lookup of several keys comes back in
// the database's order (key order for integer keys and PostgreSQL uuids; a
// lookup of text keys, which the database orders by its collation, is
// answered through a collection entry). Key texts are canonical: '0100' is
// the key 100 of an integer column, and on PostgreSQL a UUID in any
// spelling is its canonical form; a spelling that could name another key
// is not read by key. Byte values handed to a Scanner are the caller's own.
//
// Writes (Create, Save, Update*, Delete, associations, db.Exec, migrations)
// bump the tags of what they changed after the transaction that made them
// commits: the plugin wraps GORM's connection pool, so it sees GORM's
// implicit transactions, Transaction (savepoints fold into the outer
// transaction), Begin/Commit/Rollback and prepared-statement mode. A
// rollback publishes nothing; a commit whose outcome is unknown publishes.
// Hard deletes, and updates of referenced columns, also invalidate the
// tables that foreign keys' ON DELETE and ON UPDATE actions change, as the
// database's catalog has them (pg_constraint, PRAGMA foreign_key_list,
// information_schema; reloaded when the cache's flush version moves, which
// DDL seen by any process sharing the cache does, and at least once a
// minute), and as GORM tags declare them. A write run through the Query or
// Row chain (db.Raw("UPDATE ... RETURNING *").Find, Pluck, Scan, Row, Rows,
// a data-modifying CTE) bumps what it wrote, after its rows are read to the
// end. DDL and statements the plugin cannot classify invalidate
// everything.
//
// Not cached: reads inside a transaction, dry runs and ToSQL, locking
// clauses, Row and Rows (they stream), db.Raw selects unless the call opts
// in with WithRawTables, reads of tables listed with WithSkipTables, reads
// of system catalogs, reads whose tables cannot be known from their SQL,
// and reads whose answer may change without a write: they read the clock
// or the session (CURRENT_TIMESTAMP, and on PostgreSQL an argument such as
// 'now') or call a function not known to be immutable (now(), random(),
// and on PostgreSQL any function whose pg_proc entries are not all
// immutable; for SQLite and MySQL a built-in list decides). Such a read
// would keep its first answer until a write or its TTL; core.WithVolatile
// on the context caches it anyway. Not seen: views (a
// write to a view's base table does not invalidate reads of the view: list
// views with WithSkipTables), triggers (declare the tables they write with
// WithDependents), writes made without the plugin, and DDL run outside the
// plugin until the catalog view is reloaded (within a minute; Flush
// reloads it at once). A CachePolicy method that panics leaves its model
// uncached, and is logged.
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
