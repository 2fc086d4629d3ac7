package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hydracache/hydracache/core"
	"github.com/hydracache/hydracache/keys"
)

type user struct {
	ID      int64
	Name    string
	Born    time.Time
	Tags    []string
	Balance float64
}

func TestGetOrLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	born := time.Date(1990, 5, 17, 8, 30, 0, 0, time.UTC)
	want := user{ID: 1, Name: "ada", Born: born, Tags: []string{"a", "b"}, Balance: 12.5}
	d := core.Entity("users", "1")
	loads := 0
	load := func(context.Context) (user, error) { loads++; return want, nil }
	for i := range 3 {
		got, err := core.GetOrLoad(ctx, c, d, load)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.Name != want.Name || !got.Born.Equal(want.Born) || len(got.Tags) != 2 || got.Balance != want.Balance {
			t.Fatalf("read %d = %+v, want %+v", i, got, want)
		}
	}
	if loads != 1 {
		t.Fatalf("%d loads, want 1", loads)
	}
}

func TestGetSet(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	d := core.Entity("users", "2")
	if _, err := core.Get[user](ctx, c, d); !errors.Is(err, core.ErrCacheMiss) {
		t.Fatalf("Get before Set: %v, want ErrCacheMiss", err)
	}
	if err := core.Set(ctx, c, d, user{ID: 2, Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	got, err := core.Get[user](ctx, c, d)
	if err != nil || got.Name != "bob" {
		t.Fatalf("Get after Set = %+v, %v", got, err)
	}
	if err := c.InvalidateTags(ctx, keys.EntityTag("users", "2")); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Get[user](ctx, c, d); !errors.Is(err, core.ErrCacheMiss) {
		t.Fatalf("Get after bump: %v, want ErrCacheMiss", err)
	}
}

func TestGetOrLoadNotFoundAndErrors(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	d := core.Entity("users", "3")
	loads := 0
	for range 2 {
		_, err := core.GetOrLoad(ctx, c, d, func(context.Context) (user, error) {
			loads++
			return user{}, core.ErrNotFound
		})
		if !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if loads != 1 {
		t.Fatalf("%d loads, want the not-found cached", loads)
	}
	boom := errors.New("db down")
	if _, err := core.GetOrLoad(ctx, c, core.Entity("users", "4"), func(context.Context) (user, error) {
		return user{}, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the loader's", err)
	}
}

func TestGetOrLoadUnencodableValueStillReturned(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	d := core.Entity("chans", "1")
	ch := make(chan int)
	got, err := core.GetOrLoad(ctx, c, d, func(context.Context) (chan int, error) { return ch, nil })
	if err != nil || got != ch {
		t.Fatalf("got %v, %v; want the loaded value", got, err)
	}
}

func TestCorruptTypedEntryReloads(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	d := core.Entity("users", "5")
	if err := c.Put(ctx, d, []byte{0xc1}); err != nil { // 0xc1 is never valid msgpack
		t.Fatal(err)
	}
	got, err := core.GetOrLoad(ctx, c, d, func(context.Context) (user, error) { return user{Name: "eve"}, nil })
	if err != nil || got.Name != "eve" {
		t.Fatalf("got %+v, %v; want a reload", got, err)
	}
	if c.Stats().DecodeErrors != 1 {
		t.Fatalf("DecodeErrors = %d, want 1", c.Stats().DecodeErrors)
	}
}

func TestViewsAreSeparate(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newMapStore())
	names := core.NewView[string](c, "names", core.Policy{})
	ages := core.NewView[int](c, "ages", core.Policy{Tags: []string{"people"}})
	if err := names.Set(ctx, "1", "ada"); err != nil {
		t.Fatal(err)
	}
	if err := ages.Set(ctx, "1", 36); err != nil {
		t.Fatal(err)
	}
	if n, err := names.Get(ctx, "1"); err != nil || n != "ada" {
		t.Fatalf("names[1] = %q, %v", n, err)
	}
	if a, err := ages.Get(ctx, "1"); err != nil || a != 36 {
		t.Fatalf("ages[1] = %d, %v", a, err)
	}
	// The policy's tags reach the entries.
	if err := c.InvalidateTags(ctx, "people"); err != nil {
		t.Fatal(err)
	}
	if _, err := ages.Get(ctx, "1"); !errors.Is(err, core.ErrCacheMiss) {
		t.Fatalf("ages[1] after bump of its policy tag: %v", err)
	}
	if err := names.Invalidate(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := names.Get(ctx, "1"); !errors.Is(err, core.ErrCacheMiss) {
		t.Fatalf("names[1] after Invalidate: %v", err)
	}
	v, err := names.GetOrLoad(ctx, "2", nil, func(context.Context) (string, error) { return "bob", nil })
	if err != nil || v != "bob" {
		t.Fatalf("GetOrLoad = %q, %v", v, err)
	}
}
