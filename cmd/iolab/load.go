package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"iolab/loadgen"
	"iolab/models/proc"
)

// loadFlags is what `iolab load` is told, before it is checked: the
// load generator's Config, whose flags loadgen.Config.Flags defines, and
// what is not Config: where to run, in how many processes, what to write
// and what fails the run.
type loadFlags struct {
	cfg               loadgen.Config
	parse             func() error // parses cfg's text flags, after fs.Parse
	agents            int
	cpus              string
	jsonFile, csvFile string
	failIf            string
	thresholds        []loadgen.Threshold
}

func loadCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	f := loadFlags{cfg: loadgen.DefaultConfig()}
	f.parse = f.cfg.Flags(fs)
	fs.StringVar(&f.cpus, "cpus", "", "pin the load generator to these CPUs, e.g. 0 or 0,2-3; GOMAXPROCS follows")
	fs.IntVar(&f.agents, "agents", 1, "run this many load-generator processes (agents), each with its share of the clients (and of -rate and -cpus), and merge their results exactly (iolab merge)")
	fs.StringVar(&f.jsonFile, "json", "", "write the complete results, histograms included, to this JSON file (- for stdout, instead of the table)")
	fs.StringVar(&f.csvFile, "csv", "", "write one row per level to this CSV file")
	fs.StringVar(&f.failIf, "fail-if", "", "thresholds, comma-separated, checked at every level; any breached exits with status 3: "+
		"METRIC OP VALUE with OP one of < > <= >= and METRIC errors (count), error_rate (0.01 or 1%), p50, p90, p99, p999, max (a duration) or rps (req/s), "+
		"e.g. 'errors>0,p99>10ms'")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab load [flags]\n\nMeasures a running server, one row per client level. Flags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status: 0 measured; 1 failed: nothing answered (connection refused), no request\n"+
			"succeeded, or interrupted; 2 usage error; 3 measured, and a -fail-if threshold was breached.")
		examples(fs.Output(),
			"iolab load -addr localhost:8000 -clients 1,10,100 -duration 10s",
			"iolab load -proto echo -clients 10 -rate 20000 -json run.json",
			"iolab load -proto echo -clients 50 -fail-if 'errors>0,p99>10ms'",
			"iolab load -proto echo -clients 10 -heavy 0.1   # against iolab serve -proto echo -work disk:64KiB -work-mark '!'")
	}
	return fs, func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		cfg, err := f.config()
		if err != nil {
			return err
		}
		runOnce := func(ctx context.Context, _ bool) (*loadgen.Result, error) { return f.runProcs(ctx, cfg) }
		if f.agents == 1 {
			if err := pinTo(f.cpus); err != nil {
				return err
			}
			runOnce = func(ctx context.Context, live bool) (*loadgen.Result, error) {
				if live {
					cfg.Progress = progressLine(stderr)
				}
				return loadgen.Run(ctx, cfg)
			}
		}
		var res *loadgen.Result
		err = measure(stderr, runOnce,
			func(r *loadgen.Result) bool { return r != nil && len(r.Levels) > 0 },
			func(r *loadgen.Result) error {
				res = r
				return writeLoadResults(stdout, r, f.jsonFile, f.csvFile)
			},
			"the table holds what was measured, a level cut short marked partial")
		if err != nil {
			return err
		}
		return f.verdict(&cfg, res)
	}
}

// verdict is the exit status of a run that measured: a failure if no
// request succeeded, exit status 3 if a -fail-if threshold was breached.
func (f *loadFlags) verdict(cfg *loadgen.Config, res *loadgen.Result) error {
	var answered, failed int64
	errs := map[string]int64{}
	for _, l := range res.Levels {
		answered += l.Requests
		failed += l.ErrorsTotal
		for k, n := range l.Errors {
			errs[k] += n
		}
	}
	if answered == 0 {
		if failed == 0 {
			return fmt.Errorf("no request was answered at %s within -timeout %s: is it a server of -proto %s?", cfg.Addr, cfg.Timeout, cfg.Proto)
		}
		var kinds []string
		for _, k := range loadgen.ErrKinds() {
			if n := errs[k.String()]; n > 0 {
				kinds = append(kinds, fmt.Sprintf("%.0f%% %s", 100*float64(n)/float64(failed), k))
			}
		}
		return fmt.Errorf("no request succeeded at %s: %s failed, %s; is it a server of -proto %s (and -expect)?",
			cfg.Addr, loadgen.Count(failed), strings.Join(kinds, ", "), cfg.Proto)
	}
	if breaches := loadgen.Breaches(res, f.thresholds); len(breaches) > 0 {
		return &exitError{status: 3, msg: strings.Join(breaches, "\n")}
	}
	return nil
}

// config checks the flags and turns them into the load generator's
// Config.
func (f *loadFlags) config() (loadgen.Config, error) {
	if err := f.parse(); err != nil {
		return f.cfg, badUsage("%v", err)
	}
	cfg := f.cfg
	if f.agents < 1 {
		return cfg, badUsage("-agents %d: want 1 or more", f.agents)
	}
	if err := cfg.ValidateIn(f.agents); err != nil {
		return cfg, badUsage("%v", err)
	}
	var err error
	if f.thresholds, err = loadgen.ParseThresholds(f.failIf); err != nil {
		return cfg, badUsage("-fail-if %v", err)
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
		// The warm-up and the measured interval are counted apart: a
		// 1s warm-up and a 10s interval read warm-up 0.4/1s, then
		// measuring 3.1/10s, never 4.1/11s.
		phase, elapsed, total := "warm-up", p.Elapsed, p.WarmupTotal
		if !p.Warmup {
			phase, elapsed, total = "measuring", max(p.Elapsed-p.WarmupTotal, 0), max(p.Total-p.WarmupTotal, 0)
		}
		of := ""
		if p.Total > 0 || p.Warmup {
			of = "/" + total.Round(100e6).String()
		}
		fmt.Fprintf(w, clearLine+"level %d/%d: %s clients, %s %.1f%s, %s answered, %s errors",
			p.Level, p.Levels, loadgen.Count(int64(p.Clients)), phase, elapsed.Seconds(), of,
			loadgen.Count(p.Requests), loadgen.Count(p.Errors))
	}
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
