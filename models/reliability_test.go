package models_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"iolab/models"
	_ "iolab/models/all"
	"iolab/models/internal/leakcheck"
	"iolab/models/proc"
)

// The reliability suite: every model through one table of
// abuse, each scenario against a fresh server in a child process (see
// reliability_child_test.go), and after each one the same checks: the
// server still serves a fresh client, every connection it accepted is
// closed, and its threads, descriptors and resident memory are back near
// where they started. It ends with a table, scenario by model, of what
// was measured.
//
// It runs in two forms. The short one, the default, is part of go test
// and make test: fewer clients and bytes, timeouts of a second. The full
// one, IOLAB_RELIABILITY=full (make reliability), is the real size: 10,000
// clients, tens of megabytes, more of everything. IOLAB_RELIABILITY_TABLE
// names a file to write the table to, as Markdown; it is also logged.
// IOLAB_RELIABILITY_SEED fixes the fuzzed input's seed.

// The suite's environment variables.
const (
	relFormEnv  = "IOLAB_RELIABILITY"
	relTableEnv = "IOLAB_RELIABILITY_TABLE"
	relSeedEnv  = "IOLAB_RELIABILITY_SEED"
)

// Margins for a busy 2-core machine, where the suite shares the CPUs with
// the load it makes and with other tests.
const (
	// relSlack is how late a timeout may fire and still count as on
	// time: the server's timer, a tick of gnet's sweep (up to a second),
	// and a scheduler that is busy elsewhere.
	relSlack = 2 * time.Second
	// relThreads is how many more threads than before a scenario a
	// server process may keep after it (a server of several processes,
	// each its own Go runtime, that many times). The Go runtime never ends an idle
	// thread: one it started to run goroutines while others were blocked
	// in system calls (close, accept, a write of the log) stays parked for
	// good. 10,000 clients of the goroutine model leave about 9; a model
	// that kept a thread per connection would keep thousands.
	relThreads = 16
	// relRSS is how much more resident memory than before a scenario a
	// server may keep after it, once it has collected its garbage and
	// returned the free pages (child.settle), or half of what it grew by
	// during the scenario if that is more: the runtime keeps structures
	// that grow with the peak (after 10,000 threads of the threads model,
	// about a fifth of the growth), where a leak keeps nearly all of it.
	relRSS = 24 << 20
	// relRSSPerProcess is what each further process of a server's tree
	// (prefork's workers, reuseport's loops) may keep besides: settle
	// reaches only the parent, and a worker's Go runtime holds the garbage
	// of its last clients until its next collection, which an idle worker
	// does not run. 16 workers after 10,000 clients kept 29 MiB more in
	// all; a leak per connection would keep more with every client.
	relRSSPerProcess = 4 << 20
	// relSpinTicks is the most CPU, in clock ticks, a server may use in
	// relSpinWindow while it can accept no one: paced retries cost
	// nearly nothing, a spin the whole window.
	relSpinTicks = 15
	// relMaxProcesses bounds the worker processes of prefork, and so the
	// memory a scenario takes: 256 processes are some 3 GiB. It is the
	// fork model's default cap on its children too.
	relMaxProcesses = 256
	relSpinWindow   = 500 * time.Millisecond
)

// relForm is the size of one run of the suite.
type relForm struct {
	name string
	// parallel runs the models side by side. The full form runs them one
	// after the other: five times 10,000 clients would not fit in the
	// test process's 20,000 files.
	parallel bool
	// timeout is the -request-timeout and -idle-timeout of the scenarios
	// about time.
	timeout time.Duration
	// storm is how many clients connect and reset at once.
	storm int
	// loris and idlers are how many slowloris and idle clients hold a
	// connection at once.
	loris, idlers int
	// neverReads is how much the client that never reads tries to send.
	neverReads int
	// overLong is the length of the line that never ends.
	overLong int
	// fuzzClients send fuzzBytes of random lines each.
	fuzzClients, fuzzBytes int
	// floodLimit is the -max-conns of the flood.
	floodLimit int
	// rstMid connections are reset, one after the other, while rstMidBytes
	// of answers are coming back.
	rstMid, rstMidBytes int
	// halfClose bytes are sent before the FIN, halfCloseReps times.
	halfClose, halfCloseReps int
	// mice is how long the 100 small clients run beside the elephant.
	mice time.Duration
	// finSegs connections send their line and FIN in one segment.
	finSegs int
	// loadClients drive the signal storm's and the shutdown's load, the
	// storm for stormFor.
	loadClients int
	stormFor    time.Duration
	// listen1 clients connect at once to a server with a backlog of 1.
	listen1 int
	// clients is the number of concurrent echo clients, measured for
	// clientsFor after a warm-up of clientsWarm.
	clients                 int
	clientsFor, clientsWarm time.Duration
	// poolWorkers is the -workers of the models with a pool (pool,
	// prefork) in every scenario but the 10,000 clients: enough for each
	// scenario's clients to be served at once, as by the other models.
	// The 10,000 clients meet the model's default pool instead.
	poolWorkers int
}

