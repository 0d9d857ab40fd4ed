//go:build linux

package check

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

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

// awaitPeerClose waits, at most d, until the server has closed c, as
// c's TCP state says (CLOSE_WAIT after its FIN, CLOSE after its reset),
// without reading from c: a client that never reads must still see its
// server's close. It returns how long it waited and whether the close
// came.
func awaitPeerClose(c *net.TCPConn, d time.Duration) (time.Duration, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	began := time.Now()
	tick := time.NewTicker(20 * time.Millisecond) // the kernel's view of a socket: nothing to wait on
	defer tick.Stop()
	for {
		var state uint8
		_ = raw.Control(func(fd uintptr) {
			if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
				state = info.State
			}
		})
		if state == tcpCloseWait || state == tcpClose {
			return time.Since(began), true
		}
		if time.Since(began) > d {
			return time.Since(began), false
		}
		<-tick.C
	}
}

// TCP states, as include/net/tcp_states.h numbers them.
const (
	tcpClose     = 7
	tcpCloseWait = 8
)

// limitFiles sets the running command's RLIMIT_NOFILE to n for the
// scenario, as prlimit(1) would, and back when it ends.
func (r *run) limitFiles(n uint64) {
	var old unix.Rlimit
	lim := unix.Rlimit{Cur: n, Max: n}
	if err := unix.Prlimit(r.c.pid, unix.RLIMIT_NOFILE, &lim, &old); err != nil {
		r.fatalf("prlimit: %v", err)
	}
	pid := r.c.pid
	r.cleanup(func() { _ = unix.Prlimit(pid, unix.RLIMIT_NOFILE, &old, nil) })
}
