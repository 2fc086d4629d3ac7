package core_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"reflect"
	"strconv"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// The foundation's benchmarks, compared in one run with benchstat:
//
//	go test -run='^$' -bench=. -benchmem -count=10 ./core/ | tee bench.txt
//	benchstat bench.txt
//
// BaselineSelect is the primary-key SELECT that a hit saves.

// oneRow is the encoded one-row result of a users lookup, as a plugin
// stores it.
func oneRow(b *testing.B) []byte {
	b.Helper()
	rs := rowset.RowSet{
		Columns: []rowset.Column{
			{Name: "id", DatabaseTypeName: "INT8", ScanType: reflect.TypeFor[int64]()},
			{Name: "name", DatabaseTypeName: "TEXT", ScanType: reflect.TypeFor[string]()},
			{Name: "email", DatabaseTypeName: "TEXT", ScanType: reflect.TypeFor[string]()},
			{Name: "age", DatabaseTypeName: "INT4", ScanType: reflect.TypeFor[int32]()},
			{Name: "created_at", DatabaseTypeName: "TIMESTAMPTZ", ScanType: reflect.TypeFor[time.Time]()},
		},
		Values: [][]driver.Value{{int64(42), "Ada Lovelace", "ada@example.com", int64(36), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}},
	}
	p, err := rs.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchHit(b *testing.B, st lib_store.StoreInterface) { benchHitWith(b, st, false) }

// benchHitWith is benchHit, on a descriptor made by Cache.Prepare when
// prepared.
func benchHitWith(b *testing.B, st lib_store.StoreInterface, prepared bool) {
	ctx := context.Background()
	// Keys as long as an application's: crc16 of each key (rueidis's slot)
	// and key comparisons grow with their length.
	c, err := core.New(st, core.WithNamespace("app"), core.WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	payload := oneRow(b)
	d := core.Entity("users", "42")
	if prepared {
		d = c.Prepare(d)
	}
	load := func(context.Context) ([]byte, error) { return payload, nil }
	if _, err := c.Fetch(ctx, d, load); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Fetch(ctx, d, load); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if s := c.Stats(); s.Loads != 1 {
		b.Fatalf("%d loads: the benchmark measured misses", s.Loads)
	}
}

func BenchmarkHit(b *testing.B) {
	b.Run("store=memory", func(b *testing.B) {
		st, err := store.NewMemory()
		if err != nil {
			b.Fatal(err)
		}
		benchHit(b, st)
	})
	b.Run("store=memory/prepared", func(b *testing.B) {
		st, err := store.NewMemory()
		if err != nil {
			b.Fatal(err)
		}
		benchHitWith(b, st, true)
	})
	b.Run("store=redis/csc=warm", func(b *testing.B) {
		client, _ := testenv.Redis(b)
		st, err := store.NewRedis(client, store.WithPrefix(shortPrefix(b, client)))
		if err != nil {
			b.Fatal(err)
		}
		benchHit(b, st)
	})
	b.Run("store=redis/csc=warm/prepared", func(b *testing.B) {
		client, _ := testenv.Redis(b)
		st, err := store.NewRedis(client, store.WithPrefix(shortPrefix(b, client)))
		if err != nil {
			b.Fatal(err)
		}
		benchHitWith(b, st, true)
	})
	b.Run("store=redis-dial/csc=warm", func(b *testing.B) {
		client, _ := testenv.Redis(b) // for cleanup of the prefix
		st, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(shortPrefix(b, client)))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchHit(b, st)
	})
	b.Run("store=redis-dial/csc=warm/prepared", func(b *testing.B) {
		client, _ := testenv.Redis(b)
		st, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(shortPrefix(b, client)))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchHitWith(b, st, true)
	})
	b.Run("store=redis/csc=off", func(b *testing.B) {
		cleanup, _ := testenv.Redis(b)
		ns := shortPrefix(b, cleanup)
		opt := testenv.RedisClientOption()
		opt.DisableCache = true
		client, err := rueidis.NewClient(opt)
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		st, err := store.NewRedis(client, store.WithPrefix(ns))
		if err != nil {
			b.Fatal(err)
		}
		benchHit(b, st)
	})
}

// shortPrefix returns a store prefix as short as a real one ("hydracache:"
// is 11 bytes) yet unique to this benchmark, deleted when it ends.
func shortPrefix(b *testing.B, client rueidis.Client) string {
	b.Helper()
	var r [4]byte
	_, _ = rand.Read(r[:])
	p := "hcb" + hex.EncodeToString(r[:]) + ":"
	b.Cleanup(func() { _ = testenv.DeletePrefix(context.Background(), client, p) })
	return p
}

// BenchmarkMissWithLoad measures a miss whose loader runs the primary-key
// SELECT on PostgreSQL, records and encodes the row: the cost of a cold
// read through the cache, to compare with BaselineSelect.
func BenchmarkMissWithLoad(b *testing.B) {
	ctx := context.Background()
	db := benchTable(b)
	st, err := store.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	c, err := core.New(st, core.WithNamespace(testenv.Name(b)), core.WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		id := int64(i%1000 + 1)
		// A fresh key every time: a miss.
		d := core.Entity("users", strconv.Itoa(i))
		_, err := c.Fetch(ctx, d, func(ctx context.Context) ([]byte, error) {
			rows, err := db.QueryContext(ctx, `SELECT id, name, email, age, created_at FROM users WHERE id = $1`, id)
			if err != nil {
				return nil, err
			}
			rs, err := rowset.Record(rows)
			if err != nil {
				return nil, err
			}
			return rs.MarshalBinary()
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineSelect is the plain primary-key SELECT through
// database/sql on PostgreSQL: what a hit saves.
func BenchmarkBaselineSelect(b *testing.B) {
	ctx := context.Background()
	db := benchTable(b)
	var u struct {
		ID      int64
		Name    string
		Email   string
		Age     int32
		Created time.Time
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		err := db.QueryRowContext(ctx, `SELECT id, name, email, age, created_at FROM users WHERE id = $1`, int64(i%1000+1)).
			Scan(&u.ID, &u.Name, &u.Email, &u.Age, &u.Created)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchTable(b *testing.B) *sql.DB {
	b.Helper()
	db, _ := testenv.Postgres(b)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, age int NOT NULL, created_at timestamptz NOT NULL)`,
		`INSERT INTO users SELECT g, 'user ' || g, 'u' || g || '@example.com', 20 + g % 50, now() FROM generate_series(1, 1000) g`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	return db
}