// shortForm is what go test runs: about a minute for every model.
var shortForm = relForm{
	name:     "short",
	parallel: true,
	timeout:  time.Second,
	storm:    300,
	loris:    4, idlers: 10,
	neverReads:  64 << 20,
	overLong:    1 << 20,
	fuzzClients: 2, fuzzBytes: 1 << 20,
	floodLimit: 8,
	rstMid:     5, rstMidBytes: 1 << 20,
	halfClose: 16 << 20, halfCloseReps: 1,
	mice:        2 * time.Second,
	finSegs:     50,
	loadClients: 20, stormFor: time.Second,
	listen1: 100,
	clients: 500, clientsFor: time.Second, clientsWarm: time.Second,
	poolWorkers: 128,
}

// fullForm is make reliability: the suite at full size.
var fullForm = relForm{
	name:    "full",
	timeout: 2 * time.Second,
	storm:   3000,
	loris:   50, idlers: 1000,
	neverReads:  256 << 20,
	overLong:    16 << 20,
	fuzzClients: 8, fuzzBytes: 16 << 20,
	floodLimit: 64,
	rstMid:     50, rstMidBytes: 8 << 20,
	halfClose: 64 << 20, halfCloseReps: 3,
	mice:        5 * time.Second,
	finSegs:     1000,
	loadClients: 200, stormFor: 5 * time.Second,
	listen1: 1000,
	clients: 10000, clientsFor: 5 * time.Second, clientsWarm: 2 * time.Second,
	poolWorkers: 1100,
}

// relScenario is one row of the table.
type relScenario struct {
	name string
	// concurrent scenarios need a model that serves clients at once;
	// they do not apply to a serial one.
	concurrent bool
	// defaultPool runs a model with a pool (pool, prefork) with its
	// default -workers rather than relForm.poolWorkers: the scenario is
	// about what a fixed pool does when clients outnumber it.
	defaultPool bool
	// oneConnPerProcess scenarios are about a process that runs out of
	// descriptors for its connections; they do not apply to a model whose
	// processes each hold one (fork, prefork).
	oneConnPerProcess bool
	// wholeLimit scenarios count on -max-conns holding for the whole
	// server; reuseport -procs shares it out among its processes instead.
	wholeLimit bool
	// stops is set for a scenario that ends the server itself; the checks
	// after it do not apply.
	stops bool
	// server adjusts the child's flags.
	server func(f *relForm, s *childSpec)
	// run plays the scenario against r.c and sets r's figure.
	run func(r *relRun)
}

// reliability is the table every model goes through, in this order. The
// scenarios are in reliability_scenarios_test.go.
var reliability = []relScenario{
	{name: "fd limit at accept (default -max-conns)", concurrent: true, oneConnPerProcess: true,
		server: func(_ *relForm, s *childSpec) { s.NoFile = relFDLimit },
		run:    func(r *relRun) { r.fdExhaustion(false) }},
	{name: "EMFILE at accept (-max-conns above the fd limit)", concurrent: true, oneConnPerProcess: true,
		server: func(_ *relForm, s *childSpec) { s.NoFile, s.MaxConns = relFDLimit, 1000 },
		run:    func(r *relRun) { r.fdExhaustion(true) }},
	{name: "connect-then-RST storm", run: (*relRun).rstStorm},
	{name: "slowloris", server: func(f *relForm, s *childSpec) { s.RequestTimeout, s.IdleTimeout = f.timeout, 5*f.timeout },
		run: (*relRun).slowloris},
	{name: "idle connections", server: func(f *relForm, s *childSpec) { s.IdleTimeout = f.timeout },
		run: (*relRun).idleConns},
	{name: "client that never reads", server: func(f *relForm, s *childSpec) { s.IdleTimeout = relNeverReadsIdle * f.timeout },
		run: (*relRun).neverReads},
	{name: "oversized line", server: func(_ *relForm, s *childSpec) { s.MaxLine = relMaxLine },
		run: (*relRun).oversized},
	{name: "fuzzed input", server: func(_ *relForm, s *childSpec) { s.MaxLine = relMaxLine },
		run: (*relRun).fuzzed},
	{name: "flood past -max-conns", wholeLimit: true, server: func(f *relForm, s *childSpec) { s.MaxConns = f.floodLimit },
		run: (*relRun).flood},
	{name: "RST in the middle of a reply", run: (*relRun).rstMidReply},
	{name: "half-close with megabytes in flight", run: (*relRun).halfClose},
	{name: "elephant beside 100 small clients", concurrent: true, run: (*relRun).elephant},
	{name: "data and FIN in one segment", run: (*relRun).dataAndFIN},
	{name: "signal storm", server: func(f *relForm, s *childSpec) { s.IdleTimeout = f.timeout },
		run: (*relRun).signalStorm},
	{name: "graceful shutdown under load", stops: true,
		server: func(_ *relForm, s *childSpec) { s.Work, s.ShutdownTimeout = "sleep:20ms", 5*time.Second },
		run:    (*relRun).shutdownUnderLoad},
	// An overflowing listen(1) drops handshakes and segments; a client's
	// FIN can then reach the server only after its retransmissions back
	// off, past the checks' patience. The idle timeout closes such a
	// connection in time, as it would in service.
	{name: "listen(1) overflow", server: func(f *relForm, s *childSpec) { s.Backlog, s.IdleTimeout = 1, f.timeout },
		run: (*relRun).listenOne},
	{name: "10,000 concurrent echo clients", concurrent: true, defaultPool: true, run: (*relRun).manyClients},
}

