//go:build linux

package loadgen

import (
	"fmt"
	"math/bits"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"iolab/models/uring/ring"
)

// uringIO is the echo clients' data path through io_uring (-engine
// uring), on the ring of models/uring/ring. It exists to take the system
// calls out of the load generator's cost: with epoll a client spends what
// an epoll server spends (a wake-up, a read and a write per line, plus
// the TCP work of its own sends), and a little more, Go being Go, so on
// one CPU it ran out before a fast server did. Here:
//
//   - each connected socket has one multishot receive: the kernel puts
//     each reply into a buffer of a ring it shares with us (ring.BufRing)
//     and posts a completion, and no receive is submitted per line;
//   - the lines a round writes go into the submission queue, and reach
//     the kernel with the wait that ends the round, in the same
//     io_uring_enter(2); the wait asks for one completion more than the
//     sends just submitted, since each of those posts its own at once
//     and a wait ended by them would cost a second call per request;
//   - the ring is set up for one thread (SINGLE_ISSUER, DEFER_TASKRUN), so
//     completions are posted in a batch when the loop waits, not by
//     interrupting it.
//
// So a round costs one io_uring_enter, where with epoll it costs an
// epoll_wait, and a read(2) and a write(2) per line. Measured, it spends
// 1.13 to 1.19 times less CPU a request than the epoll engine from 10
// connections up, about what the C epoll server spends on the other side
// (notes/reference/load.md).
//
// Connecting, and the timerfd, still go through the loop's epoll
// instance, and the ring watches it: a one-shot poll of the epoll
// descriptor completes when epoll has something to say, and the loop
// then asks it with epoll_wait(2) that does not wait. A connected socket
// leaves epoll for the ring (attach).
//
// A completion carries its connection's index and the generation of its
// socket, as epoll's events do (see poller): one for a socket the client
// has since closed is dropped, its buffer handed back.
type uringIO struct {
	r    *ring.Ring
	bufs *ring.BufRing
	cqes []ring.CQE // the completions of one round, reaped
	// epfd is the loop's epoll instance; pollArmed says whether the ring's
	// poll of it is in flight; epollReady that it completed, and the loop
	// should ask epoll what happened.
	epfd       int
	pollArmed  bool
	epollReady bool
	// rearm lists the connections whose multishot receive ended (its
	// buffers ran out: ENOBUFS) and must be submitted again once this
	// round's buffers are back.
	rearm []*conn
	// inflight counts the receives and sends the kernel has not finished
	// with, which quiesce waits for; sends counts those submitted since
	// the last reap, which the wait must see past.
	inflight, sends int
	// echo is the loop's workload, which the completions go to.
	echo *echoClient
}

// What a completion is for: the top byte of its user_data. Below it, the
// generation of the connection's socket (24 bits) and its index in the
// loop (32 bits).
const (
	ucPoll   uint8 = iota + 1 // the poll of the loop's epoll descriptor
	ucRecv                    // a connection's multishot receive
	ucSend                    // a connection's send
	ucCancel                  // an IORING_OP_ASYNC_CANCEL

	ucGenBits = 24
)

// tag is the user_data of kind for connection c's current socket.
func tag(kind uint8, c *conn) uint64 {
	return uint64(kind)<<56 | uint64(uint32(c.gen)&(1<<ucGenBits-1))<<32 | uint64(uint32(c.index))
}

// untag splits a user_data made by tag.
func untag(ud uint64) (kind uint8, gen uint32, index int) {
	return uint8(ud >> 56), uint32(ud>>32) & (1<<ucGenBits - 1), int(uint32(ud))
}

// UringUsable reports whether the uring engine (-engine uring) can run
// here: a ring can be set up, and the kernel has multishot receive (Linux
// 6.0), provided buffer rings and a bounded wait (5.11). Run checks it
// before it starts.
func UringUsable() error {
	r, err := ring.Setup(2, 4)
	if err != nil {
		return fmt.Errorf("-engine %s: %w (use -engine %s)", EngineUring, err, EngineEpoll)
	}
	defer r.Close()
	ops, err := r.Probe()
	if err != nil || !ops[ring.OpSendZC] || !ops[ring.OpPollAdd] || r.Features&ring.FeatExtArg == 0 {
		return fmt.Errorf("-engine %s needs Linux 6.0 or later (multishot receive into provided buffers); use -engine %s", EngineUring, EngineEpoll)
	}
	return nil
}

