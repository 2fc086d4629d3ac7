package hydragorm_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// Acct is a plain model for the transparency tests.
type Acct struct {
	ID        uint
	Name      string
	Age       int
	ExpiresAt time.Time
}

func (Acct) CachePolicy() core.Policy { return core.Policy{} }

func seedAccts(t *testing.T, e *env, n int) {
	t.Helper()
	if err := e.plain.AutoMigrate(&Acct{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		a := Acct{ID: uint(i), Name: fmt.Sprintf("a%d", i), Age: 20 + i, ExpiresAt: time.Now().Add(time.Hour)}
		if err := e.plain.Create(&a).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// twice runs read twice on the cached DB and returns the statements the
// second run sent to the database.
func (e *env) twice(t *testing.T, read func(db *gorm.DB) error) int64 {
	t.Helper()
	if err := read(e.cached); err != nil {
		t.Fatalf("first read: %v", err)
	}
	var err error
	n := e.statements(func() { err = read(e.cached) })
	if err != nil {
		t.Fatalf("second read: %v", err)
	}
	return n
}

// TestVolatileReadsNotCached: a read whose answer can change without a
// write (a clock keyword, a function that is not immutable) reaches the
// database every time, unless the call opts in with core.WithVolatile;
// reads calling only immutable functions stay cached.
func TestVolatileReadsNotCached(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newBareEnv(t, dialect, nil)
		seedAccts(t, e, 3)
		now := "NOW()"
		if dialect == "sqlite" {
			now = "datetime('now')"
		}
		cases := []struct {
			name   string
			read   func(db *gorm.DB) error
			cached bool
		}{
			{"count", func(db *gorm.DB) error { var n int64; return db.Model(&Acct{}).Count(&n).Error }, true},
			{"lower", func(db *gorm.DB) error { var as []Acct; return db.Where("lower(name) = ?", "a1").Find(&as).Error }, true},
			{"random order", func(db *gorm.DB) error { var as []Acct; return db.Order("RANDOM()").Find(&as).Error }, false},
			{"now", func(db *gorm.DB) error {
				var as []Acct
				return db.Where("expires_at > " + now).Find(&as).Error
			}, false},
			{"current_timestamp", func(db *gorm.DB) error {
				var as []Acct
				return db.Where("expires_at >= CURRENT_TIMESTAMP").Find(&as).Error
			}, false},
		}
		if dialect == "postgres" {
			cases = append(cases, struct {
				name   string
				read   func(db *gorm.DB) error
				cached bool
			}{"'now' argument", func(db *gorm.DB) error {
				var as []Acct
				return db.Where("expires_at > ?::timestamptz", "now").Find(&as).Error
			}, false})
		}
		for _, c := range cases {
			if n := e.twice(t, c.read); (n == 0) != c.cached {
				t.Errorf("%s: second read sent %d statements, cached %v", c.name, n, c.cached)
			}
		}
		// A call that knows better opts in.
		ctx := core.WithVolatile(context.Background())
		if n := e.twice(t, func(db *gorm.DB) error {
			var as []Acct
			return db.WithContext(ctx).Order("RANDOM()").Find(&as).Error
		}); n != 0 {
			t.Errorf("WithVolatile: second read sent %d statements", n)
		}
	})
}

// TestVolatileFunctionsFromCatalog: PostgreSQL's pg_proc decides about
// user functions, immutable or not.
func TestVolatileFunctionsFromCatalog(t *testing.T) {
	e := newBareEnv(t, "postgres", nil)
	seedAccts(t, e, 3)
	for _, q := range []string{
		`CREATE FUNCTION hc_twice(bigint) RETURNS bigint IMMUTABLE LANGUAGE sql AS 'SELECT $1 * 2'`,
		`CREATE FUNCTION hc_stable(bigint) RETURNS bigint STABLE LANGUAGE sql AS 'SELECT $1 * 2'`,
	} {
		if err := e.plain.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	for fn, cached := range map[string]bool{"hc_twice": true, "hc_stable": false} {
		if n := e.twice(t, func(db *gorm.DB) error {
			var as []Acct
			return db.Where(fn+"(age) = ?", 42).Find(&as).Error
		}); (n == 0) != cached {
			t.Errorf("%s: second read sent %d statements, cached %v", fn, n, cached)
		}
	}
}

// TestExpiredRowsNotServed: what a user notices: sessions that expired
// since the first read are not listed by the second.
func TestExpiredRowsNotServed(t *testing.T) {
	e := newBareEnv(t, "postgres", nil)
	seedAccts(t, e, 0)
	if err := e.plain.Create(&Acct{ID: 1, Name: "soon", ExpiresAt: time.Now().Add(time.Second)}).Error; err != nil {
		t.Fatal(err)
	}
	live := func() int {
		var as []Acct
		if err := e.cached.Where("expires_at > NOW()").Find(&as).Error; err != nil {
			t.Fatal(err)
		}
		return len(as)
	}
	if n := live(); n != 1 {
		t.Fatalf("live sessions %d, want 1", n)
	}
	time.Sleep(1200 * time.Millisecond)
	if n := live(); n != 0 {
		t.Errorf("an expired session is still listed (%d live)", n)
	}
}

// TestQueryChainWritesBump: a write run through the Query or Row chain
// (Raw UPDATE ... RETURNING with Find, Pluck, Scan, Row, Rows, GORM's
// generics API, a data-modifying CTE) bumps what it wrote, and runs once.
func TestQueryChainWritesBump(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newBareEnv(t, dialect, nil)
		seedAccts(t, e, 1)
		const upd = "UPDATE accts SET age = age + 1 WHERE id = ? RETURNING *"
		writes := []struct {
			name  string
			write func(db *gorm.DB) error
		}{
			{"Raw Find", func(db *gorm.DB) error { var out []Acct; return db.Raw(upd, 1).Find(&out).Error }},
			{"Raw Scan", func(db *gorm.DB) error { var out []Acct; return db.Raw(upd, 1).Scan(&out).Error }},
			{"Raw Pluck", func(db *gorm.DB) error {
				var ages []int
				return db.Raw("UPDATE accts SET age = age + 1 WHERE id = ? RETURNING age", 1).Pluck("age", &ages).Error
			}},
			{"generics Raw Scan", func(db *gorm.DB) error {
				var out []Acct
				return gorm.G[Acct](db).Raw(upd, 1).Scan(context.Background(), &out)
			}},
			{"Raw Row", func(db *gorm.DB) error {
				var a Acct
				return db.Raw(upd, 1).Row().Scan(&a.ID, &a.Name, &a.Age, &a.ExpiresAt)
			}},
			{"Raw Rows", func(db *gorm.DB) error {
				rows, err := db.Raw(upd, 1).Rows()
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
				}
				return rows.Err()
			}},
			{"Raw Rows, a read before they are closed", func(db *gorm.DB) error {
				rows, err := db.Raw(upd, 1).Rows()
				if err != nil {
					return err
				}
				// A read in between must not cache what the statement, not
				// yet complete, has not committed.
				var a Acct
				if err := db.First(&a, 1).Error; err != nil {
					return err
				}
				for rows.Next() {
				}
				if err := rows.Err(); err != nil {
					return err
				}
				return rows.Close()
			}},
		}
		if dialect == "postgres" {
			writes = append(writes, struct {
				name  string
				write func(db *gorm.DB) error
			}{"data-modifying CTE", func(db *gorm.DB) error {
				var out []Acct
				return db.Raw("WITH u AS (UPDATE accts SET age = age + 1 WHERE id = ? RETURNING *) SELECT * FROM u", 1).Find(&out).Error
			}})
		}
		want := 21
		for _, w := range writes {
			var a Acct
			if err := e.cached.First(&a, 1).Error; err != nil || a.Age != want {
				t.Fatalf("%s: before: age %d, %v; want %d", w.name, a.Age, err, want)
			}
			if err := w.write(e.cached); err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			want++
			a = Acct{}
			if err := e.cached.First(&a, 1).Error; err != nil || a.Age != want {
				t.Errorf("%s: after: age %d, %v; want %d (stale, or the write ran twice)", w.name, a.Age, err, want)
				want = a.Age
			}
		}
	})
}

