package models_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/proc"
)

// The reliability suite serves each model in a child process: the test
// binary run again, with relChildEnv set, running only
// TestHelperReliabilityServer. A process of its own is what makes the
// checks mean something:
//
//   - its threads, descriptors and resident memory are read from
//     /proc/PID and are the server's alone, not the load generator's;
//   - 10,000 clients and 10,000 server sockets do not share one process's
//     limit on open files;
//   - signals, and a reduced RLIMIT_NOFILE, reach the server and nothing
//     else;
//   - a model that crashes (thread exhaustion, say) ends the child, and
//     the suite reports it instead of dying with it.
//
// The child logs as iolab serve -log-level debug does, JSON lines on
// stderr, which the parent reads back into models.Event. It stops on
// SIGTERM, gracefully, as iolab serve does, and logs a usage event on
// SIGUSR1. On stdin it takes one command, "settle", and answers "settled"
// on stdout (see child.settle); when stdin closes, because the parent has
// gone, it stops.

// relChildEnv carries the child's childSpec, as JSON.
const relChildEnv = "IOLAB_RELIABILITY_CHILD"

// childSpec is the server a child runs: the flags of iolab serve that the
// scenarios change, always with the echo protocol on 127.0.0.1:0.
type childSpec struct {
	// Model is the model's name.
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

// config returns the Config the child serves with.
func (s childSpec) config() (models.Config, error) {
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

// TestHelperReliabilityServer is the child of TestReliability; it does
// nothing in a normal test run.
func TestHelperReliabilityServer(t *testing.T) {
	raw := os.Getenv(relChildEnv)
	if raw == "" {
		t.Skip("child process helper")
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatalf("%s: %v", relChildEnv, err)
	}
	if spec.NoFile > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: spec.NoFile, Max: spec.NoFile}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := lookupSuiteModel(spec.Model)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := spec.config()
	if err != nil {
		t.Fatal(err)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	cfg.Log = zerolog.New(os.Stderr).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	srv, err := m.New(cfg)
	if err != nil {
		t.Fatal(err)
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
				logChildUsage(cfg.Log)
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { // until the parent closes stdin, or the process exits
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
		os.Exit(1)
	}
}

// logChildUsage writes the usage event, as iolab serve does on SIGUSR1.
func logChildUsage(log zerolog.Logger) {
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

// child is a server model running in a child process.
type child struct {
	spec  childSpec
	cmd   *exec.Cmd
	pid   int
	addr  string       // where it listens, from its start event
	start models.Event // its start event
	log   *logbook     // everything it logged

	stdin   io.WriteCloser
	settled chan struct{} // a "settled" line arrived on stdout
	exited  chan struct{} // closed once the process has exited
	waitErr error         // cmd.Wait's error, set before exited is closed
	ended   atomic.Bool   // the suite asked it to end (SIGTERM or SIGKILL)
}

// startChild starts a child serving spec and waits for its start event.
// The child is killed when the test ends, if it has not stopped by then.
func startChild(t *testing.T, spec childSpec) (*child, error) {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperReliabilityServer$")
	// Under the race detector a process sleeps a second as it exits
	// (GORACE atexit_sleep_ms), which every stop would wait for.
	cmd.Env = append(os.Environ(), relChildEnv+"="+string(raw),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	c := &child{spec: spec, cmd: cmd, log: newLogbook(),
		settled: make(chan struct{}, 1), exited: make(chan struct{})}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.pid = cmd.Process.Pid
	var readers sync.WaitGroup
	readers.Go(func() { c.log.read(stderr) })
	readers.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "settled" {
				c.settled <- struct{}{}
				continue
			}
			c.log.addOther(sc.Text()) // the test framework's own lines

		}
	})
	go func() {
		readers.Wait() // Wait closes the pipes: read them to the end first
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(c.kill)

	if !c.log.await(patience, func(l *tally) bool { return l.start != nil }) {
		c.kill()
		return nil, fmt.Errorf("no start event within %v: %s", patience, c.log.trouble())
	}
	c.start = *c.log.tally().start
	c.addr = c.start.Addr
	return c, nil
}

// kill ends the child at once, if it is still running, and waits for it.
func (c *child) kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	c.ended.Store(true)
	_ = c.stdin.Close()
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// crashed reports whether the child exited without being asked to.
func (c *child) crashed() bool { return !c.running() && !c.ended.Load() }

// running reports whether the child has not exited.
func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// died says how the child ended, if it has: its exit status and what it
// said that was not a log event (a Go runtime fatal error, say).
func (c *child) died() string {
	if c.running() {
		return ""
	}
	return fmt.Sprintf("the server exited (%v): %s", c.waitErr, c.log.trouble())
}

// signal sends sig to the child process.
func (c *child) signal(sig syscall.Signal) error {
	return syscall.Kill(c.pid, sig)
}

// settle asks the child to collect its garbage and return the free memory
// to the kernel (runtime.GC, debug.FreeOSMemory), and waits until it has.
// An idle Go process does that by itself only at the next forced GC, up to
// two minutes later, so without it the resident memory after a scenario
// would say more about the runtime's timing than about what the model
// still holds.
func (c *child) settle() error {
	if _, err := io.WriteString(c.stdin, "settle\n"); err != nil {
		return err
	}
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case <-c.settled:
		return nil
	case <-c.exited:
		return errors.New(c.died())
	case <-t.C:
		return fmt.Errorf("the server did not settle within %v", patience)
	}
}

// sample reads the threads, descriptors and memory of the child's whole
// process tree from /proc: for fork, prefork and reuseport -procs the
// server is the parent and its processes, and a figure of the parent alone
// would leave out nearly all of it.
func (c *child) sample() (proc.Sample, error) { return proc.ReadTree(c.pid) }

// openFiles lists what the descriptors of the child's process tree point
// at ("pid 123 fd 7: socket:[4567]"), for a failure to name what was left
// open.
func (c *child) openFiles() []string {
	pids, _ := proc.Descendants(c.pid)
	var out []string
	for _, pid := range append([]int{c.pid}, pids...) {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // it exited
		}
		for _, e := range entries {
			if to, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil {
				out = append(out, fmt.Sprintf("pid %d fd %s: %s", pid, e.Name(), to))
			}
		}
	}
	return out
}

// newFiles returns, as one line, the entries of now that were not in
// before.
func newFiles(before, now []string) string {
	had := make(map[string]bool, len(before))
	for _, f := range before {
		had[f] = true
	}
	var fresh []string
	for _, f := range now {
		if !had[f] {
			fresh = append(fresh, f)
		}
	}
	if len(fresh) == 0 {
		return "none"
	}
	if len(fresh) > 8 {
		fresh = append(fresh[:8], fmt.Sprintf("and %d more", len(fresh)-8))
	}
	return strings.Join(fresh, ", ")
}

// stop sends SIGTERM, as a user's Ctrl-C or kill would, and waits for the
// child to exit, at most the shutdown timeout and patience. It returns
// how long that took.
func (c *child) stop() (time.Duration, error) {
	began := time.Now()
	if c.running() {
		c.ended.Store(true)
		if err := c.signal(syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return 0, err
		}
	}
	cfg, _ := c.spec.config()
	limit := cfg.ShutdownTimeout + patience
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-c.exited:
	case <-t.C:
		c.kill()
		return time.Since(began), fmt.Errorf("the server did not exit within %v of SIGTERM", limit)
	}
	took := time.Since(began)
	if c.waitErr != nil {
		return took, fmt.Errorf("the server exited with %v: %s", c.waitErr, c.log.trouble())
	}
	if c.log.tally().stop == nil {
		return took, fmt.Errorf("the server exited without a stop event: %s", c.log.trouble())
	}
	return took, nil
}

