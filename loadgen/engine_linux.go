//go:build linux

package loadgen

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/loadgen/proc"
	"iolab/models"
)

// Run measures each level of cfg in turn and returns the results. If ctx is
// cancelled it stops, and returns the levels completed with ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sa, family, err := resolve(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if err := preflight(cfg.Addr, cfg.Timeout); err != nil {
		return nil, err
	}
	res := &Result{Config: summarize(&cfg)}
	for i, n := range cfg.Clients {
		lvl, err := runLevel(ctx, &cfg, sa, family, i, n)
		if err != nil {
			return res, err
		}
		res.Levels = append(res.Levels, lvl)
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// resolve turns addr into the socket address every client connects to.
func resolve(addr string) (unix.Sockaddr, int, error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, 0, fmt.Errorf("loadgen: resolve %s: %w", addr, err)
	}
	ap := tcp.AddrPort()
	ip := ap.Addr().Unmap()
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = ip.Prev().Next() // keep the family
		if !ip.IsValid() || ip.Is4() {
			return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: [4]byte{127, 0, 0, 1}}, unix.AF_INET, nil
		}
	}
	if ip.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}, unix.AF_INET, nil
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}, unix.AF_INET6, nil
}

// preflight connects once, so that a server that is not there is one clear
// error instead of a table full of refusals. Any other failure (a reset, a
// timeout) is the server's behaviour, and the run measures it.
func preflight(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if errors.Is(err, unix.ECONNREFUSED) {
		return fmt.Errorf("%w at %s: is the server running?", ErrNoServer, addr)
	}
	if err == nil {
		c.Close()
	}
	return nil
}

// level is the shared state of one level's loops.
type level struct {
	cfg      *Config
	sa       unix.Sockaddr
	family   int
	clients  int
	epoch    time.Time
	sched    schedule      // the level's timetable, in ns after epoch
	budget   atomic.Int64  // Requests mode: measured requests still to start
	stop     atomic.Bool   // set on cancel, or when the budget is spent
	stopped  chan struct{} // closed when the measured interval ends early
	stopOnce sync.Once
}

// endEarly ends the measured interval before its time.
func (lv *level) endEarly() {
	lv.stopOnce.Do(func() {
		lv.stop.Store(true)
		close(lv.stopped)
	})
}

// runLevel runs one level: warm-up, then the measured interval.
func runLevel(ctx context.Context, cfg *Config, sa unix.Sockaddr, family, index, clients int) (Level, error) {
	nloops := min(clients, runtime.GOMAXPROCS(0))
	lv := &level{cfg: cfg, sa: sa, family: family, clients: clients, epoch: time.Now(),
		sched: newSchedule(cfg, clients), stopped: make(chan struct{})}
	if cfg.Requests > 0 {
		lv.budget.Store(cfg.Requests)
	}

	loops := make([]*loop, nloops)
	for i := range loops {
		l, err := newLoop(lv, i, nloops)
		if err != nil {
			for _, l := range loops[:i] {
				l.close()
			}
			return Level{}, err
		}
		loops[i] = l
	}
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run()
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()

	// The coordinator: progress, CPU use over the measured interval, and
	// the end of the level.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	warm := time.NewTimer(cfg.Warmup)
	defer warm.Stop()
	var end <-chan time.Time
	if cfg.Requests == 0 {
		t := time.NewTimer(cfg.Warmup + cfg.Duration)
		defer t.Stop()
		end = t.C
	}
	var u0, s0, u1, s1 time.Duration
	var t0, t1 time.Time
	measuring := false
	report := func() {
		if cfg.Progress == nil {
			return
		}
		p := Progress{Level: index + 1, Levels: len(cfg.Clients), Clients: clients,
			Warmup: !measuring, Elapsed: time.Since(lv.epoch)}
		if cfg.Requests == 0 {
			p.Total = cfg.Warmup + cfg.Duration
		}
		for _, l := range loops {
			p.Requests += l.answered.Load()
			p.Errors += l.failures.Load()
		}
		cfg.Progress(p)
	}
	mark := func(measuring bool) {
		if cfg.Mark != nil {
			cfg.Mark(measuring)
		}
	}
	endMeasure := func() {
		u1, s1 = proc.CPUTime()
		t1 = time.Now()
		if measuring {
			mark(false)
		}
	}
	for t1.IsZero() {
		select {
		case <-warm.C:
			u0, s0 = proc.CPUTime()
			t0, measuring = time.Now(), true
			mark(true)
		case <-end:
			endMeasure()
		case <-lv.stopped:
			endMeasure()
		case <-finished: // the loops saw the end first
			endMeasure()
		case <-ctx.Done():
			lv.endEarly()
		case <-tick.C:
			report()
		}
	}
	lv.stop.Store(true)
	<-finished
	report()
	if t0.IsZero() { // cancelled during warm-up
		t0, u0, s0 = t1, u1, s1
	}

	rec := newRecorder()
	var lastDone int64
	for _, l := range loops {
		l.rec.finish()
		rec.merge(l.rec)
		lastDone = max(lastDone, l.lastDone)
		l.close()
	}
	seconds := float64(cfg.Duration) / 1e9
	if cfg.Requests > 0 || ctx.Err() != nil {
		seconds = max(float64(lastDone-lv.sched.warmEnd), 1) / 1e9
	}
	return lv.result(rec, nloops, seconds, u1-u0, s1-s0, t1.Sub(t0)), nil
}

