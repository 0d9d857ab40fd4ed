//go:build !linux

package sock

import "net/netip"

// ListenNonblocking is implemented for Linux only; the goroutine model
// falls back to net.Listen.
func ListenNonblocking(addr string, backlog int) (int, netip.AddrPort, error) {
	return -1, netip.AddrPort{}, ErrUnsupported
}

// ListenBlocking is implemented for Linux only.
func ListenBlocking(addr string, backlog int) (int, netip.AddrPort, error) {
	return -1, netip.AddrPort{}, ErrUnsupported
}

// SetBacklog is implemented for Linux only.
func SetBacklog(fd, backlog int) error { return ErrUnsupported }

// MaxBacklog returns the usual default elsewhere.
func MaxBacklog() int { return 4096 }

// Tid is 0 where thread ids are not exposed.
func Tid() int { return 0 }
