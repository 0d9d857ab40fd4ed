// Package check puts one server through a battery of checks, protocol
// first, then every kind of abuse a server meets in service (slowloris,
// idle and never-reading clients, lines that never end, random bytes, a
// flood past its limit, resets at every moment, half-closes with
// megabytes in flight, an elephant beside small clients, signals, a
// shutdown under load, listen(1), 10,000 clients), and grades each
// check: ok, FAIL with what the client saw, n/a with why, or limit, a
// limitation the model's package documents.
//
// The server is one of iolab's models, a command the check starts (a
// student's server, in any language), or an address where one already
// runs. Each check is judged first from what a client can see (an
// answer, a close and when it came, a bystander served meanwhile) and,
// where the check runs the process, from /proc (threads, descriptors
// and memory before and after: leaks). For iolab's own models the
// events of their log add evidence (why each connection closed). A check
// that needs what a server does not offer (its process, a setting only
// iolab's models take, a protocol it does not speak) is not applicable
// to it, and says why: never a pass.
//
// iolab check runs it on the command line; make reliability runs it over
// every model at full size, and go test over every model in its quick
// form.
package check

import (
	"fmt"
	"time"

	"iolab/models"
)

// patience bounds every wait on a server. Nothing waits this long unless
// the server is broken; then the check fails instead of hanging.
const patience = 10 * time.Second

// Margins for a busy 2-core machine, where the check shares the CPUs
// with the load it makes and, under go test, with other tests.
const (
	// slack is how late a timeout may fire and still count as on time:
	// the server's timer, a tick of gnet's sweep (up to a second), and a
	// scheduler that is busy elsewhere.
	slack = 2 * time.Second
	// threadMargin is how many more threads than before a scenario a
	// server process may keep after it (a server of several processes,
	// each its own Go runtime, that many times). The Go runtime never
	// ends an idle thread: one it started to run goroutines while others
	// were blocked in system calls (close, accept, a write of the log)
	// stays parked for good. 10,000 clients of the goroutine model leave
	// about 9; a model that kept a thread per connection would keep
	// thousands.
	threadMargin = 16
	// threadShare: a server may also keep one thread in threadShare of
	// those it grew by during the scenario. After 10,000 threads of the
	// threads model, the Go runtime keeps a few dozen idle threads
	// parked, more when the machine was busy while they ended; a thread
	// kept per client would be thousands.
	threadShare = 50
	// foreignThreads is threadMargin for a server other than iolab's,
	// whose threads the check knows nothing of: a pool that grows to its
	// size and keeps its threads for later (Python's ThreadPoolExecutor)
	// is not a leak; a thread per client kept is, and the scenarios have
	// hundreds of clients at least.
	foreignThreads = 128
	// rssMargin is how much more resident memory than before a scenario
	// a server may keep after it, once it has collected its garbage and
	// returned the free pages (server.settle), or half of what it grew by
	// during the scenario if that is more: the runtime keeps structures
	// that grow with the peak (after 10,000 threads of the threads model,
	// about a fifth of the growth), where a leak keeps nearly all of it.
	rssMargin = 24 << 20
	// rssPerProcess is what each further process of a server's tree
	// (prefork's workers, reuseport's loops) may keep besides: settle
	// reaches only the parent, and a worker's Go runtime holds the garbage
	// of its last clients until its next collection, which an idle worker
	// does not run. 16 workers after 10,000 clients kept 29 MiB more in
	// all; a leak per connection would keep more with every client.
	rssPerProcess = 4 << 20
	// spinTicks is the most CPU, in clock ticks, a server may use in
	// spinWindow while it can accept no one: paced retries cost nearly
	// nothing, a spin the whole window.
	spinTicks  = 15
	spinWindow = 500 * time.Millisecond
	// maxProcesses bounds the worker processes of prefork, and so the
	// memory a scenario takes: 256 processes are some 3 GiB. It is the
	// fork model's default cap on its children too.
	maxProcesses = 256
)

// Form is the size of one run of the battery.
type Form struct {
	Name string
	// Parallel runs the models side by side when several are checked.
	// The full form runs them one after the other: five times 10,000
	// clients would not fit in one process's 20,000 files.
	Parallel bool
	// timeout is the -request-timeout and -idle-timeout iolab's models
	// get in the scenarios about time.
	timeout time.Duration
	// storm is how many clients connect and reset at once.
	storm int
	// loris and idlers are how many slowloris and idle clients hold a
	// connection at once.
	loris, idlers int
	// neverReads is how much the client that never reads tries to send.
	neverReads int
	// overLong is the length of the line that never ends.
	overLong int
	// fuzzClients send fuzzBytes of random lines each.
	fuzzClients, fuzzBytes int
	// floodLimit is the -max-conns of the flood.
	floodLimit int
	// rstMid connections are reset, one after the other, while rstMidBytes
	// of answers are coming back.
	rstMid, rstMidBytes int
	// halfClose bytes are sent before the FIN, halfCloseReps times.
	halfClose, halfCloseReps int
	// mice is how long the 100 small clients run beside the elephant.
	mice time.Duration
	// finSegs connections send their line and FIN in one segment.
	finSegs int
	// loadClients drive the signal storm's and the shutdown's load, the
	// storm for stormFor.
	loadClients int
	stormFor    time.Duration
	// listen1 clients connect at once to a server with a backlog of 1.
	listen1 int
	// clients is the number of concurrent clients, measured for
	// clientsFor after a warm-up of clientsWarm.
	clients                 int
	clientsFor, clientsWarm time.Duration
	// poolWorkers is the -workers of the models with a pool (pool,
	// prefork) in every scenario but the 10,000 clients: enough for each
	// scenario's clients to be served at once, as by the other models.
	// The 10,000 clients meet the model's default pool instead.
	poolWorkers int
}