// Member and Profile are read and written through models that declare no
// relation: only the database's catalog knows Profile's foreign key.
type Member struct {
	ID    uint
	Refer uint
}

func (Member) CachePolicy() core.Policy { return core.Policy{} }

type Profile struct {
	ID          uint
	Name        string
	MemberRefer *uint
}

func (Profile) CachePolicy() core.Policy { return core.Policy{} }

// memberFK and profileFK create the tables with the constraint, through
// the plain DB only.
type memberFK struct {
	ID       uint
	Refer    uint        `gorm:"uniqueIndex"`
	Profiles []profileFK `gorm:"foreignKey:MemberRefer;references:Refer;constraint:OnUpdate:CASCADE,OnDelete:SET NULL"`
}

func (memberFK) TableName() string { return "members" }

type profileFK struct {
	ID          uint
	Name        string
	MemberRefer *uint
}

func (profileFK) TableName() string { return "profiles" }

// TestCascadesFromCatalog: the database's own changes through foreign-key
// actions are seen although no model of this process declares them: ON
// UPDATE CASCADE of a non-key column, ON DELETE SET NULL.
func TestCascadesFromCatalog(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newBareEnv(t, dialect, nil)
		if err := e.plain.AutoMigrate(&memberFK{}, &profileFK{}); err != nil {
			t.Fatal(err)
		}
		if err := e.plain.Create(&memberFK{ID: 1, Refer: 10, Profiles: []profileFK{{ID: 1, Name: "p"}}}).Error; err != nil {
			t.Fatal(err)
		}
		refer := func() (first, list any) {
			var p Profile
			if err := e.cached.First(&p, 1).Error; err != nil {
				t.Fatal(err)
			}
			var ps []Profile
			if err := e.cached.Where("name = ?", "p").Find(&ps).Error; err != nil {
				t.Fatal(err)
			}
			if p.MemberRefer == nil {
				return nil, len(ps) == 1 && ps[0].MemberRefer == nil
			}
			return *p.MemberRefer, len(ps) == 1 && ps[0].MemberRefer != nil && *ps[0].MemberRefer == *p.MemberRefer
		}
		if f, l := refer(); f != uint(10) || l != true {
			t.Fatalf("before: %v %v", f, l)
		}
		if err := e.cached.Model(&Member{ID: 1}).Update("refer", 100).Error; err != nil {
			t.Fatal(err)
		}
		if f, l := refer(); f != uint(100) || l != true {
			t.Errorf("after ON UPDATE CASCADE: profile's member_refer %v (list agrees: %v), want 100", f, l)
		}
		if err := e.cached.Delete(&Member{ID: 1}).Error; err != nil {
			t.Fatal(err)
		}
		if f, l := refer(); f != nil || l != true {
			t.Errorf("after ON DELETE SET NULL: profile's member_refer %v (list agrees: %v), want NULL", f, l)
		}
	})
}

