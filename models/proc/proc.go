// Package proc reads what the kernel says about a process in /proc
// (proc(5)): its threads, resident memory, CPU time and open files. Read
// looks at one process; ReadTree at a process and every process descended
// from it, which is what a server made of several processes (fork,
// prefork) costs. iolab bench samples each server with ReadTree.
//
// It lives with the models, and imports nothing of iolab, because both
// sides of the lab read /proc: `iolab serve` logs the server's own
// footprint in its usage event and the models' leak checks count a
// server's threads and descriptors, while the load generator reads its
// own CPU time and pins itself, and the bench samples the server from
// outside.
//
// For the same reason it holds how iolab stops the processes it starts:
// Command for the bench's servers and the load processes, Stop for those
// and for the models' worker processes. Each is asked to stop, and killed
// only if it will not.
package proc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Sample is one look at a process, or at a process tree (ReadTree), whose
// figures are then the sums over its processes.
type Sample struct {
	// Procs is the number of processes sampled: 1 for Read, the server
	// and its descendants for ReadTree.
	Procs int `json:"procs"`
	// Threads is the number of tasks (OS threads), from status.
	Threads int `json:"threads"`
	// RSS is the resident set size in bytes, from status (VmRSS). Summed
	// over a tree it counts a page shared by several processes (the
	// binary's text, memory not yet copied after fork) once in each.
	RSS int64 `json:"rss_bytes"`
	// RSSAnon is the anonymous part of RSS (status RssAnon): the heap,
	// stacks and other private memory, without the program's code and
	// other file pages, which are shared and do not grow per connection.
	RSSAnon int64 `json:"rss_anon_bytes"`
	// UserTicks and SysTicks are the CPU time of the whole thread group,
	// exited threads included, in clock ticks (stat fields 14 and 15).
	// ReadTree adds the time of the children each process has waited
	// for (fields 16 and 17), so that a child that exits and is reaped
	// between two samples still counts.
	UserTicks int64 `json:"utime_ticks"`
	SysTicks  int64 `json:"stime_ticks"`
	// FDs is the number of open file descriptors (entries of fd/): each
	// process has its own table, so a socket inherited by every child
	// counts once in each. -1 if some fd/ could not be read.
	FDs int `json:"fds"`
}

// ClockTicks is USER_HZ, the unit of stat's times: 100 on every Linux
// architecture Go supports.
const ClockTicks = 100

// Read samples process pid alone: Procs is 1.
func Read(pid int) (Sample, error) {
	return ReadDir(filepath.Join("/proc", strconv.Itoa(pid)))
}

// ReadDir samples the process whose /proc directory is dir; tests point it
// at fixtures.
func ReadDir(dir string) (Sample, error) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Sample{}, err
	}
	st, err := ParseStat(b)
	if err != nil {
		return Sample{}, err
	}
	return readProcess(dir, st)
}

// readProcess samples the process whose /proc directory is dir and whose
// stat has been read as st.
func readProcess(dir string, st Stat) (Sample, error) {
	s := Sample{Procs: 1, UserTicks: st.UTime, SysTicks: st.STime}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return s, err
	}
	if s.Threads, s.RSS, err = ParseStatus(status); err != nil {
		return s, err
	}
	s.RSSAnon = statusKB(status, "RssAnon")
	// fd/ is readable only by the process's owner (or root): another
	// user's server, as in a container, reports -1.
	fds, err := os.ReadDir(filepath.Join(dir, "fd"))
	if errors.Is(err, fs.ErrPermission) {
		s.FDs = -1
		return s, nil
	}
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	return s, nil
}

// ReadTree samples process pid and every process descended from it, and
// returns the sums. A process that exits during the walk is left out; a
// zombie (exited, not yet reaped by its parent) still counts as a process,
// as ps shows it, with no memory and no descriptors. Only pid itself
// missing is an error.
//
// A process reaped while the walk is under way may have its CPU time
// missed, or counted twice (in its own stat, then in its parent's
// children's time): at most one process's time, in one sample.
func ReadTree(pid int) (Sample, error) { return readTree("/proc", pid) }

// Descendants returns the PIDs of pid's children, their children, and so
// on, zombies included, from one scan of /proc.
func Descendants(pid int) ([]int, error) {
	_, children, err := scan("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	todo := []int{pid}
	seen := map[int]bool{pid: true}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, c := range children[p] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				todo = append(todo, c)
			}
		}
	}
	return out, nil
}

