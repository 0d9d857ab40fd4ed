package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/loadgen/version"
	"iolab/models"
	"iolab/models/proc"
)

// This file is the coordinator: it runs the levels one after the other,
// starts one event loop per usable CPU for each, watches the clock and
// the context while they run, and turns what they measured into a Level.
// It needs nothing of Linux; the loops do (loop_linux.go).

// errNeedsLinux is what Run returns where there is no epoll.
var errNeedsLinux = errors.New("the load generator needs Linux (epoll)")

// Run measures each level of cfg in turn and returns the results. If ctx is
// cancelled it stops, and returns the levels completed with ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if !haveEpoll {
		return nil, errNeedsLinux
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	addr, err := resolve(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if err := preflight(cfg.Addr, cfg.Timeout); err != nil {
		return nil, err
	}
	if cfg.Engine == EngineUring {
		if err := UringUsable(); err != nil {
			return nil, err
		}
	}
	res := &Result{Version: version.String(), RunID: NewRunID(), Started: time.Now().UTC(), Config: summarize(&cfg)}
	for i, n := range cfg.Clients {
		lvl, err := runLevel(ctx, &cfg, addr, i, n)
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

// resolve turns addr into the address every client connects to, once, so
// that no loop waits on DNS. An address without a host, or an unspecified
// one (0.0.0.0, and [::] too), means this machine: 127.0.0.1.
func resolve(addr string) (netip.AddrPort, error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolve %s: %w", addr, err)
	}
	ap := tcp.AddrPort()
	ip := ap.Addr().Unmap()
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return netip.AddrPortFrom(ip, ap.Port()), nil
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

// level is the shared state of one level's loops. The loops only read it,
// except the fields that say so.
type level struct {
	// cfg is the run's configuration.
	cfg *Config
	// addr is the server, resolved.
	addr netip.AddrPort
	// clients is the level's number of clients, spread over its loops.
	clients int
	// epoch is when the level started; every time a loop keeps is in ns
	// after it, on the monotonic clock.
	epoch time.Time
	// sched is the level's timetable; each loop keeps a copy.
	sched schedule
	// budget, in Requests mode, is how many measured requests may still
	// start; every loop takes from it.
	budget atomic.Int64
	// stop tells the loops to start no more requests: set on cancel, or
	// when the budget is spent. They poll it once per wake-up, which is
	// soon enough: a loop never sleeps past its next sweep.
	stop atomic.Bool
	// stopped is closed when the measured interval ends early, to wake the
	// coordinator.
	stopped chan struct{}
	// stopOnce makes endEarly safe to call from every loop.
	stopOnce sync.Once
}

// endEarly ends the measured interval before its time.
func (lv *level) endEarly() {
	lv.stopOnce.Do(func() {
		lv.stop.Store(true)
		close(lv.stopped)
	})
}

// tally is what a loop shares with its level's coordinator. The loop
// writes it; the coordinator reads the counters while the loop runs, for
// progress, and the rest only once the loop has returned.
type tally struct {
	answered atomic.Int64 // requests answered so far, warm-up included
	failures atomic.Int64 // requests failed so far, warm-up included
	rec      *recorder    // everything the loop measured
	lastDone int64        // when its last measured request was answered, in ns after the epoch
	held     int          // its connections open when the measured interval ended (Level.Held)
	allUpAt  int64        // when all its clients were first connected at once, in ns after the epoch; 0: never
}

// runLevel runs one level: warm-up, then the measured interval.
func runLevel(ctx context.Context, cfg *Config, addr netip.AddrPort, index, clients int) (Level, error) {
	nloops := min(clients, runtime.GOMAXPROCS(0))
	lv := &level{cfg: cfg, addr: addr, clients: clients, epoch: time.Now(),
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
		wg.Go(l.run)
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
	var cpu cpuWindow
	cut := false // ended by ctx, before its time
	report := func() {
		if cfg.Progress == nil {
			return
		}
		p := Progress{Level: index + 1, Levels: len(cfg.Clients), Clients: clients,
			Warmup: !cpu.begun(), Elapsed: time.Since(lv.epoch)}
		if cfg.Requests == 0 {
			p.Total = cfg.Warmup + cfg.Duration
		}
		p.WarmupTotal = cfg.Warmup
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
		cpu.end()
		if cpu.begun() {
			mark(false)
		}
	}
	for !cpu.ended() {
		select {
		case <-warm.C:
			cpu.begin()
			mark(true)
		case <-end:
			endMeasure()
		case <-lv.stopped:
			endMeasure()
		case <-finished: // the loops saw the end first
			endMeasure()
		case <-ctx.Done():
			lv.endEarly()
			cut = true
		case <-tick.C:
			report()
		}
	}
	lv.stop.Store(true)
	<-finished
	for _, l := range loops {
		if l.setupErr != nil {
			for _, l := range loops {
				l.close()
			}
			return Level{}, l.setupErr
		}
	}
	report()

	rec := newRecorder(cfg.Heavy > 0)
	var lastDone, allUp int64
	held, allUpEvery := 0, true
	for _, l := range loops {
		l.rec.finish()
		rec.merge(l.rec)
		lastDone = max(lastDone, l.lastDone)
		held += l.held
		allUp = max(allUp, l.allUpAt)
		allUpEvery = allUpEvery && l.allUpAt > 0
		l.close()
	}
	seconds := float64(cfg.Duration) / 1e9
	if cfg.Requests > 0 || ctx.Err() != nil {
		seconds = max(float64(lastDone-lv.sched.warmEnd), 1) / 1e9
	}
	user, sys, wall := cpu.use()
	out := lv.result(rec, nloops, seconds, user, sys, wall)
	out.Partial = cut
	if cfg.Proto == models.Echo {
		out.Held = held
		if allUpEvery {
			setup := float64(allUp) / 1e9
			out.Setup = &setup
		}
	}
	return out, nil
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
	if rec.heavy != nil {
		c, h := summary(rec.cheap), summary(rec.heavy)
		out.Cheap, out.Heavy = &c, &h
		out.Histograms["cheap"] = encode(rec.cheap)
		out.Histograms["heavy"] = encode(rec.heavy)
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
	out.ClientCPU = CPUUse{User: user.Seconds(), System: sys.Seconds(), Allowed: allowed, CPUs: cpus}
	if wall > 0 {
		out.ClientCPU.Percent = 100 * (user + sys).Seconds() / (wall.Seconds() * float64(allowed))
	}
	out.ClientBound = out.ClientCPU.Percent >= clientBoundPercent
	return out
}

// cpuWindow is the load generator's own CPU use over a measured interval,
// from the process's CPU time read at both ends. It covers the loops and
// the Go runtime working for them, which is what a client-bound run runs
// out of.
type cpuWindow struct {
	from, to cpuSample // the interval's ends, zero until read
}

// cpuSample is the process's CPU time at a moment.
type cpuSample struct {
	user, sys time.Duration // CPU time since the process started (getrusage(2))
	at        time.Time     // when it was read
}

// readCPU reads the process's CPU time, then the clock.
func readCPU() cpuSample {
	user, sys := proc.CPUTime()
	return cpuSample{user: user, sys: sys, at: time.Now()}
}

// begin reads the start of the measured interval.
func (w *cpuWindow) begin() { w.from = readCPU() }

// end reads its end.
func (w *cpuWindow) end() { w.to = readCPU() }

// begun reports whether the measured interval has begun.
func (w *cpuWindow) begun() bool { return !w.from.at.IsZero() }

// ended reports whether it has ended.
func (w *cpuWindow) ended() bool { return !w.to.at.IsZero() }

// use returns the user and system CPU time used between the ends, and the
// wall time between them; all zero for a level cancelled in its warm-up.
func (w *cpuWindow) use() (user, sys, wall time.Duration) {
	if !w.begun() {
		return 0, 0, 0
	}
	return w.to.user - w.from.user, w.to.sys - w.from.sys, w.to.at.Sub(w.from.at)
}
