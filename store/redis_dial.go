package store

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/redis/rueidis"
)

// Reconnect back-off of a DialRedis store that could not reach Redis.
const (
	redisDialFirst = 100 * time.Millisecond
	redisDialMax   = 5 * time.Second
)

// redisDialer connects a DialRedis store in the background while Redis is
// unreachable, so that a service can start and serve from its database
// meanwhile.
type redisDialer struct {
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// startDialer tries opt until a client connects, then gives it to r.
func startDialer(r *Redis, opt rueidis.ClientOption) *redisDialer {
	d := &redisDialer{done: make(chan struct{})}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		wait := redisDialFirst
		for {
			select {
			case <-d.done:
				return
			case <-time.After(wait):
			}
			client, err := rueidis.NewClient(opt)
			if err == nil {
				select {
				case <-d.done: // closed while dialing
					client.Close()
				default:
					r.connect(client)
				}
				return
			}
			wait = min(2*wait, redisDialMax)
		}
	}()
	return d
}

// stop ends the dialing and waits for it.
func (d *redisDialer) stop() {
	d.once.Do(func() { close(d.done) })
	d.wg.Wait()
}

// unreachable reports whether rueidis.NewClient failed for want of a
// server (refused, timed out, dropped), not for its options.
func unreachable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}
