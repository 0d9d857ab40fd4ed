package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"iolab/loadgen"
	"iolab/loadgen/bench"
	"iolab/models"
)

// benchFlags is what `iolab bench` is told, before it is checked.
type benchFlags struct {
	scenarios, models, clients, work, envs, image string
	workers, backlog, pairs                       int
	pair                                          string
	servers, serverImages                         serverList
	duration, warmup, timeout                     time.Duration
	serverCPUs, loadCPUs, engine                  string
	noPin, syscalls                               bool
	out                                           string
	set                                           []string // the flags given, by name
	replot                                        string
}

func benchCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var f benchFlags
	fs.StringVar(&f.scenarios, "scenario", strings.Join(bench.QuickScenarios, ","), "scenarios to run, comma-separated: "+strings.Join(scenarioNames(), ", ")+", or all (every one but "+explicitNames()+", which run only when named)")
	fs.StringVar(&f.models, "models", "", "models to run, comma-separated, of "+strings.Join(models.Names(), ", ")+", and "+bench.CServerName+
		", iolab's C epoll echo server, or none for the -server servers alone (default: every model, or the scenario's own: cores runs goroutine, epoll, reuseport and gnet)")
	fs.StringVar(&f.pair, "pair", "", "A,B: compare two servers (models, "+bench.CServerName+", or -server names) in runs alternated A, B, A, B "+
		"at each level, over one scenario (default throughput); reports A's req/s over B's")
	fs.IntVar(&f.pairs, "pairs", 5, "with -pair: how many times each level runs A and B, A first in one pair and B first in the next")
	fs.StringVar(&f.clients, "clients", "", "client levels for every scenario, comma-separated (default: each scenario's own)")
	fs.StringVar(&f.work, "work", "", "work per request for every scenario: none, sleep:D, cpu:D, block:D or disk:SIZE (default: each scenario's own)")
	fs.Var(&f.servers, "server", "NAME=COMMAND, or NAME:PORT=COMMAND for a server that can only listen on PORT: a server that is not a model, measured beside them "+
		"(repeatable; {port} in COMMAND, and $PORT, give it its port)")
	fs.Var(&f.serverImages, "server-image", "NAME=IMAGE: run -server NAME in the docker environments of -env as a container of IMAGE, with the image's own command "+
		"(repeatable; iolab image builds one for a Python server)")
	fs.IntVar(&f.backlog, "backlog", 0, "passed to every model's server as -backlog, in every scenario but backlog (0: the system's default)")
	fs.IntVar(&f.workers, "workers", 0, "passed to every server as -workers: the size of the pool of the models that start one (0: not passed, each model's default)")
	fs.DurationVar(&f.duration, "duration", 3*time.Second, "measured interval of each level")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "warm-up of each level, left out of the results")
	fs.DurationVar(&f.timeout, "timeout", time.Second, "bound on each phase of a request")
	fs.StringVar(&f.engine, "engine", loadgen.EngineEpoll, "the load generator's engine for echo scenarios: epoll, or uring (io_uring, cheaper per request: see iolab load -h)")
	fs.StringVar(&f.serverCPUs, "server-cpus", "", "CPUs for the server (default: the last CPU)")
	fs.StringVar(&f.loadCPUs, "load-cpus", "", "CPUs for the load generator (default: all the others)")
	fs.BoolVar(&f.noPin, "no-pin", false, "pin neither the server nor the load generator")
	fs.BoolVar(&f.syscalls, "syscalls", false, "count each server's system calls over the measured interval with perf stat (needs perf and root or CAP_PERFMON; slows the server)")
	fs.StringVar(&f.out, "out", "", "results folder (default: results/YYYYMMDD-HHMMSS)")
	fs.StringVar(&f.envs, "env", bench.Native, "where servers run, comma-separated: "+strings.Join(bench.Envs, ", ")+" (docker ones need make docker-image)")
	fs.StringVar(&f.image, "image", bench.DefaultImage, "Docker image for the docker environments")
	fs.StringVar(&f.replot, "replot", "", "measure nothing: draw the plots of the results folder DIR again from its results.json, in English and Portuguese, into DIR (no other flag)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab bench [flags]\n\nRuns every model under the same load, one server at a time, and writes tables, plots and a report.\nScenarios:\n")
		for _, s := range bench.Scenarios {
			fmt.Fprintf(fs.Output(), "  %-10s %s, work %s, clients %v", s.Name, s.Proto, s.WorkText(), s.Clients)
			if s.AllCPUs {
				fmt.Fprint(fs.Output(), ", server on every CPU")
			}
			if len(s.Models) > 0 {
				fmt.Fprintf(fs.Output(), ", models %s", strings.Join(s.Models, ","))
			}
			if s.Every > 0 {
				fmt.Fprintf(fs.Output(), ", open loop: each client a line every %v", s.Every)
			}
			if s.Explicit {
				fmt.Fprint(fs.Output(), " (only when named)")
			}
			fmt.Fprintln(fs.Output())
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status: 0 when every run was measured, 1 when the bench failed or was interrupted (what it measured is kept), 2 for a usage error.")
		examples(fs.Output(),
			"iolab bench",
			"iolab bench -models epoll,threads -scenario seed -duration 1s",
			"iolab bench -scenario throughput -models epoll,gnet -out results/tp",
			"iolab bench -pair epoll,"+bench.CServerName+" -clients 10,100",
			"iolab bench -replot results/20260101-120000",
			"iolab bench -models none -env native,docker-bridge -server 'sem:8000=python3 notes/tutorial/servidor_sem_thread.py' -server-image sem=iolab-tutorial:servidor_sem_thread")
	}
	return fs, func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		if f.replot != "" {
			return replot(fs, f.replot, stdout)
		}
		fs.Visit(func(fl *flag.Flag) { f.set = append(f.set, fl.Name) })
		cfg, err := f.config(stderr)
		if err != nil {
			return err
		}
		return measure(stderr,
			func(ctx context.Context, live bool) (*bench.Results, error) {
				if live {
					cfg.Progress = benchProgress(stderr)
				}
				return bench.Run(ctx, cfg)
			},
			func(res *bench.Results) bool {
				return res != nil && (len(res.Scenarios) > 0 || res.Pair != nil && len(res.Pair.Levels) > 0)
			},
			func(res *bench.Results) error {
				if err := bench.WriteText(stdout, res); err != nil {
					return err
				}
				files := "report.md, report.html, results.json, results.csv, plots (PNG and SVG), logs/"
				if res.Pair != nil {
					files = "report.md, report.html, results.json, logs/"
				}
				fmt.Fprintf(stdout, "\nResults in %s: %s\n", cfg.OutDir, files)
				return nil
			},
			"what was measured is in "+cfg.OutDir)
	}
}

