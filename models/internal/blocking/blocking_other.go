//go:build !linux

package blocking

import (
	"context"
	"net"
	"net/netip"

	"iolab/models"
	"iolab/models/internal/sock"
)

// Listener is implemented for Linux only.
type Listener struct{}

// Conn is implemented for Linux only.
type Conn struct{}

// Listen reports that blocking sockets are implemented for Linux only.
func Listen(context.Context, *models.Config, string, func(net.Addr)) (*Listener, error) {
	return nil, sock.ErrUnsupported
}

// Open reports that blocking sockets are implemented for Linux only.
func Open(context.Context, *models.Config, string) (*Listener, netip.AddrPort, error) {
	return nil, netip.AddrPort{}, sock.ErrUnsupported
}

// Ready is never reached on this system.
func (*Listener) Ready(netip.AddrPort, func(net.Addr)) {}

// Accept is never reached on this system.
func (*Listener) Accept() (Conn, bool) { return Conn{}, false }

// Serve is never reached on this system.
func (*Listener) Serve(Conn) {}

// Stopping is never reached on this system.
func (*Listener) Stopping() bool { return false }

// ServeInherited is never reached on this system.
func (*Listener) ServeInherited(Conn) {}

// Stats is never reached on this system.
func (*Listener) Stats() *models.Stats { return nil }

// Close is never reached on this system.
func (*Listener) Close() {}
