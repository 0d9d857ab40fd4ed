// Package loadgen is iolab's load generator: it measures every server model
// in the same way, closed loop (N clients, each sending its next request
// when the last is answered) or open loop (a fixed rate, with latency
// counted from when each request was due, to correct coordinated
// omission), and reports HDR-histogram percentiles, throughput, errors by
// kind, and whether it was itself the bottleneck.
//
// It is built like the fastest models it measures: one event loop per
// usable CPU, each locked to an OS thread and waiting in epoll_wait(2) for
// many non-blocking client sockets. Goroutines with blocking net.Conns
// would cost an extra read(2) that fails with EAGAIN and a park and
// wake-up per request, enough to make the client, not the server, the
// limit on a 2-core machine.
//
// Read it in this order: level.go (Run, and the coordinator of one
// level), schedule.go (the open-loop timetable), poller_linux.go (the
// system calls, wrapped), loop_linux.go (the event loop and its timers),
// conn_linux.go (a connection's life, the same for both workloads), then
// greeting_linux.go and echo_linux.go (the two workloads, one chosen per
// loop), and recorder.go and report.go for what is measured and printed.
package loadgen

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"iolab/models"
	"iolab/models/proc"
)

// Config describes one run: one or more levels of concurrency against one
// server.
type Config struct {
	// Addr is the server, host:port.
	Addr string
	// Proto is the workload: Greeting (connect, read until EOF, close) or
	// Echo (persistent connections, a line out and the same line back).
	Proto models.Proto
	// Clients lists the levels: one measurement per number of clients.
	Clients []int
	// Rate, if positive, makes the run open loop: this many requests per
	// second in total, spread evenly over the clients. Zero is closed loop.
	Rate float64
	// ConnectRate, if positive, starts the clients at this many a second
	// in total instead of all at once: client i of a level starts i ÷
	// ConnectRate seconds in. A burst of many thousands of handshakes
	// overflows a server's accept queues: the SYNs past them are dropped,
	// their clients time out and connect again, and the server spends
	// itself accepting connections their clients have already given up.
	// The warm-up should last the ramp, clients ÷ ConnectRate seconds.
	ConnectRate float64
	// Duration is the measured interval of each level, after Warmup.
	// Ignored when Requests is set.
	Duration time.Duration
	// Requests, if positive, ends each level after this many measured
	// requests instead of after Duration.
	Requests int64
	// Warmup runs before each level's measured interval; it is measured
	// separately and left out of the results.
	Warmup time.Duration
	// Timeout bounds each phase of a request: connecting, and waiting for
	// the answer (greeting: for each read until EOF).
	Timeout time.Duration
	// Size is the length of an echo line, newline included.
	Size int
	// Pipeline is how many echo lines each connection keeps in flight.
	Pipeline int
	// Engine is how the echo clients wait and move bytes: EngineEpoll
	// (epoll, then read(2) and write(2) for each line) or EngineUring
	// (io_uring: a multishot receive per connection, and each round's
	// sends submitted with the wait, in one io_uring_enter(2); see
	// uring_linux.go). Connecting goes through epoll either way. Empty
	// is epoll.
	Engine string
	// Heavy, between 0 and 1, is the share of echo lines that begin with
	// HeavyMark: a server given the same text as -work-mark does its work
	// for those lines only and answers the others at once, and the
	// results time the two kinds apart (Level.Cheap, Level.Heavy). Which
	// lines are heavy follows from the client and the line's number
	// (heavy.go). Zero marks no line.
	Heavy float64
	// HeavyMark begins every heavy line. It must not begin as a plain
	// line can (a hex digit or x), or the server could not tell them
	// apart.
	HeavyMark string
	// Expect, if set, is the exact greeting; otherwise any non-empty
	// greeting is right.
	Expect []byte
	// Sources, if set, are the local addresses client sockets bind to,
	// each client its own in turn (-source). One source address and one
	// server address and port leave about 28,000 ephemeral ports
	// (net.ipv4.ip_local_port_range), and so as many connections; on
	// loopback every 127.x.y.z is local, so a range of them lifts that
	// limit. Past about half of them (~14,000 a source) connect(2) slows
	// down: it tries the even ports first, and once they are taken it
	// searches them all again for each new connection before it tries an
	// odd one. They must be of the server's family.
	Sources []netip.Addr
	// Progress, if set, is called about five times a second while a level
	// runs, from a goroutine of its own.
	Progress func(Progress)
	// Mark, if set, is called when a level's measured interval begins
	// (true) and ends (false), right after the load generator reads its own
	// CPU time. iolab bench uses it to read the server's at the same moments.
	Mark func(measuring bool)
}

