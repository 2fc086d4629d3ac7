package rowset

import (
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"
)

// The encoding is a compact hand-written binary format (see codec_test.go's
// msgpack comparison for why not msgpack):
//
//	version byte (formatVersion)
//	uvarint column count, then per column:
//	    string name, string database type name,
//	    byte scan type code (0: a string type name follows; noScanType: nil),
//	    byte flags (flag*), varint length if flagHasLength,
//	    varint precision and scale if flagHasDecimal
//	uvarint row count, then the values row by row, each a tag byte and
//	its payload:
//	    tagNil, tagFalse, tagTrue: none
//	    tagInt64: zigzag varint
//	    tagFloat64: 8 bytes, IEEE 754 bits little-endian (NaN payloads, -0
//	    and infinities survive)
//	    tagString, tagBytes: uvarint length and the bytes
//	    tagNilBytes: none ([]byte(nil), which database/sql hands on as nil
//	    to *[]byte and *any destinations, unlike an empty slice)
//	    tagTime: zigzag varint Unix seconds, uvarint nanoseconds, location
//	    kind byte (loc*); locFixed and locNamed add the location's name, the
//	    zone's abbreviation and its offset in seconds at that instant
//
// A string is a uvarint length and its bytes.
const formatVersion = 1

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt64
	tagFloat64
	tagString
	tagBytes
	tagTime
	tagNilBytes
)

const (
	flagHasNullable = 1 << iota
	flagNullable
	flagHasLength
	flagHasDecimal
	flagAll = flagHasNullable | flagNullable | flagHasLength | flagHasDecimal
)

const (
	locUTC byte = iota
	locLocal
	locFixed
	locNamed
)

// maxEmptyRows bounds the row count of a zero-column result (rows that take
// no bytes), so a corrupt count cannot make UnmarshalBinary allocate
// without bound.
const maxEmptyRows = 1 << 20

// MarshalBinary encodes the RowSet for a cache store. Every value decodes
// with its exact Go type and value; see UnmarshalBinary.
func (rs *RowSet) MarshalBinary() ([]byte, error) {
	if len(rs.Columns) == 0 && len(rs.Values) > maxEmptyRows {
		return nil, fmt.Errorf("rowset: encode: %d rows without columns exceed %d", len(rs.Values), maxEmptyRows)
	}
	b := make([]byte, 0, rs.encodedSizeHint())
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(len(rs.Columns)))
	for i := range rs.Columns {
		c := &rs.Columns[i]
		b = appendString(b, c.Name)
		b = appendString(b, c.DatabaseTypeName)
		switch code, ok := builtinScanCodes[c.ScanType]; {
		case c.ScanType == nil:
			b = append(b, noScanType)
		case ok:
			b = append(b, code)
		default:
			registerScanType(c.ScanType)
			b = append(b, 0)
			b = appendString(b, scanTypeName(c.ScanType))
		}
		var flags byte
		if c.HasNullable {
			flags |= flagHasNullable
			if c.Nullable {
				flags |= flagNullable
			}
		}
		if c.HasLength {
			flags |= flagHasLength
		}
		if c.HasDecimalSize {
			flags |= flagHasDecimal
		}
		b = append(b, flags)
		if c.HasLength {
			b = binary.AppendVarint(b, c.Length)
		}
		if c.HasDecimalSize {
			b = binary.AppendVarint(b, c.Precision)
			b = binary.AppendVarint(b, c.Scale)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(rs.Values)))
	for r, row := range rs.Values {
		if len(row) != len(rs.Columns) {
			return nil, fmt.Errorf("rowset: encode: %w: row %d has %d values for %d columns", ErrShape, r, len(row), len(rs.Columns))
		}
		for i, v := range row {
			var err error
			if b, err = appendValue(b, v); err != nil {
				return nil, fmt.Errorf("rowset: encode: row %d column %q: %w", r, rs.Columns[i].Name, err)
			}
		}
	}
	return b, nil
}

// encodedSizeHint estimates the encoding's length so that MarshalBinary
// allocates once in the common case.
func (rs *RowSet) encodedSizeHint() int {
	n := 16
	for i := range rs.Columns {
		n += 8 + len(rs.Columns[i].Name) + len(rs.Columns[i].DatabaseTypeName) + 20
	}
	for _, row := range rs.Values {
		for _, v := range row {
			switch v := v.(type) {
			case string:
				n += 3 + len(v)
			case []byte:
				n += 3 + len(v)
			case time.Time:
				n += 16
			default:
				n += 9
			}
		}
	}
	return n
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v driver.Value) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case bool:
		if v {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt64), v), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(v)), nil
	case string:
		return appendString(append(b, tagString), v), nil
	case []byte:
		if v == nil {
			return append(b, tagNilBytes), nil
		}
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(v)))
		return append(b, v...), nil
	case time.Time:
		return appendTime(append(b, tagTime), v), nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
	}
}

