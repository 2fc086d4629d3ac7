package keys

import (
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// ErrUnsupported is wrapped by the errors [Value] and [Query] return for a
// value they cannot encode; the caller then does not cache the read.
var ErrUnsupported = errors.New("keys: unsupported value")

// maxDepth bounds recursion through pointers, valuers and nested slices, so a
// cyclic value ends in ErrUnsupported instead of a stack overflow.
const maxDepth = 32

// Value returns the canonical text of a key value (a primary key), for use
// as a segment of [Entity] and [EntityTag].
//
//   - signed and unsigned integers of every width, and named types over
//     them, give their decimal text: int64(42), int32(42), uint8(42) and "42"
//     all give "42" on purpose, because a table's key column has one type and
//     plugins may hold its values as different Go integer widths;
//   - strings (and named string types) give themselves;
//   - bool gives "true" or "false";
//   - []byte gives its bytes in lowercase hex ("" for an empty slice), so
//     binary keys stay printable;
//   - [16]byte gives the canonical UUID text (8-4-4-4-12 lowercase hex),
//     which is also what uuid.UUID's String and Value give;
//   - a [driver.Valuer] gives the text of what its Value method returns;
//   - any other type with a String method gives that;
//   - pointers are dereferenced.
//
// nil, nil pointers, floats, time.Time and other types give an error
// wrapping [ErrUnsupported]: they make poor or ambiguous keys. So does a
// Value or String method that panics.
func Value(v any) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = "", fmt.Errorf("%w: key value %T panicked: %v", ErrUnsupported, v, r)
		}
	}()
	return value(v, 0)
}

func value(v any, depth int) (string, error) {
	// Common key types first: no reflection.
	switch x := v.(type) {
	case nil:
		return "", fmt.Errorf("%w: nil key value", ErrUnsupported)
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case string:
		return x, nil
	case []byte:
		return hex.EncodeToString(x), nil
	case [16]byte:
		return uuidText(x), nil
	case time.Time:
		// Its String method would pass below, but its text depends on the
		// zone and monotonic reading: not a canonical key.
		return "", fmt.Errorf("%w: time.Time key value", ErrUnsupported)
	}
	if depth >= maxDepth {
		return "", fmt.Errorf("%w: key value nested deeper than %d (%T)", ErrUnsupported, maxDepth, v)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return "", fmt.Errorf("%w: nil pointer key value (%T)", ErrUnsupported, v)
	}
	// A Valuer says what the database stores, which is what another code
	// path (e.g. a scanned row) will hold as the key. Checked before
	// dereferencing so pointer-receiver Value methods are found.
	if vr, ok := v.(driver.Valuer); ok {
		dv, err := vr.Value()
		if err != nil {
			return "", fmt.Errorf("keys: key value %T: Value(): %w", v, err)
		}
		s, err := value(dv, depth+1)
		if err != nil {
			return "", fmt.Errorf("keys: key value %T: %w", v, err)
		}
		return s, nil
	}
	if rv.Kind() == reflect.Pointer {
		s, err := value(rv.Elem().Interface(), depth+1)
		if err != nil && errors.Is(err, ErrUnsupported) && !rv.Elem().Type().Implements(stringerType) {
			// The element has no text of its own, but a pointer-receiver
			// String method (like *big.Int's) may.
			if st, ok := v.(fmt.Stringer); ok {
				return st.String(), nil
			}
		}
		return s, err
	}
	// Kinds before String methods: a named integer with a String method
	// (an enum) is still keyed by its number, as the database holds it.
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool()), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return hex.EncodeToString(rv.Bytes()), nil
		}
	case reflect.Array:
		if rv.Len() == 16 && rv.Type().Elem().Kind() == reflect.Uint8 {
			if s, ok := v.(fmt.Stringer); ok {
				return s.String(), nil
			}
			var u [16]byte
			reflect.Copy(reflect.ValueOf(u[:]), rv)
			return uuidText(u), nil
		}
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String(), nil
	}
	return "", fmt.Errorf("%w: key value of type %T", ErrUnsupported, v)
}

var stringerType = reflect.TypeFor[fmt.Stringer]()

// uuidText formats u as 8-4-4-4-12 lowercase hex.
func uuidText(u [16]byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}
