// Package bench holds the benchmarks that compare HydraCache with its peers
// (go-gorm/caches, ariga/entcache). It is a module of its own so that the
// peers never enter the library's go.mod.
package bench
