package hydraent

import (
	"bytes"
	"sync"

	"github.com/cespare/xxhash/v2"

	"github.com/hydracache/hydracache/core/rowset"
)

// decodedLimit bounds the bytes of encoded entries the decoded-entry memo
// keeps; past it the memo starts over.
const decodedLimit = 8 << 20

// decodedMemo keeps the decoded form of recently hit entries, keyed by
// their encoded bytes: decoding costs more than the rest of a hit, and a
// hot entry is hit many times between writes. Keying by content (not by
// the store's slice) serves the memory and the Redis store alike, and an
// entry that changed has other bytes, so the memo can never answer with an
// old row. Decoded RowSets are immutable and shared by every replay.
type decodedMemo struct {
	mu    sync.RWMutex
	m     map[uint64]decoded
	bytes int
}

type decoded struct {
	enc   []byte // a copy of the encoding, to confirm a hash match
	rs    *rowset.RowSet
	names []string
}

// get returns the RowSet encoded in b, decoding it on a memo miss.
func (m *decodedMemo) get(b []byte) (*rowset.RowSet, []string, error) {
	h := xxhash.Sum64(b)
	m.mu.RLock()
	d, ok := m.m[h]
	m.mu.RUnlock()
	if ok && bytes.Equal(d.enc, b) {
		return d.rs, d.names, nil
	}
	rs := new(rowset.RowSet)
	if err := rs.UnmarshalBinary(b); err != nil {
		return nil, nil, err
	}
	names := columnNames(rs)
	m.mu.Lock()
	if m.m == nil || m.bytes+len(b) > decodedLimit {
		m.m = make(map[uint64]decoded)
		m.bytes = 0
	}
	m.m[h] = decoded{enc: bytes.Clone(b), rs: rs, names: names}
	m.bytes += len(b)
	m.mu.Unlock()
	return rs, names, nil
}

func columnNames(rs *rowset.RowSet) []string {
	names := make([]string, len(rs.Columns))
	for i := range rs.Columns {
		names[i] = rs.Columns[i].Name
	}
	return names
}
