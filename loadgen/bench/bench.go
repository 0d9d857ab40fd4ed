// Package bench runs the server models side by side: for each scenario,
// model and client level it starts `iolab serve` as a child process pinned
// to its own CPUs, drives it with package loadgen in-process, samples from
// /proc the OS footprint of the server and of every process descended
// from it, and stops it before the next. It then writes tables, plots, a
// Markdown report, JSON and CSV.
//
// One server runs at a time, so that the measurements do not disturb each
// other. A paired comparison (-pair, pair.go) keeps two running, and loads
// one at a time.
package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"iolab/loadgen"
	"iolab/loadgen/version"
	"iolab/models"
	"iolab/models/proc"
)

// Config is one bench run.
type Config struct {
	// Binary is the iolab executable to start servers from.
	Binary string
	// Scenarios to run, in order.
	Scenarios []Scenario
	// Models to run in each scenario, in order, CServerName among them
	// if wanted. Empty means each scenario's own (Scenario.Models), or
	// every model.
	Models []string
	// NoModels runs the Externals alone (iolab bench -models none).
	NoModels bool
	// Envs are where the servers run: native (a child process), or in a
	// Docker container: docker-bridge (Docker's default bridge, the port
	// published on 127.0.0.1), docker-host (--network host) or
	// docker-inside (the load generator runs inside the server's
	// container, with docker exec). Empty means native.
	Envs []string
	// Image is the Docker image of iolab for the models in the docker
	// environments (the external servers have their own, External.Image).
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
	// Engine is the load generator's engine for echo scenarios
	// (loadgen.Config.Engine; empty: epoll). Greeting scenarios always
	// use epoll: the uring engine drives echo connections only.
	Engine string
	// ServerCPUs and LoadCPUs pin the server and the load generator. With
	// NoPin neither is pinned.
	ServerCPUs, LoadCPUs []int
	NoPin                bool
	// Pair, if set, makes the run a paired comparison of two servers
	// instead (pair.go): each a model, CServerName or the Name of one of
	// Externals, over the one scenario of Scenarios.
	Pair []string
	// Pairs is how many times a paired comparison runs A and B at each
	// level, A first in one pair and B first in the next.
	Pairs int
	// OutDir receives the results.
	OutDir string
	// Progress, if set, is called as the bench advances.
	Progress func(Progress)

	label string // docker label of this bench's containers
	// cserver is the C server, once Run has built it (BuildCServer);
	// cserverErr, if set, says why it could not be.
	cserver    *External
	cserverErr string
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
			if _, err := models.Lookup(m); err != nil && m != CServerName {
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
	if err := cfg.checkPair(); err != nil {
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
	switch cfg.Engine {
	case "", loadgen.EngineEpoll:
	case loadgen.EngineUring:
		if docker {
			return fmt.Errorf("-engine %s with a docker environment: Docker's default seccomp profile refuses io_uring to the load generator in a container", loadgen.EngineUring)
		}
	default:
		return fmt.Errorf("unknown engine %q: want %s or %s", cfg.Engine, loadgen.EngineEpoll, loadgen.EngineUring)
	}
	if len(cfg.Externals) > 0 && slices.Contains(cfg.Envs, DockerInside) && cfg.Binary == "" {
		return errors.New("no iolab binary to run the load generator in an external server's container")
	}
	if cfg.NoModels && len(cfg.Externals) == 0 {
		return errors.New("no models and no -server: nothing to run")
	}
	if docker && !cfg.NoModels && cfg.Image == "" {
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
		if err := w.Validate(); err != nil {
			return err
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
	if err := checkDocker(cfg.Envs, cfg.Image, !cfg.NoModels, cfg.Externals); err != nil {
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
	if cfg.Engine != "" && cfg.Engine != loadgen.EngineEpoll {
		res.LoadEngine = cfg.Engine
	}
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

	if cfg.needsCServer() {
		if ext, err := cServer(); err != nil {
			cfg.cserverErr = err.Error()
		} else {
			cfg.cserver = &ext
		}
	}
	var runErr error
	if len(cfg.Pair) > 0 {
		res.Pair, runErr = cfg.runPair(ctx)
	} else {
		runErr = cfg.runScenarios(ctx, res)
	}
	if runErr == nil {
		// Cancelled during the last run: runScenarios or runPair dropped
		// it, and the caller must hear that the bench did not finish.
		runErr = ctx.Err()
	}
	res.Finished = time.Now().UTC()
	if err := Write(res, cfg.OutDir); err != nil {
		return res, err
	}
	return res, runErr
}

// runScenarios runs every scenario of cfg, model by model and level by
// level, each run with a fresh server, into res. It returns ctx's error
// if the bench was cancelled.
func (cfg *Config) runScenarios(ctx context.Context, res *Results) error {
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
			Clients: sc.Clients, Envs: cfg.Envs, Spotlight: sc.Spotlight, Externals: cfg.Externals, Backlogs: sc.Backlogs,
			Heavy: sc.Heavy, Mark: sc.Mark}
		if t := cfg.timeout(sc); t != cfg.Timeout {
			sr.Timeout = t.String()
		}
		if sc.AllCPUs && !cfg.NoPin {
			sr.ServerCPUs = cfg.serverCPUs(sc)
		}
		entries := cfg.entries(sc)
		for _, e := range entries {
			sr.Models = append(sr.Models, e.series)
			if e.model == CServerName && cfg.cserver != nil {
				sr.Externals = append(sr.Externals, *cfg.cserver)
			}
		}
		for _, e := range entries {
			for _, n := range sc.Clients {
				if runErr = ctx.Err(); runErr != nil {
					break
				}
				done++
				progress := cfg.progress(sc.Name, e.series, n, done, runs, perRun)
				srv, err := cfg.start(ctx, sc, e, strconv.Itoa(n))
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
	return runErr
}

// progress returns the load generator's progress callback for run done of
// runs: series at n clients in the scenario named scenario. perRun is what
// one run takes, roughly, for the estimate of what is left.
func (cfg *Config) progress(scenario, series string, n, done, runs int, perRun time.Duration) func(loadgen.Progress) {
	return func(p loadgen.Progress) {
		if cfg.Progress == nil {
			return
		}
		planned := cfg.Warmup + cfg.Duration
		if p.Total > 0 { // the scenario's own lengths
			planned = p.Total
		}
		cfg.Progress(Progress{Scenario: scenario, Model: series, Clients: n, Run: done, Runs: runs,
			Warmup: p.Warmup, Elapsed: p.Elapsed, Planned: planned, PlannedWarmup: p.WarmupTotal,
			Remaining: time.Duration(runs-done)*perRun + max(cfg.Warmup+cfg.Duration-p.Elapsed, 0),
			Answered:  p.Requests, Fails: p.Errors})
	}
}

// start starts the server of row e for a run of sc, whose log is named
// after tag (the client level). The C server is unavailable, with the
// reason, where it could not be built or cannot run sc.
func (cfg *Config) start(ctx context.Context, sc Scenario, e entry, tag string) (*server, error) {
	if e.model == CServerName {
		why := cfg.cserverErr
		if why == "" {
			why = cServerUnsuited(sc)
		}
		if why != "" {
			return nil, &UnavailableError{Model: CServerName, Env: Native, Reason: why}
		}
	}
	if e.ext != nil {
		return startExternal(ctx, cfg, sc, *e.ext, e.env, tag)
	}
	return startServer(ctx, cfg, sc, e, tag)
}

// needsCServer reports whether cfg names the C server: as one of a pair,
// or among the models of a scenario.
func (cfg *Config) needsCServer() bool {
	if len(cfg.Pair) > 0 {
		return slices.Contains(cfg.Pair, CServerName)
	}
	for _, sc := range cfg.Scenarios {
		if slices.Contains(cfg.models(sc), CServerName) {
			return true
		}
	}
	return false
}

// levels returns the client levels of sc under cfg.
func (cfg *Config) levels(sc Scenario) []int {
	if len(cfg.Clients) > 0 {
		return cfg.Clients
	}
	return sc.Clients
}

// models returns the models to run in sc: none with NoModels, cfg's, or
// else sc's own, or else every model.
func (cfg *Config) models(sc Scenario) []string {
	switch {
	case cfg.NoModels:
		return nil
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
// environment (once per backlog of a scenario that has several), then
// each external server in each environment.
func (cfg *Config) entries(sc Scenario) []entry {
	backlogs := sc.Backlogs
	if len(backlogs) == 0 {
		backlogs = []int{cfg.Backlog}
	}
	var out []entry
	for _, model := range cfg.models(sc) {
		if model == CServerName { // native only, like an external server
			out = append(out, cfg.cServerEntry())
			continue
		}
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
		for _, env := range cfg.Envs {
			out = append(out, entry{model: e.Name, env: env, ext: e, series: seriesName(e.Name, env, cfg.Envs)})
		}
	}
	return out
}

// cServerEntry returns the row of the C server, built or not (start
// tells which).
func (cfg *Config) cServerEntry() entry {
	ext := cfg.cserver
	if ext == nil {
		ext = &External{Name: CServerName}
	}
	return entry{model: CServerName, env: Native, ext: ext, series: seriesName(CServerName, Native, cfg.Envs)}
}

// backlogName names a backlog in a row: "backlog=5", or "backlog=default"
// for the system's (0: net.core.somaxconn).
func backlogName(b int) string {
	if b == 0 {
		return "backlog=default"
	}
	return "backlog=" + strconv.Itoa(b)
}
