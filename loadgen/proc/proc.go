// Package proc reads what the kernel says about a process in /proc
// (proc(5)): its threads, resident memory, CPU time and open files. iolab
// bench samples each server with it.
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

// Sample is one look at a process.
type Sample struct {
	// Threads is the number of tasks (OS threads), from status.
	Threads int `json:"threads"`
	// RSS is the resident set size in bytes, from status (VmRSS).
	RSS int64 `json:"rss_bytes"`
	// UserTicks and SysTicks are the CPU time of the whole thread group,
	// exited threads included, in clock ticks (stat fields 14 and 15).
	UserTicks int64 `json:"utime_ticks"`
	SysTicks  int64 `json:"stime_ticks"`
	// FDs is the number of open file descriptors (entries of fd/).
	FDs int `json:"fds"`
}

// ClockTicks is USER_HZ, the unit of stat's times: 100 on every Linux
// architecture Go supports.
const ClockTicks = 100

// Read samples process pid.
func Read(pid int) (Sample, error) {
	return ReadDir(filepath.Join("/proc", strconv.Itoa(pid)))
}

// ReadDir samples the process whose /proc directory is dir; tests point it
// at fixtures.
func ReadDir(dir string) (Sample, error) {
	var s Sample
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return s, err
	}
	if s.Threads, s.RSS, err = ParseStatus(status); err != nil {
		return s, err
	}
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return s, err
	}
	if s.UserTicks, s.SysTicks, err = ParseStat(stat); err != nil {
		return s, err
	}
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

// ParseStat reads utime and stime (clock ticks) from the contents of
// /proc/PID/stat. The command name, field 2, is in parentheses and may
// itself hold spaces and parentheses, so fields are counted from the last
// ')'.
func ParseStat(b []byte) (utime, stime int64, err error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, 0, fmt.Errorf("%w: no command name in stat", ErrFormat)
	}
	fields := strings.Fields(string(b[end+1:]))
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	if len(fields) < 13 {
		return 0, 0, fmt.Errorf("%w: stat has %d fields after the name", ErrFormat, len(fields))
	}
	if utime, err = strconv.ParseInt(fields[11], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("%w: utime %q", ErrFormat, fields[11])
	}
	if stime, err = strconv.ParseInt(fields[12], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("%w: stime %q", ErrFormat, fields[12])
	}
	return utime, stime, nil
}
