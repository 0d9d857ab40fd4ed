//go:build linux

package loadgen

import (
	"container/heap"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/proc"
)

// haveEpoll says Run can work here; engine_other.go says otherwise.
const haveEpoll = true

// sweepEvery is how often a loop looks for connections past their
// deadline, which also bounds how late a timeout is noticed.
const sweepEvery = int64(5 * time.Millisecond)

// backoff is how long a client waits before connecting again after its
// first failed connect, so that a dead or swamped server is not hammered;
// it doubles with each failure in a row, maxBackoffShift times at most
// (fail).
const (
	backoff         = int64(10 * time.Millisecond)
	maxBackoffShift = 6 // 640 ms
)

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

// loop is one event loop and the clients it drives: a share of the
// level's clients, on one OS thread. Only that thread touches the loop,
// so nothing in it is locked; the exceptions are the tally's counters,
// which the coordinator reads for progress, and the level's budget and
// stop flag, shared by every loop.
type loop struct {
	// tally is what the coordinator reads: the counters while the loop
	// runs, the recorder and last completion once it has returned.
	tally
	// lv is the level the loop belongs to.
	lv *level
	// sched is a copy of the level's timetable, read on every request; a
	// copy of its own never shares a cache line with the level's budget,
	// which every loop writes in Requests mode.
	sched schedule
	// sa is the server's address, the loop's own (see sockaddr).
	sa unix.Sockaddr
	// family is sa's address family, for socket(2).
	family int
	// p is the loop's epoll instance and timerfd.
	p *poller
	// proto is the workload, chosen once in newLoop.
	proto client
	// timeout is Config.Timeout in ns: how long each phase of a request
	// may take.
	timeout int64
	// conns are the loop's clients; epoll events carry an index into it.
	conns []*conn
	// timers holds the clients waiting for a due time or the end of a
	// pause, the earliest on top.
	timers connHeap
	// now is the time in ns after the level's epoch, read after each
	// epoll_wait and again before each event, so that an answer handled
	// late in a batch is not stamped with the time the batch arrived.
	now int64

	yielder proc.Yielder // passes through Go's scheduler every few ms
	// u is the io_uring data path (-engine uring), set up by run on the
	// loop's thread; nil with epoll. setupErr says why it could not be.
	u        *uringIO
	setupErr error
	// stopping is set when the loop starts no more requests: the measured
	// interval is over, or the level was stopped.
	stopping bool
	// stopAt is when stopping began: the requests still in flight get one
	// timeout more, and a sweep to notice it.
	stopAt int64
	// nextSweep is when sweep next looks for deadlines passed.
	nextSweep int64
	// deadlines holds the clients whose phase is timed, in the order the
	// deadlines were set, each with the deadline it had then. Every phase
	// has the same timeout, so they are in deadline order too, and sweep
	// looks only at those that have passed, not at every client: with
	// 15,000 clients a loop, every 5 ms, that would be the loop's main
	// work. An entry whose client has since moved on is dropped as it
	// comes up, or by setDeadline's compaction.
	deadlines []timed
	// open counts the clients whose socket is connected.
	open int
}

