package models

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Drain shuts down gracefully the models that park one thread or goroutine
// per connection (sequential, threads, goroutine). Such a connection is
// either idle, its server blocked in read waiting for the next request, or
// busy, between reading a request and writing its answer. Shutting down
// must wake the idle ones at once and let the busy ones finish: Drain keeps
// that state per connection, with one atomic word, and wakes connections
// through a function the model supplies (shutdown(2) on a raw socket, a
// past deadline on a net.Conn).
//
// The event loops need none of this: their loop already knows every
// connection's state.
type Drain struct {
	mu      sync.Mutex
	conns   map[*Track]struct{} // live connections, guarded by mu
	closing bool                // Shutdown has begun; guarded by mu
	wg      sync.WaitGroup      // one count per live connection
}

// Track is one connection's entry in a Drain.
type Track struct {
	state atomic.Int32
	// wake unblocks the connection's server. With force false it only
	// needs to end a read that waits for a request; with force true it
	// must also end a write to a client that does not read.
	wake func(force bool)
}

const (
	trackIdle    = iota // blocked, or about to block, reading a request
	trackBusy           // working on a request; will answer it
	trackClosing        // shutdown: stop at the next chance
)

// Add registers a new connection, idle. It returns nil once Shutdown has
// begun: the caller closes the connection unserved.
func (d *Drain) Add(wake func(force bool)) *Track {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return nil
	}
	if d.conns == nil {
		d.conns = make(map[*Track]struct{})
	}
	t := &Track{wake: wake}
	d.conns[t] = struct{}{}
	d.wg.Add(1)
	return t
}

// Remove forgets t. The caller calls it before it closes the connection's
// descriptor, so that Shutdown never wakes a descriptor number that has
// been reused.
func (d *Drain) Remove(t *Track) {
	d.mu.Lock()
	delete(d.conns, t)
	d.mu.Unlock()
	d.wg.Done()
}

// Begin marks t busy, as a request has been read. It returns false if the
// server is shutting down: the request came too late and is not served.
func (t *Track) Begin() bool { return t.state.CompareAndSwap(trackIdle, trackBusy) }

// End marks t idle, once the answer has been written. It returns false if
// the server is shutting down: the connection is to be closed now.
func (t *Track) End() bool { return t.state.CompareAndSwap(trackBusy, trackIdle) }

// Closing reports whether the server is shutting down. A model asks after a
// read fails or sees EOF, to log the close with ReasonShutdown.
func (t *Track) Closing() bool { return t.state.Load() == trackClosing }

// Shutdown stops every connection: idle ones at once, busy ones when their
// answer is written or, at the latest, after timeout. It returns when every
// connection has been removed. The caller has already stopped accepting.
func (d *Drain) Shutdown(timeout time.Duration) {
	d.mu.Lock()
	d.closing = true
	for t := range d.conns {
		if t.state.Swap(trackClosing) == trackIdle {
			t.wake(false)
		}
	}
	d.mu.Unlock()

	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	d.mu.Lock()
	for t := range d.conns {
		t.wake(true)
	}
	d.mu.Unlock()
	<-done
}

// AfterDone calls stop on a goroutine of its own once ctx is done: it is
// how a server hears that it must shut down while its threads wait
// elsewhere (in epoll_wait, in accept). The function it returns ends the
// watch, and returns only once stop, if it began, has returned, so that
// stop never runs after it: a server calls it as Serve returns.
func AfterDone(ctx context.Context, stop func()) (unwatch func()) {
	finished := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(finished)
		stop()
	})
	return func() {
		if !cancel() {
			<-finished
		}
	}
}
