package core

// SetRand replaces the random source in [0, 1) that early refresh draws
// from, for tests; call it before the Cache is used.
func SetRand(c *Cache, f func() float64) { c.rand = f }
