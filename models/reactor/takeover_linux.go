//go:build linux

package reactor

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// written returns how many bytes the TCP socket fd has been given to
// send, counted from an arbitrary origin: those the client acknowledged
// (tcpi_bytes_acked, tcp(7)'s TCP_INFO) plus those still queued, sent or
// not (SIOCOUTQ). Only differences mean anything. An acknowledgement may
// arrive between the two system calls, moving bytes from one count to the
// other, so the first is read again until it has not changed.
func written(fd int) (int64, error) {
	for range 16 {
		before, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return 0, os.NewSyscallError("getsockopt TCP_INFO", err)
		}
		queued, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
		if err != nil {
			return 0, os.NewSyscallError("ioctl SIOCOUTQ", err)
		}
		after, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return 0, os.NewSyscallError("getsockopt TCP_INFO", err)
		}
		if before.Bytes_acked == after.Bytes_acked {
			return int64(after.Bytes_acked) + int64(queued), nil
		}
	}
	return 0, errMoving
}

// errMoving is written's error when acknowledgements never pause.
var errMoving = errors.New("reactor: the socket's counts kept changing")
