//go:build linux

package models_test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendWithFIN sends p and the FIN in one TCP segment. With TCP_CORK set
// the kernel holds p back, waiting for more; shutdown(SHUT_WR) then tacks
// the FIN on to the segment still queued (tcp_send_fin) and pushes it, so
// the server reads its request and the end of the stream in one go.
func sendWithFIN(c *net.TCPConn, p []byte) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("setsockopt TCP_CORK", serr)
	}
	if _, err := c.Write(p); err != nil {
		return err
	}
	return c.CloseWrite()
}

// signalThreads sends sig to every thread of process pid with tgkill(2),
// as the Go runtime does to one thread to preempt it, and returns how
// many it reached. A thread blocked in a system call is interrupted: a
// read(2) or write(2) on a socket with a timeout fails with EINTR even
// under SA_RESTART (signal(7)).
func signalThreads(pid int, sig syscall.Signal) int {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	n := 0
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if unix.Tgkill(pid, tid, sig) == nil {
			n++
		}
	}
	return n
}
