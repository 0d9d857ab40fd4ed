package models

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Reason says why a connection was closed. It is the close event's
// "reason" field.
type Reason uint8

const (
	// ReasonDone: the server finished the conversation (greeting sent).
	ReasonDone Reason = iota
	// ReasonEOF: the client closed its side.
	ReasonEOF
	// ReasonReset: the client reset the connection (ECONNRESET, EPIPE).
	ReasonReset
	// ReasonIdle: nothing moved for Config.IdleTimeout.
	ReasonIdle
	// ReasonWriteTimeout: the client stopped reading its answers.
	ReasonWriteTimeout
	// ReasonTooLong: a line was longer than Config.MaxLine.
	ReasonTooLong
	// ReasonShutdown: the server was stopping.
	ReasonShutdown
	// ReasonError: any other I/O error, logged with the close event.
	ReasonError
	// ReasonRequestTimeout: a line did not arrive in full within
	// Config.RequestTimeout of its first byte.
	ReasonRequestTimeout
	// ReasonMaxConns: accepted past Config.MaxConns and closed at once, by
	// a model that cannot stop accepting (gnet).
	ReasonMaxConns
	numReasons
)

var reasonNames = [numReasons]string{"done", "eof", "reset", "idle_timeout", "write_timeout", "line_too_long", "shutdown", "error",
	"request_timeout", "max_conns"}

// String returns the reason as logged.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// ConnRecord is the bookkeeping of one connection. It belongs to whoever serves
// the connection (one goroutine, or one event loop), so its fields are
// plain integers: nothing on the per-request path is atomic or locked.
type ConnRecord struct {
	// ID numbers connections in accept order, from 1.
	ID uint64
	// Remote is the client's address.
	Remote netip.AddrPort
	// Start is when the connection was accepted, on the monotonic clock,
	// in nanoseconds since the process began (Since reads it): 8 bytes a
	// connection where a time.Time takes 24.
	Start int64
	// BytesIn and BytesOut count payload bytes read and written.
	BytesIn, BytesOut int64
	// Requests counts answers written: echo lines, or 1 for a greeting.
	Requests int64
}

// processStart is the moment ConnRecord.Start counts from.
var processStart = time.Now()

// Since returns how long ago the connection was accepted.
func (c *ConnRecord) Since() time.Duration {
	return time.Since(processStart) - time.Duration(c.Start)
}

// Stats counts what a server did and writes its log events. Totals are
// added once per connection, when it closes.
type Stats struct {
	log      zerolog.Logger
	debug    bool // per-connection events are enabled
	nextID   atomic.Uint64
	accepted atomic.Int64
	requests atomic.Int64
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
	reasons  [numReasons]atomic.Int64
	started  time.Time

	mu    sync.Mutex
	loops []int64 // connections accepted by each event loop that has ended (LoopDone)
}

// NewStats returns the statistics of one Serve call, logging to cfg.Log.
func NewStats(cfg *Config) *Stats {
	return &Stats{log: cfg.Log, debug: cfg.Log.GetLevel() <= zerolog.DebugLevel, started: time.Now()}
}

// Debug reports whether per-connection events are logged. Models check it
// before gathering anything that only those events need (a thread id, say),
// so that a disabled level costs nothing.
func (s *Stats) Debug() bool { return s.debug }

// Start logs the start event, once the server is listening.
func (s *Stats) Start(model string, cfg *Config, addr string) {
	logStart(s.log, model, cfg, addr, Features{})
}

// StartUsing logs the start event of a model whose way of waiting depends
// on what the kernel offers (uring), with the features it found and uses.
func (s *Stats) StartUsing(model string, cfg *Config, addr string, f Features) {
	logStart(s.log, model, cfg, addr, f)
}

