//go:build !linux

package main

import "syscall"

// orphanSignal is Linux only: elsewhere a child is on its own.
func orphanSignal() *syscall.SysProcAttr { return nil }
