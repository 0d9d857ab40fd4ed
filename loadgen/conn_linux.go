//go:build linux

package loadgen

import (
	"math/rand/v2"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// connState is where a client is in its request. The loop dispatches on
// it, as evio's loop does: each state names what the client waits for,
// and so which event or timer moves it on.
type connState uint8

const (
	stIdle       connState = iota // greeting, open loop: no socket, waiting on loop.timers for its due time
	stBackoff                     // no socket, waiting on loop.timers to reconnect after a failure
	stConnecting                  // connect(2) in progress: waiting for EPOLLOUT
	stReading                     // greeting: connected, reading until EOF
	stActive                      // echo: connected, lines in flight or due
	stDone                        // the level is over for this client
	stWaiting                     // not started yet: waiting on loop.timers for its turn (-connect-rate)
)

var connStateNames = [...]string{"idle", "backoff", "connecting", "reading", "active", "done", "waiting"}

// String returns the state's name, for debugging.
func (s connState) String() string {
	if int(s) < len(connStateNames) {
		return connStateNames[s]
	}
	return "connState(" + strconv.Itoa(int(s)) + ")"
}

// conn is one client. The part every workload uses comes first; each
// workload's own part is embedded, and the other's stays zero. Splitting
// them into separate allocations would put a pointer between the echo
// hot path and its buffers to save a few dozen bytes a client.
type conn struct {
	// index is the client's place in loop.conns, which its epoll events
	// carry instead of a descriptor.
	index int32
	// gen is the generation of the client's socket, bumped at each new
	// one; its epoll events carry it, and an event of an older socket is
	// dropped (see poller).
	gen int32
	// id is the client's number in the level; echo lines carry it, so
	// that a reply meant for another client is caught.
	id uint32
	// fd is the client's socket, or -1 between sockets.
	fd int
	// state is where the client is in its request.
	state connState
	// events is what epoll watches on fd; 0 means fd is not in the
	// interest list yet.
	events uint32
	// heapIdx is the client's place in loop.timers, or -1.
	heapIdx int
	// wakeAt is when the client's timer fires while it is in loop.timers:
	// a due time, or the end of a pause.
	wakeAt int64
	// deadline is when the current phase (the handshake, or waiting for
	// an answer) times out; 0 means no phase is timed.
	deadline int64
	// due is when the socket's request was due: its time on the schedule
	// in open loop, its start in closed loop. Greeting latency counts from
	// it; echo lines carry their own.
	due int64
	// began is when the socket was opened, the greeting's actual start.
	began int64
	// nextDue is, in open loop, when the client's next request is due.
	nextDue int64
	// inflight counts echo lines sent and not answered; a greeting's one
	// request shows in state instead.
	inflight int
	// up is set while the socket is connected, for loop.open.
	up bool
	// retries counts the client's failed connects in a row, for fail's
	// backoff; a connection made resets it.
	retries uint8
	// recving and sending say, with the uring engine, that the socket's
	// multishot receive, or a send, is in the kernel's hands.
	recving, sending bool

	greetingConn
	echoConn
}

// connect opens a new non-blocking socket and starts connect(2). due is
// when the request the socket is for was due (greeting) or zero.
func (l *loop) connect(c *conn, due int64) {
	fd, err := unix.Socket(l.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		l.fail(c, errKind(err, false))
		return
	}
	c.fd, c.gen = fd, c.gen+1
	c.due, c.began = due, l.now
	// Requests are small and answered at once: Nagle's algorithm would
	// hold an echo line back until the previous one is acknowledged.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if err := l.bindSource(fd, c); err != nil {
		l.fail(c, errKind(err, false))
		return
	}
	err = unix.Connect(fd, l.sa)
	switch err {
	case nil: // the handshake finished within the call
		l.established(c)
		return
	case unix.EINPROGRESS:
	default:
		l.fail(c, errKind(err, true))
		return
	}
	c.state = stConnecting
	l.setDeadline(c)
	l.interest(c, unix.EPOLLOUT)
}

