//go:build linux

package epoll

import (
	"container/heap"
	"time"

	"iolab/models"
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

// timer is one deadline in the loop's heap.
type timer struct {
	when time.Time // when it fires
	kind timerKind // what it does then
	c    *conn     // the connection, for timerWork; it may have closed since
}

// timerHeap is a min-heap of timers by deadline, for container/heap.
type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(*timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// schedule adds t to the heap. Nothing cancels a timer: one whose
// connection has closed finds it closed when it fires.
func (l *loop) schedule(t *timer) { heap.Push(&l.timers, t) }

// timeout is epoll_wait's timeout: until the earliest timer, rounded up to
// a whole millisecond so that the loop never wakes a little early and spins.
func (l *loop) timeout() int {
	if len(l.timers) == 0 {
		return -1
	}
	d := time.Until(l.timers[0].when)
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// runTimers fires every timer whose deadline has passed.
func (l *loop) runTimers() {
	for len(l.timers) > 0 && !l.timers[0].when.After(l.now) {
		t := heap.Pop(&l.timers).(*timer)
		switch t.kind {
		case timerWork:
			if c := t.c; !c.closed {
				l.workDone(c)
			}
		case timerSweep:
			l.sweep()
			if !l.draining {
				l.schedule(&timer{kind: timerSweep, when: l.now.Add(l.sweepEvery())})
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

// sweep closes the connections past one of their deadlines. One periodic
// sweep is cheaper than a timer per connection re-armed on every read.
func (l *loop) sweep() {
	for _, c := range l.conns {
		if reason, late := l.late(c); late {
			l.loopClose(c, reason, nil)
		}
	}
}

// late reports whether c is past a deadline, and which. The write and
// request clocks (see clocks) never both run: c reads only once all is
// written.
func (l *loop) late(c *conn) (models.Reason, bool) {
	switch {
	case !c.writing.IsZero():
		// Not taking its answers, however slowly it takes some.
		return models.ReasonWriteTimeout, l.now.Sub(c.writing) >= l.cfg.IdleTimeout
	case c.asleep:
		return 0, false // the wait is the server's, not the client's
	case !c.reading.IsZero() && l.now.Sub(c.reading) >= l.cfg.RequestTimeout:
		// Part of a line, and the rest too slow, however often a byte of
		// it comes.
		return models.ReasonRequestTimeout, true
	}
	return models.ReasonIdle, l.now.Sub(c.active) >= l.cfg.IdleTimeout
}

// sweepEvery is the sweep period: a tenth of the shorter of the idle (and
// write) timeout and the request timeout, so that a connection lives at
// most 10% longer than its deadline, but at most a second longer (1.7% of
// the default idle timeout, 10% of the default request timeout), and at
// least a millisecond apart, epoll_wait's resolution.
func (l *loop) sweepEvery() time.Duration {
	return max(min(l.cfg.IdleTimeout/10, l.cfg.RequestTimeout/10, time.Second), time.Millisecond)
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
