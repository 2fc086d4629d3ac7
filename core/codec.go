package core

import (
	"encoding"
	"fmt"

	"github.com/shamaton/msgpack/v2"
)

// Codec turns the values of the generic API into bytes and back.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// MsgpackCodec encodes with github.com/shamaton/msgpack/v2. Values that
// implement encoding.BinaryMarshaler (and pointers to
// encoding.BinaryUnmarshaler) use those methods instead, so types with an
// exact encoding of their own, such as rowset.RowSet, keep it.
type MsgpackCodec struct{}

// Marshal encodes v.
func (MsgpackCodec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(encoding.BinaryMarshaler); ok {
		b, err := m.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("marshal %T: %w", v, err)
		}
		return b, nil
	}
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("msgpack marshal %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal decodes data into v, a pointer.
func (MsgpackCodec) Unmarshal(data []byte, v any) error {
	if u, ok := v.(encoding.BinaryUnmarshaler); ok {
		if err := u.UnmarshalBinary(data); err != nil {
			return fmt.Errorf("unmarshal %T: %w", v, err)
		}
		return nil
	}
	if err := msgpack.Unmarshal(data, v); err != nil {
		return fmt.Errorf("msgpack unmarshal %T: %w", v, err)
	}
	return nil
}