// result turns the merged recorder into a Level.
func (lv *level) result(rec *recorder, nloops int, seconds float64, user, sys, wall time.Duration) Level {
	out := Level{
		Clients: lv.clients, Loops: nloops, Seconds: seconds,
		Requests: rec.total.TotalCount(),
		Latency:  summary(rec.total),
		Errors:   make(map[string]int64),
		Late:     rec.late, Unsent: rec.unsent,
		Histograms: map[string][]byte{"latency": encode(rec.total)},
	}
	out.Throughput = float64(out.Requests) / seconds
	for k, n := range rec.errors {
		out.Errors[ErrKind(k).String()] = n
		out.ErrorsTotal += n
	}
	if lv.cfg.Rate > 0 {
		s := summary(rec.uncorrected)
		out.Uncorrected = &s
		out.Histograms["uncorrected"] = encode(rec.uncorrected)
	}
	if rec.phases {
		c, f := summary(rec.connect), summary(rec.firstByte)
		out.Connect, out.FirstByte = &c, &f
		out.Histograms["connect"] = encode(rec.connect)
		out.Histograms["first_byte"] = encode(rec.firstByte)
	}
	out.Warmup = WarmupSummary{Seconds: lv.cfg.Warmup.Seconds(), Requests: rec.warm.TotalCount(),
		Errors: rec.warmErrors, P50: rec.warm.ValueAtQuantile(50), P99: rec.warm.ValueAtQuantile(99)}
	for s, slot := range rec.timeline {
		out.Timeline = append(out.Timeline, Second{Second: s, Requests: slot.hist.TotalCount(),
			P50: slot.hist.ValueAtQuantile(50), P99: slot.hist.ValueAtQuantile(99), Errors: slot.errors})
	}
	cpus, procs := proc.Allowed()
	allowed := min(nloops, procs)
	if len(cpus) > 0 {
		allowed = min(allowed, len(cpus))
	}
	out.ClientCPU = CPUUse{User: user.Seconds(), System: sys.Seconds(), Allowed: allowed}
	if wall > 0 {
		out.ClientCPU.Percent = 100 * (user + sys).Seconds() / (wall.Seconds() * float64(allowed))
	}
	out.ClientBound = out.ClientCPU.Percent >= clientBoundPercent
	return out
}

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
	lv      *level
	sched   schedule      // a copy of the level's, apart from its atomics
	sa      unix.Sockaddr // the server; a copy per loop, see ownSockaddr
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
	lastDone  int64 // completion time of the last measured request

	answered atomic.Int64 // for progress
	failures atomic.Int64
}

func newLoop(lv *level, index, nloops int) (*loop, error) {
	p, err := openPoller()
	if err != nil {
		return nil, err
	}
	l := &loop{lv: lv, sched: lv.sched, sa: ownSockaddr(lv.sa), p: p, rec: newRecorder(),
		timeout: int64(lv.cfg.Timeout)}
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

// ownSockaddr copies a socket address. x/sys/unix converts a Sockaddr
// into its kernel form inside the value itself, on every connect, so
// loops running at once must not share one.
func ownSockaddr(sa unix.Sockaddr) unix.Sockaddr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &unix.SockaddrInet4{Port: sa.Port, Addr: sa.Addr}
	case *unix.SockaddrInet6:
		return &unix.SockaddrInet6{Port: sa.Port, Addr: sa.Addr, ZoneId: sa.ZoneId}
	}
	return sa
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
