package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/hydracache/hydracache/testing/testenv"
)

func TestRestartRedisLosesEveryKey(t *testing.T) {
	s := testenv.StartRedis(t)
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{s.Addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Do(ctx, client.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	r := testenv.RestartRedis(t, s.Addr)
	if r.Addr != s.Addr {
		t.Fatalf("restarted on %s, want %s", r.Addr, s.Addr)
	}
	// The same client reconnects by itself and finds the key gone.
	n, err := client.Do(ctx, client.B().Exists().Key("k").Build()).AsInt64()
	if err != nil || n != 0 {
		t.Fatalf("after restart: EXISTS k = %d, %v; want 0, nil", n, err)
	}
}
