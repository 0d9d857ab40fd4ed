package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"iolab/loadgen/check"
	"iolab/models"
)

// checkFlags is what `iolab check` is told: which server, what it
// promises, and which checks.
type checkFlags struct {
	model, server, addr, proto string
	only, skip, jsonFile, grid string
	timeout, grace             time.Duration
	maxLine                    int
	quick                      bool
}

func checkCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var f checkFlags
	var names []string
	for _, m := range check.Models() {
		names = append(names, m.Name)
	}
	fs.StringVar(&f.model, "model", "", "check iolab's model NAME, a fresh server for each check: "+strings.Join(names, ", ")+", or all")
	fs.StringVar(&f.server, "server", "", "check the server this command starts (run by /bin/sh, with $PORT set to -addr's port), in any language")
	fs.StringVar(&f.addr, "addr", "", "where -server listens (default 127.0.0.1:8000), or a server already running, judged from the client side alone; loopback only")
	fs.StringVar(&f.proto, "proto", "auto", "what -server or -addr speaks: greeting, echo, or auto (the check waits a second for the server to speak first)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "the longest -server or -addr promises to keep a client that sends nothing, an unfinished line, or reads nothing")
	fs.DurationVar(&f.grace, "grace", 5*time.Second, "the longest -server may take to exit after SIGTERM")
	fs.IntVar(&f.maxLine, "max-line", 0, "the longest line -server or -addr takes, if known (0: not known)")
	fs.BoolVar(&f.quick, "quick", false, "the quick form: fewer clients and bytes, about a minute a server (default: the full form, 10,000 clients)")
	fs.StringVar(&f.only, "only", "", "run only the checks whose names contain one of these comma-separated words")
	fs.StringVar(&f.skip, "skip", "", "skip the checks whose names contain one of these comma-separated words")
	fs.StringVar(&f.jsonFile, "json", "", "also write the graded checks as JSON to this file, for a grading script (- for stdout, instead of the text)")
	fs.StringVar(&f.grid, "table", "", "with -model all, also write one Markdown table, check by model, to this file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab check (-model NAME | -server 'COMMAND' | -addr HOST:PORT) [flags]\n\n"+
			"Puts one server through the protocol checks and every kind of abuse a server meets in\n"+
			"service, and grades each: ok, FAIL with what the client saw, n/a with why, or limit\n"+
			"(a limitation the model documents). Checks are:\n")
		for _, sc := range check.Battery {
			fmt.Fprintf(fs.Output(), "  %s\n", sc.Name)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status: 0 no check failed; 1 a check failed, or the server could not be\n"+
			"started or reached; 2 usage error.")
		examples(fs.Output(),
			"iolab check -model epoll -quick",
			"iolab check -server 'python3 notes/tutorial/servidor_com_thread.py'",
			"iolab check -addr 127.0.0.1:9000 -proto echo -timeout 10s -only slowloris,idle",
			"iolab check -model all -table results/reliability.md")
	}
	return fs, func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		targets, err := f.targets()
		if err != nil {
			return err
		}
		scenarios, unknown := check.Select(words(f.only), words(f.skip))
		if len(unknown) > 0 {
			return badUsage("-only/-skip: no check is named like %q (see iolab check -h)", strings.Join(unknown, ", "))
		}
		if len(scenarios) == 0 {
			return badUsage("-only and -skip leave no check to run")
		}
		form := check.Full
		if f.quick {
			form = check.Quick
		}
		reports, err := f.run(targets, scenarios, form, stderr)
		if err != nil {
			return err
		}
		return f.write(reports, scenarios, form, stdout)
	}
}

// targets returns what the flags ask to check.
func (f *checkFlags) targets() ([]*check.Target, error) {
	given := 0
	for _, s := range []string{f.model, f.server} {
		if s != "" {
			given++
		}
	}
	if f.addr != "" && f.server == "" {
		given++
	}
	switch {
	case given == 0:
		return nil, badUsage("which server? give -model NAME, -server 'COMMAND' or -addr HOST:PORT")
	case given > 1:
		return nil, badUsage("give one of -model, -server and -addr (with -server, -addr says where it listens)")
	case f.grid != "" && f.model != "all":
		return nil, badUsage("-table is for -model all")
	}
	if f.model != "" {
		self, err := check.SelfCommand()
		if err != nil {
			return nil, err
		}
		ms := check.Models()
		if f.model != "all" {
			m, err := check.LookupModel(f.model)
			if err != nil {
				return nil, badUsage("-model: %v", err)
			}
			ms = []models.Model{m}
		}
		var out []*check.Target
		for _, m := range ms {
			if err := m.Usable(); err != nil {
				if f.model != "all" {
					return nil, fmt.Errorf("%s cannot run here: %w", m.Name, err)
				}
				continue
			}
			out = append(out, &check.Target{Model: m, Self: self})
		}
		return out, nil
	}
	tg := &check.Target{Command: f.server, Addr: f.addr, Timeout: f.timeout, Grace: f.grace, MaxLine: f.maxLine}
	if tg.Addr == "" {
		tg.Addr = "127.0.0.1:8000"
	}
	if err := loopback(tg.Addr); err != nil {
		return nil, badUsage("-addr %s: %v", tg.Addr, err)
	}
	switch f.proto {
	case "auto":
	case "greeting", "echo":
		p, _ := models.ParseProto(f.proto)
		tg.Proto = p
	default:
		return nil, badUsage("-proto %q: want greeting, echo or auto", f.proto)
	}
	switch {
	case f.timeout <= 0:
		return nil, badUsage("-timeout must be positive")
	case f.grace <= 0:
		return nil, badUsage("-grace must be positive")
	case f.maxLine < 0:
		return nil, badUsage("-max-line must not be negative")
	}
	return []*check.Target{tg}, nil
}

