//go:build linux

package epoll

import (
	"context"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/deadline"
	"iolab/models/internal/exchange"
	"iolab/models/internal/sock"
	"iolab/models/proc"
)

// Serve runs the event loop on the calling goroutine, locked to its OS
// thread, until ctx is done.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	return ServeAs(ctx, "epoll", &s.cfg, nil, ready)
}

// ServeAs serves cfg with one event loop, as Serve does, on a listener of
// its own, logged as the model named model. With an offload, the work of
// every request runs there instead of on the loop (the workers model).
func ServeAs(ctx context.Context, model string, cfg *models.Config, offload Offload, ready func(net.Addr)) error {
	lfd, bound, err := sock.ListenNonblocking(cfg.Addr, cfg.Backlog)
	if err != nil {
		return err
	}
	defer unix.Close(lfd)
	stats := models.NewStats(cfg)
	started := false
	err = Run(ctx, cfg, lfd, models.NewSlots(cfg.Limit(), stats), offload, stats, func() {
		started = true
		stats.Start(model, cfg, bound.String())
		ready(net.TCPAddrFromAddrPort(bound))
	})
	if started {
		stats.Stop(model)
	}
	return err
}

// Run runs one event loop on the calling goroutine, locked to its OS
// thread, until ctx is done: it accepts on the non-blocking listener lfd,
// opens connections as slots allow, and counts and logs them in stats. It
// calls started once the loop is set up. With an offload, the work of
// every request runs there instead of on the loop (offload_linux.go). The
// epoll model runs one loop; the reuseport model one per listener, each
// on its own thread, all under one Slots; the workers model one with its
// pool: the same code.
func Run(ctx context.Context, cfg *models.Config, lfd int, slots *models.Slots, offload Offload, stats *models.Stats, started func()) error {
	p, err := openPoller(cfg.Edge)
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.add(lfd, unix.EPOLLIN); err != nil {
		return err
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l := &loop{cfg: cfg, p: p, lfd: lfd, slots: slots, offload: offload, listening: true,
		stats: stats, tid: sock.Tid(), now: time.Now()}
	deadline.StartSweep(&l.timers, cfg, l.now)

	// The watcher: when ctx is done it sets stop and wakes the loop
	// through the eventfd.
	unwatch := models.AfterDone(ctx, func() {
		l.stop.Store(true)
		_ = p.wake()
	})

	started()
	err = l.run()
	stats.LoopDone(l.accepted)
	unwatch()
	l.closeAll() // only after an epoll_wait failure
	if werr := l.awaitHandedBack(); err == nil {
		err = werr // before p.close, deferred above: the offload's threads wake it
	}
	return err
}

// loop is the state of the event loop. Only the loop's thread touches it,
// except stop.
type loop struct {
	cfg      *models.Config // what the server was told to do
	p        *poller        // the epoll instance and its wake-up eventfd
	lfd      int            // listening socket; in epoll while accepting (accept_linux.go)
	slots    *models.Slots  // the connection limit, this loop's alone or shared with other loops
	conns    connTable      // open connections by descriptor
	stats    *models.Stats  // the counters and log events of this Serve call
	offload  Offload        // where the work of requests runs; nil: on the loop
	back     handedBack     // jobs the offload has done, and how many are away
	tid      int            // the loop's OS thread, logged with every connection
	accepted int64          // connections this loop accepted, for Stats.LoopDone
	now      time.Time      // read once per wake-up; precise enough for timeouts
	yielder  proc.Yielder   // passes through Go's scheduler every few ms

	timers timerHeap         // pending timers, earliest first (timers_linux.go)
	pool   models.BufferPool // input buffers of the connections with nothing in hand

	ready      []*conn // -edge: connections that used their read budget with input maybe left (post)
	readySpare []*conn // the ready list's other slice, swapped with it by loopPosted

	acceptable bool                 // the listener was reported readable in this batch
	listening  bool                 // the listener is in epoll's interest list
	paused     bool                 // accepting is paused after an error such as EMFILE
	backoff    models.AcceptBackoff // how long the next pause is
	stop       atomic.Bool          // set by the watcher when ctx is done
	draining   bool                 // shutdown has begun
}

// conn is one connection's state: its exchange of requests and answers,
// the same as the uring loop's (models/internal/exchange), and what is
// epoll's own. Handlers change it; settle then makes the socket follow:
// it writes, closes, and sets the epoll interest, which is derived from
// this state alone (see want).
type conn struct {
	exchange.Conn
	fd      int    // the connected socket, non-blocking
	watched bool   // in epoll's interest list; settle adds it when first needed
	events  uint32 // the interest epoll has for it, once watched
	posted  bool   // on the loop's ready list (edge-triggered only: see loopRead)
}

// run waits for events and dispatches them until the drain is complete.
func (l *loop) run() error {
	for !l.draining || l.conns.n > 0 {
		events, err := l.p.wait(l.timeout())
		if err != nil {
			return err
		}
		l.now = time.Now()
		l.yielder.Yield() // keeps sysmon off the loop's CPU (proc.Yielder)
		for _, ev := range events {
			switch fd := int(ev.Fd); fd {
			case l.p.wakefd:
				l.p.drainWake()
				if l.offload != nil {
					l.loopHandedBack()
				}
			case l.lfd:
				// Accept after the batch: a descriptor closed earlier in
				// this batch could be reused by accept, and a stale event
				// later in the batch would then hit the new connection.
				l.acceptable = true
			default:
				if c := l.conns.get(fd); c != nil {
					l.loopEvent(c, ev.Events)
				}
			}
		}
		l.loopPosted()
		if l.acceptable {
			l.acceptable = false
			l.loopAccept()
		}
		if l.stop.Load() && !l.draining {
			l.beginDrain()
		}
		l.runTimers()
		l.settleListener()
	}
	return nil
}

// loopEvent handles what epoll reported for c. Its interest is one of
// EPOLLIN, EPOLLOUT or nothing (see want); hang-ups and errors come
// whatever it is.
func (l *loop) loopEvent(c *conn, ev uint32) {
	gone := ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0
	switch {
	case c.events&unix.EPOLLIN != 0 && (ev&unix.EPOLLIN != 0 || gone):
		if !c.posted { // a posted connection reads in its turn (loopPosted)
			l.loopRead(c) // the read itself reports EOF or the error
		}
	case c.events&unix.EPOLLOUT != 0:
		// settle writes; if the client is gone, the write says why.
	case gone:
		// The client is gone while its work sleeps; nobody is left to
		// answer.
		l.loopClose(c, models.ReasonReset, nil)
	}
	l.settle(c)
}

// loopRead reads what has arrived and begins every complete line.
//
// Level-triggered, one read per wake-up is enough: what is left in the
// socket keeps it readable, and the next epoll_wait reports it again.
// Edge-triggered (-edge), epoll reports the socket again only when more
// data arrives, so what is left would sit there unannounced: a client
// waiting for all its answers before it sends more would wait until the
// idle timeout. So loopRead reads on, but only up to readBudget reads: a
// client that sends as fast as the loop answers never lets a read end in
// EAGAIN, and draining it to the end would hold the loop, and every other
// client, for as long as it keeps sending. A connection whose budget runs
// out is posted (post): the loop serves it again after the next batch of
// events, before it waits, as nginx serves its posted events and the Go
// runtime's netpoller hands each ready goroutine its turn. loopRead also
// stops when the connection stops taking input (its answers back up, it
// sleeps, it closes): settle then changes the interest, and changes it
// back later with epoll_ctl MOD, which reports at once a socket that is
// still readable.
func (l *loop) loopRead(c *conn) {
	for budget := readBudget; ; budget-- {
		n, err := unix.Read(c.fd, c.In.Space())
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return // nothing (more); epoll will say when
		case err != nil:
			reason, err := models.ReasonFor(err, models.ReasonError)
			l.loopClose(c, reason, err)
			return
		case n == 0:
			l.loopClose(c, models.ReasonEOF, nil)
			return
		}
		c.In.Commit(n)
		c.Rec.BytesIn += int64(n)
		c.Active = deadline.At(l.now)
		l.answer(c)
		if l.p.edge == 0 {
			return
		}
		l.loopWrite(c) // the answers go before the next read: see want
		if c.Closed || c.want() != unix.EPOLLIN {
			return
		}
		if budget == 1 {
			l.post(c) // input may be left, and no edge will announce it
			return
		}
	}
}

