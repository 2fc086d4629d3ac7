package core_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/testenv"
)

// BenchmarkCrossProcessStaleness measures how long after a commit in one
// process another process sharing Redis first reads the new value: the
// bound on cross-process staleness. Process A (this one) updates a row in
// PostgreSQL, commits, bumps the row's tag; process B (a child running
// this test binary) reads the row through its cache in a loop, hitting,
// until the invalidation push makes it reload. Each write is timed from
// A's commit to B's first read of the new value, on one wall clock.
//
//	go test -run='^$' -bench=CrossProcessStaleness -benchtime=1x ./core/
//
// It reports p50, p99 and max over 200 writes per store kind.
func BenchmarkCrossProcessStaleness(b *testing.B) {
	for _, kind := range []string{"NewRedis", "DialRedis"} {
		b.Run("store="+kind, func(b *testing.B) {
			for b.Loop() {
				delays := crossProcessDelays(b, kind, 200)
				slices.Sort(delays)
				q := func(p float64) float64 {
					return float64(delays[int(p*float64(len(delays)-1))].Microseconds())
				}
				b.ReportMetric(q(0.5), "p50-µs")
				b.ReportMetric(q(0.99), "p99-µs")
				b.ReportMetric(float64(delays[len(delays)-1].Microseconds()), "max-µs")
			}
		})
	}
}

const stalenessChildEnv = "HYDRACACHE_STALENESS_CHILD"

func openStalenessStore(tb testing.TB, kind, prefix string) lib_store.StoreInterface {
	tb.Helper()
	switch kind {
	case "DialRedis":
		st, err := store.DialRedis(testenv.RedisClientOption(), store.WithPrefix(prefix))
		if err != nil {
			testenv.Unavailable(tb, "Redis", err)
		}
		tb.Cleanup(func() { _ = st.Close() })
		return st
	default:
		client, err := rueidis.NewClient(testenv.RedisClientOption())
		if err != nil {
			testenv.Unavailable(tb, "Redis", err)
		}
		tb.Cleanup(client.Close)
		st, err := store.NewRedis(client, store.WithPrefix(prefix))
		if err != nil {
			tb.Fatal(err)
		}
		return st
	}
}

func crossProcessDelays(b *testing.B, kind string, writes int) []time.Duration {
	b.Helper()
	ctx := context.Background()
	db, dsn := testenv.Postgres(b)
	if _, err := db.ExecContext(ctx, `CREATE TABLE stale (id int PRIMARY KEY, v bigint NOT NULL); INSERT INTO stale VALUES (1, 0)`); err != nil {
		b.Fatal(err)
	}
	_, prefix := testenv.Redis(b)
	a, err := core.New(openStalenessStore(b, kind, prefix), core.WithNamespace("stale"), core.WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()

	child := exec.Command(os.Args[0], "-test.run=^TestStalenessChild$", "-test.v")
	child.Env = append(os.Environ(), stalenessChildEnv+"=1", "STALENESS_DSN="+dsn, "STALENESS_PREFIX="+prefix, "STALENESS_KIND="+kind)
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = child.Wait()
	}()
	seen := make(chan [2]int64, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var v, at int64
			if _, err := fmt.Sscanf(sc.Text(), "seen %d %d", &v, &at); err == nil {
				seen <- [2]int64{v, at}
			}
		}
		close(seen)
	}()
	waitSeen := func(want int64) int64 {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case s, ok := <-seen:
				if !ok {
					b.Fatalf("the child process ended before reading %d", want)
				}
				if s[0] == want {
					return s[1]
				}
			case <-timeout:
				b.Fatalf("the child process did not read %d within 10 s", want)
			}
		}
	}
	waitSeen(0)
	tag := keys.EntityTag("stale", "1")
	delays := make([]time.Duration, 0, writes)
	for n := int64(1); n <= int64(writes); n++ {
		// Let B's reads turn into hits again before the next write.
		time.Sleep(2 * time.Millisecond)
		if _, err := db.ExecContext(ctx, `UPDATE stale SET v = $1 WHERE id = 1`, n); err != nil {
			b.Fatal(err)
		}
		committed := time.Now().UnixNano()
		if err := a.InvalidateTags(ctx, tag); err != nil {
			b.Fatal(err)
		}
		delays = append(delays, time.Duration(waitSeen(n)-committed))
	}
	return delays
}

// TestStalenessChild is process B of BenchmarkCrossProcessStaleness; it
// does nothing unless that benchmark started it.
func TestStalenessChild(t *testing.T) {
	if os.Getenv(stalenessChildEnv) != "1" {
		t.Skip("process B of BenchmarkCrossProcessStaleness")
	}
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("STALENESS_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := core.New(openStalenessStore(t, os.Getenv("STALENESS_KIND"), os.Getenv("STALENESS_PREFIX")),
		core.WithNamespace("stale"), core.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	d := core.Entity("stale", "1")
	load := func(ctx context.Context) ([]byte, error) {
		var v int64
		err := db.QueryRowContext(ctx, `SELECT v FROM stale WHERE id = 1`).Scan(&v)
		return []byte(strconv.FormatInt(v, 10)), err
	}
	last := int64(-1)
	out := bufio.NewWriter(os.Stdout)
	for {
		select {
		case <-done:
			return
		default:
		}
		raw, err := c.Fetch(ctx, d, load)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if v != last {
			fmt.Fprintf(out, "seen %d %d\n", v, time.Now().UnixNano())
			_ = out.Flush()
			last = v
		}
	}
}
