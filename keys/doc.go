// Package keys builds every store key and tag HydraCache uses, and the
// fingerprints that identify cached queries.
//
// A key is a list of segments joined by ':' (see [Join]). Segments made of
// plain characters come out unchanged, so keys stay readable in redis-cli
// ("e:users:42"); a ':' or '\' inside a segment, and an empty segment, are
// escaped so that the encoding stays injective: two different segment lists
// never give the same key. That property is what keeps one table's rows from
// ever answering for another's.
//
// Query fingerprints ([Query]) hash the dialect, the SQL text and the
// arguments encoded together with their types, so that 1, "1" and []byte("1")
// never share a cache entry.
//
// The package depends on nothing else in HydraCache.
package keys
