package core

import (
	"sync"
	"sync/atomic"
)

// PreparedMemo remembers prepared descriptors (Cache.Prepare) by a key of
// the caller's, such as a row's key text, for callers that read the same
// descriptors again and again: a hot row's hit then builds no key string
// and, on a Generations store, reads only its entry. It holds at most
// MemoMax descriptors and starts over when full. The zero PreparedMemo is
// ready to use; it is safe for concurrent use.
type PreparedMemo struct {
	m atomic.Pointer[sync.Map] // key -> Descriptor
	n atomic.Int64
}

// MemoMax is how many descriptors a PreparedMemo holds.
const MemoMax = 8192

// Load returns the descriptor stored under key.
func (pm *PreparedMemo) Load(key string) (Descriptor, bool) {
	if m := pm.m.Load(); m != nil {
		if d, ok := m.Load(key); ok {
			return d.(Descriptor), true
		}
	}
	return Descriptor{}, false
}

// Store remembers d, which should come from Cache.Prepare, under key.
func (pm *PreparedMemo) Store(key string, d Descriptor) {
	m := pm.m.Load()
	if m == nil || pm.n.Add(1) > MemoMax {
		m = new(sync.Map)
		pm.m.Store(m)
		pm.n.Store(1)
	}
	m.Store(key, d)
}
