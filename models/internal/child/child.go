// Package child starts and runs the processes of the fork and prefork
// models, and the loop processes of reuseport -procs.
//
// A Go program cannot fork(2) without exec(2): the runtime runs several
// threads, and a forked child would hold only a copy of the one that
// forked, with the others' locks still held. So a child is this same
// program started again (os.Executable), told by its environment what to
// be, and handed the sockets it needs as inherited descriptors (fd 3 on):
// the listening socket for a prefork worker or a loop process, one
// connection for a fork child. Each model's init calls Main, which runs
// the child and exits before main (or a test binary's TestMain) runs, as
// Docker's reexec package does; the model's child function calls Serve,
// which does what every child does and leaves the model only how it
// waits. What that costs beside a C server's bare fork(2), a whole
// program and Go runtime started per child, is measured in notes/.
//
// A parent starts each child with a Spawner. A fork parent starts one per
// connection and reaps it; a parent with a fixed set of children, a
// prefork pool or reuseport's loop processes, keeps them in a Pool, which
// replaces one that dies and stops them all at shutdown.
//
// A child writes its log events as JSON lines on its stderr, a pipe to the
// parent, which re-logs them through its own logger (Relay), so that a
// server's log is one stream whatever its processes. A child's stop event,
// its totals, is added to the parent's instead (models.Stats.Add).
package child

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"github.com/rs/zerolog"

	"iolab/models"
)

// The environment that tells a process it is a child, and of what.
const (
	roleEnv = "IOLAB_CHILD"      // the role: "prefork" or "fork"
	specEnv = "IOLAB_CHILD_SPEC" // the Spec, as JSON
)

// FirstFile is the descriptor of the first file a child inherits.
const FirstFile = 3

// Spec is what a child serves with: the parent's Config, in a form that
// crosses exec(2), and what is the child's own.
type Spec struct {
	// Args are the parent's Config as flags of `iolab serve`
	// (models.Config.Args): only those that differ from the defaults.
	Args []string `json:"args,omitempty"`
	// Level is the log level, as zerolog spells it.
	Level string `json:"level"`
	// Conn, for a fork child, is its connection's number in the parent's
	// accept order.
	Conn uint64 `json:"conn,omitempty"`
	// OnWork says the parent's Config has an OnWork hook (tests): the
	// child writes WorkBegins on its stdout where it would call it, and
	// the parent calls it.
	OnWork bool `json:"on_work,omitempty"`
}

// What a child writes on its stdout, a pipe the parent reads (Hooks), one
// byte each: that it is up, a prefork worker's state for the parent's
// count of busy workers, and the start of a request's work for a
// Config.OnWork hook.
const (
	Ready      = 'r' // up: about to wait for its first client
	Busy       = '+'
	Idle       = '-'
	WorkBegins = 'w'
)

// Tell writes b on the child's stdout, for its parent's Hooks.
func Tell(b byte) { _, _ = os.Stdout.Write([]byte{b}) }

// Hooks are what a parent does with the bytes a child tells it. A nil
// hook ignores its byte; Ready closes the channel Child.Ready returns.
// WorkBegins goes to the parent's Config.OnWork (Spawner.Start).
type Hooks struct {
	State func(busy bool) // Busy (true) and Idle (false)
}

// hooked is a child's stdout as its parent reads it.
type hooked struct {
	state   func(busy bool) // Hooks.State
	work    func()          // the parent's Config.OnWork
	readyCh chan struct{}
	once    sync.Once
}

// Write dispatches what a child wrote on its stdout; the pipe's copying
// goroutine (exec.Cmd) is its only caller.
func (h *hooked) Write(p []byte) (int, error) {
	for _, b := range p {
		switch {
		case b == Ready:
			h.ready()
		case (b == Busy || b == Idle) && h.state != nil:
			h.state(b == Busy)
		case b == WorkBegins && h.work != nil:
			h.work()
		}
	}
	return len(p), nil
}

func (h *hooked) ready() { h.once.Do(func() { close(h.readyCh) }) }

// SpecOf returns the Spec of cfg.
func SpecOf(cfg *models.Config) Spec {
	return Spec{Args: cfg.Args(), Level: cfg.Log.GetLevel().String(), OnWork: cfg.OnWork != nil}
}

// Config returns the Config a child serves with: s, and a logger that
// writes JSON lines to stderr, for the parent to relay.
func (s Spec) Config() (models.Config, error) {
	cfg := models.DefaultConfig()
	if err := cfg.ParseArgs(s.Args); err != nil {
		return cfg, err
	}
	lvl, err := zerolog.ParseLevel(s.Level)
	if err != nil {
		return cfg, err
	}
	cfg.Log = zerolog.New(os.Stderr).Level(lvl)
	if s.OnWork {
		cfg.OnWork = func() { Tell(WorkBegins) }
	}
	return cfg, cfg.Validate()
}

// Main runs child as this process, and exits with its status, if the
// process was started as a child in role. Otherwise it returns at once.
// A model package calls it from init.
func Main(role string, child func(Spec) int) {
	if os.Getenv(roleEnv) != role {
		return
	}
	var s Spec
	if err := json.Unmarshal([]byte(os.Getenv(specEnv)), &s); err != nil {
		fmt.Fprintf(os.Stderr, "iolab %s child: bad %s: %v\n", role, specEnv, err)
		os.Exit(2)
	}
	os.Exit(child(s))
}

