// Package models holds the contract that every iolab server model meets.
//
// A model is one way of waiting for I/O: a single thread that blocks
// (sequential), a child process per connection (fork), a pool of
// processes each blocked in accept (prefork), one OS thread per connection
// (threads), a pool of OS threads each blocked in accept (pool), one
// goroutine per connection over Go's netpoller (goroutine), a hand-written
// epoll reactor (epoll), that reactor handing cpu work to a pool of
// threads (workers), one such reactor per CPU on SO_REUSEPORT listeners
// (reuseport), io_uring's completion queue (uring), or gnet's event loops
// (gnet). Everything else is shared, so that the only difference a
// student sees between two models is how they wait:
//
//   - the protocols, greeting and line echo (proto.go), and the echo
//     request loop every model runs (Lines, answer.go);
//   - the work done per request, sleep or cpu, begun by BeginWork
//     (work.go); only the sleep it leaves is each model's own;
//   - the timeouts, one rule (Clocks.Deadline, timeout.go), and the
//     connection limit, one type (Slots, limits.go);
//   - the configuration and its flags (flags.go);
//   - the bookkeeping and structured log events (stats.go, events.go);
//   - graceful shutdown for models that park a thread or goroutine per
//     connection (drain.go).
//
// The contract every model keeps:
//
//   - A model registers a Model whose Build makes its server from a
//     Config that Model.New has validated; the server does not listen
//     yet. A model that needs Linux says so (Model.Linux) and still
//     builds elsewhere (LinuxOnly).
//   - Serve(ctx, ready) listens on cfg.Addr with cfg.Backlog, calls ready
//     with the bound address once connections are accepted, and serves
//     until ctx is done. Then it stops accepting, lets requests in flight
//     finish for up to cfg.ShutdownTimeout, closes every connection, logs
//     one stop event and returns nil. It returns an error only when it
//     could not serve at all (the address is taken, say).
//   - Every reply is byte for byte the same across models, pipelined lines
//     are answered in order, and a line longer than cfg.MaxLine is answered
//     with ErrLineReply and a close.
//   - An idle connection is closed after cfg.IdleTimeout; an accept error
//     such as EMFILE is logged and retried after a pause, never in a spin.
//   - Every goroutine a model starts has returned by the time Serve does,
//     and every file descriptor it opened is closed.
package models

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// DefaultAddr is the tutorial's port, on every interface as in its
// Python server (HOST = "").
const DefaultAddr = ":8000"

// DefaultMaxLine bounds one echo line, counting its newline.
const DefaultMaxLine = 64 << 10

// DefaultRequestTimeout is RequestTimeout's default: far more than any
// honest client needs to send one line, however slow its network.
const DefaultRequestTimeout = 10 * time.Second

// Config is what a model is told to do. The zero value is not usable; start
// from DefaultConfig.
type Config struct {
	// Addr is the TCP address to listen on, host:port. Port 0 picks a free
	// port, which Serve reports through its ready callback.
	Addr string
	// Proto is the protocol spoken on every connection.
	Proto Proto
	// Greeting is the text written by the greeting protocol.
	Greeting []byte
	// Work is done for each request before it is answered.
	Work Work
	// WorkMark, when set, limits Work to the echo requests whose line
	// begins with it (-work-mark); the others are answered at once. The
	// mixed scenario's client marks a share of its requests so, and times
	// the cheap ones apart from the heavy.
	WorkMark string
	// DataFile is the file disk work reads (-data-file); empty means the
	// default place, iolab/disk.dat in the user's cache directory.
	DataFile string
	// Backlog is passed to listen(2); 0 means the system maximum
	// (net.core.somaxconn).
	Backlog int
	// MaxLine is the longest echo line accepted, counting its newline.
	MaxLine int
	// IdleTimeout closes a connection that has neither sent a byte nor been
	// sent one for this long. It is also the write timeout: an answer the
	// client has not taken in full this long after it was first offered
	// closes the connection as ReasonWriteTimeout, however slowly it was
	// read meanwhile (one answer, one deadline).
	IdleTimeout time.Duration
	// RequestTimeout bounds how long an echo line may take to arrive in
	// full, from its first byte, as net/http's ReadHeaderTimeout does for
	// a header: a client that sends a byte now and then cannot hold a
	// connection (and, in the threads model, an OS thread) for ever, since
	// each byte resets the idle timeout. Past it: ReasonRequestTimeout.
	RequestTimeout time.Duration
	// MaxConns is how many connections a model serves at once. At the
	// limit it stops accepting, and new clients wait in the kernel's accept
	// queue, as Apache's MaxRequestWorkers does (gnet, which cannot stop
	// accepting, accepts and closes them: ReasonMaxConns). 0 means
	// DefaultMaxConns.
	MaxConns int
	// MaxOutput caps, per connection, the answers waiting to be written:
	// past it a model stops reading that client until they drain, so a
	// client that never reads costs the server at most this much beyond
	// the kernel's socket buffers. It is at least MaxLine plus the error
	// reply, since one answer is at most one line. 0 means four of the
	// longest lines (see OutputCap).
	MaxOutput int
	// Workers is the size of the pool that the pool and prefork models
	// start at boot: OS threads for pool, processes for prefork. Each
	// worker serves one connection at a time, so it also bounds how many
	// are served at once. 0 means the model's default (WorkersOr); the
	// other models ignore it.
	Workers int
	// Edge makes the epoll model watch its sockets edge-triggered
	// (EPOLLET, -edge): epoll reports a socket when it becomes ready, not
	// for as long as it is. The other models ignore it.
	Edge bool
	// Procs makes the reuseport model run its event loops as processes
	// (-procs), one per listener, as nginx's master starts its workers,
	// instead of threads of one process. Each process has its own limit
	// on open files. The other models ignore it.
	Procs bool
	// ShutdownTimeout bounds how long Serve waits for requests in flight
	// once ctx is done; what is still open then is closed.
	ShutdownTimeout time.Duration
	// Log receives the start, stop and per-connection events.
	Log zerolog.Logger
	// OnWork, when set, is called as the work of a request begins, on the
	// thread that serves it, and only when Work is not none (see
	// BeginWork). Tests use it to know a request is in flight.
	OnWork func()
}

