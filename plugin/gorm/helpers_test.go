package hydragorm_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	_ "github.com/glebarez/go-sqlite" // registers "sqlite"
	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// counting is a connection pool that counts the statements reaching the
// database, transactions included.
type counting struct {
	db *sql.DB
	n  *atomic.Int64
	// lostCommit, when set, makes Commit commit and then report an error,
	// as when the connection drops before the server's answer arrives.
	lostCommit *atomic.Bool
}

func (c counting) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return c.db.PrepareContext(ctx, q)
}

func (c counting) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.db.ExecContext(ctx, q, args...)
}

func (c counting) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.db.QueryContext(ctx, q, args...)
}

func (c counting) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	c.n.Add(1)
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c counting) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, n: c.n, lost: c.lostCommit}, nil
}

func (c counting) GetDBConn() (*sql.DB, error) { return c.db, nil }

type countingTx struct {
	*sql.Tx
	n    *atomic.Int64
	lost *atomic.Bool
}

func (t *countingTx) Commit() error {
	err := t.Tx.Commit()
	if err == nil && t.lost != nil && t.lost.Load() {
		return errors.New("connection lost before the commit's answer")
	}
	return err
}

func (t *countingTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.n.Add(1)
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t *countingTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.n.Add(1)
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t *countingTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	t.n.Add(1)
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// env is one test's databases: plain (no plugin) and cached, on the same
// schema.
type env struct {
	t       testing.TB
	dialect string // "postgres" or "sqlite"
	sqlDB   *sql.DB
	plain   *gorm.DB
	cached  *gorm.DB
	cache   *core.Cache
	plugin  *hydragorm.Plugin
	n       atomic.Int64 // statements through the cached DB's pool
	// prepared: the cached DB prepares statements, whose executions the
	// counting pool does not see.
	prepared bool
}

func openGorm(t testing.TB, pool gorm.ConnPool, cfg *gorm.Config) *gorm.DB {
	return openDialect(t, "postgres", pool, cfg)
}

// openDialect opens GORM on pool with the dialector of dialect.
func openDialect(t testing.TB, dialect string, pool gorm.ConnPool, cfg *gorm.Config) *gorm.DB {
	t.Helper()
	if cfg == nil {
		cfg = &gorm.Config{}
	}
	if cfg.Logger == nil {
		cfg.Logger = logger.Discard
	}
	var d gorm.Dialector = postgres.New(postgres.Config{Conn: pool})
	if dialect == "sqlite" {
		d = &sqlite.Dialector{Conn: pool}
	}
	db, err := gorm.Open(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// openSQL opens a database of this test alone: a PostgreSQL schema, or a
// SQLite file with foreign keys enforced.
func openSQL(t testing.TB, dialect string) *sql.DB {
	t.Helper()
	if dialect == "postgres" {
		db, _ := testenv.Postgres(t)
		return db
	}
	path := filepath.Join(t.TempDir(), "gorm.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// dialects are the databases the transparency tests run on.
var dialects = []string{"postgres", "sqlite"}

// forDialects runs f as a subtest per dialect.
func forDialects(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}

func newEnv(t testing.TB, cfg *gorm.Config, opts ...hydragorm.Option) *env {
	t.Helper()
	e := newBareEnv(t, "postgres", cfg, opts...)
	if err := e.plain.AutoMigrate(&Company{}, &User{}, &Pet{}, &Language{}, &Plain{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// newBareEnv is a plain and a cached DB on a new database of dialect,
// nothing migrated, with a memory store.
func newBareEnv(t testing.TB, dialect string, cfg *gorm.Config, opts ...hydragorm.Option) *env {
	t.Helper()
	st, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	return newStoreEnv(t, dialect, st, cfg, opts...)
}

// newStoreEnv is newBareEnv on store st.
func newStoreEnv(t testing.TB, dialect string, st lib_store.StoreInterface, cfg *gorm.Config, opts ...hydragorm.Option) *env {
	t.Helper()
	sqlDB := openSQL(t, dialect)
	e := &env{t: t, dialect: dialect, sqlDB: sqlDB}
	e.plain = openDialect(t, dialect, sqlDB, nil)
	var err error
	e.cache, err = core.New(st, core.WithNamespace(testenv.Name(t)), core.WithTTLJitter(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.cache.Close() })
	e.cached = openDialect(t, dialect, counting{db: sqlDB, n: &e.n}, cfg)
	e.plugin = hydragorm.New(e.cache, append([]hydragorm.Option{hydragorm.WithNamespace("t")}, opts...)...)
	if err := e.cached.Use(e.plugin); err != nil {
		t.Fatal(err)
	}
	return e
}

// statements runs f and returns how many statements reached the database
// through the cached DB.
func (e *env) statements(f func()) int64 {
	before := e.n.Load()
	f()
	return e.n.Load() - before
}

// Company is a belongs-to target.
type Company struct {
	ID   int
	Name string
}

func (Company) CachePolicy() core.Policy { return core.Policy{} }

// User has the field kinds GORM handles specially and every relation kind.
type User struct {
	gorm.Model
	Name      string
	Age       int
	Nick      *string
	Tags      []string `gorm:"serializer:json"`
	Email     sql.NullString
	Birthday  *time.Time
	CompanyID *int
	Company   *Company
	Pets      []Pet
	Languages []Language `gorm:"many2many:user_languages"`
	Balance   Money
	Address   Address `gorm:"embedded;embeddedPrefix:addr_"`
	Found     int     `gorm:"-"` // AfterFind calls
}

// Money is a Scanner/Valuer field: cents in the database, a struct in Go.
type Money struct{ Cents int64 }

// Scan implements sql.Scanner.
func (m *Money) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		m.Cents = v
	case nil:
		m.Cents = 0
	default:
		return fmt.Errorf("money: cannot scan %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (m Money) Value() (driver.Value, error) { return m.Cents, nil }

// Address is embedded with a column prefix.
type Address struct {
	City string
	Zip  *string
}

func (User) CachePolicy() core.Policy { return core.Policy{} }

// AfterFind counts hook calls, which must run on hits too.
func (u *User) AfterFind(*gorm.DB) error {
	u.Found++
	return nil
}

// Pet is a has-many target.
type Pet struct {
	ID     uint
	UserID uint
	Name   string
}

func (Pet) CachePolicy() core.Policy { return core.Policy{} }

// Language is a many-to-many target.
type Language struct {
	ID   uint
	Code string
}

func (Language) CachePolicy() core.Policy { return core.Policy{} }

// Plain does not opt in.
type Plain struct {
	ID   uint
	Name string
}

// seed creates users 1..n with pets, languages and companies.
func (e *env) seed(n int) {
	e.t.Helper()
	langs := []Language{{Code: "en"}, {Code: "fr"}, {Code: "de"}}
	if err := e.plain.Create(&langs).Error; err != nil {
		e.t.Fatal(err)
	}
	comps := []Company{{Name: "acme"}, {Name: "globex"}}
	if err := e.plain.Create(&comps).Error; err != nil {
		e.t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		nick := fmt.Sprintf("n%d", i)
		bday := time.Date(1980+i, time.Month(i%12+1), i%28+1, 0, 0, 0, 0, time.UTC)
		cid := comps[i%2].ID
		u := User{
			Name: fmt.Sprintf("user%02d", i), Age: 20 + i%7, Tags: []string{"t", fmt.Sprint(i)},
			Email: sql.NullString{String: fmt.Sprintf("u%d@x", i), Valid: i%3 != 0}, CompanyID: &cid,
			Balance: Money{Cents: int64(i * 150)}, Address: Address{City: fmt.Sprintf("city%d", i%3)},
			Pets:      []Pet{{Name: fmt.Sprintf("pet%da", i)}, {Name: fmt.Sprintf("pet%db", i)}},
			Languages: []Language{langs[i%3], langs[(i+1)%3]},
		}
		if i%2 == 0 {
			u.Nick, u.Birthday = &nick, &bday
		}
		if err := e.plain.Create(&u).Error; err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.plain.Create(&[]Plain{{Name: "a"}, {Name: "b"}}).Error; err != nil {
		e.t.Fatal(err)
	}
}
