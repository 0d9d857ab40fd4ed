//go:build linux

package loadgen

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// refill sends echo lines: in closed loop until Pipeline are in flight; in
// open loop those that are due, as far as the pipeline allows.
func (l *loop) refill(c *conn) {
	k := l.lv.cfg.Pipeline
	if !l.sched.open() {
		for c.inflight < k && l.mayStart(l.now) {
			l.queueLine(c, l.now)
		}
	} else {
		more := true // mayStart's refusal is for good: the end, or the budget
		for c.inflight < k && c.nextDue <= l.now {
			if more = l.mayStart(c.nextDue); !more {
				break
			}
			l.queueLine(c, c.nextDue)
			c.nextDue = l.sched.next(c.nextDue)
		}
		if more && c.inflight < k && c.nextDue < l.sched.end {
			l.schedule(c, c.nextDue)
		}
	}
	if c.wpos < len(c.wbuf) {
		l.flush(c)
	}
}

// queueLine adds the next line to c's write buffer.
func (l *loop) queueLine(c *conn, due int64) {
	if l.sched.late(due, l.now) {
		l.rec.late++
	}
	slot := int(c.seq) % len(c.dueRing)
	c.dueRing[slot], c.sentRing[slot] = due, l.now
	n := len(c.wbuf)
	c.wbuf = c.wbuf[:n+l.lv.cfg.Size]
	putLine(c.wbuf[n:], l.pad, c.id, c.seq)
	c.seq++
	c.inflight++
	if c.deadline == 0 {
		c.deadline = l.now + int64(l.lv.cfg.Timeout)
	}
}

// putLine writes echo line seq of client id into p: the client and the
// sequence number in hex, so that a reply from another client or out of
// order is caught, then the padding and newline of pad.
func putLine(p, pad []byte, id, seq uint32) {
	const hexdigits = "0123456789abcdef"
	last := copy(p, pad) - 1
	put := func(at int, v uint32) {
		for i := 7; i >= 0; i-- {
			p[at+i] = hexdigits[v&15]
			v >>= 4
		}
	}
	if last >= 16 {
		put(0, id)
		put(8, seq)
	} else if last >= 8 {
		put(0, seq)
	}
}

// flush writes what c's write buffer holds; what the socket does not take
// waits for EPOLLOUT.
func (l *loop) flush(c *conn) {
	for c.wpos < len(c.wbuf) {
		n, err := write(c.fd, c.wbuf[c.wpos:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			l.interest(c, unix.EPOLLIN|unix.EPOLLOUT)
			return
		}
		if err != nil {
			l.fail(c, errKind(err, false))
			return
		}
		c.wpos += n
	}
	c.wbuf, c.wpos = c.wbuf[:0], 0
	l.interest(c, unix.EPOLLIN)
}

// readEcho reads replies, matches each to its line, and sends more.
func (l *loop) readEcho(c *conn) {
	n, err := read(c.fd, c.rbuf[c.rlen:])
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		l.fail(c, errKind(err, false))
		return
	case n == 0:
		l.fail(c, ErrWrongReply) // closed before the answer was complete
		return
	}
	c.rlen += n
	size := l.lv.cfg.Size
	off := 0
	for c.rlen-off >= size {
		if c.inflight == 0 {
			l.fail(c, ErrWrongReply) // an answer nobody asked for
			return
		}
		putLine(l.expect, l.pad, c.id, c.ack)
		if !bytes.Equal(c.rbuf[off:off+size], l.expect) {
			l.fail(c, ErrWrongReply)
			return
		}
		slot := int(c.ack) % len(c.dueRing)
		due := c.dueRing[slot]
		sec := l.sched.second(due)
		l.rec.done(sec, l.now-due)
		if sec >= 0 {
			if l.sched.open() {
				_ = l.rec.uncorrected.RecordValue(clamp(l.now - c.sentRing[slot]))
			}
			l.lastDone = l.now
		}
		l.answered.Add(1)
		c.ack++
		c.inflight--
		off += size
	}
	c.rlen = copy(c.rbuf, c.rbuf[off:c.rlen])
	c.deadline = 0
	if c.inflight > 0 {
		c.deadline = l.now + int64(l.lv.cfg.Timeout)
	}
	if off > 0 {
		l.refill(c)
	}
}
