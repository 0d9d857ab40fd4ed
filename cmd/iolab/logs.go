package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"iolab/loadgen/logs"
)

func logsCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	var opts logs.Options
	var asJSON bool
	fs.DurationVar(&opts.Interval, "interval", time.Second, "width of the open-connections timeline")
	fs.BoolVar(&asJSON, "json", false, "write the analysis as JSON, for scripts")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab logs [flags] [FILE...]\n\n"+
			"Analyses the JSON lines of iolab serve (run it with -log-level debug to log every\n"+
			"connection), from the files or from standard input: connections, requests,\n"+
			"durations, connections per process and per OS thread, peak concurrency, close reasons.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, func(args []string, stdout, _ io.Writer) error {
		if opts.Interval <= 0 {
			return badUsage("-interval must be positive")
		}
		a := logs.New(opts)
		if len(args) == 0 {
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
		if asJSON {
			return logs.WriteJSON(stdout, a.Report())
		}
		return logs.WriteText(stdout, a.Report())
	}
}
