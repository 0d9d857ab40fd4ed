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
	timerSweep                         // look for idle connections
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
				l.finish(c)
				if c.in != nil {
					l.answer(c) // lines that arrived meanwhile
				}
				l.settle(c)
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

// sweep closes connections idle for longer than the idle timeout: silent
// while reading, or not reading their answers while writing. One periodic
// sweep is cheaper than a timer per connection re-armed on every read.
func (l *loop) sweep() {
	for _, c := range l.conns {
		if c.asleep || l.now.Sub(c.active) < l.cfg.IdleTimeout {
			continue
		}
		reason := models.ReasonIdle
		if c.sent < len(c.out) {
			reason = models.ReasonWriteTimeout
		}
		l.loopClose(c, reason, nil)
	}
}

// sweepEvery is the sweep period: a tenth of the idle timeout, so that an
// idle connection lives at most 10% longer than it should, but at most
// once a second.
func (l *loop) sweepEvery() time.Duration {
	return min(l.cfg.IdleTimeout/10, time.Second)
}
