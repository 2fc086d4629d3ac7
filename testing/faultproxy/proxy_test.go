package faultproxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hydracache/hydracache/testing/faultproxy"
)

// echoServer answers every line it reads with the same line, and stops when
// the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

// roundTrip sends line and returns the echo, failing after timeout.
func roundTrip(c net.Conn, r *bufio.Reader, line string, timeout time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return got[:len(got)-1], nil
}

func TestForwards(t *testing.T) {
	p := faultproxy.Start(t, echoServer(t))
	c, r := dial(t, p.Addr)
	for _, msg := range []string{"a", "hello", string(make([]byte, 100<<10))} {
		got, err := roundTrip(c, r, msg, 5*time.Second)
		if err != nil || got != msg {
			t.Fatalf("round trip of %d bytes: got %d bytes, err %v", len(msg), len(got), err)
		}
	}
	if p.Conns() != 1 || p.Accepted() != 1 {
		t.Fatalf("Conns %d, Accepted %d: want 1, 1", p.Conns(), p.Accepted())
	}
}

func TestLatency(t *testing.T) {
	p := faultproxy.Start(t, echoServer(t))
	c, r := dial(t, p.Addr)
	if _, err := roundTrip(c, r, "warm", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	const d = 100 * time.Millisecond
	p.SetLatency(d)
	start := time.Now()
	if _, err := roundTrip(c, r, "slow", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// Both directions are delayed.
	if took := time.Since(start); took < 2*d {
		t.Fatalf("round trip with %v latency took %v, want at least %v", d, took, 2*d)
	}
	p.SetLatency(0)
	start = time.Now()
	if _, err := roundTrip(c, r, "fast", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= d {
		t.Fatalf("round trip without latency took %v", took)
	}
}

func TestDropAll(t *testing.T) {
	p := faultproxy.Start(t, echoServer(t))
	c, r := dial(t, p.Addr)
	if _, err := roundTrip(c, r, "x", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.DropAll()
	_, err := roundTrip(c, r, "y", 5*time.Second)
	if err == nil {
		t.Fatal("round trip on a dropped connection succeeded")
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("dropped connection hung instead of closing: %v", err)
	}
	// New connections work.
	c2, r2 := dial(t, p.Addr)
	if got, err := roundTrip(c2, r2, "z", 5*time.Second); err != nil || got != "z" {
		t.Fatalf("after DropAll: %q, %v", got, err)
	}
}

func TestBlackhole(t *testing.T) {
	p := faultproxy.Start(t, echoServer(t))
	c, r := dial(t, p.Addr)
	if _, err := roundTrip(c, r, "x", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Blackhole(true)
	// Nothing comes back, on an open connection or a new one.
	if _, err := roundTrip(c, r, "held", 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackholed round trip: err %v, want a timeout", err)
	}
	c2, r2 := dial(t, p.Addr)
	if _, err := roundTrip(c2, r2, "new", 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackholed new connection: err %v, want a timeout", err)
	}
	p.Blackhole(false)
	// Held data arrives, in order, on both connections.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "held\n" {
		t.Fatalf("held data: %q, %v", got, err)
	}
	if got, err := roundTrip(c, r, "after", 5*time.Second); err != nil || got != "after" {
		t.Fatalf("after the blackhole: %q, %v", got, err)
	}
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := r2.ReadString('\n'); err != nil || got != "new\n" {
		t.Fatalf("held data of the new connection: %q, %v", got, err)
	}
}

func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := faultproxy.Start(t, addr)
	c, r := dial(t, p.Addr)
	if _, err := roundTrip(c, r, "x", 5*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection to a dead target: err %v, want it closed", err)
	}
}

func TestStop(t *testing.T) {
	p := faultproxy.Start(t, echoServer(t))
	c, r := dial(t, p.Addr)
	p.Blackhole(true)
	_, _ = io.WriteString(c, "pending\n")
	done := make(chan struct{})
	go func() { p.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hung with a blackholed connection")
	}
	p.Stop() // twice is fine
	if _, err := roundTrip(c, r, "x", 5*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection after Stop: err %v, want it closed", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
		_ = c.Close()
		t.Fatal("the proxy still accepts after Stop")
	}
}
