package hydragorm

import (
	"bytes"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"gorm.io/gorm"

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
// Beside its RowSet an entry keeps a snapshot of it scanned into the
// model that read it last, so that hits copy values instead of scanning.
type decodedCache struct {
	mu    sync.RWMutex
	m     map[decodedKey]*decodedVal
	size  int64
	limit int64
}

type decodedKey struct {
	p *byte
	n int
}

type decodedVal struct {
	raw  []byte // a private copy of the encoded entry
	rs   *rowset.RowSet
	kept bool // held by the cache: worth a snapshot
	// snap is the snapshot for the model that read the entry last; one
	// with no elems records that this model cannot have one.
	snap atomic.Pointer[snapshot]
}

func (c *decodedCache) get(raw []byte) *decodedVal {
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
	return v
}

// size is what an entry is charged: its encoded copy, and the RowSet
// and a snapshot, each about the decoded size.
func (v *decodedVal) size() int64 { return int64(len(v.raw) + 2*v.rs.Size()) }

func (c *decodedCache) put(raw []byte, rs *rowset.RowSet) *decodedVal {
	v := &decodedVal{raw: raw, rs: rs}
	if c.limit <= 0 || len(raw) == 0 {
		return v
	}
	n := int64(len(raw)) + v.size()
	if n > c.limit/4 {
		return v // one huge result would flush everything else
	}
	k := decodedKey{unsafe.SliceData(raw), len(raw)}
	c.mu.Lock()
	if c.m == nil || c.size+n > c.limit {
		// Full: start over. Crude, but bounded and cheap; hot entries are
		// decoded again on their next hit.
		c.m = make(map[decodedKey]*decodedVal)
		c.size = 0
	}
	if old, ok := c.m[k]; !ok || !bytes.Equal(old.raw, raw) {
		if ok {
			c.size -= int64(len(old.raw)) + old.size()
		}
		v.raw, v.kept = bytes.Clone(raw), true
		c.m[k] = v
		c.size += n
	}
	c.mu.Unlock()
	return v
}

// decode returns the decoded form of an encoded entry, from the decoded
// cache when it holds it.
func (p *Plugin) decode(raw []byte) (*decodedVal, error) {
	if v := p.decoded.get(raw); v != nil {
		return v, nil
	}
	rs := new(rowset.RowSet)
	if err := rs.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	return p.decoded.put(raw, rs), nil
}

// snapshotHook, when set (by tests), runs on each read answered from a
// snapshot.
var snapshotHook func(*gorm.DB)

// fillFromSnapshot answers db from the entry's snapshot, making it on the
// entry's first use by this model; it reports false when db must be
// answered by replaying the rows.
func fillFromSnapshot(db *gorm.DB, v *decodedVal) bool {
	if !snapshotDest(db) {
		return false
	}
	s := snapshotFor(db, v)
	if s == nil {
		return false
	}
	return fillWith(db, s)
}

// fillFromSnapshots answers db, whose destination is a slice, with the
// rows of the single-row entries vs in order, as a replay of them joined
// would; it reports false when one of them has no snapshot.
func fillFromSnapshots(db *gorm.DB, vs []*decodedVal) bool {
	if len(vs) == 0 || db.Statement.ReflectValue.Kind() != reflect.Slice || !snapshotDest(db) {
		return false
	}
	var elems reflect.Value
	for i, v := range vs {
		s := snapshotFor(db, v)
		if s == nil || s.elems.Len() != 1 {
			return false
		}
		if i == 0 {
			elems = reflect.MakeSlice(s.elems.Type(), len(vs), len(vs))
		}
		elems.Index(i).Set(s.elems.Index(0))
	}
	return fillWith(db, &snapshot{schema: db.Statement.Schema, elems: elems})
}

// snapshotFor returns the entry's snapshot for db's model, making it on
// the entry's first use by this model, or nil when it has none.
func snapshotFor(db *gorm.DB, v *decodedVal) *snapshot {
	if !v.kept {
		return nil
	}
	s := v.snap.Load()
	if s == nil || s.schema != db.Statement.Schema {
		if s = buildSnapshot(db, v.rs); s == nil {
			s = &snapshot{schema: db.Statement.Schema}
		}
		v.snap.Store(s)
	}
	if !s.elems.IsValid() {
		return nil
	}
	return s
}

// fillWith answers db from s.
func fillWith(db *gorm.DB, s *snapshot) bool {
	if err := db.Statement.Context.Err(); err != nil {
		db.AddError(err)
		return true
	}
	s.fill(db)
	if snapshotHook != nil {
		snapshotHook(db)
	}
	if db.Statement.Result != nil {
		db.Statement.Result.RowsAffected = db.RowsAffected
	}
	return true
}
