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

	"iolab/loadgen/proc"
)

// server is one `iolab serve` child process.
type server struct {
	cmd    *exec.Cmd
	pid    int
	addr   string
	usages chan usage    // "usage" events, as the server logs them
	exited chan struct{} // closed when the log stream ends
	log    *os.File
}

// usage is the server's own getrusage(2), from its "usage" event.
type usage struct {
	User        float64 `json:"user_s"`
	System      float64 `json:"sys_s"`
	Voluntary   int64   `json:"nvcsw"`
	Involuntary int64   `json:"nivcsw"`
}

// startTimeout bounds how long a server may take to start listening.
const startTimeout = 10 * time.Second

// startServer starts `iolab serve` for one run, pinned to the server's
// CPUs, and waits until it accepts connections. The server's log goes to
// logs/SCENARIO-MODEL-CLIENTS.jsonl in the output folder.
func startServer(ctx context.Context, cfg *Config, sc Scenario, model string, clients int) (*server, error) {
	args := []string{"serve", "-model", model, "-addr", "127.0.0.1:0", "-proto", sc.Proto.String(),
		"-work", sc.Work.String(), "-log-level", "info", "-log-format", "json",
		// The bench's shutdown waits for answers in flight at most this long.
		"-shutdown-timeout", "2s"}
	if !cfg.NoPin && len(cfg.ServerCPUs) > 0 {
		args = append(args, "-cpus", joinInts(cfg.ServerCPUs))
	}
	logDir := filepath.Join(cfg.OutDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(logDir, fmt.Sprintf("%s-%s-%d.jsonl", sc.Name, model, clients)))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, cfg.Binary, args...)
	// On Ctrl-C, or any cancel, ask the server to stop gracefully; kill it
	// if it has not stopped 5 s later. If the bench itself dies, the kernel
	// sends the server SIGTERM (Pdeathsig): no server is left behind.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = orphanSignal()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("bench: start %s: %w", model, err)
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, usages: make(chan usage, 4), exited: make(chan struct{}), log: logFile}
	addrs := make(chan string, 1)
	go s.readLog(stderr, addrs)

	select {
	case s.addr = <-addrs:
	case <-s.exited:
		return nil, fmt.Errorf("bench: %s exited before it listened: %v", model, s.stop())
	case <-time.After(startTimeout):
		_ = s.stop()
		return nil, fmt.Errorf("bench: %s did not start listening within %v", model, startTimeout)
	}
	// The start event comes after listen(2), so the port accepts; check it
	// once, as a client would.
	c, err := net.DialTimeout("tcp", s.addr, cfg.Timeout)
	if err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("bench: %s does not accept on %s: %w", model, s.addr, err)
	}
	c.Close()
	return s, nil
}

// readLog copies the server's log to its file and picks out the events
// the bench needs: the address from "start", and each "usage".
func (s *server) readLog(r io.Reader, addrs chan<- string) {
	defer close(s.exited)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = s.log.Write(append(line, '\n'))
		var ev struct {
			Event string `json:"event"`
			Addr  string `json:"addr"`
			usage
		}
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		switch ev.Event {
		case "start":
			addrs <- ev.Addr
		case "usage":
			select {
			case s.usages <- ev.usage:
			default:
			}
		}
	}
}

// usage asks the server for its resource usage (SIGUSR1) and waits for the
// answer in its log.
func (s *server) usage() (usage, error) {
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return usage{}, err
	}
	select {
	case u := <-s.usages:
		return u, nil
	case <-s.exited:
		return usage{}, errors.New("server exited")
	case <-time.After(5 * time.Second):
		return usage{}, errors.New("no usage event within 5s")
	}
}

// stop asks the server to stop (SIGTERM), waits for it, and reports how it
// ended. A server that does not stop within 5 s is killed.
func (s *server) stop() error {
	defer s.log.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.AfterFunc(5*time.Second, func() { _ = s.cmd.Process.Kill() })
	defer timer.Stop()
	err := s.cmd.Wait()
	<-s.exited
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() != 0 {
		return fmt.Errorf("server exited with status %d (see %s)", exit.ExitCode(), s.log.Name())
	}
	if err != nil && !errors.As(err, &exit) {
		return err
	}
	return nil
}

// sampler reads /proc/PID every 100 ms until stopped.
type sampler struct {
	mu      sync.Mutex
	samples []Sample
	phase   string
	done    chan struct{}
	stopped chan struct{}
}

// Sample is one /proc sample of the server, at a time since the run began.
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
			if ps, err := proc.Read(pid); err == nil {
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

// summarizeServer turns the samples and the two usage readings into the
// run's server figures. Gauges (threads, memory, descriptors) come from the
// samples of the measured interval; counters (CPU, context switches) from
// the difference of the server's own getrusage at its start and end.
func summarizeServer(samples []Sample, before, after usage, requests int64, seconds float64) ServerStats {
	st := ServerStats{Samples: samples}
	n := 0
	for _, s := range samples {
		if s.Phase != "measure" {
			continue
		}
		n++
		st.ThreadsPeak = max(st.ThreadsPeak, s.Threads)
		st.RSSPeak = max(st.RSSPeak, s.RSS)
		st.FDsPeak = max(st.FDsPeak, s.FDs)
		st.ThreadsMean += float64(s.Threads)
		st.RSSMean += float64(s.RSS)
		st.FDsMean += float64(s.FDs)
	}
	if n > 0 {
		st.ThreadsMean /= float64(n)
		st.RSSMean /= float64(n)
		st.FDsMean /= float64(n)
	}
	st.UserSeconds = after.User - before.User
	st.SysSeconds = after.System - before.System
	st.Voluntary = after.Voluntary - before.Voluntary
	st.Involuntary = after.Involuntary - before.Involuntary
	if requests > 0 {
		st.CPUPerRequestUs = (st.UserSeconds + st.SysSeconds) * 1e6 / float64(requests)
		st.SwitchesPerRequest = float64(st.Voluntary+st.Involuntary) / float64(requests)
	}
	if seconds > 0 {
		st.CPUPercent = 100 * (st.UserSeconds + st.SysSeconds) / seconds
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
