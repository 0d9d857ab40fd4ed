package models

import (
	"os"
	"runtime"
	"time"

	"github.com/rs/zerolog"
)

// The log schema. iolab serve writes one JSON object per line (zerolog);
// iolab logs and iolab bench read the lines back. This file is the one place
// where the name of an event or of one of its fields is written: the
// writers below name each field as Event's JSON tag does, and the readers
// decode into Event and compare with the constants. A Go field renamed here
// breaks the readers' compile; a name changed on one side only (tag or
// writer) fails TestEventsRoundTrip, which writes every event and reads it
// back.

// The events, as the "event" field names them.
const (
	// EventStart: the server listens (once, first).
	EventStart = "start"
	// EventConnOpen: a connection was accepted (debug level).
	EventConnOpen = "conn_open"
	// EventConnClose: a connection was closed, with its totals (debug level).
	EventConnClose = "conn_close"
	// EventAcceptError: accept(2) failed; the acceptor pauses.
	EventAcceptError = "accept_error"
	// EventStop: the server has stopped, with its totals (once, last of
	// the model's events).
	EventStop = "stop"
	// EventUsage: the process's resource usage, on SIGUSR1 and at exit.
	EventUsage = "usage"
	// EventLimitReached: open connections reached Config.MaxConns; the
	// model stops accepting (warn level).
	EventLimitReached = "max_conns_reached"
	// EventLimitLeft: a connection closed below the limit; the model
	// accepts again (info level).
	EventLimitLeft = "max_conns_left"
	// EventListenFallback: raw sockets are not implemented on this system,
	// so the model listens with net.Listen and the backlog is the
	// system's (warn level, before start).
	EventListenFallback = "listen_fallback"
	// EventChildExit: a child process of the fork or prefork model exited
	// when it was not asked to (warn level), or a fork child finished its
	// connection (debug level).
	EventChildExit = "child_exit"
	// EventSpawnError: the fork model's parent could not start a child
	// for a client it accepted, for want of descriptors or processes; the
	// client waits, and the parent tries again once a child exits or the
	// pause ends (warn level).
	EventSpawnError = "spawn_error"
	// EventUnavailable: the model cannot serve on this system (uring where
	// io_uring is not allowed); the error says why and what would allow
	// it. The server exits after it (error level).
	EventUnavailable = "unavailable"
)

// Why a usage event was written: its "why" field.
const (
	// UsageOnSignal: kill -USR1 asked for it.
	UsageOnSignal = "signal"
	// UsageAtExit: the process is exiting; the figures are its whole life.
	UsageAtExit = "exit"
)

// IsEvent reports whether name is one of the events above.
func IsEvent(name string) bool {
	switch name {
	case EventStart, EventConnOpen, EventConnClose, EventAcceptError, EventStop, EventUsage, EventListenFallback,
		EventLimitReached, EventLimitLeft, EventChildExit, EventSpawnError, EventUnavailable:
		return true
	}
	return false
}

