// Package reactor serves with gnet v2 (github.com/panjf2000/gnet/v2), a
// library of event loops in the style of the epoll model, but several of
// them: a main reactor that accepts and one sub-reactor per CPU, each
// locked to its own OS thread, each waiting in epoll_wait(2) for its share
// of the connections. The library does the system calls and the buffering;
// this package only says what to do when a connection opens, when bytes
// arrive (OnTraffic), when it closes, and on every tick.
//
// It is registered as the "gnet" model. The package is not called gnet so
// that it does not hide the library it imports.
//
// Two things gnet does not offer, and how this model gets them:
//   - the listen(2) backlog: gnet always asks for the maximum. Linux lets a
//     listening socket be listen()ed again to change its backlog, so OnBoot
//     does that on a duplicate of gnet's listener (sock.SetBacklog).
//   - sleeping without blocking a loop: the sleep runs on a Go timer, and the
//     answer comes back to the loop with AsyncWrite, whose callback the loop
//     runs.
//
// One it cannot get: when accept(2) fails, for example with EMFILE because
// the process has no descriptor left, gnet v2.9 stops the whole engine
// (acceptor_unix.go returns ErrAcceptSocket, which ends the main reactor).
// This model then logs the error and Serve returns it; the other models
// pause and retry instead. See the README's notes on gnet.
//
// Read it in this order: reactor.go from Serve (gnet.Run and its options),
// then OnBoot, OnOpen, OnTraffic and answer (the echo), startWork and
// resume (sleep work on a Go timer), OnClose, and last OnTick and drain.
// Nothing in this package blocks a loop: each event loop's thread blocks
// inside gnet, in epoll_wait(2) in Poller.Polling (gnet's
// pkg/netpoll/poller_epoll_default.go), and calls back here when sockets
// are ready. What holds a loop up is cpu work, which spins in
// models.BeginWork on the loop's thread.
package reactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/sock"
)

// ErrEngineStopped is returned by Serve when gnet's engine ended without
// being asked to, which gnet v2 does after an accept error such as EMFILE.
var ErrEngineStopped = errors.New("reactor: the gnet engine stopped by itself; gnet v2 ends it when accept(2) fails, e.g. with EMFILE (too many open files)")

// Server is the gnet model.
type Server struct {
	cfg models.Config
}

var _ models.Server = (*Server)(nil)

func init() {
	models.Register(models.Model{
		Name:   "gnet",
		Waits:  "gnet v2: a main reactor accepts, one event loop per CPU (each an OS thread in epoll_wait) serves",
		Source: "models/reactor",
		New:    func(cfg models.Config) (models.Server, error) { return New(cfg) },
	})
}

// New returns a gnet server for cfg.
func New(cfg models.Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg}, nil
}

// Serve runs gnet's engine until ctx is done.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	h := &handler{cfg: &s.cfg, stats: models.NewStats(&s.cfg), ready: ready,
		booted: make(chan struct{}), conns: make(map[*state]gnet.Conn), drained: make(chan struct{})}

	// The watcher starts the drain when ctx is done; OnTick finishes it.
	ran := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
		case <-ran:
			return
		}
		select { // OnBoot has run, or gnet.Run has failed
		case <-h.booted:
		case <-ran:
			return
		}
		h.drain()
	}()

	err := gnet.Run(h, "tcp://"+s.cfg.Addr,
		gnet.WithMulticore(true), // several event loops: as many as GOMAXPROCS, below
		// gnet counts CPUs with runtime.NumCPU, fixed when the process
		// starts; GOMAXPROCS follows iolab serve -cpus.
		gnet.WithNumEventLoop(runtime.GOMAXPROCS(0)),
		gnet.WithLockOSThread(true), // each loop keeps its OS thread, so thread ids mean something
		gnet.WithTicker(true),       // OnTick: idle sweep and the end of the drain
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{s.cfg.Log.With().Str("component", "gnet").Logger()}),
	)
	close(ran)
	<-watched
	switch {
	case h.bootErr != nil:
		err = h.bootErr
	case err == nil && ctx.Err() == nil:
		// gnet.Run returns nil when its engine ends by itself, as it does
		// after a failed accept(2) (EMFILE): say so rather than exit 0.
		err = ErrEngineStopped
	}
	if err != nil {
		return fmt.Errorf("reactor: gnet stopped: %w", err)
	}
	h.stats.Stop("gnet")
	return nil
}

