// Package consistency checks that a cached read path never returns data
// older than a write that committed before the read started.
//
// The checker is ORM-agnostic: it drives a Target, two functions the user
// writes over the cached ORM (a GORM *gorm.DB with hydragorm, an Ent client
// on hydraent, or anything else):
//
//   - Write(ctx, key, version) commits version as the new value of one row
//     and returns after the commit (and after whatever the cache does on
//     commit);
//   - Read(ctx, key) reads that row through the cache and returns the
//     version it holds.
//
// Record runs writers and readers concurrently for a bounded time or number
// of operations and logs every operation with its start and end time. Check
// takes one or more logs (from one process or several) and reports every
// read whose version is older than the newest version whose write had
// returned before the read started. Run does both in one process.
//
// Versions are int64s that only grow per key: the checker gives each key a
// single writer in a Run and writes max(previous+1, wall clock in
// nanoseconds), so later runs and other processes on the machine write
// larger versions without coordination. Processes that write must each own distinct keys
// (Config.WriteKeys): two writers of one key could commit out of order, and
// the checker would then report the database's own last-writer-wins as a
// stale read.
//
// # Clocks
//
// Times are nanoseconds since the Unix epoch, taken as the wall clock at
// the start of Record plus the process's monotonic clock since then, so a
// wall-clock step during a run does not reorder events. Logs from several
// processes are compared on these times, which is only meaningful when the
// processes run on one machine (one clock). A write's time is taken after
// Write returns and a read's before Read is called, so "returned before the
// read started" is never claimed when it did not happen in one process; across
// processes it relies on the shared clock.
//
// # Several processes
//
// Each process calls Record with its own roles and keys, writes its Log with
// Log.WriteTo (a line protocol, see ParseLog) to a file or its standard
// output, and one process reads them all with ParseLog and calls Check.
// StartChild and the Child* functions do this for a test binary that
// re-executes itself.
//
// # Proving the check bites
//
// WithoutInvalidation wraps the cache's store so that HydraCache's
// invalidations are dropped; a run on it should report violations, which
// shows that the workload and the Target can see a stale read at all.
package consistency

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is the system under test: a set of rows, numbered 0 to
// Config.Keys-1, each holding an int64 version.
type Target interface {
	// Write commits version as key's new value and returns after the
	// commit. It is never called concurrently for one key.
	Write(ctx context.Context, key int, version int64) error
	// Read returns the version key holds, read through the cache.
	Read(ctx context.Context, key int) (int64, error)
}

// Funcs is a Target made of two functions.
type Funcs struct {
	// WriteFunc is Target.Write.
	WriteFunc func(ctx context.Context, key int, version int64) error
	// ReadFunc is Target.Read.
	ReadFunc func(ctx context.Context, key int) (int64, error)
}

// Write calls f.WriteFunc.
func (f Funcs) Write(ctx context.Context, key int, version int64) error {
	return f.WriteFunc(ctx, key, version)
}

// Read calls f.ReadFunc.
func (f Funcs) Read(ctx context.Context, key int) (int64, error) { return f.ReadFunc(ctx, key) }

// Config says what one process runs. A run ends when Duration has passed,
// when every writer and reader has reached its bound, when StopAfter stale
// reads were seen, or when the context ends, whichever is first.
type Config struct {
	// Keys is the number of rows (0 to Keys-1) that readers read.
	Keys int
	// WriteKeys are the keys this process's writers write; nil means every
	// key. Each key gets one writer. Processes that write must be given
	// disjoint WriteKeys.
	WriteKeys []int
	// Writers and Readers are the numbers of goroutines. Either may be
	// zero (a process that only reads, or only writes).
	Writers, Readers int
	// Duration bounds the run; zero means no time bound (then MaxWrites
	// and MaxReads must bound every role that runs).
	Duration time.Duration
	// MaxWrites and MaxReads bound the number of operations of this
	// process over all its writers (readers); zero means no bound.
	MaxWrites, MaxReads int
	// WritePause is how long a writer waits after each write, so that
	// readers get to read (and cache) each version for a while.
	WritePause time.Duration
	// StopAfter ends the run once readers have seen this many stale reads
	// against this process's own writes (0: never stop early). Stale reads
	// against other processes' writes are found only by Check.
	StopAfter int
}

