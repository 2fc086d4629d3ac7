package hydraent

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/internal/catalog"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/keys"
)

// memoLimit bounds the parsed-statement memo. Ent renders one text per
// query shape and IN-list length, so real services stay far below it; past
// it, statements are parsed on every call instead of growing the memo.
const memoLimit = 1 << 14

// Driver is a dialect.Driver that answers cacheable reads from a
// core.Cache and invalidates what every write changes once it commits.
// It is safe for concurrent use. Errors of the wrapped driver come back
// unchanged, so Ent's checks (constraint errors, sql.ErrTxDone) see them
// as they are; a cache problem is never an error of a read or a write.
type Driver struct {
	drv        dialect.Driver
	cache      *core.Cache
	cfg        config
	dialect    string
	sqlDialect sqlstmt.Dialect

	memo  sync.Map // query text -> *stmt
	memoN atomic.Int64
	empty sync.Map // key-read shape -> *rowset.RowSet with no rows, to replay cached not-founds

	decoded decodedMemo

	catalog  *catalog.Catalog // the database's foreign keys and functions
	warnings warnings
}

var (
	_ dialect.Driver = (*Driver)(nil)
	_ dialect.Tx     = (*Tx)(nil)
)

// NewDriver wraps drv, any Ent driver, so that reads of the tables the
// options opt in are cached in cache. Use it in place of drv:
//
//	client := ent.NewClient(ent.Driver(hydraent.NewDriver(drv, cache, ...)))
func NewDriver(drv dialect.Driver, cache *core.Cache, opts ...Option) (*Driver, error) {
	if drv == nil || cache == nil {
		return nil, fmt.Errorf("%w: nil driver or cache", ErrConfig)
	}
	d := &Driver{
		drv:        drv,
		cache:      cache,
		dialect:    drv.Dialect(),
		sqlDialect: sqlstmt.DialectOf(drv.Dialect()),
		cfg: config{
			policies: map[string]core.Policy{},
			tables:   map[string]*entschema.Table{},
			pk:       map[string]string{},
			join:     map[string]bool{},
		},
	}
	for _, o := range opts {
		if err := o(&d.cfg); err != nil {
			return nil, err
		}
	}
	if err := d.cfg.resolve(); err != nil {
		return nil, err
	}
	d.openCatalog()
	return d, nil
}

// OpenDB wraps an Ent driver on db (entsql.OpenDB) in one call:
//
//	drv, err := hydraent.OpenDB(dialect.Postgres, db, cache,
//		hydraent.WithSchema(migrate.Tables...), hydraent.WithEntities(ent.User{}))
//	client := ent.NewClient(ent.Driver(drv))
func OpenDB(dialectName string, db *sql.DB, cache *core.Cache, opts ...Option) (*Driver, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sql.DB", ErrConfig)
	}
	return NewDriver(entsql.OpenDB(dialectName, db), cache, opts...)
}

// Unwrap returns the wrapped driver.
func (d *Driver) Unwrap() dialect.Driver { return d.drv }

// Cache returns the driver's cache.
func (d *Driver) Cache() *core.Cache { return d.cache }

// Dialect returns the wrapped driver's dialect.
func (d *Driver) Dialect() string { return d.dialect }

// Close closes the wrapped driver. The cache stays open: it may be shared.
func (d *Driver) Close() error { return d.drv.Close() }

// stmt returns the parsed form of query, memoised.
func (d *Driver) stmt(query string) *stmt {
	if s, ok := d.memo.Load(query); ok {
		return s.(*stmt)
	}
	s := &stmt{Statement: sqlstmt.Parse(d.sqlDialect, query)}
	if s.Kind == sqlstmt.Select {
		for _, t := range s.Reads {
			s.tableTags = append(s.tableTags, keys.TableTag(t))
		}
	}
	if s.keyRead() {
		s.entityPrefix = keys.EntityTag(s.Reads[0])
		s.rowsTag = keys.RowsTag(s.Reads[0])
		h := fnv.New64a()
		h.Write([]byte(d.dialect))
		h.Write([]byte{0})
		h.Write([]byte(s.Key.Prefix))
		s.shape = strconv.FormatUint(h.Sum64(), 36)
		s.prepared = new(core.PreparedMemo)
	}
	if d.memoN.Load() < memoLimit {
		if _, loaded := d.memo.LoadOrStore(query, s); !loaded {
			d.memoN.Add(1)
		}
	}
	return s
}

