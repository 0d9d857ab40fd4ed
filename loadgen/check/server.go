package check

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/proc"
)

// server is the server a scenario plays against. Three kinds, by what
// the check may do with it:
//
//   - one of iolab's models (-model): a process of its own for each
//     scenario, started with the scenario's settings, its JSON log read
//     back into events, its memory settled on demand (see ServeChild);
//   - a command (-server): started by the check and left running from
//     one scenario to the next (a server that binds a fixed port without
//     SO_REUSEADDR could not bind it again for a minute), started again
//     only if it is gone; its process tree is read from /proc, and its
//     output is kept for what a failure quotes;
//   - an address (-addr): a server already running, judged from what a
//     client sees alone.
type server struct {
	addr  string
	start models.Event // a model's start event: its settings
	log   *logbook     // what it wrote; nil for an address
	spec  Spec         // a model's settings

	// The process, for a model or a command; cmd is nil for an address.
	cmd     *exec.Cmd
	pid     int
	stdin   io.WriteCloser // a model's: "settle" goes there
	settled chan struct{}  // a "settled" line arrived on a model's stdout
	exited  chan struct{}  // closed once the process has exited
	waitErr error          // cmd.Wait's error, set before exited is closed
	ended   atomic.Bool    // the check asked it to end (SIGTERM or SIGKILL)
}

// startModel starts a model's server with spec's settings and waits for
// its start event. self is the command line that runs this program as a
// model's server (ServeChild).
func startModel(self []string, spec Spec) (*server, error) {
	raw, err := spec.encode()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self[0], self[1:]...)
	// Under the race detector a process sleeps a second as it exits
	// (GORACE atexit_sleep_ms), which every stop would wait for.
	cmd.Env = append(os.Environ(), childEnv+"="+raw,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.SysProcAttr = proc.OrphanSignal()
	s := &server{spec: spec, cmd: cmd, log: newLogbook(true), settled: make(chan struct{}, 1), exited: make(chan struct{})}
	if s.stdin, err = cmd.StdinPipe(); err != nil {
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
	if err := s.run(stderr, func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "settled" {
				s.settled <- struct{}{}
				continue
			}
			s.log.addOther(sc.Text()) // the test framework's own lines
		}
	}); err != nil {
		return nil, err
	}
	if !s.log.await(patience, func(l *tally) bool { return l.start != nil }) {
		s.kill()
		return nil, fmt.Errorf("no start event within %v: %s", patience, s.log.trouble())
	}
	s.start = *s.log.tally().start
	s.addr = s.start.Addr
	return s, nil
}

// startCommand starts command with /bin/sh, as "exec COMMAND" so that
// the server is the shell's process, with PORT set to addr's port, and
// waits until something listens at addr.
func startCommand(command, addr string) (*server, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if listening(addr) {
		return nil, fmt.Errorf("something already listens at %s: stop it first, or check it with -addr", addr)
	}
	cmd := exec.Command("/bin/sh", "-c", "exec "+command)
	cmd.Env = append(os.Environ(), "PORT="+port)
	cmd.SysProcAttr = proc.OrphanSignal()
	s := &server{addr: addr, cmd: cmd, log: newLogbook(false), exited: make(chan struct{})}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // one stream, in the order it was written
	if err := s.run(out, nil); err != nil {
		return nil, err
	}
	tick := time.NewTicker(20 * time.Millisecond) // another process's sockets: nothing to wait on
	defer tick.Stop()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for !listening(addr) {
		select {
		case <-s.exited:
			why := s.died()
			if strings.Contains(why, "ddress already in use") {
				why += fmt.Sprintf("; connections in TIME_WAIT on port %s (ss -tan state time-wait) keep a server without SO_REUSEADDR from binding it for 60 s", port)
			}
			return nil, fmt.Errorf("%s before it listened at %s", why, addr)
		case <-deadline.C:
			s.kill()
			return nil, fmt.Errorf("nothing listened at %s within %v of the start (does the server listen there, or take its port from $PORT?): %s", addr, patience, s.log.trouble())
		case <-tick.C:
		}
	}
	return s, nil
}

