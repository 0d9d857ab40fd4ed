package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/proc"
)

// External is a server that is not one of iolab's models, given by its
// command line (iolab bench -server NAME=COMMAND): the tutorial's Python
// servers, say, or a student's own. The bench measures it as it measures
// the models: the same load, the same footprint of its process tree from
// /proc, the same tables and plots, a row named Name.
type External struct {
	// Name is its row in the tables.
	Name string `json:"name"`
	// Command is run by /bin/sh (as "exec COMMAND", so that the server is
	// the bench's child, not a shell's). Every "{port}" in it becomes the
	// port to listen on, which the environment also gives as PORT.
	Command string `json:"command"`
	// Port, if set, is the one port the server can listen on (the
	// tutorial's hard-coded 8000): NAME:PORT=COMMAND.
	Port int `json:"port,omitempty"`
	// Image, if set, runs the server in the docker environments: a
	// container of Image with its own command (the tutorial's Dockerfile
	// ends CMD ["python", "servidor.py"]), listening on Port, or 8000,
	// inside it. Without one the server runs natively only.
	Image string `json:"image,omitempty"`
}

// externalName is what a name may be: a table row and a file name.
var externalName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseExternal parses NAME=COMMAND or NAME:PORT=COMMAND.
func ParseExternal(spec string) (External, error) {
	head, command, ok := strings.Cut(spec, "=")
	if !ok || strings.TrimSpace(command) == "" {
		return External{}, fmt.Errorf("server %q: want NAME=COMMAND or NAME:PORT=COMMAND", spec)
	}
	e := External{Name: head, Command: strings.TrimSpace(command)}
	if name, port, ok := strings.Cut(head, ":"); ok {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return External{}, fmt.Errorf("server %q: %q is not a port", spec, port)
		}
		e.Name, e.Port = name, p
	}
	if !externalName.MatchString(e.Name) {
		return External{}, fmt.Errorf("server %q: name %q: use letters, digits, '.', '_' and '-'", spec, e.Name)
	}
	return e, nil
}

// externalStartTimeout is Config.ExternalStart's default.
const externalStartTimeout = 10 * time.Second

// startExternal starts e for one run in env, pinned to the server's CPUs,
// and waits until a socket listens on its port: /proc/PID/net/tcp says so
// without a connection, which a greeting server would answer and count.
// In a container that file shows the container's own network namespace,
// read from the host through the server's process. Its output goes to
// logs/SCENARIO-NAME[-ENV]-TAG.log (tag as for startServer).
func startExternal(ctx context.Context, cfg *Config, sc Scenario, e External, env, tag string) (*server, error) {
	port := e.Port
	if port == 0 && env != Native {
		port = 8000 // the tutorial's, and the port the images EXPOSE
	}
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	} else if env != DockerBridge && env != DockerInside && proc.ListeningIn(hostNet, port) {
		return nil, fmt.Errorf("%s: port %d is taken by another program; stop it first", e.Name, port)
	}
	logDir := filepath.Join(cfg.OutDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s-%s-%s", sc.Name, e.Name, tag)
	if len(cfg.Envs) > 1 {
		name = fmt.Sprintf("%s-%s-%s-%s", sc.Name, e.Name, env, tag)
	}
	logFile, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	s := &server{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), exited: make(chan struct{}), log: logFile, external: true}
	var cmd *exec.Cmd
	if env == Native {
		command := strings.ReplaceAll(e.Command, "{port}", strconv.Itoa(port))
		cmd = proc.Command(ctx, syscall.SIGTERM, stopGrace, "/bin/sh", "-c", "exec "+command)
		cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	} else {
		s.container = fmt.Sprintf("iolab-bench-%d-%s-%s-%s", os.Getpid(), e.Name, env, tag)
		argv := externalRun(cfg, e, env, s.container, port)
		cmd = proc.Command(ctx, syscall.SIGTERM, stopGrace, argv[0], argv[1:]...)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", e.Name, err)
	}
	s.cmd = cmd
	if env == Native {
		s.pid = cmd.Process.Pid
	}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	// Pinned as iolab serve -cpus pins itself; the threads it starts later
	// inherit the mask. A server in a container is pinned as soon as it is
	// found, before it listens, and so before its first client.
	pin := func() error {
		if cpus := cfg.serverCPUs(sc); !cfg.NoPin && len(cpus) > 0 {
			return proc.PinPid(s.pid, cpus)
		}
		return nil
	}
	if s.pid != 0 {
		if err := pin(); err != nil {
			_, _ = s.stopExternal()
			return nil, err
		}
	}
	wait := cfg.ExternalStart
	if wait <= 0 {
		wait = externalStartTimeout
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.pid == 0 && s.locateExternal(env, port) {
			if err := pin(); err != nil {
				_, _ = s.stopExternal()
				return nil, err
			}
		}
		if s.pid != 0 && proc.ListeningIn(filepath.Join("/proc", strconv.Itoa(s.pid), "net"), port) {
			return s, nil
		}
		select {
		case <-s.exited:
			_, err := s.stopExternal()
			why := lastLine(logFile.Name())
			if strings.Contains(why, "ddress already in use") {
				// iolab load resets its connections, but another client
				// (the tutorial's own) leaves them in TIME_WAIT on the
				// server's side for 60 s, and a server that does not set
				// SO_REUSEADDR cannot bind the port meanwhile.
				why += fmt.Sprintf("; connections in TIME_WAIT on port %d (ss -tan state time-wait) keep a server without SO_REUSEADDR from binding it for 60 s", port)
			}
			return nil, fmt.Errorf("%s exited before it listened on port %d (%v): %s", e.Name, port, err, why)
		case <-deadline.C:
			_, _ = s.stopExternal()
			return nil, fmt.Errorf("%s did not listen on port %d within %v (does it take its port from {port} or $PORT?)",
				e.Name, port, wait)
		case <-tick.C:
		}
	}
}

