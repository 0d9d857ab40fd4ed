//go:build linux

package reactor

import "golang.org/x/sys/unix"

// acceptNonblock accepts one connection from the listener ln, as a
// non-blocking, close-on-exec socket, in one system call.
func acceptNonblock(ln int) (int, error) {
	fd, _, err := unix.Accept4(ln, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	return fd, err
}
