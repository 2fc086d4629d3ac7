package core_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
)

// rowsDB is a table of rows by key; a missing key is a row that does not
// exist. It records which keys each load asked for.
type rowsDB struct {
	rows  map[string]string
	asked [][]string
}

func (db *rowsDB) loader(ids []string) core.LoadManyFunc {
	return func(_ context.Context, missing []int) ([][]byte, error) {
		var asked []string
		out := make([][]byte, len(missing))
		for j, i := range missing {
			asked = append(asked, ids[i])
			if v, ok := db.rows[ids[i]]; ok {
				out[j] = []byte(v)
			}
		}
		db.asked = append(db.asked, asked)
		return out, nil
	}
}

func descriptors(ids []string) []core.Descriptor {
	ds := make([]core.Descriptor, len(ids))
	for i, id := range ids {
		ds[i] = core.Entity("users", id)
	}
	return ds
}

func values(vs [][]byte) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if v == nil {
			out[i] = "<nil>"
		} else {
			out[i] = string(v)
		}
	}
	return out
}

// TestFetchManyLoadsOnlyMisses runs with plain descriptors and with every
// other one prepared (Cache.Prepare), as the plugins pass them.
func TestFetchManyLoadsOnlyMisses(t *testing.T) {
	for _, prepared := range []bool{false, true} {
		t.Run(fmt.Sprintf("prepared=%v", prepared), func(t *testing.T) {
			ctx := context.Background()
			c := newCache(t, newMapStore())
			descs := func(ids []string) []core.Descriptor {
				ds := descriptors(ids)
				for i := range ds {
					if prepared && i%2 == 0 {
						ds[i] = c.Prepare(ds[i])
					}
				}
				return ds
			}
			db := &rowsDB{rows: map[string]string{"1": "a", "2": "b", "3": "c"}}

			first := []string{"1", "2"}
			got, err := c.FetchMany(ctx, descs(first), db.loader(first))
			if err != nil || !slices.Equal(values(got), []string{"a", "b"}) {
				t.Fatalf("first read = %v, %v", values(got), err)
			}
			ids := []string{"1", "2", "3", "404"}
			got, err = c.FetchMany(ctx, descs(ids), db.loader(ids))
			if err != nil || !slices.Equal(values(got), []string{"a", "b", "c", "<nil>"}) {
				t.Fatalf("second read = %v, %v", values(got), err)
			}
			if !slices.Equal(db.asked[1], []string{"3", "404"}) {
				t.Fatalf("second load asked for %v, want only the misses [3 404]", db.asked[1])
			}
			// Everything is cached now, the missing row as not-found.
			got, err = c.FetchMany(ctx, descs(ids), db.loader(ids))
			if err != nil || len(db.asked) != 2 || !slices.Equal(values(got), []string{"a", "b", "c", "<nil>"}) {
				t.Fatalf("third read = %v, %v after %d loads", values(got), err, len(db.asked))
			}
			// A single-row descriptor and the multi-row read share entries.
			v, err := c.Fetch(ctx, core.Entity("users", "3"), func(context.Context) ([]byte, error) {
				return nil, errors.New("must be a hit")
			})
			if err != nil || string(v) != "c" {
				t.Fatalf("Fetch of a row FetchMany filled = %q, %v", v, err)
			}
			// Bumping one row reloads that row alone.
			db.rows["2"] = "b2"
			if err := c.InvalidateTags(ctx, keys.EntityTag("users", "2")); err != nil {
				t.Fatal(err)
			}
			got, _ = c.FetchMany(ctx, descs(ids), db.loader(ids))
			if !slices.Equal(values(got), []string{"a", "b2", "c", "<nil>"}) || !slices.Equal(db.asked[2], []string{"2"}) {
				t.Fatalf("after bump: %v, asked %v", values(got), db.asked[2:])
			}
			// The row-epoch tag reloads all of them.
			if err := c.InvalidateTags(ctx, keys.RowsTag("users")); err != nil {
				t.Fatal(err)
			}
			_, _ = c.FetchMany(ctx, descs(ids), db.loader(ids))
			if !slices.Equal(db.asked[3], ids) {
				t.Fatalf("after rows bump asked %v, want all", db.asked[3])
			}
		})
	}
}

func TestFetchManyModes(t *testing.T) {
	ctx := context.Background()
	ids := []string{"1", "2"}
	tests := []struct {
		name      string
		ctx       context.Context
		wantErr   error
		wantLoads int
	}{
		{"bypass", core.WithBypass(ctx), nil, 2},
		{"refresh", core.WithRefresh(ctx), nil, 2},
		{"cache-only on a warm cache", core.WithCacheOnly(ctx), nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, newMapStore())
			db := &rowsDB{rows: map[string]string{"1": "a", "2": "b"}}
			if _, err := c.FetchMany(ctx, descriptors(ids), db.loader(ids)); err != nil {
				t.Fatal(err)
			}
			got, err := c.FetchMany(tt.ctx, descriptors(ids), db.loader(ids))
			if !errors.Is(err, tt.wantErr) || len(db.asked) != tt.wantLoads || !slices.Equal(values(got), []string{"a", "b"}) {
				t.Fatalf("got %v, %v after %d loads", values(got), err, len(db.asked))
			}
		})
	}
	c := newCache(t, newMapStore())
	if _, err := c.FetchMany(core.WithCacheOnly(ctx), descriptors(ids), nil); !errors.Is(err, core.ErrCacheMiss) {
		t.Fatalf("cold cache-only: %v, want ErrCacheMiss", err)
	}
}

func TestFetchManyStoreDown(t *testing.T) {
	ctx := context.Background()
	st := newMapStore()
	c := newCache(t, st)
	st.set(func(s *mapStore) { s.failGet = true })
	ids := []string{"1", "2"}
	db := &rowsDB{rows: map[string]string{"1": "a", "2": "b"}}
	got, err := c.FetchMany(ctx, descriptors(ids), db.loader(ids))
	if err != nil || !slices.Equal(values(got), []string{"a", "b"}) {
		t.Fatalf("got %v, %v; want the database's rows", values(got), err)
	}
	bad := func(context.Context, []int) ([][]byte, error) { return nil, nil }
	if _, err := c.FetchMany(ctx, descriptors(ids), bad); err == nil {
		t.Fatal("a loader returning the wrong number of values was accepted")
	}
}

func TestFetchManyDiscardsRowsBumpedDuringLoad(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	ids := []string{"1", "2"}
	db := &rowsDB{rows: map[string]string{"1": "a", "2": "b"}}
	load := db.loader(ids)
	racing := func(ctx context.Context, missing []int) ([][]byte, error) {
		out, err := load(ctx, missing)
		// Row 2 is written and committed after the SELECT read it.
		db.rows["2"] = "b2"
		if err := c.InvalidateTags(ctx, keys.EntityTag("users", "2")); err != nil {
			t.Fatal(err)
		}
		return out, err
	}
	if _, err := c.FetchMany(ctx, descriptors(ids), racing); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.StaleLoads != 1 {
		t.Fatalf("StaleLoads = %d, want 1", s.StaleLoads)
	}
	got, err := c.FetchMany(ctx, descriptors(ids), db.loader(ids))
	if err != nil || !slices.Equal(values(got), []string{"a", "b2"}) || !slices.Equal(db.asked[1], []string{"2"}) {
		t.Fatalf("next read = %v, %v, asked %v; want row 2 reloaded alone", values(got), err, db.asked[1:])
	}
}
