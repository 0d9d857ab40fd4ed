//go:build linux

package uring

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/deadline"
	"iolab/models/internal/sock"

	"iolab/models/uring/ring"
)

// The loop's life, from start to end: Serve opens the listener, locks the
// thread, sets up the ring (newLoop, and negotiate: what this kernel
// offers) and starts the watcher, the only other goroutine; then it runs
// the loop (loop_linux.go). When ctx is done the watcher wakes the loop,
// which begins the graceful shutdown (beginDrain), closes what is left
// when its timeout expires (closeAll), and waits for the kernel to give
// back every operation still in flight (quiesce) before close unmaps what
// the kernel could write into.

// Serve runs the event loop on the calling goroutine, locked to its OS
// thread, until ctx is done.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	// A blocking listener: nothing here calls accept(2) but the kernel,
	// which tries every operation without blocking first and, if it would
	// block, waits for readiness on its own (an internal poll), whatever
	// the descriptor's mode. The connections and the eventfd are blocking
	// for the same reason: with O_NONBLOCK some kernels complete a read
	// that would block with -EAGAIN instead of waiting for data.
	lfd, bound, err := sock.ListenBlocking(s.cfg.Addr, s.cfg.Backlog)
	if err != nil {
		return err
	}
	defer unix.Close(lfd)

	// The ring is created on the thread that submits to it, and used by
	// it alone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	stats := models.NewStats(&s.cfg)
	l, err := newLoop(&s.cfg, lfd, stats)
	if err != nil {
		return err
	}
	defer l.close()

	// The watcher: when ctx is done it sets stop and wakes the loop
	// through the eventfd, whose read the loop keeps in flight.
	unwatch := models.AfterDone(ctx, func() {
		l.stop.Store(true)
		l.wake()
	})

	stats.StartUsing("uring", &s.cfg, bound.String(), l.features)
	ready(net.TCPAddrFromAddrPort(bound))
	err = l.run()
	unwatch()
	stats.Stop("uring")
	return err
}

// newLoop sets up the ring and what the loop keeps in flight on it.
func newLoop(cfg *models.Config, lfd int, stats *models.Stats) (*loop, error) {
	r, err := ring.Setup(sqEntries, cqEntries)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOMEM) {
			return nil, diagnose(err, readSysctl)
		}
		return nil, err
	}
	l := &loop{cfg: cfg, r: r, lfd: lfd, backlog: cfg.Backlog, slots: models.NewSlots(cfg.Limit(), stats),
		conns: make(map[uint64]*conn), stats: stats, tid: sock.Tid(), now: time.Now(),
		ringTimers: make(map[uint64]time.Time), cqes: make([]ring.CQE, 0, cqEntries), wakefd: -1}
	if l.backlog == 0 {
		l.backlog = sock.MaxBacklog()
	}
	if cfg.Work.Kind == models.Disk {
		if l.data, err = models.DataFile(cfg); err != nil {
			l.close()
			return nil, err
		}
	}
	if l.wakefd, err = unix.Eventfd(0, unix.EFD_CLOEXEC); err != nil {
		l.close()
		return nil, os.NewSyscallError("eventfd", err)
	}
	l.negotiate()
	return l, nil
}

// singleShotOnly makes negotiate ignore the probe, as on a kernel before
// 5.19: the tests set it to run the single-shot paths on any kernel.
var singleShotOnly = false

// negotiate finds out what the kernel offers, and sets up the provided
// buffers if multishot receive is there. The probe lists opcodes, not the
// flags of one, so the multishot flags are known by the company they keep:
// multishot accept came with Linux 5.19, as IORING_OP_SOCKET did, and
// multishot receive with 6.0, as IORING_OP_SEND_ZC did. A kernel that
// promises more than it does fails the first multishot request with
// -EINVAL, and the loop falls back to single-shot there (loopAccept,
// loopRecv).
func (l *loop) negotiate() {
	l.features = models.Features{Accept: "single", Recv: "single", Ring: "interrupt"}
	switch {
	case l.r.Flags&ring.SetupDeferTaskrun != 0:
		l.features.Ring = "defer_taskrun"
	case l.r.Flags&ring.SetupCoopTaskrun != 0:
		l.features.Ring = "coop_taskrun"
	}
	ops, err := l.r.Probe()
	if err != nil || singleShotOnly {
		return // before Linux 5.6: single-shot everything
	}
	if ops[ring.OpSocket] {
		l.multiAccept = true
		l.features.Accept = "multishot"
	}
	if ops[ring.OpSendZC] {
		if b, err := ring.SetupBufRing(l.r, bufCount, bufSize, bufGroup); err == nil {
			l.bufs, l.multiRecv = b, true
			l.features.Recv = "multishot+bufring"
		}
	}
}

// wake makes the loop's wait return, from any goroutine: the eventfd read
// in flight completes.
func (l *loop) wake() {
	var one = [8]byte{1} // native-endian 1 on little-endian machines; any non-zero count wakes
	_, _ = unix.Write(l.wakefd, one[:])
}

// beginDrain starts the graceful shutdown, as the epoll loop does: stop
// accepting, close every connection not in the middle of a request once
// its answers are written, and arm the timer that closes the rest when
// the shutdown timeout expires.
func (l *loop) beginDrain() {
	l.draining = true // settleListener cancels the accept
	for _, c := range l.conns {
		if !c.Asleep && !c.Closed {
			c.Closing, c.After = true, models.ReasonShutdown
			l.settle(c)
		}
	}
	l.schedule(l.now.Add(l.cfg.ShutdownTimeout), timer{Kind: deadline.Shutdown})
}

// closeAll closes every connection at once, when the shutdown timeout
// expires.
func (l *loop) closeAll() {
	for _, c := range l.conns {
		l.loopClose(c, models.ReasonShutdown, nil)
	}
}

// quiesce cancels what the loop keeps in flight for itself (the accept,
// the eventfd read, the ring timeouts) and waits for their completions,
// so that nothing the kernel could still write into is freed. A client
// accepted meanwhile is closed at once (open, while draining).
func (l *loop) quiesce() error {
	if l.acceptArmed && !l.acceptCancel {
		l.cancel(userData(kindAccept, 0))
		l.acceptCancel = true
	}
	if l.wakeArmed {
		l.cancel(userData(kindWake, 0))
	}
	for seq := range l.ringTimers {
		l.cancel(userData(kindTimer, seq))
	}
	for l.inflight > 0 {
		if err := l.r.Enter(!l.r.Ready()); err != nil {
			return err
		}
		l.now = time.Now()
		l.turn()
	}
	return nil
}

// close releases the ring, the buffers and the eventfd. After run, nothing
// is in flight. After a failed io_uring_enter, something may be: the
// provided buffers are then left mapped, since the kernel could still
// write into them until the ring's teardown (which runs after close
// returns) cancels their receives.
func (l *loop) close() {
	l.r.Close()
	if l.bufs != nil && l.inflight == 0 {
		l.bufs.Unmap()
	}
	if l.wakefd >= 0 {
		unix.Close(l.wakefd)
	}
}
