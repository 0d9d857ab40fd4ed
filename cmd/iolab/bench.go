package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"iolab/loadgen/bench"
	"iolab/models"
)

func benchCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var scenarios, modelList, clients, work, serverCPUs, loadCPUs, out, envs string
	var cfg bench.Config
	var names []string
	for _, s := range bench.Scenarios {
		names = append(names, s.Name)
	}
	fs.StringVar(&scenarios, "scenario", strings.Join(bench.QuickScenarios, ","), "scenarios to run, comma-separated: "+strings.Join(names, ", ")+", or all")
	fs.StringVar(&modelList, "models", strings.Join(models.Names(), ","), "models to run, comma-separated")
	fs.StringVar(&clients, "clients", "", "client levels for every scenario, comma-separated (default: each scenario's own)")
	fs.StringVar(&work, "work", "", "work per request for every scenario: none, sleep:D or cpu:D (default: each scenario's own)")
	fs.DurationVar(&cfg.Duration, "duration", 3*time.Second, "measured interval of each level")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "warm-up of each level, left out of the results")
	fs.DurationVar(&cfg.Timeout, "timeout", time.Second, "bound on each phase of a request")
	fs.StringVar(&serverCPUs, "server-cpus", "", "CPUs for the server (default: the last CPU)")
	fs.StringVar(&loadCPUs, "load-cpus", "", "CPUs for the load generator (default: all the others)")
	fs.BoolVar(&cfg.NoPin, "no-pin", false, "pin neither the server nor the load generator")
	fs.StringVar(&out, "out", "", "results folder (default: results/YYYYMMDD-HHMMSS)")
	fs.StringVar(&envs, "env", bench.Native, "where servers run, comma-separated: "+strings.Join(bench.Envs, ", ")+" (docker ones need make docker-image)")
	fs.StringVar(&cfg.Image, "image", bench.DefaultImage, "Docker image for the docker environments")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab bench [flags]\n\nRuns every model under the same load, one server at a time, and writes tables, plots and a report.\nScenarios:\n")
		for _, s := range bench.Scenarios {
			fmt.Fprintf(fs.Output(), "  %-10s %s, work %s, clients %v\n", s.Name, s.Proto, s.Work, s.Clients)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		if scenarios == "all" {
			scenarios = strings.Join(names, ",")
		}
		for _, name := range strings.Split(scenarios, ",") {
			s, err := bench.LookupScenario(strings.TrimSpace(name))
			if err != nil {
				return badUsage("%v", err)
			}
			cfg.Scenarios = append(cfg.Scenarios, s)
		}
		for _, name := range strings.Split(modelList, ",") {
			if _, err := models.Lookup(strings.TrimSpace(name)); err != nil {
				return badUsage("%v", err)
			}
			cfg.Models = append(cfg.Models, strings.TrimSpace(name))
		}
		for _, e := range strings.Split(envs, ",") {
			cfg.Envs = append(cfg.Envs, strings.TrimSpace(e))
		}
		var err error
		if clients != "" {
			if cfg.Clients, err = parseInts(clients); err != nil {
				return badUsage("-clients: %v", err)
			}
			for _, n := range cfg.Clients {
				if n < 1 {
					return badUsage("-clients: %d is not a number of clients", n)
				}
			}
		}
		if work != "" {
			w, err := models.ParseWork(work)
			if err != nil {
				return badUsage("%v", err)
			}
			cfg.Work = &w
		}
		if cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Timeout <= 0 {
			return badUsage("-duration and -timeout must be positive, -warmup not negative")
		}
		if err := pinning(&cfg, serverCPUs, loadCPUs, stderr); err != nil {
			return err
		}
		if cfg.Binary, err = os.Executable(); err != nil {
			return err
		}
		cfg.OutDir = out
		if cfg.OutDir == "" {
			cfg.OutDir = filepath.Join("results", time.Now().Format("20060102-150405"))
		}
		return measure(stderr,
			func(ctx context.Context, live bool) (*bench.Results, error) {
				if live {
					cfg.Progress = benchProgress(stderr)
				}
				return bench.Run(ctx, cfg)
			},
			func(res *bench.Results) bool { return res != nil && len(res.Scenarios) > 0 },
			func(res *bench.Results) error {
				if err := bench.WriteText(stdout, res); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "\nResults in %s: report.md, results.json, results.csv, plots (PNG and SVG), logs/\n", cfg.OutDir)
				return nil
			},
			"what was measured is in "+cfg.OutDir)
	}
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
		phase := "measuring"
		if p.Warmup {
			phase = "warming up"
		}
		fmt.Fprintf(w, clearLine+"[%d/%d] %s · %s · %d clients · %s %v/%v · %d answered · about %v left",
			p.Run, p.Runs, p.Scenario, p.Model, p.Clients, phase, p.Elapsed.Round(100*time.Millisecond),
			p.Planned, p.Answered, p.Remaining.Round(time.Second))
	}
}
