package core_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/testing/testenv"
)

const herdChildEnv = "HYDRACACHE_HERD_CHILD"

// TestFillLeaseHerdAcrossProcesses starts herdProcs processes (this test
// binary again) sharing Redis, each with herdGoroutines goroutines that
// miss one entry at the same moment, and counts the loads that reached the
// database, without and with the fill lease. Within a process the misses
// share one load anyway; the lease makes the processes share one too.
func TestFillLeaseHerdAcrossProcesses(t *testing.T) {
	const herdProcs, herdGoroutines = 3, 16
	_, prefix := testenv.Redis(t) // skips without Redis; deletes the prefix after
	for _, kind := range []string{"NewRedis", "DialRedis"} {
		t.Run("store="+kind, func(t *testing.T) {
			loads := map[bool]int{}
			for _, lease := range []bool{false, true} {
				ns := fmt.Sprintf("herd-%s-%v", kind, lease)
				n, lines := runHerd(t, kind, prefix, ns, lease, herdProcs, herdGoroutines)
				loads[lease] = n
				t.Logf("lease=%v: %d loads; %s", lease, n, strings.Join(lines, "; "))
			}
			if on, off := loads[true], loads[false]; on > 2 || on >= off {
				t.Fatalf("loads: %d without the lease, %d with; want at most 2 with, and fewer than without", off, on)
			}
		})
	}
}

// runHerd runs one herd and returns the loads summed over the processes,
// and each process's report.
func runHerd(t *testing.T, kind, prefix, ns string, lease bool, procs, goroutines int) (int, []string) {
	t.Helper()
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		lines chan string
	}
	children := make([]child, procs)
	for i := range children {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFillLeaseHerdChild$", "-test.v")
		cmd.Env = append(os.Environ(), herdChildEnv+"=1", "HERD_KIND="+kind, "HERD_PREFIX="+prefix, "HERD_NS="+ns,
			"HERD_LEASE="+strconv.FormatBool(lease), "HERD_GOROUTINES="+strconv.Itoa(goroutines),
			// A race-enabled binary sleeps a second before exiting unless told not to.
			"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if l := sc.Text(); strings.HasPrefix(l, "herd ") {
					lines <- strings.TrimPrefix(l, "herd ")
				}
			}
			close(lines)
		}()
		children[i] = child{cmd, stdin, lines}
		t.Cleanup(func() {
			if cmd.ProcessState == nil { // not waited for: the test failed
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
	}
	next := func(c child, want string) string {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("a herd process ended before saying %q", want)
			}
			if !strings.HasPrefix(l, want) {
				t.Fatalf("a herd process said %q; want %q", l, want)
			}
			return l
		case <-time.After(20 * time.Second):
			t.Fatalf("a herd process did not say %q within 20 s", want)
		}
		return ""
	}
	for _, c := range children {
		next(c, "ready")
	}
	// The barrier: every process is connected and waits on its stdin.
	for _, c := range children {
		if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	var reports []string
	for _, c := range children {
		l := next(c, "loads ")
		var n int
		if _, err := fmt.Sscanf(l, "loads %d", &n); err != nil {
			t.Fatalf("report %q: %v", l, err)
		}
		total += n
		reports = append(reports, l)
	}
	for _, c := range children {
		_ = c.stdin.Close()
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("a herd process failed: %v", err)
		}
	}
	return total, reports
}

// TestFillLeaseHerdChild is one process of TestFillLeaseHerdAcrossProcesses;
// it does nothing unless that test started it.
func TestFillLeaseHerdChild(t *testing.T) {
	if os.Getenv(herdChildEnv) != "1" {
		t.Skip("a process of TestFillLeaseHerdAcrossProcesses")
	}
	ctx := context.Background()
	st := openStalenessStore(t, os.Getenv("HERD_KIND"), os.Getenv("HERD_PREFIX"))
	opts := []core.Option{core.WithNamespace(os.Getenv("HERD_NS")), core.WithLogger(discardLogger())}
	if os.Getenv("HERD_LEASE") == "true" {
		opts = append(opts, core.WithFillLease(5*time.Second, 3*time.Second))
	}
	c, err := core.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	goroutines, _ := strconv.Atoi(os.Getenv("HERD_GOROUTINES"))
	// Warm the connections, so that the herd's first commands do not wait
	// for a dial.
	if _, err := c.Fetch(ctx, core.Entity("warm", "1"), func(context.Context) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}

	var loads atomic.Int64
	load := func(context.Context) ([]byte, error) {
		loads.Add(1)
		time.Sleep(100 * time.Millisecond) // a slow query: the herd piles up behind it
		return []byte("v1"), nil
	}
	d := core.Entity("hot", "1")
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			<-gate
			v, err := c.Fetch(ctx, d, load)
			if err != nil || string(v) != "v1" {
				t.Errorf("Fetch = %q, %v", v, err)
			}
		})
	}
	fmt.Println("herd ready")
	if l, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || l != "go\n" {
		t.Fatalf("barrier: %q, %v", l, err)
	}
	close(gate)
	wg.Wait()
	s := c.Stats()
	fmt.Printf("herd loads %d (lease hits %d, lease timeouts %d, joins %d)\n", loads.Load(), s.LeaseHits, s.LeaseTimeouts, s.Joins)
}