// Exec runs a statement that returns no rows and invalidates what it
// wrote. Outside a transaction the statement has committed when it
// returns, so the bump follows at once.
func (d *Driver) Exec(ctx context.Context, query string, args, v any) error {
	s := d.stmt(query)
	if !s.writes() {
		return d.drv.Exec(ctx, query, args, v)
	}
	d.refreshSchema(ctx)
	return d.execWrite(ctx, nil, dialectRunner{d.drv}, s, query, args, v)
}

// execWrite runs a write of Exec (v nil or *sql.Result) and publishes
// what it wrote: also on error, since the outcome of a failed statement
// may be unknown, and a needless bump costs only a miss.
func (d *Driver) execWrite(ctx context.Context, tx *Tx, r runner, s *stmt, query string, args, v any) error {
	res, err := d.execContext(ctx, tx, r, s, query, argList(args))
	if err == nil {
		switch out := v.(type) {
		case nil:
		case *sql.Result:
			*out = res
		default:
			return fmt.Errorf("dialect/sql: invalid type %T. expect *sql.Result", v)
		}
	}
	return err
}

// execContext runs a write and publishes what it wrote.
func (d *Driver) execContext(ctx context.Context, tx *Tx, r runner, s *stmt, query string, args []any) (sql.Result, error) {
	w := d.writeSet(s, args)
	res, rows, err := d.runWrite(ctx, r, s, query, args)
	if err == nil && s.Kind == sqlstmt.Insert && s.DoNothing && res != nil {
		if n, nerr := res.RowsAffected(); nerr == nil && n == 0 {
			return res, nil // every row was there already: nothing changed
		}
	}
	w.changed(s, args, rows)
	d.publish(ctx, tx, w)
	return res, err
}

// Query runs a statement that returns rows: a cacheable read is answered
// from the cache; a write with RETURNING is invalidated once its rows are
// read and closed.
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	s := d.stmt(query)
	switch {
	case s.Kind == sqlstmt.Select:
		return d.read(ctx, s, query, args, v)
	case s.writes():
		d.refreshSchema(ctx)
		return d.writeQuery(ctx, d.drv, nil, s, query, args, v)
	}
	return d.drv.Query(ctx, query, args, v)
}

// ExecContext runs a raw statement (Ent's sql/execquery feature) and
// invalidates what it wrote.
func (d *Driver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ex, ok := d.drv.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, fmt.Errorf("hydraent: driver %T has no ExecContext", d.drv)
	}
	s := d.stmt(query)
	if !s.writes() {
		return ex.ExecContext(ctx, query, args...)
	}
	d.refreshSchema(ctx)
	qr, ok := d.drv.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return d.execContext(ctx, nil, dialectRunner{d.drv}, s, query, args)
	}
	return d.execContext(ctx, nil, sqlRunner{struct {
		execer
		querier
	}{ex, qr}}, s, query, args)
}

type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// QueryContext runs a raw query (Ent's sql/execquery feature). It is never
// cached; a write with RETURNING is read to the end before its bump and
// then replayed, so the bump follows its commit.
func (d *Driver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	qr, ok := d.drv.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, fmt.Errorf("hydraent: driver %T has no QueryContext", d.drv)
	}
	return rawQuery(ctx, d, nil, qr, query, args)
}

// Tx starts a transaction. Reads inside it bypass the cache; its writes
// are invalidated when it commits, and forgotten when it rolls back.
func (d *Driver) Tx(ctx context.Context) (dialect.Tx, error) {
	d.refreshSchema(ctx) // before the transaction holds a connection
	tx, err := d.drv.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return d.newTx(ctx, tx), nil
}

// BeginTx starts a transaction with options; the generated client's
// BeginTx requires the driver to have it.
func (d *Driver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	b, ok := d.drv.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return nil, fmt.Errorf("hydraent: driver %T has no BeginTx", d.drv)
	}
	d.refreshSchema(ctx) // before the transaction holds a connection
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return d.newTx(ctx, tx), nil
}