// Event is one line of the log, with the fields of every event: each event
// fills the ones its comment names, and a reader decodes a line into it.
type Event struct {
	// Event is the event's name, one of the constants above.
	Event string `json:"event"`
	// Time is when the line was written (zerolog's timestamp).
	Time time.Time `json:"time"`
	// Level and Message are zerolog's own fields on every line.
	Level   string `json:"level"`
	Message string `json:"message"`

	// Model is the server model (start, stop, child_exit, spawn_error).
	Model string `json:"model"`
	// Addr is the bound address, host:port (start).
	Addr string `json:"addr"`
	// Proto and Work are the protocol and the work per request, as the
	// flags spell them (start).
	Proto string `json:"proto"`
	Work  string `json:"work"`
	// Backlog is the listen(2) backlog asked for, 0 for the maximum
	// (start, listen_fallback).
	Backlog int `json:"backlog"`
	// BacklogSource says who chose the backlog in effect: "system" when
	// the model could not choose it (listen_fallback).
	BacklogSource string `json:"backlog_source"`
	// MaxLine is the longest echo line accepted (start).
	MaxLine int `json:"max_line"`
	// IdleTimeoutMs is the idle timeout in milliseconds (start).
	IdleTimeoutMs float64 `json:"idle_timeout"`
	// RequestTimeoutMs is the request timeout in milliseconds (start).
	RequestTimeoutMs float64 `json:"request_timeout"`
	// MaxConns is the connection limit (start, max_conns_reached,
	// max_conns_left).
	MaxConns int `json:"max_conns"`
	// MaxOutput is the cap on one connection's unwritten answers (start).
	MaxOutput int `json:"max_output"`
	// Open is how many connections were open (max_conns_reached,
	// max_conns_left).
	Open int `json:"open"`
	// PID is the process id: of the server (start), or of the process
	// that served the connection, which for fork and prefork is a child
	// (conn_open, conn_close), or of the child that exited (child_exit).
	PID int `json:"pid"`
	// Workers is what -workers counts for the model: the threads of pool,
	// the processes of prefork, the event loops of reuseport; 0 for the
	// other models (start).
	Workers int `json:"workers"`
	// Edge says the epoll model watches its sockets edge-triggered
	// (-edge) (start).
	Edge bool `json:"edge"`
	// Procs says the reuseport model runs its loops as processes (-procs)
	// (start).
	Procs bool `json:"procs"`
	// GOMAXPROCS is how many threads may run Go code at once (start).
	GOMAXPROCS int `json:"gomaxprocs"`
	// Accept, Recv and Ring say how the uring model accepts, receives and
	// is told of completions, as Features does; empty for the other
	// models (start).
	Accept string `json:"accept"`
	Recv   string `json:"recv"`
	Ring   string `json:"ring"`
	// DataFile, DiskMode and DiskReadMicros say, for disk: work, which
	// file the requests read, how the reads miss the page cache (direct,
	// dropped, cached, pipe: models/internal/disk) and what one read took
	// as the server opened it (start).
	DataFile       string `json:"data_file"`
	DiskMode       string `json:"disk_mode"`
	DiskReadMicros int64  `json:"disk_read_us"`

	// Conn numbers the connection in accept order, from 1 (conn_open,
	// conn_close).
	Conn uint64 `json:"conn"`
	// Remote is the client's address (conn_open, conn_close).
	Remote string `json:"remote"`
	// TID is the OS thread that served the connection, 0 if unknown
	// (conn_open, conn_close).
	TID int `json:"tid"`
	// BytesIn and BytesOut count payload bytes read and written; Requests
	// counts answers (conn_close for one connection, stop for all).
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	Requests int64 `json:"requests"`
	// DurationUs is how long the connection was open, in microseconds
	// (conn_close).
	DurationUs int64 `json:"duration_us"`
	// Reason says why the connection closed, as Reason.String (conn_close).
	Reason string `json:"reason"`
	// Error is the error behind ReasonError, the failed accept, why raw
	// sockets were not used, how a child ended, or why the model cannot
	// serve here (conn_close, accept_error, listen_fallback, child_exit,
	// spawn_error, unavailable).
	Error string `json:"error"`

	// PauseMs is how long the acceptor pauses, in milliseconds
	// (accept_error), or the fork parent at most before it tries to start
	// a child again (spawn_error).
	PauseMs float64 `json:"pause"`

	// Conns counts the connections accepted (stop).
	Conns int64 `json:"conns"`
	// Reasons counts the closes by reason (stop).
	Reasons map[string]int64 `json:"reasons"`
	// UptimeMs is how long the server served, in milliseconds (stop).
	UptimeMs int64 `json:"uptime_ms"`
	// Loops counts the connections each event loop accepted, in the order
	// the loops ended, for the models built on the epoll model's loop
	// (stop): how evenly reuseport's listeners shared them.
	Loops []int64 `json:"loops"`

	// Why is UsageOnSignal or UsageAtExit (usage).
	Why string `json:"why"`
	// UserS and SysS are the CPU seconds the process used, exited threads
	// included (usage).
	UserS float64 `json:"user_s"`
	SysS  float64 `json:"sys_s"`
	// Nvcsw and Nivcsw count voluntary and involuntary context switches,
	// as getrusage(2) names them (usage).
	Nvcsw  int64 `json:"nvcsw"`
	Nivcsw int64 `json:"nivcsw"`
	// MaxRSSBytes is the peak resident set (usage).
	MaxRSSBytes int64 `json:"maxrss_bytes"`
	// ChildUserS, ChildSysS, ChildNvcsw and ChildNivcsw are the same
	// figures for the child processes that have exited and that the
	// process has waited for, and for the descendants they waited for
	// (usage; getrusage(2)'s RUSAGE_CHILDREN). 0 for a model of one
	// process.
	ChildUserS  float64 `json:"children_user_s"`
	ChildSysS   float64 `json:"children_sys_s"`
	ChildNvcsw  int64   `json:"children_nvcsw"`
	ChildNivcsw int64   `json:"children_nivcsw"`
	// Processes, Threads, RSSBytes and FDs are what /proc says now of the
	// server and its child processes (usage).
	Processes int   `json:"processes"`
	Threads   int   `json:"threads"`
	RSSBytes  int64 `json:"rss_bytes"`
	FDs       int   `json:"fds"`
}

