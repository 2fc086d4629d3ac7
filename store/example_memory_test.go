package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	lib "github.com/eko/gocache/lib/v4/store"

	"github.com/hydracache/hydracache/store"
)

func ExampleNewMemory() {
	m, err := store.NewMemory(store.WithMaxBytes(32<<20), store.WithDefaultTTL(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ctx := context.Background()

	if err := m.Set(ctx, "user:42", []byte(`{"name":"Ada"}`), lib.WithExpiration(10*time.Second)); err != nil {
		fmt.Println(err)
		return
	}
	v, err := m.Get(ctx, "user:42")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", v.([]byte)) // aliases the store's copy: read, don't modify

	_, err = m.Get(ctx, "user:43")
	fmt.Println("missing is NotFound:", errors.Is(err, lib.NotFound{}))

	// Set-if-absent returns whichever value won.
	won, _ := m.SetNX(ctx, "t:users", []byte("v1"), 0)
	won, _ = m.SetNX(ctx, "t:users", []byte("v2"), 0)
	fmt.Printf("tag version: %s\n", won)
	// Output:
	// {"name":"Ada"}
	// missing is NotFound: true
	// tag version: v1
}
