//go:build linux

package blocking

import (
	"context"
	"sync"
	"time"

	"iolab/models"
)

// acceptPause is the pause that every acceptor of one listener shares after
// an accept error such as EMFILE.
//
// accept4(2) takes a free descriptor before it looks at the queue, so
// while the process has none it fails at once, every time, whoever calls
// it. With one backoff per thread, the pool's 64 threads would retry 64
// times as often as one thread does, and together spin. So the first
// acceptor to fail becomes the prober: it alone pauses, tries again,
// doubles its pause, and so on, while the others wait for it here instead
// of calling accept at all. Its first success ends the pause for everyone:
// 64 threads then cost what one does.
type acceptPause struct {
	mu      sync.Mutex
	backoff models.AcceptBackoff // the prober's pauses, doubling
	over    chan struct{}        // non-nil while paused; closed when the pause ends
}

// wait returns at once unless the listener is paused, and otherwise once
// the prober ends the pause. It reports false if ctx is done first.
func (p *acceptPause) wait(ctx context.Context) bool {
	p.mu.Lock()
	over := p.over
	p.mu.Unlock()
	if over == nil {
		return true
	}
	select {
	case <-over:
		return true
	case <-ctx.Done():
		return false
	}
}

// fail records a failed accept. The acceptor that fails first while the
// listener is not paused becomes the prober: fail pauses the listener and
// returns how long to sleep before trying again, and true. To the prober,
// on each later failure, it returns its next, longer pause. To any other
// acceptor (whose accept was already under way when the pause began) it
// returns false: wait, and leave the retries to the prober.
func (p *acceptPause) fail(prober bool) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.over != nil && !prober {
		return 0, false
	}
	if p.over == nil {
		p.over = make(chan struct{})
	}
	return p.backoff.Next(), true
}

// end ends the pause, after the prober's accept succeeded or the server
// began to stop, and lets the other acceptors accept again.
func (p *acceptPause) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.over != nil {
		close(p.over)
		p.over = nil
	}
	p.backoff.Reset()
}
