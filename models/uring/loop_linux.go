//go:build linux

package uring

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/deadline"
	"iolab/models/internal/exchange"
	"iolab/models/internal/sock"
)

// Ring sizes. The SQ takes one turn's submissions (a turn that needs more
// submits what it has and goes on, see prep); the CQ is four times as big,
// since multishot requests complete many times for one submission, and a
// CQ that fills anyway loses nothing (IORING_FEAT_NODROP: the kernel keeps
// the overflow aside until the loop makes room).
const (
	sqEntries = 4096
	cqEntries = 4 * sqEntries
)

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

	kindShift = 56
	idMask    = 1<<kindShift - 1
)

// userData tags a submission with what it is for.
func userData(kind uint8, id uint64) uint64 { return uint64(kind)<<kindShift | id&idMask }

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

	// The watcher is the only other goroutine: when ctx is done it sets
	// stop and wakes the loop through the eventfd, whose read the loop
	// keeps in flight.
	loopDone := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
			l.stop.Store(true)
			l.wake()
		case <-loopDone:
		}
	}()

	stats.StartUsing("uring", &s.cfg, bound.String(), l.features)
	ready(net.TCPAddrFromAddrPort(bound))
	err = l.run()
	close(loopDone)
	<-watched
	stats.Stop("uring")
	return err
}

// loop is the state of the event loop. Only the loop's thread touches it,
// except stop and wake.
//
// Memory the kernel reads or writes after the system call that submitted
// the operation returns must stay where it is, and alive, until the
// operation's last completion. Go's garbage collector does not move heap
// objects (only stacks move, and nothing here points into a stack), but it
// frees what nothing references. So: the rings and the provided buffers
// are mmap(2)ed, outside Go's heap, for the loop's life; wakeBuf is a
// field of the loop, which outlives every operation (run returns only
// once none is in flight, see quiesce); a single-shot receive writes into
// its connection's LineBuffer, which nothing touches while the receive is
// in flight; a send reads from the bytes conn.sending holds until its
// completion, however out changes meanwhile; and a connection leaves
// conns, its only reference, only when its last completion has come
// (retire).
type loop struct {
	cfg       *models.Config  // what the server was told to do
	r         *ring           // the io_uring instance
	bufs      *bufRing        // provided buffers for multishot receive; nil without
	multiRecv bool            // receive multishot, into bufs; else single-shot, into c.In
	features  models.Features // what the kernel offered, for the start event
	lfd       int             // the listening socket
	backlog   int             // its accept queue's size, for the multishot accept's margin
	slots     *models.Slots   // the connection limit
	conns     map[uint64]*conn
	nextID    uint64            // the id of the last connection opened
	stats     *models.Stats     // the counters and log events of this Serve call
	tid       int               // the loop's OS thread, logged with every connection
	now       time.Time         // read once per wake-up; precise enough for timeouts
	inflight  int               // submissions whose last completion has not come yet
	cqes      []cqe             // the completions of one turn, reaped
	pool      models.BufferPool // input buffers of the connections with nothing in hand

	wakefd    int     // eventfd(2) the watcher writes to stop the loop
	wakeBuf   [8]byte // where the kernel reads the eventfd's counter into
	wakeArmed bool    // the eventfd read is in flight

	timers     deadline.Heap[timer] // pending deadlines, earliest first (timers_linux.go)
	ringTimers map[uint64]time.Time // ring timeouts in flight, by sequence number: when each fires
	timerSeq   uint64               // the last ring timeout's sequence number
	timespec   kernelTimespec       // the next ring timeout's, read by the kernel as it submits

	multiAccept  bool                 // the kernel has multishot accept
	acceptArmed  bool                 // an accept is in flight
	acceptMulti  bool                 // and it is multishot
	acceptCancel bool                 // and its cancel has been submitted
	full         bool                 // the limit was reached and logged, and not yet left
	paused       bool                 // accepting is paused after an error such as EMFILE
	backoff      models.AcceptBackoff // how long the next pause is
	stop         atomic.Bool          // set by the watcher when ctx is done
	draining     bool                 // shutdown has begun
}

