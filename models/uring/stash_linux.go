//go:build linux

package uring

import (
	"iolab/models"
	"iolab/models/uring/ring"
)

// The stash of multishot receive: the kernel keeps receiving while a
// connection writes its answers or sleeps, into the provided buffers
// (bufring_linux.go), and each buffer goes back to the ring in the turn
// that brought it (recycle). What the connection does not take at once
// waits in c.stash until it takes input again (take, feed); wantRecv, in
// loop_linux.go, bounds it.

// The provided buffers of multishot receive: 512 of 2 KiB, 1 MiB mapped
// once for the loop's life. A buffer is out of the ring only from the
// moment the kernel fills it to the moment the loop copies it out, within
// the same turn, so 512 cover 512 connections receiving in one turn; past
// that a receive ends with -ENOBUFS and is armed again (loopRecv). The
// ring's size is also the most one connection can receive in one turn
// (a multishot receive drains its socket into as many buffers as there
// are), and so bounds what a client that sends without reading makes the
// loop hold beyond MaxLine (see wantRecv): it is kept small on purpose.
const (
	bufCount = 512
	bufSize  = 2 << 10
	bufGroup = 1
)

// recycle gives a completion's provided buffer, if it carries one, back to
// the ring. Every path of loopRecv ends here, data or not.
func (l *loop) recycle(e *ring.CQE) {
	if e.Flags&ring.CQEFBuffer != 0 && l.bufs != nil {
		l.bufs.Recycle(uint16(e.Flags >> ring.CQEBufferShift))
	}
}

// take moves data into c.In and answers its lines for as long as c takes
// input, one LineBuffer's space at a time, as epoll's loopRead takes one
// read: the answers to one piece go out before the next piece is taken.
// It returns what c did not take.
func (l *loop) take(c *conn, data []byte) []byte {
	for len(data) > 0 && c.TakesInput() {
		n := copy(c.In.Space(), data)
		c.In.Commit(n)
		data = data[n:]
		l.answer(c)
	}
	return data
}

// feed takes what waits in c.stash, and closes c once a FIN that came
// after it is reached.
func (l *loop) feed(c *conn) {
	if len(c.stash) > 0 {
		if c.stash = l.take(c, c.stash); len(c.stash) == 0 {
			c.stash = nil // let a burst's array go
		}
	}
	if c.eof && len(c.stash) == 0 && c.TakesInput() {
		l.loopClose(c, models.ReasonEOF, nil)
	}
}
