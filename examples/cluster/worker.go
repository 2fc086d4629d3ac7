package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/hydracache/hydracache/core"
	hydragorm "github.com/hydracache/hydracache/plugin/gorm"
	"github.com/hydracache/hydracache/store"
)

// Item is a row of the run's table. Version goes up by one with every
// write, so a read's Version tells which write it saw.
type Item struct {
	ID      int64
	Grp     int
	Version int64
	Payload string
}

// tableName is the run's table, set once from -table before GORM first
// sees Item (GORM caches a model's table name).
var tableName string

// TableName returns the run's table.
func (Item) TableName() string { return tableName }

// CachePolicy opts Item in to caching.
func (Item) CachePolicy() core.Policy { return core.Policy{TTL: 10 * time.Minute} }

// namespace is shared by every worker: the plugin's and the engine's keys
// and tags must be the same in all processes using one database.
const namespace = "cluster"

// workerConfig is what the parent passes to a worker.
type workerConfig struct {
	id         int
	table      string
	prefix     string
	rows       int
	writeRatio float64
	clients    int
	sampled    int
	maxLife    time.Duration
}

// workerMain runs one worker: it opens the database and the store, says
// "ready", runs the load from "go" to "stop" (lines on stdin), then prints
// its statistics. Everything it reports goes to stdout, one line each (see
// the line* methods of reporter). It exits when stdin closes before
// "stop" (the parent is gone) and after -max-life whatever happens.
func workerMain(args []string, stdin io.Reader, stdout io.Writer) int {
	// Ctrl-C in a terminal reaches the whole process group: the parent
	// decides, and kills the workers.
	signal.Ignore(os.Interrupt)
	var c workerConfig
	fs := flag.NewFlagSet("cluster worker", flag.ContinueOnError)
	fs.IntVar(&c.id, "id", 0, "worker number")
	fs.StringVar(&c.table, "table", "", "table")
	fs.StringVar(&c.prefix, "prefix", "", "Redis key prefix")
	fs.IntVar(&c.rows, "rows", 0, "rows in the table")
	fs.Float64Var(&c.writeRatio, "write-ratio", 0, "fraction of writes")
	fs.IntVar(&c.clients, "clients", 1, "concurrent clients")
	fs.IntVar(&c.sampled, "sampled", 1, "hot rows reported")
	fs.DurationVar(&c.maxLife, "max-life", 5*time.Minute, "exit after this long whatever happens")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.table == "" || c.prefix == "" || c.rows < 1 || c.sampled < 1 || c.clients < 1 {
		fmt.Fprintln(os.Stderr, "cluster worker: bad arguments:", args)
		return 2
	}
	time.AfterFunc(c.maxLife, func() {
		fmt.Fprintln(os.Stderr, "cluster worker: -max-life reached, exiting")
		os.Exit(3)
	})
	if err := workerRun(c, stdin, stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func workerRun(c workerConfig, stdin io.Reader, stdout io.Writer) error {
	tableName = c.table
	out := newReporter(stdout)
	defer out.close()

	// Commands from the parent. A closed stdin before "stop" means the
	// parent is gone: nobody would read what follows, so exit at once.
	goCh := make(chan struct{})
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		sc := bufio.NewScanner(stdin)
		started := false
		for sc.Scan() {
			switch sc.Text() {
			case "go":
				if !started {
					started = true
					close(goCh)
				}
			case "stop":
				stop()
				return
			}
		}
		os.Exit(4)
	}()

	var cnt counters
	sqlDB, err := sql.Open("pgx", postgresDSN())
	if err != nil {
		return fmt.Errorf("open PostgreSQL: %w", err)
	}
	defer sqlDB.Close()
	sqlDB.SetMaxOpenConns(c.clients + 2)
	sqlDB.SetMaxIdleConns(c.clients + 2)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: counting{sqlDB, &cnt}}),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		return fmt.Errorf("open PostgreSQL: %w", err)
	}
	st, err := store.DialRedis(rueidis.ClientOption{InitAddress: []string{redisAddr()}}, store.WithPrefix(c.prefix))
	if err != nil {
		return fmt.Errorf("connect Redis: %w", err)
	}
	defer st.Close()
	cache, err := core.New(st, core.WithNamespace(namespace))
	if err != nil {
		return err
	}
	defer cache.Close()
	if err := db.Use(hydragorm.New(cache, hydragorm.WithNamespace(namespace))); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(runCtx, 5*time.Second)
	err = sqlDB.PingContext(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("ping PostgreSQL: %w", err)
	}

	out.line("ready")
	select {
	case <-goCh:
	case <-runCtx.Done():
		return errors.New("stopped before the load began")
	}

	l := &load{c: c, db: db, out: out, cnt: &cnt, seen: newTracker(c.sampled, out)}
	var wg sync.WaitGroup
	for i := range c.clients {
		wg.Go(func() { l.client(runCtx, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(c.id*1000+i)))) })
	}
	tick := time.NewTicker(200 * time.Millisecond)
	for loop := true; loop; {
		select {
		case <-tick.C:
			out.line("p " + strconv.FormatInt(l.ops.Load(), 10))
		case <-runCtx.Done():
			loop = false
		}
	}
	tick.Stop()
	wg.Wait()
	out.line("p " + strconv.FormatInt(l.ops.Load(), 10))
	sampledReads := l.seen.finish()
	s := cache.Stats()
	out.line(fmt.Sprintf("stats reads=%d key_reads=%d list_reads=%d writes=%d errors=%d hits=%d misses=%d loads=%d bumps=%d store_errors=%d read_stmts=%d tx_stmts=%d sampled_reads=%d",
		l.keyReads.Load()+l.listReads.Load(), l.keyReads.Load(), l.listReads.Load(), l.writes.Load(), l.errors.Load(),
		s.Hits, s.Misses, s.Loads, s.Bumps, s.StoreErrors, cnt.reads.Load(), cnt.tx.Load(), sampledReads))
	return nil
}

