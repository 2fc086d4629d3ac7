package core

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hydracache/hydracache/keys"
)

// Policy is how one kind of entry is cached. The zero Policy uses the
// Cache's defaults and caches both key lookups and list queries.
type Policy struct {
	// TTL of an entry; 0 means the Cache's default.
	TTL time.Duration
	// NegativeTTL of a not-found result; 0 means the Cache's default, a
	// negative value disables negative caching.
	NegativeTTL time.Duration
	// SkipLists keeps list (collection) queries of the model out of the
	// cache; key lookups are still cached.
	SkipLists bool
	// Tags are extra tags every entry of the model carries, for
	// application-level invalidation with InvalidateTags.
	Tags []string
	// EarlyRefresh marks hot entries, read so often that their expiry
	// would send a burst of reads to the database, and sets how early they
	// are reloaded: the XFetch beta ("Optimal Probabilistic Cache Stampede
	// Prevention", Vattani et al., VLDB 2015); 1 is the usual value, larger
	// refreshes earlier, 0 (the default) never. A hit on such an entry
	// reloads it in the background, while the cached value is returned, with
	// a probability that rises as expiry nears, in proportion to how long
	// its last load took: when now - loadTime*beta*ln(rand()) passes the
	// expiry. Concurrent triggers in one process share one reload; with
	// WithFillLease, so do those of processes sharing the store. The reload
	// is stored under the usual check that no tag was bumped while it ran.
	// Only Fetch (and GetOrLoad) refresh early, not FetchMany; entries
	// written by Put, which records no load time, never do.
	EarlyRefresh float64
}

// CacheEntity is implemented by a model that opts in to caching. Plugins
// call CachePolicy on the zero value of the model type, so it must not
// depend on the receiver's fields.
type CacheEntity interface {
	CachePolicy() Policy
}

// Descriptor says what a cached read is: the entry key, the tags whose
// versions validate it, and its policy.
type Descriptor struct {
	// Key is the entry's key, without the namespace (see package keys).
	Key string
	// Tags are the tags whose versions the entry is validated against.
	Tags []string
	// Policy is the entry's policy.
	Policy Policy
	// Epoch, when set, is the namespace's flush version (FlushVersion)
	// the descriptor was made under: a miss stores its load only while the
	// flush version is still Epoch, so that a descriptor derived from
	// state a flush made stale (the plugins' view of the schema) never
	// fills the cache. Hits are served as usual.
	Epoch string

	prep *prepared // store keys computed by Cache.Prepare
}

// prepared holds the store keys of a descriptor, computed once, and with
// a Generations store the tag versions last read with the generations
// they were read under.
type prepared struct {
	c      *Cache
	keys   []string
	shards []int // with a Generations store: the shard of each tag key
	memo   atomic.Pointer[versionMemo]
	read   func(context.Context) ([][]byte, error) // a BatchPreparer's reader of keys
}

// versionMemo is what a prepared descriptor's tag keys held while their
// shards had generations gens.
type versionMemo struct {
	gens     []uint64
	versions [][]byte
}

// Prepare returns d with the store keys Fetch reads computed once, for a
// caller that reads the same descriptor again and again: Fetch on the
// returned value skips building them and, on a store implementing
// Generations, reads only the entry while no tag key may have been
// written. A prepared descriptor whose Key or Tags were changed since is
// noticed and read as a plain one.
func (c *Cache) Prepare(d Descriptor) Descriptor {
	p := &prepared{c: c, keys: c.readKeys(d)}
	p.shards = c.io.keyShards(p.keys[1:])
	p.read = c.io.prepareGetMulti(p.keys)
	d.prep = p
	return d
}

// keysOf returns the store keys of d (the entry, each tag, the epoch) and
// its prepared form when it has a valid one.
func (c *Cache) keysOf(d Descriptor) ([]string, *prepared) {
	if p := d.prep; p != nil && p.c == c && p.matches(d) {
		return p.keys, p
	}
	return c.readKeys(d), nil
}

// versions returns the tag versions p last read, if none of their shards
// has been written since. Otherwise it returns the shards' current
// generations, under which the versions read next may be remembered (nil
// when p is nil or the store has no generations).
func (p *prepared) versions() (versions [][]byte, gens []uint64) {
	if p == nil || p.shards == nil {
		return nil, nil
	}
	// A foreign store's panic costs the memo, never the read.
	defer func() {
		if recover() != nil {
			versions, gens = nil, nil
		}
	}()
	g := p.c.io.gn
	if m := p.memo.Load(); m != nil {
		current := true
		for i, s := range p.shards {
			if g.Generation(s) != m.gens[i] {
				current = false
				break
			}
		}
		if current {
			return m.versions, nil
		}
	}
	gens = make([]uint64, len(p.shards))
	for i, s := range p.shards {
		gens[i] = g.Generation(s)
	}
	return nil, gens
}

// matches reports whether the keys were computed from d's Key and Tags.
func (p *prepared) matches(d Descriptor) bool {
	c := p.c
	if len(p.keys) != len(d.Tags)+2 || !joined(p.keys[0], c.entryPrefix, d.Key) {
		return false
	}
	for i, t := range d.Tags {
		if !joined(p.keys[i+1], c.tagPrefix, t) {
			return false
		}
	}
	return true
}

// joined reports whether s is prefix+rest, without building it.
func joined(s, prefix, rest string) bool {
	return len(s) == len(prefix)+len(rest) && s[:len(prefix)] == prefix && s[len(prefix):] == rest
}

// Entity describes one row of table by its primary key, rendered with
// keys.Value. Its tags are the row's entity tag and the table's row-epoch
// tag, which bulk writes with unknown keys bump.
func Entity(table string, pk ...string) Descriptor {
	return Descriptor{
		Key:  keys.Entity(table, pk...),
		Tags: []string{keys.EntityTag(table, pk...), keys.RowsTag(table)},
	}
}

// Collection describes any other read: a query identified by its
// fingerprint, tagged with the table tag of every table it reads.
func Collection(fp keys.Fingerprint, tables ...string) Descriptor {
	tags := make([]string, len(tables))
	for i, t := range tables {
		tags[i] = keys.TableTag(t)
	}
	return Descriptor{Key: keys.Collection(fp), Tags: tags}
}

// WithPolicy returns d with policy p; p's extra tags are added to d's.
func (d Descriptor) WithPolicy(p Policy) Descriptor {
	d.Policy = p
	if len(p.Tags) > 0 {
		d = d.WithTags(p.Tags...)
	}
	return d
}

// WithTags returns d with extra tags.
func (d Descriptor) WithTags(tags ...string) Descriptor {
	merged := make([]string, 0, len(d.Tags)+len(tags))
	merged = append(merged, d.Tags...)
	d.Tags = append(merged, tags...)
	return d
}