// DefaultConfig returns the configuration `iolab serve` starts from: the
// tutorial's greeting on :8000, no work, and a logger that discards.
func DefaultConfig() Config {
	return Config{
		Addr:            DefaultAddr,
		Proto:           Greeting,
		Greeting:        []byte(DefaultGreeting),
		Backlog:         0,
		MaxLine:         DefaultMaxLine,
		IdleTimeout:     60 * time.Second,
		RequestTimeout:  DefaultRequestTimeout,
		ShutdownTimeout: 5 * time.Second,
		Log:             zerolog.Nop(),
	}
}

// Validate reports the first thing wrong with c.
func (c *Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("models: empty address")
	case c.Proto != Greeting && c.Proto != Echo:
		return fmt.Errorf("models: unknown protocol %d", c.Proto)
	case c.Proto == Greeting && len(c.Greeting) == 0:
		return errors.New("models: empty greeting")
	case c.Work.Validate() != nil:
		return c.Work.Validate()
	case c.Backlog < 0:
		return fmt.Errorf("models: backlog %d is negative", c.Backlog)
	case c.MaxLine < 2:
		return fmt.Errorf("models: max line %d is below 2 bytes", c.MaxLine)
	case c.IdleTimeout <= 0:
		return fmt.Errorf("models: idle timeout %v is not positive", c.IdleTimeout)
	case c.ShutdownTimeout < 0:
		return fmt.Errorf("models: shutdown timeout %v is negative", c.ShutdownTimeout)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("models: request timeout %v is not positive", c.RequestTimeout)
	case c.Workers < 0:
		return fmt.Errorf("models: workers %d is negative", c.Workers)
	case c.MaxConns < 0:
		return fmt.Errorf("models: max conns %d is negative", c.MaxConns)
	case c.MaxOutput < 0:
		return fmt.Errorf("models: max output %d is negative", c.MaxOutput)
	case c.MaxOutput > 0 && c.MaxOutput < c.MaxLine+len(ErrLineReply):
		return fmt.Errorf("models: max output %d is below one line (max line %d plus %d bytes)", c.MaxOutput, c.MaxLine, len(ErrLineReply))
	}
	return nil
}

// OutputCap returns MaxOutput, or four times MaxLine when it is 0.
func (c *Config) OutputCap() int {
	if c.MaxOutput > 0 {
		return c.MaxOutput
	}
	return 4 * c.MaxLine
}

// WorkersOr returns Workers, or def when it is 0.
func (c *Config) WorkersOr(def int) int {
	if c.Workers > 0 {
		return c.Workers
	}
	return def
}

// Limit returns MaxConns, or DefaultMaxConns when it is 0.
func (c *Config) Limit() int {
	if c.MaxConns > 0 {
		return c.MaxConns
	}
	return DefaultMaxConns()
}

// Server is what every model's Build returns.
type Server interface {
	// Serve listens, calls ready with the bound address, and serves until
	// ctx is done, as the package documentation describes.
	Serve(ctx context.Context, ready func(net.Addr)) error
}

// Model describes one registered model.
type Model struct {
	// Name is what users type after -model.
	Name string
	// Waits says in one line how the model waits for I/O.
	Waits string
	// Limits says in a few lines what the model does at its limits: past
	// -max-conns, with a client that stops reading, and where its
	// library, if any, sets a limit of its own. iolab models prints it,
	// and so does iolab bench's report.
	Limits string
	// Source is the package to read, relative to the repository root.
	Source string
	// Serial is true when the model serves one connection at a time.
	Serial bool
	// Processes is true when the model serves from child processes (fork,
	// prefork), each holding one connection at a time.
	Processes bool
	// WorkersAre says what -workers counts for this model (threads,
	// processes, event loops); empty for a model that ignores it.
	WorkersAre string
	// Bounded is true when the model serves, by default, far fewer
	// clients at once than the connection limit from the open-file limit
	// (a pool of workers, or the fork model's cap on children): clients
	// beyond that wait in the kernel's accept queue.
	Bounded bool
	// Workers is the default size of the pool the model starts at boot
	// (Config.Workers), for pool and prefork; 0 for the models that have
	// none. Such a model serves at most that many clients at once, so New
	// also cuts the pool to the connection limit.
	Workers int
	// Linux is true for a model written on Linux's own system calls
	// (epoll, io_uring, raw sockets, pidfds): on other systems Usable
	// reports that it needs Linux, and names the models that do not.
	Linux bool
	// Available, when set, reports whether the model can serve on this
	// system, by trying what it needs (the uring model sets up a tiny
	// io_uring and closes it). Its error names the cause and the fix. A
	// nil Available means always available.
	Available func() error
	// Build makes the model's server from cfg, which New has validated.
	// A model whose Config fields have defaults of its own (the workers
	// model's pool size, the fork model's cap on children) sets them
	// here, on its copy of cfg.
	Build func(cfg Config) Server
}

