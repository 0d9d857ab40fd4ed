//go:build !linux

package reactor

import "golang.org/x/sys/unix"

// acceptNonblock accepts one connection from the listener ln, as a
// non-blocking, close-on-exec socket: accept4(2) is Linux's, so here it
// takes three system calls.
func acceptNonblock(ln int) (int, error) {
	fd, _, err := unix.Accept(ln)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