// conn is one connection's state: its exchange of requests and answers,
// the same as the epoll loop's (models/internal/exchange), and what is
// io_uring's own. Completion handlers change it; settle then derives from
// it which operations the connection should have in flight, and submits
// or cancels them: the one place that decides, as the epoll loop's want
// is. A Closed one waits in conns for its last completions (retire).
type conn struct {
	exchange.Conn
	id      uint64 // the loop's number for it, in user_data; never reused
	fd      int    // the connected socket; -1 once closed
	stash   []byte // received by multishot but not yet taken into In (see take)
	eof     bool   // multishot receive saw the end of the stream, after stash
	sending []byte // the bytes of the send in flight; nil with none
	recving bool   // a receive is in flight (armed, if multishot)
	cancels uint8  // which operations have a cancel in flight (kindRecv, kindSend bits)
}

// newLoop sets up the ring and what the loop keeps in flight on it.
func newLoop(cfg *models.Config, lfd int, stats *models.Stats) (*loop, error) {
	r, err := setupRing(sqEntries, cqEntries)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOMEM) {
			return nil, diagnose(err, readSysctl)
		}
		return nil, err
	}
	l := &loop{cfg: cfg, r: r, lfd: lfd, backlog: cfg.Backlog, slots: models.NewSlots(cfg.Limit()),
		conns: make(map[uint64]*conn), stats: stats, tid: sock.Tid(), now: time.Now(),
		ringTimers: make(map[uint64]time.Time), cqes: make([]cqe, 0, cqEntries), wakefd: -1}
	if l.backlog == 0 {
		l.backlog = sock.MaxBacklog()
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
	case l.r.flags&setupDeferTaskrun != 0:
		l.features.Ring = "defer_taskrun"
	case l.r.flags&setupCoopTaskrun != 0:
		l.features.Ring = "coop_taskrun"
	}
	ops, err := l.r.probe()
	if err != nil || singleShotOnly {
		return // before Linux 5.6: single-shot everything
	}
	if ops[opSocket] {
		l.multiAccept = true
		l.features.Accept = "multishot"
	}
	if ops[opSendZC] {
		if b, err := setupBufRing(l.r, bufCount, bufSize, bufGroup); err == nil {
			l.bufs, l.multiRecv = b, true
			l.features.Recv = "multishot+bufring"
		}
	}
}

// close releases the ring, the buffers and the eventfd. After run, nothing
// is in flight. After a failed io_uring_enter, something may be: the
// provided buffers are then left mapped, since the kernel could still
// write into them until the ring's teardown (which runs after close
// returns) cancels their receives.
func (l *loop) close() {
	l.r.close()
	if l.bufs != nil && l.inflight == 0 {
		l.bufs.unmap()
	}
	if l.wakefd >= 0 {
		unix.Close(l.wakefd)
	}
}

// wake makes the loop's wait return, from any goroutine: the eventfd read
// in flight completes.
func (l *loop) wake() {
	var one = [8]byte{1} // native-endian 1 on little-endian machines; any non-zero count wakes
	_, _ = unix.Write(l.wakefd, one[:])
}

// run submits, waits for completions and dispatches them, turn after
// turn, until the drain is complete; then it waits for the kernel to give
// back every operation still in flight.
func (l *loop) run() error {
	deadline.StartSweep(&l.timers, l.cfg, l.now)
	for !l.draining || len(l.conns) > 0 {
		if !l.wakeArmed {
			l.armWake()
		}
		l.settleListener()
		l.armTimer()
		// Submit this turn's operations and wait for a completion: the
		// one place the thread blocks. With completions already in the
		// CQ it only submits.
		if err := l.r.enter(!l.r.ready()); err != nil {
			return err
		}
		l.now = time.Now()
		l.turn()
		if l.stop.Load() && !l.draining {
			l.beginDrain()
		}
		l.runTimers()
	}
	return l.quiesce()
}

