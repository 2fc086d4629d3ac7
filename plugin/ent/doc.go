// Package hydraent caches the reads of an Ent client in a HydraCache
// core.Cache and invalidates them when writes commit.
//
// Install it by wrapping the client's driver (NewDriver wraps any
// dialect.Driver; OpenDB opens Ent's SQL driver on a *sql.DB and wraps it):
//
//	drv, err := hydraent.OpenDB(dialect.Postgres, db, cache,
//		hydraent.WithSchema(migrate.Tables...),
//		hydraent.WithEntities(ent.User{}, ent.Pet{}))
//	client := ent.NewClient(ent.Driver(drv))
//	client.Intercept(drv.Interceptor()) // with the template below
//
// The driver alone caches every read. For hits that cost about half as
// much, generate the client with hydraent's template as well
// (plugin/ent/template/hydracache.tmpl: ent generate --template <file>, or
// entc.TemplateFiles) and register Driver.Interceptor last: Ent's plain
// queries (All, First, Only, Get) are then rendered without quoting every
// column each time, and sent through the same driver.
//
// WithSchema passes the generated migrate.Tables: key columns and join
// tables. Foreign keys and their ON DELETE and ON UPDATE actions are read
// from the database's catalog (pg_constraint, PRAGMA foreign_key_list,
// information_schema), reloaded when the cache's flush version moves (DDL
// that any process sharing the cache runs through the plugin moves it) and
// at least once a minute; WithSchema's foreign keys add to those.
//
// A type opts in by implementing core.CacheEntity in a non-generated file of
// the ent package (WithEntities), or by carrying an Annotation in its
// schema (WithSchemaTypes, read at run time: no code generation step);
// WithTable and WithAllTables opt tables in directly.
//
// Reads. Ent hands the driver SQL. A read by key (Get, Only and First by
// id, IDIn) is answered from one entity entry per row, and only the missing
// rows are loaded. Any other read (lists, filters, Count, Exist, IDs,
// Select, aggregates, GroupBy, edge queries, eager loading) is a collection
// entry tagged with every table it reads. A cached result is the recorded
// rows of the database's answer, replayed as a real result set, so Ent
// builds full entities from it (u.QueryPets() and u.Update() work) with the
// same field values and types as from the database; byte values handed to
// a Scanner are the caller's own. An IN lookup comes back in the order the
// database gives it (key order for integer keys and PostgreSQL uuids; a
// lookup of text keys, ordered by the database's collation, is read as a
// collection). Key texts are canonical ('0100' is the key 100 of an
// integer column; on PostgreSQL a UUID in any spelling is its canonical
// form), and a spelling that could name another key is not read by key.
//
// Not cached: reads in a transaction, locking reads, reads of tables that
// did not opt in or that the driver cannot name, system catalogs (so
// migrations never touch the cache), and reads whose answer may change
// without a write: they read the clock or the session (CURRENT_TIMESTAMP,
// and on PostgreSQL an argument such as 'now') or call a function not
// known to be immutable (now(), random(), and on PostgreSQL every function
// whose pg_proc entry is not immutable in all its overloads; for SQLite
// and MySQL a built-in list of immutable functions decides). Such a read
// would keep its first answer until a write; core.WithVolatile caches it
// anyway, for a call that accepts that. core.WithBypass, core.WithRefresh,
// core.WithTTL and core.WithCacheOnly on the context control one call.
//
// Writes. Every INSERT, UPDATE and DELETE the driver runs (creates, bulk
// creates, upserts, updates, deletes, edge changes on foreign-key columns
// and join tables) bumps the tags of what it changed: the table, the keys
// named in the statement or returned by it (else the table's row epoch),
// and the tables its foreign-key actions reach. The bump follows the
// commit: at once for a statement outside a transaction, at Commit for the
// transactions of client.Tx, client.BeginTx and those Ent opens itself; a
// rollback publishes nothing. A write with RETURNING run through the raw
// QueryContext is read to the end before its bump; a data-modifying CTE or
// a multi-table write bumps every table it writes; DDL flushes the
// namespace. Transactions reach Ent as a *sql.Tx of entgo.io/ent/dialect/sql
// whose parts are the driver's, so migration hooks that assert one work.
//
// Writes are seen in the SQL the driver runs rather than in mutation
// hooks, so the client needs no hooks and no interceptors. The SQL names
// what a hook cannot see: the rows a foreign-key cascade changes, the
// statement of a bulk create (it runs under the context of the last
// builder's hook only, so the others cannot tell whether it ran in a
// transaction), and raw statements. A hook could learn the keys of an update by predicate only
// with an extra SELECT before it, which races with concurrent writes; the
// driver bumps the table's row epoch instead, which is always right.
//
// Limits. Writes the SQL does not show are not seen: triggers, writes
// through views, and other programs writing the database without the
// plugin (use core.Cache.InvalidateTags or Flush for those), and DDL run
// outside the plugin until the catalog view is reloaded (within a minute;
// Flush reloads it at once). A statement the parser does not understand
// flushes the namespace; so does a DELETE when neither the catalog nor
// WithSchema is known, since its cascades are unknown. On MySQL, which has
// no RETURNING, an insert bumps the table's row epoch (its keys are not
// known). A database that matches text keys case-insensitively (a string
// key under a MySQL collation) can be read under two spellings, and a
// write bumps only the spelling it names. Session settings (sql.WithVar,
// SET) are not part of a read's key: bypass the cache for reads that
// depend on them (row-level security, say). Reads across processes sharing
// Redis see a bump when Redis's invalidation push arrives (see the store
// package).
package hydraent
