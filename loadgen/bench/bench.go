// Package bench runs the server models side by side: for each scenario,
// model and client level it starts `iolab serve` as a child process pinned
// to its own CPUs, drives it with package loadgen in-process, samples from
// /proc the OS footprint of the server and of every process descended
// from it, and stops it before the next. It then writes tables, plots, a
// Markdown report, JSON and CSV.
//
// One server runs at a time, so that the measurements do not disturb each
// other.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"iolab/internal/version"
	"iolab/loadgen"
	"iolab/loadgen/proc"
	"iolab/models"
)

// Scenario is a named workload: a protocol, the work per request, and the
// client levels to run it at.
type Scenario struct {
	Name    string
	Proto   models.Proto
	Work    models.Work
	Clients []int
	// About says in a sentence what the scenario shows.
	About string
	// AllCPUs lets the server use every CPU, the load generator's among
	// them, instead of the server's own: for the models that spread over
	// cores.
	AllCPUs bool
	// Models are the models the scenario runs when the bench is given
	// none (Config.Models empty); nil means every model.
	Models []string
	// Spotlight names models whose p50 and p99 the latency verdicts quote
	// side by side, at the largest level, whatever the ranking.
	Spotlight []string
	// Backlogs, if set, runs each model once per listen(2) backlog (0:
	// the system's default), each a row of its own.
	Backlogs []int
	// Timeout, if longer than the bench's, bounds each request phase
	// instead: long enough to see a SYN retransmitted (Linux 6.7+: 1 s apart
	// for the first four, net.ipv4.tcp_syn_linear_timeouts; then doubling).
	Timeout time.Duration
	// Explicit scenarios run only when named, not with "all": c100k
	// takes minutes and most of the machine's memory.
	Explicit bool
	// Every, if positive, makes the load open loop: each client sends a
	// request this often (a total rate that grows with the clients).
	Every time.Duration
	// Warmup, if longer than the bench's, is each level's warm-up
	// instead: long enough for every client to connect.
	Warmup time.Duration
	// PerLoadProcess, if positive, runs the load in one `iolab load`
	// process per this many clients (loadgen.RunProcs), each under its
	// own limit of open files, their results merged exactly.
	PerLoadProcess int
	// Sources are the local addresses the clients bind to (iolab load
	// -source), past the ephemeral ports of one.
	Sources string
	// Serve adds flags to a model's server, by model: what it needs to
	// hold this scenario's load, where it can.
	Serve map[string][]string
	// Held measures the memory each held connection costs: the server's
	// RSS and the kernel's, before the first client and at the end of the
	// measured interval (Measurement.Memory).
	Held bool
}