// load is one worker's load: clients goroutines running operations until
// the parent says stop.
type load struct {
	c    workerConfig
	db   *gorm.DB
	out  *reporter
	cnt  *counters
	seen *tracker

	ops, keyReads, listReads, writes, errors atomic.Int64
	errLogged                                atomic.Int64
}

// pick draws a row: half the time one of the sampled hot rows, otherwise
// any row.
func (l *load) pick(r *rand.Rand) int64 {
	if r.IntN(2) == 0 {
		return 1 + r.Int64N(int64(l.c.sampled))
	}
	return 1 + r.Int64N(int64(l.c.rows))
}

// client runs operations until ctx ends. Each operation has its own
// bounded context, so the end of the load does not cut one in half.
func (l *load) client(ctx context.Context, r *rand.Rand) {
	for ctx.Err() == nil {
		id := l.pick(r)
		octx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		switch x := r.Float64(); {
		case x < l.c.writeRatio:
			err = l.write(octx, r, id)
		case x < l.c.writeRatio+(1-l.c.writeRatio)*0.2:
			err = l.list(octx, int((id-1)/10))
		default:
			err = l.byKey(octx, id)
		}
		cancel()
		l.ops.Add(1)
		if err != nil {
			l.errors.Add(1)
			if l.errLogged.Add(1) <= 5 {
				fmt.Fprintln(os.Stderr, "operation failed:", err)
			}
		}
	}
}

// byKey reads one row by primary key (an entity entry).
func (l *load) byKey(ctx context.Context, id int64) error {
	l.keyReads.Add(1)
	start := time.Now().UnixNano()
	var it Item
	if err := l.db.WithContext(ctx).First(&it, id).Error; err != nil {
		return err
	}
	l.seen.observe(it.ID, it.Version, start, time.Now().UnixNano())
	return nil
}

// list reads one group of ten rows (a collection entry, invalidated by any
// write to the table).
func (l *load) list(ctx context.Context, grp int) error {
	l.listReads.Add(1)
	start := time.Now().UnixNano()
	var items []Item
	if err := l.db.WithContext(ctx).Where("grp = ?", grp).Order("id").Find(&items).Error; err != nil {
		return err
	}
	end := time.Now().UnixNano()
	for _, it := range items {
		l.seen.observe(it.ID, it.Version, start, end)
	}
	return nil
}

// write updates one row in a transaction: a locking read, then the new
// version. A write of a sampled row is reported with the time just before
// the commit and the time the commit returned (the plugin has then
// published the invalidation).
func (l *load) write(ctx context.Context, r *rand.Rand, id int64) error {
	l.writes.Add(1)
	var version, before int64
	err := l.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var it Item
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&it, id).Error; err != nil {
			return err
		}
		version = it.Version + 1
		err := tx.Model(&it).Updates(map[string]any{"version": version, "payload": strconv.FormatUint(r.Uint64(), 36)}).Error
		before = time.Now().UnixNano()
		return err
	})
	after := time.Now().UnixNano()
	if err != nil {
		return err
	}
	if id <= int64(l.c.sampled) {
		l.out.line(fmt.Sprintf("w %d %d %d %d", id, version, before, after))
	}
	return nil
}