// relForms returns the form IOLAB_RELIABILITY asks for.
func relForms(t *testing.T) relForm {
	switch v := os.Getenv(relFormEnv); v {
	case "", "short":
		return shortForm
	case "full":
		return fullForm
	default:
		t.Fatalf("%s=%q: want short or full", relFormEnv, v)
		return relForm{}
	}
}

func TestReliability(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the models and the suite's clients need Linux")
	}
	if testing.Short() {
		t.Skip("starts a server process per scenario and model")
	}
	f := relForms(t)
	tab := newRelTable(f.name, relRace)
	for _, sc := range reliability {
		tab.rows = append(tab.rows, sc.name)
	}
	for _, m := range suiteModels() {
		tab.cols = append(tab.cols, m.Name)
	}
	// The models run side by side, in the short form, each in its own
	// processes: most of a scenario is waiting for a timeout. The leak
	// check and the table wait for all of them, as cleanups do.
	before := leakcheck.Take(t)
	t.Cleanup(func() {
		before.Check(t)
		var b strings.Builder
		if err := tab.write(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("\n%s", b.String())
		if path := os.Getenv(relTableEnv); path != "" {
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Errorf("%s: %v", relTableEnv, err)
			}
		}
	})
	for _, m := range suiteModels() {
		t.Run(m.Name, func(t *testing.T) {
			skipUnusable(t, m)
			if f.parallel {
				t.Parallel()
			}
			for _, sc := range reliability {
				t.Run(sc.name, func(t *testing.T) { runScenario(t, m, sc, &f, tab) })
			}
		})
	}
}

// relRun is one scenario against one model.
type relRun struct {
	t    *testing.T
	m    models.Model
	f    *relForm
	c    *child
	base proc.Sample // the server before the scenario, settled
	open []string    // what its descriptors were then (openFiles)
	mark int         // how many events the server had logged before it
	at   tally       // the tally of its events then
	peak proc.Sample // the server's peaks during the scenario

	mu      sync.Mutex
	figure  string // what the scenario measured, for the table
	failure string // the first failure
	limit   string // a documented limitation the scenario ran into
	after   string // what the checks after it measured
}

// runScenario starts a server for sc, plays sc, and checks the server
// afterwards. Its cell of the table is recorded when the test ends.
func runScenario(t *testing.T, m models.Model, sc relScenario, f *relForm, tab *relTable) {
	r := &relRun{t: t, m: m, f: f}
	t.Cleanup(func() { tab.record(sc.name, m.Name, r.cell()) }) // first in, so last to run
	if sc.concurrent && m.Serial {
		r.skip("serial model: one client at a time")
	}
	if sc.oneConnPerProcess && m.Processes {
		r.skip("each process serves one connection at a time: accept(2) in it cannot run out of descriptors")
	}
	if procs := strings.HasSuffix(m.Name, " -procs"); procs && sc.oneConnPerProcess {
		r.skip("each loop process has a descriptor limit of its own, which is what -procs is for: the clients spread over the processes stay below each one's")
	} else if procs && sc.wholeLimit {
		r.skip("-procs shares -max-conns out among the processes, and the kernel's hash ignores it: a client hashed to a full process waits while another has room")
	}
	spec := childSpec{Model: m.Name, ShutdownTimeout: 2 * time.Second}
	if m.Workers > 0 && !sc.defaultPool {
		spec.Workers = f.poolWorkers
		if m.Processes {
			// A worker process is a whole Go runtime, some 12 MiB.
			spec.Workers = min(f.poolWorkers, relMaxProcesses)
		}
	}
	if sc.server != nil {
		sc.server(f, &spec)
	}
	c, err := startChild(t, spec)
	if err != nil {
		r.fatalf("start the server: %v", err)
	}
	r.c = c
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
		if _, err := c.stop(); err != nil {
			r.errorf("stop: %v", err)
		}
	}
	if c.log.raced() {
		r.errorf("the race detector reported a data race in the server: %s", c.log.trouble())
	}
}

