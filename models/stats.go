package models

import (
	"net/netip"
	"os"
	"runtime"
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
	numReasons
)

var reasonNames = [numReasons]string{"done", "eof", "reset", "idle_timeout", "write_timeout", "line_too_long", "shutdown", "error"}

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
	// Start is when the connection was accepted.
	Start time.Time
	// BytesIn and BytesOut count payload bytes read and written.
	BytesIn, BytesOut int64
	// Requests counts answers written: echo lines, or 1 for a greeting.
	Requests int64
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
	s.log.Info().Str("event", "start").
		Str("model", model).
		Str("addr", addr).
		Str("proto", cfg.Proto.String()).
		Str("work", cfg.Work.String()).
		Int("backlog", cfg.Backlog).
		Int("max_line", cfg.MaxLine).
		Dur("idle_timeout", cfg.IdleTimeout).
		Int("pid", os.Getpid()).
		Int("gomaxprocs", runtime.GOMAXPROCS(0)).
		Msg("serving")
}

// Open starts the record of a newly accepted connection and logs its open
// event; tid is the OS thread that will serve it, or 0 if not known.
func (s *Stats) Open(remote netip.AddrPort, tid int) ConnRecord {
	c := ConnRecord{ID: s.nextID.Add(1), Remote: remote, Start: time.Now()}
	s.accepted.Add(1)
	if s.debug {
		s.log.Debug().Str("event", "conn_open").
			Uint64("conn", c.ID).
			Str("remote", c.Remote.String()).
			Int("tid", tid).
			Msg("open")
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
		e := s.log.Debug().Str("event", "conn_close").
			Uint64("conn", c.ID).
			Str("remote", c.Remote.String()).
			Int("tid", tid).
			Int64("bytes_in", c.BytesIn).
			Int64("bytes_out", c.BytesOut).
			Int64("requests", c.Requests).
			Int64("duration_us", time.Since(c.Start).Microseconds()).
			Str("reason", reason.String())
		if err != nil {
			e = e.Err(err)
		}
		e.Msg("close")
	}
}

// AcceptError logs an accept that failed and how long the acceptor will
// pause before trying again.
func (s *Stats) AcceptError(err error, pause time.Duration) {
	s.log.Warn().Str("event", "accept_error").Err(err).Dur("pause", pause).Msg("accept failed; pausing")
}

// Stop logs the summary event.
func (s *Stats) Stop(model string) {
	reasons := zerolog.Dict()
	for r := Reason(0); r < numReasons; r++ {
		if n := s.reasons[r].Load(); n > 0 {
			reasons = reasons.Int64(r.String(), n)
		}
	}
	s.log.Info().Str("event", "stop").
		Str("model", model).
		Int64("conns", s.accepted.Load()).
		Int64("requests", s.requests.Load()).
		Int64("bytes_in", s.bytesIn.Load()).
		Int64("bytes_out", s.bytesOut.Load()).
		Dict("reasons", reasons).
		Int64("uptime_ms", time.Since(s.started).Milliseconds()).
		Msg("stopped")
}

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