// stopExternal stops an external server: SIGTERM, then SIGKILL stopGrace
// later. What it used comes from wait4(2), through os.ProcessState: its
// own usage and that of the children it waited for. Ended by either
// signal, it stopped as asked.
//
// In a container the bench's child is docker run, not the server, and
// wait4 says nothing of it: its CPU time, its own and its reaped
// children's, is read from /proc before it is stopped, and its context
// switches are not known (/proc keeps no count of the threads that have
// exited, and the tutorial's threaded server starts one per client).
// Docker's init then exits with 128 plus the signal that ended the server.
func (s *server) stopExternal() (Lifetime, error) {
	defer s.log.Close()
	var life Lifetime
	if s.container != "" {
		if s.pid != 0 {
			if ps, err := proc.ReadTree(s.pid); err == nil {
				life.User, life.System = float64(ps.UserTicks)/proc.ClockTicks, float64(ps.SysTicks)/proc.ClockTicks
			}
		}
		life.SwitchesUnknown = true
		defer removeContainer(s.container) // --rm did it, unless docker run was killed
	}
	proc.Stop(func(sig syscall.Signal) { _ = s.cmd.Process.Signal(sig) }, syscall.SIGTERM, stopGrace, s.exited)
	st := s.cmd.ProcessState
	if st == nil {
		return life, errors.New("the server was not waited for")
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok && s.container == "" {
		life = Lifetime{User: tvSeconds(ru.Utime), System: tvSeconds(ru.Stime), Voluntary: ru.Nvcsw, Involuntary: ru.Nivcsw}
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() && (ws.Signal() == syscall.SIGTERM || ws.Signal() == syscall.SIGKILL) {
		return life, nil
	}
	if code := st.ExitCode(); s.container != "" && (code == 128+int(syscall.SIGTERM) || code == 128+int(syscall.SIGKILL)) {
		return life, nil
	}
	if !st.Success() {
		return life, fmt.Errorf("server %s (see %s)", st, s.log.Name())
	}
	return life, nil
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// hostNet is the bench's own network namespace in /proc.
const hostNet = "/proc/net"

// lastLine returns the last non-empty line of a file, for an error
// message: a Python traceback ends with its cause.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no output)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return fmt.Sprintf("its last line: %q (all in %s)", last, path)
	}
	return "(no output)"
}

// externalRequests is what an external server answered over its life, as
// the load generator counts it (it logs no stop event): the warm-up's
// requests and the measured ones.
func externalRequests(res *loadgen.Result) int64 {
	if res == nil || len(res.Levels) == 0 {
		return 0
	}
	return res.Levels[0].Requests + res.Levels[0].Warmup.Requests
}

// checkExternals reports the first thing wrong with cfg.Externals.
func (cfg *Config) checkExternals() error {
	seen := map[string]bool{}
	for _, e := range cfg.Externals {
		if _, err := models.Lookup(e.Name); err == nil {
			return fmt.Errorf("server %s: a model has that name", e.Name)
		}
		if e.Name == CServerName {
			return fmt.Errorf("server %s: the bench's C server has that name", e.Name)
		}
		if seen[e.Name] {
			return fmt.Errorf("server %s given twice", e.Name)
		}
		seen[e.Name] = true
	}
	for _, e := range cfg.Externals {
		for _, env := range cfg.Envs {
			if env != Native && e.Image == "" {
				return fmt.Errorf("server %s has no image to run in %s (-server-image %s=IMAGE)", e.Name, env, e.Name)
			}
		}
	}
	return nil
}
