//go:build !linux

package child

import "syscall"

// sysProcAttr has no parent-death signal to ask for here; the fork and
// prefork models are implemented for Linux only.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