// tracker follows, for each sampled row, the highest version this process
// has returned, and reports what the parent needs to time staleness:
//
//	s row version start end prev prevLast  first read of a higher version
//	b row version start end                a read of a version lower than one returned before
//	l row version lastStart                at the end: the last read of the highest version
//
// prev and prevLast are the version returned before and the start of the
// last read that returned it: a read of an old version after a newer
// one's commit shows up as a prevLast after that commit.
type tracker struct {
	mu    sync.Mutex
	rows  []rowSeen
	reads int64 // reads of sampled rows (a list read counts once per sampled row in it)
	out   *reporter
}

type rowSeen struct{ version, lastStart int64 }

func newTracker(sampled int, out *reporter) *tracker {
	return &tracker{rows: make([]rowSeen, sampled+1), out: out}
}

// observe records a read of row that returned version.
func (t *tracker) observe(row, version, start, end int64) {
	if row < 1 || row >= int64(len(t.rows)) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reads++
	r := &t.rows[row]
	switch {
	case version > r.version:
		t.out.line(fmt.Sprintf("s %d %d %d %d %d %d", row, version, start, end, r.version, r.lastStart))
		*r = rowSeen{version, start}
	case version == r.version:
		r.lastStart = max(r.lastStart, start)
	default:
		t.out.line(fmt.Sprintf("b %d %d %d %d", row, version, start, end))
	}
}

// finish reports the last read of each row's highest version, and
// returns how many reads of sampled rows it saw.
func (t *tracker) finish() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for row, r := range t.rows {
		if r.version > 0 {
			t.out.line(fmt.Sprintf("l %d %d %d", row, r.version, r.lastStart))
		}
	}
	return t.reads
}

// reporter writes lines to the parent, buffered and flushed every 50 ms:
// the lines carry their own timestamps, so their delivery may lag.
type reporter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newReporter(w io.Writer) *reporter {
	r := &reporter{w: bufio.NewWriter(w), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.mu.Lock()
				_ = r.w.Flush()
				r.mu.Unlock()
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

// line sends one line; "ready" is flushed at once.
func (r *reporter) line(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.w.WriteString(s)
	_ = r.w.WriteByte('\n')
	if s == "ready" {
		_ = r.w.Flush()
	}
}

// close stops the flusher and flushes what is left.
func (r *reporter) close() {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	_ = r.w.Flush()
	r.mu.Unlock()
}

// counters count the statements that reached the database.
type counters struct {
	reads atomic.Int64 // outside transactions: the load's reads that the cache did not answer
	other atomic.Int64 // other statements outside transactions
	tx    atomic.Int64 // inside transactions: the writes
}

// counting is the database handle GORM gets (the plugin wraps it): it
// counts every statement that reaches the database.
type counting struct {
	db  *sql.DB
	cnt *counters
}

// PrepareContext prepares on the database.
func (c counting) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return c.db.PrepareContext(ctx, q)
}

// ExecContext counts and runs a statement outside a transaction.
func (c counting) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.cnt.other.Add(1)
	return c.db.ExecContext(ctx, q, args...)
}

// QueryContext counts and runs a query outside a transaction.
func (c counting) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.cnt.reads.Add(1)
	return c.db.QueryContext(ctx, q, args...)
}

// QueryRowContext counts and runs a one-row query outside a transaction.
func (c counting) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	c.cnt.reads.Add(1)
	return c.db.QueryRowContext(ctx, q, args...)
}

// BeginTx begins a transaction whose statements are counted too.
func (c counting) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return countingTx{tx, c.cnt}, nil
}

// GetDBConn returns the *sql.DB (for gorm.DB.DB).
func (c counting) GetDBConn() (*sql.DB, error) { return c.db, nil }

// Ping pings the database.
func (c counting) Ping() error { return c.db.Ping() }

// countingTx is a transaction that counts its statements.
type countingTx struct {
	*sql.Tx
	cnt *counters
}

// ExecContext counts and runs a statement.
func (t countingTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.cnt.tx.Add(1)
	return t.Tx.ExecContext(ctx, q, args...)
}

// QueryContext counts and runs a query.
func (t countingTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.cnt.tx.Add(1)
	return t.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext counts and runs a one-row query.
func (t countingTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	t.cnt.tx.Add(1)
	return t.Tx.QueryRowContext(ctx, q, args...)
}