// Scenarios are the named workloads, in the order they run.
var Scenarios = []Scenario{
	{Name: "seed", Proto: models.Greeting, Clients: []int{1, 2, 5, 10},
		About: "The tutorial as written: each client connects, reads the greeting, and closes."},
	{Name: "io-bound", Proto: models.Echo, Work: models.Work{Kind: models.Sleep, D: 10 * time.Millisecond}, Clients: []int{1, 10, 100, 1000},
		About: "Each echo line waits 10 ms, as for a slow backend: the server's job is to wait for many clients at once."},
	{Name: "cpu-bound", Proto: models.Echo, Work: models.Work{Kind: models.CPU, D: time.Millisecond}, Clients: []int{1, 2, 5, 10},
		About:     "Each echo line costs 1 ms of computation on the server's CPU: more threads cannot make one CPU faster.",
		Spotlight: []string{"threads", "epoll", "workers"}},
	{Name: "throughput", Proto: models.Echo, Clients: []int{1, 10, 100, 1000},
		About: "Echo with no work: how many small requests the server turns around."},
	{Name: "churn", Proto: models.Greeting, Clients: []int{1, 10, 100},
		About: "A new connection per request, at higher concurrency: how fast each model accepts and closes."},
	{Name: "backlog", Proto: models.Greeting, Work: models.Work{Kind: models.CPU, D: time.Millisecond}, Clients: []int{1, 2, 5, 10},
		Models: []string{"sequential"}, Backlogs: []int{1, 5, 0}, Timeout: 5 * time.Second,
		About: "The tutorial's listen(1), measured: the sequential server with 1 ms of work per greeting, at the backlogs of the tutorial's two servers " +
			"(1 and 5) and the system's default. Past the accept queue (backlog + 1 connections), the kernel drops handshakes: " +
			"watch connect and first byte, and the kernel's own counters."},
	{Name: "cores", Proto: models.Echo, Clients: []int{10, 100, 1000}, AllCPUs: true,
		Models: []string{"goroutine", "epoll", "reuseport", "gnet"},
		About: "Echo with no work, the server on every CPU: do event loops spread over cores? The load generator shares the CPUs, " +
			"so compare requests per server CPU-second as well as requests per second."},
	{Name: "c100k", Proto: models.Echo, Clients: []int{10000, 100000}, Explicit: true,
		Every: 10 * time.Second, Warmup: 15 * time.Second, Timeout: 5 * time.Second, PerLoadProcess: 15000,
		Sources: "127.0.0.2-127.0.0.21", Held: true,
		Serve: map[string][]string{"reuseport": {"-procs", "-workers", "7", "-max-conns", "120000"}},
		About: "Kegel's C10K, ten times over: 10,000 then 100,000 echo connections held open at once, mostly idle " +
			"(open loop: each connection sends a line every 10 s, 1,000 lines a second in all at 10,000 and 10,000 at 100,000). " +
			"One process may open 20,000 files here, so the load runs in several processes, bound to 20 source addresses " +
			"(127.0.0.2-21, past the ephemeral ports of one), and reuseport runs 7 loop processes (-procs -workers 7). " +
			"A model of one process stops at its open-file limit, and clients past it wait or time out: that is its result. " +
			"Read the memory each connection costs, in the server (RSS) and in the kernel."},
}

// QuickScenarios are what `make bench` runs.
var QuickScenarios = []string{"seed", "io-bound", "cpu-bound"}

// AllScenarios returns the names of the scenarios "all" runs: every one
// but those run only when named (Explicit).
func AllScenarios() []string {
	var out []string
	for _, s := range Scenarios {
		if !s.Explicit {
			out = append(out, s.Name)
		}
	}
	return out
}

// LookupScenario returns the scenario called name.
func LookupScenario(name string) (Scenario, error) {
	var names []string
	for _, s := range Scenarios {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(names, ", "))
}

// Config is one bench run.
type Config struct {
	// Binary is the iolab executable to start servers from.
	Binary string
	// Scenarios to run, in order.
	Scenarios []Scenario
	// Models to run in each scenario, in order. Empty means each
	// scenario's own (Scenario.Models), or every model.
	Models []string
	// Envs are where the servers run: native (a child process), or in a
	// Docker container: docker-bridge (Docker's default bridge, the port
	// published on 127.0.0.1), docker-host (--network host) or
	// docker-inside (the load generator runs inside the server's
	// container, with docker exec). Empty means native.
	Envs []string
	// Image is the Docker image of iolab for the docker environments.
	Image string
	// Clients, if set, replaces every scenario's levels.
	Clients []int
	// Work, if set, replaces every scenario's work.
	Work *models.Work
	// Workers, if positive, is passed to every server as -workers: the
	// size of the pool of the models that start one at boot. 0 leaves
	// each model's default.
	Workers int
	// Backlog, if positive, is passed to every model's server as
	// -backlog, in the scenarios without backlogs of their own; 0 leaves
	// the system's default.
	Backlog int
	// Externals are servers that are not models, measured beside them.
	Externals []External
	// ExternalStart bounds how long an external server may take to listen;
	// 0 means 10 s.
	ExternalStart time.Duration
	// Syscalls counts each server's system calls over the measured
	// interval with perf stat (-syscalls). Where perf cannot, the bench
	// says why in its results and runs without.
	Syscalls bool
	// Duration and Warmup of each level; Timeout of each request phase.
	Duration, Warmup, Timeout time.Duration
	// ServerCPUs and LoadCPUs pin the server and the load generator. With
	// NoPin neither is pinned.
	ServerCPUs, LoadCPUs []int
	NoPin                bool
	// OutDir receives the results.
	OutDir string
	// Progress, if set, is called as the bench advances.
	Progress func(Progress)

	label string // docker label of this bench's containers
}