// appendTime records the instant as Unix seconds and nanoseconds: int64
// arithmetic wraps, so even instants whose Unix seconds overflow come back
// exactly. The location is recorded as UTC, Local (decoded as the decoding
// process's Local), or by name, abbreviation and offset.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	switch loc := t.Location(); loc {
	case time.UTC:
		return append(b, locUTC)
	case time.Local:
		return append(b, locLocal)
	default:
		abbr, off := t.Zone()
		name := loc.String()
		// A fixed zone's only zone carries the location's name; a tz
		// database location is named differently from its abbreviations
		// (see the package tests for the few tz names that are their own
		// abbreviation: they decode as fixed zones).
		kind := locNamed
		if name == abbr {
			kind = locFixed
		}
		b = append(b, kind)
		if kind == locNamed {
			b = appendString(b, name)
		}
		b = appendString(b, abbr)
		return binary.AppendVarint(b, int64(off))
	}
}

// UnmarshalBinary replaces the RowSet with a decoded one. Every value comes
// back with its exact Go type: int64, float64 (NaN, infinities and -0
// included), bool, string, []byte, time.Time (same instant; UTC, Local, fixed
// and named zones kept, Local meaning this process's Local) and nil. Input
// that is malformed, truncated, has trailing bytes, or carries an unknown
// format version yields an error wrapping ErrCorrupt and leaves rs
// unchanged; it never panics.
//
// Decoded strings and byte slices share one copy of b, so b may be reused
// afterwards. The decoded Columns slice is shared with other RowSets decoded
// from the same column section: like the rest of a RowSet, it must not be
// modified.
func (rs *RowSet) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	out, err := d.rowSet()
	if err != nil {
		return err
	}
	*rs = *out
	return nil
}

type decoder struct {
	b   []byte
	off int
	// strs and bufs are copies of b made on the first string and []byte
	// value: values are slices of them, one allocation per kind instead of
	// one per value.
	strs string
	bufs []byte
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

func (d *decoder) rowSet() (*RowSet, error) {
	if len(d.b) == 0 {
		return nil, corrupt("empty input")
	}
	if v := d.b[0]; v != formatVersion {
		return nil, corrupt("format version %d, want %d", v, formatVersion)
	}
	d.off = 1
	ncols, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	// Every column takes at least four bytes.
	if ncols > uint64(d.remaining()/4) {
		return nil, corrupt("%d columns in %d bytes", ncols, d.remaining())
	}
	cols, err := d.columns(int(ncols))
	if err != nil {
		return nil, err
	}
	nrows, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	// Every value takes at least one byte.
	if ncols == 0 && nrows > maxEmptyRows || ncols > 0 && nrows > uint64(d.remaining())/ncols {
		return nil, corrupt("%d rows of %d columns in %d bytes", nrows, ncols, d.remaining())
	}
	var rows [][]driver.Value
	if nrows > 0 {
		rows = make([][]driver.Value, nrows)
		slab := make([]driver.Value, nrows*ncols)
		for r := range rows {
			row := slab[:ncols:ncols]
			slab = slab[ncols:]
			for i := range row {
				if row[i], err = d.value(); err != nil {
					return nil, fmt.Errorf("row %d column %d: %w", r, i, err)
				}
			}
			rows[r] = row
		}
	}
	if d.remaining() != 0 {
		return nil, corrupt("%d trailing bytes", d.remaining())
	}
	return &RowSet{Columns: cols, Values: rows}, nil
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) byte() (byte, error) {
	if d.off >= len(d.b) {
		return 0, corrupt("truncated")
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		return 0, corrupt("bad uvarint at %d", d.off)
	}
	d.off += n
	return v, nil
}

func (d *decoder) varint() (int64, error) {
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		return 0, corrupt("bad varint at %d", d.off)
	}
	d.off += n
	return v, nil
}