// newTx wraps tx. When tx runs statements through ExecContext and
// QueryContext (Ent's own sql.Tx does), Ent gets a real *sql.Tx of
// entgo.io/ent/dialect/sql whose parts are the plugin's, so code that
// type-asserts it (a schema.ApplyHook's conn.(*sql.Tx)) works as without
// the plugin.
func (d *Driver) newTx(ctx context.Context, tx dialect.Tx) dialect.Tx {
	t := &Tx{tx: tx, d: d, buf: d.cache.NewTxBuffer(), ctx: context.WithoutCancel(ctx)}
	if _, ok := tx.(entsql.ExecQuerier); ok {
		return &entsql.Tx{Conn: entsql.Conn{ExecQuerier: t}, Tx: t}
	}
	return t
}

// Tx is a transaction of a Driver. It collects the tags of its writes and
// publishes them after a commit; a rollback publishes nothing.
type Tx struct {
	tx    dialect.Tx
	d     *Driver
	buf   *core.TxBuffer
	ctx   context.Context
	flush atomic.Bool
}

// Exec runs a statement in the transaction and records what it wrote.
func (t *Tx) Exec(ctx context.Context, query string, args, v any) error {
	s := t.d.stmt(query)
	if !s.writes() {
		return t.tx.Exec(ctx, query, args, v)
	}
	return t.d.execWrite(ctx, t, dialectRunner{t.tx}, s, query, args, v)
}

// Query runs a statement in the transaction. Reads are never cached here:
// they could see, and would store, rows that are not committed.
func (t *Tx) Query(ctx context.Context, query string, args, v any) error {
	s := t.d.stmt(query)
	if s.writes() {
		return t.d.writeQuery(ctx, t.tx, t, s, query, args, v)
	}
	return t.tx.Query(ctx, query, args, v)
}

// ExecContext runs a raw statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ex, ok := t.tx.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, fmt.Errorf("hydraent: transaction %T has no ExecContext", t.tx)
	}
	s := t.d.stmt(query)
	if !s.writes() {
		return ex.ExecContext(ctx, query, args...)
	}
	qr, ok := t.tx.(querier)
	if !ok {
		return t.d.execContext(ctx, t, dialectRunner{t.tx}, s, query, args)
	}
	return t.d.execContext(ctx, t, sqlRunner{struct {
		execer
		querier
	}{ex, qr}}, s, query, args)
}

// QueryContext runs a raw query in the transaction.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	qr, ok := t.tx.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, fmt.Errorf("hydraent: transaction %T has no QueryContext", t.tx)
	}
	return rawQuery(ctx, t.d, t, qr, query, args)
}

// Commit commits the transaction, then publishes its writes. They are
// published even when Commit fails, whose outcome may be unknown: a
// needless bump costs a miss, a missing one would serve stale rows.
func (t *Tx) Commit() error {
	err := t.tx.Commit()
	_ = t.buf.Commit(t.ctx) // a failed bump is retried by core and logged there
	if t.flush.Load() {
		_ = t.d.cache.Flush(t.ctx)
	}
	return err
}

// Rollback rolls the transaction back and forgets its writes.
func (t *Tx) Rollback() error {
	err := t.tx.Rollback()
	t.buf.Rollback()
	return err
}

// rawQuery runs a raw query; a write is read to the end (so it has run to
// completion), invalidated with the keys it returned, and handed back as a
// replay.
func rawQuery(ctx context.Context, d *Driver, tx *Tx, qr interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args []any) (*sql.Rows, error) {
	s := d.stmt(query)
	if !s.writes() {
		return qr.QueryContext(ctx, query, args...)
	}
	if tx == nil {
		d.refreshSchema(ctx)
	}
	w := d.writeSet(s, args)
	rows, err := qr.QueryContext(ctx, query, args...)
	if err != nil {
		d.publish(ctx, tx, w)
		return nil, err
	}
	res := rowset.Capture(rows)
	w.returned(res)
	d.publish(ctx, tx, w)
	return res.Rows(ctx)
}