func (c *Config) validate() error {
	switch {
	case c.Keys <= 0:
		return errors.New("consistency: Config.Keys must be positive")
	case c.Writers < 0 || c.Readers < 0:
		return errors.New("consistency: negative Writers or Readers")
	case c.Writers == 0 && c.Readers == 0:
		return errors.New("consistency: no writers and no readers")
	case c.Duration <= 0 && c.Writers > 0 && c.MaxWrites <= 0:
		return errors.New("consistency: writers need Duration or MaxWrites")
	case c.Duration <= 0 && c.Readers > 0 && c.MaxReads <= 0:
		return errors.New("consistency: readers need Duration or MaxReads")
	}
	for _, k := range c.WriteKeys {
		if k < 0 || k >= c.Keys {
			return fmt.Errorf("consistency: write key %d outside 0..%d", k, c.Keys-1)
		}
	}
	if c.Writers > 0 && c.WriteKeys != nil && len(c.WriteKeys) < c.Writers {
		return fmt.Errorf("consistency: %d writers for %d write keys", c.Writers, len(c.WriteKeys))
	}
	if c.Writers > c.Keys {
		return fmt.Errorf("consistency: %d writers for %d keys", c.Writers, c.Keys)
	}
	return nil
}

// Op is one operation in a Log: a write that returned without error, or a
// read. Times are Unix nanoseconds (see the package comment on clocks).
type Op struct {
	// Key is the row.
	Key int
	// Version is the version written, or the version the read returned.
	Version int64
	// Start is when the call began, End when it returned.
	Start, End int64
}

// Log is what one process did in a run.
type Log struct {
	// Writes are the writes that returned without error.
	Writes []Op
	// Reads are the reads that returned without error.
	Reads []Op
	// FailedWrites and FailedReads count calls that returned an error. A
	// failed write may still have committed; its version is not counted as
	// committed, and reading it is a violation only once a newer write
	// has returned.
	FailedWrites, FailedReads int
	// Errors holds the first few errors, as text.
	Errors []string
}

// maxErrors bounds Log.Errors and Report.Errors.
const maxErrors = 10

func (l *Log) addError(s string) {
	if len(l.Errors) < maxErrors {
		l.Errors = append(l.Errors, s)
	}
}

// clock gives Unix nanoseconds: the wall clock at its creation plus the
// monotonic time since.
type clock struct {
	base time.Time
	wall int64
}

func newClock() clock {
	b := time.Now()
	return clock{base: b, wall: b.UnixNano()}
}

func (c clock) now() int64 { return c.wall + int64(time.Since(c.base)) }

// Run records one process's run and checks it: Check(0, log).
func Run(ctx context.Context, t Target, cfg Config) (*Report, error) {
	l, err := Record(ctx, t, cfg)
	if err != nil {
		return nil, err
	}
	return Check(0, l), nil
}