// The engines (Config.Engine).
const (
	EngineEpoll = "epoll"
	EngineUring = "uring"
)

// DefaultConfig returns the defaults of `iolab load`.
func DefaultConfig() Config {
	return Config{
		Addr:      "localhost:8000",
		Proto:     models.Greeting,
		Clients:   []int{1, 2, 5, 10},
		Duration:  5 * time.Second,
		Warmup:    time.Second,
		Timeout:   2 * time.Second,
		Size:      64,
		Pipeline:  1,
		Engine:    EngineEpoll,
		HeavyMark: "!",
	}
}

// Validate reports the first thing wrong with c, run in one process.
func (c *Config) Validate() error { return c.ValidateIn(1) }

// ValidateIn reports the first thing wrong with c run in agents load
// processes, each with its share of every level's clients (Share).
func (c *Config) ValidateIn(agents int) error {
	switch {
	case c.Addr == "":
		return errors.New("empty address")
	case c.Proto != models.Greeting && c.Proto != models.Echo:
		return fmt.Errorf("unknown protocol %v", c.Proto)
	case len(c.Clients) == 0:
		return errors.New("no client levels")
	case c.Rate < 0:
		return fmt.Errorf("negative rate %v", c.Rate)
	case !(c.ConnectRate >= 0): // NaN too
		return fmt.Errorf("connect rate %v is negative", c.ConnectRate)
	case c.Requests < 0:
		return fmt.Errorf("negative request count %d", c.Requests)
	case c.Requests == 0 && c.Duration <= 0:
		return fmt.Errorf("duration %v is not positive", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("negative warm-up %v", c.Warmup)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout %v is not positive", c.Timeout)
	case c.Size < 1 || c.Size > 1<<20:
		return fmt.Errorf("line size %d is not within 1 byte and 1 MiB", c.Size)
	case c.Pipeline < 1 || c.Pipeline > 1024:
		return fmt.Errorf("pipeline %d is not within 1 and 1024", c.Pipeline)
	case c.Engine != "" && c.Engine != EngineEpoll && c.Engine != EngineUring:
		return fmt.Errorf("unknown engine %q: want %s or %s", c.Engine, EngineEpoll, EngineUring)
	case c.Engine == EngineUring && c.Proto != models.Echo:
		return fmt.Errorf("the %s engine drives echo connections only: a %v opens a socket per request", EngineUring, c.Proto)
	case !(c.Heavy >= 0 && c.Heavy <= 1): // NaN too
		return fmt.Errorf("heavy share %v is not within 0 and 1", c.Heavy)
	case c.Heavy > 0 && c.Proto != models.Echo:
		return fmt.Errorf("a heavy share needs the echo protocol: a %v has no line to mark", c.Proto)
	case c.Heavy > 0:
		if err := checkMark(c.HeavyMark, c.Size); err != nil {
			return err
		}
	}
	if agents < 1 {
		return fmt.Errorf("%d load processes: want 1 or more", agents)
	}
	for _, n := range c.Clients {
		switch {
		case n < 1 || n > maxClients*agents && agents == 1:
			return fmt.Errorf("%d clients is not within 1 and %d, the most one process holds here (more: -agents)", n, maxClients)
		case n > maxClients*agents:
			return fmt.Errorf("%d clients is not within 1 and %d, %d in each of %d processes", n, maxClients*agents, maxClients, agents)
		case n < agents:
			return fmt.Errorf("%d load processes for a level of %d clients: want at most one process per client", agents, n)
		}
	}
	for _, a := range c.Sources {
		if !a.IsValid() || a.Is4() != c.Sources[0].Is4() {
			return fmt.Errorf("source address %v: want addresses of one family", a)
		}
	}
	return nil
}

// maxClients bounds one level: each client is a socket, and a process
// may open 20,000 files here.
const maxClients = 15000

// ErrKind is a kind of failed request. Errors are counted by kind and never
// enter the latency histograms.
type ErrKind int

const (
	// ErrRefused: connect(2) was refused, nothing listens (ECONNREFUSED).
	ErrRefused ErrKind = iota
	// ErrReset: the server reset the connection (ECONNRESET, EPIPE).
	ErrReset
	// ErrConnectTimeout: the handshake did not finish within the timeout,
	// as when the server's accept queue is full and SYNs are dropped.
	ErrConnectTimeout
	// ErrReadTimeout: connected, but the answer did not come in time.
	ErrReadTimeout
	// ErrWrongReply: the answer differs from what was expected, or the
	// server closed before it was complete.
	ErrWrongReply
	// ErrAddrUnavailable: no local port was free (EADDRNOTAVAIL), usually
	// from too many connections in TIME_WAIT.
	ErrAddrUnavailable
	// ErrOther: anything else; rare, and worth a look.
	ErrOther
	numErrKinds
)

var errKindNames = [numErrKinds]string{"refused", "reset", "connect_timeout", "read_timeout", "wrong_reply", "addr_unavailable", "other"}

// String returns the kind as it appears in every output.
func (k ErrKind) String() string { return errKindNames[k] }

// ErrKinds returns every kind, in order.
func ErrKinds() []ErrKind {
	kinds := make([]ErrKind, numErrKinds)
	for i := range kinds {
		kinds[i] = ErrKind(i)
	}
	return kinds
}

// ErrNoServer is returned by Run when nothing answers at the address.
var ErrNoServer = errors.New("connection refused")

// Progress is a snapshot of the level being run.
type Progress struct {
	Level, Levels int           // which level, from 1, of how many
	Clients       int           // the level's clients
	Warmup        bool          // still warming up
	Elapsed       time.Duration // since the level started, warm-up included
	Total         time.Duration // the level's planned length, warm-up included; 0 with Requests
	WarmupTotal   time.Duration // the warm-up's planned length: Elapsed-WarmupTotal is the time measured so far
	Requests      int64         // answered so far in this level
	Errors        int64         // failed so far in this level
}

// Result is a whole run.
type Result struct {
	// Version is the iolab build that measured it (iolab version).
	Version string `json:"version,omitempty"`
	// RunID names this run: 16 random hex digits, so that iolab merge can
	// refuse the same run given twice. Older results have none.
	RunID string `json:"run_id,omitempty"`
	// Started is when the run began, UTC; for merged runs, the earliest
	// start among them.
	Started time.Time `json:"started,omitzero"`
	// Merged lists the run ids of the runs merged into this one (Merge).
	Merged []string      `json:"merged,omitempty"`
	Config ConfigSummary `json:"config"`
	Levels []Level       `json:"levels"`
}

// NewRunID returns a fresh run id: 16 hex digits from crypto/rand.
func NewRunID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails: crypto/rand panics rather than return an error
	return hex.EncodeToString(b[:])
}

