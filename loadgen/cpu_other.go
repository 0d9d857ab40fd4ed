//go:build !linux

package loadgen

import (
	"errors"
	"runtime"
	"time"
)

// Pin is implemented for Linux only.
func Pin(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	return errors.New("loadgen: pinning to CPUs is implemented for Linux only")
}

func allowedCPUs() ([]int, int) { return nil, runtime.GOMAXPROCS(0) }

func cpuTime() (user, sys time.Duration) { return 0, 0 }