// Progress tells where the bench is.
type Progress struct {
	Scenario        string
	Model           string
	Clients         int
	Run, Runs       int           // this run, from 1, of how many
	Warmup          bool          // warming up, not measuring
	Elapsed         time.Duration // of this run, warm-up included
	Planned         time.Duration // of this run, warm-up included
	PlannedWarmup   time.Duration // the warm-up's part of Planned
	Remaining       time.Duration // estimate for the whole bench
	Answered, Fails int64
}

// DefaultPinning returns the default CPUs: the server on the last CPU, the
// load generator on all the others. With one CPU there is no pinning.
func DefaultPinning() (server, load []int, ok bool) {
	n := runtime.NumCPU()
	if n < 2 {
		return nil, nil, false
	}
	for c := range n - 1 {
		load = append(load, c)
	}
	return []int{n - 1}, load, true
}

// Validate reports the first thing wrong with cfg, of what can be told
// without running anything: whether a Docker engine answers and has the
// image, Run checks when it starts.
func (cfg *Config) Validate() error {
	switch {
	case len(cfg.Scenarios) == 0:
		return errors.New("no scenarios")
	case cfg.Duration <= 0:
		return fmt.Errorf("duration %v is not positive", cfg.Duration)
	case cfg.Warmup < 0:
		return fmt.Errorf("negative warm-up %v", cfg.Warmup)
	case cfg.Timeout <= 0:
		return fmt.Errorf("timeout %v is not positive", cfg.Timeout)
	case cfg.Workers < 0:
		return fmt.Errorf("workers %d is negative", cfg.Workers)
	case cfg.Backlog < 0:
		return fmt.Errorf("backlog %d is negative", cfg.Backlog)
	case cfg.OutDir == "":
		return errors.New("no results folder")
	}
	for _, sc := range cfg.Scenarios {
		for _, m := range cfg.models(sc) {
			if _, err := models.Lookup(m); err != nil {
				return err // already says "models: unknown model"
			}
		}
		if _, err := loadgen.ParseSources(sc.Sources); err != nil {
			return fmt.Errorf("scenario %s: sources: %w", sc.Name, err)
		}
	}
	if err := cfg.checkExternals(); err != nil {
		return err
	}
	native, docker := len(cfg.Envs) == 0, false
	for _, e := range cfg.Envs {
		if !slices.Contains(Envs, e) {
			return fmt.Errorf("unknown environment %q (have %s)", e, strings.Join(Envs, ", "))
		}
		native, docker = native || e == Native, docker || e != Native
	}
	if native && cfg.Binary == "" {
		return errors.New("no iolab binary to start native servers from")
	}
	if docker && cfg.Image == "" {
		return errors.New("no Docker image for the docker environments")
	}
	for _, sc := range cfg.Scenarios {
		levels := cfg.levels(sc)
		if len(levels) == 0 {
			return fmt.Errorf("scenario %s has no client levels", sc.Name)
		}
		for _, n := range levels {
			if n < 1 {
				return fmt.Errorf("%d is not a number of clients", n)
			}
		}
	}
	if w := cfg.Work; w != nil {
		switch {
		case w.Kind != models.NoWork && w.Kind != models.Sleep && w.Kind != models.CPU:
			return fmt.Errorf("unknown work kind %d", w.Kind)
		case w.Kind != models.NoWork && w.D <= 0:
			return fmt.Errorf("work %v: %v is not a positive duration", *w, w.D)
		}
	}
	// An empty CPU list leaves that side unpinned; NoPin leaves both.
	if cfg.NoPin && (len(cfg.ServerCPUs) > 0 || len(cfg.LoadCPUs) > 0) {
		return errors.New("NoPin, yet CPUs to pin to")
	}
	for _, c := range slices.Concat(cfg.ServerCPUs, cfg.LoadCPUs) {
		if c < 0 {
			return fmt.Errorf("%d is not a CPU number", c)
		}
	}
	return nil
}

