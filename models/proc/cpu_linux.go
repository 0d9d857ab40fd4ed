//go:build linux

package proc

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Pin restricts the whole process, every thread it has and every thread it
// will start, to cpus (sched_setaffinity(2)), and sets GOMAXPROCS to match,
// so that a server and its load generator stay off each other's CPUs.
func Pin(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	// runtime.NumCPU counts the CPUs this process may use now, which a
	// parent's pinning may have narrowed; the kernel knows which exist, and
	// says EINVAL if none of the set does.
	var set unix.CPUSet
	for _, c := range cpus {
		if c < 0 || c >= maxCPUs {
			return fmt.Errorf("proc: CPU %d is out of range", c)
		}
		set.Set(c)
	}
	// sched_setaffinity applies to one thread; new threads inherit the
	// mask of the thread that creates them. So set it on every thread.
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("proc: list threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		err = unix.SchedSetaffinity(tid, &set)
		if err == unix.EINVAL {
			return fmt.Errorf("proc: CPUs %v are not online on this machine (see lscpu)", cpus)
		}
		if err != nil && err != unix.ESRCH { // ESRCH: the thread has exited
			return fmt.Errorf("proc: pin thread %d: %w", tid, os.NewSyscallError("sched_setaffinity", err))
		}
	}
	runtime.GOMAXPROCS(len(cpus))
	return nil
}

// PinPid restricts the process pid (its main thread, and the threads it
// starts from then on) to cpus: a server the bench started, not built with
// iolab serve -cpus.
func PinPid(pid int, cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		if c < 0 || c >= maxCPUs {
			return fmt.Errorf("proc: CPU %d is out of range", c)
		}
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(pid, &set); err != nil && err != unix.ESRCH {
		return fmt.Errorf("proc: pin %d: %w", pid, os.NewSyscallError("sched_setaffinity", err))
	}
	return nil
}

// maxCPUs is how many CPUs a unix.CPUSet can name.
const maxCPUs = 1024

// Allowed returns the CPUs this process may run on, and GOMAXPROCS.
func Allowed() ([]int, int) {
	var set unix.CPUSet
	var cpus []int
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		for c := range maxCPUs {
			if set.IsSet(c) {
				cpus = append(cpus, c)
			}
		}
	}
	return cpus, runtime.GOMAXPROCS(0)
}

// CPUTime returns this process's user and system CPU time (getrusage(2)).
func CPUTime() (user, sys time.Duration) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// Usage is a process's getrusage(2): everything its threads used, those
// that have exited included, which /proc cannot say of context switches.
type Usage struct {
	User        time.Duration // CPU time in user space
	System      time.Duration // CPU time in the kernel
	Voluntary   int64         // context switches while waiting (ru_nvcsw)
	Involuntary int64         // context switches forced by the scheduler (ru_nivcsw)
	MaxRSS      int64         // peak resident set, bytes
}

// SelfUsage returns this process's Usage (RUSAGE_SELF).
func SelfUsage() (Usage, error) { return usage(unix.RUSAGE_SELF) }

// ChildrenUsage returns the Usage of this process's children that have
// exited and that it has waited for (RUSAGE_CHILDREN). getrusage(2): it
// includes "the resources used by grandchildren, and further removed
// descendants, if all of the intervening descendants waited on their
// terminated children". A child still running, or never waited for, is
// not in it. MaxRSS is the largest child's peak, not a sum.
func ChildrenUsage() (Usage, error) { return usage(unix.RUSAGE_CHILDREN) }

func usage(who int) (Usage, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		return Usage{}, os.NewSyscallError("getrusage", err)
	}
	return Usage{User: time.Duration(ru.Utime.Nano()), System: time.Duration(ru.Stime.Nano()),
		Voluntary: ru.Nvcsw, Involuntary: ru.Nivcsw, MaxRSS: ru.Maxrss << 10}, nil
}

// OrphanSignal returns the attributes that make the kernel send a child
// SIGTERM if the process that started it dies first (PR_SET_PDEATHSIG):
// no server or load process outlives the iolab that started it.
func OrphanSignal() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
