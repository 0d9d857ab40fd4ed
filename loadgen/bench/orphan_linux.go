//go:build linux

package bench

import "syscall"

// orphanSignal asks the kernel to send the server SIGTERM if the bench
// dies before it, so that no server outlives its bench.
func orphanSignal() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
