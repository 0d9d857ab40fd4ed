//go:build linux

package uring

import (
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/deadline"
	"iolab/models/internal/exchange"
	"iolab/models/internal/sock"

	"iolab/models/uring/ring"
)

// Accepting: the loop keeps an accept in flight exactly while it may
// accept, which accepting derives from its state in one place, as the
// epoll loop's does: below the connection limit, not paused after an
// accept error, not shutting down. Handlers only change that state;
// settleListener, once per turn, submits or cancels the accept to match,
// as settle does for a connection. Clients that are not accepted wait in
// the kernel's accept queue.
//
// A multishot accept (Linux 5.19) is one submission that completes once
// per client, for as long as it is not cancelled. It cannot be told to
// stop after n clients: it takes everyone in the accept queue, and
// cancelling it takes effect only when the loop next submits. So the loop
// arms it only while the room below the limit is larger than the accept
// queue can hold (the listen(2) backlog), and cancels it as soon as the
// room is smaller; near the limit it accepts single-shot, one client per
// submission, and so never past the limit. A client the multishot accept
// took past the limit all the same (it needs a burst larger than the
// backlog within one turn) is closed at once, logged as max_conns, as the
// gnet model does with every such client.

// accepting reports whether the loop accepts connections now.
func (l *loop) accepting() bool {
	return !l.draining && !l.paused && !l.slots.Full()
}

// multishotRoom reports whether the next accept may be multishot.
func (l *loop) multishotRoom() bool {
	return l.multiAccept && l.slots.Max()-l.slots.Open() > l.backlog
}

// settleListener submits or cancels the accept as accepting says, and
// logs when the connection limit is reached and left. The loop calls it
// once per turn, after every handler and timer has run.
func (l *loop) settleListener() {
	if !l.draining {
		l.slots.Note()
	}
	want := l.accepting()
	switch {
	case want && !l.acceptArmed:
		l.armAccept()
	case l.acceptArmed && !l.acceptCancel && (!want || l.acceptMulti && !l.multishotRoom()):
		// Once its last completion (-ECANCELED) comes, the next turn arms
		// a single-shot accept if the loop still accepts.
		l.acceptCancel = l.cancel(userData(kindAccept, 0))
	}
}

// armAccept submits an accept on the listener: multishot if there is room
// for it, else single-shot. The client's address is not asked for (a
// multishot accept would write every client's into the same place);
// open asks getpeername(2) for it when the log wants it.
func (l *loop) armAccept() {
	e := l.prep(ring.OpAccept, l.lfd, kindAccept, 0)
	if e == nil {
		l.pauseAccept(errSQFull)
		return
	}
	e.OpFlags = unix.SOCK_CLOEXEC // blocking, as Serve explains
	l.acceptMulti = l.multishotRoom()
	if l.acceptMulti {
		e.Ioprio = ring.AcceptMultishot
	}
	l.acceptArmed, l.acceptCancel = true, false
}

// loopAccept handles an accept's completion: a new connection, or why
// there is none.
func (l *loop) loopAccept(e *ring.CQE) {
	if e.Flags&ring.CQEFMore == 0 {
		l.acceptArmed, l.acceptCancel = false, false // settleListener arms the next
	}
	switch res := e.Res; {
	case res >= 0:
		l.backoff.Reset()
		l.open(int(res))
	case res == -int32(unix.ECANCELED):
		// Ours: at or near the limit, paused, or shutting down.
	case res == -int32(unix.ECONNABORTED), res == -int32(unix.EINTR), res == -int32(unix.EAGAIN):
		// A client that gave up while it was queued, or a signal: not the
		// server's problem. A multishot accept goes on; a single one is
		// armed again next turn.
	case res == -int32(unix.EINVAL) && l.acceptMulti:
		// A kernel whose probe promised multishot accept without having
		// it: single-shot from now on.
		l.multiAccept = false
		l.features.Accept = "single"
		l.cfg.Log.Warn().Msg("uring: the kernel refused multishot accept (EINVAL); accepting single-shot")
	default:
		// EMFILE, ENFILE, ENOBUFS, ENOMEM: the client stays queued, and an
		// accept armed again at once would fail again at once, in a
		// spin. Pause: accepting turns false, and settleListener cancels a
		// multishot accept still armed, until the timer ends the pause.
		l.pauseAccept(os.NewSyscallError("accept", syscall.Errno(-res)))
	}
}

// open starts serving the connection on fd, just accepted. Past the limit
// (a multishot accept's overshoot) or during the shutdown it is closed at
// once, and logged.
func (l *loop) open(fd int) {
	var remote netip.AddrPort
	if l.stats.Debug() {
		if sa, err := unix.Getpeername(fd); err == nil {
			remote = sock.AddrPort(sa)
		}
	}
	if l.draining || !l.slots.TryAcquire() {
		reason := models.ReasonMaxConns
		if l.draining {
			reason = models.ReasonShutdown
		}
		rec := l.stats.Open(remote, l.tid)
		unix.Close(fd)
		l.stats.Close(&rec, reason, l.tid, nil)
		return
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	l.nextID++
	c := &conn{id: l.nextID, fd: int32(fd), Conn: exchange.New(l.cfg, &l.pool, l.stats.Open(remote, l.tid), l.now)}
	l.conns[c.id] = c
	if l.cfg.Proto == models.Greeting {
		l.begin(c, l.cfg.Greeting)
	}
	l.settle(c)
}

// pauseAccept stops accepting after err, logs it, and arms the timer that
// ends the pause.
func (l *loop) pauseAccept(err error) {
	pause := l.backoff.Next()
	l.stats.AcceptError(err, pause)
	l.paused = true
	l.schedule(l.now.Add(pause), timer{Kind: deadline.ResumeAccept})
}
