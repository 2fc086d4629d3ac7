package core

import (
	"context"
	"fmt"
	"time"
)

// LoadManyFunc loads the entries of FetchMany that missed. missing holds
// their indexes in the descriptor slice; the result has one value per
// index, nil for a row that does not exist.
type LoadManyFunc func(ctx context.Context, missing []int) ([][]byte, error)

// FetchMany reads several descriptors, typically the rows of a multi-key
// lookup, with one store read, and calls load once for the misses only. The
// result has one value per descriptor, nil where the row does not exist
// (cached as not-found like Fetch's ErrNotFound). Loads of FetchMany are
// not shared between concurrent callers.
func (c *Cache) FetchMany(ctx context.Context, ds []Descriptor, load LoadManyFunc) ([][]byte, error) {
	call, _ := ctx.Value(callKey{}).(callOptions)
	if len(ds) == 0 {
		return nil, nil
	}
	if call.mode == ModeBypass || c.manyBlocked(ds) || c.brk.skip(c.cfg.clock) {
		c.stats.bypassed.Add(uint64(len(ds)))
		return c.loadAll(ctx, call.mode, ds, load)
	}
	return c.fetchMany(ctx, ds, load, call, c.io.gn != nil && call.mode != ModeRefresh)
}

// fetchMany is FetchMany past its bypass checks. With useMemo, a prepared
// descriptor whose tag versions are remembered and current (see
// Cache.Prepare) has only its entry read; if such an entry misses, the
// whole read starts again without memos, so that the load's result is
// checked against freshly read tag versions like every other miss.
func (c *Cache) fetchMany(ctx context.Context, ds []Descriptor, load LoadManyFunc, call callOptions, useMemo bool) ([][]byte, error) {
	// One read: every entry, then every distinct tag version (the row-epoch
	// and namespace epoch are shared by all rows). Prepared descriptors
	// bring their keys; tagIdx[i] indexes ks, all in one backing array.
	ks := make([]string, len(ds), len(ds)*2+2)
	tagIdx := make([][]int, len(ds))
	var flat []int
	seen := make(map[string]int, len(ds)+2)
	// memo[i]: the remembered versions of ds[i], its tags not read; or
	// gens[i]: the generations under which the versions read may be
	// remembered.
	var memo [][][]byte
	var gens [][]uint64
	var preps []*prepared
	if useMemo {
		memo = make([][][]byte, len(ds))
		gens = make([][]uint64, len(ds))
		preps = make([]*prepared, len(ds))
	}
	for i, d := range ds {
		if len(d.Tags)+1 > maxTags {
			return c.loadAll(ctx, call.mode, ds, load)
		}
		dk, prep := c.keysOf(d) // entry, tags, epoch
		ks[i] = dk[0]
		if useMemo && prep != nil {
			v, g := prep.versions()
			if v != nil {
				memo[i] = v
				continue
			}
			gens[i], preps[i] = g, prep
		}
		if flat == nil {
			flat = make([]int, 0, len(ds)*(len(dk)-1))
		}
		start := len(flat)
		for _, k := range dk[1:] {
			j, ok := seen[k]
			if !ok {
				ks = append(ks, k)
				j = len(ks) - 1
				seen[k] = j
			}
			flat = append(flat, j)
		}
		tagIdx[i] = flat[start:len(flat):len(flat)]
	}
	vals, err := c.io.getMulti(ctx, ks)
	if err != nil {
		c.storeError("read", err)
		return c.loadAll(ctx, call.mode, ds, load)
	}
	c.brk.success()
	n := len(ds)
	if _, err := c.versions(ctx, ks[n:], vals[n:]); err != nil {
		c.storeError("seed tag versions", err)
		return c.loadAll(ctx, call.mode, ds, load)
	}

	out := make([][]byte, len(ds))
	versions := make([][][]byte, len(ds))
	allVersions := make([][]byte, len(flat))
	var missing []int
	var hits, negatives uint64
	now := c.cfg.clock.Now().UnixNano()
	off := 0
	for i := range ds {
		var vs [][]byte
		if memo != nil && memo[i] != nil {
			vs = memo[i]
		} else {
			vs = allVersions[off : off+len(tagIdx[i]) : off+len(tagIdx[i])]
			off += len(tagIdx[i])
			for j, k := range tagIdx[i] {
				vs[j] = vals[k]
			}
		}
		versions[i] = vs
		if call.mode != ModeRefresh && vals[i] != nil {
			e, valid, err := decodeEntry(vals[i], vs)
			switch {
			case err != nil:
				c.decodeError(ks[i], err)
			case valid && now < e.expiresAt:
				hits++
				if e.negative {
					negatives++
				} else {
					out[i] = e.payload
				}
				continue
			}
		}
		if memo != nil && memo[i] != nil {
			return c.fetchMany(ctx, ds, load, call, false)
		}
		missing = append(missing, i)
	}
	c.stats.hits.Add(hits)
	c.stats.negativeHits.Add(negatives)
	c.stats.misses.Add(uint64(len(missing)))
	for i, g := range gens {
		// versions[i] holds the values read for ds[i]'s tags.
		if g != nil && allStamps(versions[i]) {
			preps[i].memo.Store(&versionMemo{gens: g, versions: versions[i]})
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	if call.mode == ModeCacheOnly || load == nil {
		return out, ErrCacheMiss
	}
	start := c.cfg.clock.Now()
	loaded, err := c.loadMany(ctx, load, missing)
	if err != nil {
		return nil, err
	}
	for j, i := range missing {
		out[i] = loaded[j]
	}
	c.storeMany(ctx, ds, ks, vals, tagIdx, versions, missing, loaded, call, start)
	return out, nil
}

func (c *Cache) storeMany(ctx context.Context, ds []Descriptor, ks []string, vals [][]byte, tagIdx [][]int, versions [][][]byte, missing []int, loaded [][]byte, call callOptions, loadStart time.Time) {
	n := len(ds)
	cur, err := c.io.getMulti(ctx, ks[n:])
	if err != nil {
		c.storeError("re-read tag versions", err)
		return
	}
	changed := make(map[int]bool)
	for j, v := range cur {
		if string(v) != string(vals[n+j]) {
			changed[n+j] = true
		}
	}
	now := c.cfg.clock.Now()
	for j, i := range missing {
		stale := false
		for _, k := range tagIdx[i] {
			if changed[k] {
				stale = true
				break
			}
		}
		if stale {
			c.stats.staleLoads.Add(1)
			continue
		}
		negative := loaded[j] == nil
		ttl := c.entryTTL(ds[i].Policy, negative, call.ttl)
		if ttl <= 0 {
			continue
		}
		e := encodeEntry(negative, now.Add(ttl).UnixNano(), now.Sub(loadStart), versions[i], loaded[j])
		if err := c.io.set(ctx, ks[i], e, ttl); err != nil {
			c.storeError("fill", err)
			return
		}
	}
}

func (c *Cache) manyBlocked(ds []Descriptor) bool {
	if c.pending.n.Load() == 0 {
		return false
	}
	for _, d := range ds {
		if c.pending.blocks(d.Tags) {
			return true
		}
	}
	return false
}

func (c *Cache) loadAll(ctx context.Context, mode Mode, ds []Descriptor, load LoadManyFunc) ([][]byte, error) {
	if mode == ModeCacheOnly || load == nil {
		return make([][]byte, len(ds)), ErrCacheMiss
	}
	all := make([]int, len(ds))
	for i := range all {
		all[i] = i
	}
	return c.loadMany(ctx, load, all)
}

// loadMany calls load for the indexes in idx and checks it returned one
// value for each.
func (c *Cache) loadMany(ctx context.Context, load LoadManyFunc, idx []int) ([][]byte, error) {
	c.stats.loads.Add(1)
	loaded, err := load(ctx, idx)
	if err != nil {
		return nil, err
	}
	if len(loaded) != len(idx) {
		return nil, fmt.Errorf("hydracache: loader returned %d values for %d misses", len(loaded), len(idx))
	}
	return loaded, nil
}
