package reactor

import (
	"time"

	"github.com/panjf2000/gnet/v2"

	"iolab/models"
	"iolab/models/internal/deadline"
)

// The limits: how many connections the model serves, how much may wait
// for one client, and for how long. The other models stop reading a
// client whose answers back up, and the kernel's socket buffers then
// bound what it costs them. gnet cannot stop reading: eventloop_unix.go
// (read, lines 254-300) reads whatever epoll reports and appends it to the
// connection's inbound buffer after OnTraffic, and gnet.Conn has no call
// that removes a socket's read interest (gnet issues #712 and #722). So
// this model bounds both of gnet's buffers itself:
//
//   - answers waiting in gnet's outbound buffer: past Config.OutputCap the
//     model stops answering that client (answer), and looks again soon,
//     since gnet says nothing when its buffer drains (nudge);
//   - input gnet keeps reading meanwhile: past inputCap the client is
//     closed as models.ReasonWriteTimeout (it sends and does not read);
//   - time: an answer not taken within the write timeout
//     (Config.IdleTimeout from when it was handed to gnet, however slowly
//     the client reads meanwhile), a line not complete within
//     Config.RequestTimeout of the server starting to wait for its end,
//     or nothing at all for Config.IdleTimeout. OnTick's sweep wakes a
//     connection whose deadline has passed; the loop checks and closes it.

// inputSlack is the least unanswered input the model keeps for one
// client: about what the kernel holds for the models that stop reading,
// since a client's send buffer grows to 4 MiB (tcp_wmem's default
// maximum) before its writes block.
const inputSlack = 2 << 20

// inputCap returns how much read and unanswered input one connection may
// hold: inputSlack, or more if one cap of answers is more, so that a line
// of MaxLine always fits.
func inputCap(cfg *models.Config) int { return max(inputSlack, cfg.OutputCap()) }

// InputCap is inputCap for the tests outside the package: how much
// unanswered input the gnet model holds for one client before it closes
// it, since gnet cannot stop reading a socket.
func InputCap(cfg *models.Config) int { return inputCap(cfg) }

// Nudges of a stalled connection start this often and slow down to
// maxNudge while the client takes nothing.
const (
	minNudge = time.Millisecond
	maxNudge = 64 * time.Millisecond
)

// admit takes a slot for a new connection, or reports that none is free.
// gnet accepts whatever the kernel queues, so past the limit the
// connection is refused in OnOpen; the loop that accepted it closes it
// before it accepts again (SO_REUSEPORT: each loop accepts), so refusals
// hold at most one descriptor per loop.
func (h *handler) admit() bool {
	if !h.slots.TryAcquire() {
		return false
	}
	// Reached when this connection takes the last slot, as the models that
	// stop accepting log it; the refusals that follow are each logged as a
	// close with models.ReasonMaxConns.
	h.slots.Note()
	return true
}

// release gives a slot back once a connection is over.
func (h *handler) release() {
	h.slots.Release()
	h.slots.Note()
}

// offer is a run of answers handed to gnet at about the same time; the
// write timeout of all of them runs from at.
type offer struct {
	end int64 // state.offered after the run
	at  int64 // unix nanoseconds when its first byte was handed over
}

// coalesce is how close in time answers must be handed over to share an
// offer: it bounds the offers kept to about eight, and makes the write
// timeout at most an eighth early for the later ones.
func (h *handler) coalesce() int64 { return int64(h.cfg.IdleTimeout / 8) }

// send hands answers to gnet, which writes what the socket takes and
// buffers the rest.
func (h *handler) send(c gnet.Conn, st *state, p []byte, now int64) {
	_, _ = c.Write(p)
	if st.closed {
		return // the write failed and gnet closed the connection
	}
	st.rec.BytesOut += int64(len(p))
	st.offer(p, now, c.OutboundBuffered(), h.coalesce())
}