// ConfigSummary is Config as recorded in results.
type ConfigSummary struct {
	Addr     string  `json:"addr"`
	Proto    string  `json:"proto"`
	Clients  []int   `json:"clients"`
	Rate     float64 `json:"rate,omitempty"`
	Duration string  `json:"duration"`
	Requests int64   `json:"requests,omitempty"`
	Warmup   string  `json:"warmup"`
	Timeout  string  `json:"timeout"`
	Size     int     `json:"size,omitempty"`
	Pipeline int     `json:"pipeline,omitempty"`
	// Engine is set when it is not epoll.
	Engine string `json:"engine,omitempty"`
	Expect string `json:"expect,omitempty"`
	CPUs   []int  `json:"cpus,omitempty"`
	Procs  int    `json:"gomaxprocs"`
	// Sources says which local addresses the clients bound to (-source).
	Sources string `json:"sources,omitempty"`
	// Heavy and HeavyMark are Config's, when some lines were heavy.
	Heavy     float64 `json:"heavy,omitempty"`
	HeavyMark string  `json:"heavy_mark,omitempty"`
}

// Level is the measurement of one number of clients.
type Level struct {
	Clients int `json:"clients"`
	// Partial is set when the level was cut short (Ctrl-C): its numbers
	// cover only part of the interval it was to measure.
	Partial bool `json:"partial,omitempty"`
	// Loops is how many event loops (OS threads) drove the clients.
	Loops int `json:"loops"`
	// Seconds is the measured interval.
	Seconds float64 `json:"seconds"`
	// Requests answered correctly in the measured interval.
	Requests int64 `json:"requests"`
	// Throughput is Requests per second.
	Throughput float64 `json:"throughput"`
	// Latency is per request: for greeting from connect to EOF, for echo
	// from sending the line to its last byte back. In open loop it counts
	// from when the request was due (corrected for coordinated omission).
	Latency Summary `json:"latency"`
	// Uncorrected is open loop's latency from the actual send.
	Uncorrected *Summary `json:"uncorrected,omitempty"`
	// Cheap and Heavy split Latency, when Config.Heavy marked some lines:
	// the plain lines, answered at once by a server that does the work
	// for marked lines only, and the marked ones. How long a cheap
	// request waits behind a heavy one is the question of Flash (Pai et
	// al., 1999), and each model answers it its own way.
	Cheap *Summary `json:"cheap,omitempty"`
	Heavy *Summary `json:"heavy,omitempty"`
	// Connect and FirstByte are the greeting's phases: the handshake, and
	// from connected to the first byte of the greeting.
	Connect   *Summary `json:"connect,omitempty"`
	FirstByte *Summary `json:"first_byte,omitempty"`
	// Errors counts failed requests by kind.
	Errors map[string]int64 `json:"errors"`
	// ErrorsTotal is the sum of Errors.
	ErrorsTotal int64 `json:"errors_total"`
	// Late counts open-loop requests sent more than a millisecond after
	// they were due; Unsent, those due in the interval and never sent.
	Late   int64 `json:"late,omitempty"`
	Unsent int64 `json:"unsent,omitempty"`
	// Held is, for echo, how many connections were open when the measured
	// interval ended: the connections a server held at once (c100k).
	Held int `json:"held,omitempty"`
	// Setup is, for echo, how long after the level began every client was
	// connected at once for the first time, in seconds; nil if that never
	// happened (a server at its limit).
	Setup *float64 `json:"setup_s,omitempty"`
	// Warmup is the warm-up's own count, left out of everything above.
	Warmup WarmupSummary `json:"warmup"`
	// ClientCPU is the load generator's own CPU use in the interval.
	ClientCPU CPUUse `json:"client_cpu"`
	// ClientBound is set when the load generator used at least 90% of the
	// CPU it could use: then the numbers measure the client, not only the
	// server.
	ClientBound bool `json:"client_bound"`
	// Timeline has one entry per second of the measured interval.
	Timeline []Second `json:"timeline"`
	// Histograms holds each histogram in HdrHistogram's compressed V2
	// encoding (base64 in JSON), so that runs can be merged exactly.
	Histograms map[string][]byte `json:"histograms"`
}

