package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
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

// Entry layout, version 1:
//
//	[0]      format version
//	[1]      flags (flagNegative)
//	[2:10]   expiry, Unix nanoseconds, big endian
//	[10]     number of recorded versions n (< 256)
//	[11:...] n versions of stampSize bytes, in descriptor tag order, epoch last
//	rest     payload
const (
	entryVersion = 1
	entryHeader  = 11
	flagNegative = 1 << 0
	maxTags      = 255
)

var errCorruptEntry = errors.New("corrupt cache entry")

type entry struct {
	negative  bool
	expiresAt int64
	payload   []byte // aliases the encoded entry
}

func encodeEntry(negative bool, expiresAt int64, versions [][]byte, payload []byte) []byte {
	b := make([]byte, entryHeader+len(versions)*stampSize+len(payload))
	b[0] = entryVersion
	if negative {
		b[1] = flagNegative
	}
	binary.BigEndian.PutUint64(b[2:10], uint64(expiresAt))
	b[10] = byte(len(versions))
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
	if len(b) < entryHeader || b[0] != entryVersion || b[1]&^flagNegative != 0 {
		return e, false, errCorruptEntry
	}
	n := int(b[10])
	end := entryHeader + n*stampSize
	if len(b) < end {
		return e, false, errCorruptEntry
	}
	e.negative = b[1]&flagNegative != 0
	e.expiresAt = int64(binary.BigEndian.Uint64(b[2:10]))
	e.payload = b[end:]
	if n != len(current) {
		return e, false, nil
	}
	off := entryHeader
	for _, v := range current {
		if !bytes.Equal(b[off:off+stampSize], v) {
			return e, false, nil
		}
		off += stampSize
	}
	return e, true, nil
}
