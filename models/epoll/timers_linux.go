//go:build linux

package epoll

import (
	"time"

	"iolab/models"
	"iolab/models/internal/deadline"
)

// Timers: instead of sleeping, the loop keeps a heap of deadlines and
// passes the earliest to epoll_wait as its timeout. A timer fires on the
// loop's own thread, between two waits, like any other event.

// timerKind says what a timer does when it fires.
type timerKind uint8

const (
	timerWork         timerKind = iota // c's sleep work is done
	timerSweep                         // look for connections past a deadline
	timerResumeAccept                  // end the pause after an accept error
	timerShutdown                      // the shutdown timeout expired
)

// timer is what one deadline in the loop's heap does when it fires.
type timer struct {
	kind timerKind // what it does
	c    *conn     // the connection, for timerWork; it may have closed since
}

// timerHeap is the loop's pending timers, earliest first; the heap is the
// one the uring loop keeps too (models/internal/deadline).
type timerHeap = deadline.Heap[timer]

// schedule adds a timer that fires at when. Nothing cancels a timer: one
// whose connection has closed finds it closed when it fires.
func (l *loop) schedule(when time.Time, t timer) { l.timers.Schedule(when, t) }

// timeout is epoll_wait's timeout: until the earliest timer, rounded up to
// a whole millisecond so that the loop never wakes a little early and spins.
func (l *loop) timeout() int {
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
func (l *loop) runTimers() {
	for {
		t, ok := l.timers.PopDue(l.now)
		if !ok {
			return
		}
		switch t.kind {
		case timerWork:
			if c := t.c; !c.closed {
				l.workDone(c)
			}
		case timerSweep:
			l.sweep()
			if !l.draining {
				l.schedule(l.now.Add(deadline.SweepEvery(l.cfg)), timer{kind: timerSweep})
			}
		case timerResumeAccept:
			l.paused = false // settleListener watches the listener again
		case timerShutdown:
			for _, c := range l.conns {
				l.loopClose(c, models.ReasonShutdown, nil)
			}
		}
	}
}

// sweep closes the connections past one of their deadlines, every
// deadline.SweepEvery.
func (l *loop) sweep() {
	for _, c := range l.conns {
		if reason, late := l.late(c); late {
			l.loopClose(c, reason, nil)
		}
	}
}

// late reports whether c is past a deadline, and which.
func (l *loop) late(c *conn) (models.Reason, bool) {
	return deadline.Late(l.cfg, l.now, c.active, c.writing, c.reading, c.asleep)
}

// workDone answers c's request, whose work is over: its sleep timer fired,
// or a worker of the offload pool has done its cpu work.
func (l *loop) workDone(c *conn) {
	l.finish(c)
	if c.in != nil {
		l.answer(c) // lines that arrived meanwhile
	}
	l.settle(c)
}