// turn reaps the completions in the CQ and dispatches each to its
// handler.
func (l *loop) turn() {
	l.cqes = l.r.reap(l.cqes[:0])
	for i := range l.cqes {
		e := &l.cqes[i]
		if e.flags&cqeFMore == 0 {
			l.inflight-- // the request's last completion
		}
		kind, id := uint8(e.userData>>kindShift), e.userData&idMask
		switch kind {
		case kindAccept:
			l.loopAccept(e)
		case kindWake:
			l.wakeArmed = false // re-armed next turn; stop says why it came
		case kindTimer:
			l.loopTimer(id)
		case kindCancel:
			// The cancelled request's own completion (-ECANCELED, or its
			// result if it finished first) says what happened; the
			// cancel's -ENOENT or -EALREADY add nothing.
		case kindRecv, kindSend:
			c := l.conns[id]
			if c == nil {
				l.recycle(e) // cannot happen: a connection waits for its last completion
				continue
			}
			if kind == kindRecv {
				l.loopRecv(c, e)
			} else {
				l.loopSend(c, e)
			}
			l.settle(c)
		}
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
		if err := l.r.enter(!l.r.ready()); err != nil {
			return err
		}
		l.now = time.Now()
		l.turn()
	}
	return nil
}

// prep fills the next submission entry: op on fd, for kind and id. It
// counts the request as in flight. When the SQ is full it first submits
// what it holds; if the kernel cannot take any (it is out of memory), it
// returns nil and the caller gives up on that operation.
func (l *loop) prep(op uint8, fd int, kind uint8, id uint64) *sqe {
	e := l.r.getSQE()
	if e == nil {
		if l.r.enter(false) == nil {
			e = l.r.getSQE()
		}
		if e == nil {
			return nil
		}
	}
	e.opcode, e.fd, e.userData = op, int32(fd), userData(kind, id)
	l.inflight++
	return e
}

// cancel asks the kernel to cancel the request tagged ud
// (IORING_OP_ASYNC_CANCEL). The request then completes with -ECANCELED,
// or with its own result if it finished first. It reports false if the
// SQ had no room.
func (l *loop) cancel(ud uint64) bool {
	e := l.prep(opAsyncCancel, -1, kindCancel, 0)
	if e == nil {
		return false
	}
	e.addr = ud
	return true
}

// armWake keeps a read of the eventfd in flight, so that the watcher's
// write completes it and ends the loop's wait.
func (l *loop) armWake() {
	if l.draining && len(l.conns) == 0 {
		return
	}
	if e := l.prep(opRead, l.wakefd, kindWake, 0); e != nil {
		e.addr = uint64(uintptr(unsafe.Pointer(&l.wakeBuf[0])))
		e.len = uint32(len(l.wakeBuf))
		l.wakeArmed = true
	}
}

// loopRecv handles a receive's completion: data, the end of the stream,
// or an error.
func (l *loop) loopRecv(c *conn, e *cqe) {
	if e.flags&cqeFMore == 0 {
		c.recving = false
		c.cancels &^= 1 << kindRecv
	}
	defer l.recycle(e)
	switch res := e.res; {
	case res > 0:
		c.Rec.BytesIn += int64(res)
		c.Active = deadline.At(l.now)
		if c.Closed {
			return // what came before the cancel took effect
		}
		if e.flags&cqeFBuffer == 0 {
			// Single-shot: the kernel read into c.In.Space().
			c.In.Commit(int(res))
			l.answer(c)
			return
		}
		data := l.bufs.bytes(uint16(e.flags>>cqeBufferShift), int(res))
		if len(c.stash) == 0 {
			data = l.take(c, data)
		}
		if len(data) > 0 {
			// Copied, since the buffer goes back to the ring now.
			c.stash = append(c.stash, data...)
		}
	case res == 0:
		// The client sent its FIN. Multishot, it may come after data c
		// has not taken yet: c closes once that is answered (feed), as
		// epoll reads the EOF only after the lines before it. Single-shot,
		// c was taking input, and feed closes it at once.
		c.eof = true
	case res == -int32(unix.ECANCELED):
		// Ours: c closed, or stopped taking input with a full stash.
	case res == -int32(unix.ENOBUFS):
		// The provided buffers ran dry: more connections received in one
		// turn than there are buffers. The multishot receive has ended;
		// settle arms it again, after this turn has given every buffer
		// back (each completion recycles its own), so this does not spin.
	case res == -int32(unix.EINVAL) && l.multiRecv:
		// A kernel whose probe promised multishot receive without having
		// it. Single-shot from now on, for every connection; settle arms
		// c's. (The buffer ring stays mapped until close.)
		l.multiRecv = false
		l.cfg.Log.Warn().Msg("uring: the kernel refused multishot recv (EINVAL); receiving single-shot")
	default:
		// -ECONNRESET, -EPIPE, -ETIMEDOUT...: the client is gone, even if
		// c is asleep: nobody is left to answer.
		err := syscall.Errno(-res)
		l.loopClose(c, ioReason(err), os.NewSyscallError("recv", err))
	}
}