// newUringIO sets up the ring of a loop with conns clients of lines of
// size bytes, pipeline in flight each. It must be called on the loop's
// own thread, locked to it: the ring is set up for that thread alone.
func newUringIO(epfd, conns, size, pipeline int) (*uringIO, error) {
	// Room in the SQ for a send and a cancel or two for every client in
	// one round, so that a round seldom has to submit early (prep).
	entries := uint32(min(1<<bits.Len(uint(4*conns)), 4096))
	r, err := ring.Setup(entries, 4*entries)
	if err != nil {
		return nil, err
	}
	// The receive buffers: as big as a connection's replies in flight
	// (at least 512 bytes), about two per client, at most 16 MiB in all
	// and at most 32,768 of them (the ring's limit). A receive that finds
	// none ends with ENOBUFS, and is armed again once the round has given
	// its buffers back: the data waits in the socket meanwhile.
	size = min(max(size*pipeline, 512), 64<<10)
	n := min(1<<bits.Len(uint(2*conns)), (16<<20)/size, 1<<15)
	n = 1 << (bits.Len(uint(max(n, 16))) - 1) // a power of 2, down
	bufs, err := ring.SetupBufRing(r, n, size, 1)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &uringIO{r: r, bufs: bufs, cqes: make([]ring.CQE, 0, 4*entries), epfd: epfd}, nil
}

// prep returns the next submission entry, tagged ud. When the SQ is full
// it first submits what it holds; if the kernel takes none (it is out of
// memory), it returns nil, and the caller fails the client.
func (u *uringIO) prep(op uint8, fd int, ud uint64) *ring.SQE {
	e := u.r.GetSQE()
	if e == nil {
		if u.r.EnterTimeout(0, 0) == nil {
			e = u.r.GetSQE()
		}
		if e == nil {
			return nil
		}
	}
	e.Opcode, e.Fd, e.UserData = op, int32(fd), ud
	return e
}

// wait is the loop's wait with this engine: it submits the round's
// sends, receives and cancels, and a poll of the epoll descriptor if none
// is in flight, then sleeps in io_uring_enter(2) until a completion or
// msec milliseconds; it reaps the completions (dispatch hands them out),
// and returns what epoll has if the poll completed.
func (u *uringIO) wait(p *poller, msec int) ([]unix.EpollEvent, error) {
	if !u.pollArmed {
		e := u.prep(ring.OpPollAdd, u.epfd, uint64(ucPoll)<<56)
		if e != nil {
			e.OpFlags = unix.POLLIN
			u.pollArmed = true
		}
	}
	if err := u.r.EnterTimeout(uint32(1+u.sends), time.Duration(msec)*time.Millisecond); err != nil {
		return nil, err
	}
	u.reap()
	if !u.epollReady {
		return nil, nil
	}
	events, err := p.wait(0)
	// A full batch may leave more behind, and the poll, armed again, would
	// say so at once; otherwise epoll has nothing more until it wakes.
	u.epollReady = len(events) == len(p.events)
	return events, err
}

// reap takes the completions waiting in the CQ, and counts those that
// end a request.
func (u *uringIO) reap() {
	u.cqes = u.r.Reap(u.cqes[:0])
	u.sends = 0
	for _, e := range u.cqes {
		switch uint8(e.UserData >> 56) {
		case ucPoll:
			u.pollArmed, u.epollReady = false, true
		case ucRecv:
			if e.Flags&ring.CQEFMore == 0 {
				u.inflight--
			}
		case ucSend:
			u.inflight--
		}
	}
}

// attach moves c's newly connected socket from epoll to the ring: out of
// the interest list, back to blocking mode (the kernel waits for data
// itself, and some kernels complete a receive on a non-blocking socket
// with EAGAIN instead), and its multishot receive armed.
func (l *loop) attach(c *conn) {
	if err := unix.EpollCtl(l.p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil); err != nil {
		l.fail(c, ErrOther)
		return
	}
	c.events = 0
	if err := unix.SetNonblock(c.fd, false); err != nil {
		l.fail(c, ErrOther)
		return
	}
	l.armRecv(c)
}

// armRecv submits c's multishot receive, into the provided buffers.
func (l *loop) armRecv(c *conn) {
	e := l.u.prep(ring.OpRecv, c.fd, tag(ucRecv, c))
	if e == nil {
		l.fail(c, ErrOther)
		return
	}
	e.Ioprio, e.Flags, e.BufGroup = ring.RecvMultishot, ring.SQEBufferSelect, l.u.bufs.Group
	c.recving = true
	l.u.inflight++
}

// sendQueued hands the unsent part of c's write buffer to the kernel, in
// a send submitted with the round's wait. The buffer stays put until its
// completion (sent): flush and refill wait for it.
func (l *loop) sendQueued(c *conn) {
	e := l.u.prep(ring.OpSend, c.fd, tag(ucSend, c))
	if e == nil {
		l.fail(c, ErrOther)
		return
	}
	e.Addr = uint64(uintptr(unsafe.Pointer(&c.wbuf[c.wpos])))
	e.Len = uint32(len(c.wbuf) - c.wpos)
	e.OpFlags = ring.MsgNoSignal // a server gone: EPIPE, not SIGPIPE
	c.sending = true
	l.u.inflight++
	l.u.sends++
}

