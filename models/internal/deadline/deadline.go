// Package deadline holds what the event loops (models/epoll,
// models/uring) keep instead of sleeping: a heap of timers, earliest
// first, whose head bounds the loop's one wait, and what each kind of
// timer does when it fires (Fire); and a connection's three
// clocks (idle, write, request), which a periodic sweep compares with the
// timeouts of Config. One copy, so that the loops differ only in how they
// wait, not in when they give up on a client.
package deadline

import (
	"container/heap"
	"time"

	"iolab/models"
)

// Heap is a min-heap of timers by deadline, each carrying a value of type
// T that says what to do when it fires. Nothing cancels a timer: whoever
// pops one checks that what it points to still needs it.
type Heap[T any] struct{ h items[T] }

// item is one timer in the heap.
type item[T any] struct {
	when time.Time // when it fires
	v    T         // what it does then
}

// items implements container/heap's interface.
type items[T any] []item[T]

func (h items[T]) Len() int           { return len(h) }
func (h items[T]) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h items[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *items[T]) Push(x any)        { *h = append(*h, x.(item[T])) }
func (h *items[T]) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = item[T]{} // drop the reference for the GC
	*h = old[:len(old)-1]
	return t
}

// Schedule adds a timer that fires at when with v.
func (h *Heap[T]) Schedule(when time.Time, v T) { heap.Push(&h.h, item[T]{when, v}) }

// Len reports how many timers are pending.
func (h *Heap[T]) Len() int { return len(h.h) }

// Next returns the earliest deadline, and false when no timer is pending.
func (h *Heap[T]) Next() (time.Time, bool) {
	if len(h.h) == 0 {
		return time.Time{}, false
	}
	return h.h[0].when, true
}

// PopDue removes and returns the earliest timer if it is due at now.
func (h *Heap[T]) PopDue(now time.Time) (T, bool) {
	if len(h.h) == 0 || h.h[0].when.After(now) {
		var zero T
		return zero, false
	}
	return heap.Pop(&h.h).(item[T]).v, true
}

// Kind says what a timer of an event loop does when it fires.
type Kind uint8

const (
	Work         Kind = iota // a connection's sleep work is done
	Sweep                    // look for connections past a deadline
	ResumeAccept             // end the pause after an accept error
	Shutdown                 // the shutdown timeout expired
)

// Timer is what one deadline in an event loop's heap does when it fires;
// C is the loop's connection type.
type Timer[C any] struct {
	Kind Kind // what it does
	Conn C    // the connection, for Work; it may have closed since
}

// Loop is what a loop's timers act on when they fire: the same actions in
// every event loop, whatever it waits in.
type Loop[C any] interface {
	WorkDone(c C)     // c's sleep is over: answer it, unless c has closed since
	Sweep()           // close the connections past a deadline
	ResumeAccept()    // the pause after an accept error is over
	ShutdownExpired() // the shutdown timeout expired: close every connection now
}

// StartSweep arms a loop's first sweep, one period after now; Fire arms
// each next one, until the shutdown.
func StartSweep[C any](h *Heap[Timer[C]], cfg *models.Config, now time.Time) {
	h.Schedule(now.Add(SweepEvery(cfg)), Timer[C]{Kind: Sweep})
}

// Fire runs every timer in h that is due at now, on l, earliest first. A
// loop calls it once per wake-up, on its own thread, so that a timer
// fires between two waits like any other event. Once draining, the loop
// sweeps no more: the shutdown timer ends what is left.
func Fire[C any](l Loop[C], h *Heap[Timer[C]], cfg *models.Config, now time.Time, draining bool) {
	for {
		t, ok := h.PopDue(now)
		if !ok {
			return
		}
		switch t.Kind {
		case Work:
			l.WorkDone(t.Conn)
		case Sweep:
			l.Sweep()
			if !draining {
				StartSweep(h, cfg, now)
			}
		case ResumeAccept:
			l.ResumeAccept()
		case Shutdown:
			l.ShutdownExpired()
		}
	}
}

// Clock is a moment on the monotonic clock, in nanoseconds since this
// process's epoch, or zero for a clock that is stopped. A connection keeps
// three; at 8 bytes each where a time.Time takes 24, 10,000 idle
// connections hold 480 KB less.
type Clock int64

// epoch is the moment Clocks count from.
var epoch = time.Now()

// At returns now as a Clock (never zero, which means stopped).
func At(now time.Time) Clock {
	if c := Clock(now.Sub(epoch)); c != 0 {
		return c
	}
	return 1
}

// Follow starts or stops one of a connection's clocks: it reads zero while
// stopped, and the moment it started while running. A clock that keeps
// running keeps its start, so that progress (a partial write, one more
// byte of a line) does not push its deadline back.
func Follow(clock *Clock, running bool, now time.Time) {
	switch {
	case !running:
		*clock = 0
	case *clock == 0:
		*clock = At(now)
	}
}

// Late reports whether a connection is past its deadline at now, and
// which, given when it last read or wrote (active), since when its
// answers have waited unsent (writing) and since when it has held part of
// a line waiting for the rest (reading), zero for a clock that is
// stopped; asleep says its request's work is in progress. The rule is
// every model's (models.Clocks.Deadline); a loop's sweep asks it.
func Late(cfg *models.Config, now time.Time, active, writing, reading Clock, asleep bool) (models.Reason, bool) {
	clocks := models.Clocks{Active: int64(active), Writing: int64(writing), Reading: int64(reading), Asleep: asleep}
	reason, due := clocks.Deadline(cfg)
	return reason, due != 0 && due <= int64(now.Sub(epoch))
}

// SweepEvery is the period of a loop's sweep for connections past a
// deadline: a tenth of the shorter of the idle (and write) timeout and the
// request timeout, so that a connection lives at most 10% longer than its
// deadline, but at most a second longer (1.7% of the default idle
// timeout, 10% of the default request timeout), and at least a
// millisecond apart. One periodic sweep is cheaper than a timer per
// connection re-armed on every read.
func SweepEvery(cfg *models.Config) time.Duration {
	return max(min(cfg.IdleTimeout/10, cfg.RequestTimeout/10, time.Second), time.Millisecond)
}
