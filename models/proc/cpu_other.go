//go:build !linux

package proc

import (
	"errors"
	"runtime"
	"syscall"
	"time"
)

// Pin is implemented for Linux only.
func Pin(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	return errors.New("proc: pinning to CPUs is implemented for Linux only")
}

// PinPid is implemented for Linux only.
func PinPid(pid int, cpus []int) error {
	return errors.New("proc: pinning to CPUs is implemented for Linux only")
}

// Allowed returns GOMAXPROCS; the CPU set is known on Linux only.
func Allowed() ([]int, int) { return nil, runtime.GOMAXPROCS(0) }

// CPUTime is implemented on Linux only.
func CPUTime() (user, sys time.Duration) { return 0, 0 }

// Usage is a process's getrusage(2).
type Usage struct {
	User, System           time.Duration
	Voluntary, Involuntary int64
	MaxRSS                 int64
}

// errUsage says that getrusage is read on Linux only.
var errUsage = errors.New("proc: getrusage is read on Linux only")

// SelfUsage is implemented on Linux only.
func SelfUsage() (Usage, error) { return Usage{}, errUsage }

// ChildrenUsage is implemented on Linux only.
func ChildrenUsage() (Usage, error) { return Usage{}, errUsage }

// OrphanSignal has no equivalent here: a child may outlive an iolab that
// is killed outright.
func OrphanSignal() *syscall.SysProcAttr { return nil }
