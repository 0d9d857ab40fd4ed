package bench

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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"iolab/models"
	"iolab/models/proc"
)

// server is one `iolab serve` child process: the server itself, or the
// `docker run` that runs it in a container (which streams the container's
// log, and passes SIGTERM on).
type server struct {
	cmd       *exec.Cmd
	pid       int     // the server's PID on this host, for /proc
	addr      string  // where clients connect (inside its container for docker-inside)
	container string  // the container's name, or ""
	workers   int     // from the server's start event
	requests  int64   // from the server's stop event
	loops     []int64 // from the server's stop event
	limitAt   int     // connections open when it logged max_conns_reached first; 0: never
	// diskMode and diskReadUs are, for disk: work, how the server's reads
	// miss the page cache and what one took as it opened the data file,
	// from its start event.
	diskMode   string
	diskReadUs int64
	// unavailable is why the model cannot serve on this system, from its
	// unavailable event (uring where io_uring is not allowed, as under
	// Docker's default seccomp profile).
	unavailable string
	life        *Lifetime
	exited      chan struct{} // closed when the log stream ends (external: when it has exited)
	log         *os.File
	// external is set for a server that is not a model (External): it
	// logs nothing the bench reads, and stops with stopExternal.
	external bool
	// perf, with -syscalls, is the perf stat that runs the server as its
	// workload and counts its system calls while the bench enables it.
	perf *perfStat
}

// Lifetime is what a server used over its whole life, from getrusage(2)
// as it exits (its last usage event): its own, exited threads included,
// plus that of the child processes it reaped; readable from a container
// as well.
type Lifetime struct {
	User        float64 `json:"user_s"`               // CPU seconds in user space
	System      float64 `json:"sys_s"`                // CPU seconds in the kernel
	Voluntary   int64   `json:"voluntary_switches"`   // context switches while waiting
	Involuntary int64   `json:"involuntary_switches"` // context switches forced by the scheduler
	Requests    int64   `json:"requests"`             // answered, by the server's own count
	// SwitchesUnknown is set where the context switches could not be
	// read: an external server in a container (stopExternal).
	SwitchesUnknown bool `json:"switches_unknown,omitempty"`
}

// UnavailableError says that a model cannot serve where the bench ran it:
// the uring model where io_uring is not allowed. The bench shows the row
// as unavailable, with the reason, instead of as failed.
type UnavailableError struct {
	Model, Env, Reason string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s cannot serve in %s: %s", e.Model, e.Env, e.Reason)
}

// startTimeout bounds how long a server may take to start listening.
const startTimeout = 20 * time.Second

// stopGrace is how long a server asked to stop (SIGTERM) has before it is
// killed: its shutdown timeout (-shutdown-timeout 2s), and some more.
const stopGrace = 5 * time.Second

