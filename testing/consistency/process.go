package consistency

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// childEnv carries the path where a child process writes its Log.
const childEnv = "HYDRACACHE_CONSISTENCY_LOG"

// Child is a second process started by StartChild: the running test binary
// again, running one test that calls ChildReady, Record and ChildDone.
type Child struct {
	t      testing.TB
	cmd    *exec.Cmd
	path   string
	mu     sync.Mutex
	output bytes.Buffer // the child's standard output, for failures
	done   chan struct{}
}

// StartChild re-executes the running test binary so that it runs only the
// top-level test named test, with env (KEY=value strings) added to this
// process's environment, and returns once that test has called ChildReady.
// The child test should skip itself unless IsChild reports true. The child
// is killed when t ends, if it is still running. StartChild fails t if the
// child does not become ready within 60 seconds.
func StartChild(t testing.TB, test string, env ...string) *Child {
	t.Helper()
	c := &Child{t: t, path: filepath.Join(t.TempDir(), "child.log"), done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	c.cmd.Env = append(append(os.Environ(), env...), childEnv+"="+c.path)
	c.cmd.Stderr = os.Stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("consistency: child: %v", err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("consistency: start child: %v", err)
	}
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	ready := make(chan struct{})
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.output.WriteString(line + "\n")
			c.mu.Unlock()
			if !signalled && strings.HasPrefix(line, linePrefix+"ready") {
				signalled = true
				close(ready)
			}
		}
		_ = c.cmd.Wait()
	}()
	select {
	case <-ready:
		return c
	case <-c.done:
		t.Fatalf("consistency: the child process ended before it was ready:\n%s", c.out())
	case <-time.After(60 * time.Second):
		t.Fatalf("consistency: the child process was not ready within 60 s:\n%s", c.out())
	}
	return nil
}

func (c *Child) out() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.output.String()
}

// Wait waits for the child to end and returns the Log it wrote with
// ChildDone. It fails if the child failed or wrote no log.
func (c *Child) Wait() (*Log, error) {
	<-c.done
	if st := c.cmd.ProcessState; st == nil || !st.Success() {
		return nil, fmt.Errorf("consistency: child process failed (%v):\n%s", c.cmd.ProcessState, c.out())
	}
	f, err := os.Open(c.path)
	if err != nil {
		return nil, fmt.Errorf("consistency: the child wrote no log (%w):\n%s", err, c.out())
	}
	defer f.Close()
	return ParseLog(f)
}

// IsChild reports whether this process was started by StartChild.
func IsChild() bool { return os.Getenv(childEnv) != "" }

// ChildReady tells the parent's StartChild that the child is set up: it
// should call Record right after.
func ChildReady() {
	fmt.Fprintf(os.Stdout, "\n%sready\n", linePrefix)
}

// ChildDone writes l where the parent's Child.Wait reads it.
func ChildDone(l *Log) error {
	path := os.Getenv(childEnv)
	if path == "" {
		return fmt.Errorf("consistency: not a child process (%s is unset)", childEnv)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := l.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
