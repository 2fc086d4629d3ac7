package hydragorm

import (
	"bytes"
	"sync"
	"unsafe"

	"github.com/hydracache/hydracache/core/rowset"
)

// decodedCache remembers the RowSet decoded from an encoded entry, keyed
// by the entry's address and length: the stores hand out their own copy of
// an entry on every hit (the memory store's slice, the Redis client-side
// cache's string), so a hit usually finds the address of the previous one
// and skips decoding. The address only finds the candidate: the bytes are
// compared with a private copy before the RowSet is used, so a store that
// reuses a buffer for other bytes costs a decode, never a wrong result.
// RowSets are immutable once decoded and safe to replay concurrently.
type decodedCache struct {
	mu    sync.RWMutex
	m     map[decodedKey]decodedVal
	size  int64
	limit int64
}

type decodedKey struct {
	p *byte
	n int
}

type decodedVal struct {
	raw []byte // a private copy of the encoded entry
	rs  *rowset.RowSet
}

func (c *decodedCache) get(raw []byte) *rowset.RowSet {
	if c.limit <= 0 || len(raw) == 0 {
		return nil
	}
	k := decodedKey{unsafe.SliceData(raw), len(raw)}
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !bytes.Equal(v.raw, raw) {
		return nil
	}
	return v.rs
}

func (c *decodedCache) put(raw []byte, rs *rowset.RowSet) {
	if c.limit <= 0 || len(raw) == 0 {
		return
	}
	n := int64(2*len(raw) + rs.Size())
	if n > c.limit/4 {
		return // one huge result would flush everything else
	}
	k := decodedKey{unsafe.SliceData(raw), len(raw)}
	c.mu.Lock()
	if c.m == nil || c.size+n > c.limit {
		// Full: start over. Crude, but bounded and cheap; hot entries are
		// decoded again on their next hit.
		c.m = make(map[decodedKey]decodedVal)
		c.size = 0
	}
	if v, ok := c.m[k]; !ok || !bytes.Equal(v.raw, raw) {
		if ok {
			c.size -= int64(2*len(v.raw) + v.rs.Size())
		}
		c.m[k] = decodedVal{raw: bytes.Clone(raw), rs: rs}
		c.size += n
	}
	c.mu.Unlock()
}

// decode returns the RowSet of an encoded entry, from the decoded cache
// when it holds it.
func (p *Plugin) decode(raw []byte) (*rowset.RowSet, error) {
	if rs := p.decoded.get(raw); rs != nil {
		return rs, nil
	}
	rs := new(rowset.RowSet)
	if err := rs.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	p.decoded.put(raw, rs)
	return rs, nil
}

// tablesCache remembers readTables' answer per SQL text: GORM renders the
// same few statements over and over.
type tablesCache struct {
	mu sync.RWMutex
	m  map[string]tablesVal
}

type tablesVal struct {
	tables []string
	ok     bool
}

const tablesCacheMax = 4096

func (c *tablesCache) tables(sql string) ([]string, bool) {
	c.mu.RLock()
	v, hit := c.m[sql]
	c.mu.RUnlock()
	if hit {
		return v.tables, v.ok
	}
	t, ok := readTables(sql)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= tablesCacheMax {
		c.m = make(map[string]tablesVal)
	}
	c.m[sql] = tablesVal{tables: t, ok: ok}
	c.mu.Unlock()
	return t, ok
}