// startServer starts the server for one run, pinned to the server's CPUs,
// and waits until it accepts connections. The server's log goes to
// logs/SCENARIO-MODEL[-ENV]-TAG.jsonl in the output folder, where tag is
// the run's client level, or "pair" for the servers of a paired
// comparison.
func startServer(ctx context.Context, cfg *Config, sc Scenario, e entry, tag string) (*server, error) {
	model, env := e.model, e.env
	serve := serveArgs(cfg, sc, e)
	pin := !cfg.NoPin && len(cfg.serverCPUs(sc)) > 0
	cpus := joinInts(cfg.serverCPUs(sc))
	s := &server{exited: make(chan struct{})}
	var argv []string
	switch env {
	case Native:
		argv = append([]string{cfg.Binary, "serve", "-addr", "127.0.0.1:0"}, serve...)
		if pin {
			argv = append(argv, "-cpus", cpus)
		}
		if cfg.Syscalls {
			var err error
			if s.perf, argv, err = underPerf(argv); err != nil {
				return nil, err
			}
		}
	default:
		s.container = fmt.Sprintf("iolab-bench-%d-%s-%s-%s", os.Getpid(), model, env, tag)
		argv, serve = dockerRun(cfg, env, s.container, pin, cpus, serve)
		argv = append(argv, serve...)
	}
	name := fmt.Sprintf("%s-%s-%s", sc.Name, model, tag)
	if len(cfg.Envs) > 1 {
		name = fmt.Sprintf("%s-%s-%s-%s", sc.Name, model, env, tag)
	}
	if len(sc.Backlogs) > 0 {
		name = fmt.Sprintf("%s-%s-backlog%d-%s", sc.Name, model, e.backlog, tag)
	}
	logDir := filepath.Join(cfg.OutDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(logDir, name+".jsonl"))
	if err != nil {
		return nil, err
	}
	s.log = logFile
	// On Ctrl-C, or any cancel, ask the server to stop gracefully; kill it
	// if it has not stopped stopGrace later. If the bench itself dies, the
	// kernel sends the server SIGTERM (Pdeathsig): no server is left behind.
	cmd := proc.Command(ctx, syscall.SIGTERM, stopGrace, argv[0], argv[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", model, err)
	}
	s.cmd, s.pid = cmd, cmd.Process.Pid
	addrs := make(chan string, 1)
	go s.readLog(stderr, addrs)
	if s.perf != nil {
		// perf stat is the child; the server is perf's. A server that
		// does not start has its perf's files removed with it.
		defer func() {
			if s.addr == "" {
				s.perf.close()
			}
		}()
		if s.pid, err = s.perf.workload(s.pid, s.exited); err != nil {
			_, _ = s.stop()
			return nil, err
		}
	}

	select {
	case s.addr = <-addrs:
	case <-s.exited:
		_, err := s.stop()
		if s.unavailable != "" {
			return nil, &UnavailableError{Model: model, Env: env, Reason: s.unavailable}
		}
		return nil, fmt.Errorf("%s exited before it listened: %v", model, err)
	case <-time.After(startTimeout):
		_, _ = s.stop()
		return nil, fmt.Errorf("%s did not start listening within %v", model, startTimeout)
	}
	if s.container != "" {
		if err := s.locate(env, 8000); err != nil {
			_, _ = s.stop()
			return nil, err
		}
	}
	if env == DockerInside {
		return s, nil // its address is inside the container
	}
	// The start event comes after listen(2), so the port accepts; check it
	// once, as a client would.
	c, err := net.DialTimeout("tcp", s.addr, cfg.Timeout)
	if err != nil {
		_, _ = s.stop()
		return nil, fmt.Errorf("%s does not accept on %s: %w", model, s.addr, err)
	}
	c.Close()
	return s, nil
}

// serveArgs returns the flags of `iolab serve` for model e in sc, but its
// address and CPUs, which depend on where it runs.
func serveArgs(cfg *Config, sc Scenario, e entry) []string {
	srv := models.DefaultConfig() // what the bench sets, as flags through Args
	srv.Workers, srv.Backlog = cfg.Workers, e.backlog
	srv.ShutdownTimeout = 2 * time.Second // the bench's shutdown waits for answers in flight at most this long
	srv.WorkMark = sc.Mark                // a mixed load: the work for the marked lines only
	// -proto and -work always, defaults or not: iolab serve takes those
	// from IOLAB_PROTO and IOLAB_WORK, which may be set where the bench
	// runs. The address is the environment's (startServer).
	serve := append([]string{"-model", e.model, "-proto", sc.Proto.String(), "-work", sc.Work.String(),
		"-log-level", "info", "-log-format", "json"}, srv.Args()...)
	return append(serve, sc.Serve[e.model]...)
}

// readLog copies the server's log to its file and picks out the events
// the bench needs: the address, the workers and the data file's mode and
// read latency from the start event, the requests from the stop event,
// and the lifetime usage from the usage event at exit.
func (s *server) readLog(r io.Reader, addrs chan<- string) {
	defer close(s.exited)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = s.log.Write(append(line, '\n'))
		var ev models.Event
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		// workers and the disk's are read once the address has been
		// received; requests and life by stop, after the stream ends.
		switch ev.Event {
		case models.EventStart:
			s.workers = ev.Workers
			s.diskMode, s.diskReadUs = ev.DiskMode, ev.DiskReadMicros
			addrs <- ev.Addr
		case models.EventStop:
			s.requests, s.loops = ev.Requests, ev.Loops
		case models.EventUnavailable:
			s.unavailable = ev.Error
		case models.EventLimitReached:
			if s.limitAt == 0 {
				s.limitAt = ev.Open
			}
		case models.EventUsage:
			if ev.Why != models.UsageAtExit {
				break
			}
			// The server's own getrusage plus its reaped children's
			// (RUSAGE_CHILDREN): in fork and prefork the children do the
			// serving. getrusage(2): RUSAGE_CHILDREN counts "all children
			// of the calling process that have terminated and been waited
			// for", and "grandchildren, and further removed descendants,
			// if all of the intervening descendants waited on their
			// terminated children". A child still running, or never
			// waited for, is not in it. The sum is what wait4(2) would
			// give the bench for the server: the kernel fills wait4's
			// rusage with getrusage(child, RUSAGE_BOTH), the child's own
			// and its children's (wait_task_zombie in kernel/exit.c; the
			// man page says only "accounting information about the
			// child", see getrusage(2); TestWaitCountsReapedDescendants
			// in models/proc checks it). The bench reads the server's
			// own account because in a container the bench's child is
			// docker run, not the server.
			s.life = &Lifetime{User: ev.UserS + ev.ChildUserS, System: ev.SysS + ev.ChildSysS,
				Voluntary: ev.Nvcsw + ev.ChildNvcsw, Involuntary: ev.Nivcsw + ev.ChildNivcsw}
		}
	}
}

