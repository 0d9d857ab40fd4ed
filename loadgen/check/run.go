package check

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/proc"
)

// run is one scenario against one server.
type run struct {
	tg   *Target
	m    models.Model // the model, or the zero Model for another server
	f    *Form
	c    *server
	base proc.Sample // the server before the scenario, settled
	open []string    // what its descriptors were then (openFiles)
	mark int         // how many events the server had logged before it
	at   tally       // the tally of its events then
	peak proc.Sample // the server's peaks during the scenario

	cleanups []func() // run last to first when the scenario ends

	mu       sync.Mutex
	figure   string // what the scenario measured, for the table
	failure  string // the first failure
	failures []string
	notes    []string // what the table says besides the figure
	limit    string   // a documented limitation the scenario ran into
	after    string   // what the checks after it measured
	skipped  bool
	unserved string // why the first client was not served
}

// abort ends a scenario early: fatalf and skip panic with it, and play
// recovers it.
type abort struct{}

// play starts a server for sc if the target needs one (each of iolab's
// models gets a fresh one; a command is started once, and again only if
// it is gone), plays sc, and checks the server afterwards.
func play(tg *Target, keep *server, sc Scenario, f *Form) (cell Cell, kept *server) {
	r := &run{tg: tg, m: tg.Model, f: f}
	kept = keep
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(abort); !ok {
				panic(p)
			}
		}
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			r.cleanups[i]()
		}
		cell = r.cell(sc.Name)
	}()
	if why := sc.notApplicable(tg); why != "" {
		r.skip(why)
	}
	c, err := r.serverFor(sc, keep)
	if c != nil && !tg.model() {
		kept = c
	}
	if err != nil {
		r.fatalf("start the server: %v", err)
	}
	r.c = c
	if sc.noFile > 0 && !tg.model() {
		r.limitFiles(sc.noFile)
	}
	r.baseline()
	peaks := r.sample(50 * time.Millisecond)
	sc.run(r)
	r.peak = peaks.end()
	if r.limit != "" {
		return
	}
	if !sc.stops {
		if !c.running() {
			r.fatalf("%s", c.died())
		}
		r.check()
		if tg.model() {
			if _, err := c.stop(c.spec.ShutdownTimeout); err != nil {
				r.errorf("stop: %v", err)
			}
		}
	}
	if c.log != nil && c.log.raced() {
		r.errorf("the race detector reported a data race in the server: %s", c.log.trouble())
	}
	return
}

// serverFor returns the server sc plays against: for a model a fresh one
// with sc's settings, killed when sc ends; for a command the one kept
// from the scenario before, or a new one if there is none or it is gone;
// for an address, the address.
func (r *run) serverFor(sc Scenario, keep *server) (*server, error) {
	tg := r.tg
	switch {
	case tg.model():
		spec := Spec{Model: tg.Model.Name, ShutdownTimeout: 2 * time.Second, NoFile: sc.noFile}
		if r.m.Workers > 0 && !sc.defaultPool {
			spec.Workers = r.f.poolWorkers
			if r.m.Processes {
				// A worker process is a whole Go runtime, some 12 MiB.
				spec.Workers = min(r.f.poolWorkers, maxProcesses)
			}
		}
		if sc.server != nil {
			sc.server(r.f, &spec)
		}
		c, err := startModel(tg.Self, spec)
		if err == nil {
			r.cleanup(c.kill)
		}
		return c, err
	case tg.Command != "":
		if keep != nil && keep.running() {
			return keep, nil
		}
		if keep != nil {
			r.note(fmt.Sprintf("the server had exited (%v) in an earlier check; started again", keep.waitErr))
		}
		return startCommand(tg.Command, tg.Addr)
	default:
		return atAddr(tg.Addr), nil
	}
}

// cleanup adds f to what runs when the scenario ends.
func (r *run) cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// logged reports whether the server's events can be read: it is one of
// iolab's models.
func (r *run) logged() bool { return r.c.log != nil && r.c.log.events }

