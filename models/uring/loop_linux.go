//go:build linux

package uring

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/deadline"
	"iolab/models/internal/disk"
	"iolab/models/internal/exchange"
	"iolab/models/proc"

	"iolab/models/uring/ring"
)

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
	r         *ring.Ring      // the io_uring instance
	bufs      *ring.BufRing   // provided buffers for multishot receive; nil without
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
	yielder   proc.Yielder      // passes through Go's scheduler every few ms
	inflight  int               // submissions whose last completion has not come yet
	cqes      []ring.CQE        // the completions of one turn, reaped
	pool      models.BufferPool // input buffers of the connections with nothing in hand
	data      *disk.File        // disk work's data file; nil for other work
	dataBufs  [][]byte          // aligned read buffers not in flight

	wakefd    int     // eventfd(2) the watcher writes to stop the loop
	wakeBuf   [8]byte // where the kernel reads the eventfd's counter into
	wakeArmed bool    // the eventfd read is in flight

	timers     deadline.Heap[timer] // pending deadlines, earliest first (timers_linux.go)
	ringTimers map[uint64]time.Time // ring timeouts in flight, by sequence number: when each fires
	timerSeq   uint64               // the last ring timeout's sequence number
	timespec   ring.Timespec        // the next ring timeout's, read by the kernel as it submits

	multiAccept  bool                 // the kernel has multishot accept
	acceptArmed  bool                 // an accept is in flight
	acceptMulti  bool                 // and it is multishot
	acceptCancel bool                 // and its cancel has been submitted
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
//
// It is kept small, as an idle connection costs little else: the fields
// of one byte share a word with fd, and the buffers an operation lends
// the kernel are held by their first byte (their length is in the
// submission), which keeps the whole array alive all the same.
type conn struct {
	exchange.Conn
	id      uint64 // the loop's number for it, in user_data; never reused
	fd      int32  // the connected socket; -1 once closed
	eof     bool   // multishot receive saw the end of the stream, after stash
	recving bool   // a receive is in flight (armed, if multishot)
	cancels uint8  // which operations have a cancel in flight (kindRecv, kindSend, kindRead bits)
	stash   []byte // received by multishot but not yet taken into In (see take)
	sending *byte  // the first byte of the send in flight, in Out's array; nil with none
	reading *byte  // the first byte of the data file's read in flight; nil with none
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
		if err := l.r.Enter(!l.r.Ready()); err != nil {
			return err
		}
		l.now = time.Now()
		l.yielder.Yield() // keeps sysmon off the loop's CPU (proc.Yielder)
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
	l.cqes = l.r.Reap(l.cqes[:0])
	for i := range l.cqes {
		e := &l.cqes[i]
		if e.Flags&ring.CQEFMore == 0 {
			l.inflight-- // the request's last completion
		}
		kind, id := uint8(e.UserData>>kindShift), e.UserData&idMask
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
		case kindRecv, kindSend, kindRead:
			c := l.conns[id]
			if c == nil {
				l.recycle(e) // cannot happen: a connection waits for its last completion
				continue
			}
			switch kind {
			case kindRecv:
				l.loopRecv(c, e)
			case kindSend:
				l.loopSend(c, e)
			default:
				l.loopReadData(c, e)
			}
			l.settle(c)
		}
	}
}

// loopRecv handles a receive's completion: data, the end of the stream,
// or an error.
func (l *loop) loopRecv(c *conn, e *ring.CQE) {
	if e.Flags&ring.CQEFMore == 0 {
		c.recving = false
		c.cancels &^= 1 << kindRecv
	}
	defer l.recycle(e)
	switch res := e.Res; {
	case res > 0:
		c.Rec.BytesIn += int64(res)
		c.Active = deadline.At(l.now)
		if c.Closed {
			return // what came before the cancel took effect
		}
		if e.Flags&ring.CQEFBuffer == 0 {
			// Single-shot: the kernel read into c.In.Space().
			c.In.Commit(int(res))
			l.answer(c)
			return
		}
		data := l.bufs.Bytes(uint16(e.Flags>>ring.CQEBufferShift), int(res))
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
		reason, err := models.ReasonFor(os.NewSyscallError("recv", syscall.Errno(-res)), models.ReasonError)
		l.loopClose(c, reason, err)
	}
}

// loopSend handles a send's completion. A short send is not an error: the
// socket took what it had room for, and settle sends the rest.
func (l *loop) loopSend(c *conn, e *ring.CQE) {
	c.sending = nil // the kernel is done with those bytes
	c.cancels &^= 1 << kindSend
	switch res := e.Res; {
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
		reason, err := models.ReasonFor(os.NewSyscallError("send", syscall.Errno(-res)), models.ReasonError)
		l.loopClose(c, reason, err)
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
	if l.data != nil && l.cfg.Heavy(reply) {
		l.readData(c, reply) // disk work: the kernel reads, the loop goes on
		return
	}
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
	}{{kindRecv, c.recving}, {kindSend, c.sending != nil}, {kindRead, c.reading != nil}} {
		if op.flying && c.cancels&(1<<op.kind) == 0 {
			if !l.cancel(userData(op.kind, c.id)) {
				// No room in the SQ even for a cancel: shutdown(2) ends
				// the socket's operations just as well.
				_ = unix.Shutdown(int(c.fd), unix.SHUT_RDWR)
			}
			c.cancels |= 1 << op.kind
		}
	}
	if c.recving || c.sending != nil || c.reading != nil {
		return
	}
	unix.Close(int(c.fd))
	c.fd = -1
	delete(l.conns, c.id)
	l.slots.Release()
}
