package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// redisReleaseLease deletes a lease only if it still holds the caller's
// token: a holder whose lease expired and was taken by another process must
// not release the other's.
var redisReleaseLease = rueidis.NewLuaScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// AcquireLease stores token under key with ttl only if the key is absent
// (SET key token NX PX ttl), and reports whether it did. It implements
// core's Leaser: the fill lease of a missing entry, shared by every process
// using the same Redis and prefix. ttl must be positive, so that the lease
// of a holder that died ends.
func (r *Redis) AcquireLease(ctx context.Context, key string, token []byte, ttl time.Duration) (bool, error) {
	c, err := r.conn()
	if err != nil {
		return false, fmt.Errorf("hydracache/store: redis acquire lease %q: %w", key, err)
	}
	k := r.prefix + key
	if ttl <= 0 {
		return false, fmt.Errorf("hydracache/store: redis acquire lease %q: TTL %v must be positive", k, ttl)
	}
	px, err := redisPX(ttl)
	if err != nil {
		return false, fmt.Errorf("hydracache/store: redis acquire lease %q: %w", k, err)
	}
	ctx, cancel := r.timeoutCtx(ctx)
	defer cancel()
	cmd := c.B().Set().Key(k).Value(rueidis.BinaryString(token)).Nx().PxMilliseconds(px).Build()
	err = c.Do(ctx, cmd).Error()
	switch {
	case err == nil:
		return true, nil
	case rueidis.IsRedisNil(err): // NX: the key exists
		return false, nil
	}
	return false, fmt.Errorf("hydracache/store: redis acquire lease %q: %w", k, err)
}

// ReleaseLease deletes key if it still holds token, atomically (a Lua
// script, single key: cluster safe); otherwise it does nothing.
func (r *Redis) ReleaseLease(ctx context.Context, key string, token []byte) error {
	c, err := r.conn()
	if err != nil {
		return fmt.Errorf("hydracache/store: redis release lease %q: %w", key, err)
	}
	k := r.prefix + key
	ctx, cancel := r.timeoutCtx(ctx)
	defer cancel()
	if err := redisReleaseLease.Exec(ctx, c.Client, []string{k}, []string{rueidis.BinaryString(token)}).Error(); err != nil {
		return fmt.Errorf("hydracache/store: redis release lease %q: %w", k, err)
	}
	return nil
}
