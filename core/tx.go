package core

import (
	"context"
	"sync"
)

// TxBuffer collects the tags a transaction's writes touch and publishes
// them when it commits. Reads inside the transaction must not use the cache
// (they could see, and cache, uncommitted rows); the plugins enforce that.
//
// Savepoints fold into the outer transaction: tags added inside a
// savepoint that is rolled back are still bumped on commit. An extra bump
// costs a miss; a missing one would serve stale data.
type TxBuffer struct {
	c      *Cache
	parent *TxBuffer // set on a savepoint's buffer
	mu     sync.Mutex
	tags   map[string]struct{}
	done   bool
}

// NewTxBuffer returns an empty buffer for one transaction.
func (c *Cache) NewTxBuffer() *TxBuffer {
	return &TxBuffer{c: c}
}

// Add records tags to bump when the transaction commits. Adding to a
// finished buffer bumps at once: the write it reports happened after the
// commit or rollback, outside the transaction.
func (b *TxBuffer) Add(ctx context.Context, tags ...string) error {
	if b.parent != nil {
		return b.parent.Add(ctx, tags...)
	}
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return b.c.InvalidateTags(ctx, tags...)
	}
	if b.tags == nil {
		b.tags = make(map[string]struct{}, len(tags))
	}
	for _, t := range tags {
		b.tags[t] = struct{}{}
	}
	b.mu.Unlock()
	return nil
}

// Len returns the number of distinct tags collected.
func (b *TxBuffer) Len() int {
	if b.parent != nil {
		return b.parent.Len()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.tags)
}

// Savepoint returns a buffer for a nested transaction (a savepoint) that
// folds into b: its tags are b's, and its Commit and Rollback publish and
// drop nothing.
func (b *TxBuffer) Savepoint() *TxBuffer {
	root := b
	if b.parent != nil {
		root = b.parent
	}
	return &TxBuffer{c: b.c, parent: root}
}

// Commit publishes the collected tags. Call it after the database commit
// returned, and also when the commit's outcome is unknown (a lost
// connection): a needless bump is harmless. Committing twice publishes
// nothing more.
func (b *TxBuffer) Commit(ctx context.Context) error {
	tags := b.finish()
	if len(tags) == 0 {
		return nil
	}
	return b.c.InvalidateTags(ctx, tags...)
}

// Rollback drops the collected tags: nothing the transaction wrote is
// visible to anyone.
func (b *TxBuffer) Rollback() { b.finish() }

func (b *TxBuffer) finish() []string {
	if b.parent != nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	tags := make([]string, 0, len(b.tags))
	for t := range b.tags {
		tags = append(tags, t)
	}
	b.tags = nil
	return tags
}