// readBudget is how many reads an edge-triggered loop makes on one
// connection before it serves the others: 16 reads of the 1 KiB input
// buffer, the size of a few pipelined batches.
const readBudget = 16

// post puts c on the ready list, once, for loopPosted.
func (l *loop) post(c *conn) {
	if !c.posted {
		c.posted = true
		l.ready = append(l.ready, c)
	}
}

// loopPosted gives each posted connection one more budget of reads, in the
// order they were posted. Those that use it up again are posted again, for
// the next round; the list being non-empty makes that round's epoll_wait
// return at once (timeout), so the others' events are heard in between.
// A connection that closed, or stopped taking input, since it was posted
// is dropped: when it takes input again, settle's epoll_ctl MOD reports a
// socket that is still readable.
func (l *loop) loopPosted() {
	posted := l.ready
	l.ready = l.readySpare[:0]
	for i, c := range posted {
		posted[i] = nil
		c.posted = false
		if !c.Closed && c.want() == unix.EPOLLIN {
			l.loopRead(c)
			l.settle(c)
		}
	}
	l.readySpare = posted[:0]
}

// answer begins the complete lines in c.In, in order, until none is left
// or one must wait.
func (l *loop) answer(c *conn) {
	c.Answer(l.draining, func(reply []byte) { l.begin(c, reply) })
}

