// Package reactor serves with gnet v2 (github.com/panjf2000/gnet/v2), a
// library of event loops in the style of the epoll model, but several of
// them: one per CPU, each locked to its own OS thread, each accepting on
// its own listening socket (SO_REUSEPORT: the kernel spreads new
// connections over the listeners) and waiting in epoll_wait(2) for its
// share of the connections. The library does the system calls and the
// buffering; this package only says what to do when a connection opens,
// when bytes arrive (OnTraffic), when it closes, and on every tick.
//
// It is registered as the "gnet" model. The package is not called gnet so
// that it does not hide the library it imports.
//
// gnet decides things the other models decide for themselves, and this
// model works around each within gnet's API (the lesson is about
// libraries: read the source of what you build on):
//   - the listen(2) backlog: gnet always asks for the maximum. Linux lets a
//     listening socket be listen()ed again to change its backlog, so the
//     model does that on a duplicate of each of gnet's listeners (listen.go).
//   - sleeping without blocking a loop: the sleep runs on a Go timer, and
//     the answer comes back to the loop with AsyncWrite (echo.go).
//   - a connection limit: gnet accepts whatever arrives. OnOpen refuses a
//     connection past Config.MaxConns by closing it at once
//     (models.ReasonMaxConns). That is why each loop accepts for itself
//     (gnet.WithReusePort): gnet's other layout, a main reactor that only
//     accepts, hands each new descriptor to a loop through a queue and
//     accepts the next at once, so a flood of clients can hold any number
//     of descriptors before a loop gets to refuse them, and reach EMFILE.
//     Accepting on the loop that runs OnOpen refuses each one before the
//     next accept(2) (limits.go).
//   - bounded output: gnet buffers without bound in both directions, and
//     offers no way to stop reading a socket (gnet issues #712 and #722:
//     https://github.com/panjf2000/gnet/issues/712). The model stops
//     answering a client whose answers waiting in gnet reach
//     Config.OutputCap, and closes it when the input gnet keeps reading
//     for it passes a bound of its own, or when an answer waits longer than
//     the write timeout (limits.go).
//   - answers after a half-close: when the client's FIN arrives, gnet
//     calls OnClose, makes one non-blocking attempt to write what it still
//     buffers, and closes the socket, dropping the rest. The model takes
//     the socket over instead and writes every answer from a goroutine
//     (takeover.go).
//
// One it cannot get: when accept(2) fails, for example with EMFILE because
// the process has no descriptor left, gnet v2 stops the whole engine: in
// v2.9.7, acceptor_unix.go:91-93 returns ErrAcceptSocket, which ends the
// loop's Polling (pkg/netpoll/poller_epoll_default.go:138) and then the
// engine (reactor_default.go:109-110); gnet issues #159 and #367
// (https://github.com/panjf2000/gnet/issues/367) report it.
// The connection limit keeps the model below the descriptor limit, as
// long as the reserve models.DefaultMaxConns leaves (128 descriptors, or a
// quarter of a small limit) covers the loops' own: a listener, an epoll
// and an eventfd each, and one connection being refused. Past that (a
// -max-conns above the limit, or another part of the process using
// descriptors up) the model logs the error and Serve returns it
// (ErrEngineStopped), where the other models pause and retry.
//
// Read it in this order: reactor.go from Serve (gnet.Run and its options),
// then OnBoot, OnOpen, OnTraffic and OnClose; echo.go (answer, and the
// sleep work on a Go timer); limits.go (the connection limit, the caps on
// what waits, the deadlines, and OnTick's sweep); takeover.go (the writes
// after a half-close); drain.go (graceful shutdown); listen.go (the port
// and the backlog). Nothing in this package blocks a loop: each event
// loop's thread blocks inside gnet, in epoll_wait(2) in Poller.Polling
// (gnet's pkg/netpoll/poller_epoll_default.go), and calls back here when
// sockets are ready. What holds a loop up is cpu work, which spins in
// models.BeginWork on the loop's thread.
package reactor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/sock"
	"iolab/models/proc"
)

// ErrEngineStopped is returned by Serve when gnet's engine ended without
// being asked to, which gnet v2 does after an accept error such as EMFILE.
var ErrEngineStopped = errors.New("reactor: the gnet engine stopped by itself; gnet v2 ends it when accept(2) fails, e.g. with EMFILE (too many open files)")

// Server is the gnet model.
type Server struct {
	cfg models.Config
}

func init() {
	models.Register(models.Model{
		Name:  "gnet",
		Waits: "gnet v2: one event loop per CPU, each an OS thread in epoll_wait that accepts (SO_REUSEPORT) and serves",
		Limits: "gnet cannot stop accepting: at -max-conns it accepts and closes at once (max_conns). " +
			"gnet cannot stop reading a socket (gnet#712): a client whose unanswered input passes 2 MiB is closed " +
			"(write_timeout), half-closed or not. gnet ends the engine if accept(2) fails (EMFILE); " +
			"the default -max-conns keeps it below the open-file limit.",
		Source: "models/reactor",
		Build:  func(cfg models.Config) models.Server { return &Server{cfg: cfg} },
	})
}