// baseline serves one client, so that the server has made what it makes
// once, then settles and samples it.
func (r *run) baseline() {
	if err := r.roundTrip("warm-up"); err != nil {
		if !r.c.running() {
			r.fatalf("%s", r.c.died())
		}
		r.unserved = err.Error()
		r.fatalf("the first client: %v", err)
	}
	if r.logged() {
		r.quiet(1)
		r.mark, r.at = r.c.log.len(), r.c.log.tally()
	}
	if !r.c.process() {
		return
	}
	if err := r.c.settle(); err != nil {
		r.fatalf("%v", err)
	}
	s, err := r.c.sample()
	if err != nil {
		r.fatalf("sample: %v", err)
	}
	r.base = s
	r.open = r.c.openFiles()
}

// closedAll waits until the server has no more descriptors open than
// before the scenario, its connections all closed, and then until their
// close events have come through. It is for scenarios that cannot know
// how many connections the server accepted. A server at an address
// cannot be asked.
func (r *run) closedAll() {
	if !r.c.process() {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond) // polling another process's /proc: nothing to wait on
	defer tick.Stop()
	deadline := time.Now().Add(patience)
	for {
		s, err := r.c.sample()
		if err != nil {
			r.errorf("sample: %v", err)
			return
		}
		if s.FDs <= r.base.FDs {
			break
		}
		if time.Now().After(deadline) {
			r.errorf("%d descriptors still open %v after the clients left (%d before; new: %s)", s.FDs, patience, r.base.FDs, newFiles(r.open, r.c.openFiles()))
			return
		}
		<-tick.C
	}
	if r.logged() {
		r.quiet(0)
	}
}

// quiet waits until the server has logged the opening of at least opens
// connections in all, and the close of every connection it opened. The
// caller says how many it knows were accepted: a client may have its
// answer before the server's log line about it has come through the pipe.
func (r *run) quiet(opens int) bool {
	ok := r.c.log.await(patience, func(l *tally) bool { return l.opens >= opens && l.closes >= l.opens })
	if !ok {
		l := r.c.log.tally()
		r.errorf("%d connections still open %v after their clients left", l.opens-l.closes, patience)
	}
	return ok
}

// check is what follows every scenario: a fresh client is served, every
// connection is closed, and threads, descriptors and memory come back
// near where they were before it. The server gets until patience for
// that; a thread that ends or a descriptor that closes late is not a leak.
func (r *run) check() {
	opens := 0
	if r.logged() {
		opens = r.c.log.tally().opens + 1
	}
	if err := r.roundTrip("fresh client"); err != nil {
		if !r.c.running() {
			r.fatalf("%s", r.c.died())
		}
		r.errorf("a fresh client after the scenario: %v", err)
		opens--
	}
	if r.logged() {
		r.quiet(opens)
	}
	if !r.c.process() {
		return
	}
	tick := time.NewTicker(50 * time.Millisecond) // polling another process's /proc: nothing to wait on
	defer tick.Stop()
	deadline := time.Now().Add(patience)
	for {
		if err := r.c.settle(); err != nil {
			r.errorf("%v", err)
			return
		}
		s, err := r.c.sample()
		if err != nil {
			r.errorf("sample: %v", err)
			return
		}
		dThreads, dFDs, dRSS := s.Threads-r.base.Threads, s.FDs-r.base.FDs, s.RSS-r.base.RSS
		// The race detector's shadow memory, several bytes for each byte
		// of heap ever touched, is not given back: under it the resident
		// memory is shown, not judged.
		rssLimit := max(rssMargin+int64(max(r.base.Procs-1, 0))*rssPerProcess, (r.peak.RSS-r.base.RSS)/2)
		threadLimit := max(threadMargin*max(r.base.Procs, 1), // each process is a Go runtime of its own
			(r.peak.Threads-r.base.Threads)/threadShare)
		if !r.tg.model() {
			threadLimit = max(foreignThreads, threadLimit)
		}
		ok := dThreads <= threadLimit && dFDs <= 0 && (dRSS <= rssLimit || raceDetector)
		if ok || time.Now().After(deadline) {
			r.mu.Lock()
			r.after = fmt.Sprintf("%+d / %+d / %s", dThreads, dFDs, dmib(dRSS))
			r.mu.Unlock()
			if !ok {
				r.errorf("not back near the start %v after the scenario: threads %d (was %d, margin %d), fds %d (was %d; new: %s), RSS %s (was %s, peak %s, margin %s)",
					patience, s.Threads, r.base.Threads, threadLimit, s.FDs, r.base.FDs, newFiles(r.open, r.c.openFiles()), mib(s.RSS), mib(r.base.RSS), mib(r.peak.RSS), mib(rssLimit))
			}
			return
		}
		<-tick.C
	}
}