// loopback checks that addr is a host and port on this machine's
// loopback: the checks flood and abuse a server, which is never done to
// a machine on the network.
func loopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return errors.New("the checks abuse a server: loopback only (127.0.0.1, ::1, localhost)")
	}
	return nil
}

// run checks every target, side by side in the quick form, one after
// the other in the full one, and says on stderr how each went.
func (f *checkFlags) run(targets []*check.Target, scenarios []check.Scenario, form check.Form, stderr io.Writer) ([]*check.Report, error) {
	reports := make([]*check.Report, len(targets))
	errs := make([]error, len(targets))
	var mu sync.Mutex
	progress := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, format, args...)
	}
	one := func(i int) {
		tg := targets[i]
		if err := check.Detect(tg); err != nil {
			errs[i] = fmt.Errorf("%s: %w", tg.Name(), err)
			return
		}
		progress("iolab check: %s, %s form, %d checks\n", tg.Name(), form.Name, len(scenarios))
		reports[i] = check.Run(tg, form, scenarios, func(c check.Cell) {
			progress("  %-5s %s: %s\n", c.Status, tg.Name(), c.Scenario)
		})
	}
	var wg sync.WaitGroup
	for i := range targets {
		if form.Parallel && len(targets) > 1 {
			wg.Go(func() { one(i) })
		} else {
			one(i)
		}
	}
	wg.Wait()
	return reports, errors.Join(errs...)
}

// write writes the reports, text or JSON, and the grid, and turns a
// failed check into exit status 1.
func (f *checkFlags) write(reports []*check.Report, scenarios []check.Scenario, form check.Form, stdout io.Writer) error {
	if f.jsonFile != "" {
		if err := writeFile(f.jsonFile, func(w io.Writer) error { return writeReportsJSON(w, reports) }); err != nil {
			return err
		}
	}
	if f.jsonFile != "-" {
		for i, rep := range reports {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			if err := rep.WriteText(stdout); err != nil {
				return err
			}
		}
	}
	if f.grid != "" {
		var cols []string
		for _, rep := range reports {
			cols = append(cols, rep.Server)
		}
		g := check.NewGrid(form.Name, scenarios, cols)
		for _, rep := range reports {
			for _, c := range rep.Cells {
				g.Record(rep.Server, c)
			}
		}
		if err := writeFile(f.grid, g.Write); err != nil {
			return err
		}
	}
	var failed []string
	for _, rep := range reports {
		if rep.Failed() {
			failed = append(failed, fmt.Sprintf("%s: %s", rep.Server, rep.Total()))
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "\n"))
	}
	return nil
}

// writeReportsJSON writes one report as a JSON object, several as an
// array.
func writeReportsJSON(w io.Writer, reports []*check.Report) error {
	if len(reports) == 1 {
		return reports[0].WriteJSON(w)
	}
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	for i, rep := range reports {
		if i > 0 {
			if _, err := io.WriteString(w, ",\n"); err != nil {
				return err
			}
		}
		if err := rep.WriteJSON(w); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]\n")
	return err
}

// words splits a comma-separated list, dropping empty words. A comma
// between digits and three more digits is a thousands separator, as in
// the check "10,000 concurrent clients": -only 10,000 names it.
func words(list string) []string {
	var out []string
	for _, w := range strings.Split(list, ",") {
		last := len(out) - 1
		if last >= 0 && len(w) >= 3 && isDigits(w[:3]) && (len(w) == 3 || w[3] < '0' || w[3] > '9') &&
			out[last] != "" && isDigits(out[last][len(out[last])-1:]) {
			out[last] += "," + w
			continue
		}
		out = append(out, strings.TrimSpace(w))
	}
	return slices.DeleteFunc(out, func(w string) bool { return w == "" })
}

// isDigits reports whether s is all ASCII digits.
func isDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// serveCheckChild serves a model for iolab check, when this process was
// started as one (check.IsChild), and exits.
func serveCheckChild() {
	if !check.IsChild() {
		return
	}
	if err := check.ServeChild(); err != nil {
		fmt.Fprintf(os.Stderr, "iolab check: the model's server: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}