// Serve runs gnet's engine until ctx is done.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	h := newHandler(&s.cfg, ready)

	// Every loop binds its own listener to the address, so port 0 must
	// become one port first (listen.go).
	addr, placeholder, err := reservePort(s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("reactor: %w", err)
	}
	h.placeholder = placeholder

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

	err = gnet.Run(h, "tcp://"+addr,
		gnet.WithMulticore(true), // several event loops: as many as GOMAXPROCS, below
		// gnet counts CPUs with runtime.NumCPU, fixed when the process
		// starts; GOMAXPROCS follows iolab serve -cpus.
		gnet.WithNumEventLoop(runtime.GOMAXPROCS(0)),
		gnet.WithReusePort(true),    // each loop accepts, so OnOpen runs before the next accept
		gnet.WithLockOSThread(true), // each loop keeps its OS thread, so thread ids mean something
		gnet.WithTicker(true),       // OnTick: the sweep of deadlines and the end of the drain
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{s.cfg.Log.With().Str("component", "gnet").Logger()}),
	)
	close(ran)
	<-watched
	h.closePlaceholder()
	h.endTakeovers() // takeovers still writing, or never started
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
// connection's event loop; OnTick runs on gnet's ticker goroutine, the
// drain on Serve's watcher, and takeovers on goroutines of their own; so
// what they share is guarded by mu or atomic.
type handler struct {
	gnet.BuiltinEventEngine
	cfg         *models.Config // what Serve was given
	stats       *models.Stats  // totals and log events
	ready       func(net.Addr) // Serve's ready callback, called by OnBoot
	booted      chan struct{}  // closed by OnBoot
	bootErr     error          // why OnBoot refused to start
	eng         gnet.Engine    // set by OnBoot
	bound       netip.AddrPort // the listeners' address, set by OnBoot
	placeholder int            // holds port 0's choice until the listeners do; -1 if none
	backlogSet  atomic.Bool    // the backlog is applied to every loop's listener

	slots *models.Slots // the connection limit: a slot per connection served, or taken over
	inCap int           // the most unanswered input kept for one client (limits.go)

	draining atomic.Bool // set, under mu, when ctx is done

	mu            sync.Mutex
	conns         map[*state]gnet.Conn // open connections, for the sweep and the drain
	takeovers     map[*takeover]bool   // sockets taken over after a close; true once writing
	working       int                  // sleep timers and takeovers pending
	drained       chan struct{}        // closed when draining and working is 0
	drainedClosed bool                 // drained is closed
	quit          chan struct{}        // closed when takeovers must stop (shutdown timeout)
	writers       sync.WaitGroup       // takeover goroutines

	// yielders holds each event loop's proc.Yielder, by gnet.EventLoop:
	// gnet's loops, like iolab's, are goroutines locked to their threads
	// that never pass through Go's scheduler, and OnTraffic, which runs
	// on them, yields for them (see proc.Yielder).
	yielders sync.Map
}

// newHandler returns the handler of one Serve call.
func newHandler(cfg *models.Config, ready func(net.Addr)) *handler {
	stats := models.NewStats(cfg)
	return &handler{cfg: cfg, stats: stats, ready: ready,
		booted: make(chan struct{}), placeholder: -1,
		slots: models.NewSlots(cfg.Limit(), stats), inCap: inputCap(cfg),
		conns: make(map[*state]gnet.Conn), takeovers: make(map[*takeover]bool),
		drained: make(chan struct{}), quit: make(chan struct{})}
}

// state is one connection's state, kept in its gnet.Conn context. All of
// it belongs to the connection's event loop, except due, which OnTick
// reads.
type state struct {
	rec      models.ConnRecord // counts and identity, for the close event
	tid      int               // the loop's thread, when the log wants it
	admitted bool              // holds a slot of the connection limit
	closed   bool              // OnClose has run
	reason   int               // why we close it, set once; -1 until then
	buffered int               // inbound bytes already counted in rec.BytesIn
	out      []byte            // answers gathered in one OnTraffic

	// What gnet still holds to write (limits.go): a copy, for a takeover,
	// and when each part was handed over, for the write timeout.
	unsent  []byte
	offers  []offer
	offered int64 // bytes handed to gnet since the connection opened

	reply   []byte      // copy of the request whose sleep is pending
	working bool        // a sleep timer is pending
	wakeAt  time.Time   // when it fires
	timer   *time.Timer // that timer

	active  int64         // unix nanoseconds of the last byte in either direction
	lineAt  int64         // when the server began to wait for the rest of a line; 0 if it does not
	stalled bool          // answers wait in gnet up to the cap; input waits for them
	nudge   *time.Timer   // wakes a stalled connection to look again
	pause   time.Duration // the nudge's current pause; 0 after progress

	due atomic.Int64 // earliest deadline, unix nanoseconds, for OnTick; 0 if none
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
	h.bound = sock.AddrPort(sa)
	h.closePlaceholder() // the first listener holds the port now
	h.stats.Start("gnet", h.cfg, h.bound.String())
	h.ready(net.TCPAddrFromAddrPort(h.bound))
	return gnet.None
}