// newLoop makes loop index of nloops, with every nloops-th client of the
// level from index on, so that each loop has as many clients as another,
// give or take one.
func newLoop(lv *level, index, nloops int) (*loop, error) {
	p, err := openPoller()
	if err != nil {
		return nil, err
	}
	l := &loop{lv: lv, sched: lv.sched, p: p, timeout: int64(lv.cfg.Timeout)}
	l.sa, l.family = sockaddr(lv.addr)
	l.rec = newRecorder(lv.cfg.Heavy > 0)
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

// run drives the loop's clients until the level is over, on an OS thread
// of its own, as the server models' loops do.
//
// Each round: read the clock; start what is due (before deciding to
// stop, so that requests due before the end still go); stop starting
// requests once the interval is over; return once nothing is in flight
// or what is has had its timeout; fail what is past its deadline; wait
// for sockets or the next due time; handle what epoll reported.
func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if l.lv.cfg.Engine == EngineUring {
		cfg := l.lv.cfg
		if l.u, l.setupErr = newUringIO(l.p.epfd, len(l.conns), cfg.Size, cfg.Pipeline); l.setupErr != nil {
			return
		}
		l.u.echo = l.proto.(*echoClient) // Validate allows uring for echo only
		defer l.quiesce()
	}
	l.readClock()
	for _, c := range l.conns {
		if at := l.startAt(c); at > l.now {
			c.state = stWaiting
			l.setTimer(c, at)
			continue
		}
		l.proto.start(c)
	}
	for {
		l.readClock()
		l.fireTimers()
		if !l.stopping && (l.now >= l.sched.end || l.lv.stop.Load()) {
			l.beginStop()
		}
		if l.stopping && (!l.busy() || l.now >= l.stopAt+l.timeout+sweepEvery) {
			return
		}
		if l.now >= l.nextSweep {
			l.sweep()
		}
		events, err := l.wait(l.waitMillis())
		if err != nil { // EBADF or EINVAL: a bug, not the server's doing
			l.rec.failed(l.sched.second(l.now), ErrOther)
			return
		}
		l.yielder.Yield() // keeps sysmon off the loop's CPU (proc.Yielder)
		for _, ev := range events {
			if ev.Fd == timerIndex {
				l.p.drainTimer()
				continue
			}
			c := l.conns[ev.Fd]
			if ev.Pad != c.gen || c.fd < 0 {
				continue // an event of a socket already closed (see poller)
			}
			l.readClock()
			l.event(c, ev.Events)
		}
		if l.u != nil {
			l.dispatch()
		}
	}
}

// wait waits for sockets, timers or completions, msec milliseconds at
// most, and returns what epoll reported; with the uring engine the
// ring's completions wait in l.u for dispatch.
func (l *loop) wait(msec int) ([]unix.EpollEvent, error) {
	if l.u != nil {
		return l.u.wait(l.p, msec)
	}
	return l.p.wait(msec)
}

// startAt is when client c starts: at once, or with -connect-rate in
// its turn, client id at id ÷ rate seconds into the level, so that the
// clients connect at the rate asked for rather than all in one burst.
func (l *loop) startAt(c *conn) int64 {
	if l.lv.cfg.ConnectRate <= 0 {
		return 0
	}
	return int64(float64(c.id) * 1e9 / l.lv.cfg.ConnectRate)
}

// timed is an entry of loop.deadlines.
type timed struct {
	c  *conn
	at int64
}

// setDeadline times c's current phase: it fails at now plus the timeout.
// Entries left by phases that ended in time are dropped in one pass when
// they outnumber the clients twice, so the queue never holds more than
// about that.
func (l *loop) setDeadline(c *conn) {
	c.deadline = l.now + l.timeout
	if len(l.deadlines) >= 2*len(l.conns)+64 {
		live := l.deadlines[:0]
		for _, t := range l.deadlines {
			if t.c.deadline == t.at {
				live = append(live, t)
			}
		}
		clear(l.deadlines[len(live):])
		l.deadlines = live
	}
	l.deadlines = append(l.deadlines, timed{c, c.deadline})
}

// readClock sets now from the monotonic clock.
func (l *loop) readClock() { l.now = int64(time.Since(l.lv.epoch)) }

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

// fireTimers wakes the clients whose time has come. A client popped in
// another state has nothing to do: the greeting's restart may have started
// it while it was still on the heap.
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
		case stWaiting:
			if l.stopping {
				c.state = stDone
				continue
			}
			l.proto.start(c)
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

// sweep fails every request past its deadline: the entries at the head
// of the queue, as far as the first deadline still to come.
func (l *loop) sweep() {
	l.nextSweep = l.now + sweepEvery
	n := 0
	for ; n < len(l.deadlines) && l.deadlines[n].at <= l.now; n++ {
		c, at := l.deadlines[n].c, l.deadlines[n].at
		if c.deadline != at {
			continue // the phase ended, or another began, since
		}
		if c.state == stConnecting {
			l.fail(c, ErrConnectTimeout)
		} else {
			l.fail(c, ErrReadTimeout)
		}
	}
	l.deadlines = l.deadlines[n:]
}

// beginStop ends the measured interval for this loop: no new requests.
// In open loop, the requests due in the interval that were never sent are
// counted as unsent.
func (l *loop) beginStop() {
	l.stopping, l.stopAt = true, l.now
	l.held = l.open
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

// connHeap orders clients by wakeAt, for container/heap. Each client
// knows its place (heapIdx), so setTimer can move a client already
// waiting instead of adding it twice.
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
