package keys

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"
)

// Fingerprint is a 128-bit collision-resistant hash identifying a query:
// SHA-256, truncated to its first 16 bytes, of an injective encoding of the
// dialect, the SQL text and the typed arguments. 128 bits keep the chance of
// any collision among 2^40 distinct queries below 2^-48.
type Fingerprint [16]byte

// String returns f as 32 lowercase hex characters.
func (f Fingerprint) String() string {
	var buf [32]byte
	hex.Encode(buf[:], f[:])
	return string(buf[:])
}

// fingerprintVersion starts every hashed message; bump it when the encoding
// changes so old entries are never read under the new meaning.
const fingerprintVersion = 1

// Type tags: each encoded argument starts with one, so values of different
// kinds never share an encoding.
const (
	tagNil      byte = 'z' // untyped nil
	tagNilPtr   byte = 'p' // nil pointer
	tagInt      byte = 'i' // any signed integer (or unsigned <= MaxInt64), as int64
	tagUint     byte = 'u' // unsigned integer > MaxInt64, as uint64
	tagFloat    byte = 'f' // float32 or float64, as float64 bits
	tagTrue     byte = 'T'
	tagFalse    byte = 'F'
	tagString   byte = 's'
	tagBytes    byte = 'b'
	tagNilBytes byte = 'B' // nil []byte: drivers send NULL, not ''
	tagTime     byte = 't'
	tagValuer   byte = 'v' // followed by the encoding of Value()'s result
	tagSlice    byte = 'l'
	tagNilSlice byte = 'L' // nil slice: drivers send NULL, not an empty array
	tagArray    byte = 'a'
)

// bufPool recycles encoding buffers: the encoder is recursive, which makes
// escape analysis move any stack buffer to the heap, so a pool is what keeps
// Query free of allocations.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledBuf keeps one huge query from pinning its buffer forever.
const maxPooledBuf = 64 << 10

func putBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledBuf {
		bufPool.Put(bp)
	}
}

// Query fingerprints one read: dialect, SQL text and arguments.
//
// Every argument is encoded with a type tag, and every variable-length part
// (dialect, SQL, strings, byte slices, location names, lists) with its
// length, so the encoding is injective: ("ab","c") and ("a","bc") differ, and
// bytes cannot move between the SQL and the arguments. Distinct encodings
// therefore give distinct fingerprints up to SHA-256 collisions.
//
// What counts as the same argument follows what the driver receives:
//
//   - all integer widths with the same value are equal (database/sql hands
//     every one of them to the driver as int64), so int64(1) == int32(1);
//     they differ from float64(1), "1", []byte("1") and true;
//   - float32 is widened to float64 exactly, so float32(0.5) == float64(0.5);
//   - a time.Time is encoded as its instant plus its location name and
//     offset: the same instant in two zones differs (the driver may render
//     the zone); the monotonic clock reading is ignored;
//   - a [driver.Valuer] is encoded as the result of its Value method, tagged
//     as coming from a valuer;
//   - nil, a nil pointer, a nil []byte and a nil slice are four distinct
//     values, and each differs from "", []byte{} and an empty slice: drivers
//     such as pgx send NULL for the nil ones, and a pointer-receiver Valuer
//     may give a nil pointer a meaning of its own, so nothing is merged that
//     a driver might tell apart;
//   - slices and arrays of supported values (IN lists: []int64, []string,
//     []any, ...) are encoded element by element; []byte is a byte string;
//   - other pointers are dereferenced; named types (type ID int64) are
//     encoded as their underlying kind.
//
// Any other type (maps, structs that are not driver.Valuer, channels, funcs,
// complex numbers) gives an error wrapping [ErrUnsupported]; the caller then
// does not cache the read. So does a Valuer whose Value method fails.
//
// Encoding buffers are pooled, so a steady stream of queries hashes without
// allocating.
func Query(dialect, sql string, args []any) (Fingerprint, error) {
	bp := bufPool.Get().(*[]byte)
	defer putBuf(bp)
	b := append((*bp)[:0], fingerprintVersion)
	b = appendString(b, dialect)
	b = appendString(b, sql)
	b = binary.AppendUvarint(b, uint64(len(args)))
	for i, a := range args {
		var err error
		b, err = appendArg(b, a, 0)
		if err != nil {
			return Fingerprint{}, fmt.Errorf("keys: query argument %d: %w", i, err)
		}
	}
	*bp = b // keep a grown buffer for the next call
	sum := sha256.Sum256(b)
	var f Fingerprint
	copy(f[:], sum[:])
	return f, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendInt(b []byte, i int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tagInt), uint64(i))
}

func appendUint(b []byte, u uint64) []byte {
	if u <= math.MaxInt64 {
		return appendInt(b, int64(u))
	}
	return binary.BigEndian.AppendUint64(append(b, tagUint), u)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(f))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, tagTrue)
	}
	return append(b, tagFalse)
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return append(b, tagNilBytes)
	}
	b = binary.AppendUvarint(append(b, tagBytes), uint64(len(v)))
	return append(b, v...)
}

