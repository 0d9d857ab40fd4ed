//go:build linux

package uring

import (
	"time"
	"unsafe"

	"iolab/models"
	"iolab/models/internal/deadline"
)

// Timers: as in the epoll loop, the deadlines (a request's sleep work,
// the sweep for idle, request and write timeouts, the end of an accept
// pause, the shutdown timeout) wait in a heap, the one models/epoll
// keeps too, and fire on the loop's thread between two waits. What
// bounds the wait differs: epoll_wait takes a timeout argument; here the
// bound is itself an operation in the ring, an IORING_OP_TIMEOUT that
// completes when the earliest deadline comes, and so ends
// io_uring_enter's wait like any other completion. No thread sleeps.
//
// One timeout per earliest deadline, not one per timer: armTimer, once per
// turn, submits a timeout only if the earliest deadline in the heap comes
// before every ring timeout already in flight. A ring timeout is never
// cancelled before the shutdown; one that turns out useless (its timer's
// request finished otherwise) only wakes the loop once for nothing.

// timerKind says what a timer does when it fires.
type timerKind uint8

const (
	timerWork         timerKind = iota // c's sleep work is done
	timerSweep                         // look for connections past a deadline
	timerResumeAccept                  // end the pause after an accept error
	timerShutdown                      // the shutdown timeout expired
)

// timer is what one deadline in the heap does when it fires.
type timer struct {
	kind timerKind // what it does
	c    *conn     // the connection, for timerWork; it may have closed since
}

// schedule adds a timer that fires at when.
func (l *loop) schedule(when time.Time, t timer) { l.timers.Schedule(when, t) }

// armTimer submits a ring timeout for the earliest deadline, unless one in
// flight already fires by then. The timeout is relative, from now; the
// kernel copies the timespec as it reads the submission, in this turn's
// io_uring_enter, before armTimer can run again and overwrite it.
func (l *loop) armTimer() {
	next, ok := l.timers.Next()
	if !ok {
		return
	}
	for _, at := range l.ringTimers {
		if !at.After(next) {
			return
		}
	}
	e := l.prep(opTimeout, -1, kindTimer, l.timerSeq+1)
	if e == nil {
		return // the SQ is full: the next turn, which will not be long, tries again
	}
	l.timerSeq++
	d := max(time.Until(next), 0)
	l.timespec = kernelTimespec{sec: int64(d / time.Second), nsec: int64(d % time.Second)}
	e.addr = uint64(uintptr(unsafe.Pointer(&l.timespec)))
	e.len = 1 // one timespec; e.off, the count of completions to wait for instead, is 0: time alone
	l.ringTimers[l.timerSeq] = next
}

// loopTimer handles a ring timeout's completion: -ETIME when it expired,
// the usual case, or -ECANCELED at the shutdown (quiesce). Either way it
// is no longer in flight; the timers due are run by runTimers, each turn.
func (l *loop) loopTimer(seq uint64) { delete(l.ringTimers, seq) }

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
			l.paused = false // settleListener arms the accept again
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
		if c.closed {
			continue
		}
		if reason, late := deadline.Late(l.cfg, l.now, c.active, c.writing, c.reading, c.asleep); late {
			l.loopClose(c, reason, nil)
		}
	}
}

// workDone answers c's request, whose sleep timer fired.
func (l *loop) workDone(c *conn) {
	l.finish(c)
	if c.in != nil {
		l.answer(c) // lines that came meanwhile
	}
	l.settle(c)
}
