// Package store provides the two cache stores HydraCache stands behind, both
// implementing gocache's store.StoreInterface: a memory store bounded by
// bytes for one process (NewMemory), and a Redis store on rueidis with
// client-side caching for many processes (NewRedis on a client of yours, or
// DialRedis, which owns its client and mirrors warm values in process).
//
// Values are byte slices (strings are accepted on Set). Both stores also
// offer batch reads, set-if-absent and batch writes, which core uses when a
// store has them.
package store
