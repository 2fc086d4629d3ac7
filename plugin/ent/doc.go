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
// WithSchema passes the generated migrate.Tables: key columns, join tables
// and the foreign keys whose ON DELETE actions change other tables' rows.
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
// same field values and types as from the database. Not cached: reads in a
// transaction, locking reads, reads of tables that did not opt in or that
// the driver cannot name, and system catalogs (so migrations never touch
// the cache). core.WithBypass, core.WithRefresh, core.WithTTL and
// core.WithCacheOnly on the context control one call.
//
// Writes. Every INSERT, UPDATE and DELETE the driver runs (creates, bulk
// creates, upserts, updates, deletes, edge changes on foreign-key columns
// and join tables) bumps the tags of what it changed: the table, the keys
// named in the statement or returned by it (else the table's row epoch),
// and the tables its foreign-key actions reach. The bump follows the
// commit: at once for a statement outside a transaction, at Commit for the
// transactions of client.Tx, client.BeginTx and those Ent opens itself; a
// rollback publishes nothing.
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
// plugin (use core.Cache.InvalidateTags or Flush for those). A statement
// the parser does not understand flushes the namespace; a DELETE without
// WithSchema does too, since its cascades are unknown. On MySQL, which has
// no RETURNING, an insert bumps the table's row epoch (its keys are not
// known). A read by key is keyed by the text of its argument: a database
// that matches keys case-insensitively (a string key under a MySQL
// collation) can be read under two spellings, and a write bumps only the
// spelling it names. Reads across processes sharing Redis see a bump when
// Redis's invalidation push arrives (see the store package).
package hydraent
