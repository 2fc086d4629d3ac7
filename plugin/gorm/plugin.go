package hydragorm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/internal/catalog"
	"github.com/hydracache/hydracache/internal/sqlstmt"
	"github.com/hydracache/hydracache/keys"
)

// PluginName is the name the plugin registers under (gorm.Plugin's Name).
const PluginName = "hydracache"

// ErrNoNamespace is returned by Initialize when the plugin cannot derive a
// namespace from the dialector (GORM was opened on an existing connection,
// without a DSN) and none was given with WithNamespace.
var ErrNoNamespace = errors.New("hydragorm: no namespace: the dialector has no DSN, pass hydragorm.WithNamespace")

// ErrAlreadyInitialized is returned by Initialize when the Plugin was
// already registered on a *gorm.DB: each database needs its own New.
var ErrAlreadyInitialized = errors.New("hydragorm: plugin already initialized on another *gorm.DB; call New for each database")

// Option configures a Plugin.
type Option func(*config)

type config struct {
	namespace     string
	defaultPolicy *core.Policy
	skip          map[string]bool
	bumpTimeout   time.Duration
	decodedBytes  int64
	dependents    map[string][]string
}

// WithDependents declares that a write to table can change the dependent
// tables through the database itself in a way its catalog does not show
// (triggers; foreign-key actions are read from the catalog): every write
// to table also invalidates reads of them.
func WithDependents(table string, dependents ...string) Option {
	return func(c *config) {
		if c.dependents == nil {
			c.dependents = make(map[string][]string)
		}
		t := normTable(table)
		for _, d := range dependents {
			c.dependents[t] = append(c.dependents[t], normTable(d))
		}
	}
}

// WithDecodedCache bounds the memory (default 32 MiB) that keeps decoded
// copies of hot entries, which saves decoding an entry on every hit; 0
// turns it off.
func WithDecodedCache(bytes int64) Option {
	return func(c *config) { c.decodedBytes = bytes }
}

// WithNamespace sets the namespace of the plugin's keys and tags. Plugins
// of different databases sharing one Cache must have different namespaces,
// and every process using one database through a shared store (Redis) must
// use the same one. The default is derived from the dialector's name and
// DSN.
func WithNamespace(ns string) Option {
	return func(c *config) { c.namespace = ns }
}

// WithDefaultPolicy caches every model, with policy p for the models that
// do not implement core.CacheEntity themselves.
func WithDefaultPolicy(p core.Policy) Option {
	return func(c *config) { c.defaultPolicy = &p }
}

// WithSkipTables lists tables whose reads are never cached, whatever their
// models say: a read that touches one of them goes to the database. Use it
// for tables written outside GORM, and for views (a write to a view's base
// table does not invalidate reads of the view).
func WithSkipTables(tables ...string) Option {
	return func(c *config) {
		if c.skip == nil {
			c.skip = make(map[string]bool)
		}
		for _, t := range tables {
			c.skip[normTable(t)] = true
		}
	}
}

// Plugin is a gorm.Plugin that answers reads from a core.Cache and
// invalidates them when writes commit. Register it with db.Use; one
// Plugin serves one *gorm.DB (and its sessions and transactions).
type Plugin struct {
	cache *core.Cache
	cfg   config

	mu          sync.Mutex
	initialized bool

	scope      keys.Scope // namespace of every key and tag
	dialect    string
	sqlDialect sqlstmt.Dialect
	catalog    *catalog.Catalog // the database's foreign keys and functions
	stmts      statements
	warnings   warnings
	origQuery  func(*gorm.DB)
	origRow    func(*gorm.DB)
	models     sync.Map // *schema.Schema -> *model
	tableTags  sync.Map // table -> its namespaced tag
	tableTagsN atomic.Int64
	decoded    decodedCache
	foreignTx  sync.Map // foreign pool of an implicit transaction -> *pendingBump
}

var _ gorm.Plugin = (*Plugin)(nil)

// New returns a Plugin that caches in cache.
func New(cache *core.Cache, opts ...Option) *Plugin {
	p := &Plugin{cache: cache, cfg: config{bumpTimeout: 5 * time.Second, decodedBytes: 32 << 20}}
	for _, o := range opts {
		o(&p.cfg)
	}
	p.decoded.limit = p.cfg.decodedBytes
	return p
}

// Name implements gorm.Plugin.
func (p *Plugin) Name() string { return PluginName }

// Cache returns the Cache the plugin uses.
func (p *Plugin) Cache() *core.Cache { return p.cache }

// Namespace returns the namespace of the plugin's keys and tags.
func (p *Plugin) Namespace() string { return p.cfg.namespace }

