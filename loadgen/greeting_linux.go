//go:build linux

package loadgen

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// greetingClient is the greeting workload: one connection per request,
// from connect(2) to the server's EOF. Each request goes through every
// state of a connection (connecting, reading, closed), so a greeting run
// measures how fast a server accepts as much as how fast it answers.
type greetingClient struct {
	*loop // the loop it runs in: its clock, poller, recorder and timers

	// expect is Config.Expect: the exact greeting, or nil for any
	// non-empty one.
	expect []byte
	// scratch receives every read(2); only the first len(expect)+1 bytes
	// of a greeting are kept, in conn.got, which is enough to tell a
	// right greeting from a longer one.
	scratch []byte
}

// greetingConn is a connection's greeting state, which echo leaves
// unused.
type greetingConn struct {
	connected int64  // when the handshake finished
	firstByte int64  // when the first byte of the greeting arrived
	got       []byte // the start of the greeting so far, when checking Expect
	gotN      int    // how many bytes of greeting have arrived
}

// newGreetingClient returns the greeting client of l, and tells l's
// recorder that this level reports the connect and first-byte phases.
func newGreetingClient(l *loop) *greetingClient {
	g := &greetingClient{loop: l, expect: l.lv.cfg.Expect, scratch: make([]byte, 64<<10)}
	if g.expect != nil {
		for _, c := range l.conns {
			c.got = make([]byte, len(g.expect)+1)
		}
	}
	l.rec.phases = true
	return g
}

// start connects at once in closed loop; in open loop it waits for the
// client's first due time, which the schedule spreads over one interval.
func (g *greetingClient) start(c *conn) {
	if g.sched.open() {
		c.state = stIdle
		g.setTimer(c, c.nextDue)
		return
	}
	g.request(c, g.now)
}

// request connects for a greeting due at due, unless the level wants no
// more requests.
func (g *greetingClient) request(c *conn, due int64) {
	if !g.mayStart(due) {
		c.state = stDone
		return
	}
	g.connect(c, due)
}

// connected starts reading once the handshake is done; the server speaks
// first.
func (g *greetingClient) connected(c *conn) {
	c.connected = g.now
	g.setDeadline(c)
	c.gotN = 0
	if sec := g.sched.second(c.due); sec >= 0 {
		_ = g.rec.connect.RecordValue(clamp(g.now - c.began))
	}
	c.state = stReading
	g.interest(c, unix.EPOLLIN)
}

// ready reads until EOF or EAGAIN. Each read that returns data restarts
// the timeout: it bounds the wait for each part of the greeting, not for
// all of it.
func (g *greetingClient) ready(c *conn, _ uint32) {
	for {
		n, err := unix.Read(c.fd, g.scratch)
		switch {
		case err == unix.EAGAIN:
			g.setDeadline(c)
			return
		case err == unix.EINTR:
			continue
		case err != nil:
			g.fail(c, errKind(err, false))
			return
		case n == 0:
			g.greeted(c)
			return
		}
		if c.gotN == 0 {
			c.firstByte = g.now
		}
		if c.got != nil && c.gotN < len(c.got) {
			copy(c.got[c.gotN:], g.scratch[:n])
		}
		c.gotN += n
	}
}

// greeted handles EOF after the greeting: checks it, records it, and
// starts the next request.
func (g *greetingClient) greeted(c *conn) {
	if c.gotN == 0 || g.expect != nil && (c.gotN != len(g.expect) || !bytes.Equal(c.got[:c.gotN], g.expect)) {
		g.fail(c, ErrWrongReply)
		return
	}
	if sec := g.sched.second(c.due); sec >= 0 {
		_ = g.rec.firstByte.RecordValue(clamp(c.firstByte - c.connected))
		if g.sched.open() {
			_ = g.rec.uncorrected.RecordValue(clamp(g.now - c.began))
		}
		g.lastDone = g.now
	}
	g.rec.done(g.sched.second(c.due), g.now-c.due, false)
	g.answered.Add(1)
	g.hangUp(c)
	g.next(c)
}

// next starts c's next greeting: at once in closed loop, at its next due
// time in open loop.
func (g *greetingClient) next(c *conn) {
	if !g.sched.open() {
		g.request(c, g.now)
		return
	}
	c.state = stIdle
	g.setTimer(c, c.nextDue)
}

// due starts an open-loop greeting whose time has come.
func (g *greetingClient) due(c *conn) {
	due := c.nextDue
	c.nextDue = g.sched.next(due)
	if g.sched.late(due, g.now) {
		g.rec.late++
	}
	g.request(c, due)
}

// restart goes on after a failure's pause as after a success: the next
// greeting at once in closed loop, at its due time in open loop, or now
// if that time has passed during the pause.
func (g *greetingClient) restart(c *conn) {
	g.next(c)
	if c.state == stIdle && c.wakeAt <= g.now {
		g.due(c)
	}
}

// lost says a failure lost one greeting, the one due at c.due.
func (g *greetingClient) lost(c *conn) (at int64, n int) { return c.due, 1 }
