// Package core is HydraCache's engine: descriptors, the tag-version
// protocol, single-flight loading, negative caching, context modes and
// statistics, over any gocache store.
package core
