package core

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// flightGroup shares one load among concurrent misses of the same key and
// tag versions. Unlike x/sync/singleflight, a caller whose context ends
// returns at once, and the load goes on for the others; it is cancelled
// only when every caller has gone.
type flightGroup struct {
	mu     sync.Mutex
	calls  map[string]*flight
	onJoin func() // counts joins as they happen, not when they return
}

type flight struct {
	done    chan struct{}
	val     []byte
	err     error
	waiters int
	cancel  context.CancelFunc
}

// ErrLoaderPanic is returned to every caller of a load whose loader
// panicked; the key is free for the next load.
var ErrLoaderPanic = fmt.Errorf("hydracache: loader panicked")

// do runs fn once for key among concurrent callers.
func (g *flightGroup) do(ctx context.Context, key string, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*flight)
	}
	f, ok := g.calls[key]
	if ok {
		f.waiters++
		g.mu.Unlock()
		if g.onJoin != nil {
			g.onJoin()
		}
		return g.wait(ctx, key, f)
	}
	f = g.launch(ctx, key, fn)
	g.mu.Unlock()
	return g.wait(ctx, key, f)
}

// start runs fn for key in the background, unless a load of key is under
// way, and reports whether it started one. Nobody waits for it, so it is
// never cancelled; callers of do with the same key join it as usual.
func (g *flightGroup) start(ctx context.Context, key string, fn func(context.Context) ([]byte, error)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls == nil {
		g.calls = make(map[string]*flight)
	}
	if _, ok := g.calls[key]; ok {
		return false
	}
	// Its own waiter, which never leaves: the load runs to the end.
	g.launch(ctx, key, fn)
	return true
}

// launch registers a flight for key with one waiter and runs fn for it.
// g.mu must be held.
func (g *flightGroup) launch(ctx context.Context, key string, fn func(context.Context) ([]byte, error)) *flight {
	// The load keeps the caller's values (tracing, call options) but not
	// its cancellation, which belongs to whoever is still waiting.
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	g.calls[key] = f

	go func() {
		defer func() {
			if r := recover(); r != nil {
				f.val, f.err = nil, fmt.Errorf("%w: %v\n%s", ErrLoaderPanic, r, debug.Stack())
			}
			g.mu.Lock()
			if g.calls[key] == f {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			cancel()
			close(f.done)
		}()
		f.val, f.err = fn(lctx)
	}()
	return f
}

func (g *flightGroup) wait(ctx context.Context, key string, f *flight) ([]byte, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		last := f.waiters == 0
		if last && g.calls[key] == f {
			// Nobody wants the result: a new caller must not join a load
			// that is being cancelled.
			delete(g.calls, key)
		}
		g.mu.Unlock()
		if last {
			f.cancel()
		}
		return nil, ctx.Err()
	}
}
