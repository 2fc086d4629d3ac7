package store_test

import (
	"fmt"
	"testing"
	"time"

	lib "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/store"
	"github.com/hydracache/hydracache/testing/storetest"
	"github.com/hydracache/hydracache/testing/testenv"
)

// TestRedisCluster runs the Redis store on a real three-node Redis Cluster
// that the test starts on loopback: the conformance suite (batch reads and
// writes span slots on different nodes), and reads of this store's own
// writes through key sets whose keys live on different nodes.
func TestRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three redis-server processes")
	}
	client := testenv.RedisCluster(t, 3)
	n := 0
	t.Run("conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) lib.StoreInterface {
			n++
			s, err := store.NewRedis(client, store.WithPrefix(fmt.Sprintf("conf%d:", n)))
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("own writes across nodes", func(t *testing.T) {
		ctx := t.Context()
		s, err := store.NewRedis(client, store.WithPrefix("own:"))
		if err != nil {
			t.Fatal(err)
		}
		// Enough keys that they hash to slots on all three nodes.
		keys := make([]string, 12)
		for i := range keys {
			keys[i] = fmt.Sprintf("k%d", i)
			if err := s.Set(ctx, keys[i], []byte("init")); err != nil {
				t.Fatal(err)
			}
		}
		for round := range 300 {
			if _, err := s.GetMulti(ctx, keys); err != nil {
				t.Fatal(err)
			}
			k := keys[round%len(keys)]
			want := fmt.Sprintf("v%d", round)
			if err := s.SetMulti(ctx, []string{k, keys[(round+5)%len(keys)]}, [][]byte{[]byte(want), []byte(want)}, time.Hour); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetMulti(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if i := round % len(keys); string(got[i]) != want {
				t.Fatalf("round %d: read %s = %q right after writing %q", round, k, got[i], want)
			}
		}
	})
}
