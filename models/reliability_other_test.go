//go:build !linux

package models_test

import (
	"net"
	"syscall"
)

// sendWithFIN sends p, then the FIN: in one segment only on Linux, where
// the suite runs.
func sendWithFIN(c *net.TCPConn, p []byte) error {
	if _, err := c.Write(p); err != nil {
		return err
	}
	return c.CloseWrite()
}

// signalThreads needs Linux's tgkill(2); elsewhere it sends nothing.
func signalThreads(int, syscall.Signal) int { return 0 }
