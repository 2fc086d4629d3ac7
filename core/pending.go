package core

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// pendingBumps holds tag versions whose bump could not be written. Until a
// retry lands, reads of those tags bypass the cache: the old version is
// still in the store and would validate entries the write made stale.
type pendingBumps struct {
	c       *Cache
	n       atomic.Int64 // len(keys), read without the lock on every Fetch
	mu      sync.Mutex
	keys    map[string]struct{}
	running bool
	stop    chan struct{}
	closed  bool
}

func (p *pendingBumps) add(tagKeys []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil {
		p.keys = make(map[string]struct{})
		p.stop = make(chan struct{})
	}
	for _, k := range tagKeys {
		p.keys[k] = struct{}{}
	}
	p.n.Store(int64(len(p.keys)))
	if !p.running && !p.closed {
		p.running = true
		go p.retry()
	}
}

func (p *pendingBumps) blocks(tags []string) bool {
	if p.n.Load() == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.keys[p.c.epochKey]; ok {
		return true
	}
	for _, t := range tags {
		if _, ok := p.keys[p.c.tagPrefix+t]; ok {
			return true
		}
	}
	return false
}

func (p *pendingBumps) retry() {
	delay := 50 * time.Millisecond
	for {
		select {
		case <-p.stop:
			return
		case <-time.After(delay):
		}
		p.mu.Lock()
		ks := make([]string, 0, len(p.keys))
		for k := range p.keys {
			ks = append(ks, k)
		}
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := p.c.bump(ctx, ks)
		cancel()
		if err != nil {
			p.c.storeError("retry bump", err)
			delay = min(2*delay, 5*time.Second)
			continue
		}
		p.mu.Lock()
		for _, k := range ks {
			delete(p.keys, k)
		}
		p.n.Store(int64(len(p.keys)))
		if len(p.keys) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		delay = 50 * time.Millisecond
	}
}

func (p *pendingBumps) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		if p.stop != nil {
			close(p.stop)
		}
	}
}
