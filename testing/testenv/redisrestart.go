package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RestartRedis starts a new, empty redis-server on addr, the address of a
// server this test started with StartRedis and has stopped: to its clients
// it is the same server come back after losing every key. Pass the extra
// arguments given to StartRedis again. It waits until the new server answers
// (and checks that the process answering is the one it started), and stops
// it when the test ends.
func RestartRedis(t testing.TB, addr string, args ...string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "Redis", fmt.Errorf("no redis-server binary to restart a private server: %w", err))
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("testenv: restart redis-server on %q: %v", addr, err)
	}
	all := append([]string{
		"--port", port, "--bind", host,
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(),
		"--logfile", "", "--daemonize", "no",
	}, args...)
	deadline := time.Now().Add(10 * time.Second)
	var out bytes.Buffer
	for attempt := 1; ; attempt++ {
		out.Reset()
		cmd := exec.Command(bin, all...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("testenv: restart redis-server: %v", err)
		}
		s := &RedisServer{Addr: addr, cmd: cmd}
		// A server that cannot bind the port (still held, or taken by
		// another program) exits; then try again with a new process.
		ready := time.Now().Add(2 * time.Second)
		for time.Now().Before(ready) {
			if pid, err := redisPID(addr); err == nil && pid == cmd.Process.Pid {
				t.Cleanup(s.Stop)
				return s
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.Stop()
		if time.Now().After(deadline) {
			t.Fatalf("testenv: redis-server on %s did not restart after %d attempts:\n%s", addr, attempt, out.String())
		}
	}
}

// redisPID returns the process id of the redis-server answering on addr.
func redisPID(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return 0, err
	}
	_ = c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := redisString(ctx, addr, "INFO", "server")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("no process_id in INFO server")
}
