//go:build !linux

package check

import (
	"net"
	"syscall"
	"time"
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

// awaitPeerClose needs Linux's TCP_INFO; elsewhere it sees no close.
func awaitPeerClose(*net.TCPConn, time.Duration) (time.Duration, bool) { return 0, false }

// limitFiles needs Linux's prlimit(2); elsewhere the scenario cannot
// limit the server's descriptors.
func (r *run) limitFiles(uint64) { r.skip("needs prlimit(2): Linux only") }
