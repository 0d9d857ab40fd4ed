//go:build linux

package epoll

import (
	"os"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/deadline"
	"iolab/models/internal/exchange"
	"iolab/models/internal/sock"
)

// Accepting: the listener is in epoll's interest list exactly while the
// loop will accept from it, and that is derived from the loop's state in
// one place, accepting, as a connection's interest is in want. Three
// things stop the loop from accepting, and all three work the same way,
// by taking the listener out of epoll so that clients wait in the
// kernel's accept queue:
//
//   - the connection limit (Config.MaxConns): with as many connections
//     open as the limit allows, a new client waits until one closes, as
//     Apache's MaxRequestWorkers makes it do;
//   - a failed accept (EMFILE, say): the listener stays readable, so
//     level-triggered epoll would report it again at once, in a spin; a
//     timer unpauses the loop after models.AcceptBackoff's pause;
//   - the graceful shutdown, for good.
//
// Handlers only change that state; settleListener, once per wake-up,
// makes epoll follow it, as settle does for a connection.
//
// The connections are counted in a models.Slots: the epoll model's one
// loop is alone with it, and its count equals len(conns); the reuseport
// model's loops share one, so that the limit is the server's and not a
// share per loop that the kernel's hash would fill unevenly.

// accepting reports whether the loop accepts connections now.
func (l *loop) accepting() bool {
	return !l.draining && !l.paused && !l.slots.Full()
}

// loopAccept accepts connections waiting in the accept queue while the
// loop is accepting: until the queue is empty, the limit is reached, or
// accept fails. Edge-triggered (-edge) that matters: epoll reports the
// listener again only when another client connects, so a loop that
// accepted one per wake-up would leave the rest queued until then. When
// it stops early, settleListener takes the listener out of epoll, and
// adding it back reports it at once if clients still wait.
func (l *loop) loopAccept() {
	for l.accepting() && l.slots.TryAcquire() {
		fd, remote, err := sock.AcceptNonblocking(l.lfd)
		if err != nil {
			l.slots.Release()
		}
		switch err {
		case nil:
		case unix.EAGAIN:
			return // the queue is empty
		case unix.EINTR, unix.ECONNABORTED:
			continue // a signal, or a client that gave up while queued
		default:
			// EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays
			// queued. Pause, and settleListener stops watching the
			// listener until the pause is over.
			l.pauseAccept(os.NewSyscallError("accept4", err))
			return
		}
		l.backoff.Reset()
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		c := &conn{fd: fd, Conn: exchange.New(l.cfg, &l.pool, l.stats.Open(remote, l.tid), l.now)}
		l.accepted++
		l.conns.put(c)
		if l.cfg.Proto == models.Greeting {
			l.begin(c, l.cfg.Greeting)
		}
		// A greeting that goes out in full closes here, before epoll ever
		// hears of the connection.
		l.settle(c)
	}
}

// pauseAccept stops accepting after err, logs it, and arms the timer
// that ends the pause.
func (l *loop) pauseAccept(err error) {
	pause := l.backoff.Next()
	l.stats.AcceptError(err, pause)
	l.paused = true
	l.schedule(l.now.Add(pause), timer{Kind: deadline.ResumeAccept})
}

// settleListener makes epoll watch the listener iff the loop is
// accepting, and logs when the connection limit is reached and left. The
// loop calls it once per wake-up, after every handler and timer has run,
// so that whatever changed the state (an accept, a close, a pause, its
// end, the shutdown) is followed in this one place. A listener put back
// while clients wait in its queue is readable at once: the next
// epoll_wait reports it.
func (l *loop) settleListener() {
	if !l.draining {
		l.slots.Note()
	}
	want := l.accepting()
	switch {
	case want == l.listening:
		return
	case want:
		if err := l.p.add(l.lfd, unix.EPOLLIN); err != nil {
			// Out of kernel memory, most likely: treat it as a failed
			// accept, and try again after a pause.
			l.pauseAccept(err)
			return
		}
	default:
		// epoll_ctl(2) can fail here only if the listener were not in the
		// interest list, which is what del asks for anyway.
		_ = l.p.del(l.lfd)
	}
	l.listening = want
}
