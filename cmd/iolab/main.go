// Command iolab runs the servers and measurements of the iolab laboratory.
//
//	iolab serve -model NAME [flags]   run one server model until SIGINT or SIGTERM
//	iolab models                      list the models and how each waits for I/O
//	iolab load [flags]                measure a running server: latency, throughput, errors
//	iolab bench [flags]               run every model side by side: tables, plots, a report
//	iolab logs [flags] [FILE...]      analyse the JSON logs of iolab serve
//
// A bad flag, value or argument prints the command's usage and exits with
// status 2; a failure while running exits with status 1.
//
// Run "iolab help" or "iolab COMMAND -h" for the flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand: its flags, and what runs once they are parsed.
type command struct {
	summary string
	// flags returns a fresh FlagSet and the function to run after Parse,
	// given the arguments left, where to write results, and where to log.
	flags func() (*flag.FlagSet, func(args []string, stdout, stderr io.Writer) error)
}

var commands = map[string]command{
	"serve":  {"run one server model", serveCommand},
	"models": {"list the server models and how each waits for I/O", modelsCommand},
	"load":   {"measure a running server: latency percentiles, throughput, errors", loadCommand},
	"bench":  {"run every model side by side: tables, plots and a report (the main job)", benchCommand},
	"logs":   {"analyse the JSON logs of iolab serve: connections per thread, concurrency, close reasons", logsCommand},
	"merge":  {"merge the -json results of load generators that ran at once, histograms added exactly", mergeCommand},
}

// usageError is an error in how a command was called: it prints the
// command's usage and exits with status 2, like a bad flag.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// badUsage returns a usageError.
func badUsage(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs one subcommand and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "iolab: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	fs, exec := cmd.flags()
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package has printed the error and the usage
	}
	if err := exec(fs.Args(), stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "iolab %s: %v\n", fs.Name(), err)
		var ue *usageError
		if errors.As(err, &ue) {
			fs.Usage()
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "iolab compares server I/O models: threads against event loops, with numbers.")
	fmt.Fprintln(w, "\nUsage: iolab COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'iolab COMMAND -h' for a command's flags.")
}
