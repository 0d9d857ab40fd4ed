//go:build linux

package blocking

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/sock"
)

// Listener is a blocking listening socket with the bookkeeping of one
// Serve call: statistics, the connection limit, graceful shutdown, and the
// pause after an accept error.
type Listener struct {
	ctx      context.Context // the Serve call's context; only read, never stored beyond it
	cfg      *models.Config
	model    string
	fd       int
	stats    *models.Stats
	slots    *models.Slots // one per open connection, taken before accept(2)
	paused   acceptPause   // after an accept error: one prober retries, the other acceptors wait
	drain    models.Drain
	stopping atomic.Bool // set before the listening socket is shut down
	unwatch  func()      // ends the watch for ctx; returns once the shutdown, if begun, is done
}

// Conn is an accepted connection, not yet served. It holds one of the
// listener's slots until Serve closes it (or, handed to another process,
// until Release).
type Conn struct {
	*sock.Conn
	// Remote is the client's address.
	Remote netip.AddrPort
}

// Listen opens the listening socket, logs the start event, calls ready, and
// starts the watcher: the goroutine that, once ctx is done, stops the
// accept loop and drains the connections.
func Listen(ctx context.Context, cfg *models.Config, model string, ready func(net.Addr)) (*Listener, error) {
	ln, bound, err := Open(ctx, cfg, model)
	if err != nil {
		return nil, err
	}
	ln.Ready(bound, ready)
	return ln, nil
}

// Open is Listen without the start event and the ready call, for a model
// that has more to start before it serves (the pool model's threads):
// call Ready then.
func Open(ctx context.Context, cfg *models.Config, model string) (*Listener, netip.AddrPort, error) {
	fd, bound, err := sock.ListenBlocking(cfg.Addr, cfg.Backlog)
	if err != nil {
		return nil, bound, err
	}
	return Inherit(ctx, cfg, model, fd), bound, nil
}

// Ready logs the start event and calls ready with bound.
func (ln *Listener) Ready(bound netip.AddrPort, ready func(net.Addr)) {
	ln.stats.Start(ln.model, ln.cfg, bound.String())
	ready(net.TCPAddrFromAddrPort(bound))
}

// Inherit is Listen for a process that did not open the listening socket:
// a prefork worker, given the parent's as descriptor fd, or a fork child,
// given no listener at all (fd -1), only a connection to Serve. The parent
// has logged the start event.
func Inherit(ctx context.Context, cfg *models.Config, model string, fd int) *Listener {
	stats := models.NewStats(cfg)
	ln := &Listener{ctx: ctx, cfg: cfg, model: model, fd: fd, stats: stats,
		slots: models.NewSlots(cfg.Limit(), stats)}
	ln.unwatch = models.AfterDone(ctx, ln.shutdown)
	return ln
}

// shutdown runs once the Serve call's ctx is done (models.AfterDone): it
// shuts the listening socket down, which makes the blocked accept4(2)
// fail, and drains the connections.
func (ln *Listener) shutdown() {
	ln.stopping.Store(true)
	if ln.fd >= 0 {
		sock.StopAccept(ln.fd)
	}
	ln.drain.Shutdown(ln.cfg.ShutdownTimeout)
}

// Accept takes a slot for one more connection, waiting while the limit is
// reached, then blocks the calling thread in accept4(2) until a client
// connects. It returns false once the server is stopping.
//
// The slot comes first: at the limit the thread does not call accept at
// all, so new clients wait in the kernel's accept queue (and, once it is
// full, in SYN retries), as Apache's MaxRequestWorkers makes them wait,
// instead of being accepted and then starved of a thread.
//
// After an error such as EMFILE (no descriptor left for the new
// connection) it logs the error and sleeps before trying again: the
// connection stays in the kernel's accept queue, so accepting again at
// once would fail again, in a spin. The pause is the listener's, not the
// thread's (acceptPause): one acceptor retries, and the others wait for
// it.
//
// Several threads may call Accept at once: the pool's workers, the
// threads model's few acceptors.
func (ln *Listener) Accept() (Conn, bool) {
	if !ln.slots.Acquire(ln.ctx) {
		return Conn{}, false
	}
	prober := false // this thread retries for the whole listener
	for {
		if !prober && !ln.paused.wait(ln.ctx) {
			ln.slots.Release()
			return Conn{}, false
		}
		c, remote, err := sock.Accept(ln.fd)
		// EINVAL: the socket is no longer listening. Our watcher shut it
		// down, or, for a prefork worker, the parent or a sibling did,
		// since they share it: the server is stopping either way.
		if ln.stopping.Load() || errors.Is(err, unix.EINVAL) {
			if err == nil {
				_ = c.Close()
			}
			if prober {
				ln.paused.end()
			}
			ln.slots.Release()
			return Conn{}, false
		}
		if err != nil {
			pause, ok := ln.paused.fail(prober)
			if !ok {
				continue // another thread probes: wait for it
			}
			prober = true
			ln.stats.AcceptError(err, pause)
			t := time.NewTimer(pause)
			select {
			case <-ln.ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if prober {
			ln.paused.end()
		}
		return Conn{Conn: c, Remote: remote}, true
	}
}

// Serve holds the conversation on c with blocking reads and writes on the
// calling thread, then closes c and gives its slot back. The thread sleeps
// in the kernel whenever the client is slow to send or to read.
func (ln *Listener) Serve(c Conn) {
	track := ln.drain.Add(c.Wake)
	if track == nil { // shutdown began after accept4 returned
		_ = c.Close()
		ln.slots.Release()
		return
	}
	tid := 0
	if ln.stats.Debug() {
		tid = sock.Tid()
	}
	rec := ln.stats.Open(c.Remote, tid)
	reason, err := models.Converse(c.Conn, ln.cfg, &rec, track)
	ln.drain.Remove(track)
	_ = c.Close()
	ln.stats.Close(&rec, reason, tid, err)
	// Last, so that the close is logged before the acceptor can log what
	// the free slot lets it do (max_conns_left, the next conn_open).
	ln.slots.Release()
}

// Stopping reports whether the server has begun to shut down.
func (ln *Listener) Stopping() bool { return ln.stopping.Load() }

// ServeInherited serves a connection this process did not accept (a
// fork child's), as Serve does one from Accept: it takes the slot that
// Serve gives back.
func (ln *Listener) ServeInherited(c Conn) {
	ln.slots.TryAcquire()
	ln.Serve(c)
}

// Release gives back the slot of a connection that another process
// served: the fork model's parent calls it once the child has exited.
func (ln *Listener) Release() { ln.slots.Release() }

// Stats returns the listener's statistics and log events, for what a
// model logs of its own (the pool model's limit).
func (ln *Listener) Stats() *models.Stats { return ln.stats }

// Close waits for the watcher to finish draining, closes the listening
// socket and logs the stop event. Call it after the accept loop has ended
// and every Serve has returned.
func (ln *Listener) Close() {
	ln.unwatch()
	if ln.fd >= 0 {
		_ = sock.CloseListener(ln.fd)
	}
	ln.stats.Stop(ln.model)
}
