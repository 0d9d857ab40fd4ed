// Package sock opens listening sockets with raw system calls, so that models
// can choose the listen(2) backlog (the net package always asks for the
// system maximum) and, for the blocking models, keep the socket blocking.
package sock

import (
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// ErrUnsupported is returned on systems other than Linux.
var ErrUnsupported = errors.New("sock: raw sockets are implemented for Linux only")

// Unmap turns an IPv4-mapped IPv6 address (::ffff:127.0.0.1), as a
// dual-stack listener reports IPv4 clients, back into plain IPv4.
func Unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// AddrPort converts a socket address from accept(2) or getsockname(2).
func AddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}