// handler receives gnet's events. OnOpen, OnTraffic and OnClose run on the
// connection's event loop; OnTick runs on gnet's ticker goroutine; so what
// both touch is guarded by mu or atomic.
type handler struct {
	gnet.BuiltinEventEngine
	cfg     *models.Config
	stats   *models.Stats
	ready   func(net.Addr)
	booted  chan struct{} // closed by OnBoot
	bootErr error         // why OnBoot refused to start
	eng     gnet.Engine   // set by OnBoot

	draining atomic.Bool // set, under mu, when ctx is done

	mu      sync.Mutex
	conns   map[*state]gnet.Conn // open connections, for the sweep and the drain
	working int                  // sleep timers pending
	drained chan struct{}        // closed when draining and working is 0
}

// state is one connection's state, kept in its gnet.Conn context.
type state struct {
	rec      models.ConnRecord
	tid      int
	buffered int          // inbound bytes already counted in rec.BytesIn
	out      []byte       // answers gathered in one OnTraffic
	reply    []byte       // copy of the request whose sleep is pending
	working  bool         // a sleep timer is pending; loop-owned
	timer    *time.Timer  // that timer; loop-owned
	active   atomic.Int64 // unix nanoseconds of the last traffic, for the sweep
	reason   atomic.Int32 // why we close it, set once; -1 until then
}

// OnBoot applies the backlog and reports the bound address.
func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	defer close(h.booted)
	h.eng = eng
	fd, err := eng.Dup()
	if err != nil {
		h.bootErr = fmt.Errorf("reactor: dup listener: %w", err)
		return gnet.Shutdown
	}
	defer unix.Close(fd)
	if h.cfg.Backlog != 0 {
		if err := sock.SetBacklog(fd, h.cfg.Backlog); err != nil {
			h.bootErr = err
			return gnet.Shutdown
		}
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		h.bootErr = fmt.Errorf("reactor: getsockname: %w", err)
		return gnet.Shutdown
	}
	bound := sock.AddrPort(sa)
	h.stats.Start("gnet", h.cfg, bound.String())
	h.ready(net.TCPAddrFromAddrPort(bound))
	return gnet.None
}

// OnOpen starts a connection. The greeting is returned as out, which gnet
// writes before it acts on Close.
func (h *handler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	st := &state{}
	st.reason.Store(-1)
	st.active.Store(time.Now().UnixNano())
	if h.stats.Debug() {
		st.tid = sock.Tid()
	}
	st.rec = h.stats.Open(sock.Unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort()), st.tid)
	c.SetContext(st)

	h.mu.Lock()
	draining := h.draining.Load()
	if !draining {
		h.conns[st] = c
	}
	h.mu.Unlock()
	if draining { // gnet cannot stop accepting; refuse instead
		st.closeFor(models.ReasonShutdown)
		return nil, gnet.Close
	}
	if h.cfg.Proto == models.Greeting {
		if h.startWork(c, st, h.cfg.Greeting) {
			return nil, gnet.None // the timer will answer
		}
		return h.greet(st), gnet.Close
	}
	return nil, gnet.None
}

// greet counts the greeting and returns it.
func (h *handler) greet(st *state) []byte {
	st.rec.Requests++
	st.rec.BytesOut += int64(len(h.cfg.Greeting))
	st.closeFor(models.ReasonDone)
	return h.cfg.Greeting
}

// OnTraffic answers the complete lines in the connection's inbound buffer.
func (h *handler) OnTraffic(c gnet.Conn) gnet.Action {
	st := c.Context().(*state)
	st.active.Store(time.Now().UnixNano())
	if n := c.InboundBuffered(); n > st.buffered {
		st.rec.BytesIn += int64(n - st.buffered)
		st.buffered = n
	}
	if st.working || h.cfg.Proto == models.Greeting {
		return gnet.None // leave the bytes buffered until the timer answers
	}
	return h.answer(c, st)
}

// answer handles complete lines, in order, until none is left or one must
// wait for its sleep timer. It runs on the loop.
func (h *handler) answer(c gnet.Conn, st *state) gnet.Action {
	buf, _ := c.Peek(-1) // everything buffered; valid until Discard
	used := 0
	action := gnet.None
	for {
		n, err := models.ScanLine(buf[used:], h.cfg.MaxLine)
		if err != nil {
			st.out = append(st.out, models.ErrLineReply...)
			st.closeFor(models.ReasonTooLong)
			action = gnet.Close
			break
		}
		if n == 0 {
			break
		}
		line := buf[used : used+n]
		used += n
		if h.startWork(c, st, line) {
			break
		}
		st.out = append(st.out, line...)
		st.rec.Requests++
	}
	if used > 0 {
		// Only then: gnet's Discard(0) discards everything buffered,
		// which would lose the start of an incomplete line.
		_, _ = c.Discard(used)
		st.buffered -= used
	}
	if len(st.out) > 0 {
		st.rec.BytesOut += int64(len(st.out))
		_, _ = c.Write(st.out) // gnet buffers what the socket does not take
		st.out = st.out[:0]
	}
	if action == gnet.None && !st.working && h.draining.Load() {
		st.closeFor(models.ReasonShutdown)
		action = gnet.Close
	}
	return action
}

