//go:build linux

package uring

import (
	"time"
	"unsafe"

	"iolab/models/internal/deadline"

	"iolab/models/uring/ring"
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

// timer is what one deadline in the heap does when it fires.
type timer = deadline.Timer[*conn]

var _ deadline.Loop[*conn] = (*loop)(nil)

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
	e := l.prep(ring.OpTimeout, -1, kindTimer, l.timerSeq+1)
	if e == nil {
		return // the SQ is full: the next turn, which will not be long, tries again
	}
	l.timerSeq++
	d := max(time.Until(next), 0)
	l.timespec = ring.Timespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}
	e.Addr = uint64(uintptr(unsafe.Pointer(&l.timespec)))
	e.Len = 1 // one timespec; e.Off, the count of completions to wait for instead, is 0: time alone
	l.ringTimers[l.timerSeq] = next
}

// loopTimer handles a ring timeout's completion: -ETIME when it expired,
// the usual case, or -ECANCELED at the shutdown (quiesce). Either way it
// is no longer in flight; the timers due are run by runTimers, each turn.
func (l *loop) loopTimer(seq uint64) { delete(l.ringTimers, seq) }

// runTimers fires every timer whose deadline has passed.
func (l *loop) runTimers() { deadline.Fire(l, &l.timers, l.cfg, l.now, l.draining) }

// Sweep closes the connections past one of their deadlines, every
// deadline.SweepEvery until the shutdown (deadline.Fire arms the next). A
// closed connection waiting for its last completions has no deadline left.
func (l *loop) Sweep() {
	for _, c := range l.conns {
		if c.Closed {
			continue
		}
		if reason, late := c.Late(l.cfg, l.now); late {
			l.loopClose(c, reason, nil)
		}
	}
}

// ResumeAccept ends the pause after an accept error: settleListener arms
// the accept again.
func (l *loop) ResumeAccept() { l.paused = false }

// ShutdownExpired closes every connection still open when the shutdown
// timeout expires.
func (l *loop) ShutdownExpired() { l.closeAll() }

// WorkDone answers c's request, whose sleep timer fired.
func (l *loop) WorkDone(c *conn) {
	if c.Conn.WorkDone(l.cfg, l.draining, func(reply []byte) { l.begin(c, reply) }) {
		l.settle(c)
	}
}
