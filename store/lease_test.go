package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydracache/hydracache/store"
)

// leaser is core.Leaser, restated so that store's tests need not import
// core.
type leaser interface {
	AcquireLease(ctx context.Context, key string, token []byte, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, key string, token []byte) error
}

var (
	_ leaser = (*store.Memory)(nil)
	_ leaser = (*store.Redis)(nil)
)

// testLeaser checks the lease contract on a and b, two handles on one
// store (the same one, or two processes' views of it).
func testLeaser(t *testing.T, a, b leaser) {
	ctx := context.Background()
	tokA, tokB := []byte("token-a"), []byte("token-b")

	t.Run("exclusive", func(t *testing.T) {
		if ok, err := a.AcquireLease(ctx, "l1", tokA, time.Minute); err != nil || !ok {
			t.Fatalf("first acquire = %v, %v; want true", ok, err)
		}
		if ok, err := b.AcquireLease(ctx, "l1", tokB, time.Minute); err != nil || ok {
			t.Fatalf("second acquire = %v, %v; want false", ok, err)
		}
		// Releasing with the wrong token leaves the lease in place.
		if err := b.ReleaseLease(ctx, "l1", tokB); err != nil {
			t.Fatal(err)
		}
		if ok, _ := b.AcquireLease(ctx, "l1", tokB, time.Minute); ok {
			t.Fatal("a release with another token freed the lease")
		}
		if err := a.ReleaseLease(ctx, "l1", tokA); err != nil {
			t.Fatal(err)
		}
		if ok, err := b.AcquireLease(ctx, "l1", tokB, time.Minute); err != nil || !ok {
			t.Fatalf("acquire after release = %v, %v; want true", ok, err)
		}
		if err := b.ReleaseLease(ctx, "l1", tokB); err != nil {
			t.Fatal(err)
		}
		// Releasing a lease nobody holds is not an error.
		if err := a.ReleaseLease(ctx, "l1", tokA); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("expires", func(t *testing.T) {
		if ok, err := a.AcquireLease(ctx, "l2", tokA, 50*time.Millisecond); err != nil || !ok {
			t.Fatalf("acquire = %v, %v", ok, err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			ok, err := b.AcquireLease(ctx, "l2", tokB, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a 50 ms lease was still held after 2 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		// The first holder's late release must not free the new lease.
		if err := a.ReleaseLease(ctx, "l2", tokA); err != nil {
			t.Fatal(err)
		}
		if ok, _ := a.AcquireLease(ctx, "l2", tokA, time.Minute); ok {
			t.Fatal("an expired holder's release freed its successor's lease")
		}
		_ = b.ReleaseLease(ctx, "l2", tokB)
	})

	t.Run("non-positive TTL", func(t *testing.T) {
		if _, err := a.AcquireLease(ctx, "l3", tokA, 0); err == nil {
			t.Fatal("a lease without TTL was accepted: a dead holder would keep it forever")
		}
	})

	t.Run("one winner", func(t *testing.T) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 32 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				ok, err := s.AcquireLease(ctx, "l4", []byte{byte(i)}, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d of 32 concurrent acquires won; want 1", n)
		}
	})
}

func TestMemoryLease(t *testing.T) {
	m, err := store.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	testLeaser(t, m, m)
}

func TestRedisLease(t *testing.T) {
	a, ns := newTestRedis(t)
	// Another client, as another process would have.
	b, err := store.NewRedis(secondClient(t), store.WithPrefix(ns))
	if err != nil {
		t.Fatal(err)
	}
	testLeaser(t, a, b)
}