// figuref sets the scenario's figure for the table.
func (r *run) figuref(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figure = fmt.Sprintf(format, args...)
}

// note adds to the figure what the table should say besides.
func (r *run) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, s)
}

// errorf fails the scenario and keeps the first failure for the table.
// Any goroutine may call it.
func (r *run) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failure == "" {
		r.failure = msg
	}
	r.failures = append(r.failures, msg)
}

// fatalf is errorf, then the end of the scenario; only its own goroutine
// may call it.
func (r *run) fatalf(format string, args ...any) {
	r.errorf(format, args...)
	panic(abort{})
}

// skip ends a scenario that does not apply to the server.
func (r *run) skip(why string) {
	r.mu.Lock()
	r.figure, r.skipped = why, true
	r.mu.Unlock()
	panic(abort{})
}

// documented ends a scenario in which the model met a limitation that
// its package documents, with the evidence in why. It is neither a pass
// nor a failure, and the table says so.
func (r *run) documented(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limit = why
}

// count returns n, or at most serial for a serial model, which serves
// the clients one after the other.
func (r *run) count(n, serial int) int {
	if r.m.Serial {
		return min(n, serial)
	}
	return n
}

// cell is the scenario's cell of the table, once it has ended.
func (r *run) cell(scenario string) Cell {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Cell{Scenario: scenario, Text: strings.TrimSuffix(strings.Join(append(r.notes, r.figure), "; "), "; "), After: r.after, unserved: r.unserved}
	failure := r.failure
	if r.c != nil && r.c.crashed() { // say so first, whatever failed before
		failure = r.c.died()
	}
	switch {
	case r.skipped:
		c.Status = NA
	case r.limit != "" && r.failure == "": // a documented end, crash or not
		c.Status, c.Text = Limit, r.limit
	case failure != "":
		c.Status, c.Text = Fail, strings.TrimSuffix(failure+"; "+c.Text, "; ")
		c.Failures = r.failures
		if failure != r.failure { // the crash, which no errorf said
			c.Failures = append([]string{failure}, c.Failures...)
		}
	default:
		c.Status = OK
	}
	return c
}

// mib formats a byte count in MiB, signed when negative.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// dmib formats a change in bytes, in MiB, with its sign.
func dmib(n int64) string { return fmt.Sprintf("%+.1f MiB", float64(n)/(1<<20)) }

// idleTimeout is how long the server may keep a connection that sends
// nothing or reads nothing: a model's -idle-timeout, another server's
// promise (Target.Timeout).
func (r *run) idleTimeout() time.Duration {
	if r.tg.model() {
		cfg, _ := r.c.spec.Config()
		return cfg.IdleTimeout
	}
	return r.tg.Timeout
}

// requestTimeout is how long the server may wait for the rest of a line:
// a model's -request-timeout, another server's promise.
func (r *run) requestTimeout() time.Duration {
	if r.tg.model() {
		cfg, _ := r.c.spec.Config()
		return cfg.RequestTimeout
	}
	return r.tg.Timeout
}

// grace is how long the server may take to exit after SIGTERM.
func (r *run) grace() time.Duration {
	if r.tg.model() {
		return r.c.spec.ShutdownTimeout
	}
	return r.tg.Grace
}

// loadConfig is the load generator's Config for clients at once against
// the server, in its protocol: a line of 64 bytes at a time for echo.
func (r *run) loadConfig(clients int) loadgen.Config {
	return loadgen.Config{Addr: r.c.addr, Proto: r.tg.proto(), Clients: []int{clients}, Size: 64, Pipeline: 1}
}

// lineLimit is the longest line the server takes: a model's -max-line,
// another server's as iolab check -max-line says, or 0 if not known.
func (r *run) lineLimit() int {
	if r.tg.model() {
		return r.c.start.MaxLine
	}
	return r.tg.MaxLine
}
