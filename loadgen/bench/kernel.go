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

	"iolab/models/proc"
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
// writes, accepts and waits (pread64: disk work reads the data file), and
// what threads and processes cost. getsockopt and getsockname are the
// calls that come with an accept: golang.org/x/sys/unix's Accept4 and
// Getpeername ask the socket's protocol (SO_PROTOCOL) to decode an IPv4 or
// IPv6 address, and Go's net package asks each accepted connection's local
// address. Any call missing here still counts in Total, the "all" column.
var syscallNames = []string{"read", "pread64", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg", "accept4", "getpeername",
	"getsockname", "getsockopt", "setsockopt", "close", "epoll_pwait", "epoll_wait", "epoll_ctl", "io_uring_enter", "ppoll", "futex", "nanosleep", "sched_yield",
	"clone", "clone3", "execve", "wait4", "mmap", "munmap", "madvise", "tgkill", "rt_sigreturn"}

// tracingDir holds the kernel's tracepoints (tracefs).
const tracingDir = "/sys/kernel/tracing/events/syscalls"

// syscallEvents lists the tracepoints to count: every system call, and
// those of syscallNames that this kernel traces.
func syscallEvents() []string {
	events := []string{"raw_syscalls:sys_enter"}
	for _, name := range syscallNames {
		if _, err := os.Stat(tracingDir + "/sys_enter_" + name); err == nil {
			events = append(events, "syscalls:sys_enter_"+name)
		}
	}
	return events
}

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
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error // cmd.Wait's result
}

