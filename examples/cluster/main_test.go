package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hydracache/hydracache/testing/testenv"
)

// TestMain lets this test binary serve as the demo's workers: the parent
// that TestClusterDemo runs in process re-executes os.Executable, which is
// this binary.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		os.Exit(workerMain(os.Args[1:], os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// TestClusterDemo runs the demo with two workers for two seconds against
// the test services, in a private schema and Redis prefix, and checks its
// summary: exit code 0, hits, and no stale read.
func TestClusterDemo(t *testing.T) {
	_, dsn := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	t.Setenv("HYDRACACHE_POSTGRES_DSN", dsn)
	t.Setenv("HYDRACACHE_REDIS_ADDR", testenv.RedisAddr())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-workers", "2", "-duration", "2s", "-prefix", prefix}, &stdout, &stderr)
	out := stdout.String()
	t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr.String())
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	var total []string
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "total" {
			total = f
		}
	}
	// total  -  reads hits ratio stmts saved saved% writes errors
	if len(total) != 10 {
		t.Fatalf("no total row in the summary")
	}
	num := func(i int) int64 {
		n, err := strconv.ParseInt(total[i], 10, 64)
		if err != nil {
			t.Fatalf("total row field %d: %v", i, err)
		}
		return n
	}
	if reads, hits, writes, errs := num(2), num(3), num(8), num(9); reads == 0 || hits == 0 || writes == 0 || errs != 0 {
		t.Errorf("total: reads=%d hits=%d writes=%d errors=%d; want reads, hits and writes > 0, no errors", reads, hits, writes, errs)
	}
	if !strings.Contains(out, "stale reads (the same, in the process that wrote): 0\n") {
		t.Errorf("the summary does not report zero stale reads")
	}
	if !strings.Contains(out, "p50 ") {
		t.Errorf("the summary has no staleness figures")
	}
}

// TestAnalyze checks the staleness arithmetic on made-up reports: worker 1
// commits version 2 of row 1 at t=100; worker 2 reads version 1 until
// t=103 and version 2 from t=105 (done at 106); worker 1 itself reads
// version 1 at t=104, after its own commit returned: a stale read.
func TestAnalyze(t *testing.T) {
	w1 := &worker{n: 1,
		writes: []commit{{worker: 1, row: 1, version: 2, start: 90, end: 100}},
		seens:  []seen{{row: 1, version: 1, start: 10, end: 20}},
		lasts:  []seen{{row: 1, prev: 1, prevLast: 104}},
	}
	w2 := &worker{n: 2,
		seens: []seen{
			{row: 1, version: 1, start: 10, end: 20},
			{row: 1, version: 2, start: 105, end: 106, prev: 1, prevLast: 103},
		},
		lasts: []seen{{row: 1, prev: 2, prevLast: 200}},
	}
	s := analyze([]*worker{w1, w2})
	if s.commits != 1 || len(s.delays) != 1 || s.delays[0] != 6 || s.unobserved != 0 {
		t.Errorf("commits=%d delays=%v unobserved=%d; want 1, [6ns], 0", s.commits, s.delays, s.unobserved)
	}
	if s.stale != 1 || s.staleMax != 4 {
		t.Errorf("stale=%d (max %v); want 1 (max 4ns)", s.stale, s.staleMax)
	}
	if s.crossOld != 1 || s.crossMax != 3 {
		t.Errorf("crossOld=%d (max %v); want 1 (max 3ns)", s.crossOld, s.crossMax)
	}
}
