//go:build linux

package epoll

import (
	"context"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/sock"
)

// Serve runs the event loop on the calling goroutine, locked to its OS
// thread, until ctx is done.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	lfd, bound, err := sock.ListenNonblocking(s.cfg.Addr, s.cfg.Backlog)
	if err != nil {
		return err
	}
	defer unix.Close(lfd)
	p, err := openPoller()
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.add(lfd, unix.EPOLLIN); err != nil {
		return err
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l := &loop{cfg: &s.cfg, p: p, lfd: lfd, conns: make(map[int]*conn),
		stats: models.NewStats(&s.cfg), tid: sock.Tid(), now: time.Now()}
	l.schedule(&timer{kind: timerSweep, when: l.now.Add(l.sweepEvery())})

	// The watcher is the only other goroutine: when ctx is done it sets
	// stop and wakes the loop through the eventfd.
	loopDone := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
			l.stop.Store(true)
			_ = p.wake()
		case <-loopDone:
		}
	}()

	l.stats.Start("epoll", &s.cfg, bound.String())
	ready(net.TCPAddrFromAddrPort(bound))
	err = l.run()
	close(loopDone)
	<-watched
	for _, c := range l.conns { // only after an epoll_wait failure
		l.loopClose(c, models.ReasonShutdown, nil)
	}
	l.stats.Stop("epoll")
	return err
}

// loop is the state of the event loop. Only the loop's thread touches it,
// except stop.
type loop struct {
	cfg   *models.Config
	p     *poller
	lfd   int           // listening socket, -1 once closed for shutdown
	conns map[int]*conn // open connections by descriptor
	stats *models.Stats
	tid   int       // the loop's OS thread, logged with every connection
	now   time.Time // read once per wake-up; precise enough for timeouts

	timers timerHeap // pending timers, earliest first

	acceptable bool                 // the listener was reported readable in this batch
	paused     bool                 // accepting is paused after an error such as EMFILE
	backoff    models.AcceptBackoff // how long the next pause is
	stop       atomic.Bool          // set by the watcher when ctx is done
	draining   bool                 // shutdown has begun
}

// conn is one connection's state. Its interest in epoll follows from it
// (see want): reading while it has nothing to send and no work pending;
// writing while answers wait in out; nothing while its work sleeps.
type conn struct {
	fd      int
	rec     models.ConnRecord
	in      *models.LineBuffer // echo input not yet answered
	out     []byte             // answers not yet written, from out[sent:]
	sent    int                // bytes of out already written
	working []byte             // the request whose sleep timer is pending, nil if none
	after   models.Reason      // close with this once out is written (see closing)
	closing bool               // close once out is written
	closed  bool               // closed; timers that still point here are stale
	events  uint32             // current epoll interest
	active  time.Time          // last read or write, for the idle timeout
}

// run waits for events and dispatches them until the drain is complete.
func (l *loop) run() error {
	for !l.draining || len(l.conns) > 0 {
		events, err := l.p.wait(l.timeout())
		if err != nil {
			return err
		}
		l.now = time.Now()
		for _, ev := range events {
			switch fd := int(ev.Fd); fd {
			case l.p.wakefd:
				l.p.drainWake()
			case l.lfd:
				// Accept after the batch: a descriptor closed earlier in
				// this batch could be reused by accept, and a stale event
				// later in the batch would then hit the new connection.
				l.acceptable = true
			default:
				if c := l.conns[fd]; c != nil {
					l.loopEvent(c, ev.Events)
				}
			}
		}
		if l.acceptable {
			l.acceptable = false
			l.loopAccept()
		}
		if l.stop.Load() && !l.draining {
			l.beginDrain()
		}
		l.runTimers()
	}
	return nil
}

// loopAccept accepts every connection waiting in the accept queue.
func (l *loop) loopAccept() {
	for !l.paused && !l.draining {
		fd, sa, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
		case unix.EAGAIN:
			return // the queue is empty
		case unix.EINTR, unix.ECONNABORTED:
			continue // a signal, or a client that gave up while queued
		default:
			// EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays queued
			// and the listener stays readable, so level-triggered epoll
			// would report it again at once, in a spin. Stop watching the
			// listener for a while instead.
			pause := l.backoff.Next()
			l.stats.AcceptError(os.NewSyscallError("accept4", err), pause)
			if err := l.p.del(l.lfd); err == nil {
				l.paused = true
				l.schedule(&timer{kind: timerResumeAccept, when: l.now.Add(pause)})
			}
			return
		}
		l.backoff.Reset()
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		c := &conn{fd: fd, rec: l.stats.Open(sock.AddrPort(sa), l.tid), active: l.now}
		if l.cfg.Proto == models.Greeting {
			l.startWork(c, nil)
		} else {
			c.in = models.NewLineBuffer(l.cfg.MaxLine)
		}
		if c.closed {
			continue // the greeting went out in full and the connection is done
		}
		c.events = c.want()
		if err := l.p.add(fd, c.events); err != nil {
			l.loopClose(c, models.ReasonError, err)
			continue
		}
		l.conns[fd] = c
	}
}

