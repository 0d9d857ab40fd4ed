//go:build linux

package loadgen

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// readGreeting reads until EOF and checks the greeting.
func (l *loop) readGreeting(c *conn) {
	for {
		n, err := unix.Read(c.fd, l.scratch)
		switch {
		case err == unix.EAGAIN:
			c.deadline = l.now + int64(l.lv.cfg.Timeout)
			return
		case err == unix.EINTR:
			continue
		case err != nil:
			l.fail(c, errKind(err, false))
			return
		case n == 0:
			l.greeted(c)
			return
		}
		if c.gotN == 0 {
			c.firstByte = l.now
		}
		if c.got != nil && c.gotN < len(c.got) {
			copy(c.got[c.gotN:], l.scratch[:n])
		}
		c.gotN += n
	}
}

// greeted: EOF after the greeting. Check it, record it, start the next.
func (l *loop) greeted(c *conn) {
	expect := l.lv.cfg.Expect
	if c.gotN == 0 || expect != nil && (c.gotN != len(expect) || !bytes.Equal(c.got[:c.gotN], expect)) {
		l.fail(c, ErrWrongReply)
		return
	}
	if sec := l.sched.second(c.due); sec >= 0 {
		_ = l.rec.firstByte.RecordValue(clamp(c.firstByte - c.connected))
		if l.sched.open() {
			_ = l.rec.uncorrected.RecordValue(clamp(l.now - c.began))
		}
		l.lastDone = l.now
	}
	l.rec.done(l.sched.second(c.due), l.now-c.due)
	l.answered.Add(1)
	l.hangUp(c)
	l.next(c)
}

// next starts c's next greeting: at once in closed loop, at its next due
// time in open loop.
func (l *loop) next(c *conn) {
	if !l.sched.open() {
		l.connect(c, l.now)
		return
	}
	c.state = stIdle
	l.schedule(c, c.nextDue)
}

// fireDue starts an open-loop greeting that is due.
func (l *loop) fireDue(c *conn) {
	due := c.nextDue
	c.nextDue = l.sched.next(due)
	if l.sched.late(due, l.now) {
		l.rec.late++
	}
	l.connect(c, due)
}
