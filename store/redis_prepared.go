package store

import (
	"context"
	"slices"

	"github.com/redis/rueidis"
)

// redisPrepared is a list of keys with its prefixed form and the commands
// that read it through the client-side cache, built once and pinned so that
// rueidis never recycles them.
type redisPrepared struct {
	r    *Redis
	c    *redisConn // the connection the commands were built for
	keys []string
	full []string
	one  rueidis.Cacheable      // the GET of a single key, or the MGET of all
	gets []rueidis.CacheableTTL // on a cluster: a GET per key
}

// PrepareGetMulti returns a function that reads keys as GetMulti(ctx, keys)
// does, without building the prefixed keys and the Redis command on each
// call: core calls it once per prepared descriptor (core.BatchPreparer).
// The function may be called concurrently.
func (r *Redis) PrepareGetMulti(keys []string) func(ctx context.Context) ([][]byte, error) {
	keys = slices.Clone(keys)
	p := &redisPrepared{r: r, keys: keys, full: r.fullKeys(keys)}
	c := r.cl.Load()
	if c == nil {
		return p.getMulti // not connected yet: read as GetMulti does
	}
	p.c = c
	switch {
	case len(keys) == 0:
	case len(keys) == 1:
		p.one = c.B().Get().Key(p.full[0]).Cache().Pin()
	case c.cluster:
		p.gets = make([]rueidis.CacheableTTL, len(keys))
		for i, k := range p.full {
			p.gets[i] = rueidis.CT(c.B().Get().Key(k).Cache().Pin(), r.csTTL)
		}
	default:
		p.one = c.B().Mget().Key(p.full...).Cache().Pin()
	}
	return p.getMulti
}

func (p *redisPrepared) getMulti(ctx context.Context) ([][]byte, error) {
	return p.r.getMulti(ctx, p.keys, p)
}