// begin starts a request whose answer is reply. Its work is done right
// here (exchange.Conn.Begin: cpu work spins, holding up every other
// connection of the loop), or, given an offload (the workers model's
// pool), handed to it. A sleep must not block the loop, so it arms a
// timer, and the request finishes when the timer fires (WorkDone).
func (l *loop) begin(c *conn, reply []byte) {
	if l.offload != nil && l.cfg.Heavy(reply) { // a cheap request has no work to hand off
		l.handOff(c, reply)
		return
	}
	if sleep := c.Begin(l.cfg, reply); sleep > 0 {
		l.schedule(l.now.Add(sleep), timer{Kind: deadline.Work, Conn: c})
	}
}

// settle makes c's socket follow its state, once a handler has changed
// it: it writes what the socket takes of c.Out, closes c if it is closing
// and all is written, and otherwise tells epoll what c now waits for, if
// that changed. Every handler of a connection ends here, so no path writes,
// closes after an answer, or changes interest on its own.
func (l *loop) settle(c *conn) {
	if c.Closed {
		return
	}
	l.loopWrite(c)
	switch {
	case c.Closed:
		return
	case c.Closing && c.Sent == len(c.Out):
		l.loopClose(c, c.After, nil)
		return
	}
	c.Rest() // an idle connection holds no input buffer
	want := c.want()
	c.Clocks(l.now)
	var err error
	switch {
	case !c.watched:
		err = l.p.add(c.fd, want)
	case want != c.events:
		err = l.p.mod(c.fd, want)
	default:
		return
	}
	if err != nil {
		l.loopClose(c, models.ReasonError, err)
		return
	}
	c.watched, c.events = true, want
}

// want is the epoll interest c's state calls for: the one place it is
// computed.
//
// It is also what bounds c's unwritten answers (Config.MaxOutput): c reads
// only once everything is written, so what waits in out is the answers to
// the lines of one read, at most the LineBuffer's content, MaxLine bytes,
// or else the ErrLineReply alone (a line too long fills the buffer and
// gets no echo); either way within cfg.OutputCap(), which Validate keeps
// at MaxLine+len(ErrLineReply) or more. A client that never reads thus
// costs the loop at most MaxLine bytes beyond the kernel's socket buffers.
// Reading on while out is below the cap would pipeline more, but then an
// answer could wait behind later ones in out, and the write deadline would
// have to be kept per answer; one read, one batch keeps it per batch.
func (c *conn) want() uint32 {
	switch {
	case c.Sent < len(c.Out):
		return unix.EPOLLOUT // writing: stop reading until the client catches up
	case c.Asleep || c.Closing || c.In == nil:
		return 0 // waiting for a timer: hear only hang-ups
	}
	return unix.EPOLLIN
}

// loopWrite writes as much of c.Out as the socket takes. What is left
// waits for EPOLLOUT (see want).
func (l *loop) loopWrite(c *conn) {
	for c.Sent < len(c.Out) {
		n, err := unix.Write(c.fd, c.Out[c.Sent:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return // the send buffer is full: a partial write
		}
		if err != nil {
			reason, err := models.ReasonFor(err, models.ReasonError)
			l.loopClose(c, reason, err)
			return
		}
		c.Sent += n
		c.Rec.BytesOut += int64(n)
		c.Active = deadline.At(l.now)
	}
	c.Out, c.Sent = c.Out[:0], 0
}

// loopClose closes c at once, whatever it still had to write: at the end
// of settle, or straight from a handler that finds the connection over
// (EOF, an error, the idle or shutdown timeout). Closing the descriptor
// also removes it from the epoll interest list.
func (l *loop) loopClose(c *conn, reason models.Reason, err error) {
	if c.Closed {
		return
	}
	c.Closed = true
	c.Rest() // its input buffer back to the pool (a reply may still point into it while a worker has it)
	l.conns.remove(c)
	unix.Close(c.fd)
	l.slots.Release()
	if reason != models.ReasonError {
		err = nil
	}
	l.stats.Close(&c.Rec, reason, l.tid, err)
}

// closeAll closes every connection at once, when the shutdown timeout
// expires or the loop fails.
func (l *loop) closeAll() {
	for _, c := range l.conns.byFD {
		if c != nil {
			l.loopClose(c, models.ReasonShutdown, nil)
		}
	}
}

// beginDrain starts the graceful shutdown: stop accepting, close every
// connection that is not in the middle of a request once its answers are
// written, and arm the timer that closes the rest when the shutdown
// timeout expires.
func (l *loop) beginDrain() {
	l.draining = true // settleListener stops watching the listener
	for _, c := range l.conns.byFD {
		if c != nil && !c.Asleep {
			c.Closing, c.After = true, models.ReasonShutdown
			l.settle(c)
		}
	}
	l.schedule(l.now.Add(l.cfg.ShutdownTimeout), timer{Kind: deadline.Shutdown})
}