// Record runs cfg's writers and readers against t and returns what they
// did. Errors from t are counted in the Log, not returned; the error is for
// an invalid Config.
func Record(ctx context.Context, t Target, cfg Config) (*Log, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	clk := newClock()
	var deadline int64
	if cfg.Duration > 0 {
		deadline = clk.now() + int64(cfg.Duration)
	}
	var (
		stop        atomic.Bool
		writes      atomic.Int64
		reads       atomic.Int64
		stale       atomic.Int64
		committed   = make([]atomic.Int64, cfg.Keys) // newest version returned, per key
		log         Log
		writerLogs  = make([]Log, cfg.Writers)
		readerLogs  = make([]Log, cfg.Readers)
		wg          sync.WaitGroup
		writeKeys   = cfg.WriteKeys
		more        = func(n *atomic.Int64, max int) bool { return max <= 0 || n.Add(1) <= int64(max) }
		timeIsUp    = func() bool { return stop.Load() || ctx.Err() != nil || (deadline > 0 && clk.now() >= deadline) }
		errorString = func(op string, key int, err error) string { return fmt.Sprintf("%s key %d: %v", op, key, err) }
	)
	if writeKeys == nil {
		writeKeys = make([]int, cfg.Keys)
		for i := range writeKeys {
			writeKeys[i] = i
		}
	}
	for w := range cfg.Writers {
		var mine []int
		for i, k := range writeKeys {
			if i%cfg.Writers == w {
				mine = append(mine, k)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := &writerLogs[w]
			last := make([]int64, len(mine))
			for i := 0; !timeIsUp() && more(&writes, cfg.MaxWrites); i++ {
				j := i % len(mine)
				key := mine[j]
				v := max(last[j]+1, clk.now())
				last[j] = v
				start := clk.now()
				err := t.Write(ctx, key, v)
				end := clk.now()
				if err != nil {
					l.FailedWrites++
					l.addError(errorString("write", key, err))
				} else {
					l.Writes = append(l.Writes, Op{Key: key, Version: v, Start: start, End: end})
					storeMax(&committed[key], v)
				}
				if cfg.WritePause > 0 {
					time.Sleep(cfg.WritePause)
				}
			}
		}()
	}
	for r := range cfg.Readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := &readerLogs[r]
			for i := 0; !timeIsUp() && more(&reads, cfg.MaxReads); i++ {
				key := (i + r) % cfg.Keys
				floor := committed[key].Load()
				start := clk.now()
				v, err := t.Read(ctx, key)
				end := clk.now()
				if err != nil {
					l.FailedReads++
					l.addError(errorString("read", key, err))
					continue
				}
				l.Reads = append(l.Reads, Op{Key: key, Version: v, Start: start, End: end})
				if v < floor && cfg.StopAfter > 0 && stale.Add(1) >= int64(cfg.StopAfter) {
					stop.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	for _, parts := range [][]Log{writerLogs, readerLogs} {
		for _, p := range parts {
			log.Writes = append(log.Writes, p.Writes...)
			log.Reads = append(log.Reads, p.Reads...)
			log.FailedWrites += p.FailedWrites
			log.FailedReads += p.FailedReads
			for _, e := range p.Errors {
				log.addError(e)
			}
		}
	}
	return &log, nil
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// Violation is a read that returned a version older than one whose write
// had returned before the read started.
type Violation struct {
	// Key is the row read.
	Key int
	// ReadStart and ReadEnd bound the read call.
	ReadStart, ReadEnd time.Time
	// Seen is the version the read returned.
	Seen int64
	// Committed is the newest version whose write returned before the read
	// started, and CommittedAt when that write returned.
	Committed   int64
	CommittedAt time.Time
	// StaleSince is when the first write of a version newer than Seen
	// returned; Staleness is ReadStart minus StaleSince: how long the read
	// was behind.
	StaleSince time.Time
	Staleness  time.Duration
	// ReadLog and WriteLog are the positions, among Check's logs, of the
	// log holding the read and of the one holding the first newer write:
	// equal when the read was stale in the writer's own process.
	ReadLog, WriteLog int
}

// String describes v on one line.
func (v Violation) String() string {
	where := "in the writer's process"
	if v.ReadLog != v.WriteLog {
		where = fmt.Sprintf("in log %d, written in log %d", v.ReadLog, v.WriteLog)
	}
	return fmt.Sprintf("key %d: read at %s (%s) saw version %d, but version %d had committed at %s (stale for %v)",
		v.Key, v.ReadStart.UTC().Format("15:04:05.000000"), where, v.Seen, v.Committed,
		v.CommittedAt.UTC().Format("15:04:05.000000"), v.Staleness)
}

// Report is the result of Check.
type Report struct {
	// Writes and Reads count the successful operations checked.
	Writes, Reads int
	// FailedWrites and FailedReads count operations that returned an
	// error, and Errors holds the first few.
	FailedWrites, FailedReads int
	Errors                    []string
	// Checked counts the reads that started after some write of their key
	// had returned: the reads that could have been stale.
	Checked int
	// Violations lists every stale read outside the grace period, in
	// order of read start.
	Violations []Violation
	// WithinGrace counts stale reads in another process than the
	// writer's that started less than the grace period after the first
	// newer write returned; they are not violations. MaxWithinGrace is the
	// largest staleness among them.
	WithinGrace    int
	MaxWithinGrace time.Duration
	// Grace is the grace period the check used.
	Grace time.Duration
	// MaxStaleness is the largest Staleness among the violations.
	MaxStaleness time.Duration
	// Span is the time from the first operation's start to the last one's
	// end.
	Span time.Duration
}

// OK reports whether the check found no violation.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// String summarises r on one line, followed by the first few violations
// and errors, one per line.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "consistency: %d writes, %d reads (%d checked) over %v: %d stale reads",
		r.Writes, r.Reads, r.Checked, r.Span.Round(time.Millisecond), len(r.Violations))
	if len(r.Violations) > 0 {
		fmt.Fprintf(&b, " (max %v stale)", r.MaxStaleness)
	}
	if r.Grace > 0 {
		fmt.Fprintf(&b, ", %d within the %v grace between processes", r.WithinGrace, r.Grace)
		if r.WithinGrace > 0 {
			fmt.Fprintf(&b, " (max %v)", r.MaxWithinGrace)
		}
	}
	if r.FailedWrites+r.FailedReads > 0 {
		fmt.Fprintf(&b, ", %d failed writes, %d failed reads", r.FailedWrites, r.FailedReads)
	}
	for i, v := range r.Violations {
		if i == maxErrors {
			fmt.Fprintf(&b, "\n  ... and %d more", len(r.Violations)-i)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(v.String())
	}
	for _, e := range r.Errors {
		b.WriteString("\n  error: ")
		b.WriteString(e)
	}
	return b.String()
}

// Check merges logs (of one run, from one or more processes) and reports
// every read whose version is older than the newest version whose write
// returned before the read started.
//
// grace is the propagation bound between processes: a stale read that
// started less than grace after the first newer write returned, in a
// process other than the writer's (another log), is counted in
// Report.WithinGrace instead. A read in the writer's own process gets no
// grace. Across processes sharing Redis, HydraCache's staleness is bounded
// by the delivery of Redis's invalidation pushes, not zero (see the
// README); a grace of zero reports every stale read.
func Check(grace time.Duration, logs ...*Log) *Report {
	r := &Report{Grace: grace}
	type write struct {
		Op
		log int
	}
	type history struct {
		ops    []write // by End
		newest []int64 // newest[i]: max version of ops[:i+1]
	}
	perKey := map[int]*history{}
	var reads []write
	first, last := int64(0), int64(0)
	span := func(o Op) {
		if first == 0 || o.Start < first {
			first = o.Start
		}
		if o.End > last {
			last = o.End
		}
	}
	for i, l := range logs {
		if l == nil {
			continue
		}
		for _, w := range l.Writes {
			h := perKey[w.Key]
			if h == nil {
				h = &history{}
				perKey[w.Key] = h
			}
			h.ops = append(h.ops, write{w, i})
			span(w)
		}
		for _, o := range l.Reads {
			reads = append(reads, write{o, i})
			span(o)
		}
		r.FailedWrites += l.FailedWrites
		r.FailedReads += l.FailedReads
		for _, e := range l.Errors {
			if len(r.Errors) < maxErrors {
				r.Errors = append(r.Errors, e)
			}
		}
	}
	for _, h := range perKey {
		sort.SliceStable(h.ops, func(i, j int) bool { return h.ops[i].End < h.ops[j].End })
		h.newest = make([]int64, len(h.ops))
		for i, o := range h.ops {
			h.newest[i] = o.Version
			if i > 0 && h.newest[i-1] > o.Version {
				h.newest[i] = h.newest[i-1]
			}
		}
		r.Writes += len(h.ops)
	}
	sort.SliceStable(reads, func(i, j int) bool { return reads[i].Start < reads[j].Start })
	r.Reads = len(reads)
	for _, o := range reads {
		h := perKey[o.Key]
		if h == nil {
			continue
		}
		// n writes of the key returned before the read started.
		n := sort.Search(len(h.ops), func(i int) bool { return h.ops[i].End >= o.Start })
		if n == 0 {
			continue
		}
		r.Checked++
		if o.Version >= h.newest[n-1] {
			continue
		}
		// The first write (by return time) of a version newer than seen.
		f := sort.Search(n, func(i int) bool { return h.newest[i] > o.Version })
		since := h.ops[f].End
		staleness := time.Duration(o.Start - since)
		if staleness < grace && h.ops[f].log != o.log {
			r.WithinGrace++
			r.MaxWithinGrace = max(r.MaxWithinGrace, staleness)
			continue
		}
		// The write that made newest[n-1] the floor.
		c := n - 1
		for h.ops[c].Version != h.newest[n-1] {
			c--
		}
		r.Violations = append(r.Violations, Violation{
			Key:         o.Key,
			ReadStart:   time.Unix(0, o.Start),
			ReadEnd:     time.Unix(0, o.End),
			Seen:        o.Version,
			Committed:   h.newest[n-1],
			CommittedAt: time.Unix(0, h.ops[c].End),
			StaleSince:  time.Unix(0, since),
			Staleness:   staleness,
			ReadLog:     o.log,
			WriteLog:    h.ops[f].log,
		})
		r.MaxStaleness = max(r.MaxStaleness, staleness)
	}
	r.Span = time.Duration(last - first)
	return r
}