// readTree is ReadTree over the /proc directory root.
func readTree(root string, pid int) (Sample, error) {
	stats, children, err := scan(root)
	if err != nil {
		return Sample{}, err
	}
	if _, ok := stats[pid]; !ok {
		return Sample{}, fmt.Errorf("proc: no process %d: %w", pid, fs.ErrNotExist)
	}
	var sum Sample
	// seen guards against a loop: the scan is not one instant, and a PID
	// reused during it could make two processes each other's parent.
	seen := map[int]bool{pid: true}
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, c := range children[p] {
			if !seen[c] {
				seen[c] = true
				todo = append(todo, c)
			}
		}
		st := stats[p]
		s, err := readProcess(filepath.Join(root, strconv.Itoa(p)), st)
		switch {
		case err != nil && p == pid:
			return Sample{}, err
		case err != nil:
			continue // it exited after the scan
		}
		sum.Procs++
		sum.Threads += s.Threads
		sum.RSS += s.RSS
		sum.RSSAnon += s.RSSAnon
		sum.UserTicks += s.UserTicks + st.CUTime
		sum.SysTicks += s.SysTicks + st.CSTime
		if s.FDs < 0 || sum.FDs < 0 {
			sum.FDs = -1
		} else {
			sum.FDs += s.FDs
		}
	}
	return sum, nil
}

// scan reads the stat of every process in the /proc directory root, and
// returns them by PID, with each process's children.
//
// The tree is found from the parent PIDs (stat field 4) of every process
// on the machine, not from /proc/PID/task/TID/children, for three
// reasons. children lists the children of one thread (the one that forked
// them), so a server of 10,000 threads would need 10,000 reads; it exists
// only in kernels built with CONFIG_PROC_CHILDREN; and
// proc_tid_children(5) says it is reliable only while the children are
// stopped or frozen: children exiting while it is read may hide others
// that are not, which is the fork model's steady state. A scan
// costs one small read per process on the machine (a few hundred),
// whatever the server's threads, and stat's parent is a process, never a
// thread. Processes started during the scan may be missed until the next.
func scan(root string) (stats map[int]Stat, children map[int][]int, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	stats, children = make(map[int]Stat), make(map[int][]int)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process: self, sys, meminfo...
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue // it exited since the directory was read
		}
		st, err := ParseStat(b)
		if err != nil {
			continue
		}
		stats[pid] = st
		children[st.PPID] = append(children[st.PPID], pid)
	}
	return stats, children, nil
}

// ErrFormat is returned for a file that does not look like proc(5) says.
var ErrFormat = errors.New("proc: unexpected format")

// ParseStatus reads the thread count and VmRSS (in bytes) from the
// contents of /proc/PID/status. A kernel thread or a zombie has no VmRSS
// line; its RSS is 0.
func ParseStatus(b []byte) (threads int, rss int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	seen := false
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "Threads":
			if threads, err = strconv.Atoi(val); err != nil {
				return 0, 0, fmt.Errorf("%w: Threads %q", ErrFormat, val)
			}
			seen = true
		case "VmRSS":
			num, unit, _ := strings.Cut(val, " ")
			kb, err := strconv.ParseInt(num, 10, 64)
			if err != nil || unit != "kB" {
				return 0, 0, fmt.Errorf("%w: VmRSS %q", ErrFormat, val)
			}
			rss = kb << 10
		}
	}
	if !seen {
		return 0, 0, fmt.Errorf("%w: no Threads line in status", ErrFormat)
	}
	return threads, rss, nil
}

// statusKB returns the field key of a status file, "Key:  123 kB", in
// bytes; 0 if it is missing (RssAnon is there from Linux 4.5).
func statusKB(b []byte, key string) int64 {
	return parseMeminfo(b, key)
}

// Stat is what iolab reads from /proc/PID/stat.
type Stat struct {
	// PPID is the parent process (field 4): the process whose thread
	// forked this one, or the one it was reparented to when that exited.
	PPID int
	// UTime and STime are the CPU time of the thread group in user and
	// kernel mode, exited threads included, in clock ticks (fields 14
	// and 15).
	UTime, STime int64
	// CUTime and CSTime are the CPU time of the children this process has
	// waited for, and of the descendants they waited for (fields 16 and
	// 17).
	CUTime, CSTime int64
}

// ParseStat reads the contents of /proc/PID/stat. The command name, field
// 2, is in parentheses and may itself hold spaces and parentheses, so
// fields are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	var st Stat
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return st, fmt.Errorf("%w: no command name in stat", ErrFormat)
	}
	fields := strings.Fields(string(b[end+1:]))
	// fields[0] is field 3 (state), so field n is fields[n-3].
	if len(fields) < 15 {
		return st, fmt.Errorf("%w: stat has %d fields after the name", ErrFormat, len(fields))
	}
	for _, f := range []struct {
		n   int
		dst *int64
	}{{14, &st.UTime}, {15, &st.STime}, {16, &st.CUTime}, {17, &st.CSTime}} {
		v, err := strconv.ParseInt(fields[f.n-3], 10, 64)
		if err != nil {
			return st, fmt.Errorf("%w: stat field %d %q", ErrFormat, f.n, fields[f.n-3])
		}
		*f.dst = v
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return st, fmt.Errorf("%w: ppid %q", ErrFormat, fields[1])
	}
	st.PPID = ppid
	return st, nil
}
