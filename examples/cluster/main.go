// Command cluster runs HydraCache in several processes at once: worker
// processes sharing one PostgreSQL table and one Redis store, each with
// GORM and the hydragorm plugin, under a mixed load of reads by key, small
// list reads and updates in transactions. At the end it prints, per
// process, the hit ratio and the statements the cache saved, and, from
// wall-clock timestamps the workers report, the cross-process staleness:
// how long after a write's commit returned another process first read the
// new version, and whether any read returned an older version than one
// whose commit had already returned.
//
//	go run ./examples/cluster -workers 3 -duration 10s
//
// It needs PostgreSQL (HYDRACACHE_POSTGRES_DSN, default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and Redis
// (HYDRACACHE_REDIS_ADDR, default 127.0.0.1:6379); bash scripts/test.sh
// sets both up. Each run uses a table and a Redis key prefix of its own and
// deletes both at the end.
//
// The program re-executes itself (os.Executable) as the workers. A worker
// talks to the parent over its stdin and stdout, one line per message, and
// exits when its stdin closes, so a parent that dies leaves no worker
// behind.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/store"
)

// workerEnv marks a process started by the parent as a worker.
const workerEnv = "HYDRACACHE_CLUSTER_WORKER"

// Defaults of the services, the same as the tests' (testing/testenv).
const (
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultRedisAddr   = "127.0.0.1:6379"
)

func main() {
	if os.Getenv(workerEnv) == "1" {
		os.Exit(workerMain(os.Args[1:], os.Stdin, os.Stdout))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// postgresDSN returns the DSN of the PostgreSQL server to use.
func postgresDSN() string {
	if v := os.Getenv("HYDRACACHE_POSTGRES_DSN"); v != "" {
		return v
	}
	return defaultPostgresDSN
}

// redisAddr returns the address of the Redis server to use.
func redisAddr() string {
	if v := os.Getenv("HYDRACACHE_REDIS_ADDR"); v != "" {
		return v
	}
	return defaultRedisAddr
}

// config is what the parent was asked to run.
type config struct {
	workers    int
	duration   time.Duration
	rows       int
	writeRatio float64
	clients    int
	sampled    int
	prefix     string
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.workers, "workers", 3, "worker processes")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long the load runs")
	fs.IntVar(&c.rows, "rows", 1000, "rows in the table")
	fs.Float64Var(&c.writeRatio, "write-ratio", 0.05, "fraction of operations that are writes")
	fs.IntVar(&c.clients, "clients", 4, "concurrent clients (goroutines) per worker")
	fs.IntVar(&c.sampled, "sampled", 10, "hot rows whose versions the workers report, for the staleness figures")
	fs.StringVar(&c.prefix, "prefix", "", "Redis key prefix (default: hydracache-cluster-<random>:)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case c.workers < 1 || c.workers > 64:
		return c, fmt.Errorf("-workers must be 1..64, got %d", c.workers)
	case c.duration <= 0 || c.duration > time.Hour:
		return c, fmt.Errorf("-duration must be in (0, 1h], got %v", c.duration)
	case c.rows < 10 || c.rows > 10_000_000:
		return c, fmt.Errorf("-rows must be 10..10000000, got %d", c.rows)
	case c.writeRatio < 0 || c.writeRatio > 1:
		return c, fmt.Errorf("-write-ratio must be in [0, 1], got %v", c.writeRatio)
	case c.clients < 1 || c.clients > 256:
		return c, fmt.Errorf("-clients must be 1..256, got %d", c.clients)
	case c.sampled < 1 || c.sampled > c.rows:
		return c, fmt.Errorf("-sampled must be 1..rows, got %d", c.sampled)
	}
	return c, nil
}

// run is the parent: it checks the services, creates the table, starts
// the workers, drives the load and prints the summary. It returns the
// process's exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "cluster:", err)
		return 2
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	table := "cluster_demo_" + id
	if cfg.prefix == "" {
		cfg.prefix = "hydracache-cluster-" + id + ":"
	}
	dsn, addr := postgresDSN(), redisAddr()

	db, err := openPostgres(ctx, dsn)
	if err != nil {
		fmt.Fprintf(stderr, "cluster: cannot reach PostgreSQL at %s: %v\n"+
			"Start PostgreSQL there (bash scripts/test.sh sets it up), or set HYDRACACHE_POSTGRES_DSN to a server you have.\n",
			redactDSN(dsn), err)
		return 1
	}
	defer db.Close()
	rc, err := openRedis(ctx, addr)
	if err != nil {
		fmt.Fprintf(stderr, "cluster: cannot reach Redis at %s: %v\n"+
			"Start Redis there (bash scripts/test.sh sets it up), or set HYDRACACHE_REDIS_ADDR to host:port of a server you have.\n",
			addr, err)
		return 1
	}
	defer rc.Close()

	// Whatever happens from here (an error, Ctrl-C), the table and the keys
	// are deleted: with a context of their own, as ctx may be done.
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(cctx, `DROP TABLE IF EXISTS `+table); err != nil {
			fmt.Fprintf(stderr, "cluster: drop table %s: %v\n", table, err)
		}
		if err := deletePrefix(cctx, rc, cfg.prefix); err != nil {
			fmt.Fprintf(stderr, "cluster: delete Redis keys under %q: %v\n", cfg.prefix, err)
		}
	}()
	if err := createTable(ctx, db, table, cfg.rows); err != nil {
		fmt.Fprintln(stderr, "cluster: set up:", err)
		return 1
	}

	fmt.Fprintf(stdout, "cluster demo: %d worker processes, %v, %d rows (%d hot rows sampled), write ratio %g, %d clients per worker\n",
		cfg.workers, cfg.duration, cfg.rows, cfg.sampled, cfg.writeRatio, cfg.clients)
	fmt.Fprintf(stdout, "PostgreSQL %s, table %s; Redis %s, prefix %q\n\n", redactDSN(dsn), table, addr, cfg.prefix)

	ws, err := startWorkers(cfg, table, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "cluster:", err)
		return 1
	}
	res, err := drive(ctx, cfg, ws, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "cluster:", err)
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	return report(stdout, cfg, res)
}

