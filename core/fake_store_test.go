package core_test

import (
	"context"
	"errors"
	"sync"
	"time"

	lib_store "github.com/eko/gocache/lib/v4/store"
)

// mapStore is a plain gocache store for core's tests, with switches that
// make it fail. It implements none of core's optional interfaces, so the
// fallback paths are what it exercises; store.Memory covers the others.
type mapStore struct {
	mu       sync.Mutex
	data     map[string][]byte
	failGet  bool
	failSet  bool
	sets     int
	gets     int
	panicGet bool
}

var errStoreDown = errors.New("store down")

func newMapStore() *mapStore { return &mapStore{data: map[string][]byte{}} }

func (s *mapStore) Get(_ context.Context, key any) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.panicGet {
		panic("boom")
	}
	if s.failGet {
		return nil, errStoreDown
	}
	v, ok := s.data[key.(string)]
	if !ok {
		return nil, lib_store.NotFoundWithCause(nil)
	}
	return v, nil
}

func (s *mapStore) GetWithTTL(ctx context.Context, key any) (any, time.Duration, error) {
	v, err := s.Get(ctx, key)
	return v, 0, err
}

func (s *mapStore) Set(_ context.Context, key any, value any, _ ...lib_store.Option) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSet {
		return errStoreDown
	}
	s.sets++
	s.data[key.(string)] = append([]byte(nil), value.([]byte)...)
	return nil
}

func (s *mapStore) Delete(_ context.Context, key any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, key.(string))
	return nil
}

func (s *mapStore) Invalidate(context.Context, ...lib_store.InvalidateOption) error { return nil }

func (s *mapStore) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = map[string][]byte{}
	return nil
}

func (s *mapStore) GetType() string { return "map" }

func (s *mapStore) set(f func(s *mapStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *mapStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := make([]string, 0, len(s.data))
	for k := range s.data {
		ks = append(ks, k)
	}
	return ks
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
