package hydragorm

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"gorm.io/gorm"

	"github.com/hydracache/hydracache/core"
)

// pool wraps the connection pool GORM was opened with. It sees every
// transaction GORM begins, implicit ones included, because GORM begins
// them through Statement.ConnPool. It must not implement Commit or
// Rollback: GORM takes a pool that does for an open transaction.
type pool struct {
	p     *Plugin
	inner gorm.ConnPool
}

var (
	_ gorm.ConnPool         = (*pool)(nil)
	_ gorm.ConnPoolBeginner = (*pool)(nil)
	_ gorm.GetDBConnector   = (*pool)(nil)
)

func (c *pool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}

func (c *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return execCapturing(ctx, c.inner, c.p, query, args)
}

func (c *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.inner.QueryContext(ctx, query, args...)
}

func (c *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.inner.QueryRowContext(ctx, query, args...)
}

// BeginTx starts a transaction whose writes' tags are published when it
// commits.
func (c *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	// Before the transaction takes a connection: a catalog load may need
	// one of its own.
	c.p.refreshSchema(ctx)
	var inner gorm.Tx
	switch b := c.inner.(type) {
	case gorm.TxBeginner:
		tx, err := b.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		inner = tx
	case gorm.ConnPoolBeginner:
		cp, err := b.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		tx, ok := cp.(gorm.Tx)
		if !ok {
			return nil, gorm.ErrInvalidTransaction
		}
		inner = tx
	default:
		return nil, gorm.ErrInvalidTransaction
	}
	return &txPool{root: c, inner: inner, buf: c.p.cache.NewTxBuffer()}, nil
}

// GetDBConn lets gorm.DB.DB() find the *sql.DB through the wrapper.
func (c *pool) GetDBConn() (*sql.DB, error) {
	switch x := c.inner.(type) {
	case *sql.DB:
		return x, nil
	case gorm.GetDBConnector:
		return x.GetDBConn()
	}
	return nil, gorm.ErrInvalidDB
}

// Ping lets GORM's and users' health checks through the wrapper.
func (c *pool) Ping() error {
	db, err := c.GetDBConn()
	if err != nil {
		return err
	}
	return db.Ping()
}

// txPool is one transaction. Writes inside it add their tags to buf; the
// tags are published after the database commit returns and dropped on
// rollback.
type txPool struct {
	root  *pool
	inner gorm.Tx
	buf   *core.TxBuffer
	flush atomic.Bool // an unclassifiable write: flush the namespace on commit
}

var _ gorm.Tx = (*txPool)(nil)

func (t *txPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.inner.PrepareContext(ctx, query)
}

func (t *txPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return execCapturing(ctx, t.inner, t.root.p, query, args)
}

func (t *txPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.inner.QueryContext(ctx, query, args...)
}

func (t *txPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.inner.QueryRowContext(ctx, query, args...)
}

func (t *txPool) StmtContext(ctx context.Context, stmt *sql.Stmt) *sql.Stmt {
	return t.inner.StmtContext(ctx, stmt)
}

// GetDBConn lets gorm.DB.DB() find the *sql.DB from inside a transaction.
func (t *txPool) GetDBConn() (*sql.DB, error) { return t.root.GetDBConn() }

// Commit commits, then publishes the transaction's tags. They are
// published whatever the commit returned: after an error the outcome may
// be unknown (a lost connection), and a needless bump costs only a miss.
// The database's error is returned unchanged (sql.ErrTxDone included).
func (t *txPool) Commit() error {
	err := t.inner.Commit()
	if errors.Is(err, sql.ErrTxDone) {
		// Already finished: by an earlier Commit, which published, or by a
		// rollback, which leaves nothing to publish.
		t.buf.Rollback()
		return err
	}
	t.root.p.publish(t.buf, t.flush.Load())
	return err
}

// Rollback rolls back and drops the transaction's tags: nothing it wrote
// became visible.
func (t *txPool) Rollback() error {
	err := t.inner.Rollback()
	t.buf.Rollback()
	return err
}

// poolState tells where a statement runs.
type poolState int

const (
	stateForeign poolState = iota // a pool or transaction this plugin does not know
	stateRoot                     // this plugin's pool, outside any transaction
	stateTx                       // a transaction begun through this plugin's pool
)

// locate finds this plugin's wrapper under cp, looking through GORM's
// prepared-statement wrappers.
func (p *Plugin) locate(cp gorm.ConnPool) (poolState, *txPool) {
	for range 8 {
		switch x := cp.(type) {
		case *pool:
			if x.p == p {
				return stateRoot, nil
			}
			return stateForeign, nil
		case *txPool:
			if x.root.p == p {
				return stateTx, x
			}
			return stateForeign, nil
		case *gorm.PreparedStmtDB:
			cp = x.ConnPool
		case *gorm.PreparedStmtTX:
			cp = x.Tx
		default:
			return stateForeign, nil
		}
	}
	return stateForeign, nil
}
