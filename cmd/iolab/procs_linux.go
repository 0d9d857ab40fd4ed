//go:build linux

package main

import "syscall"

// orphanSignal asks the kernel to send a child SIGTERM if this process
// dies first (PR_SET_PDEATHSIG).
func orphanSignal() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} }