// Summary is a latency distribution, in nanoseconds.
type Summary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ns"`
	P50   int64   `json:"p50_ns"`
	P90   int64   `json:"p90_ns"`
	P99   int64   `json:"p99_ns"`
	P999  int64   `json:"p999_ns"`
	Max   int64   `json:"max_ns"`
}

// WarmupSummary is what the warm-up did.
type WarmupSummary struct {
	Seconds  float64 `json:"seconds"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P50      int64   `json:"p50_ns"`
	P99      int64   `json:"p99_ns"`
}

// CPUUse is the load generator's getrusage(2) over the interval.
type CPUUse struct {
	User    float64 `json:"user_s"`
	System  float64 `json:"sys_s"`
	Allowed int     `json:"allowed_cpus"` // CPUs it could use: its loops, at most the CPUs it may run on
	Percent float64 `json:"percent"`      // (user+sys) / (seconds × allowed), in %
	// CPUs are the CPUs it may run on, where it can tell: merged runs
	// (agents) that share CPUs share them in Allowed too.
	CPUs []int `json:"cpus,omitempty"`
}

// Second is one second of the measured interval.
type Second struct {
	Second   int   `json:"second"`
	Requests int64 `json:"requests"`
	P50      int64 `json:"p50_ns"`
	P99      int64 `json:"p99_ns"`
	Errors   int64 `json:"errors"`
}

// clientBoundPercent is the CPU use from which a level is client-bound.
const clientBoundPercent = 90

// summarize turns a configuration into its record.
func summarize(c *Config) ConfigSummary {
	s := ConfigSummary{
		Addr: c.Addr, Proto: c.Proto.String(), Clients: append([]int(nil), c.Clients...),
		Rate: c.Rate, Duration: c.Duration.String(), Requests: c.Requests,
		Warmup: c.Warmup.String(), Timeout: c.Timeout.String(),
	}
	if c.Proto == models.Echo {
		s.Size, s.Pipeline = c.Size, c.Pipeline
		if c.Engine == EngineUring {
			s.Engine = c.Engine
		}
		if c.Heavy > 0 {
			s.Heavy, s.HeavyMark = c.Heavy, c.HeavyMark
		}
	} else {
		s.Expect = string(c.Expect)
	}
	if n := len(c.Sources); n > 0 {
		s.Sources = fmt.Sprintf("%d addresses, %v to %v", n, c.Sources[0], c.Sources[n-1])
	}
	s.CPUs, s.Procs = proc.Allowed()
	sort.Ints(s.CPUs)
	return s
}
