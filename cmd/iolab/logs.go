package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"iolab/loadgen"
	"iolab/loadgen/logs"
	"iolab/loadgen/version"
)

func logsCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	var opts logs.Options
	var jsonFile string
	fs.DurationVar(&opts.Interval, "interval", time.Second, "width of the open-connections timeline")
	fs.StringVar(&jsonFile, "json", "", "also write the analysis as JSON to this file, for scripts (- for stdout, instead of the text)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab logs [flags] [FILE...]\n\n"+
			"Analyses the JSON lines of iolab serve (run it with -log-level debug to log every\n"+
			"connection), from the files or from standard input: connections, requests,\n"+
			"durations, connections per process and per OS thread, peak concurrency, close reasons.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status: 0 analysed; 1 a file cannot be read, or it holds nothing to analyse\n"+
			"(no JSON lines of iolab serve, or no per-connection events); 2 usage error.")
		examples(fs.Output(),
			"iolab serve -model threads -log-level debug 2>threads.jsonl   # then drive it, and Ctrl-C",
			"iolab logs threads.jsonl",
			"iolab logs -json report.json -interval 100ms threads.jsonl")
	}
	return fs, func(args []string, stdout, _ io.Writer) error {
		if opts.Interval <= 0 {
			return badUsage("-interval must be positive")
		}
		started := time.Now().UTC()
		a := logs.New(opts)
		if len(args) == 0 {
			if isTerminal(os.Stdin) {
				return badUsage("no FILE given, and standard input is a terminal: name a log file, or pipe one in")
			}
			if err := a.Read(os.Stdin); err != nil {
				return err
			}
		}
		for _, name := range args {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			err = a.Read(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		rep := a.Report()
		rep.Version, rep.RunID, rep.Started = version.String(), loadgen.NewRunID(), started
		if err := nothingToAnalyse(rep); err != nil {
			return err
		}
		if jsonFile == "-" {
			return logs.WriteJSON(stdout, rep)
		}
		if jsonFile != "" {
			if err := writeFile(jsonFile, func(w io.Writer) error { return logs.WriteJSON(w, rep) }); err != nil {
				return err
			}
		}
		return logs.WriteText(stdout, rep)
	}
}

// nothingToAnalyse says what to do when a log holds nothing iolab logs can
// analyse: no events at all (a console-format log, or another program's
// output), or only the summary events of an info-level log.
func nothingToAnalyse(rep *logs.Report) error {
	if rep.Events == 0 {
		lines := "lines"
		if rep.Skipped == 1 {
			lines = "line"
		}
		return fmt.Errorf("no JSON log lines of iolab serve (%s %s read): run iolab serve with -log-format json (the default; make run-MODEL logs for the console: LOG_FORMAT=json make run-epoll 2>server.jsonl), and give its stderr to iolab logs",
			loadgen.Count(rep.Skipped), lines)
	}
	var perConn, accepted int64
	for _, r := range rep.Runs {
		perConn += r.Opened + r.Closed
		accepted += r.Accepted
	}
	if perConn == 0 && accepted > 0 {
		return fmt.Errorf("the log has no per-connection events (its stop event counts %s connections, logged at info level): run iolab serve with -log-level debug (LOG_LEVEL=debug with make)",
			loadgen.Count(accepted))
	}
	return nil
}
