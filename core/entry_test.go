package core

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

func TestEntryRoundTrip(t *testing.T) {
	vs := [][]byte{newStamp(), newStamp()}
	for _, lt := range []time.Duration{0, 1500 * time.Microsecond, time.Hour, 1000 * time.Hour, -time.Second} {
		b := encodeEntry(true, 12345, lt, vs, []byte("payload"))
		e, valid, err := decodeEntry(b, vs)
		if err != nil || !valid {
			t.Fatalf("loadTime %v: valid %v, err %v", lt, valid, err)
		}
		want := max(lt.Truncate(time.Microsecond), 0)
		if lt > 71*time.Minute {
			want = time.Duration(1<<32-1) * time.Microsecond // saturated
		}
		if !e.negative || e.expiresAt != 12345 || e.loadTime != want || string(e.payload) != "payload" {
			t.Fatalf("loadTime %v: decoded %+v", lt, e)
		}
	}
}

// Entries written before the load time was recorded (format 1) stay hits.
func TestEntryDecodesVersion1(t *testing.T) {
	vs := [][]byte{newStamp(), newStamp()}
	b := make([]byte, entryHeaderV1, entryHeaderV1+2*stampSize+2)
	b[0] = entryVersionV1
	binary.BigEndian.PutUint64(b[2:10], 777)
	b[10] = 2
	b = append(b, vs[0]...)
	b = append(b, vs[1]...)
	b = append(b, "ok"...)
	e, valid, err := decodeEntry(b, vs)
	if err != nil || !valid || e.expiresAt != 777 || e.loadTime != 0 || e.negative || !bytes.Equal(e.payload, []byte("ok")) {
		t.Fatalf("decoded %+v, valid %v, err %v", e, valid, err)
	}
	if _, valid, _ := decodeEntry(b, [][]byte{vs[0], newStamp()}); valid {
		t.Fatal("a version 1 entry under other versions was valid")
	}
	for _, bad := range [][]byte{b[:entryHeaderV1+stampSize], {3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, encodeEntry(false, 1, 0, vs, nil)[:entryHeader-1]} {
		if _, _, err := decodeEntry(bad, vs); err == nil {
			t.Fatalf("decoded corrupt entry %v", bad)
		}
	}
}

func BenchmarkDecodeEntry(b *testing.B) {
	vs := [][]byte{newStamp(), newStamp(), newStamp()}
	enc := encodeEntry(false, 1, time.Millisecond, vs, make([]byte, 200))
	b.ReportAllocs()
	for b.Loop() {
		if _, valid, err := decodeEntry(enc, vs); !valid || err != nil {
			b.Fatal(valid, err)
		}
	}
}
