//go:build linux

package loadgen

import (
	"container/heap"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
)

// sweepEvery is how often a loop looks for connections past their
// deadline, which also bounds how late a timeout is noticed.
const sweepEvery = int64(5 * time.Millisecond)

// backoff is how long a client waits before connecting again after a
// refusal or a lack of local ports, so that a dead server is not hammered.
const backoff = int64(10 * time.Millisecond)

// client is a workload: what differs between greeting and echo. A loop
// picks one when it starts (newLoop) and calls it at these points; the
// loop, the connections, the timers and the failures are the same for
// both. The states are shared too, but stReading only ever happens to a
// greeting and stActive to an echo, so the loop can dispatch on the state
// and let the workload decide what it means.
type client interface {
	// start begins a client: its first connection, or its first wait for
	// a due time.
	start(c *conn)
	// connected goes on once c's handshake is done.
	connected(c *conn)
	// ready handles what epoll reported for c once connected.
	ready(c *conn, events uint32)
	// due handles c's timer, in stIdle or stActive: a request is due.
	due(c *conn)
	// restart goes on after the pause that follows a failure.
	restart(c *conn)
	// lost says, as c fails, how many requests were lost and when they
	// count as due (the second whose errors they join).
	lost(c *conn) (at int64, n int)
}

var (
	_ client = (*greetingClient)(nil)
	_ client = (*echoClient)(nil)
)

// loop is one event loop and the clients it drives.
type loop struct {
	tally
	lv      *level
	sched   schedule      // a copy of the level's, apart from its atomics
	sa      unix.Sockaddr // the server; a copy per loop, see sockaddr
	family  int           // sa's address family
	p       *poller
	proto   client // the workload, chosen once in newLoop
	timeout int64  // Config.Timeout, in ns
	conns   []*conn
	timers  connHeap // clients waiting for a due time or a backoff
	rec     *recorder
	now     int64 // ns after epoch, read after each epoll_wait and per event

	stopping  bool  // no new requests
	stopAt    int64 // when stopping began
	nextSweep int64
}

func newLoop(lv *level, index, nloops int) (*loop, error) {
	p, err := openPoller()
	if err != nil {
		return nil, err
	}
	l := &loop{lv: lv, sched: lv.sched, p: p, timeout: int64(lv.cfg.Timeout)}
	l.sa, l.family = sockaddr(lv.addr)
	l.rec = newRecorder()
	for id := index; id < lv.clients; id += nloops {
		c := &conn{index: int32(len(l.conns)), id: uint32(id), fd: -1, heapIdx: -1}
		c.nextDue = l.sched.first(id)
		l.conns = append(l.conns, c)
	}
	// The one place that asks which workload this is.
	if lv.cfg.Proto == models.Echo {
		l.proto = newEchoClient(l)
	} else {
		l.proto = newGreetingClient(l)
	}
	return l, nil
}

// run drives the loop's clients until the level is over.
func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l.tick()
	for _, c := range l.conns {
		l.proto.start(c)
	}
	for {
		l.tick()
		l.fireTimers() // before the stop: requests due before the end still go
		if !l.stopping && (l.now >= l.sched.end || l.lv.stop.Load()) {
			l.beginStop()
		}
		if l.stopping && (!l.busy() || l.now >= l.stopAt+l.timeout+sweepEvery) {
			return
		}
		if l.now >= l.nextSweep {
			l.sweep()
		}
		events, err := l.p.wait(l.waitMillis())
		if err != nil {
			l.rec.failed(l.sched.second(l.now), ErrOther)
			return
		}
		for _, ev := range events {
			if ev.Fd == timerIndex {
				l.p.drainTimer()
				continue
			}
			c := l.conns[ev.Fd]
			if ev.Pad != c.gen || c.fd < 0 {
				continue // an event of a socket already closed
			}
			l.tick()
			l.event(c, ev.Events)
		}
	}
}

// tick reads the clock.
func (l *loop) tick() { l.now = int64(time.Since(l.lv.epoch)) }

// mayStart reports whether a request due at t may start: not after the
// measured interval, and in Requests mode only while the budget lasts
// (it takes one from it).
func (l *loop) mayStart(t int64) bool {
	if l.stopping || t >= l.sched.end {
		return false
	}
	if l.lv.cfg.Requests > 0 && t >= l.sched.warmEnd {
		if l.lv.budget.Add(-1) < 0 {
			l.lv.endEarly()
			return false
		}
	}
	return true
}

// setTimer puts c in the timer heap until at.
func (l *loop) setTimer(c *conn, at int64) {
	c.wakeAt = at
	if c.heapIdx >= 0 {
		heap.Fix(&l.timers, c.heapIdx)
	} else {
		heap.Push(&l.timers, c)
	}
}

// fireTimers wakes the clients whose time has come.
func (l *loop) fireTimers() {
	for len(l.timers) > 0 && l.timers[0].wakeAt <= l.now {
		c := heap.Pop(&l.timers).(*conn)
		switch c.state {
		case stBackoff:
			if l.stopping {
				c.state = stDone
				continue
			}
			l.proto.restart(c)
		case stIdle, stActive:
			l.proto.due(c)
		}
	}
}

// waitMillis is epoll_wait's timeout: until the next sweep or due time.
// Due times closer than 2 ms are left to the timerfd, which has
// nanosecond resolution where epoll_wait has milliseconds.
func (l *loop) waitMillis() int {
	wake := l.nextSweep
	if len(l.timers) > 0 {
		at := l.timers[0].wakeAt
		if d := at - l.now; d < 2*int64(time.Millisecond) {
			if d <= 0 {
				return 0
			}
			_ = l.p.arm(at, d) // on failure, the sweep wakes the loop
		} else {
			wake = min(wake, at)
		}
	}
	if !l.stopping {
		wake = min(wake, l.sched.end)
	}
	d := wake - l.now
	if d <= 0 {
		return 0
	}
	return int(d / int64(time.Millisecond)) // round down: never wake late
}

// sweep fails every request past its deadline.
func (l *loop) sweep() {
	l.nextSweep = l.now + sweepEvery
	for _, c := range l.conns {
		if c.deadline == 0 || l.now < c.deadline {
			continue
		}
		if c.state == stConnecting {
			l.fail(c, ErrConnectTimeout)
		} else {
			l.fail(c, ErrReadTimeout)
		}
	}
}

// beginStop ends the measured interval for this loop: no new requests.
// In open loop, the requests due in the interval that were never sent are
// counted as unsent.
func (l *loop) beginStop() {
	l.stopping, l.stopAt = true, l.now
	for _, c := range l.conns {
		l.rec.unsent += l.sched.unsent(c.nextDue, l.now)
	}
}

// busy reports whether any request is still in flight.
func (l *loop) busy() bool {
	for _, c := range l.conns {
		if c.state == stConnecting || c.state == stReading || c.inflight > 0 {
			return true
		}
	}
	return false
}

// close releases the loop's sockets.
func (l *loop) close() {
	for _, c := range l.conns {
		l.closeConn(c)
	}
	l.p.close()
}

// connHeap orders clients by wakeAt, for container/heap.
type connHeap []*conn

func (h connHeap) Len() int           { return len(h) }
func (h connHeap) Less(i, j int) bool { return h[i].wakeAt < h[j].wakeAt }
func (h connHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *connHeap) Push(x any) {
	c := x.(*conn)
	c.heapIdx = len(*h)
	*h = append(*h, c)
}
func (h *connHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	c.heapIdx = -1
	*h = old[:len(old)-1]
	return c
}
