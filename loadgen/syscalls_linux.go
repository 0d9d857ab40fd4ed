//go:build linux

package loadgen

import (
	"errors"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// read and write on a non-blocking socket never wait, so they use
// RawSyscall, which skips the bookkeeping Go does around a system call
// that might block (handing the thread's P to another thread). On a
// loopback echo that is a tenth of the cost of a request.
func read(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// write is read's twin; see read.
func write(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// errKind classifies a failed system call. connecting says whether it
// was part of the handshake: there EAGAIN means no local port was free
// (connect(2) on a TCP socket), and ETIMEDOUT that the SYNs went
// unanswered.
func errKind(err error, connecting bool) ErrKind {
	switch {
	case errors.Is(err, unix.ECONNREFUSED):
		return ErrRefused
	case errors.Is(err, unix.ECONNRESET), errors.Is(err, unix.EPIPE):
		return ErrReset
	case errors.Is(err, unix.EADDRNOTAVAIL), connecting && errors.Is(err, unix.EAGAIN):
		return ErrAddrUnavailable
	case errors.Is(err, unix.ETIMEDOUT) && connecting:
		return ErrConnectTimeout
	case errors.Is(err, unix.ETIMEDOUT):
		return ErrReadTimeout
	}
	return ErrOther
}

// sockaddr returns addr in the form connect(2) takes, and its address
// family. Each loop makes its own: x/sys/unix converts a Sockaddr into its
// kernel form inside the value itself, on every connect, so loops running
// at once must not share one.
func sockaddr(addr netip.AddrPort) (unix.Sockaddr, int) {
	ip := addr.Addr()
	if ip.Is4() {
		return &unix.SockaddrInet4{Port: int(addr.Port()), Addr: ip.As4()}, unix.AF_INET
	}
	return &unix.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()}, unix.AF_INET6
}
