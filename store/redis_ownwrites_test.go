package store

import (
	"fmt"
	"testing"
	"time"
)

// TestRedisOwnWritesTrust drives the own-write tracker without Redis: which
// cached reads it trusts after which writes.
func TestRedisOwnWritesTrust(t *testing.T) {
	type read struct {
		absent bool
		value  string
		want   bool
	}
	tests := []struct {
		name   string
		writes func(o *redisOwnWrites)
		reads  []read
	}{
		{
			// rueidis caches per connection: after one connection's copy
			// agrees, another's may still be old until its push arrives.
			name:   "stale value is refused for the whole window, even after the cache agreed once",
			writes: func(o *redisOwnWrites) { m, g := o.begin("k"); o.end(m, g, true, false, "new") },
			reads: []read{
				{value: "old", want: false},
				{absent: true, want: false},
				{value: "new", want: true},
				{value: "old", want: false},
			},
		},
		{
			name:   "delete expects absence",
			writes: func(o *redisOwnWrites) { m, g := o.begin("k"); o.end(m, g, true, true, "") },
			reads:  []read{{value: "old", want: false}, {absent: true, want: true}},
		},
		{
			name:   "failed write leaves the outcome unknown",
			writes: func(o *redisOwnWrites) { m, g := o.begin("k"); o.end(m, g, false, false, "new") },
			reads:  []read{{value: "new", want: false}, {value: "old", want: false}},
		},
		{
			name: "overlapping writes leave the outcome unknown",
			writes: func(o *redisOwnWrites) {
				m1, g1 := o.begin("k")
				m2, g2 := o.begin("k")
				o.end(m2, g2, true, false, "b")
				o.end(m1, g1, true, false, "a")
			},
			reads: []read{{value: "a", want: false}, {value: "b", want: false}},
		},
		{
			name:   "write in flight is never trusted",
			writes: func(o *redisOwnWrites) { o.begin("k") },
			reads:  []read{{value: "x", want: false}, {absent: true, want: false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &redisOwnWrites{window: time.Hour}
			tc.writes(o)
			for i, r := range tc.reads {
				got := true
				if m := o.lookup("k"); m != nil {
					got = o.trust("k", m, r.absent, r.value)
				}
				if got != r.want {
					t.Fatalf("read %d (%+v): trust = %v", i, r, got)
				}
			}
		})
	}
}

// TestRedisOwnWritesWindow checks that marks stop mattering after the window
// and that writes sweep marks of keys nobody reads again.
func TestRedisOwnWritesWindow(t *testing.T) {
	o := &redisOwnWrites{window: 200 * time.Millisecond}
	for i := range redisSweepAt + 10 {
		m, g := o.begin(fmt.Sprint("k", i))
		o.end(m, g, true, false, "v")
	}
	last := fmt.Sprint("k", redisSweepAt+9)
	if m := o.lookup(last); m == nil || o.trust(last, m, false, "stale") {
		t.Fatal("within the window a disagreeing read must be refused")
	}
	time.Sleep(300 * time.Millisecond)
	if m := o.lookup("k1"); m == nil || !o.trust("k1", m, false, "stale") {
		t.Fatal("after the window the cache must be trusted again")
	}
	m, g := o.begin("trigger") // this write's end sweeps the expired marks
	o.end(m, g, true, false, "v")
	if n := o.count.Load(); n != 1 {
		t.Fatalf("after a sweep %d marks remain, want 1 (the fresh one)", n)
	}
}
