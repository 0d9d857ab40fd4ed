package reactor

import (
	"context"
	"net"
	"os"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Why OnOpen accepts too. With a listener per loop (gnet.WithReusePort),
// gnet v2.9.7 registers each listener level-triggered with eventloop.accept
// (engine_unix.go:109), which takes ONE connection each time epoll reports
// the listener (acceptor_unix.go:79-120); the main reactor's accept0
// (acceptor_unix.go:30-77), which the model does not use, loops until
// EAGAIN. epoll_wait returns at most 1024 events a call
// (pkg/netpoll/defs_poller_epoll.go:31), and the kernel puts a
// level-triggered descriptor that is still ready back at the end of its
// ready list: with thousands of busy connections, the listener comes up
// once per pass over all of them. At 10,000 echo clients on one CPU a pass
// takes about 120 ms, so the loop accepted some eight connections a second
// while clients were still connecting. The kernel completed their
// handshakes and queued them, with the line each sent at once; they waited
// in the accept queue past the client's timeout, the client reset them, and
// when gnet got to one, OnTraffic counted its line and the answer's write
// failed: bytes in, never out, and read timeouts at the client.
//
// So each OnOpen also accepts, without waiting, what else is queued on the
// listeners, and hands each socket to gnet with EventLoop.Enroll: gnet's
// worker pool duplicates it and registers it on the same loop, which runs
// OnOpen for it as for its own (the state, the close event, and more
// accepting). The listeners are gnet's own descriptors, found by
// setBacklogs (listen.go): gnet closes them only once every loop has
// returned (engine_unix.go:219-224), and OnOpen runs on a loop. A loop
// accepts from every loop's listener, so it may take another loop's
// clients; the kernel's spreading is only a hash anyway.
//
// What is accepted but not yet opened is bounded by acceptAhead. Each such
// socket takes its slot of the connection limit as it is accepted (its
// OnOpen does not ask again), but holds two descriptors until gnet has
// opened it and closed our copy. So the model accepts ahead only while the
// limit is more than twice acceptAhead away: near it (and under a small
// limit, such as a low RLIMIT_NOFILE gives) gnet's own accept, one
// connection at a time, refuses past the limit as before, and the process
// stays within the descriptors the limit allows for (limits.go).

// acceptAhead bounds the sockets accepted by the model and not yet opened
// by gnet.
const acceptAhead = 64

// ahead is a socket accepted by acceptMore: its gnet.Conn's context until
// OnOpen replaces it.
type ahead struct {
	opened bool // OnOpen ran, and the connection holds the slot
}

// acceptMore accepts what waits on the listeners, as far as acceptAhead
// and the connection limit allow. It runs in OnOpen, on a loop; the
// listeners are non-blocking, as gnet made them.
func (h *handler) acceptMore(el gnet.EventLoop) {
	lns := h.listeners.Load()
	if lns == nil || h.draining.Load() {
		return
	}
	for _, ln := range *lns {
		for h.reserveAccept() {
			fd, err := acceptNonblock(ln)
			switch err {
			case nil:
				h.enroll(el, fd)
				continue
			case unix.EINTR, unix.ECONNABORTED, unix.ECONNRESET:
				h.enrolled(nil)
				continue
			}
			// EAGAIN: none left. Anything else (EMFILE) is gnet's accept's
			// to meet and report.
			h.enrolled(nil)
			break
		}
	}
}

// reserveAccept counts one more socket accepted ahead, and takes its slot,
// if acceptAhead and the connection limit leave room for it: room for
// twice acceptAhead more, since until gnet has opened it, a socket
// accepted ahead may hold two descriptors (ours, in Go's netpoller, and
// gnet's duplicate).
func (h *handler) reserveAccept() bool {
	if h.accepting.Add(1) > acceptAhead {
		h.accepting.Add(-1)
		return false
	}
	for {
		open := h.open.Load()
		if open+1+2*acceptAhead > int64(h.limit) {
			h.accepting.Add(-1)
			return false
		}
		if h.open.CompareAndSwap(open, open+1) {
			return true
		}
	}
}

// enroll hands an accepted socket to gnet, on loop el. (Engine.Register
// would spread them over the loops, but its round robin is not safe to
// call from several loops at once.) The drain waits for it to be
// opened (it counts in h.working): an engine that stopped first would leave
// gnet's worker, and the socket, waiting for the loop for good.
func (h *handler) enroll(el gnet.EventLoop, fd int) {
	f := os.NewFile(uintptr(fd), "gnet-accepted")
	nc, err := net.FileConn(f) // a duplicate, in Go's netpoller
	_ = f.Close()
	if err != nil {
		h.enrolled(nil)
		return
	}
	h.mu.Lock()
	draining := h.draining.Load()
	if !draining {
		h.working++
	}
	h.mu.Unlock()
	if draining {
		_ = nc.Close()
		h.enrolled(nil)
		return
	}
	// gnet duplicates the socket, registers it, runs OnOpen on the loop,
	// closes nc, and then sends the result.
	a := &ahead{}
	res, err := el.Enroll(gnet.NewContext(context.Background(), a), nc)
	if err != nil {
		_ = nc.Close()
		h.enrolled(a)
		h.workDone()
		return
	}
	go func() {
		for range res { // closed once gnet has closed nc too
		}
		h.enrolled(a) // a.opened was set before gnet sent the result
		h.workDone()
	}()
}

// enrolled counts a socket accepted ahead out, once gnet has opened it or
// failed to; then its slot is the connection's, or free again.
func (h *handler) enrolled(a *ahead) {
	if a == nil || !a.opened {
		h.release()
	}
	h.accepting.Add(-1)
}