// bindSource binds fd to the client's source address, if -source gave
// some: client id modulo their number, so that each client keeps its own.
// IP_BIND_ADDRESS_NO_PORT lets connect(2) pick the port, as it does for
// an unbound socket: bind alone would pick one unique to the address, and
// run out of them as soon as without -source.
func (l *loop) bindSource(fd int, c *conn) error {
	srcs := l.lv.cfg.Sources
	if len(srcs) == 0 {
		return nil
	}
	src := srcs[int(c.id)%len(srcs)]
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	sa, _ := sockaddr(netip.AddrPortFrom(src, 0))
	return unix.Bind(fd, sa)
}

// handshake finishes a connect(2) that epoll reported writable: SO_ERROR
// says whether it succeeded.
func (l *loop) handshake(c *conn) {
	errno, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && errno != 0 {
		err = unix.Errno(errno)
	}
	if err != nil {
		l.fail(c, errKind(err, true))
		return
	}
	l.established(c)
}

// established counts c's socket as connected, and notes when every client
// of the loop was connected at once for the first time (Level.Setup), then
// hands c to its workload.
func (l *loop) established(c *conn) {
	c.up, c.retries = true, 0
	l.open++
	if l.open == len(l.conns) && l.allUpAt == 0 {
		l.allUpAt = l.now
	}
	l.proto.connected(c)
}

// interest registers or changes what the loop waits for on c. Asking
// for what is already watched costs nothing, so the echo path can say what
// it wants after every write. If epoll_ctl fails (no memory, or the
// max_user_watches limit), so does the client, as ErrOther.
func (l *loop) interest(c *conn, events uint32) {
	if c.events == events {
		return
	}
	var err error
	if c.events == 0 {
		err = l.p.add(c.fd, events, c.index, c.gen)
	} else {
		err = l.p.mod(c.fd, events, c.index, c.gen)
	}
	if err != nil {
		l.fail(c, ErrOther)
		return
	}
	c.events = events
}

// event handles what epoll reported for c: the end of a handshake, or
// the workload's business on a connected socket.
func (l *loop) event(c *conn, ev uint32) {
	switch c.state {
	case stConnecting:
		l.handshake(c)
	case stReading, stActive:
		l.proto.ready(c, ev)
	}
}

// hangUp closes c's socket with SO_LINGER 0, as cgreet does: after a
// greeting the server has already closed its side, and a reset instead of
// a FIN spares the server a TIME_WAIT socket for every request. A failed
// connection of either workload is closed the same way.
func (l *loop) hangUp(c *conn) {
	_ = unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	l.closeConn(c)
}

// closeConn closes c's socket; closing also removes it from epoll.
func (l *loop) closeConn(c *conn) {
	if c.fd >= 0 {
		if l.u != nil {
			l.detach(c)
		}
		unix.Close(c.fd)
	}
	if c.up {
		c.up = false
		l.open--
	}
	c.fd, c.events, c.deadline = -1, 0, 0
}

// fail counts the requests c's failure lost (as its workload says, see
// client.lost) and restarts the client on a new socket. A client that was
// connected starts again at once, through the timer heap so that a server
// failing every connection cannot recurse the loop. A client that never
// got connected (refused, timed out, no local port, no socket) waits
// first, as a real client backs off: 10 ms, twice as long after each
// failure in a row up to 640 ms, each pause drawn between half and all of
// that (jitter, so that clients that failed together do not come back
// together). Without it, connects that time out under load come straight
// back, and their retries take the CPU that the connections being made
// needed.
func (l *loop) fail(c *conn, kind ErrKind) {
	at, failed := l.proto.lost(c)
	for range failed {
		l.rec.failed(l.sched.second(at), kind)
	}
	l.failures.Add(int64(failed))
	connected := c.up
	if c.fd >= 0 {
		l.hangUp(c)
	}
	c.inflight = 0
	if l.stopping {
		c.state = stDone
		return
	}
	c.state = stBackoff
	if connected {
		l.setTimer(c, l.now)
		return
	}
	pause := backoff << min(c.retries, maxBackoffShift)
	c.retries++
	l.setTimer(c, l.now+pause/2+rand.Int64N(pause/2+1))
}