// Run checks cfg with Validate, runs the bench and writes its results
// into cfg.OutDir. On Ctrl-C (ctx done) it stops the server at hand,
// writes what was measured, and returns ctx's error.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Envs) == 0 {
		cfg.Envs = []string{Native}
	}
	if err := checkDocker(cfg.Envs, cfg.Image); err != nil {
		return nil, err
	}
	// Every container of this bench carries this label, so that none is
	// left behind, whatever happens.
	cfg.label = fmt.Sprintf("iolab.bench=%d-%d", os.Getpid(), time.Now().UnixNano())
	defer removeContainers(cfg.label)
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	res := &Results{Version: version.String(), RunID: loadgen.NewRunID(), Started: time.Now().UTC(), Machine: ReadMachine(),
		Duration: cfg.Duration.String(), Warmup: cfg.Warmup.String(), Timeout: cfg.Timeout.String(), Workers: cfg.Workers}
	if cfg.Syscalls {
		if err := SyscallsUsable(); err != nil {
			res.SyscallsSkipped, cfg.Syscalls = err.Error(), false
		}
		res.Syscalls = cfg.Syscalls
	}
	if !cfg.NoPin {
		if err := proc.Pin(cfg.LoadCPUs); err != nil {
			return nil, err
		}
		res.Pinning = Pinning{Pinned: true, ServerCPUs: cfg.ServerCPUs, LoadCPUs: cfg.LoadCPUs}
	}

	runs := 0
	for _, sc := range cfg.Scenarios {
		runs += len(cfg.entries(sc)) * len(cfg.levels(sc))
	}
	perRun := cfg.Warmup + cfg.Duration + 700*time.Millisecond // start, drain and stop, roughly
	done := 0
	var runErr error
	for _, sc := range cfg.Scenarios {
		sc = cfg.apply(sc)
		sr := ScenarioResult{Name: sc.Name, About: sc.About, Proto: sc.Proto.String(), Work: sc.Work.String(),
			Clients: sc.Clients, Envs: cfg.Envs, Spotlight: sc.Spotlight, Externals: cfg.Externals, Backlogs: sc.Backlogs}
		if t := cfg.timeout(sc); t != cfg.Timeout {
			sr.Timeout = t.String()
		}
		if sc.AllCPUs && !cfg.NoPin {
			sr.ServerCPUs = cfg.serverCPUs(sc)
		}
		entries := cfg.entries(sc)
		for _, e := range entries {
			sr.Models = append(sr.Models, e.series)
		}
		for _, e := range entries {
			for _, n := range sc.Clients {
				if runErr = ctx.Err(); runErr != nil {
					break
				}
				done++
				progress := func(p loadgen.Progress) {
					if cfg.Progress == nil {
						return
					}
					planned := cfg.Warmup + cfg.Duration
					if p.Total > 0 { // the scenario's own lengths
						planned = p.Total
					}
					cfg.Progress(Progress{Scenario: sc.Name, Model: e.series, Clients: n, Run: done, Runs: runs,
						Warmup: p.Warmup, Elapsed: p.Elapsed, Planned: planned, PlannedWarmup: p.WarmupTotal,
						Remaining: time.Duration(runs-done)*perRun + max(cfg.Warmup+cfg.Duration-p.Elapsed, 0),
						Answered:  p.Requests, Fails: p.Errors})
				}
				var srv *server
				var err error
				if e.ext == nil {
					srv, err = startServer(ctx, &cfg, sc, e, n)
				} else {
					srv, err = startExternal(ctx, &cfg, sc, *e.ext, n)
				}
				run := Measurement{Model: e.model, Env: e.env, Series: e.series, Clients: n, Backlog: e.backlog, External: e.ext != nil}
				if err == nil {
					run, err = cfg.runOne(ctx, sc, srv, run, progress)
				}
				var unavailable *UnavailableError
				switch {
				case errors.As(err, &unavailable):
					run.Unavailable = unavailable.Reason
				case err != nil && ctx.Err() == nil:
					run.Error = err.Error()
				}
				if ctx.Err() == nil {
					sr.Runs = append(sr.Runs, run)
				}
			}
		}
		if len(sr.Runs) > 0 {
			res.Scenarios = append(res.Scenarios, sr)
		}
		if runErr != nil {
			break
		}
	}
	if runErr == nil {
		// Cancelled during the last run: it was dropped above, and the
		// caller must hear that the bench did not finish.
		runErr = ctx.Err()
	}
	res.Finished = time.Now().UTC()
	if err := Write(res, cfg.OutDir); err != nil {
		return res, err
	}
	return res, runErr
}