// Open starts the record of a newly accepted connection and logs its open
// event; tid is the OS thread that will serve it, or 0 if not known.
func (s *Stats) Open(remote netip.AddrPort, tid int) ConnRecord {
	c := ConnRecord{ID: s.nextID.Add(1), Remote: remote, Start: int64(time.Since(processStart))}
	s.accepted.Add(1)
	if s.debug {
		logConnOpen(s.log, &c, tid)
	}
	return c
}

// Close adds c to the totals and logs its close event. tid is the OS thread
// that served it (or last ran it, for a goroutine); err, if not nil, is the
// error behind ReasonError.
func (s *Stats) Close(c *ConnRecord, reason Reason, tid int, err error) {
	s.requests.Add(c.Requests)
	s.bytesIn.Add(c.BytesIn)
	s.bytesOut.Add(c.BytesOut)
	s.reasons[reason].Add(1)
	if s.debug {
		logConnClose(s.log, c, reason, tid, err)
	}
}

// AcceptError logs an accept that failed and how long the acceptor will
// pause before trying again.
func (s *Stats) AcceptError(err error, pause time.Duration) {
	logAcceptError(s.log, err, pause)
}

// LimitReached logs that open connections have reached the limit max:
// the model stops accepting until one closes.
func (s *Stats) LimitReached(open, max int) { logLimit(s.log, EventLimitReached, open, max) }

// LimitLeft logs that a connection closed after the limit was reached:
// the model accepts again.
func (s *Stats) LimitLeft(open, max int) { logLimit(s.log, EventLimitLeft, open, max) }

// LoopDone records that one of the server's event loops has ended, having
// accepted conns connections. A model of several loops (reuseport) thus
// shows in its stop event how evenly the kernel spread the connections
// over them.
func (s *Stats) LoopDone(conns int64) {
	s.mu.Lock()
	s.loops = append(s.loops, conns)
	s.mu.Unlock()
}

// Stop logs the summary event.
func (s *Stats) Stop(model string) {
	t := totals{conns: s.accepted.Load(), requests: s.requests.Load(),
		bytesIn: s.bytesIn.Load(), bytesOut: s.bytesOut.Load(), uptime: time.Since(s.started)}
	s.mu.Lock()
	t.loops = slices.Clone(s.loops)
	s.mu.Unlock()
	for r := range t.reasons {
		t.reasons[r] = s.reasons[r].Load()
	}
	logStop(s.log, model, t)
}

// Add adds the totals of a stop event to s: a child process's, in the
// fork and prefork models, whose parent's stop event sums its children's.
func (s *Stats) Add(stop Event) {
	s.accepted.Add(stop.Conns)
	s.requests.Add(stop.Requests)
	s.bytesIn.Add(stop.BytesIn)
	s.bytesOut.Add(stop.BytesOut)
	for r := Reason(0); r < numReasons; r++ {
		s.reasons[r].Add(stop.Reasons[r.String()])
	}
	s.mu.Lock()
	s.loops = append(s.loops, stop.Loops...)
	s.mu.Unlock()
}

// NumberFrom makes id the number of the next connection Open records: a
// fork child serves one connection, numbered by its parent.
func (s *Stats) NumberFrom(id uint64) { s.nextID.Store(id - 1) }

// NextID takes the number of a connection that another process will
// record: the fork model's parent numbers its children's connections.
func (s *Stats) NextID() uint64 { return s.nextID.Add(1) }

// AcceptBackoff is how an acceptor paces itself after an error such as
// EMFILE, which would otherwise repeat at once: as net/http does, it doubles
// from 5 ms up to 1 s, and resets after a successful accept.
type AcceptBackoff struct{ d time.Duration }

// Next returns the next pause.
func (b *AcceptBackoff) Next() time.Duration {
	switch {
	case b.d == 0:
		b.d = 5 * time.Millisecond
	case b.d < time.Second:
		b.d = min(2*b.d, time.Second)
	}
	return b.d
}

// Reset is called after an accept succeeds.
func (b *AcceptBackoff) Reset() { b.d = 0 }