// Owner2 and Dog2: the cascade is declared on Dog2, which one of the two
// DBs never touches.
type Owner2 struct {
	ID   uint
	Name string
}

func (Owner2) CachePolicy() core.Policy { return core.Policy{} }

type Dog2 struct {
	ID       uint
	Name     string
	Owner2ID uint
	Owner2   *Owner2 `gorm:"constraint:OnDelete:CASCADE"`
}

func (Dog2) CachePolicy() core.Policy { return core.Policy{} }

// TestCascadeSeenByEveryInstance: two *gorm.DB sharing one cache (one
// memory store, or two Caches on one Redis: two processes); the one that
// deletes the owner never parsed Dog2, and the other's cached dogs go.
func TestCascadeSeenByEveryInstance(t *testing.T) {
	stores := map[string]func(t *testing.T) (a, b *core.Cache){
		"memory": func(t *testing.T) (a, b *core.Cache) {
			st, err := store.NewMemory()
			if err != nil {
				t.Fatal(err)
			}
			c, err := core.New(st, core.WithNamespace(testenv.Name(t)))
			if err != nil {
				t.Fatal(err)
			}
			return c, c
		},
		"redis": func(t *testing.T) (a, b *core.Cache) {
			ns := testenv.Name(t)
			var cs [2]*core.Cache
			for i := range cs {
				client, prefix := testenv.Redis(t)
				_ = prefix
				st, err := store.NewRedis(client, store.WithPrefix(ns+":"))
				if err != nil {
					t.Fatal(err)
				}
				if cs[i], err = core.New(st, core.WithNamespace(ns)); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					_ = testenv.DeletePrefix(context.Background(), client, ns+":")
				})
			}
			return cs[0], cs[1]
		},
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			forDialects(t, func(t *testing.T, dialect string) {
				sqlDB := openSQL(t, dialect)
				plain := openDialect(t, dialect, sqlDB, nil)
				if err := plain.AutoMigrate(&Owner2{}, &Dog2{}); err != nil {
					t.Fatal(err)
				}
				if err := plain.Create(&Dog2{ID: 1, Name: "rex", Owner2: &Owner2{ID: 1, Name: "o"}}).Error; err != nil {
					t.Fatal(err)
				}
				ca, cb := mk(t)
				reader := openDialect(t, dialect, sqlDB, nil)
				writer := openDialect(t, dialect, sqlDB, nil)
				if err := reader.Use(hydragorm.New(ca, hydragorm.WithNamespace("shared"))); err != nil {
					t.Fatal(err)
				}
				if err := writer.Use(hydragorm.New(cb, hydragorm.WithNamespace("shared"))); err != nil {
					t.Fatal(err)
				}
				// The list and the key read; across processes each catches
				// up when Redis's push for its tag arrives.
				dogs := func() (list int, found bool) {
					var ds []Dog2
					if err := reader.Where("owner2_id = ?", 1).Find(&ds).Error; err != nil {
						t.Fatal(err)
					}
					var d Dog2
					err := reader.First(&d, 1).Error
					if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
						t.Fatal(err)
					}
					return len(ds), err == nil
				}
				if n, found := dogs(); n != 1 || !found {
					t.Fatalf("dogs before: %d, %v", n, found)
				}
				if err := writer.Delete(&Owner2{ID: 1}).Error; err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(time.Second) // Redis's push for another process
				for {
					n, found := dogs()
					if n == 0 && !found {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("the cascaded delete is not seen: %d dogs listed, key read found %v", n, found)
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
		})
	}
}