// startWork begins the work of one request (models.BeginWork: cpu work
// spins on the loop's thread, holding up its other connections). A sleep
// must not block the loop: a Go timer waits instead, and its answer
// reaches the loop through AsyncWrite. startWork reports whether the
// answer is left to that timer.
func (h *handler) startWork(c gnet.Conn, st *state, req []byte) bool {
	sleep := models.BeginWork(h.cfg)
	if sleep == 0 {
		return false
	}
	st.reply = append(st.reply[:0], req...) // req lives in gnet's buffer
	st.working = true
	h.mu.Lock()
	h.working++
	h.mu.Unlock()
	st.timer = time.AfterFunc(sleep, func() {
		if err := c.AsyncWrite(st.reply, h.resume); err != nil {
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
	if !ok || err != nil {
		return nil // closed meanwhile; OnClose has logged it
	}
	st.working, st.timer = false, nil
	st.rec.Requests++
	st.rec.BytesOut += int64(len(st.reply))
	if h.cfg.Proto == models.Greeting {
		st.closeFor(models.ReasonDone)
		return c.Close()
	}
	if h.answer(c, st) == gnet.Close { // lines that arrived meanwhile
		return c.Close()
	}
	return nil
}

// workDone counts a sleep timer out; the drain waits for the count to
// reach zero.
func (h *handler) workDone() {
	h.mu.Lock()
	h.working--
	if h.draining.Load() && h.working == 0 {
		close(h.drained)
	}
	h.mu.Unlock()
}

// OnClose logs the close event.
func (h *handler) OnClose(c gnet.Conn, err error) gnet.Action {
	st, ok := c.Context().(*state)
	if !ok {
		return gnet.None
	}
	h.mu.Lock()
	delete(h.conns, st)
	h.mu.Unlock()
	if st.timer != nil && st.timer.Stop() {
		h.workDone() // the client left while its sleep was pending
	}

	reason := models.Reason(st.reason.Load())
	switch {
	case st.reason.Load() >= 0:
	case h.draining.Load():
		reason = models.ReasonShutdown
	case err == nil || errors.Is(err, io.EOF):
		reason = models.ReasonEOF
	case models.IsReset(err):
		reason = models.ReasonReset
	default:
		reason = models.ReasonError
	}
	if reason != models.ReasonError {
		err = nil
	}
	h.stats.Close(&st.rec, reason, st.tid, err)
	return gnet.None
}

// OnTick closes idle connections.
func (h *handler) OnTick() (time.Duration, gnet.Action) {
	idle := time.Now().Add(-h.cfg.IdleTimeout).UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for st, c := range h.conns {
		if st.active.Load() < idle {
			st.closeFor(models.ReasonIdle)
			_ = c.Close()
		}
	}
	return min(h.cfg.IdleTimeout/10, time.Second), gnet.None
}

// drain refuses new connections, closes those with nothing in flight,
// waits for the sleeps in flight to be answered, at most for the shutdown
// timeout, and stops the engine, which closes whatever is left.
func (h *handler) drain() {
	h.mu.Lock()
	h.draining.Store(true)
	if h.working == 0 {
		close(h.drained)
	}
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
	// Engine.Stop starts the shutdown, then polls every 500 ms until it is
	// complete unless its context is done. gnet.Run returning tells us
	// that already, so give it a context that is done.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_ = h.eng.Stop(done)
}

// closeFor records why the connection is being closed; the first reason
// wins.
func (st *state) closeFor(r models.Reason) { st.reason.CompareAndSwap(-1, int32(r)) }

// gnetLogger sends gnet's own messages to the server's log, tagged
// component=gnet. gnet's debug chatter goes to trace level.
type gnetLogger struct{ log zerolog.Logger }

func (l gnetLogger) Debugf(format string, args ...any) { l.log.Trace().Msgf(format, args...) }
func (l gnetLogger) Infof(format string, args ...any)  { l.log.Info().Msgf(format, args...) }
func (l gnetLogger) Warnf(format string, args ...any)  { l.log.Warn().Msgf(format, args...) }
func (l gnetLogger) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }
func (l gnetLogger) Fatalf(format string, args ...any) { l.log.Error().Msgf(format, args...) }