// detach cancels what c's socket has in flight on the ring, before the
// socket is closed: a receive or a send holds the socket open in the
// kernel until it ends, whatever close(2) does to the descriptor.
func (l *loop) detach(c *conn) {
	for _, k := range [...]struct {
		on   bool
		kind uint8
	}{{c.recving, ucRecv}, {c.sending, ucSend}} {
		if !k.on {
			continue
		}
		if e := l.u.prep(ring.OpAsyncCancel, -1, uint64(ucCancel)<<56); e != nil {
			e.Addr = tag(k.kind, c)
		}
	}
	c.recving, c.sending = false, false
}

// dispatch hands the round's completions to their clients, after the
// epoll events: a receive's reply bytes to the echo client's matching, a
// send's count to the next send. A completion for a socket already closed
// only gives its buffer back.
func (l *loop) dispatch() {
	u, e := l.u, l.u.echo
	for i := range u.cqes {
		cq := &u.cqes[i]
		kind, gen, index := untag(cq.UserData)
		if kind != ucRecv && kind != ucSend {
			continue // the poll (seen in wait), or a cancel's own completion
		}
		c := l.conns[index]
		if c.fd < 0 || gen != uint32(c.gen)&(1<<ucGenBits-1) {
			if cq.Flags&ring.CQEFBuffer != 0 {
				u.bufs.Recycle(uint16(cq.Flags >> ring.CQEBufferShift))
			}
			continue
		}
		l.readClock()
		if kind == ucSend {
			c.sending = false
			e.sent(c, cq.Res)
			continue
		}
		if cq.Flags&ring.CQEFMore == 0 {
			c.recving = false
		}
		e.received(c, cq)
	}
	for _, c := range u.rearm {
		if c.fd >= 0 && !c.recving && c.state == stActive {
			l.armRecv(c)
		}
	}
	u.rearm = u.rearm[:0]
}

// received takes one completion of c's receive: the bytes into c's read
// buffer, then the same matching as a read(2) of the epoll engine
// (replies). The buffer goes back to the kernel at once.
func (e *echoClient) received(c *conn, cq *ring.CQE) {
	res := cq.Res
	switch {
	case res == -int32(unix.ENOBUFS): // no buffer free: armed again at the round's end
		e.u.rearm = append(e.u.rearm, c)
		return
	case res < 0:
		e.fail(c, errKind(unix.Errno(-res), false))
		return
	case res == 0:
		e.fail(c, ErrWrongReply) // closed before the answer was complete
		return
	}
	id := uint16(cq.Flags >> ring.CQEBufferShift)
	n := copy(c.rbuf[c.rlen:], e.u.bufs.Bytes(id, int(res)))
	e.u.bufs.Recycle(id)
	if n < int(res) {
		e.fail(c, ErrWrongReply) // more than was asked for
		return
	}
	if !c.recving {
		// A multishot receive that ends with data has met something it
		// cannot go on from; arm it again.
		e.u.rearm = append(e.u.rearm, c)
	}
	e.replies(c, n)
}

// sent takes the completion of c's send: what the socket took; the rest
// goes in a new send, or, all sent, the buffer is free for more lines.
func (e *echoClient) sent(c *conn, res int32) {
	if res < 0 {
		e.fail(c, errKind(unix.Errno(-res), false))
		return
	}
	c.wpos += int(res)
	if c.wpos < len(c.wbuf) {
		e.sendQueued(c)
		return
	}
	c.wbuf, c.wpos = c.wbuf[:0], 0
	e.refill(c)
}

// quiesce ends the loop's use of the ring, on its thread: it closes every
// client's socket (cancelling what each has in flight), waits up to a
// second for the kernel to finish with every receive and send, then
// releases the ring and the buffers. Releasing them first would let the
// kernel write a late reply into memory no longer the ring's.
func (l *loop) quiesce() {
	for _, c := range l.conns {
		l.closeConn(c)
	}
	u := l.u
	for end := time.Now().Add(time.Second); u.inflight > 0 && time.Now().Before(end); {
		if u.r.EnterTimeout(1, 10*time.Millisecond) != nil {
			break
		}
		u.reap()
		for _, cq := range u.cqes {
			if cq.Flags&ring.CQEFBuffer != 0 {
				u.bufs.Recycle(uint16(cq.Flags >> ring.CQEBufferShift))
			}
		}
	}
	u.r.Close()
	if u.inflight == 0 {
		u.bufs.Unmap()
	} // else: leave the buffers mapped, rather than risk the kernel writing into reused memory
	l.u = nil
}