// startSyscalls starts counting the system calls of the processes that
// pids lists (each call gives the current list). perf stat attaches to
// every thread of each, and gives up if one exits while it does, as the
// threads of the threads model and the children of the fork model come
// and go all the time; so a perf that exits at once is started again, on
// a fresh list, a few times.
func startSyscalls(pids func() []int) (*syscallCounter, error) {
	events := syscallEvents()
	var last error
	for range 8 {
		c, err := attachSyscalls(events, pids())
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// attachSyscalls starts one perf stat on pids, and waits a moment for it
// to fail to attach.
func attachSyscalls(events []string, pids []int) (*syscallCounter, error) {
	ps := make([]string, len(pids))
	for i, p := range pids {
		ps[i] = strconv.Itoa(p)
	}
	c := &syscallCounter{done: make(chan error, 1)}
	c.cmd = exec.Command("perf", "stat", "-x,", "-e", strings.Join(events, ","), "-p", strings.Join(ps, ","))
	c.cmd.Stderr = &c.out // perf stat writes its counts on stderr
	c.cmd.SysProcAttr = proc.OrphanSignal()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf stat: %w", err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	select {
	case err := <-c.done:
		return nil, fmt.Errorf("perf stat could not attach (%v): %s", err, firstLine(c.out.Bytes()))
	case <-time.After(20 * time.Millisecond):
		return c, nil // attached: perf says at once when it cannot
	}
}

// stop ends the count (SIGINT, as Ctrl-C would) and reads it.
func (c *syscallCounter) stop() (*Syscalls, error) {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return nil, errors.New("perf stat did not stop")
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
		return nil, fmt.Errorf("perf stat counted nothing: %s", firstLine(b))
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
	// Sockets is how many there were, Listeners among them.
	Sockets   int `json:"sockets"`
	Listeners int `json:"listeners"`
	// Bytes is the sum of their receive memory (r), queued send memory (w)
	// and forward allocation (f): the socket buffers the kernel charges
	// to them.
	Bytes int64 `json:"bytes"`
}

// PerConnection is the bytes per connected socket, if there is one.
func (m *SocketMemory) PerConnection() (float64, bool) {
	if m == nil || m.Sockets <= m.Listeners {
		return 0, false
	}
	return float64(m.Bytes) / float64(m.Sockets-m.Listeners), true
}

// readSocketMemory runs ss for the sockets on port.
func readSocketMemory(port string) (*SocketMemory, error) {
	out, err := exec.Command("ss", "-Htmn", "sport", "=", ":"+port).Output()
	if err != nil {
		return nil, fmt.Errorf("ss: %w", err)
	}
	return parseSS(out), nil
}

// parseSS sums the skmem fields of ss -tm output.
func parseSS(b []byte) *SocketMemory {
	m := &SocketMemory{}
	state := "" // a socket's line, then its skmem on the next (or the same)
	for _, line := range strings.Split(string(b), "\n") {
		head, skmem, ok := strings.Cut(line, "skmem:(")
		if f := strings.Fields(head); len(f) > 0 {
			state = f[0]
		}
		if !ok {
			continue
		}
		skmem, _, _ = strings.Cut(skmem, ")")
		m.Sockets++
		if state == "LISTEN" {
			m.Listeners++
		}
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

// perfStat runs a server under perf stat from its first instruction, its
// counters disabled (-D -1), and switches them on and off through perf's
// control FIFO at the measured interval's start and end. Counters are
// inherited by every thread and process the server starts, and a thread's
// or child's count is folded into its parent's when it exits: no thread is
// missed, however briefly it lived. (Attaching perf stat -p to a running
// server instead races with its threads: the threads model's come and go
// by the thousand, and perf gives up on a thread that exits while it
// attaches, or reads "<not counted>".)
type perfStat struct {
	dir      string   // holds the FIFOs and the counts
	ctl, ack *os.File // perf's control FIFO, and its acknowledgements
	outPath  string   // perf stat -o: the counts, once perf has exited
}

// underPerf returns argv run under perf stat, and the perfStat that
// controls it.
func underPerf(argv []string) (*perfStat, []string, error) {
	dir, err := os.MkdirTemp("", "iolab-perf-")
	if err != nil {
		return nil, nil, err
	}
	p := &perfStat{dir: dir, outPath: dir + "/counts"}
	for _, f := range []string{"ctl", "ack"} {
		if err := syscall.Mkfifo(dir+"/"+f, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, nil, fmt.Errorf("mkfifo: %w", err)
		}
	}
	// O_RDWR: opening a FIFO for reading or writing alone would wait for
	// the other end, perf, which opens them only once it has started.
	if p.ctl, err = os.OpenFile(dir+"/ctl", os.O_RDWR, 0); err == nil {
		p.ack, err = os.OpenFile(dir+"/ack", os.O_RDWR, 0)
	}
	if err != nil {
		p.close()
		return nil, nil, err
	}
	events := syscallEvents()
	wrapped := append([]string{"perf", "stat", "-x,", "-o", p.outPath, "-e", strings.Join(events, ","),
		"--control", "fifo:" + dir + "/ctl," + dir + "/ack", "-D", "-1", "--"}, argv...)
	return p, wrapped, nil
}

// workload returns the server's pid: perf's child, once it has one.
func (p *perfStat) workload(perfPid int, exited <-chan struct{}) (int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", perfPid, perfPid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			return strconv.Atoi(f[0])
		}
		select {
		case <-exited:
			return 0, errors.New("perf stat exited before it started the server")
		case <-time.After(5 * time.Millisecond):
		}
	}
	return 0, errors.New("perf stat did not start the server")
}

// command sends perf a control command ("enable", "disable") and waits for
// its acknowledgement.
func (p *perfStat) command(cmd string) error {
	if _, err := p.ctl.WriteString(cmd + "\n"); err != nil {
		return err
	}
	_ = p.ack.SetReadDeadline(time.Now().Add(2 * time.Second)) // a FIFO opened by os.OpenFile is pollable
	buf := make([]byte, 16)
	if _, err := p.ack.Read(buf); err != nil {
		return fmt.Errorf("perf stat did not acknowledge %q: %w", cmd, err)
	}
	return nil
}

// counts reads what perf wrote as it exited.
func (p *perfStat) counts() (*Syscalls, error) {
	b, err := os.ReadFile(p.outPath)
	if err != nil {
		return nil, err
	}
	return parsePerfStat(b)
}

// close releases the FIFOs and the folder.
func (p *perfStat) close() {
	for _, f := range []*os.File{p.ctl, p.ack} {
		if f != nil {
			f.Close()
		}
	}
	os.RemoveAll(p.dir)
}
