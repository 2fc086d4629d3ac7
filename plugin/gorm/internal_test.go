package hydragorm

import (
	"testing"

	"github.com/hydracache/hydracache/core/rowset"
	"github.com/hydracache/hydracache/keys"
)

// TestEntityDescMatchesKeys: the precomputed prefixes give the keys and
// tags the keys package builds.
func TestEntityDescMatchesKeys(t *testing.T) {
	p := New(nil, WithNamespace("ns:1"))
	p.scope = keys.Scope{}.With("gorm", "ns:1")
	m := &model{table: "us:ers"}
	m.scoped = p.scope.With("s", "fp")
	m.unscoped = p.scope.With("u", "fp")
	m.scopedKey = m.scoped.Wrap(keys.Entity(m.table)) + ":"
	m.unscopedKey = m.unscoped.Wrap(keys.Entity(m.table)) + ":"
	m.entityTagPrefix = p.scope.Wrap(keys.EntityTag(m.table)) + ":"
	m.rowsTag = p.rowsTag(m.table)
	for _, pk := range []string{"42", "", "a:b", `a\\b`, "x"} {
		d := p.entityDesc(m, false, pk)
		if want := m.scoped.Wrap(keys.Entity(m.table, pk)); d.Key != want {
			t.Errorf("key %q, want %q", d.Key, want)
		}
		if want := p.scope.Wrap(keys.EntityTag(m.table, pk)); d.Tags[0] != want {
			t.Errorf("tag %q, want %q", d.Tags[0], want)
		}
		if u := p.entityDesc(m, true, pk); u.Key != m.unscoped.Wrap(keys.Entity(m.table, pk)) {
			t.Errorf("unscoped key %q", u.Key)
		}
	}
}

// TestDecodedCacheReusedBuffer: a store that reuses a buffer for other
// bytes gets a decode, never the RowSet of the old bytes.
func TestDecodedCacheReusedBuffer(t *testing.T) {
	c := decodedCache{limit: 1 << 20}
	buf := []byte("entry-one")
	a := &rowset.RowSet{}
	c.put(buf, a)
	if got := c.get(buf); got == nil || got.rs != a {
		t.Fatal("same bytes at the same address: not found")
	}
	copy(buf, "entry-two")
	if got := c.get(buf); got != nil {
		t.Fatal("other bytes at the same address gave the old RowSet")
	}
	if got := c.get([]byte("entry-one")); got != nil {
		t.Fatal("another address found an entry")
	}
}
