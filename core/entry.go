package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// stampSize is the length of a tag version. Versions are random, never
// counters: a tag that vanishes from the store and is re-seeded can never
// come back with a value an old entry recorded.
const stampSize = 16

func newStamp() []byte {
	b := make([]byte, stampSize)
	binary.LittleEndian.PutUint64(b[0:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:16], rand.Uint64())
	return b
}

// Entry layout, version 2:
//
//	[0]      format version
//	[1]      flags (flagNegative)
//	[2:10]   expiry, Unix nanoseconds, big endian
//	[10:14]  how long the load took, microseconds, big endian, saturated
//	[14]     number of recorded versions n (< 256)
//	[15:...] n versions of stampSize bytes, in descriptor tag order, epoch last
//	rest     payload
//
// Version 1 lacks the load time ([10] is n, versions start at 11). It is
// still read, as an entry whose load took no time, so that entries written
// before an upgrade stay hits.
const (
	entryVersion   = 2
	entryHeader    = 15
	entryVersionV1 = 1
	entryHeaderV1  = 11
	flagNegative   = 1 << 0
	maxTags        = 255
)

var errCorruptEntry = errors.New("corrupt cache entry")

type entry struct {
	negative  bool
	expiresAt int64
	loadTime  time.Duration // how long the load that filled it took
	payload   []byte        // aliases the encoded entry
}

func encodeEntry(negative bool, expiresAt int64, loadTime time.Duration, versions [][]byte, payload []byte) []byte {
	b := make([]byte, entryHeader+len(versions)*stampSize+len(payload))
	b[0] = entryVersion
	if negative {
		b[1] = flagNegative
	}
	binary.BigEndian.PutUint64(b[2:10], uint64(expiresAt))
	us := max(loadTime/time.Microsecond, 0)
	binary.BigEndian.PutUint32(b[10:14], uint32(min(us, math.MaxUint32)))
	b[14] = byte(len(versions))
	off := entryHeader
	for _, v := range versions {
		copy(b[off:off+stampSize], v)
		off += stampSize
	}
	copy(b[off:], payload)
	return b
}

// decodeEntry checks the header and that the recorded versions equal
// current, without allocating. It returns valid=false for a well-formed
// entry recorded under other versions.
func decodeEntry(b []byte, current [][]byte) (e entry, valid bool, err error) {
	if len(b) < entryHeaderV1 || b[1]&^flagNegative != 0 {
		return e, false, errCorruptEntry
	}
	var n, off int
	switch b[0] {
	case entryVersion:
		if len(b) < entryHeader {
			return e, false, errCorruptEntry
		}
		e.loadTime = time.Duration(binary.BigEndian.Uint32(b[10:14])) * time.Microsecond
		n, off = int(b[14]), entryHeader
	case entryVersionV1:
		n, off = int(b[10]), entryHeaderV1
	default:
		return e, false, errCorruptEntry
	}
	end := off + n*stampSize
	if len(b) < end {
		return e, false, errCorruptEntry
	}
	e.negative = b[1]&flagNegative != 0
	e.expiresAt = int64(binary.BigEndian.Uint64(b[2:10]))
	e.payload = b[end:]
	if n != len(current) {
		return e, false, nil
	}
	for _, v := range current {
		if !bytes.Equal(b[off:off+stampSize], v) {
			return e, false, nil
		}
		off += stampSize
	}
	return e, true, nil
}
