package consistency

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// linePrefix starts every line of the log protocol; ParseLog ignores lines
// without it, so a log can share a stream with other output.
const linePrefix = "hcc1 "

// WriteTo writes l in the line protocol that ParseLog reads: one line per
// operation,
//
//	hcc1 w KEY VERSION START END    a write that returned
//	hcc1 r KEY VERSION START END    a read
//	hcc1 fw N                       N failed writes
//	hcc1 fr N                       N failed reads
//	hcc1 e TEXT                     an error message
//
// with times in Unix nanoseconds.
func (l *Log) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	cw := &countWriter{w: bw}
	for _, o := range l.Writes {
		fmt.Fprintf(cw, "%sw %d %d %d %d\n", linePrefix, o.Key, o.Version, o.Start, o.End)
	}
	for _, o := range l.Reads {
		fmt.Fprintf(cw, "%sr %d %d %d %d\n", linePrefix, o.Key, o.Version, o.Start, o.End)
	}
	if l.FailedWrites > 0 {
		fmt.Fprintf(cw, "%sfw %d\n", linePrefix, l.FailedWrites)
	}
	if l.FailedReads > 0 {
		fmt.Fprintf(cw, "%sfr %d\n", linePrefix, l.FailedReads)
	}
	for _, e := range l.Errors {
		fmt.Fprintf(cw, "%se %s\n", linePrefix, strings.ReplaceAll(e, "\n", " "))
	}
	if cw.err != nil {
		return cw.n, cw.err
	}
	return cw.n, bw.Flush()
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// ParseLog reads a Log written by Log.WriteTo. Lines that do not start with
// the protocol's prefix are skipped; a malformed protocol line is an error.
func ParseLog(r io.Reader) (*Log, error) {
	l := &Log{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text, ok := strings.CutPrefix(sc.Text(), linePrefix)
		if !ok {
			continue
		}
		kind, rest, _ := strings.Cut(text, " ")
		var err error
		switch kind {
		case "w", "r":
			var o Op
			o, err = parseOp(rest)
			if kind == "w" {
				l.Writes = append(l.Writes, o)
			} else {
				l.Reads = append(l.Reads, o)
			}
		case "fw", "fr":
			var n int
			n, err = strconv.Atoi(rest)
			if kind == "fw" {
				l.FailedWrites += n
			} else {
				l.FailedReads += n
			}
		case "e":
			l.addError(rest)
		case "ready":
			// StartChild's handshake, when the log shares standard output.
		default:
			err = fmt.Errorf("unknown record %q", kind)
		}
		if err != nil {
			return nil, fmt.Errorf("consistency: log line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("consistency: read log: %w", err)
	}
	return l, nil
}

func parseOp(s string) (Op, error) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return Op{}, fmt.Errorf("want 4 fields, got %q", s)
	}
	var o Op
	var n [4]int64
	for i, x := range f {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return Op{}, err
		}
		n[i] = v
	}
	o.Key, o.Version, o.Start, o.End = int(n[0]), n[1], n[2], n[3]
	return o, nil
}
