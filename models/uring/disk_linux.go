//go:build linux

package uring

import (
	"fmt"
	"syscall"
	"unsafe"

	"iolab/models"
	"iolab/models/internal/disk"

	"iolab/models/uring/ring"
)

// Disk work (-work disk:SIZE): where every other model blocks a thread in
// pread(2) for a request's read of the data file (its own thread, its
// event loop's, or a worker's), this loop hands the read to the kernel,
// IORING_OP_READ on the file it opened with O_DIRECT, and goes on with
// its other connections. The read's completion comes back through the CQ
// like a receive's, and finishes the request (WorkDone). That is what the
// completion model adds over readiness: epoll cannot wait for a regular
// file, which it always reports ready; io_uring waits for the read.
//
// block: work, a blocking system call of the loop's own, has no such
// operation, and blocks this loop as it does epoll's.

// readData begins c's request, whose answer is reply, by submitting its
// read. The buffer stays with c until the completion (c.reading), however
// c ends meanwhile: the kernel writes into it.
func (l *loop) readData(c *conn, reply []byte) {
	c.Reply, c.Asleep = reply, true
	models.WorkBegins(l.cfg)
	size := l.cfg.Work.Size
	e := l.prep(ring.OpRead, l.data.Fd(), kindRead, c.id)
	if e == nil {
		// The kernel takes no submission now (out of memory): read here,
		// blocking the loop, as epoll's does, rather than lose the request.
		if err := l.data.Read(size); err != nil {
			models.WorkFailed(l.cfg, err)
		}
		l.WorkDone(c)
		return
	}
	var buf []byte
	if n := len(l.dataBufs); n > 0 {
		buf, l.dataBufs = l.dataBufs[n-1], l.dataBufs[:n-1]
	} else {
		buf = disk.Buffer(size)
	}
	c.reading = &buf[0]
	e.Addr = uint64(uintptr(unsafe.Pointer(c.reading)))
	e.Len = uint32(size)
	e.Off = uint64(l.data.Offset(size))
}

// loopReadData finishes the request whose read has completed. A read that
// failed is logged as models.WorkFailed says, and the request answered
// all the same. A connection closed meanwhile (its read cancelled, as
// retire cancels whatever it has in flight: a read of a pipe may never
// end) only gets its buffer back.
func (l *loop) loopReadData(c *conn, e *ring.CQE) {
	l.dataBufs = append(l.dataBufs, unsafe.Slice(c.reading, l.cfg.Work.Size))
	c.reading = nil
	c.cancels &^= 1 << kindRead
	if c.Closed {
		return
	}
	switch {
	case e.Res < 0:
		models.WorkFailed(l.cfg, fmt.Errorf("io_uring read: %w", syscall.Errno(-e.Res)))
	case int(e.Res) < l.cfg.Work.Size:
		models.WorkFailed(l.cfg, fmt.Errorf("io_uring read: %d of %d bytes", e.Res, l.cfg.Work.Size))
	}
	l.WorkDone(c)
}
