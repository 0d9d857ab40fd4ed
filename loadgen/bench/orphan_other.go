//go:build !linux

package bench

import "syscall"

// orphanSignal has no equivalent here: a server may outlive a bench that is
// killed outright.
func orphanSignal() *syscall.SysProcAttr { return nil }