// offer records p as handed to gnet at now; ob is what gnet buffers now.
func (st *state) offer(p []byte, now int64, ob int, coalesce int64) {
	st.offered += int64(len(p))
	if n := len(st.offers); n > 0 && now-st.offers[n-1].at < coalesce {
		st.offers[n-1].end = st.offered
	} else {
		st.offers = append(st.offers, offer{end: st.offered, at: now})
	}
	if ob < len(p) { // all that was unsent before, and the start of p, is written
		st.unsent = append(st.unsent[:0], p[len(p)-ob:]...)
	} else {
		st.unsent = append(st.unsent, p...)
	}
	st.flushed(ob, now)
}

// flushed forgets what gnet has written: gnet writes in order, so what it
// still buffers is the last ob bytes handed to it.
func (st *state) flushed(ob int, now int64) {
	if len(st.unsent) > ob {
		st.unsent = st.unsent[:copy(st.unsent, st.unsent[len(st.unsent)-ob:])]
		st.active = now // bytes went to the client
		st.pause = 0    // a stalled client takes its answers: look again soon
	}
	if ob == 0 && cap(st.unsent) > 64<<10 {
		st.unsent = nil // a burst is over; do not keep its memory
	}
	written := st.offered - int64(ob)
	i := 0
	for i < len(st.offers) && st.offers[i].end <= written {
		i++
	}
	if i > 0 {
		st.offers = st.offers[:copy(st.offers, st.offers[i:])]
	}
}

// settle ends every handler of a connection on the loop: it learns what
// gnet has written, checks the input bound and the deadlines, nudges a
// stalled connection, and publishes the next deadline for OnTick.
func (h *handler) settle(c gnet.Conn, st *state, now int64) gnet.Action {
	if st.closed {
		return gnet.Close
	}
	st.flushed(c.OutboundBuffered(), now)
	if c.InboundBuffered() > h.inCap {
		// Read by gnet, unanswered because the client does not take its
		// answers: where the other models would stop reading.
		st.closeFor(models.ReasonWriteTimeout)
		return gnet.Close
	}
	reason, due := st.clocks().Deadline(h.cfg)
	if due != 0 && due <= now {
		st.closeFor(reason)
		return gnet.Close
	}
	st.due.Store(due)
	if st.stalled {
		h.nudge(c, st)
	}
	return gnet.None
}

// clocks returns what the connection's timeouts run from
// (models.Clocks.Deadline, the rule of every model), in unix nanoseconds:
// the write timeout from when the oldest answer gnet still holds was
// handed over.
func (st *state) clocks() models.Clocks {
	c := models.Clocks{Active: st.active, Reading: st.lineAt, Asleep: st.working}
	if len(st.offers) > 0 { // answers the client has not taken
		c.Writing = st.offers[0].at
	}
	return c
}

// nudge asks the loop to look at a stalled connection again soon: gnet
// writes its buffer on EPOLLOUT without telling the handler, so only
// looking shows when answering can go on. The pause doubles while the
// client takes nothing, up to maxNudge.
func (h *handler) nudge(c gnet.Conn, st *state) {
	st.pause = min(max(2*st.pause, minNudge), maxNudge)
	if st.nudge == nil {
		st.nudge = time.AfterFunc(st.pause, func() { _ = c.Wake(nil) })
		return
	}
	st.nudge.Reset(st.pause)
}

// OnTick wakes the connections whose deadline has passed (the loop then
// closes them, see settle), and, once, gives every loop's listener the
// backlog.
func (h *handler) OnTick() (time.Duration, gnet.Action) {
	if !h.backlogSet.Load() {
		h.setBacklogs()
	}
	now := time.Now().UnixNano()
	h.mu.Lock()
	for st, c := range h.conns {
		if due := st.due.Load(); due != 0 && due <= now {
			_ = c.Wake(nil)
		}
	}
	h.mu.Unlock()
	return deadline.SweepEvery(h.cfg), gnet.None // the sweep of every loop model
}