// Quick is iolab check -quick and what go test runs: about a minute a
// server, timeouts of a second.
var Quick = Form{
	Name:     "quick",
	Parallel: true,
	timeout:  time.Second,
	storm:    300,
	loris:    4, idlers: 10,
	neverReads:  64 << 20,
	overLong:    1 << 20,
	fuzzClients: 2, fuzzBytes: 1 << 20,
	floodLimit: 8,
	rstMid:     5, rstMidBytes: 1 << 20,
	halfClose: 16 << 20, halfCloseReps: 1,
	mice:        2 * time.Second,
	finSegs:     50,
	loadClients: 20, stormFor: time.Second,
	listen1: 100,
	clients: 500, clientsFor: time.Second, clientsWarm: time.Second,
	poolWorkers: 128,
}

// Full is iolab check's default and make reliability: the battery at
// full size, 10,000 clients and tens of megabytes.
var Full = Form{
	Name:    "full",
	timeout: 2 * time.Second,
	storm:   3000,
	loris:   50, idlers: 1000,
	neverReads:  256 << 20,
	overLong:    16 << 20,
	fuzzClients: 8, fuzzBytes: 16 << 20,
	floodLimit: 64,
	rstMid:     50, rstMidBytes: 8 << 20,
	halfClose: 64 << 20, halfCloseReps: 3,
	mice:        5 * time.Second,
	finSegs:     1000,
	loadClients: 200, stormFor: 5 * time.Second,
	listen1: 1000,
	clients: 10000, clientsFor: 5 * time.Second, clientsWarm: 2 * time.Second,
	poolWorkers: 1100,
}

// Target is the server under check: one of Model, Command or only Addr.
type Target struct {
	// Model is one of Models, or the zero Model.
	Model models.Model
	// Command is a server's command line, run by /bin/sh with $PORT set
	// to Addr's port; it must listen at Addr.
	Command string
	// Addr is where Command listens, or a server already runs.
	Addr string
	// Proto is what Command or Addr speaks: models.Greeting or
	// models.Echo. Detect finds it out.
	Proto models.Proto
	// Timeout is the longest Command or Addr may hold a client that
	// sends nothing, or an unfinished line, or does not read: what it
	// promises, as an iolab model's -idle-timeout and -request-timeout.
	Timeout time.Duration
	// MaxLine, if not zero, is the longest line Command or Addr takes;
	// the random lines the fuzzed input sends are no longer than it (or
	// than defaultMaxLine).
	MaxLine int
	// Grace is how long Command may take to exit after SIGTERM.
	Grace time.Duration
	// Self is the command line that runs this program as a model's
	// server (ServeChild): iolab itself, or a test binary.
	Self []string

	greeting []byte  // what a greeting server said first (Detect)
	started  *server // the command, started by Detect
	detected string  // what Detect could not tell, for the report
}

// defaultMaxLine is the longest random line sent to a server whose limit
// is not known: iolab's models take 64 KiB by default, and a server that
// reads lines at all takes a line of 4 KiB.
const defaultMaxLine = 4096

// model reports whether the target is one of iolab's models.
func (t *Target) model() bool { return t.Model.Name != "" }

// Name is how the target is named in a table.
func (t *Target) Name() string {
	switch {
	case t.model():
		return t.Model.Name
	case t.Command != "":
		return t.Command
	default:
		return t.Addr
	}
}

// proto is what the target speaks: iolab's models are checked with the
// echo protocol.
func (t *Target) proto() models.Proto {
	if t.model() {
		return models.Echo
	}
	return t.Proto
}

// String describes the target for a table's heading.
func (t *Target) String() string {
	switch {
	case t.model():
		return fmt.Sprintf("iolab's %s model, a server of its own for each check, echo protocol", t.Model.Name)
	case t.Command != "":
		return fmt.Sprintf("the command %q, started by the check, at %s, %s protocol%s, its promised timeout %v", t.Command, t.Addr, t.Proto, t.detectedNote(), t.Timeout)
	default:
		return fmt.Sprintf("the server at %s, judged from the client side alone, %s protocol%s, its promised timeout %v", t.Addr, t.Proto, t.detectedNote(), t.Timeout)
	}
}

// detectedNote is what Detect could not tell, in parentheses, or "".
func (t *Target) detectedNote() string {
	if t.detected == "" {
		return ""
	}
	return " (" + t.detected + ")"
}
