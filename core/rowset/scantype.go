package rowset

import (
	"database/sql"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// builtinScanTypes are the scan types that encode as a one-byte code. The
// order is part of the format: append only, and bump formatVersion if an
// entry ever has to change.
var builtinScanTypes = []reflect.Type{
	nil, // 0: not a builtin, a name follows
	reflect.TypeFor[any](),
	reflect.TypeFor[bool](),
	reflect.TypeFor[int](),
	reflect.TypeFor[int8](),
	reflect.TypeFor[int16](),
	reflect.TypeFor[int32](),
	reflect.TypeFor[int64](),
	reflect.TypeFor[uint](),
	reflect.TypeFor[uint8](),
	reflect.TypeFor[uint16](),
	reflect.TypeFor[uint32](),
	reflect.TypeFor[uint64](),
	reflect.TypeFor[float32](),
	reflect.TypeFor[float64](),
	reflect.TypeFor[string](),
	reflect.TypeFor[[]byte](),
	reflect.TypeFor[time.Time](),
	reflect.TypeFor[sql.RawBytes](),
	reflect.TypeFor[sql.NullBool](),
	reflect.TypeFor[sql.NullByte](),
	reflect.TypeFor[sql.NullInt16](),
	reflect.TypeFor[sql.NullInt32](),
	reflect.TypeFor[sql.NullInt64](),
	reflect.TypeFor[sql.NullFloat64](),
	reflect.TypeFor[sql.NullString](),
	reflect.TypeFor[sql.NullTime](),
	reflect.TypeFor[*bool](),
	reflect.TypeFor[*int64](),
	reflect.TypeFor[*float64](),
	reflect.TypeFor[*string](),
	reflect.TypeFor[*time.Time](),
}

// noScanType encodes a nil Column.ScanType.
const noScanType = 0xff

var builtinScanCodes = func() map[reflect.Type]byte {
	m := make(map[reflect.Type]byte, len(builtinScanTypes))
	for i, t := range builtinScanTypes {
		if t != nil {
			m[t] = byte(i)
		}
	}
	return m
}()

// scanTypes maps the names of non-builtin scan types to their types. A type
// enters when this process records or registers it: a reflect.Type cannot be
// rebuilt from its name, so an encoding naming a type this process has never
// seen fails to decode (a cache miss), and the miss's Record registers it.
var scanTypes sync.Map // string -> reflect.Type

// scanTypeName names t for the encoding: the package path keeps apart types
// of the same name from different packages.
func scanTypeName(t reflect.Type) string {
	return t.PkgPath() + " " + t.String()
}

// RegisterScanType makes t decodable as a column scan type in this process
// before any result carrying it has been recorded here. Types that
// database/sql and pgx report need no registration.
func RegisterScanType(t reflect.Type) {
	if t != nil {
		registerScanType(t)
	}
}

func registerScanType(t reflect.Type) {
	if _, ok := builtinScanCodes[t]; ok {
		return
	}
	name := scanTypeName(t)
	if _, ok := scanTypes.Load(name); !ok {
		scanTypes.Store(name, t)
	}
}

func lookupScanType(name string) (reflect.Type, error) {
	if v, ok := scanTypes.Load(name); ok {
		return v.(reflect.Type), nil
	}
	return nil, fmt.Errorf("%w: scan type %q unknown in this process (see RegisterScanType)", ErrCorrupt, name)
}
