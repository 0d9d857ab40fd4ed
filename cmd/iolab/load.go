package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/proc"
)

// loadFlags is what `iolab load` is told, before it is checked.
type loadFlags struct {
	addr, proto, clients, expect string
	rate                         float64
	requests                     int64
	duration, warmup, timeout    time.Duration
	size, pipeline, procs        int
	cpus, sources                string
	jsonFile, csvFile            string
}

func loadCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var f loadFlags
	def := loadgen.DefaultConfig()
	fs.StringVar(&f.addr, "addr", def.Addr, "server address, host:port")
	fs.StringVar(&f.proto, "proto", def.Proto.String(), "workload: greeting (connect, read until EOF, close) or echo (a line out, the same line back, on a persistent connection)")
	fs.StringVar(&f.clients, "clients", "1,2,5,10", "client levels, comma-separated: one row per level")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: requests per second in total, spread over the clients (0: closed loop)")
	fs.DurationVar(&f.duration, "duration", def.Duration, "measured interval of each level")
	fs.Int64Var(&f.requests, "requests", 0, "end each level after this many measured requests instead of -duration")
	fs.DurationVar(&f.warmup, "warmup", def.Warmup, "warm-up before each level, measured apart and left out of the results")
	fs.DurationVar(&f.timeout, "timeout", def.Timeout, "bound on each phase of a request: connect, and wait for the answer")
	fs.IntVar(&f.size, "size", def.Size, "echo line length in bytes, newline included")
	fs.IntVar(&f.pipeline, "pipeline", def.Pipeline, "echo lines in flight per connection")
	fs.StringVar(&f.expect, "expect", "", "greeting: the exact text expected (default: any non-empty reply)")
	fs.StringVar(&f.cpus, "cpus", "", "pin the load generator to these CPUs, e.g. 0 or 0,2-3; GOMAXPROCS follows")
	fs.StringVar(&f.sources, "source", "", "local addresses to bind client sockets to, each client its own in turn: a range 127.0.0.2-127.0.0.50 or a comma-separated list; on loopback this lifts the limit of ~28,000 ephemeral ports per source address")
	fs.IntVar(&f.procs, "procs", 1, "run this many load-generator processes, each with its share of the clients (and of -rate and -cpus), and merge their results exactly (iolab merge)")
	fs.StringVar(&f.jsonFile, "json", "", "write the complete results, histograms included, to this JSON file (- for stdout, instead of the table)")
	fs.StringVar(&f.csvFile, "csv", "", "write one row per level to this CSV file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab load [flags]\n\nMeasures a running server, one row per client level. Flags:\n")
		fs.PrintDefaults()
	}
	return fs, func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		cfg, err := f.config()
		if err != nil {
			return err
		}
		if f.procs < 1 {
			return badUsage("-procs %d: want 1 or more", f.procs)
		}
		if f.procs > 1 {
			return measure(stderr,
				func(ctx context.Context, _ bool) (*loadgen.Result, error) { return f.runProcs(ctx, cfg) },
				func(res *loadgen.Result) bool { return res != nil && len(res.Levels) > 0 },
				func(res *loadgen.Result) error { return writeLoadResults(stdout, res, f.jsonFile, f.csvFile) },
				"the levels above were complete")
		}
		if err := pinTo(f.cpus); err != nil {
			return err
		}
		return measure(stderr,
			func(ctx context.Context, live bool) (*loadgen.Result, error) {
				if live {
					cfg.Progress = progressLine(stderr)
				}
				return loadgen.Run(ctx, cfg)
			},
			func(res *loadgen.Result) bool { return res != nil && len(res.Levels) > 0 },
			func(res *loadgen.Result) error { return writeLoadResults(stdout, res, f.jsonFile, f.csvFile) },
			"the levels above were complete")
	}
}

// config checks the flags and turns them into the load generator's
// Config.
func (f *loadFlags) config() (loadgen.Config, error) {
	cfg := loadgen.DefaultConfig()
	cfg.Addr, cfg.Rate, cfg.Requests = f.addr, f.rate, f.requests
	cfg.Duration, cfg.Warmup, cfg.Timeout = f.duration, f.warmup, f.timeout
	cfg.Size, cfg.Pipeline = f.size, f.pipeline
	if f.expect != "" {
		cfg.Expect = []byte(f.expect)
	}
	var err error
	if cfg.Proto, err = models.ParseProto(f.proto); err != nil {
		return cfg, badUsage("%v", err)
	}
	if cfg.Clients, err = parseInts(f.clients); err != nil {
		return cfg, badUsage("-clients: %v", err)
	}
	if cfg.Sources, err = loadgen.ParseSources(f.sources); err != nil {
		return cfg, badUsage("-source: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, badUsage("%v", err)
	}
	return cfg, nil
}

// writeLoadResults writes the table, and the JSON and CSV files if asked.
// With -json - the JSON goes to stdout instead of the table, for programs
// (iolab bench reads it from docker exec).
func writeLoadResults(stdout io.Writer, res *loadgen.Result, jsonFile, csvFile string) error {
	if jsonFile == "-" {
		if err := loadgen.WriteJSON(stdout, res); err != nil {
			return err
		}
		jsonFile = ""
	} else if err := loadgen.WriteTable(stdout, res); err != nil {
		return err
	}
	write := func(name string, fn func(io.Writer, *loadgen.Result) error) error {
		if name == "" {
			return nil
		}
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := fn(f, res); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write(jsonFile, loadgen.WriteJSON); err != nil {
		return err
	}
	return write(csvFile, loadgen.WriteCSV)
}

// progressLine returns a Progress callback that redraws one line.
func progressLine(w io.Writer) func(loadgen.Progress) {
	return func(p loadgen.Progress) {
		phase := "measuring"
		if p.Warmup {
			phase = "warming up"
		}
		total := ""
		if p.Total > 0 {
			total = "/" + p.Total.Round(100e6).String()
		}
		fmt.Fprintf(w, clearLine+"level %d/%d: %d clients, %s %s%s, %d answered, %d errors",
			p.Level, p.Levels, p.Clients, phase, p.Elapsed.Round(100e6), total, p.Requests, p.Errors)
	}
}

// parseInts parses "1,2,5,10".
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// pinTo pins this process to the CPUs of a -cpus flag, if any.
func pinTo(list string) error {
	cpus, err := parseCPUs(list)
	if err != nil {
		return badUsage("-cpus: %v", err)
	}
	return proc.Pin(cpus)
}

// parseCPUs parses a CPU list such as "0", "0,2" or "1-3".
func parseCPUs(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(f), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a CPU number", f)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a CPU range", f)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}