// levels returns the client levels of sc under cfg.
func (cfg *Config) levels(sc Scenario) []int {
	if len(cfg.Clients) > 0 {
		return cfg.Clients
	}
	return sc.Clients
}

// models returns the models to run in sc: cfg's, or else sc's own, or
// else every model.
func (cfg *Config) models(sc Scenario) []string {
	switch {
	case len(cfg.Models) > 0:
		return cfg.Models
	case len(sc.Models) > 0:
		return sc.Models
	}
	return models.Names()
}

// serverCPUs returns the CPUs the server of sc is pinned to: every CPU
// for a scenario that allows it, else the server's own.
func (cfg *Config) serverCPUs(sc Scenario) []int {
	if sc.AllCPUs && !cfg.NoPin {
		all := make([]int, runtime.NumCPU())
		for i := range all {
			all[i] = i
		}
		return all
	}
	return cfg.ServerCPUs
}

// timeout returns the bound on each request phase in sc.
func (cfg *Config) timeout(sc Scenario) time.Duration { return max(cfg.Timeout, sc.Timeout) }

// apply returns sc with cfg's overrides.
func (cfg *Config) apply(sc Scenario) Scenario {
	sc.Clients = cfg.levels(sc)
	if cfg.Work != nil {
		sc.Work = *cfg.Work
	}
	return sc
}

// entry is one row of a scenario's tables: a model in an environment,
// at a backlog, or an external server.
type entry struct {
	model   string    // the model, or the external server's name
	env     string    // where it runs
	backlog int       // -backlog given to it; 0: the system's default
	ext     *External // set for an external server
	series  string    // its row: see Measurement.Series
}

// entries returns the rows of sc, in order: each model in each
// environment (once per backlog of a scenario that has several), then the
// external servers, which run natively.
func (cfg *Config) entries(sc Scenario) []entry {
	backlogs := sc.Backlogs
	if len(backlogs) == 0 {
		backlogs = []int{cfg.Backlog}
	}
	var out []entry
	for _, model := range cfg.models(sc) {
		for _, env := range cfg.Envs {
			for _, b := range backlogs {
				name := model
				if len(sc.Backlogs) > 0 {
					name = model + " " + backlogName(b)
				}
				out = append(out, entry{model: model, env: env, backlog: b, series: seriesName(name, env, cfg.Envs)})
			}
		}
	}
	for i := range cfg.Externals {
		e := &cfg.Externals[i]
		out = append(out, entry{model: e.Name, env: Native, ext: e, series: seriesName(e.Name, Native, cfg.Envs)})
	}
	return out
}

// backlogName names a backlog in a row: "backlog=5", or "backlog=default"
// for the system's (0: net.core.somaxconn).
func backlogName(b int) string {
	if b == 0 {
		return "backlog=default"
	}
	return "backlog=" + strconv.Itoa(b)
}