// Initialize implements gorm.Plugin: it wraps the connection pool and
// registers the callbacks.
//
// GORM initializes every plugin of a Config again on each *gorm.DB opened
// with that Config (or a copy: its Plugins map is shared), as dbresolver
// does for its sources and replicas. Such a DB is left alone: the
// registering DB's statements use its pools through the plugin's
// callbacks, which treat them as pools the plugin does not know (reads go
// to the database, writes bump at once and after GORM's implicit commit).
// Any other second DB gets ErrAlreadyInitialized.
func (p *Plugin) Initialize(db *gorm.DB) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.initialized {
		if db.Config != nil && db.Config.Plugins[PluginName] == gorm.Plugin(p) {
			return nil
		}
		return ErrAlreadyInitialized
	}
	if p.cache == nil {
		return errors.New("hydragorm: nil *core.Cache")
	}
	p.dialect = db.Dialector.Name()
	p.sqlDialect = sqlstmt.DialectOf(p.dialect)
	if p.cfg.namespace == "" {
		dsn := dialectorDSN(db.Dialector)
		if dsn == "" {
			return ErrNoNamespace
		}
		sum := sha256.Sum256([]byte(p.dialect + "\x00" + dsn))
		p.cfg.namespace = p.dialect + "-" + hex.EncodeToString(sum[:6])
	}
	p.scope = keys.Scope{}.With("gorm", p.cfg.namespace)

	p.origQuery = db.Callback().Query().Get("gorm:query")
	if p.origQuery == nil {
		p.origQuery = callbacks.Query
	}
	p.origRow = db.Callback().Row().Get("gorm:row")
	if p.origRow == nil {
		p.origRow = callbacks.RowQuery
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().Replace("gorm:query", p.query),
		cb.Row().Replace("gorm:row", p.row),
		// Before GORM's implicit commit, so that the tags wait in the
		// transaction and a rollback drops them.
		cb.Create().After("gorm:create").Before("gorm:commit_or_rollback_transaction").
			Register("hydracache:after_create", p.afterCreate),
		cb.Update().After("gorm:update").Before("gorm:commit_or_rollback_transaction").
			Register("hydracache:after_update", p.afterUpdate),
		cb.Delete().After("gorm:delete").Before("gorm:commit_or_rollback_transaction").
			Register("hydracache:after_delete", p.afterDelete),
		cb.Create().After("gorm:begin_transaction").Before("gorm:before_create").Register("hydracache:after_begin", p.afterBegin),
		cb.Update().After("gorm:begin_transaction").Before("gorm:before_update").Register("hydracache:after_begin", p.afterBegin),
		cb.Delete().After("gorm:begin_transaction").Before("gorm:before_delete").Register("hydracache:after_begin", p.afterBegin),
		cb.Create().After("gorm:commit_or_rollback_transaction").Register("hydracache:after_commit", p.afterCommit),
		cb.Update().After("gorm:commit_or_rollback_transaction").Register("hydracache:after_commit", p.afterCommit),
		cb.Delete().After("gorm:commit_or_rollback_transaction").Register("hydracache:after_commit", p.afterCommit),
		cb.Update().After("gorm:save_before_associations").Before("gorm:update").Register("hydracache:before_update", p.beforeChange),
		cb.Delete().After("gorm:delete_before_associations").Before("gorm:delete").Register("hydracache:before_delete", p.beforeChange),
		cb.Raw().After("gorm:raw").Register("hydracache:after_raw", p.afterRaw),
		cb.Row().After("gorm:row").Register("hydracache:after_row", p.afterRaw),
	} {
		if err != nil {
			return fmt.Errorf("hydragorm: register callbacks: %w", err)
		}
	}

	// Wrap the pool last, once nothing can fail. A prepared-statement
	// pool keeps its type (GORM type-asserts it); its inner pool is wrapped.
	if ps, ok := db.ConnPool.(*gorm.PreparedStmtDB); ok {
		w := &pool{p: p, inner: ps.ConnPool}
		ps.ConnPool = w
		p.openCatalog(w.inner)
	} else {
		w := &pool{p: p, inner: db.ConnPool}
		db.ConnPool = w
		if db.Statement != nil {
			db.Statement.ConnPool = w
		}
		p.openCatalog(w.inner)
	}
	p.initialized = true
	return nil
}

// dialectorDSN finds the DSN of the common dialectors (a DSN field of the
// dialector, or of its Config) without importing them.
func dialectorDSN(d gorm.Dialector) string {
	v := reflect.ValueOf(d)
	for range 4 {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return ""
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return ""
		}
		if f := v.FieldByName("DSN"); f.IsValid() && f.Kind() == reflect.String && f.String() != "" {
			return f.String()
		}
		f := v.FieldByName("Config")
		if !f.IsValid() {
			return ""
		}
		v = f
	}
	return ""
}

// publish bumps a finished transaction's tags. The bump must happen even
// when the caller's context is gone, so it gets one of its own.
func (p *Plugin) publish(buf *core.TxBuffer, flush bool) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.bumpTimeout)
	defer cancel()
	// A failed bump is retried by core, which meanwhile serves no cached
	// read of those tags: nothing more to do here.
	_ = buf.Commit(ctx)
	if flush {
		_ = p.cache.Flush(ctx)
	}
}

// bumpNow bumps tags of a write that ran outside any transaction this
// plugin knows.
func (p *Plugin) bumpNow(tags []string, flush bool) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.bumpTimeout)
	defer cancel()
	if len(tags) > 0 {
		_ = p.cache.InvalidateTags(ctx, tags...)
	}
	if flush {
		_ = p.cache.Flush(ctx)
	}
}

// normTable reduces a table name as GORM or SQL text spells it to the form
// tags use: unquoted, unqualified, lower case. Two tables that differ only
// in schema or case share tags, which costs misses, never staleness.
func normTable(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		s = f[0] // "users u": the alias is not the table
	}
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Trim(s, "\"`[]")
	return strings.ToLower(s)
}

// warnings limits the plugin's own warnings to one per kind a minute.
type warnings struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// warn logs msg through the Cache's logger, at most once a minute for key.
func (p *Plugin) warn(key, msg string, args ...any) {
	w := &p.warnings
	now := time.Now()
	w.mu.Lock()
	if w.last == nil {
		w.last = make(map[string]time.Time)
	}
	if t, ok := w.last[key]; ok && now.Sub(t) < time.Minute {
		w.mu.Unlock()
		return
	}
	w.last[key] = now
	w.mu.Unlock()
	p.cache.Logger().Warn(msg, args...)
}
