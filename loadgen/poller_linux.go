//go:build linux

package loadgen

import (
	"os"

	"golang.org/x/sys/unix"
)

// timerIndex is the index the timerfd's events carry; connections carry
// their own index, which is never negative.
const timerIndex = -1

// poller is one loop's epoll instance plus a timerfd that wakes it for a
// due time closer than epoll_wait's milliseconds can resolve. Its verbs
// are named after the system calls they make, as in models/epoll's poller.
//
// Interest is level-triggered (no EPOLLET), as in the server models.
//
// An event does not carry the socket's descriptor, as the server's do: it
// carries the connection's index in its loop (in Fd) and the generation of
// the connection's socket (in Pad). A client closes its socket and opens a
// new one for every greeting and after every failure, and the kernel hands
// the lowest free descriptor back at once; an event already returned by
// epoll_wait for the old socket must not be taken for news about the new
// one. The loop drops an event whose generation is not the connection's,
// as the runtime's netpoller does with fdseq.
//
// There is no del: the loop never keeps a socket it stops watching, and
// close(2) takes a socket out of the interest list by itself (no
// duplicate of a client socket is ever made).
type poller struct {
	epfd   int               // from epoll_create1(2)
	tfd    int               // timerfd_create(2), in the interest list under timerIndex
	armed  int64             // the due time tfd is set for, 0 once it has fired
	events []unix.EpollEvent // filled by epoll_wait
}

// openPoller creates the epoll instance and its timerfd.
func openPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	p := &poller{epfd: epfd, tfd: tfd, events: make([]unix.EpollEvent, 512)}
	if err := p.add(tfd, unix.EPOLLIN, timerIndex, 0); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// add puts fd in the interest list, watching for events; its events will
// carry index and gen.
func (p *poller) add(fd int, events uint32, index, gen int32) error {
	ev := unix.EpollEvent{Events: events, Fd: index, Pad: gen}
	return os.NewSyscallError("epoll_ctl add", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev))
}

// mod changes what fd is watched for. index and gen are those given to add.
func (p *poller) mod(fd int, events uint32, index, gen int32) error {
	ev := unix.EpollEvent{Events: events, Fd: index, Pad: gen}
	return os.NewSyscallError("epoll_ctl mod", unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev))
}

// wait blocks the thread in epoll_wait(2) until a watched fd is ready or
// msec milliseconds pass. As the server's poller (models/epoll) does, it
// does not retry EINTR but returns no events: msec was computed from the
// clock before the wait, so the loop must read the clock again and
// recompute it, or a signal (Go's runtime sends SIGURG to preempt) would
// make it wake late.
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

// arm sets the timerfd to fire in d ns, for the due time at, unless it is
// already set for at: a loop asks on every wake-up until the time comes.
// at is remembered even if the call fails, so that a failure is not
// retried on every wake-up: the loop then still wakes for its next sweep,
// a few milliseconds late. (timerfd_settime fails only on bad arguments.)
func (p *poller) arm(at, d int64) error {
	if p.armed == at {
		return nil
	}
	p.armed = at
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d)}
	return os.NewSyscallError("timerfd_settime", unix.TimerfdSettime(p.tfd, 0, &spec, nil))
}

// drainTimer reads the timerfd after it fired, so that level-triggered
// epoll stops reporting it, and notes that it is no longer armed.
func (p *poller) drainTimer() {
	var b [8]byte
	_, _ = unix.Read(p.tfd, b[:])
	p.armed = 0
}

// close releases the epoll instance and the timerfd.
func (p *poller) close() {
	unix.Close(p.tfd)
	unix.Close(p.epfd)
}
