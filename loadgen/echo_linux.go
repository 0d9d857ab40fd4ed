//go:build linux

package loadgen

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// echoClient is the line-echo workload: persistent connections, each
// keeping up to Pipeline lines in flight. After the handshake nothing but
// read(2) and write(2) happens, so this is the loop's hot path: it must
// not allocate (TestEchoSteadyStateDoesNotAllocate), and every buffer is
// made once, when the loop starts.
type echoClient struct {
	*loop // the loop it runs in: its clock, poller, recorder and timers

	size     int        // Config.Size: the length of a line, newline included
	pipeline int        // Config.Pipeline: how many lines a connection keeps in flight
	pad      []byte     // a line of padding, 'x'... '\n', that putLine numbers
	expect   []byte     // scratch: the line a reply must equal
	heavy    heavyLines // Config.Heavy: which lines begin with the mark
}

// echoConn is a connection's echo state, which greeting leaves unused.
// Lines are numbered per connection, from 0 at each new socket, and the
// rings are indexed by line number modulo Pipeline: at most Pipeline
// lines are in flight, so a slot is free again by the time it comes round.
type echoConn struct {
	seq      uint32  // the number of the next line to send
	ack      uint32  // the number of the next line expected back
	dueRing  []int64 // per line in flight: when it was due
	sentRing []int64 // per line in flight: when it was sent
	wbuf     []byte  // lines queued and not yet written, from wpos
	wpos     int     // how much of wbuf the socket has taken
	rbuf     []byte  // reply bytes not yet matched to a line, up to rlen
	rlen     int     // how much of rbuf holds reply bytes
}

// newEchoClient returns the echo client of l, with every connection's
// buffers made.
func newEchoClient(l *loop) *echoClient {
	cfg := l.lv.cfg
	e := &echoClient{loop: l, size: cfg.Size, pipeline: cfg.Pipeline,
		pad: make([]byte, cfg.Size), expect: make([]byte, cfg.Size), heavy: newHeavyLines(cfg)}
	for i := range e.pad {
		e.pad[i] = 'x'
	}
	e.pad[cfg.Size-1] = '\n'
	for _, c := range l.conns {
		c.dueRing = make([]int64, cfg.Pipeline)
		c.sentRing = make([]int64, cfg.Pipeline)
		c.wbuf = make([]byte, 0, cfg.Size*cfg.Pipeline)
		c.rbuf = make([]byte, max(4096, 2*cfg.Size*cfg.Pipeline))
	}
	return e
}

// start connects at once, in open loop too: there the first line waits on
// the open connection for its due time.
func (e *echoClient) start(c *conn) { e.connect(c, e.now) }

// connected starts a fresh pipeline on the new socket and sends what is
// due.
func (e *echoClient) connected(c *conn) {
	c.state = stActive
	c.deadline = 0
	c.seq, c.ack, c.inflight, c.wpos, c.rlen = 0, 0, 0, 0, 0
	c.wbuf = c.wbuf[:0]
	if e.u != nil {
		e.attach(c)
	} else {
		e.interest(c, unix.EPOLLIN)
	}
	if c.state == stActive { // not failed by attach or interest
		e.refill(c)
	}
}

// ready writes what waited for room in the socket, then reads what came
// back, unless the write failed and closed the socket.
func (e *echoClient) ready(c *conn, ev uint32) {
	if ev&unix.EPOLLOUT != 0 {
		e.flush(c)
	}
	if c.state == stActive && ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.readReplies(c)
	}
}

// due sends the open-loop lines whose time has come.
func (e *echoClient) due(c *conn) { e.refill(c) }

// restart reconnects after a failure's pause. In open loop the lines due
// meanwhile go out once it is connected, and count as late.
func (e *echoClient) restart(c *conn) { e.connect(c, 0) }

// lost says a failure lost every line in flight, or one request when
// none was (a connection refused, say), counted in the failure's second.
func (e *echoClient) lost(c *conn) (at int64, n int) { return e.now, max(c.inflight, 1) }

// refill queues echo lines: in closed loop until Pipeline are in flight;
// in open loop those that are due, as far as the pipeline allows, and a
// timer for the next if the pipeline has room for it.
func (e *echoClient) refill(c *conn) {
	if c.sending {
		return // the uring engine's send owns the buffer: sent refills
	}
	k := e.pipeline
	if !e.sched.open() {
		for c.inflight < k && e.mayStart(e.now) {
			e.queueLine(c, e.now)
		}
	} else {
		more := true // mayStart's refusal is for good: the end, or the budget
		for c.inflight < k && c.nextDue <= e.now {
			if more = e.mayStart(c.nextDue); !more {
				break
			}
			e.queueLine(c, c.nextDue)
			c.nextDue = e.sched.next(c.nextDue)
		}
		if more && c.inflight < k && c.nextDue < e.sched.end {
			e.setTimer(c, c.nextDue)
		}
	}
	if c.wpos < len(c.wbuf) {
		e.flush(c)
	}
}

