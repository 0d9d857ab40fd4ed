package models

import (
	"context"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// fdReserve is what DefaultMaxConns leaves of the open-file limit for the
// descriptors a server needs besides its connections: the listener, epoll
// and its eventfd, the Go runtime's own, a log file, a pipe or two. Under
// a small limit it leaves a quarter instead.
const fdReserve = 128

// DefaultMaxConns is the connection limit when none is given: the
// process's limit on open files (RLIMIT_NOFILE, which the Go runtime
// raises to the hard limit as it starts) less a reserve (128, or a quarter
// of a limit under 512), so that a model
// stops accepting before accept(2) can fail with EMFILE.
func DefaultMaxConns() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == unix.RLIM_INFINITY {
		return 10000
	}
	n := int(rl.Cur)
	return max(n-min(fdReserve, n/4), 1)
}

// Slots is a server's connection limit and the count of connections open
// against it, one slot each: the one limit type every model counts its
// connections in. It is safe for any number of threads, so that the
// threads that accept under one limit (the pool's workers, the reuseport
// loops) share one Slots, and the limit is the server's, not a share per
// thread.
//
// There are two ways to take a slot, one per way of waiting. A blocking
// acceptor waits for a slot before it calls accept (Acquire), so that the
// clients past the limit wait in the kernel's accept queue; an event loop
// asks without waiting (TryAcquire) and stops watching its listener while
// the limit is reached (Full). Either way the server logs the limit once
// each time it is reached and once each time it is left, however many
// threads share it (max_conns_reached, max_conns_left): Acquire does so
// itself, and an event loop calls Note once per wake-up.
type Slots struct {
	free    chan struct{} // a token per free slot
	max     int           // the limit
	stats   *Stats        // where reaching and leaving the limit is logged
	atLimit atomic.Bool   // the limit was reached and logged, and not yet left
}

// NewSlots returns n free slots, logging in stats when they run out and
// come back.
func NewSlots(n int, stats *Stats) *Slots {
	s := &Slots{free: make(chan struct{}, n), max: n, stats: stats}
	for range n {
		s.free <- struct{}{}
	}
	return s
}

// TryAcquire takes a slot if one is free.
func (s *Slots) TryAcquire() bool {
	select {
	case <-s.free:
		return true
	default:
		return false
	}
}

// Acquire takes a slot, waiting for one at the limit, as the acceptor of
// a model that parks a thread or goroutine per connection does before it
// calls accept(2). An acceptor that starts to wait logs
// max_conns_reached, and the first that gets a slot back, once a
// connection has closed, logs max_conns_left. It returns false if ctx is
// done first: the server is stopping.
func (s *Slots) Acquire(ctx context.Context) bool {
	if s.TryAcquire() {
		return true
	}
	s.mark(true, s.Open())
	select {
	case <-s.free:
	case <-ctx.Done():
		return false
	}
	// Open counts the slot just taken, for a connection not accepted yet;
	// the event reports the connections that were left open.
	s.mark(false, s.Open()-1)
	return true
}

// Release gives a slot back, when a connection has closed.
func (s *Slots) Release() { s.free <- struct{}{} }

// Full reports whether every slot is taken.
func (s *Slots) Full() bool { return len(s.free) == 0 }

// Note logs a change of Full since the last one logged: an event loop
// calls it after it has accepted and closed what it would, a server that
// cannot stop accepting (gnet) after each admission and release.
func (s *Slots) Note() { s.mark(s.Full(), s.Open()) }

// mark logs that the limit is reached (full) or left, with open
// connections, unless another thread has logged it already.
func (s *Slots) mark(full bool, open int) {
	if !s.atLimit.CompareAndSwap(!full, full) {
		return
	}
	if full {
		s.stats.LimitReached(open, s.max)
	} else {
		s.stats.LimitLeft(open, s.max)
	}
}

// Open returns how many slots are taken.
func (s *Slots) Open() int { return s.max - len(s.free) }

// Max returns the limit.
func (s *Slots) Max() int { return s.max }