// New validates cfg, sizes a fixed pool (Workers), opens the data file
// of disk work (creating it if needed: ErrDataFile if it cannot) and
// builds m's server. The server does not listen until Serve.
func (m *Model) New(cfg Config) (Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Work.Kind == Disk {
		if _, err := DataFile(&cfg); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDataFile, err)
		}
	}
	if m.Workers > 0 {
		// Each worker serves one client at a time, so the pool is the
		// connection limit: a -max-conns below it shrinks it.
		cfg.Workers = min(cfg.WorkersOr(m.Workers), cfg.Limit())
	}
	return m.Build(cfg), nil
}

// New builds a server of the model called name for cfg, as Model.New
// does.
func New(name string, cfg Config) (Server, error) {
	m, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return m.New(cfg)
}

// ErrDataFile is what New returns, wrapped, when disk work has no data
// file to read: it cannot be created or opened where -data-file says.
var ErrDataFile = errors.New("models: no data file for disk work")

// ErrNeedsLinux is what Usable returns, wrapped, for a Linux model on
// another system, and what such a model's Serve returns there.
var ErrNeedsLinux = errors.New("models: the model needs Linux")

// Usable returns nil if m can serve here: for a Linux model elsewhere,
// ErrNeedsLinux with the models to try instead; otherwise the error of
// its Available.
func (m *Model) Usable() error {
	if m.Linux && runtime.GOOS != "linux" {
		return fmt.Errorf("%w; on this system try %s", ErrNeedsLinux, portable())
	}
	if m.Available == nil {
		return nil
	}
	return m.Available()
}

// portable names, as -model flags, the models that are not Linux's alone
// and can serve here: "-model goroutine or -model gnet".
func portable() string {
	var flags []string
	for _, m := range All() {
		if !m.Linux && m.Usable() == nil {
			flags = append(flags, "-model "+m.Name)
		}
	}
	if len(flags) < 2 {
		return strings.Join(flags, "")
	}
	return strings.Join(flags[:len(flags)-1], ", ") + " or " + flags[len(flags)-1]
}

// LinuxOnly gives a Linux model's Server the Serve it has on other
// systems, which returns ErrNeedsLinux. The model embeds it in its Server
// and writes its own Serve in a _linux.go file: on Linux that Serve,
// declared on the Server itself, is the one called (Go picks the
// shallowest method), and elsewhere, where it is not compiled, this one
// is. So the model builds everywhere without a stub file of its own.
type LinuxOnly struct{}

// Serve returns ErrNeedsLinux.
func (LinuxOnly) Serve(context.Context, func(net.Addr)) error { return ErrNeedsLinux }

var registry = map[string]Model{}

// Register adds m to the registry. Each model package calls it from init;
// a second model with the same name is a programming error and panics.
func Register(m Model) {
	if _, dup := registry[m.Name]; dup {
		panic("models: model " + m.Name + " registered twice")
	}
	registry[m.Name] = m
}

// ErrUnknownModel is returned by Lookup for a name nobody registered.
var ErrUnknownModel = errors.New("models: unknown model")

// Lookup returns the model called name.
func Lookup(name string) (Model, error) {
	m, ok := registry[name]
	if !ok {
		return Model{}, fmt.Errorf("%w %q (have %v)", ErrUnknownModel, name, Names())
	}
	return m, nil
}

// order is the teaching order: from the tutorial's server to the reactors.
var order = []string{"sequential", "fork", "prefork", "threads", "pool", "goroutine", "epoll", "workers", "reuseport", "uring", "gnet"}

// All returns every registered model, in teaching order, then any others by
// name.
func All() []Model {
	rank := func(name string) int {
		for i, n := range order {
			if n == name {
				return i
			}
		}
		return len(order)
	}
	all := make([]Model, 0, len(registry))
	for _, m := range registry {
		all = append(all, m)
	}
	sort.Slice(all, func(i, j int) bool {
		ri, rj := rank(all[i].Name), rank(all[j].Name)
		if ri != rj {
			return ri < rj
		}
		return all[i].Name < all[j].Name
	})
	return all
}

// Names returns the names of All.
func Names() []string {
	var names []string
	for _, m := range All() {
		names = append(names, m.Name)
	}
	return names
}
