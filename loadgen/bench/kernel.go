package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What the kernel sees of a server, beyond /proc's footprint: its system
// calls by name (perf stat on the syscall tracepoints, -syscalls), how
// long its threads waited for a CPU (schedstat), and the memory its
// sockets hold in the kernel (ss -tm).

// Syscalls counts the system calls of a server's process tree over the
// measured interval.
type Syscalls struct {
	// Total counts every system call (raw_syscalls:sys_enter).
	Total int64 `json:"total"`
	// ByName counts the calls of syscallNames that this kernel traces.
	ByName map[string]int64 `json:"by_name"`
}

// syscallNames are the calls the report names: how each model reads,
// writes, accepts and waits, and what threads and processes cost.
var syscallNames = []string{"read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg", "accept4", "getpeername",
	"setsockopt", "close", "epoll_pwait", "epoll_wait", "epoll_ctl", "io_uring_enter", "ppoll", "futex", "nanosleep", "sched_yield",
	"clone", "clone3", "execve", "wait4", "mmap", "munmap", "madvise", "tgkill", "rt_sigreturn"}

// tracingDir holds the kernel's tracepoints (tracefs).
const tracingDir = "/sys/kernel/tracing/events/syscalls"

// SyscallsUsable reports whether perf can count this machine's system
// calls: perf is installed, and this user may read tracepoints
// (root, CAP_PERFMON, or kernel.perf_event_paranoid at -1).
func SyscallsUsable() error {
	path, err := exec.LookPath("perf")
	if err != nil {
		return errors.New("perf is not installed (Debian and Ubuntu: apt install linux-perf, or linux-tools-$(uname -r))")
	}
	out, err := exec.Command(path, "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("perf cannot count system calls here (%v): %s; it needs root, CAP_PERFMON, or sysctl kernel.perf_event_paranoid=-1",
			err, firstLine(out))
	}
	return nil
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}

// syscallCounter is a perf stat process counting the system calls of a
// set of processes, their threads, and the threads and processes they
// start (perf stat inherits its counters to them).
type syscallCounter struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// startSyscalls starts counting the system calls of pids.
func startSyscalls(pids []int) (*syscallCounter, error) {
	events := []string{"raw_syscalls:sys_enter"}
	for _, name := range syscallNames {
		if _, err := os.Stat(tracingDir + "/sys_enter_" + name); err == nil {
			events = append(events, "syscalls:sys_enter_"+name)
		}
	}
	ps := make([]string, len(pids))
	for i, p := range pids {
		ps[i] = strconv.Itoa(p)
	}
	c := &syscallCounter{}
	c.cmd = exec.Command("perf", "stat", "-x,", "-e", strings.Join(events, ","), "-p", strings.Join(ps, ","))
	c.cmd.Stderr = &c.out // perf stat writes its counts on stderr
	c.cmd.SysProcAttr = orphanSignal()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: perf stat: %w", err)
	}
	return c, nil
}

// stop ends the count (SIGINT, as Ctrl-C would) and reads it.
func (c *syscallCounter) stop() (*Syscalls, error) {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
		return nil, errors.New("bench: perf stat did not stop")
	}
	return parsePerfStat(c.out.Bytes())
}

// parsePerfStat reads perf stat -x, output: COUNT,UNIT,EVENT,... per line.
func parsePerfStat(b []byte) (*Syscalls, error) {
	s := &Syscalls{ByName: map[string]int64{}}
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue // <not counted>, <not supported>, comments
		}
		switch ev := f[2]; {
		case ev == "raw_syscalls:sys_enter":
			s.Total, found = n, true
		case strings.HasPrefix(ev, "syscalls:sys_enter_"):
			s.ByName[strings.TrimPrefix(ev, "syscalls:sys_enter_")] = n
		}
	}
	if !found {
		return nil, fmt.Errorf("bench: perf stat counted nothing: %s", firstLine(b))
	}
	return s, nil
}

// runQueueWait sums, over the tasks (threads) of pids, the time each has
// spent runnable but not running: the second field of
// /proc/PID/task/TID/schedstat, in nanoseconds. It returns the total per
// task, so that a delta can count tasks that started in between.
func runQueueWait(pids []int) map[int]int64 {
	out := map[int]int64{}
	for _, pid := range pids {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			continue
		}
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) < 2 {
				continue
			}
			tid, _ := strconv.Atoi(t.Name())
			if ns, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				out[tid] = ns
			}
		}
	}
	return out
}

// waitDelta is the run-queue wait between two runQueueWait readings:
// what each task at the end waited since the start, or since it began.
// A task that ended in between takes its wait with it (the threads
// model's threads do), so this is a lower bound.
func waitDelta(start, end map[int]int64) int64 {
	var sum int64
	for tid, ns := range end {
		sum += ns - start[tid]
	}
	return sum
}

// SocketMemory is what the server's TCP sockets hold in the kernel, from
// ss -tmn (the skmem of each socket whose local port is the server's).
type SocketMemory struct {
	// Sockets is how many there were, listeners included.
	Sockets int `json:"sockets"`
	// Bytes is the sum of their receive memory (r), queued send memory (w)
	// and forward allocation (f): the socket buffers the kernel charges
	// to them.
	Bytes int64 `json:"bytes"`
}

// readSocketMemory runs ss for the sockets on port.
func readSocketMemory(port string) (*SocketMemory, error) {
	out, err := exec.Command("ss", "-Htmn", "sport", "=", ":"+port).Output()
	if err != nil {
		return nil, fmt.Errorf("bench: ss: %w", err)
	}
	return parseSS(out), nil
}

// parseSS sums the skmem fields of ss -tm output.
func parseSS(b []byte) *SocketMemory {
	m := &SocketMemory{}
	for _, line := range strings.Split(string(b), "\n") {
		_, skmem, ok := strings.Cut(line, "skmem:(")
		if !ok {
			continue
		}
		skmem, _, _ = strings.Cut(skmem, ")")
		m.Sockets++
		for _, kv := range strings.Split(skmem, ",") {
			for _, key := range []string{"r", "w", "f"} {
				if rest, ok := strings.CutPrefix(kv, key); ok {
					if n, err := strconv.ParseInt(rest, 10, 64); err == nil {
						m.Bytes += n
					}
				}
			}
		}
	}
	return m
}
