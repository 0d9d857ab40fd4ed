package reactor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"iolab/models"
)

// What gnet v2.9.7 does when a client half-closes (shutdown(SHUT_WR)) and
// answers are still buffered: read returns 0, and eventloop_unix.go's read
// (lines 263-271) calls close at once, which calls OnClose (line 368),
// then tries to write the outbound buffer once, without blocking, stopping
// at the first EAGAIN (lines 370-381), and closes the socket (line 386):
// whatever the socket did not take is dropped, and so are the lines still
// in the inbound buffer, which nobody answered. No option changes this,
// and gnet.Conn offers no call that writes blocking, pauses reading, or
// hands back the outbound buffer's bytes (Flush is the same non-blocking
// write).
//
// What OnClose can still do is keep the socket: Conn.Dup gives a
// descriptor of its own, which gnet's close does not close. The model
// then writes every answer from a goroutine of the connection's own, over
// Go's netpoller, with the write timeout: a takeover. Two things make it
// exact:
//
//   - the model keeps a copy of what gnet buffers (state.unsent, limits.go),
//     since gnet writes in order and OutboundBuffered says how much is left;
//   - gnet's last non-blocking attempt, after OnClose, writes an unknown
//     part of it. The kernel counts what the socket was given: the bytes
//     the client acknowledged plus those still queued (written, measured
//     right before and after gnet's close), so the takeover skips exactly
//     what gnet wrote. The "after" runs as a task on the loop
//     (EventLoop.Execute), which gnet runs only once close has returned.
//
// The same count makes bytes_out exact for any close with answers left,
// delivered or not. Where it cannot be had (systems other than Linux, or a
// failed dup under a descriptor shortage), the model falls back to gnet's
// behaviour, and bytes_out counts only what was written before the close.

// takeover is a socket the model keeps after gnet has closed its own
// descriptor of it.
type takeover struct {
	fd       int               // our duplicate of the socket; -1 once file owns it
	file     *os.File          // fd for the writing goroutine; set and closed under h.mu
	rec      models.ConnRecord // the connection's record, logged at the end
	tid      int               // the thread that served it
	admitted bool              // holds a slot of the connection limit
	reason   models.Reason     // why gnet closed it: logged if all goes well
	deliver  bool              // write what is left; false: only count what gnet wrote
	counted  bool              // counted in h.working, so the drain waits for it
	sent     int64             // written(fd) before gnet's last attempt
	unsent   []byte            // what gnet buffered at the close
	reply    []byte            // the answer to a request whose sleep was pending, or nil
	wakeAt   time.Time         // when that sleep ends
	rest     []byte            // complete lines read and not answered yet
}

// takeOver keeps c's socket when something is left to write or to count,
// and reports whether it did; then it, not OnClose, logs the close. It
// runs in OnClose, on the loop, before gnet's last write attempt.
func (h *handler) takeOver(c gnet.Conn, st *state, reason models.Reason) bool {
	ob := c.OutboundBuffered()
	st.flushed(ob, time.Now().UnixNano())
	if len(st.unsent) != ob {
		return false // not what the model handed over (cannot happen)
	}
	h.mu.Lock()
	deliver := !h.draining.Load() &&
		(reason == models.ReasonEOF || reason == models.ReasonTooLong || reason == models.ReasonDone)
	h.mu.Unlock()
	var rest, reply []byte
	if deliver && reason == models.ReasonEOF {
		// The complete lines nobody answered yet; an unfinished line at
		// the end gets no answer, in any model.
		in, _ := c.Peek(-1)
		if i := bytes.LastIndexByte(in, '\n'); i >= 0 {
			rest = append([]byte(nil), in[:i+1]...)
		}
		if st.working {
			reply = append([]byte(nil), st.reply...)
		}
	}
	if ob == 0 && rest == nil && reply == nil {
		return false
	}
	fd, err := c.Dup()
	if err != nil {
		return false
	}
	sent, err := written(fd)
	if err != nil {
		_ = unix.Close(fd)
		return false
	}
	t := &takeover{fd: fd, rec: st.rec, tid: st.tid, admitted: st.admitted, reason: reason,
		deliver: deliver, sent: sent, unsent: append([]byte(nil), st.unsent...),
		reply: reply, wakeAt: st.wakeAt, rest: rest}
	t.rec.BytesOut -= int64(ob) // until written says how much gnet wrote
	h.mu.Lock()
	h.takeovers[t] = false
	if t.deliver && !h.draining.Load() {
		t.counted = true
		h.working++
	}
	h.mu.Unlock()
	after := gnet.RunnableFunc(func(context.Context) error { h.afterClose(t); return nil })
	if err := c.EventLoop().Execute(context.Background(), after); err != nil {
		h.finish(t, models.ReasonShutdown, nil) // the engine is stopping
	}
	return true
}