// Usage is what the usage event reports: the process's getrusage(2), its
// reaped children's, and what /proc says of it at the moment.
type Usage struct {
	// Why is UsageOnSignal or UsageAtExit.
	Why string
	// User and System are CPU time, exited threads included.
	User, System time.Duration
	// Voluntary and Involuntary count context switches.
	Voluntary, Involuntary int64
	// MaxRSS is the peak resident set in bytes.
	MaxRSS int64
	// ChildUser, ChildSystem, ChildVoluntary and ChildInvoluntary are the
	// CPU time and context switches of the children that have exited and
	// been waited for (RUSAGE_CHILDREN).
	ChildUser, ChildSystem           time.Duration
	ChildVoluntary, ChildInvoluntary int64
	// Procs, Threads, RSS (bytes) and FDs are read from /proc now, summed
	// over the server and its child processes (Procs of them; the
	// field "processes": "procs" is the start event's -procs).
	Procs   int
	Threads int
	RSS     int64
	FDs     int
}

// Features are what a model found in the kernel and uses, for a model
// whose way of waiting depends on it (uring). The start event logs the
// fields that are set.
type Features struct {
	// Accept is how connections are accepted: "multishot" (one request,
	// many completions) or "single" (one request per connection).
	Accept string
	// Recv is how data is received: "multishot+bufring" (one request per
	// connection, into buffers the kernel picks from a ring) or "single"
	// (one request per read, into the connection's own buffer).
	Recv string
	// Ring is how the ring posts completions that need the loop's thread:
	// "defer_taskrun" (in a batch when the loop waits), "coop_taskrun"
	// (when it next enters the kernel) or "interrupt" (at once,
	// interrupting it).
	Ring string
}

// LogUsage writes the usage event.
func LogUsage(log zerolog.Logger, u Usage) {
	log.Info().Str("event", EventUsage).
		Str("why", u.Why).
		Float64("user_s", u.User.Seconds()).
		Float64("sys_s", u.System.Seconds()).
		Int64("nvcsw", u.Voluntary).
		Int64("nivcsw", u.Involuntary).
		Int64("maxrss_bytes", u.MaxRSS).
		Float64("children_user_s", u.ChildUser.Seconds()).
		Float64("children_sys_s", u.ChildSystem.Seconds()).
		Int64("children_nvcsw", u.ChildVoluntary).
		Int64("children_nivcsw", u.ChildInvoluntary).
		Int("processes", u.Procs).
		Int("threads", u.Threads).
		Int64("rss_bytes", u.RSS).
		Int("fds", u.FDs).
		Msg("resource usage")
}

// LogChildExit writes the child_exit event of the child pid of model,
// which ended with err (nil: exit status 0). Warn level: the parent did
// not ask it to stop.
func LogChildExit(log zerolog.Logger, model string, pid int, err error) {
	e := log.Warn().Str("event", EventChildExit).Str("model", model).Int("pid", pid)
	if err != nil {
		e = e.Str("error", err.Error())
	}
	e.Msg("a child process exited")
}

// LogUnavailable writes the unavailable event: model cannot serve on
// this system, for the reason err gives.
func LogUnavailable(log zerolog.Logger, model string, err error) {
	log.Error().Str("event", EventUnavailable).Str("model", model).Str("error", err.Error()).Msg("the model cannot serve here")
}

// LogListenFallback writes the listen_fallback event: err says why raw
// sockets could not be used, and backlog is the -backlog that is ignored.
func LogListenFallback(log zerolog.Logger, err error, backlog int) {
	log.Warn().Str("event", EventListenFallback).
		Str("error", err.Error()).
		Int("backlog", backlog).
		Str("backlog_source", "system").
		Msg("listening with net.Listen; -backlog is ignored, the backlog is the system's")
}

// pid is this process's id, for the events. A child of the fork and
// prefork models is a new process, which runs this again.
var pid = os.Getpid()

// poolSize is the start event's workers: cfg.Workers for a model that
// uses -workers, 0 for one that ignores it.
func poolSize(model string, cfg *Config) int {
	if m, ok := registry[model]; ok && m.WorkersAre == "" {
		return 0
	}
	return cfg.Workers
}

