package store_test

import (
	"context"
	"fmt"
	"log"
	"time"

	lib "github.com/eko/gocache/lib/v4/store"
	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/store"
)

// ExampleNewRedis needs a Redis server, so it is compiled but not run.
func ExampleNewRedis() {
	// Client-side caching is on by default in rueidis (RESP3, Redis 6+).
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	s, err := store.NewRedis(client,
		store.WithPrefix("myservice:cache:"),     // every key lives under it; Clear deletes only these
		store.WithClientCacheTTL(30*time.Second), // bound on a value's life in the local cache
		store.WithOwnWriteWindow(2*time.Second),  // see WithOwnWriteWindow
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// A 250 ms TTL is kept to the millisecond (SET ... PX 250).
	if err := s.Set(ctx, "greeting", []byte("hello"), lib.WithExpiration(250*time.Millisecond)); err != nil {
		log.Fatal(err)
	}
	// Read at once: this store sees its own write even before Redis's
	// invalidation push reaches the client-side cache.
	v, err := s.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", v)

	// Several keys in at most one round trip; warm keys cost none.
	vals, err := s.GetMulti(ctx, []string{"greeting", "missing"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %v\n", vals[0], vals[1] == nil)
}