// afterClose runs on the loop after gnet's close: it counts what gnet's
// last attempt wrote, and starts the goroutine that writes the rest.
func (h *handler) afterClose(t *takeover) {
	sent, err := written(t.fd)
	if err != nil {
		h.finish(t, models.ReasonError, err) // the rest cannot be placed after gnet's part
		return
	}
	k := min(max(sent-t.sent, 0), int64(len(t.unsent)))
	t.rec.BytesOut += k
	t.unsent = t.unsent[k:]
	if !t.deliver || len(t.unsent) == 0 && t.rest == nil && t.reply == nil {
		h.finish(t, t.reason, nil)
		return
	}
	h.mu.Lock()
	h.takeovers[t] = true
	h.writers.Add(1)
	h.mu.Unlock()
	go h.write(t)
}

// write writes what is left of t, answering its pending sleep and its
// unanswered lines in order, as a blocking model would; each write gets
// the write timeout. It returns once done, or when the drain gives up.
func (h *handler) write(t *takeover) {
	defer h.writers.Done()
	f := os.NewFile(uintptr(t.fd), "gnet-takeover") // non-blocking: Go's netpoller waits
	h.mu.Lock()
	t.file, t.fd = f, -1
	h.mu.Unlock()

	out := t.unsent
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		if !h.armWrite(t) {
			return errQuit
		}
		n, err := f.Write(out)
		t.rec.BytesOut += int64(n)
		out = nil
		return err
	}
	// The request loop of models.Lines, blocking as in a blocking model.
	// Its drain is its own: h.quit ends the waits (errQuit).
	lines := models.Lines{Cfg: h.cfg, Rec: &t.rec, Out: &out}
	reason, err := t.reason, error(nil)
	if t.reply != nil {
		if err = flush(); err == nil {
			err = h.sleep(time.Until(t.wakeAt))
		}
		lines.Answer(t.reply)
	}
	in := models.LinesOf(t.rest, h.cfg.MaxLine)
	for err == nil {
		line, end, closing := lines.Next(&in, false)
		if line == nil {
			if closing { // ErrLineReply is queued
				reason = end
			}
			break
		}
		if sleep := lines.Begin(line); sleep > 0 {
			if err = flush(); err == nil {
				err = h.sleep(sleep)
			}
		}
		lines.Answer(line)
	}
	if err == nil {
		err = flush()
	}
	switch {
	case err == nil:
	case errors.Is(err, errQuit) || h.quitting():
		reason, err = models.ReasonShutdown, nil
	default:
		reason, err = models.ReasonFor(err, models.ReasonWriteTimeout)
	}
	h.finish(t, reason, err)
}

// errQuit ends a takeover when the drain gives up on it.
var errQuit = errors.New("reactor: shutting down")

// armWrite gives the next write its deadline, unless the drain has given
// up on takeovers; under mu, so that stopTakeovers cannot come between
// the check and the deadline.
func (h *handler) armWrite(t *takeover) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.quitting() {
		return false
	}
	_ = t.file.SetWriteDeadline(time.Now().Add(h.cfg.IdleTimeout))
	return true
}

// sleep waits for a request's sleep work, unless the drain gives up first.
func (h *handler) sleep(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-h.quit:
		return errQuit
	}
}

// quitting reports whether takeovers must stop.
func (h *handler) quitting() bool {
	select {
	case <-h.quit:
		return true
	default:
		return false
	}
}

// finish closes t's socket, logs its close and frees its slot.
func (h *handler) finish(t *takeover, reason models.Reason, err error) {
	h.mu.Lock()
	if t.file != nil {
		_ = t.file.Close()
		t.file = nil
	} else if t.fd >= 0 {
		_ = unix.Close(t.fd)
		t.fd = -1
	}
	delete(h.takeovers, t)
	h.mu.Unlock()
	if reason != models.ReasonError {
		err = nil
	}
	h.closed(&t.rec, t.admitted, reason, t.tid, err)
	if t.counted {
		h.workDone()
	}
}

// stopTakeovers makes every takeover end now: the drain's time is up, or
// Serve is returning.
func (h *handler) stopTakeovers() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.quitting() {
		close(h.quit)
	}
	for t := range h.takeovers {
		if t.file != nil {
			_ = t.file.SetWriteDeadline(time.Now())
		}
	}
}

// endTakeovers runs when gnet.Run has returned: it stops the takeovers
// still writing and waits for them, and ends those whose afterClose never
// ran because their loop stopped first.
func (h *handler) endTakeovers() {
	h.stopTakeovers()
	h.writers.Wait()
	h.mu.Lock()
	var left []*takeover
	for t := range h.takeovers {
		left = append(left, t)
	}
	h.mu.Unlock()
	for _, t := range left {
		h.finish(t, models.ReasonShutdown, nil)
	}
}