// recycle gives a completion's provided buffer, if it carries one, back to
// the ring. Every path of loopRecv ends here, data or not.
func (l *loop) recycle(e *cqe) {
	if e.flags&cqeFBuffer != 0 && l.bufs != nil {
		l.bufs.recycle(uint16(e.flags >> cqeBufferShift))
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

// loopSend handles a send's completion. A short send is not an error: the
// socket took what it had room for, and settle sends the rest.
func (l *loop) loopSend(c *conn, e *cqe) {
	c.sending = nil // the kernel is done with those bytes
	c.cancels &^= 1 << kindSend
	switch res := e.res; {
	case res >= 0:
		c.Sent += int(res)
		c.Rec.BytesOut += int64(res)
		c.Active = deadline.At(l.now)
		if c.Sent == len(c.Out) {
			c.Out, c.Sent = c.Out[:0], 0
		}
	case res == -int32(unix.ECANCELED):
		// Ours: c closed.
	default:
		// -EPIPE, -ECONNRESET: the client is gone.
		err := syscall.Errno(-res)
		l.loopClose(c, ioReason(err), os.NewSyscallError("send", err))
	}
}

// answer begins the complete lines in c.In, in order, until none is left
// or one must wait.
func (l *loop) answer(c *conn) {
	c.Answer(l.draining, func(reply []byte) { l.begin(c, reply) })
}

// begin starts a request whose answer is reply, as the epoll loop does:
// cpu work spins right here (exchange.Conn.Begin), holding up every other
// connection of the loop; a sleep arms a timer, and the request finishes
// when it fires (WorkDone). Out may grow while a send is in flight; that
// send reads the bytes c.sending keeps, which appending does not touch.
func (l *loop) begin(c *conn, reply []byte) {
	if sleep := c.Begin(l.cfg, reply); sleep > 0 {
		l.schedule(l.now.Add(sleep), timer{Kind: deadline.Work, Conn: c})
	}
}

// settle makes c's operations follow its state, once a handler has
// changed it: it takes stashed input, sends what is unsent, closes c if it
// is closing and all is written, and keeps a receive in flight exactly
// while wantRecv says so. Every handler of a connection ends here.
func (l *loop) settle(c *conn) {
	if !c.Closed {
		l.feed(c)
	}
	if c.Closed {
		l.retire(c)
		return
	}
	if c.sending == nil && c.Sent < len(c.Out) {
		if !l.send(c) {
			l.loopClose(c, models.ReasonError, errSQFull)
			return
		}
	}
	if c.Closing && c.Sent == len(c.Out) {
		l.loopClose(c, c.After, nil)
		return
	}
	if l.multiRecv {
		// The kernel reads into the provided buffers, not into In: a
		// connection with nothing in hand gives In back. (Single-shot,
		// a receive in flight reads into In's space: it keeps it.)
		c.Rest()
	}
	want := l.wantRecv(c)
	switch {
	case want && !c.recving:
		if !l.recv(c) {
			l.loopClose(c, models.ReasonError, errSQFull)
			return
		}
	case !want && c.recving && c.cancels&(1<<kindRecv) == 0:
		if l.cancel(userData(kindRecv, c.id)) {
			c.cancels |= 1 << kindRecv
		}
	}
	c.Clocks(l.now)
}

// errSQFull is why a connection closes when not even its operation fits
// in the SQ: the kernel is out of memory for new requests.
var errSQFull = errors.New("uring: submission queue full")

// wantRecv is whether c should have a receive in flight: the one place it
// is decided.
//
// Single-shot, it is epoll's want: receive only when everything is
// written and nothing waits (TakesInput), so that out holds the answers
// to one LineBuffer's worth of lines at most, within cfg.OutputCap(), as
// in epoll.
//
// Multishot, the receive stays armed while c writes or sleeps: cancelling
// it each time c has answers to send and arming it again would cost two
// submissions per request, the saving multishot exists for. Data that
// comes meanwhile waits in c.stash, and take feeds it in only when c
// takes input, so out keeps the same bound. The stash is what the socket
// buffer is for epoll, except that the kernel has already handed it over;
// it is bounded by cancelling the receive once it holds MaxLine bytes.
// What arrives before the cancel lands is kept too: at most what the
// provided buffers hold (bufCount × bufSize, 1 MiB) for each turn the
// cancel takes to land, one or two, since the kernel fills no more
// buffers than the ring has before the loop copies them out.
func (l *loop) wantRecv(c *conn) bool {
	switch {
	case c.In == nil || c.Closing || c.eof:
		return false
	case l.multiRecv:
		return len(c.stash) < l.cfg.MaxLine
	}
	return c.TakesInput()
}

// recv submits c's receive: multishot into the provided buffers, or one
// receive into c.In's free space.
func (l *loop) recv(c *conn) bool {
	e := l.prep(opRecv, c.fd, kindRecv, c.id)
	if e == nil {
		return false
	}
	if l.multiRecv {
		e.ioprio = recvMultishot
		e.flags = sqeBufferSelect
		e.bufGroup = l.bufs.group
	} else {
		space := c.In.Space() // untouched until the completion: c takes no input meanwhile
		e.addr = uint64(uintptr(unsafe.Pointer(&space[0])))
		e.len = uint32(len(space))
	}
	c.recving = true
	return true
}

// send submits the unsent part of c.Out, which c.sending keeps alive
// until the completion. MSG_NOSIGNAL: a client that has gone makes the
// send fail with EPIPE, not raise SIGPIPE.
func (l *loop) send(c *conn) bool {
	e := l.prep(opSend, c.fd, kindSend, c.id)
	if e == nil {
		return false
	}
	c.sending = c.Out[c.Sent:len(c.Out):len(c.Out)]
	e.addr = uint64(uintptr(unsafe.Pointer(&c.sending[0])))
	e.len = uint32(len(c.sending))
	e.opFlags = msgNoSignal
	return true
}

// loopClose closes c, whatever it still had to write: it is logged and
// counted now, and its descriptor closed by retire once the kernel has
// given back its operations.
func (l *loop) loopClose(c *conn, reason models.Reason, err error) {
	if c.Closed {
		return
	}
	c.Closed = true
	if reason != models.ReasonError {
		err = nil
	}
	l.stats.Close(&c.Rec, reason, l.tid, err)
	l.retire(c)
}

// retire finishes closing c: it cancels c's operations in flight, and once
// their completions have all come (retire runs again from settle after
// each), closes the descriptor and forgets c. Closing first would not do:
// an operation in flight holds its own reference to the socket, so the
// close would neither end it nor free the descriptor's file, and the
// kernel could still write into c's buffers after the loop had dropped
// them.
func (l *loop) retire(c *conn) {
	if c.fd < 0 {
		return
	}
	for _, op := range []struct {
		kind   uint8
		flying bool
	}{{kindRecv, c.recving}, {kindSend, c.sending != nil}} {
		if op.flying && c.cancels&(1<<op.kind) == 0 {
			if !l.cancel(userData(op.kind, c.id)) {
				// No room in the SQ even for a cancel: shutdown(2) ends
				// the socket's operations just as well.
				_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
			}
			c.cancels |= 1 << op.kind
		}
	}
	if c.recving || c.sending != nil {
		return
	}
	unix.Close(c.fd)
	c.fd = -1
	delete(l.conns, c.id)
	l.slots.Release()
}

// closeAll closes every connection at once, when the shutdown timeout
// expires.
func (l *loop) closeAll() {
	for _, c := range l.conns {
		l.loopClose(c, models.ReasonShutdown, nil)
	}
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

// ioReason names why a failed receive or send ended a connection.
func ioReason(err error) models.Reason {
	if models.IsReset(err) {
		return models.ReasonReset
	}
	return models.ReasonError
}