// queueLine adds the next line to c's write buffer. The answer's deadline
// runs from the oldest line in flight.
func (e *echoClient) queueLine(c *conn, due int64) {
	if e.sched.late(due, e.now) {
		e.rec.late++
	}
	slot := int(c.seq) % len(c.dueRing)
	c.dueRing[slot], c.sentRing[slot] = due, e.now
	n := len(c.wbuf)
	if n+e.size > cap(c.wbuf) {
		// The socket took part of the buffer and answers came back for
		// it: move what is still unwritten to the front, which leaves
		// room, since fewer than Pipeline lines are in flight.
		n = copy(c.wbuf[:cap(c.wbuf)], c.wbuf[c.wpos:n])
		c.wbuf, c.wpos = c.wbuf[:n], 0
	}
	c.wbuf = c.wbuf[:n+e.size]
	putLine(c.wbuf[n:], e.pad, e.heavy.markOf(c.id, c.seq), c.id, c.seq)
	c.seq++
	c.inflight++
	if c.deadline == 0 {
		e.setDeadline(c)
	}
}

// putLine writes echo line seq of client id into p: mark, if the line is
// heavy (Config.Validate has checked that it fits), then the client and
// the sequence number in hex, so that a reply from another client or out
// of order is caught, then the padding and newline of pad.
func putLine(p, pad, mark []byte, id, seq uint32) {
	const hexdigits = "0123456789abcdef"
	last := copy(p, pad) - 1
	start := copy(p, mark)
	put := func(at int, v uint32) {
		for i := 7; i >= 0; i-- {
			p[at+i] = hexdigits[v&15]
			v >>= 4
		}
	}
	if room := last - start; room >= 16 {
		put(start, id)
		put(start+8, seq)
	} else if room >= 8 {
		put(start, seq)
	}
}

// flush writes what c's write buffer holds. With epoll, what the socket
// does not take waits for EPOLLOUT, which is asked for only then, since
// a socket with room in its send buffer would report it on every
// wake-up. With the uring engine, the buffer goes to the kernel in one
// send, submitted with the round's wait (sendQueued); its completion
// sends whatever is left (sent).
func (e *echoClient) flush(c *conn) {
	if e.u != nil {
		if !c.sending && c.wpos < len(c.wbuf) {
			e.sendQueued(c)
		}
		return
	}
	for c.wpos < len(c.wbuf) {
		n, err := write(c.fd, c.wbuf[c.wpos:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			e.interest(c, unix.EPOLLIN|unix.EPOLLOUT)
			return
		}
		if err != nil {
			e.fail(c, errKind(err, false))
			return
		}
		c.wpos += n
	}
	c.wbuf, c.wpos = c.wbuf[:0], 0
	e.interest(c, unix.EPOLLIN)
}

// readReplies reads replies, matches each to its line, and sends more.
// One read(2) per wake-up is enough: rbuf holds two full pipelines, and
// level-triggered epoll reports whatever is left on the next round.
func (e *echoClient) readReplies(c *conn) {
	n, err := read(c.fd, c.rbuf[c.rlen:])
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		e.fail(c, errKind(err, false))
		return
	case n == 0:
		e.fail(c, ErrWrongReply) // closed before the answer was complete
		return
	}
	e.replies(c, n)
}

// replies matches the n reply bytes just added after c's rbuf[:rlen] to
// the lines in flight, records each answer, and sends more.
func (e *echoClient) replies(c *conn, n int) {
	c.rlen += n
	size := e.size
	off := 0
	for c.rlen-off >= size {
		if c.inflight == 0 {
			e.fail(c, ErrWrongReply) // an answer nobody asked for
			return
		}
		mark := e.heavy.markOf(c.id, c.ack) // nil for a plain line
		putLine(e.expect, e.pad, mark, c.id, c.ack)
		if !bytes.Equal(c.rbuf[off:off+size], e.expect) {
			e.fail(c, ErrWrongReply)
			return
		}
		slot := int(c.ack) % len(c.dueRing)
		due := c.dueRing[slot]
		sec := e.sched.second(due)
		e.rec.done(sec, e.now-due, mark != nil)
		if sec >= 0 {
			if e.sched.open() {
				_ = e.rec.uncorrected.RecordValue(clamp(e.now - c.sentRing[slot]))
			}
			e.lastDone = e.now
		}
		e.answered.Add(1)
		c.ack++
		c.inflight--
		off += size
	}
	c.rlen = copy(c.rbuf, c.rbuf[off:c.rlen])
	c.deadline = 0
	if c.inflight > 0 {
		e.setDeadline(c)
	}
	if off > 0 {
		e.refill(c)
	}
}
