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

	"github.com/redis/rueidis"
)

// RedisServer is a redis-server process a test started on a free loopback
// port; it is stopped when the test ends.
type RedisServer struct {
	// Addr is host:port.
	Addr string
	cmd  *exec.Cmd
}

// Stop kills the server. It is safe to call more than once.
func (s *RedisServer) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// StartRedis starts a private redis-server on a free port of 127.0.0.1 with
// persistence off and the extra arguments given (for example
// "--cluster-enabled", "yes"), waits until it answers, and stops it when the
// test ends. Without a redis-server binary the test is skipped, or fails
// under CI=true.
func StartRedis(t testing.TB, args ...string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "Redis", fmt.Errorf("no redis-server binary to start a private server: %w", err))
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	dir := t.TempDir()
	all := append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--logfile", "", "--daemonize", "no",
	}, args...)
	cmd := exec.Command(bin, all...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start redis-server: %v", err)
	}
	s := &RedisServer{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: redis-server on %s did not start: %v\n%s", s.Addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RedisCluster starts a Redis Cluster of n primaries (no replicas) on free
// loopback ports, with the 16384 hash slots split between them, and returns
// a rueidis client connected to it. Everything is stopped when the test
// ends. A test that needs a cluster gets its own, so nothing is shared.
func RedisCluster(t testing.TB, n int) rueidis.Client {
	t.Helper()
	if n < 1 {
		t.Fatalf("testenv: a cluster needs at least one node, got %d", n)
	}
	nodes := make([]*RedisServer, n)
	for i := range nodes {
		nodes[i] = StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Assign slots and introduce the nodes with plain commands, so no
	// redis-cli is needed.
	per := 16384 / n
	for i, s := range nodes {
		lo, hi := i*per, (i+1)*per-1
		if i == n-1 {
			hi = 16383
		}
		if err := redisDo(ctx, s.Addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			t.Fatalf("testenv: cluster addslots on %s: %v", s.Addr, err)
		}
	}
	host, port, _ := net.SplitHostPort(nodes[0].Addr)
	for _, s := range nodes[1:] {
		if err := redisDo(ctx, s.Addr, "CLUSTER", "MEET", host, port); err != nil {
			t.Fatalf("testenv: cluster meet from %s: %v", s.Addr, err)
		}
	}
	for _, s := range nodes {
		for {
			info, err := redisString(ctx, s.Addr, "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("testenv: cluster on %s not ready: %v %s", s.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	addrs := make([]string, n)
	for i, s := range nodes {
		addrs[i] = s.Addr
	}
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs})
	if err != nil {
		t.Fatalf("testenv: connect to the cluster: %v", err)
	}
	t.Cleanup(client.Close)
	return client
}

// redisDo runs one command on a single node with a client that does not
// follow the cluster.
func redisDo(ctx context.Context, addr string, cmd ...string) error {
	_, err := redisString(ctx, addr, cmd...)
	return err
}

func redisString(ctx context.Context, addr string, cmd ...string) (string, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.Do(ctx, c.B().Arbitrary(cmd...).Build()).ToString()
}