// Serve is what every child's life has in common, around serve, which is
// the model's own: it takes the parent's Config from spec, runs serve with
// it, its context ended by SIGTERM (the parent's stop) or SIGINT (Ctrl-C
// at a terminal), and returns the exit status for Main: 0 once serve has
// returned, 1 if serve failed, 2 if spec is unusable. An error goes to
// stderr as "name: error", a line the parent relays as an error.
func Serve(name string, spec Spec, serve func(ctx context.Context, cfg *models.Config) error) int {
	cfg, err := spec.Config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// Spawner starts children, all from one OS thread that it keeps for as
// long as it lives. A child is started with a parent-death signal
// (PR_SET_PDEATHSIG, SIGKILL), so that a parent killed outright leaves no
// orphan behind; but the kernel sends it when the thread that forked the
// child ends, not the process (golang/go#27505), and the Go runtime ends
// a thread whenever a goroutine locked to it returns, as the threads
// model's do. Forking from one locked thread that outlives every child
// makes the signal mean what it says.
type Spawner struct {
	cfg   *models.Config             // the parent's
	relay func(pid int, line []byte) // re-logs a child's stderr lines
	reqs  chan func()
	done  chan struct{}
}

// NewSpawner starts the spawning thread of a parent that serves cfg. Its
// children's log lines are logged again through cfg.Log, and their totals
// added to stats (Relay). Close it once every child it started has
// exited.
func NewSpawner(cfg *models.Config, stats *models.Stats) *Spawner {
	s := &Spawner{cfg: cfg, relay: Relay(cfg.Log, stats), reqs: make(chan func()), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with Close
		defer close(s.done)
		for f := range s.reqs {
			f()
		}
	}()
	return s
}

// Close ends the spawning thread, which would kill any child still
// running.
func (s *Spawner) Close() {
	close(s.reqs)
	<-s.done
}

// Child is a running child process.
type Child struct {
	// Pid is its process id.
	Pid  int
	cmd  *exec.Cmd
	out  *hooked // nil: the child's stdout is /dev/null
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

// Start starts a child in role with spec, inheriting files as descriptors
// 3, 4 and so on. Each line it writes on stderr is relayed (NewSpawner).
// With hooks, the parent reads the child's stdout (one more pipe) and
// acts on the bytes the child tells it. So it does, hooks or not, when
// the parent's Config has an OnWork hook (tests): this is that hook's
// parent half, which calls it when the child tells WorkBegins (the
// child's half is in Spec.Config). Otherwise the child's stdout is
// /dev/null. The files are the caller's to close once Start has
// returned: the child has its own copies.
func (s *Spawner) Start(role string, spec Spec, files []*os.File, hooks *Hooks) (*Child, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"="+role, specEnv+"="+string(raw))
	cmd.ExtraFiles = files
	var out *hooked
	if hooks != nil || s.cfg.OnWork != nil {
		out = &hooked{work: s.cfg.OnWork, readyCh: make(chan struct{})}
		if hooks != nil {
			out.state = hooks.State
		}
		cmd.Stdout = out // exec.Cmd makes the pipe, copies it, and Wait waits for the copy
	}
	cmd.SysProcAttr = sysProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	started := make(chan error, 1)
	s.reqs <- func() { started <- cmd.Start() }
	if err := <-started; err != nil {
		_ = stderr.Close()
		return nil, fmt.Errorf("child: start %s: %w", role, err)
	}
	c := &Child{Pid: cmd.Process.Pid, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.relay(c.Pid, sc.Bytes())
		}
		_, _ = io.Copy(io.Discard, stderr) // a line too long: drain, or the child blocks
		c.err = cmd.Wait()                 // after the pipe's end, as exec.Cmd asks
		if out != nil {
			out.ready() // a child that exits before it is up is not awaited
		}
		close(c.done)
	}()
	return c, nil
}

// Ready is closed once the child has told its parent Ready, or has
// exited. Only a child whose stdout the parent reads can tell.
func (c *Child) Ready() <-chan struct{} {
	if c.out == nil {
		return c.done
	}
	return c.out.readyCh
}

// Done is closed once the child has exited and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err is how the child ended (nil for exit status 0); valid once Done is
// closed.
func (c *Child) Err() error { return c.err }

// Signal sends sig to the child, if it is still running.
func (c *Child) Signal(sig syscall.Signal) {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Signal(sig)
	}
}

// Relay returns the function that re-logs a child's stderr lines through
// log, and adds a child's stop event to stats instead of logging it. A
// line that is not a JSON object (a Go panic, say) is logged as an error
// with the child's pid.
func Relay(log zerolog.Logger, stats *models.Stats) func(pid int, line []byte) {
	return func(pid int, line []byte) {
		var e models.Event
		var fields map[string]any
		if json.Unmarshal(line, &fields) != nil || json.Unmarshal(line, &e) != nil {
			log.Error().Int("pid", pid).Str("output", string(line)).Msg("a child wrote this on stderr")
			return
		}
		if e.Event == models.EventStop {
			stats.Add(e)
			return
		}
		lvl, err := zerolog.ParseLevel(e.Level)
		if err != nil || e.Level == "" {
			lvl = zerolog.NoLevel
		}
		for _, k := range []string{zerolog.TimestampFieldName, zerolog.LevelFieldName, zerolog.MessageFieldName} {
			delete(fields, k)
		}
		log.WithLevel(lvl).Fields(fields).Msg(e.Message)
	}
}
