package store

import (
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
)

// coarseResolution is how stale the stores' idea of the time may be.
// Reading the precise time was the largest single cost of a core hit: otter
// reads its clock on every Get (a hit does four), and the Redis store checks
// its own-write window on reads of recently written keys. Entries may
// expire up to this much early or late, which TTLs can afford (tag
// versions, not TTLs, keep reads correct), and an own-write window lasts up
// to this much longer, which only costs round trips.
const coarseResolution = 2 * time.Millisecond

var (
	coarseOnce sync.Once
	coarse     *otter.CoarseClock
)

// coarseClock returns the clock every store of the process shares, so that
// they wake up one goroutine between them.
func coarseClock() *otter.CoarseClock {
	coarseOnce.Do(func() { coarse = otter.NewCoarseClock(coarseResolution) })
	return coarse
}

// coarseNow returns the time by the shared coarse clock.
func coarseNow() time.Time { return time.Unix(0, coarseClock().NowNano()) }
