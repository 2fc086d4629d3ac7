// Package testenv finds the PostgreSQL and Redis servers that integration
// tests run against and gives every test its own schema and key namespace.
//
// The servers come from HYDRACACHE_POSTGRES_DSN and HYDRACACHE_REDIS_ADDR,
// with local defaults. When a server cannot be reached the test is skipped
// with a loud message, except under CI=true, where it fails: a green CI run
// must mean the integration tests ran.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/redis/rueidis"
)

const (
	// DefaultPostgresDSN is used when HYDRACACHE_POSTGRES_DSN is unset.
	DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	// DefaultRedisAddr is used when HYDRACACHE_REDIS_ADDR is unset.
	DefaultRedisAddr = "127.0.0.1:6379"
)

// PostgresDSN returns the DSN of the PostgreSQL server for tests, examples
// and benchmarks.
func PostgresDSN() string {
	if v := os.Getenv("HYDRACACHE_POSTGRES_DSN"); v != "" {
		return v
	}
	return DefaultPostgresDSN
}

// RedisAddr returns the address of the Redis server for tests, examples and
// benchmarks.
func RedisAddr() string {
	if v := os.Getenv("HYDRACACHE_REDIS_ADDR"); v != "" {
		return v
	}
	return DefaultRedisAddr
}

// InCI reports whether the tests run under CI=true, where a missing service
// is a failure.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// SkipLogEnv names the environment variable that, when set, holds the path
// of a file to which Unavailable appends one line per test it skips, so
// that scripts/test.sh can count the skips that go test prints only with -v.
const SkipLogEnv = "HYDRACACHE_SKIP_LOG"

// Unavailable ends t because service cannot be reached: a skip locally, a
// failure under CI=true.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s unavailable: %v (set %s, or run scripts/test.sh which starts it)",
		service, err, envName(service))
	if InCI() {
		t.Fatalf("CI=true: %s", msg)
	}
	if path := os.Getenv(SkipLogEnv); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			_, _ = fmt.Fprintf(f, "%s: %s\n", t.Name(), service)
			_ = f.Close()
		}
	}
	t.Skipf("SKIPPED, NEEDS A SERVICE: %s", msg)
}

func envName(service string) string {
	if strings.EqualFold(service, "redis") {
		return "HYDRACACHE_REDIS_ADDR"
	}
	return "HYDRACACHE_POSTGRES_DSN"
}

// Name returns a short name unique to this test run, made of the test's name
// and random bytes, usable as a schema name, table prefix or key namespace.
func Name(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testenv: random name: %v", err)
	}
	base := strings.ToLower(nonIdent.ReplaceAllString(t.Name(), "_"))
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	return "t_" + strings.Trim(base, "_") + "_" + hex.EncodeToString(b[:])
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9]+`)

// Postgres opens the test PostgreSQL server on a new schema that only this
// test uses and that is dropped when it ends. The returned DSN selects the
// same schema (through search_path), for code that opens its own connection.
func Postgres(t testing.TB) (*sql.DB, string) {
	t.Helper()
	base := PostgresDSN()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		Unavailable(t, "PostgreSQL", err)
	}
	schema := Name(t)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		_ = admin.Close()
		t.Fatalf("testenv: create schema: %v", err)
	}
	dsn, err := withSearchPath(base, schema)
	if err != nil {
		_ = admin.Close()
		t.Fatalf("testenv: %v", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		_ = admin.Close()
		t.Fatalf("testenv: open: %v", err)
	}
	t.Cleanup(func() {
		_ = db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Errorf("testenv: drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	return db, dsn
}

func withSearchPath(dsn, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		// Key/value form: append the setting.
		return strings.TrimSpace(dsn) + " search_path=" + schema, nil
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// RedisClientOption returns rueidis options for the test Redis server.
func RedisClientOption() rueidis.ClientOption {
	return rueidis.ClientOption{
		InitAddress:  []string{RedisAddr()},
		DisableRetry: false,
	}
}

// Redis connects a new rueidis client (client-side caching on) to the test
// Redis server and returns it with a key namespace that only this test uses.
// When the test ends, every key under the namespace is deleted and the client
// closed.
func Redis(t testing.TB) (rueidis.Client, string) {
	t.Helper()
	client, err := rueidis.NewClient(RedisClientOption())
	if err != nil {
		Unavailable(t, "Redis", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
		client.Close()
		Unavailable(t, "Redis", err)
	}
	ns := Name(t) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, client, ns); err != nil {
			t.Errorf("testenv: clean Redis namespace %s: %v", ns, err)
		}
		client.Close()
	})
	return client, ns
}

// DeletePrefix deletes every key that starts with prefix, with SCAN and
// UNLINK on each primary node; it never touches other keys.
func DeletePrefix(ctx context.Context, client rueidis.Client, prefix string) error {
	match := globEscape(prefix) + "*"
	for _, node := range client.Nodes() {
		var cursor uint64
		for {
			entry, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(match).Count(1000).Build()).AsScanEntry()
			if err != nil {
				return fmt.Errorf("scan %q: %w", prefix, err)
			}
			for _, k := range entry.Elements {
				if err := client.Do(ctx, client.B().Unlink().Key(k).Build()).Error(); err != nil {
					return fmt.Errorf("unlink %q: %w", k, err)
				}
			}
			cursor = entry.Cursor
			if cursor == 0 {
				break
			}
		}
	}
	return nil
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