// logStart writes the start event.
func logStart(log zerolog.Logger, model string, cfg *Config, addr string, f Features) {
	e := log.Info().Str("event", EventStart).
		Str("model", model).
		Str("addr", addr).
		Str("proto", cfg.Proto.String()).
		Str("work", cfg.Work.String()).
		Int("backlog", cfg.Backlog).
		Int("max_line", cfg.MaxLine).
		Dur("idle_timeout", cfg.IdleTimeout).
		Dur("request_timeout", cfg.RequestTimeout).
		Int("max_conns", cfg.Limit()).
		Int("max_output", cfg.OutputCap()).
		Int("workers", poolSize(model, cfg)).
		Bool("edge", cfg.Edge).
		Bool("procs", cfg.Procs).
		Int("pid", pid).
		Int("gomaxprocs", runtime.GOMAXPROCS(0))
	if f.Accept != "" {
		e = e.Str("accept", f.Accept)
	}
	if f.Recv != "" {
		e = e.Str("recv", f.Recv)
	}
	if f.Ring != "" {
		e = e.Str("ring", f.Ring)
	}
	if cfg.Work.Kind == Disk {
		// How its reads miss the page cache, and what one took as the
		// file opened: the conditions a disk: run is read in.
		if d, err := DataFile(cfg); err == nil {
			e = e.Str("data_file", d.Path).Str("disk_mode", string(d.Mode)).Int64("disk_read_us", d.Latency.Microseconds())
		}
	}
	e.Msg("serving")
}

// logConnOpen writes the conn_open event of c, served by thread tid.
func logConnOpen(log zerolog.Logger, c *ConnRecord, tid int) {
	log.Debug().Str("event", EventConnOpen).
		Uint64("conn", c.ID).
		Str("remote", c.Remote.String()).
		Int("pid", pid).
		Int("tid", tid).
		Msg("open")
}

// logConnClose writes the conn_close event of c; err is logged only with
// ReasonError.
func logConnClose(log zerolog.Logger, c *ConnRecord, reason Reason, tid int, err error) {
	e := log.Debug().Str("event", EventConnClose).
		Uint64("conn", c.ID).
		Str("remote", c.Remote.String()).
		Int("pid", pid).
		Int("tid", tid).
		Int64("bytes_in", c.BytesIn).
		Int64("bytes_out", c.BytesOut).
		Int64("requests", c.Requests).
		Int64("duration_us", c.Since().Microseconds()).
		Str("reason", reason.String())
	if err != nil {
		e = e.Str("error", err.Error())
	}
	e.Msg("close")
}

// logAcceptError writes the accept_error event.
func logAcceptError(log zerolog.Logger, err error, pause time.Duration) {
	log.Warn().Str("event", EventAcceptError).Str("error", err.Error()).Dur("pause", pause).Msg("accept failed; pausing")
}

// LogSpawnError writes the spawn_error event: the parent of model could
// not start a child for a client it accepted (err), and tries again once a
// child exits, or pause later.
func LogSpawnError(log zerolog.Logger, model string, err error, pause time.Duration) {
	log.Warn().Str("event", EventSpawnError).Str("model", model).Str("error", err.Error()).Dur("pause", pause).
		Msg("cannot start a child now; the client waits until one exits")
}

// logLimit writes max_conns_reached or max_conns_left.
func logLimit(log zerolog.Logger, event string, open, max int) {
	e := log.Info()
	msg := "below the connection limit; accepting again"
	if event == EventLimitReached {
		e, msg = log.Warn(), "at the connection limit; not accepting until a connection closes"
	}
	e.Str("event", event).Int("open", open).Int("max_conns", max).Msg(msg)
}

// totals are the server's counts, as the stop event reports them.
type totals struct {
	conns, requests, bytesIn, bytesOut int64
	reasons                            [numReasons]int64
	uptime                             time.Duration
	loops                              []int64 // per event loop, when there are several
}

// logStop writes the stop event.
func logStop(log zerolog.Logger, model string, t totals) {
	reasons := zerolog.Dict()
	for r := Reason(0); r < numReasons; r++ {
		if n := t.reasons[r]; n > 0 {
			reasons = reasons.Int64(r.String(), n)
		}
	}
	ev := log.Info().Str("event", EventStop)
	if len(t.loops) > 0 {
		ev = ev.Ints64("loops", t.loops)
	}
	ev.Str("model", model).
		Int64("conns", t.conns).
		Int64("requests", t.requests).
		Int64("bytes_in", t.bytesIn).
		Int64("bytes_out", t.bytesOut).
		Dict("reasons", reasons).
		Int64("uptime_ms", t.uptime.Milliseconds()).
		Msg("stopped")
}
