// Package entschema is the generated Ent client of hydraent's tests, example
// and benchmarks. Regenerate with go generate; see gen.sh for why the
// generator runs in a scratch module.
package entschema

//go:generate sh gen.sh