// baseline serves one client, so that the server has made what it makes
// once, then settles and samples it.
func (r *relRun) baseline() {
	r.t.Helper()
	if err := r.roundTrip("warm-up"); err != nil {
		r.fatalf("the first client: %v", err)
	}
	r.quiet(1)
	if err := r.c.settle(); err != nil {
		r.fatalf("%v", err)
	}
	s, err := r.c.sample()
	if err != nil {
		r.fatalf("sample: %v", err)
	}
	r.base, r.mark, r.at = s, r.c.log.len(), r.c.log.tally()
	r.open = r.c.openFiles()
}

// closedAll waits until the server has no more descriptors open than
// before the scenario, its connections all closed, and then until their
// close events have come through. It is for scenarios that cannot know
// how many connections the server accepted.
func (r *relRun) closedAll() {
	r.t.Helper()
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
	r.quiet(0)
}

// quiet waits until the server has logged the opening of at least opens
// connections in all, and the close of every connection it opened. The
// caller says how many it knows were accepted: a client may have its
// answer before the server's log line about it has come through the pipe.
func (r *relRun) quiet(opens int) bool {
	r.t.Helper()
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
func (r *relRun) check() {
	r.t.Helper()
	opens := r.c.log.tally().opens + 1
	if err := r.roundTrip("fresh client"); err != nil {
		if !r.c.running() {
			r.fatalf("%s", r.c.died())
		}
		r.errorf("a fresh client after the scenario: %v", err)
		opens--
	}
	r.quiet(opens)
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
		rssMargin := max(relRSS+int64(max(r.base.Procs-1, 0))*relRSSPerProcess, (r.peak.RSS-r.base.RSS)/2)
		threadMargin := relThreads * max(r.base.Procs, 1) // each process is a Go runtime of its own
		ok := dThreads <= threadMargin && dFDs <= 0 && (dRSS <= rssMargin || relRace)
		if ok || time.Now().After(deadline) {
			r.mu.Lock()
			r.after = fmt.Sprintf("%+d / %+d / %s", dThreads, dFDs, dmib(dRSS))
			r.mu.Unlock()
			if !ok {
				r.errorf("not back near the start %v after the scenario: threads %d (was %d, margin %d), fds %d (was %d; new: %s), RSS %s (was %s, peak %s, margin %s)",
					patience, s.Threads, r.base.Threads, threadMargin, s.FDs, r.base.FDs, newFiles(r.open, r.c.openFiles()), mib(s.RSS), mib(r.base.RSS), mib(r.peak.RSS), mib(rssMargin))
			}
			return
		}
		<-tick.C
	}
}

// figuref sets the scenario's figure for the table.
func (r *relRun) figuref(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figure = fmt.Sprintf(format, args...)
}

// errorf fails the scenario and keeps the first failure for the table.
// Any goroutine may call it.
func (r *relRun) errorf(format string, args ...any) {
	r.t.Helper()
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	if r.failure == "" {
		r.failure = msg
	}
	r.mu.Unlock()
	r.t.Error(msg)
}

// fatalf is errorf, then the end of the scenario; only its own goroutine
// may call it.
func (r *relRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.errorf(format, args...)
	r.t.FailNow()
}

// skip ends a scenario that does not apply to the model.
func (r *relRun) skip(why string) {
	r.t.Helper()
	r.figuref("%s", why)
	r.t.Skip(why)
}

// documented ends a scenario in which the model met a limitation that
// its package documents, with the evidence in why. It is neither a pass
// nor a failure, and the table says so.
func (r *relRun) documented(why string) {
	r.t.Helper()
	r.mu.Lock()
	r.limit = why
	r.mu.Unlock()
	r.t.Log("documented limitation: " + why)
}

// count returns n, or at most serial for a serial model, which serves
// the clients one after the other.
func (r *relRun) count(n, serial int) int {
	if r.m.Serial {
		return min(n, serial)
	}
	return n
}

// cell is the scenario's cell of the table, once it has ended.
func (r *relRun) cell() relCell {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := relCell{text: r.figure, after: r.after}
	failure := r.failure
	if r.c != nil && r.c.crashed() { // say so first, whatever failed before
		failure = r.c.died()
	}
	switch {
	case r.t.Skipped():
		c.status = "n/a"
	case r.t.Failed():
		c.status, c.text = "FAIL", failure
		if r.figure != "" {
			c.text += "; " + r.figure
		}
	case r.limit != "":
		c.status, c.text = "limit", r.limit
	default:
		c.status = "ok"
	}
	return c
}

// mib formats a byte count in MiB, signed when negative.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