// logbook is what a child has logged: its events, decoded, and a running
// tally of them.
type logbook struct {
	mu      sync.Mutex
	events  []models.Event
	other   []string      // lines that are not events: a race report, a panic
	count   tally         // the running tally of events
	changed chan struct{} // closed, and replaced, when a line arrives
	closed  bool          // the child's stderr has ended
}

// tally counts a child's events as they arrive, so that waiting for a
// condition costs nothing per line.
type tally struct {
	start, stop   *models.Event
	opens, closes int
	reasons       map[string]int // closes by reason
	acceptErrors  int
	limitReached  int
	limitLeft     int
	usage         int
	childExits    int
}

func newLogbook() *logbook {
	return &logbook{changed: make(chan struct{}), count: tally{reasons: map[string]int{}}}
}

// read reads the child's stderr to its end.
func (b *logbook) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		b.add(sc.Text())
	}
	b.mu.Lock()
	b.closed = true
	close(b.changed)
	b.mu.Unlock()
}

// add records one line.
func (b *logbook) add(line string) {
	var e models.Event
	err := json.Unmarshal([]byte(line), &e)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil || e.Event == "" {
		b.other = append(b.other, line)
	} else {
		b.events = append(b.events, e)
		b.count.add(&b.events[len(b.events)-1])
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

// addOther records a line that is not an event.
func (b *logbook) addOther(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.other = append(b.other, line)
}

// add counts e.
func (l *tally) add(e *models.Event) {
	switch e.Event {
	case models.EventStart:
		l.start = e
	case models.EventStop:
		l.stop = e
	case models.EventConnOpen:
		l.opens++
	case models.EventConnClose:
		l.closes++
		l.reasons[e.Reason]++
	case models.EventAcceptError:
		l.acceptErrors++
	case models.EventLimitReached:
		l.limitReached++
	case models.EventLimitLeft:
		l.limitLeft++
	case models.EventUsage:
		l.usage++
	case models.EventChildExit:
		l.childExits++
	}
}

// tally returns a copy of the running tally.
func (b *logbook) tally() tally {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.count
	c.reasons = make(map[string]int, len(b.count.reasons))
	for k, v := range b.count.reasons {
		c.reasons[k] = v
	}
	return c
}

// since returns the events logged after the first n.
func (b *logbook) since(n int) []models.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]models.Event(nil), b.events[min(n, len(b.events)):]...)
}