func appendTime(b []byte, t time.Time) []byte {
	name, offset := t.Zone()
	b = append(b, tagTime)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
	b = binary.BigEndian.AppendUint32(b, uint32(int32(offset)))
	// The location's name (e.g. "Europe/Paris", "UTC", "Local") besides the
	// zone abbreviation and offset: two locations with the same offset
	// today may render differently.
	b = appendString(b, t.Location().String())
	return appendString(b, name)
}

// appendArg encodes one argument. The type switch covers what GORM and Ent
// pass in practice without reflection; reflection handles the rest.
func appendArg(b []byte, a any, depth int) ([]byte, error) {
	switch x := a.(type) {
	case nil:
		return append(b, tagNil), nil
	case int64:
		return appendInt(b, x), nil
	case int:
		return appendInt(b, int64(x)), nil
	case int32:
		return appendInt(b, int64(x)), nil
	case uint64:
		return appendUint(b, x), nil
	case uint:
		return appendUint(b, uint64(x)), nil
	case string:
		return appendString(append(b, tagString), x), nil
	case []byte:
		return appendBytes(b, x), nil
	case bool:
		return appendBool(b, x), nil
	case float64:
		return appendFloat(b, x), nil
	case time.Time:
		return appendTime(b, x), nil
	case []int64:
		if x == nil {
			return append(b, tagNilSlice), nil
		}
		b = binary.AppendUvarint(append(b, tagSlice), uint64(len(x)))
		for _, v := range x {
			b = appendInt(b, v)
		}
		return b, nil
	case []string:
		if x == nil {
			return append(b, tagNilSlice), nil
		}
		b = binary.AppendUvarint(append(b, tagSlice), uint64(len(x)))
		for _, v := range x {
			b = appendString(append(b, tagString), v)
		}
		return b, nil
	}
	if depth >= maxDepth {
		return b, fmt.Errorf("%w: argument nested deeper than %d (%T)", ErrUnsupported, maxDepth, a)
	}
	if vr, ok := a.(driver.Valuer); ok {
		return appendValuer(b, vr, depth)
	}
	return appendReflect(b, reflect.ValueOf(a), depth)
}

// appendReflect encodes by kind what the type switch in appendArg does not
// know. It reads list elements in place, so an IN list of named or narrow
// integers does not box each element.
func appendReflect(b []byte, rv reflect.Value, depth int) ([]byte, error) {
	switch rv.Kind() {
	case reflect.Invalid: // a nil element of an []any
		return append(b, tagNil), nil
	case reflect.Interface:
		if rv.IsNil() {
			return append(b, tagNil), nil
		}
		return appendArg(b, rv.Elem().Interface(), depth+1)
	case reflect.Pointer:
		if rv.IsNil() {
			return append(b, tagNilPtr), nil
		}
		return appendArg(b, rv.Elem().Interface(), depth+1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(b, rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendUint(b, rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(b, rv.Float()), nil
	case reflect.Bool:
		return appendBool(b, rv.Bool()), nil
	case reflect.String:
		return appendString(append(b, tagString), rv.String()), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return appendBytes(b, rv.Bytes()), nil
		}
		if rv.IsNil() {
			return append(b, tagNilSlice), nil
		}
		return appendList(append(b, tagSlice), rv, depth)
	case reflect.Array:
		return appendList(append(b, tagArray), rv, depth)
	case reflect.Struct:
		if rv.Type() == timeType {
			return appendTime(b, rv.Interface().(time.Time)), nil
		}
	}
	return b, fmt.Errorf("%w: argument of type %s", ErrUnsupported, rv.Type())
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	valuerType = reflect.TypeFor[driver.Valuer]()
)

func appendList(b []byte, rv reflect.Value, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return b, fmt.Errorf("%w: argument nested deeper than %d (%s)", ErrUnsupported, maxDepth, rv.Type())
	}
	n := rv.Len()
	b = binary.AppendUvarint(b, uint64(n))
	elemValuer := rv.Type().Elem().Kind() != reflect.Interface && rv.Type().Elem().Implements(valuerType)
	for i := 0; i < n; i++ {
		var err error
		if elemValuer {
			b, err = appendArg(b, rv.Index(i).Interface(), depth+1)
		} else {
			b, err = appendReflect(b, rv.Index(i), depth+1)
		}
		if err != nil {
			return b, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return b, nil
}

// appendValuer encodes what vr.Value returns, as database/sql would send it.
func appendValuer(b []byte, vr driver.Valuer, depth int) (out []byte, err error) {
	rv := reflect.ValueOf(vr)
	if rv.Kind() == reflect.Pointer && rv.IsNil() &&
		rv.Type().Elem().Implements(valuerType) {
		// A nil pointer to a value-receiver Valuer: database/sql sends NULL
		// without calling Value (which would panic).
		return append(b, tagNilPtr), nil
	}
	defer func() {
		// A pointer-receiver Value method may not expect a nil receiver.
		if r := recover(); r != nil {
			out, err = b, fmt.Errorf("%w: %T.Value panicked: %v", ErrUnsupported, vr, r)
		}
	}()
	dv, err := vr.Value()
	if err != nil {
		return b, fmt.Errorf("%T.Value: %w", vr, err)
	}
	return appendArg(append(b, tagValuer), dv, depth+1)
}