// TestKeySpellings: a not-found cached under one spelling of a key ('0100',
// an upper-case UUID) never survives the create of the row.
func TestKeySpellings(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newBareEnv(t, dialect, nil)
		seedAccts(t, e, 0)
		for _, spelling := range []any{"0100", "100", 100, "+100"} {
			var a Acct
			if err := e.cached.First(&a, spelling).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
				t.Fatalf("%v before create: %v", spelling, err)
			}
		}
		if err := e.cached.Create(&Acct{ID: 100, Name: "hundred", ExpiresAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		for _, spelling := range []any{"0100", "100", 100, "+100"} {
			var a Acct
			if err := e.cached.First(&a, spelling).Error; err != nil || a.Name != "hundred" {
				t.Errorf("First(%#v) after create: %+v, %v", spelling, a, err)
			}
		}
	})
}

// Token has a uuid key.
type Token struct {
	ID   string `gorm:"type:uuid;primaryKey"`
	Name string
}

func (Token) CachePolicy() core.Policy { return core.Policy{} }

// TestUUIDKeySpellings: PostgreSQL reads every spelling of a UUID as one
// value; a not-found under any of them does not survive the create.
func TestUUIDKeySpellings(t *testing.T) {
	e := newBareEnv(t, "postgres", nil)
	if err := e.plain.AutoMigrate(&Token{}); err != nil {
		t.Fatal(err)
	}
	const lower = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	spellings := []string{lower, strings.ToUpper(lower), "{" + lower + "}", strings.ReplaceAll(lower, "-", "")}
	for _, s := range spellings {
		var tk Token
		if err := e.cached.First(&tk, "id = ?", s).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
			t.Fatalf("%s before create: %v", s, err)
		}
		if err := e.cached.First(&tk, Token{ID: s}).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
			t.Fatalf("%s by struct before create: %v", s, err)
		}
	}
	if err := e.cached.Create(&Token{ID: strings.ToUpper(lower), Name: "t"}).Error; err != nil {
		t.Fatal(err)
	}
	for _, s := range spellings {
		var tk Token
		if err := e.cached.First(&tk, Token{ID: s}).Error; err != nil || tk.Name != "t" {
			t.Errorf("First(%s) after create: %+v, %v", s, tk, err)
		}
	}
}

// Blob is a Scanner that keeps the bytes it is given, as
// gorm.io/datatypes.JSON does.
type Blob []byte

func (b *Blob) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		*b = v
	case string:
		*b = Blob(v)
	case nil:
		*b = nil
	default:
		return fmt.Errorf("blob: %T", src)
	}
	return nil
}

func (b Blob) Value() (driver.Value, error) { return []byte(b), nil }

func (Blob) GormDataType() string { return "bytes" }

type Doc struct {
	ID   uint
	Body Blob
}

func (Doc) CachePolicy() core.Policy { return core.Policy{} }