// run starts s.cmd, reads its stderr (or combined output) into the log
// and, if not nil, other reads the rest; once both are done it waits for
// the process.
func (s *server) run(stderr io.Reader, other func()) error {
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.pid = s.cmd.Process.Pid
	var readers sync.WaitGroup
	readers.Go(func() { s.log.read(stderr) })
	if other != nil {
		readers.Go(other)
	}
	go func() {
		readers.Wait() // Wait closes the pipes: read them to the end first
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return nil
}

// atAddr is a server already running at addr.
func atAddr(addr string) *server { return &server{addr: addr} }

// process reports whether the check runs the server's process.
func (s *server) process() bool { return s.cmd != nil }

// kill ends the process at once, if it is still running, and waits for it.
func (s *server) kill() {
	if !s.process() || !s.running() {
		return
	}
	s.ended.Store(true)
	if s.stdin != nil {
		_ = s.stdin.Close()
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// crashed reports whether the process exited without being asked to.
func (s *server) crashed() bool { return s.process() && !s.running() && !s.ended.Load() }

// running reports whether the process has not exited; a server at an
// address is taken to be running.
func (s *server) running() bool {
	if !s.process() {
		return true
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// died says how the process ended, if it has: its exit status and what
// it said that was not a log event (a Go runtime fatal error, a Python
// traceback).
func (s *server) died() string {
	if s.running() {
		return ""
	}
	return fmt.Sprintf("the server process is gone (%v): %s", s.waitErr, s.log.trouble())
}

// signal sends sig to the process. (A pid of 0 would signal the
// check's own process group: a server at an address has no process.)
func (s *server) signal(sig syscall.Signal) error {
	if !s.process() || s.pid <= 0 {
		return errors.New("the check does not run the server's process")
	}
	return syscall.Kill(s.pid, sig)
}

// settle asks a model's server to collect its garbage and return the
// free memory to the kernel (runtime.GC, debug.FreeOSMemory), and waits
// until it has. An idle Go process does that by itself only at the next
// forced GC, up to two minutes later, so without it the resident memory
// after a scenario would say more about the runtime's timing than about
// what the model still holds. Any other server cannot be asked.
func (s *server) settle() error {
	if s.stdin == nil {
		return nil
	}
	if _, err := io.WriteString(s.stdin, "settle\n"); err != nil {
		return err
	}
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case <-s.settled:
		return nil
	case <-s.exited:
		return errors.New(s.died())
	case <-t.C:
		return fmt.Errorf("the server did not settle within %v", patience)
	}
}

// sample reads the threads, descriptors and memory of the server's whole
// process tree from /proc: for fork, prefork and reuseport -procs the
// server is the parent and its processes, and a figure of the parent
// alone would leave out nearly all of it.
func (s *server) sample() (proc.Sample, error) { return proc.ReadTree(s.pid) }

// openFiles lists what the descriptors of the server's process tree
// point at ("pid 123 fd 7: socket:[4567]"), for a failure to name what
// was left open.
func (s *server) openFiles() []string {
	pids, _ := proc.Descendants(s.pid)
	var out []string
	for _, pid := range append([]int{s.pid}, pids...) {
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

// stop sends SIGTERM, as a user's Ctrl-C or kill would, and waits for
// the process to exit, at most grace and patience (SIGKILL then). It
// returns how long that took, and an error if the server did not exit
// with status 0 (or, for a model, without its stop event).
func (s *server) stop(grace time.Duration) (time.Duration, error) {
	if !s.process() {
		return 0, errors.New("the check does not run the server's process")
	}
	began := time.Now()
	if s.running() {
		s.ended.Store(true)
		if err := s.signal(syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return 0, err
		}
	}
	limit := grace + patience
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
		s.kill()
		return time.Since(began), fmt.Errorf("the server did not exit within %v of SIGTERM", limit)
	}
	took := time.Since(began)
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return took, fmt.Errorf("the server was killed by %s: it does not handle SIGTERM, so it cannot finish what it has in flight and exit 0", unix.SignalName(ws.Signal()))
	}
	if s.waitErr != nil {
		return took, fmt.Errorf("the server exited with %v on SIGTERM, not 0: %s", s.waitErr, s.log.trouble())
	}
	if s.log.events && s.log.tally().stop == nil {
		return took, fmt.Errorf("the server exited without a stop event: %s", s.log.trouble())
	}
	return took, nil
}

// listening reports whether a socket listens at addr, from /proc/net/tcp
// (or tcp6): without a connection, which a greeting server would answer
// and a sequential one would serve instead of the next client.
func listening(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && proc.Listening(n)
}

// Server is one of iolab's models serving in a process of its own, as
// the checks start it, for a test that needs the process itself.
type Server struct{ s *server }

// StartModel starts a model's server with spec's settings; self is the
// command line that runs this program as a model's server (ServeChild).
func StartModel(self []string, spec Spec) (*Server, error) {
	s, err := startModel(self, spec)
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// Addr is where the server listens.
func (s *Server) Addr() string { return s.s.addr }

// PID is the server's process.
func (s *Server) PID() int { return s.s.pid }

// Kill ends the server at once and waits for it; it may be called again.
func (s *Server) Kill() { s.s.kill() }

// AwaitChildExit waits, at most d, until the server has logged the exit
// of one of its processes (models.EventChildExit).
func (s *Server) AwaitChildExit(d time.Duration) bool {
	return s.s.log.await(d, func(l *tally) bool { return l.childExits > 0 })
}