// OnOpen starts a connection, or refuses it past the connection limit.
// The greeting is returned as out, which gnet writes before it acts on
// Close.
func (h *handler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	now := time.Now()
	st := &state{reason: -1, active: now.UnixNano()}
	if h.stats.Debug() {
		st.tid = sock.Tid()
	}
	st.rec = h.stats.Open(sock.Unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort()), st.tid)
	c.SetContext(st)

	if !h.admit() {
		st.closeFor(models.ReasonMaxConns)
		return nil, gnet.Close
	}
	st.admitted = true
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
	h.settle(c, st, now.UnixNano())
	return nil, gnet.None
}

// OnTraffic answers the complete lines in the connection's inbound buffer.
// gnet also calls it when something asks the loop to look at the
// connection again (Wake: the sweep, a stalled connection's nudge, the
// drain), with nothing new read.
func (h *handler) OnTraffic(c gnet.Conn) gnet.Action {
	h.yield(c)
	st := c.Context().(*state)
	now := time.Now().UnixNano()
	if n := c.InboundBuffered(); n > st.buffered {
		st.rec.BytesIn += int64(n - st.buffered)
		st.buffered = n
		st.active = now
	}
	if st.working || h.cfg.Proto == models.Greeting {
		return h.settle(c, st, now) // the bytes wait until the timer answers
	}
	if h.answer(c, st, now) == gnet.Close || st.closed {
		return gnet.Close
	}
	return h.settle(c, st, now)
}

// yield passes c's event loop through Go's scheduler every few
// milliseconds (proc.Yielder), from the loop's own goroutine.
func (h *handler) yield(c gnet.Conn) {
	y, ok := h.yielders.Load(c.EventLoop())
	if !ok {
		y, _ = h.yielders.LoadOrStore(c.EventLoop(), new(proc.Yielder))
	}
	y.(*proc.Yielder).Yield()
}

// OnClose logs the close event, unless the socket is taken over to write
// what is left (takeover.go), which logs it when done.
func (h *handler) OnClose(c gnet.Conn, err error) gnet.Action {
	st, ok := c.Context().(*state)
	if !ok || st.closed {
		return gnet.None
	}
	st.closed = true
	h.mu.Lock()
	delete(h.conns, st)
	h.mu.Unlock()
	if st.nudge != nil {
		st.nudge.Stop()
	}
	if st.timer != nil && st.timer.Stop() {
		h.workDone() // the sleep is over for the loop; a takeover may finish it
	}

	reason := models.Reason(st.reason)
	switch {
	case st.reason >= 0:
	case h.draining.Load():
		reason, err = models.ReasonShutdown, nil
	default:
		reason, err = models.ReasonFor(err, models.ReasonError)
	}
	if reason != models.ReasonError {
		err = nil // st.reason's own
	}
	if h.takeOver(c, st, reason) {
		return gnet.None
	}
	// What gnet still buffers was not written; gnet's last attempt, right
	// after this, may write some of it, which the log then does not count.
	st.rec.BytesOut -= int64(c.OutboundBuffered())
	h.closed(&st.rec, st.admitted, reason, st.tid, err)
	return gnet.None
}

// closed logs the end of a connection and frees its slot.
func (h *handler) closed(rec *models.ConnRecord, admitted bool, reason models.Reason, tid int, err error) {
	h.stats.Close(rec, reason, tid, err)
	if admitted {
		h.release()
	}
}

// closeFor records why the connection is being closed; the first reason
// wins.
func (st *state) closeFor(r models.Reason) {
	if st.reason < 0 {
		st.reason = int(r)
	}
}

// gnetLogger sends gnet's own messages to the server's log, tagged
// component=gnet. gnet's debug chatter goes to trace level.
type gnetLogger struct{ log zerolog.Logger }

func (l gnetLogger) Debugf(format string, args ...any) { l.log.Trace().Msgf(format, args...) }
func (l gnetLogger) Infof(format string, args ...any)  { l.log.Info().Msgf(format, args...) }
func (l gnetLogger) Warnf(format string, args ...any)  { l.log.Warn().Msgf(format, args...) }
func (l gnetLogger) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }
func (l gnetLogger) Fatalf(format string, args ...any) { l.log.Error().Msgf(format, args...) }