// stop asks the server to stop (SIGTERM), waits for it, and returns what
// it used over its life. A server that does not stop within stopGrace is
// killed.
func (s *server) stop() (Lifetime, error) {
	defer s.log.Close()
	// Read the log to its end (s.exited) before Wait, which closes the
	// pipe: the last lines, the stop and usage events among them, would be
	// lost otherwise.
	proc.Stop(s.signal, syscall.SIGTERM, stopGrace, s.exited)
	err := s.cmd.Wait()
	if s.container != "" {
		removeContainer(s.container) // --rm did it, unless docker run was killed
	}
	var life Lifetime
	if s.life != nil {
		life = *s.life
		life.Requests = s.requests
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() != 0 {
		return life, fmt.Errorf("server exited with status %d (see %s)", exit.ExitCode(), s.log.Name())
	}
	if err != nil && !errors.As(err, &exit) {
		return life, err
	}
	if s.life == nil {
		return life, fmt.Errorf("server logged no exit usage (see %s)", s.log.Name())
	}
	return life, nil
}

// signal sends sig to the server. Under perf, the server is perf's child:
// asked to stop, the server alone is asked, and perf writes its counts and
// exits, with the server's status, once the server has exited; killed,
// both are.
func (s *server) signal(sig syscall.Signal) {
	if s.perf != nil && s.pid != s.cmd.Process.Pid {
		_ = syscall.Kill(s.pid, sig)
		if sig != syscall.SIGKILL {
			return
		}
	}
	_ = s.cmd.Process.Signal(sig)
}

// sampler reads the server's process tree in /proc (proc.ReadTree) every
// 100 ms until stopped.
type sampler struct {
	mu      sync.Mutex
	samples []Sample
	phase   string
	done    chan struct{}
	stopped chan struct{}
}

// Sample is one /proc sample of the server's process tree, at a time since
// the run began.
type Sample struct {
	proc.Sample
	Ms    int64  `json:"ms"`
	Phase string `json:"phase"` // warmup, measure or drain
}

// sampleEvery is the /proc sampling period.
const sampleEvery = 100 * time.Millisecond

func startSampler(pid int) *sampler {
	s := &sampler{phase: "warmup", done: make(chan struct{}), stopped: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			if ps, err := proc.ReadTree(pid); err == nil {
				s.mu.Lock()
				s.samples = append(s.samples, Sample{Sample: ps, Ms: time.Since(start).Milliseconds(), Phase: s.phase})
				s.mu.Unlock()
			}
			select {
			case <-t.C:
			case <-s.done:
				return
			}
		}
	}()
	return s
}

// measuring marks the samples that follow as measured (true) or as the
// drain after the measured interval (false).
func (s *sampler) measuring(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.phase = "measure"
	} else {
		s.phase = "drain"
	}
}

// stop ends the sampling and returns the samples.
func (s *sampler) stop() []Sample {
	close(s.done)
	<-s.stopped
	return s.samples
}

// summarizeServer turns the samples, the /proc readings at the start and
// end of the measured interval, and the server's lifetime usage into the
// run's server figures. Gauges (processes, threads, memory, descriptors)
// come from the samples of the measured interval; the CPU use of the
// interval from the stat of each process of the tree, which the kernel
// keeps for the whole thread group and for the children it has reaped; the
// cost per request from the lifetime usage over the server's own count of
// requests, because only getrusage(2) counts the context switches of
// threads and processes that have exited.
func summarizeServer(samples []Sample, start, end proc.Sample, seconds float64, life Lifetime) ServerStats {
	st := ServerStats{Samples: samples}
	n := 0
	for _, s := range samples {
		if s.Phase != "measure" {
			continue
		}
		n++
		st.ProcsPeak = max(st.ProcsPeak, s.Procs)
		st.ThreadsPeak = max(st.ThreadsPeak, s.Threads)
		st.RSSPeak = max(st.RSSPeak, s.RSS)
		st.FDsPeak = max(st.FDsPeak, s.FDs)
		st.ProcsMean += float64(s.Procs)
		st.ThreadsMean += float64(s.Threads)
		st.RSSMean += float64(s.RSS)
		st.FDsMean += float64(s.FDs)
	}
	if n > 0 {
		st.ProcsMean /= float64(n)
		st.ThreadsMean /= float64(n)
		st.RSSMean /= float64(n)
		st.FDsMean /= float64(n)
	}
	st.UserSeconds = float64(end.UserTicks-start.UserTicks) / proc.ClockTicks
	st.SysSeconds = float64(end.SysTicks-start.SysTicks) / proc.ClockTicks
	if seconds > 0 {
		st.CPUPercent = 100 * (st.UserSeconds + st.SysSeconds) / seconds
	}
	st.Life = life
	if life.Requests > 0 {
		st.CPUPerRequestUs = (life.User + life.System) * 1e6 / float64(life.Requests)
		if !life.SwitchesUnknown {
			st.SwitchesPerRequest = float64(life.Voluntary+life.Involuntary) / float64(life.Requests)
		}
	}
	return st
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}
