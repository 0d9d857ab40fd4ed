//go:build linux

package child

import "syscall"

// sysProcAttr asks the kernel to kill the child when its parent dies
// (PR_SET_PDEATHSIG), so that a parent killed outright leaves no orphan.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
