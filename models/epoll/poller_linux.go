//go:build linux

package epoll

import (
	"os"

	"golang.org/x/sys/unix"
)

// poller is one epoll instance plus an eventfd that other goroutines write
// to wake the loop. Its verbs are named after the system calls they make.
//
// Interest is level-triggered by default (no EPOLLET): epoll_wait reports a
// socket for as long as it is readable (or writable, when EPOLLOUT is
// asked for), so the loop may read once per wake-up and come back later,
// and it stops hearing about a socket by changing its interest with mod.
// With -edge (Config.Edge) every socket is watched with EPOLLET instead:
// epoll reports it once each time it becomes ready, and the loop must
// drain it (loopRead, loopAccept). add and mod, which re-check readiness,
// report a socket that is ready already, edge or not (epoll_ctl(2)).
type poller struct {
	edge   uint32            // EPOLLET with -edge, else 0; added to every socket's interest
	epfd   int               // from epoll_create1(2)
	wakefd int               // eventfd(2) in the interest list, for wake
	events []unix.EpollEvent // filled by epoll_wait
	wbuf   [8]byte           // the 8-byte counter written to wakefd
}

// openPoller creates the epoll instance and its wake-up eventfd.
func openPoller(edge bool) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	p := &poller{epfd: epfd, wakefd: wakefd, events: make([]unix.EpollEvent, 256)}
	p.wbuf[0] = 1 // native-endian 1 on little-endian machines; any non-zero count wakes
	// The eventfd is added before edge is set: level-triggered, and
	// drainWake empties it.
	if err := p.add(wakefd, unix.EPOLLIN); err != nil {
		p.close()
		return nil, err
	}
	if edge {
		p.edge = unix.EPOLLET
	}
	return p, nil
}

// add puts fd in the interest list, watching for events.
func (p *poller) add(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events | p.edge, Fd: int32(fd)}
	return os.NewSyscallError("epoll_ctl add", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev))
}

// mod changes what fd is watched for. With events 0 the loop hears nothing
// from fd but errors and hang-ups, which epoll always reports.
func (p *poller) mod(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events | p.edge, Fd: int32(fd)}
	return os.NewSyscallError("epoll_ctl mod", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev))
}

// del takes fd out of the interest list. Closing fd does the same, as long
// as no duplicate of it is open, so the loop calls del only for a socket it
// keeps: the listener, while the loop is not accepting.
func (p *poller) del(fd int) error {
	return os.NewSyscallError("epoll_ctl del", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil))
}

// wait blocks the thread in epoll_wait(2) until a watched fd is ready or
// msec milliseconds pass (-1: no limit). A signal interrupts the wait with
// EINTR (Go's runtime sends SIGURG to preempt, often); wait then returns
// no events and no error, as the runtime's own netpoll does for a timed
// wait, so that the loop goes round and computes its timeout again: a
// retry with the same msec would stretch the wait past the earliest timer
// by however long it had already waited.
func (p *poller) wait(msec int) ([]unix.EpollEvent, error) {
	n, err := unix.EpollWait(p.epfd, p.events, msec)
	if err == unix.EINTR {
		return nil, nil
	}
	if err != nil {
		return nil, os.NewSyscallError("epoll_wait", err)
	}
	return p.events[:n], nil
}

// wake makes epoll_wait return, from any goroutine. EAGAIN means the
// counter is already non-zero: a wake-up is pending anyway.
func (p *poller) wake() error {
	_, err := unix.Write(p.wakefd, p.wbuf[:])
	if err == unix.EAGAIN {
		return nil
	}
	return os.NewSyscallError("write eventfd", err)
}

// drainWake resets the eventfd counter, so that level-triggered epoll stops
// reporting it.
func (p *poller) drainWake() {
	var b [8]byte
	_, _ = unix.Read(p.wakefd, b[:])
}

// close releases the epoll instance and the eventfd.
func (p *poller) close() {
	unix.Close(p.wakefd)
	unix.Close(p.epfd)
}
