// Package faultproxy is a TCP proxy on the loopback interface for tests that
// need a slow, flaky or unreachable server: it forwards every connection it
// accepts to a target address and can, at any moment, add latency, drop
// every open connection, or blackhole the traffic.
//
// A test starts one with Start, points its client at p.Addr instead of the
// server's address, and turns faults on and off while it runs:
//
//	srv := testenv.StartRedis(t)
//	p := faultproxy.Start(t, srv.Addr)
//	client := connect(p.Addr)
//	p.SetLatency(200 * time.Millisecond) // every byte arrives 200 ms late
//	p.DropAll()                          // every open connection is closed
//	p.Blackhole(true)                    // connections stay open, nothing moves
//	p.Blackhole(false)                   // held data is delivered, in order
//
// Everything the proxy starts (listener, connections, goroutines) ends with
// Stop, which Start registers with t.Cleanup, so nothing outlives the test.
package faultproxy

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections from Addr to a target address, with faults
// the test controls. Its methods are safe for concurrent use.
type Proxy struct {
	// Addr is the host:port (on 127.0.0.1) the proxy listens on.
	Addr string

	target  string
	ln      net.Listener
	latency atomic.Int64 // time.Duration added to every chunk, each way

	mu     sync.Mutex
	links  map[*link]struct{}
	gate   chan struct{} // closed while traffic flows; open (blocking) while blackholed
	closed bool
	wg     sync.WaitGroup
	done   chan struct{} // closed by Stop

	accepted atomic.Int64
}

// chunkLimit is the most data a pump reads at once, and queueLimit the most
// chunks a direction holds while they wait for their delivery time or for a
// blackhole to lift: beyond it the pump stops reading and TCP pushes back.
const (
	chunkLimit = 32 << 10
	queueLimit = 64
)

// Start listens on a free port of 127.0.0.1 and forwards every connection
// accepted there to target. The proxy is stopped when t ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: listen: %v", err)
	}
	gate := make(chan struct{})
	close(gate)
	p := &Proxy{
		Addr:   ln.Addr().String(),
		target: target,
		ln:     ln,
		links:  make(map[*link]struct{}),
		gate:   gate,
		done:   make(chan struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Stop)
	return p
}

// SetLatency delays every chunk of data by d in each direction, from the
// moment the proxy reads it to the moment it writes it on, so a request and
// its reply take at least 2*d longer. Chunks are not serialised behind each
// other's delay: throughput is unchanged. Zero removes the delay; data
// already read keeps the delay it was read with.
func (p *Proxy) SetLatency(d time.Duration) {
	p.latency.Store(int64(max(d, 0)))
}

// Blackhole stops all traffic, when on is true, without closing anything:
// connections, open ones and new ones alike, are accepted and kept, but no byte is
// forwarded either way, as in a network partition. Data sent meanwhile is
// held (up to a bounded amount per direction, after which the sender's
// writes block, as TCP's would) and delivered in order after Blackhole(false),
// as TCP would once a partition heals. Connections made during a blackhole
// reach the target only when it lifts.
func (p *Proxy) Blackhole(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.blackholedLocked() {
		return
	}
	if on {
		p.gate = make(chan struct{})
	} else {
		close(p.gate)
	}
}

func (p *Proxy) blackholedLocked() bool {
	select {
	case <-p.gate:
		return false
	default:
		return true
	}
}

// DropAll closes every connection open now, on both sides: the client sees
// its connection reset or closed, and so does the target. Data held or
// delayed on them is lost. New connections are accepted as usual.
func (p *Proxy) DropAll() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// Conns returns the number of connections open through the proxy.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Accepted returns the number of connections accepted since Start.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Stop closes the listener and every connection and waits until every
// goroutine of the proxy has returned. It is safe to call more than once.
func (p *Proxy) Stop() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	_ = p.ln.Close()
	p.DropAll()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-p.done:
				return
			case <-time.After(10 * time.Millisecond): // transient (EMFILE...)
			}
			continue
		}
		p.accepted.Add(1)
		l := &link{client: c, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		p.links[l] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(l)
	}
}

// serve connects l to the target (once no blackhole is in the way) and runs
// both directions until either side closes or the link is dropped.
func (p *Proxy) serve(l *link) {
	defer p.wg.Done()
	defer func() {
		l.close()
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	if !p.wait(l) {
		return
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	srv, err := d.Dial("tcp", p.target)
	if err != nil {
		return // the client sees its connection closed: target down
	}
	if !l.setServer(srv) {
		_ = srv.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(l, l.client, srv) }()
	go func() { defer wg.Done(); p.pump(l, srv, l.client) }()
	wg.Wait()
}

// wait blocks while traffic is blackholed; false means l was closed first.
func (p *Proxy) wait(l *link) bool {
	for {
		p.mu.Lock()
		g := p.gate
		p.mu.Unlock()
		select {
		case <-g:
			// Blackhole may have been switched on again since g closed:
			// look again, so that no write slips through a new blackhole.
			p.mu.Lock()
			open := !p.blackholedLocked()
			p.mu.Unlock()
			if open {
				return true
			}
		case <-l.done:
			return false
		}
	}
}

type chunk struct {
	data []byte
	due  time.Time
}

// pump copies src to dst through a queue that gives every chunk its delay
// and holds it during a blackhole. Either side failing closes the link.
func (p *Proxy) pump(l *link, src, dst net.Conn) {
	q := make(chan chunk, queueLimit)
	read := make(chan struct{})
	defer func() {
		l.close() // unblocks the reader's Read
		<-read
	}()
	go func() {
		defer close(read)
		defer close(q)
		for {
			buf := make([]byte, chunkLimit)
			n, err := src.Read(buf)
			if n > 0 {
				c := chunk{data: buf[:n], due: time.Now().Add(time.Duration(p.latency.Load()))}
				select {
				case q <- c:
				case <-l.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	var timer *time.Timer
	for c := range q {
		if wait := time.Until(c.due); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-l.done:
				return
			}
		}
		if !p.wait(l) {
			return
		}
		if _, err := dst.Write(c.data); err != nil {
			return
		}
	}
}

// link is one proxied connection: the client's side and the target's.
type link struct {
	client net.Conn
	mu     sync.Mutex
	server net.Conn
	once   sync.Once
	done   chan struct{}
}

// setServer records the target's side; false means the link was closed
// meanwhile.
func (l *link) setServer(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return false
	default:
	}
	l.server = c
	return true
}

func (l *link) close() {
	l.once.Do(func() {
		l.mu.Lock()
		close(l.done)
		srv := l.server
		l.mu.Unlock()
		_ = l.client.Close()
		if srv != nil {
			_ = srv.Close()
		}
	})
}