// replot draws the plots of the results folder dir again (bench.Replot)
// and says where they are. -replot measures nothing, so a flag that says
// how to measure beside it is a usage error.
func replot(fs *flag.FlagSet, dir string, stdout io.Writer) error {
	var other string
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name != "replot" && other == "" {
			other = fl.Name
		}
	})
	if other != "" {
		return badUsage("-replot measures nothing: it takes no other flag (-%s given)", other)
	}
	plots, err := bench.Replot(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d plots drawn again from %s: NAME.png and NAME.svg in English, NAME.pt.png and NAME.pt.svg in Portuguese\n",
		len(plots), filepath.Join(dir, "results.json"))
	return nil
}

// serverList collects the -server flags.
type serverList []string

func (l *serverList) String() string { return strings.Join(*l, " ") }

func (l *serverList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// scenarioNames returns the names of bench's scenarios, in order.
func scenarioNames() []string {
	var names []string
	for _, s := range bench.Scenarios {
		names = append(names, s.Name)
	}
	return names
}

// explicitNames lists the scenarios that "all" leaves out.
func explicitNames() string {
	var names []string
	for _, s := range bench.Scenarios {
		if s.Explicit {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, ", ")
}

// config checks the flags and turns them into the bench's Config, with
// bench.Config.Validate. Its errors are usage errors, except if this
// program cannot find its own executable, which the bench starts servers
// from. A note that there is one CPU only, and so no pinning, goes to
// stderr.
func (f *benchFlags) config(stderr io.Writer) (bench.Config, error) {
	cfg := bench.Config{Duration: f.duration, Warmup: f.warmup, Timeout: f.timeout, NoPin: f.noPin, Engine: f.engine,
		Image: f.image, OutDir: f.out, Workers: f.workers, Backlog: f.backlog, Syscalls: f.syscalls}
	for _, spec := range f.servers {
		e, err := bench.ParseExternal(spec)
		if err != nil {
			return cfg, badUsage("-server: %v", err)
		}
		cfg.Externals = append(cfg.Externals, e)
	}
	for _, spec := range f.serverImages {
		name, img, ok := strings.Cut(spec, "=")
		i := slices.IndexFunc(cfg.Externals, func(e bench.External) bool { return e.Name == name })
		switch {
		case !ok || img == "":
			return cfg, badUsage("-server-image %q: want NAME=IMAGE", spec)
		case i < 0:
			return cfg, badUsage("-server-image %q: no -server named %s", spec, name)
		}
		cfg.Externals[i].Image = img
	}
	scenarios := f.scenarios
	if f.pair != "" {
		for _, name := range []string{"models", "env"} {
			if slices.Contains(f.set, name) {
				return cfg, badUsage("-pair names its two servers and runs them natively; -%s does not go with it", name)
			}
		}
		if !slices.Contains(f.set, "scenario") {
			scenarios = "throughput"
		}
		for _, name := range strings.Split(f.pair, ",") {
			cfg.Pair = append(cfg.Pair, strings.TrimSpace(name))
		}
		cfg.Pairs = f.pairs
	}
	if scenarios == "all" {
		scenarios = strings.Join(bench.AllScenarios(), ",")
	}
	for _, name := range strings.Split(scenarios, ",") {
		s, err := bench.LookupScenario(strings.TrimSpace(name))
		if err != nil {
			return cfg, badUsage("%v", err)
		}
		cfg.Scenarios = append(cfg.Scenarios, s)
	}
	if f.models == "none" {
		cfg.NoModels = true
	} else if f.models != "" {
		for _, name := range strings.Split(f.models, ",") {
			cfg.Models = append(cfg.Models, strings.TrimSpace(name))
		}
	}
	for _, e := range strings.Split(f.envs, ",") {
		cfg.Envs = append(cfg.Envs, strings.TrimSpace(e))
	}
	var err error
	if f.clients != "" {
		if cfg.Clients, err = loadgen.ParseClients(f.clients); err != nil {
			return cfg, badUsage("-clients: %v", err)
		}
	}
	if f.work != "" {
		w, err := models.ParseWork(f.work)
		if err != nil {
			return cfg, badUsage("%v", err)
		}
		cfg.Work = &w
	}
	if err := pinning(&cfg, f.serverCPUs, f.loadCPUs, stderr); err != nil {
		return cfg, err
	}
	if cfg.Binary, err = os.Executable(); err != nil {
		return cfg, err
	}
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Join("results", time.Now().Format("20060102-150405"))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, badUsage("%v", err)
	}
	return cfg, nil
}

// pinning fills in the CPUs of the server and of the load generator.
func pinning(cfg *bench.Config, serverCPUs, loadCPUs string, stderr io.Writer) error {
	if cfg.NoPin {
		return nil
	}
	defServer, defLoad, ok := bench.DefaultPinning()
	var err error
	if cfg.ServerCPUs, err = parseCPUs(serverCPUs); err != nil {
		return badUsage("-server-cpus: %v", err)
	}
	if cfg.LoadCPUs, err = parseCPUs(loadCPUs); err != nil {
		return badUsage("-load-cpus: %v", err)
	}
	if cfg.ServerCPUs == nil && cfg.LoadCPUs == nil && !ok {
		fmt.Fprintln(stderr, "iolab bench: one CPU only; server and load generator are not pinned")
		cfg.NoPin = true
		return nil
	}
	if cfg.ServerCPUs == nil {
		cfg.ServerCPUs = defServer
	}
	if cfg.LoadCPUs == nil {
		cfg.LoadCPUs = defLoad
	}
	return nil
}

// benchProgress returns a Progress callback that redraws one line.
func benchProgress(w io.Writer) func(bench.Progress) {
	return func(p bench.Progress) {
		// The warm-up and the measured interval are counted apart, as in
		// iolab load's progress line.
		phase, elapsed, planned := "warm-up", p.Elapsed, p.PlannedWarmup
		if !p.Warmup {
			phase, elapsed, planned = "measuring", max(p.Elapsed-p.PlannedWarmup, 0), p.Planned-p.PlannedWarmup
		}
		fmt.Fprintf(w, clearLine+"[%d/%d] %s · %s · %s clients · %s %.1f/%v · %s answered · about %v left",
			p.Run, p.Runs, p.Scenario, p.Model, loadgen.Count(int64(p.Clients)), phase, elapsed.Seconds(),
			planned, loadgen.Count(p.Answered), p.Remaining.Round(time.Second))
	}
}
