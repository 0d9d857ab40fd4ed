//go:build linux

package uring

import (
	"unsafe"

	"iolab/models/uring/ring"
)

// Submissions: everything the loop asks of the kernel goes through prep,
// which takes the next entry of the SQ, tags it with what it is for
// (userData: a kind and an id) and counts it in flight until its last
// completion. cancel, armWake, recv and send each fill in one operation;
// accept_linux.go and timers_linux.go fill in theirs. The entries go to
// the kernel at the next ring.enter, in run.

// Ring sizes. The SQ takes one turn's submissions (a turn that needs more
// submits what it has and goes on, see prep); the CQ is four times as big,
// since multishot requests complete many times for one submission, and a
// CQ that fills anyway loses nothing (IORING_FEAT_NODROP: the kernel keeps
// the overflow aside until the loop makes room).
const (
	sqEntries = 4096
	cqEntries = 4 * sqEntries
)

// What a completion is for: the top byte of its user_data. The rest is a
// connection's id, which is never reused (unlike its descriptor, which the
// kernel hands out again as soon as it is closed), or a ring timeout's
// sequence number. A completion that arrives for a connection already
// gone is recognised by its id and dropped.
const (
	kindAccept uint8 = iota + 1 // the listener's accept, multishot or single
	kindWake                    // the read of the wake-up eventfd
	kindTimer                   // a ring timeout: the bound of one wait (timers_linux.go)
	kindCancel                  // an IORING_OP_ASYNC_CANCEL of ours
	kindRecv                    // a connection's receive
	kindSend                    // a connection's send
	kindRead                    // a connection's read of the data file (disk_linux.go)

	kindShift = 56
	idMask    = 1<<kindShift - 1
)

// userData tags a submission with what it is for.
func userData(kind uint8, id uint64) uint64 { return uint64(kind)<<kindShift | id&idMask }

// prep fills the next submission entry: op on fd, for kind and id. It
// counts the request as in flight. When the SQ is full it first submits
// what it holds; if the kernel cannot take any (it is out of memory), it
// returns nil and the caller gives up on that operation.
func (l *loop) prep(op uint8, fd int, kind uint8, id uint64) *ring.SQE {
	e := l.r.GetSQE()
	if e == nil {
		if l.r.Enter(false) == nil {
			e = l.r.GetSQE()
		}
		if e == nil {
			return nil
		}
	}
	e.Opcode, e.Fd, e.UserData = op, int32(fd), userData(kind, id)
	l.inflight++
	return e
}

// cancel asks the kernel to cancel the request tagged ud
// (IORING_OP_ASYNC_CANCEL). The request then completes with -ECANCELED,
// or with its own result if it finished first. It reports false if the
// SQ had no room.
func (l *loop) cancel(ud uint64) bool {
	e := l.prep(ring.OpAsyncCancel, -1, kindCancel, 0)
	if e == nil {
		return false
	}
	e.Addr = ud
	return true
}

// armWake keeps a read of the eventfd in flight, so that the watcher's
// write completes it and ends the loop's wait.
func (l *loop) armWake() {
	if l.draining && len(l.conns) == 0 {
		return
	}
	if e := l.prep(ring.OpRead, l.wakefd, kindWake, 0); e != nil {
		e.Addr = uint64(uintptr(unsafe.Pointer(&l.wakeBuf[0])))
		e.Len = uint32(len(l.wakeBuf))
		l.wakeArmed = true
	}
}

// recv submits c's receive: multishot into the provided buffers, or one
// receive into c.In's free space.
func (l *loop) recv(c *conn) bool {
	e := l.prep(ring.OpRecv, int(c.fd), kindRecv, c.id)
	if e == nil {
		return false
	}
	if l.multiRecv {
		e.Ioprio = ring.RecvMultishot
		e.Flags = ring.SQEBufferSelect
		e.BufGroup = l.bufs.Group
	} else {
		space := c.In.Space() // untouched until the completion: c takes no input meanwhile
		e.Addr = uint64(uintptr(unsafe.Pointer(&space[0])))
		e.Len = uint32(len(space))
	}
	c.recving = true
	return true
}

// send submits the unsent part of c.Out, which c.sending keeps alive
// until the completion. MSG_NOSIGNAL: a client that has gone makes the
// send fail with EPIPE, not raise SIGPIPE.
func (l *loop) send(c *conn) bool {
	e := l.prep(ring.OpSend, int(c.fd), kindSend, c.id)
	if e == nil {
		return false
	}
	c.sending = &c.Out[c.Sent]
	e.Addr = uint64(uintptr(unsafe.Pointer(c.sending)))
	e.Len = uint32(len(c.Out) - c.Sent)
	e.OpFlags = ring.MsgNoSignal
	return true
}