// len returns how many events have been logged.
func (b *logbook) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.events)
}

// await waits, at most d, until ok is true of the tally; ok runs with the
// logbook locked, so it must be quick. It returns false if d passes, or
// if the child's stderr ends, first.
func (b *logbook) await(d time.Duration, ok func(*tally) bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		b.mu.Lock()
		done, changed, closed := ok(&b.count), b.changed, b.closed
		b.mu.Unlock()
		if done {
			return true
		}
		if closed {
			return false
		}
		select {
		case <-changed:
		case <-t.C:
			return false
		}
	}
}

// awaitMore waits, at most d, until more than n events have been logged.
func (b *logbook) awaitMore(n int, d time.Duration) bool {
	return b.await(d, func(*tally) bool { return len(b.events) > n }) // b.mu is held
}

// trouble returns what the child wrote that was not an event (the Go
// runtime's fatal errors, gnet's own log) and its error events, the first
// six lines of it.
func (b *logbook) trouble() string {
	lines := b.troubleLines()
	if len(lines) == 0 {
		return "nothing on stderr but its log"
	}
	if len(lines) > 6 {
		lines = append(lines[:6], fmt.Sprintf("(%d more lines)", len(lines)-6))
	}
	return strings.Join(lines, " | ")
}

// troubleSays reports whether any line of the child's trouble, not only
// the first six, contains s.
func (b *logbook) troubleSays(s string) bool {
	return slices.ContainsFunc(b.troubleLines(), func(l string) bool { return strings.Contains(l, s) })
}

// troubleLines returns every line of trouble.
func (b *logbook) troubleLines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	for _, l := range b.other {
		var e models.Event // a log line without an event: gnet's own, say
		switch {
		case l == "PASS" || strings.HasPrefix(l, "ok "):
		case json.Unmarshal([]byte(l), &e) != nil:
			lines = append(lines, l)
		case e.Level == "error" || e.Level == "fatal" || e.Level == "panic":
			lines = append(lines, strings.TrimSuffix(e.Message+": "+e.Error, ": "))
		}
	}
	for _, e := range b.events {
		if e.Level == "error" {
			lines = append(lines, e.Event+": "+e.Error+" "+e.Message)
		}
	}
	return lines
}

// raced reports whether the child's race detector found a data race.
func (b *logbook) raced() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.other {
		if strings.Contains(l, "WARNING: DATA RACE") {
			return true
		}
	}
	return false
}