// runOne measures the server srv, started for run, at one level, and
// stops it.
func (cfg *Config) runOne(ctx context.Context, sc Scenario, srv *server, run Measurement, progress func(loadgen.Progress)) (Measurement, error) {
	run.Workers = srv.workers
	sampler := startSampler(srv.pid)
	var start, end proc.Sample
	var kernelBefore, kernelAfter proc.TCPCounters
	lcfg := loadgen.DefaultConfig()
	lcfg.Addr, lcfg.Proto, lcfg.Clients = srv.addr, sc.Proto, []int{run.Clients}
	lcfg.Duration, lcfg.Warmup, lcfg.Timeout = cfg.Duration, max(cfg.Warmup, sc.Warmup), cfg.timeout(sc)
	if sc.Every > 0 {
		lcfg.Rate = float64(run.Clients) / sc.Every.Seconds()
	}
	lcfg.Progress = progress
	lcfg.Sources, _ = loadgen.ParseSources(sc.Sources) // Validate has parsed them
	var memBefore proc.KernelMemory
	var rssBefore int64
	if sc.Held { // before the first client
		memBefore = proc.ReadKernelMemory()
		if ps, err := proc.ReadTree(srv.pid); err == nil {
			rssBefore = ps.RSSAnon
		}
	}
	var waitBefore map[int]int64
	var counter *syscallCounter
	var kernelErr error
	lcfg.Mark = func(measuring bool) {
		sampler.measuring(measuring)
		ps, _ := proc.ReadTree(srv.pid)
		tree := func() []int {
			kids, _ := proc.Descendants(srv.pid)
			return append([]int{srv.pid}, kids...)
		}
		if measuring {
			start, kernelBefore = ps, proc.ReadTCPCounters()
			waitBefore = runQueueWait(tree())
			switch {
			case srv.perf != nil:
				kernelErr = srv.perf.command("enable")
			case cfg.Syscalls: // in a container: attach to it
				counter, kernelErr = startSyscalls(tree)
			}
			return
		}
		end, kernelAfter = ps, proc.ReadTCPCounters()
		if sc.Held {
			run.Memory = &ConnMemory{RSSBefore: rssBefore, RSSHeld: ps.RSSAnon,
				KernelBefore: memBefore, KernelHeld: proc.ReadKernelMemory()}
		}
		run.Server.RunQueueWaitNs = waitDelta(waitBefore, runQueueWait(tree()))
		switch {
		case srv.perf != nil:
			if err := srv.perf.command("disable"); err != nil && kernelErr == nil {
				kernelErr = err
			}
		case counter != nil:
			run.Syscalls, kernelErr = counter.stop()
		}
		if run.Env == Native || run.Env == DockerHost { // ss sees this network namespace only
			if _, port, err := net.SplitHostPort(srv.addr); err == nil {
				run.Sockets, _ = readSocketMemory(port)
			}
		}
	}
	var res *loadgen.Result
	var loadErr error
	switch {
	case run.Env == DockerInside:
		res, loadErr = loadInside(ctx, cfg, srv, lcfg)
	case sc.PerLoadProcess > 0:
		res, loadErr = cfg.loadProcs(ctx, lcfg, (run.Clients+sc.PerLoadProcess-1)/sc.PerLoadProcess)
	default:
		res, loadErr = loadgen.Run(ctx, lcfg)
	}
	samples := sampler.stop()
	var life Lifetime
	var stopErr error
	if srv.external {
		life, stopErr = srv.stopExternal()
		life.Requests = externalRequests(res) // it logs no stop event
	} else {
		life, stopErr = srv.stop()
		run.Loops = srv.loops // from the stop event, once the server has stopped
		run.LimitAt = srv.limitAt
		if srv.perf != nil { // perf wrote its counts as it exited, after the server
			var err error
			if run.Syscalls, err = srv.perf.counts(); err != nil && kernelErr == nil {
				kernelErr = err
			}
			srv.perf.close()
		}
	}
	if loadErr != nil {
		return run, loadErr
	}
	run.Load = res.Levels[0]
	run.Kernel = kernelAfter.Sub(kernelBefore)
	wait := run.Server.RunQueueWaitNs
	run.Server = summarizeServer(samples, start, end, run.Load.Seconds, life)
	run.Server.RunQueueWaitNs = wait
	if stopErr == nil && kernelErr != nil {
		stopErr = kernelErr
	}
	return run, stopErr
}

// loadProcs runs the load of lcfg in n `iolab load` processes
// (loadgen.RunProcs), pinned to the load generator's CPUs. They have no
// Mark to call, so the measured interval is marked by the clock: it
// begins one warm-up after they start, and ends one duration later, or
// when they are done.
func (cfg *Config) loadProcs(ctx context.Context, lcfg loadgen.Config, n int) (*loadgen.Result, error) {
	mark := lcfg.Mark
	lcfg.Mark, lcfg.Progress = nil, nil
	done, marked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(marked)
		select {
		case <-time.After(lcfg.Warmup):
		case <-done:
			return
		}
		mark(true)
		select {
		case <-time.After(lcfg.Duration):
		case <-done:
		}
		mark(false)
	}()
	res, err := loadgen.RunProcs(ctx, cfg.Binary, lcfg, n, cfg.LoadCPUs)
	close(done)
	<-marked
	return res, err
}
