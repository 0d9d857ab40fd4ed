//go:build linux

package epoll

import (
	"time"

	"iolab/models/internal/deadline"
)

// Timers: instead of sleeping, the loop keeps a heap of deadlines and
// passes the earliest to epoll_wait as its timeout. A timer fires on the
// loop's own thread, between two waits, like any other event. The heap,
// the kinds of timer and what each does when it fires are the uring
// loop's too (models/internal/deadline); what is epoll's own is how the
// earliest bounds the wait (timeout).

// timer is what one deadline in the loop's heap does when it fires.
type timer = deadline.Timer[*conn]

// timerHeap is the loop's pending timers, earliest first.
type timerHeap = deadline.Heap[timer]

var _ deadline.Loop[*conn] = (*loop)(nil)

// schedule adds a timer that fires at when. Nothing cancels a timer: one
// whose connection has closed finds it closed when it fires.
func (l *loop) schedule(when time.Time, t timer) { l.timers.Schedule(when, t) }

// timeout is epoll_wait's timeout: until the earliest timer, rounded up to
// a whole millisecond so that the loop never wakes a little early and spins;
// none at all while posted connections wait for their turn (loopPosted).
func (l *loop) timeout() int {
	if len(l.ready) > 0 {
		return 0
	}
	next, ok := l.timers.Next()
	if !ok {
		return -1
	}
	d := time.Until(next)
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// runTimers fires every timer whose deadline has passed.
func (l *loop) runTimers() { deadline.Fire(l, &l.timers, l.cfg, l.now, l.draining) }

// Sweep closes the connections past one of their deadlines, every
// deadline.SweepEvery until the shutdown (deadline.Fire arms the next).
func (l *loop) Sweep() {
	for _, c := range l.conns.byFD {
		if c == nil {
			continue
		}
		if reason, late := c.Late(l.cfg, l.now); late {
			l.loopClose(c, reason, nil)
		}
	}
}

// ResumeAccept ends the pause after an accept error: settleListener
// watches the listener again.
func (l *loop) ResumeAccept() { l.paused = false }

// ShutdownExpired closes every connection still open when the shutdown
// timeout expires.
func (l *loop) ShutdownExpired() { l.closeAll() }

// WorkDone answers c's request, whose work is over: its sleep timer fired,
// or a worker of the offload pool has done its cpu work.
func (l *loop) WorkDone(c *conn) {
	if c.Conn.WorkDone(l.cfg, l.draining, func(reply []byte) { l.begin(c, reply) }) {
		l.settle(c)
	}
}
