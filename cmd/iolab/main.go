// Command iolab runs the servers and measurements of the iolab laboratory.
//
//	iolab serve -model NAME [flags]   run one server model until SIGINT or SIGTERM
//	iolab models                      list the models and how each waits for I/O
//	iolab load [flags]                measure a running server: latency, throughput, errors
//	iolab merge [flags] RUN.json...   merge the -json results of load generators that ran at once
//	iolab bench [flags]               run every model side by side: tables, plots, a report
//	iolab check [flags]               grade one server, a model or your own: protocol and abuse
//	iolab logs [flags] [FILE...]      analyse the JSON logs of iolab serve
//	iolab version                     the version, commit and Go version of this build
//
// Exit status: 0 when the command did what it was asked; 1 when it ran
// and failed (nothing answered, nothing to analyse, a file it cannot
// read); 2 for a usage error (a bad flag, value or argument), which is
// named in one line followed by where to find the usage; 3 when iolab
// load measured, and a -fail-if threshold was breached.
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
	"strings"
)

// command is one subcommand: its flags, and what runs once they are parsed.
type command struct {
	summary string
	// flags returns a fresh FlagSet and the function to run after Parse,
	// given the arguments left, where to write results, and where to log.
	flags func() (*flag.FlagSet, func(args []string, stdout, stderr io.Writer) error)
}

var commands = map[string]command{
	"serve":   {"run one server model", serveCommand},
	"models":  {"list the server models and how each waits for I/O", modelsCommand},
	"load":    {"measure a running server: latency percentiles, throughput, errors", loadCommand},
	"bench":   {"run every model side by side: tables, plots and a report (the main job)", benchCommand},
	"check":   {"grade one server, a model or your own, through protocol checks and every kind of abuse", checkCommand},
	"logs":    {"analyse the JSON logs of iolab serve: connections per thread, concurrency, close reasons", logsCommand},
	"image":   {"build a Python server's image from the Dockerfile beside it, offline where it must", imageCommand},
	"merge":   {"merge the -json results of load generators that ran at once, histograms added exactly", mergeCommand},
	"version": {"print the version, VCS commit and Go version of this build", versionCommand},
}

// usageError is an error in how a command was called: it is named in one
// line, with a pointer to the usage, and exits with status 2, like a bad
// flag.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// badUsage returns a usageError.
func badUsage(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitError is a failure with an exit status of its own (not 1): its
// message may have several lines, each printed as one.
type exitError struct {
	status int
	msg    string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	serveCheckChild()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs one subcommand and returns the exit status. What the user asked
// for (the usage with -h, results) goes to stdout; errors, one line each,
// and progress go to stderr.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "-version", "--version":
		name, args = "version", []string{"version"}
	case "help":
		if len(args) == 1 {
			usage(stdout)
			return 0
		}
		if len(args) > 2 {
			fmt.Fprintf(stderr, "iolab help: unexpected argument %q\nrun 'iolab help' for the commands\n", args[2])
			return 2
		}
		name, args = args[1], []string{args[1], "-h"}
		if _, ok := commands[name]; !ok {
			fmt.Fprintf(stderr, "iolab help: unknown command %q\nrun 'iolab help' for the commands\n", name)
			return 2
		}
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "iolab: unknown command %q\nrun 'iolab help' for the commands\n", name)
		return 2
	}
	fs, exec := cmd.flags()
	// The flag package prints the error and the whole usage itself; only
	// -h asks for the usage, so it writes nowhere while it parses.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return usageFailed(stderr, name, err.Error())
	}
	fs.SetOutput(stderr)
	err := exec(fs.Args(), stdout, stderr)
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return usageFailed(stderr, name, withoutPrefix(ue.msg))
	}
	status := 1
	var ee *exitError
	if errors.As(err, &ee) {
		status = ee.status
	}
	for _, line := range strings.Split(withoutPrefix(err.Error()), "\n") {
		fmt.Fprintf(stderr, "iolab %s: %s\n", name, line)
	}
	return status
}

// usageFailed prints a usage error, one line and where to find the usage,
// and returns its exit status, 2.
func usageFailed(stderr io.Writer, name, msg string) int {
	fmt.Fprintf(stderr, "iolab %s: %s\nrun 'iolab %s -h' for usage\n", name, msg, name)
	return 2
}

// packagePrefixes are the names of the packages whose errors may reach the
// user with the package's name in front. They mean nothing to someone
// running iolab, so run drops them.
var packagePrefixes = []string{"models: ", "sock: ", "reactor: ", "loadgen: ", "bench: ", "logs: ", "proc: ", "child: ", "uring: ", "epoll: "}

// withoutPrefix drops a leading package name from an error message.
func withoutPrefix(msg string) string {
	for _, p := range packagePrefixes {
		if strings.HasPrefix(msg, p) {
			return msg[len(p):]
		}
	}
	return msg
}

// examples writes the Examples section that ends every command's usage.
func examples(w io.Writer, lines ...string) {
	fmt.Fprintln(w, "\nExamples:")
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
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
	fmt.Fprintln(w, "\nRun 'iolab help COMMAND' or 'iolab COMMAND -h' for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 done, 1 failed, 2 usage error, 3 a load -fail-if threshold breached.")
	examples(w,
		"iolab serve -model epoll -proto echo",
		"iolab load -proto echo -clients 1,10,100",
		"iolab bench -models epoll,threads")
}