// span returns the bounds of a length-prefixed byte run.
func (d *decoder) span() (start, end int, err error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, 0, err
	}
	if n > uint64(d.remaining()) {
		return 0, 0, corrupt("length %d exceeds the %d bytes left", n, d.remaining())
	}
	start = d.off
	d.off += int(n)
	return start, d.off, nil
}

// metaString decodes a string that is not a value (column and type names):
// these repeat in every encoding of a query's result, so they are interned
// rather than allocated on each decode.
func (d *decoder) metaString() (string, error) {
	s, e, err := d.span()
	if err != nil {
		return "", err
	}
	return metaNames.intern(d.b[s:e]), nil
}

// columns decodes the column section. A query's result has the same
// columns on every decode, so decoded sections are cached by their bytes and
// shared (RowSets are immutable): a hit costs a walk over the section and a
// map lookup instead of an allocation per decode.
func (d *decoder) columns(n int) ([]Column, error) {
	if n == 0 {
		return nil, nil
	}
	start := d.off
	for i := range n {
		if err := d.skipColumn(); err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	section := d.b[start:d.off]
	columnCache.mu.RLock()
	cols, ok := columnCache.m[string(section)]
	columnCache.mu.RUnlock()
	if ok {
		return cols, nil
	}
	end := d.off
	d.off = start
	cols = make([]Column, n)
	for i := range cols {
		if err := d.column(&cols[i]); err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	if d.off != end {
		return nil, corrupt("column section of %d bytes decoded as %d", end-start, d.off-start)
	}
	columnCache.mu.Lock()
	if len(columnCache.m) < maxCachedColumnSets {
		columnCache.m[string(section)] = cols
	}
	columnCache.mu.Unlock()
	return cols, nil
}

// maxCachedColumnSets bounds the column cache: one entry per distinct
// result shape, so a real application stays far below it.
const maxCachedColumnSets = 1 << 12

var columnCache = struct {
	mu sync.RWMutex
	m  map[string][]Column
}{m: map[string][]Column{}}

// skipColumn moves past one column's encoding, checking its structure
// but building nothing.
func (d *decoder) skipColumn() error {
	for range 2 { // name, database type name
		if _, _, err := d.span(); err != nil {
			return err
		}
	}
	code, err := d.byte()
	if err != nil {
		return err
	}
	if code == 0 {
		if _, _, err := d.span(); err != nil {
			return err
		}
	}
	flags, err := d.byte()
	if err != nil {
		return err
	}
	n := 0
	if flags&flagHasLength != 0 {
		n++
	}
	if flags&flagHasDecimal != 0 {
		n += 2
	}
	for range n {
		if _, err := d.varint(); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) column(c *Column) error {
	var err error
	if c.Name, err = d.metaString(); err != nil {
		return err
	}
	if c.DatabaseTypeName, err = d.metaString(); err != nil {
		return err
	}
	code, err := d.byte()
	if err != nil {
		return err
	}
	switch {
	case code == noScanType:
	case code == 0:
		name, err := d.metaString()
		if err != nil {
			return err
		}
		if c.ScanType, err = lookupScanType(name); err != nil {
			return err
		}
	case int(code) < len(builtinScanTypes):
		c.ScanType = builtinScanTypes[code]
	default:
		return corrupt("unknown scan type code %d", code)
	}
	flags, err := d.byte()
	if err != nil {
		return err
	}
	if flags&^flagAll != 0 || flags&flagNullable != 0 && flags&flagHasNullable == 0 {
		return corrupt("bad column flags %#x", flags)
	}
	c.HasNullable = flags&flagHasNullable != 0
	c.Nullable = flags&flagNullable != 0
	if flags&flagHasLength != 0 {
		c.HasLength = true
		if c.Length, err = d.varint(); err != nil {
			return err
		}
	}
	if flags&flagHasDecimal != 0 {
		c.HasDecimalSize = true
		if c.Precision, err = d.varint(); err != nil {
			return err
		}
		if c.Scale, err = d.varint(); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) value() (driver.Value, error) {
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt64:
		return d.varint()
	case tagFloat64:
		if d.remaining() < 8 {
			return nil, corrupt("truncated float64")
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
		d.off += 8
		return v, nil
	case tagString:
		s, e, err := d.span()
		if err != nil {
			return nil, err
		}
		if d.strs == "" {
			d.strs = string(d.b)
		}
		return d.strs[s:e], nil
	case tagBytes:
		s, e, err := d.span()
		if err != nil {
			return nil, err
		}
		if d.bufs == nil {
			d.bufs = append([]byte(nil), d.b...)
		}
		// The full slice expression keeps an append to one value from
		// overwriting the next.
		return d.bufs[s:e:e], nil
	case tagNilBytes:
		return []byte(nil), nil
	case tagTime:
		return d.time()
	default:
		return nil, corrupt("unknown value tag %d", tag)
	}
}

func (d *decoder) time() (time.Time, error) {
	sec, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	nsec, err := d.uvarint()
	if err != nil {
		return time.Time{}, err
	}
	if nsec >= 1e9 {
		return time.Time{}, corrupt("nanoseconds %d out of range", nsec)
	}
	t := time.Unix(sec, int64(nsec))
	kind, err := d.byte()
	if err != nil {
		return time.Time{}, err
	}
	switch kind {
	case locUTC:
		return t.UTC(), nil
	case locLocal:
		return t, nil
	case locFixed, locNamed:
	default:
		return time.Time{}, corrupt("unknown location kind %d", kind)
	}
	var name string
	if kind == locNamed {
		if name, err = d.zoneString(); err != nil {
			return time.Time{}, err
		}
	}
	abbr, err := d.zoneString()
	if err != nil {
		return time.Time{}, err
	}
	off64, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	// time.FixedZone accepts any int, but offsets beyond a day are not
	// zones any process could have produced.
	if off64 < -86400 || off64 > 86400 {
		return time.Time{}, corrupt("zone offset %d out of range", off64)
	}
	off := int(off64)
	if kind == locNamed {
		if loc := namedLocation(name); loc != nil {
			if t2 := t.In(loc); zoneMatches(t2, abbr, off) {
				return t2, nil
			}
		}
		// This process lacks the zone or has different rules for it: keep
		// what the recording process saw.
	}
	return t.In(fixedLocation(abbr, off)), nil
}

// zoneString decodes a zone name or abbreviation, interned like
// metaString's names.
func (d *decoder) zoneString() (string, error) {
	s, e, err := d.span()
	if err != nil {
		return "", err
	}
	return zoneNames.intern(d.b[s:e]), nil
}

func zoneMatches(t time.Time, abbr string, off int) bool {
	a, o := t.Zone()
	return a == abbr && o == off
}

// Location caches: LoadLocation reads the tz database and FixedZone
// allocates, and both would otherwise run for every decoded time. Bounded so
// that hostile input cannot grow them without limit.
const maxCachedZones = 1024

var (
	zoneMu        sync.Mutex
	fixedZones    = map[fixedKey]*time.Location{}
	namedZones    = map[string]*time.Location{} // nil: not loadable
	zoneCacheSize int
)

type fixedKey struct {
	name string
	off  int
}

func fixedLocation(name string, off int) *time.Location {
	k := fixedKey{name, off}
	zoneMu.Lock()
	defer zoneMu.Unlock()
	if loc, ok := fixedZones[k]; ok {
		return loc
	}
	loc := time.FixedZone(name, off)
	if zoneCacheSize < maxCachedZones {
		fixedZones[k] = loc
		zoneCacheSize++
	}
	return loc
}

func namedLocation(name string) *time.Location {
	zoneMu.Lock()
	loc, ok := namedZones[name]
	zoneMu.Unlock()
	if ok {
		return loc
	}
	// LoadLocation("") and LoadLocation("UTC") return UTC and "Local"
	// returns Local; a recording names neither, as those encode as their
	// own kinds, so such names are corrupt or foreign: fall back.
	if name == "" || name == "UTC" || name == "Local" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	zoneMu.Lock()
	defer zoneMu.Unlock()
	if zoneCacheSize < maxCachedZones {
		namedZones[name] = loc
		zoneCacheSize++
	}
	return loc
}

// internTable hands out one shared copy of each string it has seen, up to a
// bound past which it copies instead: names come from the application's
// schema and are few, but decoded input may be hostile.
type internTable struct {
	mu    sync.RWMutex
	m     map[string]string
	limit int
}

var (
	metaNames = &internTable{m: map[string]string{}, limit: 1 << 14}
	zoneNames = &internTable{m: map[string]string{}, limit: maxCachedZones}
)

func (t *internTable) intern(b []byte) string {
	t.mu.RLock()
	s, ok := t.m[string(b)] // a lookup by string(b) does not allocate
	t.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	t.mu.Lock()
	if len(t.m) < t.limit {
		if prev, ok := t.m[s]; ok {
			s = prev
		} else {
			t.m[s] = s
		}
	}
	t.mu.Unlock()
	return s
}
