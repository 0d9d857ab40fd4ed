//go:build linux

package loadgen

import (
	"errors"
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