// TestCachedBytesAreTheCallers: a caller that mutates the bytes its
// Scanner kept changes nothing another read gets.
func TestCachedBytesAreTheCallers(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newBareEnv(t, dialect, nil)
		if err := e.plain.AutoMigrate(&Doc{}); err != nil {
			t.Fatal(err)
		}
		if err := e.plain.Create(&Doc{ID: 1, Body: Blob(`{"a":1}`)}).Error; err != nil {
			t.Fatal(err)
		}
		reads := map[string]func() Blob{
			"key": func() Blob {
				var d Doc
				if err := e.cached.First(&d, 1).Error; err != nil {
					t.Fatal(err)
				}
				return d.Body
			},
			"list": func() Blob {
				var ds []Doc
				if err := e.cached.Where("id > ?", 0).Find(&ds).Error; err != nil || len(ds) != 1 {
					t.Fatal(err)
				}
				return ds[0].Body
			},
		}
		for name, read := range reads {
			for i := range 3 { // a miss, then hits
				b := read()
				if string(b) != `{"a":1}` {
					t.Fatalf("%s read %d: %q: an earlier caller's change reached it", name, i, b)
				}
				for j := range b {
					b[j] = 'X'
				}
			}
		}
	})
}

// Boom's CachePolicy panics.
type Boom struct {
	ID   uint
	Name string
}

func (Boom) CachePolicy() core.Policy { panic("policy exploded") }

// TestPanickingPolicy: a read falls back to the database, and a write's
// transaction still ends (its locks are released).
func TestPanickingPolicy(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newBareEnv(t, dialect, nil)
		if err := e.plain.AutoMigrate(&Boom{}); err != nil {
			t.Fatal(err)
		}
		if err := e.plain.Create(&Boom{ID: 1, Name: "a"}).Error; err != nil {
			t.Fatal(err)
		}
		var b Boom
		if err := e.cached.First(&b, 1).Error; err != nil || b.Name != "a" {
			t.Fatalf("read: %+v, %v", b, err)
		}
		if err := e.cached.Model(&Boom{ID: 1}).Update("name", "b").Error; err != nil {
			t.Fatalf("update: %v", err)
		}
		// Committed, and no lock left behind: another connection writes.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.plain.WithContext(ctx).Model(&Boom{ID: 1}).Update("name", "c").Error; err != nil {
			t.Fatalf("a second writer: %v", err)
		}
		if err := e.cached.First(&b, 1).Error; err != nil || b.Name != "c" {
			t.Errorf("read after writes: %+v, %v", b, err)
		}
	})
}

// traceLog records what GORM's logger is handed.
type traceLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *traceLog) LogMode(logger.LogLevel) logger.Interface { return l }
func (l *traceLog) Info(context.Context, string, ...any)     {}
func (l *traceLog) Warn(context.Context, string, ...any)     {}
func (l *traceLog) Error(context.Context, string, ...any)    {}
func (l *traceLog) Trace(_ context.Context, _ time.Time, fc func() (string, int64), err error) {
	sql, rows := fc()
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf("%s | rows %d | err %v", sql, rows, err))
	l.mu.Unlock()
}

func (l *traceLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.lines
	l.lines = nil
	return s
}

// TestKeyReadsReachLogger: GORM's logger sees a key read, hit or miss, as
// it sees it without the cache: the same statement, rows and error.
func TestKeyReadsReachLogger(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		var plainLog, cachedLog traceLog
		sqlDB := openSQL(t, dialect)
		plain := openDialect(t, dialect, sqlDB, &gorm.Config{Logger: &plainLog})
		cached := openDialect(t, dialect, sqlDB, &gorm.Config{Logger: &cachedLog})
		st, err := store.NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		cache, err := core.New(st, core.WithNamespace(testenv.Name(t)))
		if err != nil {
			t.Fatal(err)
		}
		if err := cached.Use(hydragorm.New(cache, hydragorm.WithNamespace("log"))); err != nil {
			t.Fatal(err)
		}
		if err := plain.AutoMigrate(&Acct{}); err != nil {
			t.Fatal(err)
		}
		if err := plain.Create(&[]Acct{{ID: 1, Name: "a"}, {ID: 2, Name: "b"}}).Error; err != nil {
			t.Fatal(err)
		}
		plainLog.take()
		reads := []func(db *gorm.DB){
			func(db *gorm.DB) { var a Acct; db.First(&a, 1) },
			func(db *gorm.DB) { var a Acct; db.Take(&a, 2) },
			func(db *gorm.DB) { var a Acct; db.First(&a, 99) },
			func(db *gorm.DB) { var as []Acct; db.Find(&as, []int{1, 2}) },
		}
		for round := range 2 { // misses, then hits
			for i, read := range reads {
				read(plain)
				read(cached)
				want, got := plainLog.take(), cachedLog.take()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("round %d read %d: logged\n%q\nwant\n%q", round, i, got, want)
				}
			}
		}
	})
}

