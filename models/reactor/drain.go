package reactor

import (
	"context"
	"time"
)

// drain refuses new connections, closes those with nothing in flight,
// waits for the sleeps in flight to be answered and the takeovers to
// finish writing, at most for the shutdown timeout, and stops the engine,
// which closes whatever is left.
func (h *handler) drain() {
	h.mu.Lock()
	h.draining.Store(true)
	h.checkDrained()
	// Which connections have a sleep pending is known only on their loop,
	// so ask the loop: Wake runs OnTraffic there, which closes a connection
	// with nothing in flight; one with a sleep pending closes after its
	// answer (see answer).
	for _, c := range h.conns {
		_ = c.Wake(nil)
	}
	h.mu.Unlock()

	t := time.NewTimer(h.cfg.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-h.drained:
	case <-t.C:
	}
	h.stopTakeovers()
	// Engine.Stop starts the shutdown, then polls every 500 ms until it is
	// complete unless its context is done. gnet.Run returning tells us
	// that already, so give it a context that is done.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_ = h.eng.Stop(done)
}

// workDone counts a sleep timer or a takeover out; the drain waits for the
// count to reach zero.
func (h *handler) workDone() {
	h.mu.Lock()
	h.working--
	h.checkDrained()
	h.mu.Unlock()
}

// checkDrained closes drained once draining and nothing is in flight. A
// line that arrives during the drain may start new work after the count
// first reached zero, so it closes the channel only once. Called under mu.
func (h *handler) checkDrained() {
	if h.draining.Load() && h.working == 0 && !h.drainedClosed {
		h.drainedClosed = true
		close(h.drained)
	}
}
