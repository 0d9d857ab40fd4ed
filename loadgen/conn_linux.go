//go:build linux

package loadgen

import (
	"golang.org/x/sys/unix"

	"iolab/models"
)

// Connection states.
const (
	stIdle       = iota // greeting: waiting for its next due time
	stBackoff           // waiting to reconnect after a refusal
	stConnecting        // connect(2) in progress: waiting for EPOLLOUT
	stReading           // greeting: reading until EOF
	stActive            // echo: connected, lines in flight or due
	stDone              // the level is over for this client
)

// conn is one client.
type conn struct {
	index   int32 // in loop.conns; the epoll event carries it
	gen     int32 // bumped at each new socket, to drop stale events
	id      uint32
	fd      int
	state   uint8
	events  uint32
	heapIdx int
	wakeAt  int64 // due time or end of backoff, while in the heap

	deadline int64 // end of the current phase; 0: none
	// greeting
	due       int64 // when this request was due (open) or began (closed)
	began     int64 // when it was actually started
	connected int64
	firstByte int64
	got       []byte // greeting received so far, when checking Expect
	gotN      int
	// echo
	seq, ack uint32  // next line to send, next line expected back
	inflight int     // lines sent, not answered
	dueRing  []int64 // per line in flight: when it was due
	sentRing []int64 // per line in flight: when it was sent
	nextDue  int64   // open loop: the due time of the next request
	wbuf     []byte  // lines not yet written
	wpos     int
	rbuf     []byte // reply bytes not yet matched to a line
	rlen     int
}

// connect opens a new non-blocking socket and starts connect(2). due is
// when the request was due (greeting) or zero.
func (l *loop) connect(c *conn, due int64) {
	if l.lv.cfg.Proto == models.Greeting && !l.mayStart(due) {
		c.state = stDone
		return
	}
	fd, err := unix.Socket(l.lv.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		l.fail(c, errKind(err, false))
		return
	}
	c.fd, c.gen = fd, c.gen+1
	c.due, c.began, c.gotN = due, l.now, 0
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, l.sa)
	switch err {
	case nil:
		l.connected(c)
		return
	case unix.EINPROGRESS:
	default:
		l.fail(c, errKind(err, true))
		return
	}
	c.state = stConnecting
	c.deadline = l.now + int64(l.lv.cfg.Timeout)
	l.interest(c, unix.EPOLLOUT)
}

// connected: the handshake is done.
func (l *loop) connected(c *conn) {
	c.connected = l.now
	c.deadline = l.now + int64(l.lv.cfg.Timeout)
	if l.lv.cfg.Proto == models.Greeting {
		if sec := l.sched.second(c.due); sec >= 0 {
			_ = l.rec.connect.RecordValue(clamp(l.now - c.began))
		}
		c.state = stReading
		l.interest(c, unix.EPOLLIN)
		return
	}
	c.state = stActive
	c.deadline = 0
	c.seq, c.ack, c.inflight, c.wpos, c.rlen = 0, 0, 0, 0, 0
	c.wbuf = c.wbuf[:0]
	l.interest(c, unix.EPOLLIN)
	l.refill(c)
}

// interest registers or changes what the loop waits for on c.
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

// event handles what epoll reported for c.
func (l *loop) event(c *conn, ev uint32) {
	switch c.state {
	case stConnecting:
		errno, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && errno != 0 {
			err = unix.Errno(errno)
		}
		if err != nil {
			l.fail(c, errKind(err, true))
			return
		}
		l.connected(c)
	case stReading:
		l.readGreeting(c)
	case stActive:
		if ev&unix.EPOLLOUT != 0 {
			l.flush(c)
		}
		if c.state == stActive && ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			l.readEcho(c)
		}
	}
}

// hangUp closes a greeting connection with SO_LINGER 0, as cgreet does:
// the server has already closed its side, and a reset instead of a FIN
// spares the server a TIME_WAIT socket for every request.
func (l *loop) hangUp(c *conn) {
	_ = unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	l.closeConn(c)
}

// closeConn closes c's socket; closing also removes it from epoll.
func (l *loop) closeConn(c *conn) {
	if c.fd >= 0 {
		unix.Close(c.fd)
	}
	c.fd, c.events, c.deadline = -1, 0, 0
}

// fail counts a failed request (every line in flight, for echo) and
// restarts the client on a new socket: at once, through the timer heap so
// that a server failing every connection cannot recurse the loop; or after
// a pause when nothing listens, no local port is free, or no socket could
// even be opened.
func (l *loop) fail(c *conn, kind ErrKind) {
	failed := max(c.inflight, 1)
	at := c.due
	if l.lv.cfg.Proto == models.Echo {
		at = l.now
	}
	for range failed {
		l.rec.failed(l.sched.second(at), kind)
	}
	l.failures.Add(int64(failed))
	pause := kind == ErrRefused || kind == ErrAddrUnavailable || c.fd < 0
	if c.fd >= 0 {
		l.hangUp(c)
	}
	c.inflight = 0
	if l.stopping {
		c.state = stDone
		return
	}
	c.state = stBackoff
	if pause {
		l.schedule(c, l.now+backoff)
	} else {
		l.schedule(c, l.now)
	}
}