// Code has a text key.
type Code struct {
	ID   string `gorm:"primaryKey"`
	Name string
}

func (Code) CachePolicy() core.Policy { return core.Policy{} }

// TestMultiKeyOrder: a read of several keys comes back in the database's
// order, cold and warm.
func TestMultiKeyOrder(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newBareEnv(t, dialect, nil)
		seedAccts(t, e, 5)
		if err := e.plain.AutoMigrate(&Code{}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"m", "x", "a"} {
			if err := e.plain.Create(&Code{ID: id, Name: id}).Error; err != nil {
				t.Fatal(err)
			}
		}
		for round := range 2 {
			var want, got []Code
			e.plain.Find(&want, []string{"x", "a", "m"})
			if err := e.cached.Find(&got, []string{"x", "a", "m"}).Error; err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, text keys: %v, want %v", round, got, want)
			}
			var wantA, gotA []Acct
			e.plain.Find(&wantA, []int{4, 1, 3})
			if err := e.cached.Find(&gotA, []int{4, 1, 3}).Error; err != nil {
				t.Fatal(err)
			}
			if len(gotA) != len(wantA) {
				t.Fatalf("round %d: %d rows, want %d", round, len(gotA), len(wantA))
			}
			for i := range gotA {
				if gotA[i].ID != wantA[i].ID {
					t.Errorf("round %d, integer keys: order %v, want %v", round, ids(gotA), ids(wantA))
					break
				}
			}
		}
	})
}

func ids(as []Acct) []uint {
	out := make([]uint, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// TestCancelledContextLikeDatabase: errors and RowsAffected on a cancelled
// context are the database path's, warm cache or not.
func TestCancelledContextLikeDatabase(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newBareEnv(t, dialect, nil)
		seedAccts(t, e, 2)
		scan := func(db *gorm.DB) (int64, error) {
			var out []Acct
			r := db.Model(&Acct{}).Where("age > ?", 0).Scan(&out)
			return r.RowsAffected, r.Error
		}
		find := func(db *gorm.DB) (int64, error) {
			var out []Acct
			r := db.Where("age > ?", 0).Find(&out)
			return r.RowsAffected, r.Error
		}
		for name, read := range map[string]func(*gorm.DB) (int64, error){"Scan": scan, "Find": find} {
			if _, err := read(e.cached); err != nil { // warm
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			wn, werr := read(e.plain.WithContext(ctx))
			gn, gerr := read(e.cached.WithContext(ctx))
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || !errors.Is(gerr, context.Canceled) || gn != wn {
				t.Errorf("%s: got %v, %d; the database path gives %v, %d", name, gerr, gn, werr, wn)
			}
		}
	})
}

// TestRedisDownAtStart: a service starts while Redis is down, reads from
// its database meanwhile, and the store connects when Redis comes up.
func TestRedisDownAtStart(t *testing.T) {
	srv := testenv.StartRedis(t)
	addr := srv.Addr
	srv.Stop()
	st, err := store.DialRedis(testenvOption(addr), store.WithPrefix(testenv.Name(t)+":"))
	if err != nil {
		t.Fatalf("DialRedis with Redis down: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := newStoreEnv(t, "postgres", st, nil)
	seedAccts(t, e, 1)
	for range 2 {
		var a Acct
		if err := e.cached.First(&a, 1).Error; err != nil || a.Name != "a1" {
			t.Fatalf("read with Redis down: %+v, %v", a, err)
		}
	}
	testenv.RestartRedis(t, addr)
	deadline := time.Now().Add(15 * time.Second)
	for {
		before := e.cache.Stats().Hits
		var a Acct
		if err := e.cached.First(&a, 1).Error; err != nil || a.Name != "a1" {
			t.Fatalf("read: %+v, %v", a, err)
		}
		if e.cache.Stats().Hits > before {
			return // connected: a hit
		}
		if time.Now().After(deadline) {
			t.Fatal("the store never connected after Redis came up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testenvOption(addr string) rueidis.ClientOption {
	return rueidis.ClientOption{InitAddress: []string{addr}}
}