// loopEvent handles what epoll reported for c.
func (l *loop) loopEvent(c *conn, ev uint32) {
	if ev&unix.EPOLLOUT != 0 {
		l.loopWrite(c)
	}
	if c.closed {
		return
	}
	if ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		if c.events&unix.EPOLLIN != 0 {
			l.loopRead(c) // the read itself reports EOF or the error
		} else if ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			// The client is gone while its work sleeps or its answer
			// waits; nobody is left to answer.
			l.loopClose(c, models.ReasonReset, nil)
		}
	}
	l.setInterest(c)
}

// loopRead reads what has arrived and answers every complete line.
func (l *loop) loopRead(c *conn) {
	n, err := unix.Read(c.fd, c.in.Space())
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return // nothing after all; epoll will say when
	case err != nil:
		l.loopClose(c, readReason(err), err)
		return
	case n == 0:
		l.loopClose(c, models.ReasonEOF, nil)
		return
	}
	c.in.Commit(n)
	c.rec.BytesIn += int64(n)
	c.active = l.now
	l.answer(c)
}

// answer handles complete lines in c.in, in order, until none is left or
// one must wait for its sleep timer; then it writes what it can.
func (l *loop) answer(c *conn) {
	for c.working == nil && !c.closing {
		line, err := c.in.Next()
		if err != nil { // models.ErrLineTooLong
			c.out = append(c.out, models.ErrLineReply...)
			c.closing, c.after = true, models.ReasonTooLong
			break
		}
		if line == nil {
			break
		}
		l.startWork(c, line)
	}
	if l.draining && c.working == nil && !c.closing {
		c.closing, c.after = true, models.ReasonShutdown
	}
	l.loopWrite(c)
}

// startWork begins a request: line for echo, nil for the greeting
// (models.BeginWork: cpu work spins right here, holding up every other
// connection of the loop: that is the lesson). A sleep must not block the
// loop, so it arms a timer and answers when the timer fires (finishWork).
func (l *loop) startWork(c *conn, line []byte) {
	if sleep := models.BeginWork(l.cfg); sleep > 0 {
		c.working = line
		if line == nil {
			c.working = l.cfg.Greeting
		}
		l.schedule(&timer{kind: timerWork, when: l.now.Add(sleep), c: c})
		return
	}
	l.finishWork(c, line)
}

// finishWork queues the answer to a request whose work is done.
func (l *loop) finishWork(c *conn, line []byte) {
	c.working = nil
	c.rec.Requests++
	if l.cfg.Proto == models.Greeting {
		c.out = append(c.out, l.cfg.Greeting...)
		c.closing, c.after = true, models.ReasonDone
		l.loopWrite(c)
		return
	}
	c.out = append(c.out, line...)
}

// loopWrite writes as much of c.out as the socket takes. What is left waits
// for EPOLLOUT (see want). Once all is written, a closing connection closes.
func (l *loop) loopWrite(c *conn) {
	for c.sent < len(c.out) {
		n, err := unix.Write(c.fd, c.out[c.sent:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return // the send buffer is full: a partial write
		}
		if err != nil {
			l.loopClose(c, readReason(err), err)
			return
		}
		c.sent += n
		c.rec.BytesOut += int64(n)
		c.active = l.now
	}
	c.out, c.sent = c.out[:0], 0
	if c.closing {
		l.loopClose(c, c.after, nil)
	}
}

// loopClose closes c. Closing the descriptor also removes it from the
// epoll interest list.
func (l *loop) loopClose(c *conn, reason models.Reason, err error) {
	if c.closed {
		return
	}
	c.closed = true
	delete(l.conns, c.fd)
	unix.Close(c.fd)
	if reason != models.ReasonError {
		err = nil
	}
	l.stats.Close(&c.rec, reason, l.tid, err)
}

// want is the epoll interest c's state calls for.
func (c *conn) want() uint32 {
	switch {
	case c.sent < len(c.out):
		return unix.EPOLLOUT // writing: stop reading until the client catches up
	case c.working != nil || c.closing || c.in == nil:
		return 0 // waiting for a timer: hear only hang-ups
	}
	return unix.EPOLLIN
}

// setInterest tells epoll about a change in what c waits for.
func (l *loop) setInterest(c *conn) {
	if c.closed {
		return
	}
	if want := c.want(); want != c.events {
		if err := l.p.mod(c.fd, want); err != nil {
			l.loopClose(c, models.ReasonError, err)
			return
		}
		c.events = want
	}
}

// beginDrain starts the graceful shutdown: stop accepting, close every
// connection that is not in the middle of a request, and arm the timer
// that closes the rest when the shutdown timeout expires.
func (l *loop) beginDrain() {
	l.draining = true
	if !l.paused {
		_ = l.p.del(l.lfd)
	}
	for _, c := range l.conns {
		if c.working == nil && c.sent == len(c.out) {
			l.loopClose(c, models.ReasonShutdown, nil)
		} else if c.working == nil {
			c.closing, c.after = true, models.ReasonShutdown
		}
	}
	l.schedule(&timer{kind: timerShutdown, when: l.now.Add(l.cfg.ShutdownTimeout)})
}

// readReason names a failed read or write.
func readReason(err error) models.Reason {
	if models.IsReset(err) {
		return models.ReasonReset
	}
	return models.ReasonError
}
