package reactor

import (
	"time"

	"github.com/panjf2000/gnet/v2"

	"iolab/models"
)

// greet counts the greeting and returns it.
func (h *handler) greet(st *state) []byte {
	st.rec.Requests++
	st.rec.BytesOut += int64(len(h.cfg.Greeting))
	// Returned to gnet, which writes it after OnOpen: all of it unsent
	// until settle or OnClose learns what gnet buffered.
	st.offer(h.cfg.Greeting, time.Now().UnixNano(), len(h.cfg.Greeting), h.coalesce())
	st.closeFor(models.ReasonDone)
	return h.cfg.Greeting
}

// answer handles complete lines, in order, until none is left, one must
// wait for its sleep timer, or the answers waiting in gnet reach the cap
// (then the rest waits in gnet's inbound buffer: settle sees to it): the
// request loop of models.Lines over gnet's inbound buffer. It runs on the
// loop.
func (h *handler) answer(c gnet.Conn, st *state, now int64) gnet.Action {
	room := h.cfg.OutputCap() - c.OutboundBuffered()
	if room <= 0 {
		st.stalled = st.buffered > 0
		st.lineAt = 0    // what waits now is the client's reading
		return gnet.None // nothing may be answered until gnet writes
	}
	// No more than the answers that fit can use: where gnet's ring
	// buffer wraps, Peek copies what it returns.
	inbound := c.InboundBuffered()
	buf, _ := c.Peek(min(inbound, room+h.cfg.MaxLine)) // valid until Discard
	in := models.LinesOf(buf, h.cfg.MaxLine)
	lines := models.Lines{Cfg: h.cfg, Rec: &st.rec, Out: &st.out}
	action := gnet.None
	caughtUp := false // every complete line is answered
	for len(st.out) < room {
		// The drain is checked below, once the loop stops, wherever it
		// stops: at the cap too, where the lines left are not answered.
		line, end, closing := lines.Next(&in, false)
		if closing {
			st.closeFor(end)
			action = gnet.Close
			break
		}
		if line == nil {
			caughtUp = len(buf) == inbound
			break
		}
		if h.startWork(c, st, line) {
			break
		}
		lines.Answer(line)
	}
	if used := len(buf) - in.Buffered(); used > 0 {
		// Only then: gnet's Discard(0) discards everything buffered,
		// which would lose the start of an incomplete line.
		_, _ = c.Discard(used)
		st.buffered -= used
		st.lineAt = 0 // a line ended; what follows is a new one
	}
	// Complete lines wait for answers to drain below the cap.
	st.stalled = !caughtUp && !st.working && action == gnet.None && st.buffered > 0
	// The request timeout runs while the server waits for the client to
	// finish a line, not while lines wait for the server.
	switch {
	case !caughtUp || st.buffered == 0:
		st.lineAt = 0
	case st.lineAt == 0:
		st.lineAt = now
	}
	if len(st.out) > 0 {
		h.send(c, st, st.out, now)
		st.out = st.out[:0]
	}
	if action == gnet.None && !st.working && h.draining.Load() {
		st.closeFor(models.ReasonShutdown)
		action = gnet.Close
	}
	return action
}

// startWork begins the work of one request (models.BeginWork: cpu work
// spins on the loop's thread, block and disk work block it in the kernel,
// holding up its other connections either way). A sleep
// must not block the loop: a Go timer waits instead, and its answer
// reaches the loop through AsyncWrite. startWork reports whether the
// answer is left to that timer.
func (h *handler) startWork(c gnet.Conn, st *state, req []byte) bool {
	if h.cfg.Work.Kind != models.Sleep {
		models.BeginWork(h.cfg, req)
		return false
	}
	// Counted before BeginWork says the work began (Config.OnWork): a
	// shutdown that begins from then on must wait for its answer.
	h.mu.Lock()
	h.working++
	h.mu.Unlock()
	sleep := models.BeginWork(h.cfg, req)
	if sleep == 0 {
		h.workDone()
		return false
	}
	st.reply = append(st.reply[:0], req...) // req lives in gnet's buffer
	st.working = true
	st.wakeAt = time.Now().Add(sleep)
	reply := st.reply // the timer reads its own copy of the slice header
	st.timer = time.AfterFunc(sleep, func() {
		if err := c.AsyncWrite(reply, h.resume); err != nil {
			h.workDone() // the loop is gone; the connection with it
		}
	})
	return true
}

// resume runs on the loop once the answer to a slept request is written (or
// the connection turned out to be closed).
func (h *handler) resume(c gnet.Conn, err error) error {
	defer h.workDone()
	st, ok := c.Context().(*state)
	if !ok || err != nil || st.closed {
		return nil // closed meanwhile; OnClose has logged it or taken it over
	}
	now := time.Now().UnixNano()
	st.working, st.timer = false, nil
	// AsyncWrite wrote the answer, not st.out: it is counted here, as
	// Lines.Answer counts the others.
	st.rec.Requests++
	st.rec.BytesOut += int64(len(st.reply))
	st.offer(st.reply, now, c.OutboundBuffered(), h.coalesce())
	if h.cfg.Proto == models.Greeting {
		st.closeFor(models.ReasonDone)
		return c.Close()
	}
	// Lines that arrived meanwhile.
	if h.answer(c, st, now) == gnet.Close || h.settle(c, st, now) == gnet.Close {
		return c.Close()
	}
	return nil
}
