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

// Slots counts the connections a server has open against its limit, one
// slot each. A blocking acceptor waits for a slot before it calls accept
// (Acquire), so that clients past the limit wait in the kernel's accept
// queue; an event loop asks without waiting (TryAcquire) and stops
// watching its listener when none is free. Stats logs when the limit is
// reached and left (LimitReached, LimitLeft).
type Slots struct {
	free    chan struct{} // a token per free slot
	max     int           // the limit
	atLimit atomic.Bool   // an acceptor waits in AwaitSlot, and has logged it
}

// NewSlots returns n free slots.
func NewSlots(n int) *Slots {
	s := &Slots{free: make(chan struct{}, n), max: n}
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

// Acquire waits for a free slot and takes it. It returns false if ctx is
// done first.
func (s *Slots) Acquire(ctx context.Context) bool {
	select {
	case <-s.free:
		return true
	case <-ctx.Done():
		return false
	}
}

// Release gives a slot back, when a connection has closed.
func (s *Slots) Release() { s.free <- struct{}{} }

// Open returns how many slots are taken.
func (s *Slots) Open() int { return s.max - len(s.free) }

// Max returns the limit.
func (s *Slots) Max() int { return s.max }
