package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"iolab/models"
	_ "iolab/models/all" // every model, registered
	"iolab/models/proc"
)

// serveFlags is what `iolab serve` is told, before it is checked: the
// model, how to log and where to run, and the server's Config, whose
// flags models.Config.Flags defines.
type serveFlags struct {
	model, logLevel, logFormat, cpus string
	cfg                              models.Config
	parse                            func() error // parses cfg's text flags, after fs.Parse
}

func serveCommand() (*flag.FlagSet, func([]string, io.Writer, io.Writer) error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f := serveFlags{cfg: models.DefaultConfig()}
	f.parse = f.cfg.Flags(fs)
	// In a container it is often easier to set the environment than the
	// arguments: IOLAB_MODEL, IOLAB_PROTO and IOLAB_WORK give the defaults.
	fs.StringVar(&f.model, "model", os.Getenv("IOLAB_MODEL"), "server model: "+strings.Join(models.Names(), ", ")+" (required; default $IOLAB_MODEL)")
	envDefault(fs, "proto", "IOLAB_PROTO")
	envDefault(fs, "work", "IOLAB_WORK")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: trace, debug (one event per connection), info, warn, error, disabled")
	fs.StringVar(&f.logFormat, "log-format", "json", "log format on stderr: json (JSON lines) or console (for people)")
	fs.StringVar(&f.cpus, "cpus", "", "pin the server to these CPUs, e.g. 1 or 0,2-3; GOMAXPROCS follows (iolab bench uses it)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iolab serve -model NAME [flags]\n\nRuns one server model until SIGINT or SIGTERM. Models:\n")
		for _, m := range models.All() {
			fmt.Fprintf(fs.Output(), "  %-10s %s\n", m.Name, m.Waits)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status: 0 after SIGINT or SIGTERM, 1 if the server cannot start (the port is taken), 2 for a usage error.")
		examples(fs.Output(),
			"iolab serve -model epoll",
			"iolab serve -model threads -proto echo -work sleep:10ms -log-level debug 2>server.jsonl",
			"iolab serve -model reuseport -addr 127.0.0.1:9000 -log-format console")
	}
	return fs, func(args []string, _, stderr io.Writer) error {
		if len(args) > 0 {
			return badUsage("unexpected argument %q", args[0])
		}
		model, cfg, err := f.config(stderr)
		if err != nil {
			return err
		}
		if err := pinTo(f.cpus); err != nil {
			return err
		}
		srv, err := model.New(cfg)
		if errors.Is(err, models.ErrDataFile) {
			return fmt.Errorf("%v (choose another place with -data-file)", err)
		}
		if err != nil {
			return badUsage("%v", err)
		}
		// A model the system refuses (uring where io_uring is disabled)
		// says why, and what would allow it, before it listens.
		if err := model.Usable(); err != nil {
			models.LogUnavailable(cfg.Log, model.Name, err) // for iolab bench, which reads the log
			return fmt.Errorf("-model %s cannot serve here: %w", model.Name, err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		defer reportUsageOn(syscall.SIGUSR1, cfg.Log)()
		var serving atomic.Bool
		err = srv.Serve(ctx, func(net.Addr) { serving.Store(true) })
		if !serving.Load() {
			// It never served: a start-up error is one line, with no
			// usage event to read past.
			return startError(cfg.Addr, err)
		}
		// The last usage event is the server's whole life: iolab bench reads
		// it, also from a container, where it cannot wait4 the server.
		logUsage(cfg.Log, models.UsageAtExit)
		return err
	}
}

// startError says why a server could not start, and what to do about the
// usual cause.
func startError(addr string, err error) error {
	if err == nil {
		return errors.New("the server stopped before it served")
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("listen on %s: address already in use (another server is running there? pick another -addr)", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("listen on %s: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; pick another -addr)", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("listen on %s: no such local address (pick an address of this machine for -addr)", addr)
	}
	return err
}

// reportUsageOn logs a usage event each time sig arrives: kill -USR1
// PID. It returns the function that stops it.
func reportUsageOn(sig os.Signal, log zerolog.Logger) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-ch:
			case <-done:
				return
			}
			logUsage(log, models.UsageOnSignal)
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-finished
	}
}

// config checks the flags and turns them into a model and its Config,
// logging to logOut.
func (f *serveFlags) config(logOut io.Writer) (models.Model, models.Config, error) {
	if f.model == "" {
		return models.Model{}, models.Config{}, badUsage("-model is required (one of %s)", strings.Join(models.Names(), ", "))
	}
	model, err := models.Lookup(f.model)
	if err != nil {
		return model, models.Config{}, badUsage("unknown model %q (want one of %s)", f.model, strings.Join(models.Names(), ", "))
	}
	if err := f.parse(); err != nil {
		return model, f.cfg, badUsage("%v", err)
	}
	cfg := f.cfg
	if cfg.Log, err = newLogger(logOut, f.logLevel, f.logFormat); err != nil {
		return model, cfg, badUsage("%v", err)
	}
	if err := cfg.Validate(); err != nil {
		return model, cfg, badUsage("%v", err)
	}
	return model, cfg, nil
}

// newLogger returns the server's logger: JSON lines, or a console format
// for people, at the given level.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("unknown log level %q", level)
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: !isTerminal(w)}
	default:
		return zerolog.Logger{}, fmt.Errorf("unknown log format %q (want json or console)", format)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// isTerminal reports whether w is a terminal, where colour helps.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// envDefault makes the environment variable key, if it is set, the
// default of the flag name. The flag is text (see models.Config.Flags):
// its value is checked with the other flags, and a bad one is named as
// if it had been given on the command line.
func envDefault(fs *flag.FlagSet, name, key string) {
	if v, ok := os.LookupEnv(key); ok {
		f := fs.Lookup(name)
		_ = f.Value.Set(v) // text: it cannot fail
		f.DefValue = v
	}
}

// logUsage logs the usage event: the server's own getrusage(2), which
// counts its exited threads too, that of the child processes it has
// reaped (at exit, every child that Serve waited for before it returned),
// and what /proc says of it and its child processes now. why is models.UsageOnSignal or
// models.UsageAtExit.
func logUsage(log zerolog.Logger, why string) {
	u, err := proc.SelfUsage()
	if err != nil {
		log.Warn().Err(err).Msg("getrusage")
		return
	}
	c, err := proc.ChildrenUsage()
	if err != nil {
		log.Warn().Err(err).Msg("getrusage")
		return
	}
	s, _ := proc.ReadTree(os.Getpid())
	models.LogUsage(log, models.Usage{Why: why, User: u.User, System: u.System,
		Voluntary: u.Voluntary, Involuntary: u.Involuntary, MaxRSS: u.MaxRSS,
		ChildUser: c.User, ChildSystem: c.System, ChildVoluntary: c.Voluntary, ChildInvoluntary: c.Involuntary,
		Procs: s.Procs, Threads: s.Threads, RSS: s.RSS, FDs: s.FDs})
}
