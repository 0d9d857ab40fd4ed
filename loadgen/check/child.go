package check

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/proc"
)

// A model's server runs in a process of its own: this program run again
// (iolab itself, or a test binary), with childEnv set, which calls
// ServeChild. A process of its own is what makes the checks mean
// something:
//
//   - its threads, descriptors and resident memory are read from
//     /proc/PID and are the server's alone, not the clients';
//   - 10,000 clients and 10,000 server sockets do not share one process's
//     limit on open files;
//   - signals, and a reduced RLIMIT_NOFILE, reach the server and nothing
//     else;
//   - a model that crashes (thread exhaustion, say) ends its process, and
//     the check reports it instead of dying with it.
//
// The child logs as iolab serve -log-level debug does, JSON lines on
// stderr, which the check reads back into models.Event. It stops on
// SIGTERM, gracefully, as iolab serve does, and logs a usage event on
// SIGUSR1. On stdin it takes one command, "settle", and answers "settled"
// on stdout (see server.settle); when stdin closes, because the check has
// gone, it stops.

// childEnv carries the child's Spec, as JSON.
const childEnv = "IOLAB_CHECK_CHILD"

// Spec is the server a model's child runs: the flags of iolab serve that
// the scenarios change, always with the echo protocol on 127.0.0.1:0.
type Spec struct {
	// Model is the model's name, as Models spells it.
	Model string `json:"model"`
	// MaxLine, IdleTimeout, RequestTimeout, ShutdownTimeout, MaxConns,
	// MaxOutput, Backlog and Workers are the Config fields of the same
	// names; zero keeps models.DefaultConfig's.
	MaxLine         int           `json:"max_line,omitempty"`
	IdleTimeout     time.Duration `json:"idle_timeout,omitempty"`
	RequestTimeout  time.Duration `json:"request_timeout,omitempty"`
	ShutdownTimeout time.Duration `json:"shutdown_timeout,omitempty"`
	MaxConns        int           `json:"max_conns,omitempty"`
	MaxOutput       int           `json:"max_output,omitempty"`
	Backlog         int           `json:"backlog,omitempty"`
	Workers         int           `json:"workers,omitempty"`
	// Work is the work per request, as -work spells it; empty is none.
	Work string `json:"work,omitempty"`
	// NoFile, if not zero, is the child's RLIMIT_NOFILE, set before the
	// server starts (so before DefaultMaxConns reads it).
	NoFile uint64 `json:"nofile,omitempty"`
}

func (s Spec) encode() (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// Config returns the Config the child serves with.
func (s Spec) Config() (models.Config, error) {
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto = "127.0.0.1:0", models.Echo
	if s.MaxLine > 0 {
		cfg.MaxLine = s.MaxLine
	}
	if s.IdleTimeout > 0 {
		cfg.IdleTimeout = s.IdleTimeout
	}
	if s.RequestTimeout > 0 {
		cfg.RequestTimeout = s.RequestTimeout
	}
	if s.ShutdownTimeout > 0 {
		cfg.ShutdownTimeout = s.ShutdownTimeout
	}
	cfg.MaxConns, cfg.MaxOutput, cfg.Backlog, cfg.Workers = s.MaxConns, s.MaxOutput, s.Backlog, s.Workers
	if s.Work != "" {
		w, err := models.ParseWork(s.Work)
		if err != nil {
			return cfg, err
		}
		cfg.Work = w
	}
	return cfg, cfg.Validate()
}

// IsChild reports whether this process was started to serve a model for
// a check.
func IsChild() bool { return os.Getenv(childEnv) != "" }

// ServeChild serves the model its Spec names until SIGTERM, SIGINT or
// the end of its stdin, when this process is a model's server for a
// check (IsChild); a program that may be one calls it first thing. It
// returns an error if the server could not start or failed.
func ServeChild() error {
	var spec Spec
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &spec); err != nil {
		return fmt.Errorf("%s: %v", childEnv, err)
	}
	if spec.NoFile > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: spec.NoFile, Max: spec.NoFile}); err != nil {
			return err
		}
	}
	m, err := LookupModel(spec.Model)
	if err != nil {
		return err
	}
	cfg, err := spec.Config()
	if err != nil {
		return err
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	cfg.Log = zerolog.New(os.Stderr).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	srv, err := m.New(cfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	usage := make(chan os.Signal, 1)
	signal.Notify(usage, syscall.SIGUSR1)
	defer signal.Stop(usage)
	go func() { // until the stop below, whose ctx ends it
		for {
			select {
			case <-usage:
				logUsage(cfg.Log)
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { // until the check closes stdin, or the process exits
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "settle" {
				runtime.GC()
				debug.FreeOSMemory()
				fmt.Println("settled")
			}
		}
		stop()
	}()
	if err := srv.Serve(ctx, func(net.Addr) {}); err != nil {
		cfg.Log.Error().Err(err).Msg("serve failed")
		return err
	}
	return nil
}

// logUsage writes the usage event, as iolab serve does on SIGUSR1.
func logUsage(log zerolog.Logger) {
	u, err := proc.SelfUsage()
	if err != nil {
		log.Warn().Err(err).Msg("getrusage")
		return
	}
	s, _ := proc.Read(os.Getpid())
	models.LogUsage(log, models.Usage{Why: models.UsageOnSignal, User: u.User, System: u.System,
		Voluntary: u.Voluntary, Involuntary: u.Involuntary, MaxRSS: u.MaxRSS,
		Threads: s.Threads, RSS: s.RSS, FDs: s.FDs})
}

// Models are what a check of every model runs (-model all, make
// reliability, the tests): every registered model, and after epoll its
// edge-triggered variant (-edge, Config.Edge) and after reuseport its
// loops as processes (-procs, Config.Procs), each under a name of its
// own.
func Models() []models.Model {
	var out []models.Model
	for _, m := range models.All() {
		out = append(out, m)
		switch m.Name {
		case "epoll":
			out = append(out, variant(m, "-edge", func(cfg *models.Config) { cfg.Edge = true }))
		case "reuseport":
			out = append(out, variant(m, "-procs", func(cfg *models.Config) { cfg.Procs = true }))
		}
	}
	return out
}

// variant returns m under the name "m.Name flag", with set applied to
// every Config it is given.
func variant(m models.Model, flag string, set func(*models.Config)) models.Model {
	v := m
	v.Name = m.Name + " " + flag
	v.Build = func(cfg models.Config) models.Server {
		set(&cfg)
		return m.Build(cfg)
	}
	return v
}

// LookupModel returns the model of Models named name.
func LookupModel(name string) (models.Model, error) {
	var names []string
	for _, m := range Models() {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return models.Model{}, fmt.Errorf("unknown model %q (have %s)", name, strings.Join(names, ", "))
}