// openPostgres opens and pings the database.
func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// openRedis connects a plain client (no client-side caching) for set-up
// and clean-up, and pings the server.
func openRedis(ctx context.Context, addr string) (rueidis.Client, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true,
		ConnWriteTimeout: 2 * time.Second, Dialer: net.Dialer{Timeout: 5 * time.Second}})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Do(pctx, c.B().Ping().Build()).Error(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// createTable creates the run's table with rows rows of version 1, in
// groups of ten consecutive ids (the list reads read one group).
func createTable(ctx context.Context, db *sql.DB, table string, rows int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err := db.ExecContext(ctx, `CREATE TABLE `+table+` (
		id bigint PRIMARY KEY,
		grp integer NOT NULL,
		version bigint NOT NULL,
		payload text NOT NULL)`)
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	_, err = db.ExecContext(ctx, `CREATE INDEX ON `+table+` (grp)`)
	if err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO `+table+` (id, grp, version, payload)
		SELECT i, (i - 1) / 10, 1, md5(i::text) FROM generate_series(1, $1::bigint) AS i`, rows)
	if err != nil {
		return fmt.Errorf("insert rows: %w", err)
	}
	return nil
}

// deletePrefix deletes every key under prefix, with SCAN and UNLINK only
// (store.Redis's Clear), never FLUSHALL.
func deletePrefix(ctx context.Context, client rueidis.Client, prefix string) error {
	st, err := store.NewRedis(client, store.WithPrefix(prefix))
	if err != nil {
		return err
	}
	return st.Clear(ctx)
}

// redactDSN hides a password in a URL DSN.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "(key/value DSN)"
}

// worker is the parent's handle on one worker process and what it
// reported.
type worker struct {
	n     int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready chan struct{} // closed on the worker's "ready" line
	done  chan struct{} // closed when its stdout ended
	ops   atomic.Int64  // operations done, from its progress lines

	// Written by the reader goroutine only, read after done.
	writes []commit
	seens  []seen
	backs  []seen
	lasts  []seen
	stats  map[string]int64
	bad    []string // lines that did not parse
}

// commit is a write of a sampled row: its new version, the wall-clock time
// just before GORM committed, and the time the commit (and the cache's
// invalidation) returned.
type commit struct {
	worker, row, version, start, end int64
}

// seen is a read of a sampled row that returned version: the read's start
// and end, and for "seen" lines the version this process had returned
// before (prev) and the start of the last read that returned it.
type seen struct {
	row, version, start, end, prev, prevLast int64
}

// startWorkers starts cfg.workers copies of this program as workers.
func startWorkers(cfg config, table string, stderr io.Writer) ([]*worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program to start the workers: %w", err)
	}
	var errMu sync.Mutex
	ws := make([]*worker, 0, cfg.workers)
	for i := 1; i <= cfg.workers; i++ {
		args := []string{
			"-id", strconv.Itoa(i), "-table", table, "-prefix", cfg.prefix,
			"-rows", strconv.Itoa(cfg.rows), "-write-ratio", strconv.FormatFloat(cfg.writeRatio, 'g', -1, 64),
			"-clients", strconv.Itoa(cfg.clients), "-sampled", strconv.Itoa(cfg.sampled),
			"-max-life", (cfg.duration + 2*time.Minute).String(),
		}
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), workerEnv+"=1")
		w := &worker{n: i, cmd: cmd, ready: make(chan struct{}), done: make(chan struct{}), stats: map[string]int64{}}
		if w.stdin, err = cmd.StdinPipe(); err != nil {
			killAll(ws)
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			killAll(ws)
			return nil, err
		}
		// exec copies the worker's stderr, and Wait waits for the copy.
		cmd.Stderr = &prefixWriter{mu: &errMu, w: stderr, prefix: fmt.Sprintf("\r[worker %d] ", i)}
		if err := cmd.Start(); err != nil {
			killAll(ws)
			return nil, fmt.Errorf("start worker %d: %w", i, err)
		}
		ws = append(ws, w)
		go w.read(out)
	}
	return ws, nil
}

// prefixWriter writes whole lines to w, each behind prefix, under mu (the
// workers share the parent's stderr).
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

// Write writes the complete lines of p and keeps the rest for later
// (bounded: a line longer than 64 KiB is cut).
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 && len(p.buf) < 64<<10 {
			return len(b), nil
		}
		if i < 0 {
			i = len(p.buf) - 1
		}
		p.mu.Lock()
		_, _ = fmt.Fprintf(p.w, "%s%s\n", p.prefix, bytes.TrimRight(p.buf[:i+1], "\n"))
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
	}
}

// read parses the worker's stdout until it ends.
func (w *worker) read(r io.Reader) {
	defer close(w.done)
	readyOnce := sync.OnceFunc(func() { close(w.ready) })
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		nums := make([]int64, 0, len(f)-1)
		ok := true
		if f[0] != "stats" {
			for _, s := range f[1:] {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					ok = false
					break
				}
				nums = append(nums, v)
			}
		}
		switch {
		case !ok:
			w.bad = append(w.bad, sc.Text())
		case f[0] == "ready":
			readyOnce()
		case f[0] == "p" && len(nums) == 1:
			w.ops.Store(nums[0])
		case f[0] == "w" && len(nums) == 4:
			w.writes = append(w.writes, commit{int64(w.n), nums[0], nums[1], nums[2], nums[3]})
		case f[0] == "s" && len(nums) == 6:
			w.seens = append(w.seens, seen{nums[0], nums[1], nums[2], nums[3], nums[4], nums[5]})
		case f[0] == "b" && len(nums) == 4:
			w.backs = append(w.backs, seen{row: nums[0], version: nums[1], start: nums[2], end: nums[3]})
		case f[0] == "l" && len(nums) == 3:
			w.lasts = append(w.lasts, seen{row: nums[0], prev: nums[1], prevLast: nums[2]})
		case f[0] == "stats":
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					w.bad = append(w.bad, sc.Text())
					break
				}
				w.stats[k] = n
			}
		default:
			w.bad = append(w.bad, sc.Text())
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// send writes one line to the worker's stdin.
func (w *worker) send(line string) {
	_, _ = io.WriteString(w.stdin, line+"\n")
}

// killAll kills the workers' processes and reaps them.
func killAll(ws []*worker) {
	for _, w := range ws {
		if w.cmd.Process != nil {
			_ = w.cmd.Process.Kill()
		}
	}
	for _, w := range ws {
		if w.cmd.Process != nil {
			_ = w.cmd.Wait()
		}
	}
}

// drive waits for the workers to be ready, runs the load for
// cfg.duration with a progress bar, stops the workers and waits for their
// last reports. On any failure, and on ctx's end (Ctrl-C), it kills them.
func drive(ctx context.Context, cfg config, ws []*worker, stderr io.Writer) (res []*worker, err error) {
	defer func() {
		if err != nil {
			killAll(ws)
		}
	}()
	readyBy := time.After(30 * time.Second)
	for _, w := range ws {
		select {
		case <-w.ready:
		case <-w.done:
			return nil, fmt.Errorf("worker %d ended before it was ready (its messages are above)", w.n)
		case <-readyBy:
			return nil, fmt.Errorf("worker %d not ready after 30 s", w.n)
		case <-ctx.Done():
			return nil, errors.New("interrupted")
		}
	}
	for _, w := range ws {
		w.send("go")
	}
	if err := progress(ctx, cfg, ws, stderr); err != nil {
		return nil, err
	}
	for _, w := range ws {
		w.send("stop")
		_ = w.stdin.Close()
	}
	doneBy := time.After(30 * time.Second)
	for _, w := range ws {
		select {
		case <-w.done:
		case <-doneBy:
			return nil, fmt.Errorf("worker %d did not finish within 30 s of the end of the load", w.n)
		case <-ctx.Done():
			return nil, errors.New("interrupted")
		}
		if err := w.cmd.Wait(); err != nil {
			return nil, fmt.Errorf("worker %d: %w (its messages are above)", w.n, err)
		}
	}
	for _, w := range ws {
		if len(w.bad) > 0 {
			return nil, fmt.Errorf("worker %d sent %d lines the parent does not understand, the first: %q", w.n, len(w.bad), w.bad[0])
		}
		if _, ok := w.stats["reads"]; !ok {
			return nil, fmt.Errorf("worker %d ended without its statistics", w.n)
		}
	}
	return ws, nil
}

// progress draws the progress bar on stderr until the load's time is up:
// one line redrawn every 200 ms on a terminal, a plain line every second
// otherwise. It fails if ctx ends or a worker dies.
func progress(ctx context.Context, cfg config, ws []*worker, stderr io.Writer) error {
	tty := isTerminal(stderr)
	start := time.Now()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastOps, lastAt := int64(0), start
	lastPrint := start
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(stderr)
			}
			return errors.New("interrupted")
		case now = <-tick.C:
		}
		for _, w := range ws {
			select {
			case <-w.done:
				if tty {
					fmt.Fprintln(stderr)
				}
				return fmt.Errorf("worker %d ended during the load (its messages are above)", w.n)
			default:
			}
		}
		elapsed := min(now.Sub(start), cfg.duration)
		var ops int64
		for _, w := range ws {
			ops += w.ops.Load()
		}
		rate := float64(ops-lastOps) / now.Sub(lastAt).Seconds()
		lastOps, lastAt = ops, now
		finished := now.Sub(start) >= cfg.duration
		if tty {
			const width = 30
			fill := int(width * elapsed / cfg.duration)
			fmt.Fprintf(stderr, "\r[%s%s] %5.1fs/%.1fs  %8.0f ops/s  %d ops ",
				strings.Repeat("#", fill), strings.Repeat("-", width-fill),
				elapsed.Seconds(), cfg.duration.Seconds(), rate, ops)
			if finished {
				fmt.Fprintln(stderr)
			}
		} else if now.Sub(lastPrint) >= time.Second || finished {
			lastPrint = now
			fmt.Fprintf(stderr, "progress: %.1fs/%.1fs, %.0f ops/s, %d ops\n",
				elapsed.Seconds(), cfg.duration.Seconds(), rate, ops)
		}
		if finished {
			return nil
		}
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// staleness is what the parent computes from the workers' timestamps.
type staleness struct {
	commits    int             // writes of sampled rows
	delays     []time.Duration // commit returned -> first read of it in another process
	unobserved int             // (commit, other process) pairs with no later read of the row
	stale      int             // reads of an older version, started after the commit returned, in the writing process
	staleMax   time.Duration
	crossOld   int // the same in other processes: inside the propagation window
	crossMax   time.Duration
}

// analyze matches every commit of a sampled row against every process's
// reads of that row. A read of an older version that started after the
// commit returned counts once, as stale if it ran in the process that
// wrote (in-process reads must never be stale), as inside the
// propagation window otherwise.
func analyze(ws []*worker) staleness {
	var s staleness
	type key struct{ worker, row int64 }
	seens := map[key][]seen{} // by version, ascending (a worker reports only increases)
	older := map[key]*olderReads{}
	add := func(k key, version, start int64) {
		o := older[k]
		if o == nil {
			o = &olderReads{}
			older[k] = o
		}
		o.reads = append(o.reads, olderRead{version: version, start: start})
	}
	for _, w := range ws {
		for _, e := range w.seens {
			k := key{int64(w.n), e.row}
			seens[k] = append(seens[k], e)
			if e.prev > 0 {
				add(k, e.prev, e.prevLast)
			}
		}
		for _, e := range w.lasts {
			add(key{int64(w.n), e.row}, e.prev, e.prevLast)
		}
		for _, e := range w.backs {
			add(key{int64(w.n), e.row}, e.version, e.start)
		}
	}
	for _, o := range older {
		o.index()
	}
	for _, w := range ws {
		for _, c := range w.writes {
			s.commits++
			for _, p := range ws {
				k := key{int64(p.n), c.row}
				if o := older[k]; o != nil {
					o.match(c, p.n == w.n)
				}
				if p.n == w.n {
					continue
				}
				list := seens[k]
				i, _ := slices.BinarySearchFunc(list, c.version, func(e seen, v int64) int {
					return cmpInt(e.version, v)
				})
				if i == len(list) {
					s.unobserved++
					continue
				}
				s.delays = append(s.delays, time.Duration(max(0, list[i].end-c.end)))
			}
		}
	}
	for _, o := range older {
		for _, r := range o.reads {
			switch {
			case r.own > 0:
				s.stale++
				s.staleMax = max(s.staleMax, r.own)
			case r.cross > 0:
				s.crossOld++
				s.crossMax = max(s.crossMax, r.cross)
			}
		}
	}
	slices.Sort(s.delays)
	return s
}

// olderReads are one process's reads of one row that returned a version
// lower than one it had returned before, or that were its last reads of a
// version: the only reads that can be older than a commit that returned
// before they started.
type olderReads struct {
	reads  []olderRead // by start
	minVer []int64     // minVer[i]: the lowest version in reads[i:]
}

// olderRead is one such read, with how long after the commit of a newer
// version it started (0: none), for commits of its own process and of
// others.
type olderRead struct {
	version, start int64
	own, cross     time.Duration
}

func (o *olderReads) index() {
	slices.SortFunc(o.reads, func(a, b olderRead) int { return cmpInt(a.start, b.start) })
	o.minVer = make([]int64, len(o.reads))
	for i := len(o.reads) - 1; i >= 0; i-- {
		o.minVer[i] = o.reads[i].version
		if i+1 < len(o.reads) {
			o.minVer[i] = min(o.minVer[i], o.minVer[i+1])
		}
	}
}

// match marks the reads that started after c returned and returned an
// older version. Versions grow with time, so the scan ends soon after
// c.end: once every later read has a version of c's or higher.
func (o *olderReads) match(c commit, own bool) {
	i, _ := slices.BinarySearchFunc(o.reads, c.end+1, func(r olderRead, t int64) int { return cmpInt(r.start, t) })
	for ; i < len(o.reads) && o.minVer[i] < c.version; i++ {
		r := &o.reads[i]
		if r.version >= c.version {
			continue
		}
		lag := time.Duration(r.start - c.end)
		if own {
			r.own = max(r.own, lag)
		} else {
			r.cross = max(r.cross, lag)
		}
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// report prints the summary table and the staleness figures, and returns
// the exit code: 1 if a stale read was found.
func report(out io.Writer, cfg config, ws []*worker) int {
	fmt.Fprintf(out, "%-8s %7s %9s %9s %9s %10s %12s %9s %7s %7s\n",
		"process", "pid", "reads", "hits", "hit ratio", "read stmts", "stmts saved", "saved", "writes", "errors")
	var tot [7]int64
	for _, w := range ws {
		st := w.stats
		reads, hits, misses := st["reads"], st["hits"], st["misses"]
		stmts := st["read_stmts"]
		row := [7]int64{reads, hits, misses, stmts, reads - stmts, st["writes"], st["errors"]}
		for i := range tot {
			tot[i] += row[i]
		}
		fmt.Fprintf(out, "%-8s %7d %s\n", fmt.Sprintf("worker %d", w.n), w.cmd.Process.Pid, reportRow(row))
	}
	fmt.Fprintf(out, "%-8s %7s %s\n", "total", "-", reportRow(tot))
	fmt.Fprintln(out, "\n(hit ratio: cache hits / (hits + misses); stmts saved: reads that sent no statement to the database)")

	s := analyze(ws)
	fmt.Fprintf(out, "\ncross-process staleness, from a write's commit returning to the first read of the new version in another process\n")
	fmt.Fprintf(out, "(%d writes of the %d sampled rows, %d measurements", s.commits, cfg.sampled, len(s.delays))
	if s.unobserved > 0 {
		fmt.Fprintf(out, ", %d with no later read in that process", s.unobserved)
	}
	fmt.Fprintln(out, "):")
	if n := len(s.delays); n > 0 {
		q := func(p float64) time.Duration { return s.delays[int(p*float64(n-1))] }
		fmt.Fprintf(out, "  p50 %v   p99 %v   max %v\n", roundDur(q(0.5)), roundDur(q(0.99)), roundDur(s.delays[n-1]))
	} else {
		fmt.Fprintln(out, "  none (needs at least 2 workers and writes of sampled rows)")
	}
	var sampledReads int64
	for _, w := range ws {
		sampledReads += w.stats["sampled_reads"]
	}
	if sampledReads > 0 {
		// A first fresh read comes with the first read after the
		// invalidation arrived: these figures include the wait for it.
		every := time.Duration(float64(cfg.duration) * float64(int64(cfg.sampled)*int64(len(ws))) / float64(sampledReads))
		fmt.Fprintf(out, "  (each process read each sampled row about every %v: the figures include that wait for the next read)\n", roundDur(every))
	}
	fmt.Fprintf(out, "reads of an older version started after the newer one's commit returned, in other processes: %d", s.crossOld)
	if s.crossOld > 0 {
		fmt.Fprintf(out, " (all within %v of the commit: before Redis's invalidation push arrived)", roundDur(s.crossMax))
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "stale reads (the same, in the process that wrote): %d\n", s.stale)
	if s.stale > 0 {
		fmt.Fprintf(out, "STALE READS FOUND: up to %v after the commit returned\n", roundDur(s.staleMax))
		return 1
	}
	return 0
}

func reportRow(r [7]int64) string {
	reads, hits, misses, stmts, saved, writes, errs := r[0], r[1], r[2], r[3], r[4], r[5], r[6]
	return fmt.Sprintf("%9d %9d %9s %10d %12d %9s %7d %7d",
		reads, hits, pct(hits, hits+misses), stmts, saved, pct(saved, reads), writes, errs)
}

func pct(a, b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
