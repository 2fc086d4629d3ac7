package store

import "errors"

// ErrTagsUnsupported is returned when a caller passes gocache tags to Set or
// Invalidate: HydraCache invalidates through its own tag versions, and these
// stores keep no tag-to-key index.
var ErrTagsUnsupported = errors.New("hydracache/store: gocache tags are not supported; use core tag versions")

// ErrUnsupportedValue is returned by Set when the value is neither []byte nor
// string.
var ErrUnsupportedValue = errors.New("hydracache/store: value must be []byte or string")
