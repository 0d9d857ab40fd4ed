package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"iolab/models"
)

// The scenario catalogue: each named workload the bench can run (a
// protocol, the work per request, the client levels, and what the
// scenario needs of the servers and the load generator), in the order
// they run, and the lists `make bench` and "all" run.

// Scenario is a named workload: a protocol, the work per request, and the
// client levels to run it at.
type Scenario struct {
	Name    string
	Proto   models.Proto
	Work    models.Work
	Clients []int
	// About says in a sentence what the scenario shows.
	About string
	// AllCPUs lets the server use every CPU, the load generator's among
	// them, instead of the server's own: for the models that spread over
	// cores.
	AllCPUs bool
	// Models are the models the scenario runs when the bench is given
	// none (Config.Models empty); nil means every model.
	Models []string
	// Spotlight names models whose p50 and p99 the latency verdicts quote
	// side by side, at the largest level, whatever the ranking.
	Spotlight []string
	// Backlogs, if set, runs each model once per listen(2) backlog (0:
	// the system's default), each a row of its own.
	Backlogs []int
	// Timeout, if longer than the bench's, bounds each request phase
	// instead: long enough to see a SYN retransmitted (1 s apart, the first
	// tcp_syn_linear_timeouts + 1 times on Linux 6.5+; then doubling).
	Timeout time.Duration
	// Explicit scenarios run only when named, not with "all": c100k
	// takes minutes and most of the machine's memory.
	Explicit bool
	// Every, if positive, makes the load open loop: each client sends a
	// request this often (a total rate that grows with the clients).
	Every time.Duration
	// Warmup, if longer than the bench's, is each level's warm-up
	// instead: long enough for every client to connect.
	Warmup time.Duration
	// PerLoadProcess, if positive, runs the load in one `iolab load`
	// process per this many clients (loadgen.RunProcs), each under its
	// own limit of open files, their results merged exactly.
	PerLoadProcess int
	// ConnectIn, if set, spreads the clients' first connections over this
	// much of the warm-up (iolab load -connect-rate clients ÷ ConnectIn)
	// rather than all at once, which would overflow the accept queues.
	ConnectIn time.Duration
	// Sources are the local addresses the clients bind to (iolab load
	// -source), past the ephemeral ports of one.
	Sources string
	// Serve adds flags to a model's server, by model: what it needs to
	// hold this scenario's load, where it can.
	Serve map[string][]string
	// Held measures the memory each held connection costs: the server's
	// RSS and the kernel's, before the first client and at the end of the
	// measured interval (Measurement.Memory).
	Held bool
	// Heavy, if positive, is the share of echo lines that do Work: the
	// load begins them with Mark (loadgen.Config.Heavy and HeavyMark),
	// the server does its work for the lines that begin with Mark only
	// (models.Config.WorkMark) and answers the others at once, and the
	// tables time the two kinds apart.
	Heavy float64
	Mark  string
}

// Scenarios are the named workloads, in the order they run.
var Scenarios = []Scenario{
	{Name: "seed", Proto: models.Greeting, Clients: []int{1, 2, 5, 10},
		About: "The tutorial as written: each client connects, reads the greeting, and closes."},
	{Name: "io-bound", Proto: models.Echo, Work: models.Work{Kind: models.Sleep, D: 10 * time.Millisecond}, Clients: []int{1, 10, 100, 1000},
		About: "Each echo line waits 10 ms, as for a slow backend: the server's job is to wait for many clients at once."},
	{Name: "cpu-bound", Proto: models.Echo, Work: models.Work{Kind: models.CPU, D: time.Millisecond}, Clients: []int{1, 2, 5, 10},
		About:     "Each echo line costs 1 ms of computation on the server's CPU: more threads cannot make one CPU faster.",
		Spotlight: []string{"threads", "epoll", "workers"}},
	{Name: "throughput", Proto: models.Echo, Clients: []int{1, 10, 100, 1000},
		About: "Echo with no work: how many small requests the server turns around."},
	{Name: "churn", Proto: models.Greeting, Clients: []int{1, 10, 100},
		About: "A new connection per request, at higher concurrency: how fast each model accepts and closes."},
	{Name: "backlog", Proto: models.Greeting, Work: models.Work{Kind: models.CPU, D: time.Millisecond}, Clients: []int{1, 2, 5, 10},
		Models: []string{"sequential"}, Backlogs: []int{1, 5, 0}, Timeout: 5 * time.Second,
		About: "The tutorial's listen(1), measured: the sequential server with 1 ms of work per greeting, at the backlogs of the tutorial's two servers " +
			"(1 and 5) and the system's default. Past the accept queue (backlog + 1 connections), the kernel drops handshakes: " +
			"watch connect and first byte, and the kernel's own counters."},
	{Name: "cores", Proto: models.Echo, Clients: []int{10, 100, 1000}, AllCPUs: true,
		Models: []string{"goroutine", "epoll", "reuseport", "gnet"},
		About: "Echo with no work, the server on every CPU: do event loops spread over cores? The load generator shares the CPUs, " +
			"so compare requests per server CPU-second as well as requests per second."},
	{Name: "mixed", Proto: models.Echo, Work: models.Work{Kind: models.Disk, Size: 64 << 10}, Clients: []int{10, 100},
		Heavy: 0.1, Mark: "!", Spotlight: []string{"epoll", "workers", "uring"},
		About: "Flash's question (Pai et al., 1999): how long does a cheap request wait behind a blocked one? One echo line in ten " +
			"(those that begin with !) reads 64 KiB of a data file, missing the page cache; the others are answered at once. " +
			"The thread that makes the read is blocked in the kernel until the device answers: where that thread is an event loop " +
			"that serves every connection (epoll), the cheap requests wait for it; where other threads serve them (a thread per " +
			"connection, workers' helpers) or the kernel reads meanwhile (uring), they need not. Read the cheap requests' latency " +
			"beside the heavy ones'."},
	{Name: "c100k", Proto: models.Echo, Clients: []int{10000, 100000}, Explicit: true,
		Every: 10 * time.Second, Warmup: 15 * time.Second, ConnectIn: 10 * time.Second, Timeout: 5 * time.Second, PerLoadProcess: 15000,
		Sources: "127.0.0.2-127.0.0.21", Held: true,
		Serve: map[string][]string{"reuseport": {"-procs", "-workers", "7", "-max-conns", "120000"}},
		About: "Kegel's C10K, ten times over: 10,000 then 100,000 echo connections held open at once, mostly idle " +
			"(open loop: each connection sends a line every 10 s, 1,000 lines a second in all at 10,000 and 10,000 at 100,000). " +
			"The clients connect over the first 10 s of the 15 s warm-up (1,000, then 10,000 a second): all at once, they would " +
			"overflow the accept queues, and time out and connect again while the server accepts connections already given up. " +
			"One process may open 20,000 files here, so the load runs in several processes, bound to 20 source addresses " +
			"(127.0.0.2-21, past the ephemeral ports of one), and reuseport runs 7 loop processes (-procs -workers 7). " +
			"A model of one process stops at its open-file limit, and clients past it wait or time out: that is its result. " +
			"Read the memory each connection costs, in the server (RSS) and in the kernel."},
}

// WorkText says what work a request of s does: Work, and for a mixed
// load, on which share of the lines (workText).
func (s Scenario) WorkText() string { return workText(s.Work.String(), s.Heavy) }

// workText says in a few words, short enough for a plot's title, what
// work the requests do: work (a -work value) on every request, or with a
// heavy share on that share of the lines: "disk:64KiB on 10% of lines".
// Which lines those are, the scenario's About says.
func workText(work string, heavy float64) string { return workOn(heavyWorkText, work, heavy) }

// heavyWorkText words a mixed load's work in English; plotText.heavyWork
// in each language of the plots.
const heavyWorkText = "%s on %s%% of lines"

// workOn is workText with the words of a mixed load in format: the work,
// then the share of lines in percent.
func workOn(format, work string, heavy float64) string {
	if heavy <= 0 {
		return work
	}
	return fmt.Sprintf(format, work, strconv.FormatFloat(100*heavy, 'g', 3, 64))
}

// QuickScenarios are what `make bench` runs.
var QuickScenarios = []string{"seed", "io-bound", "cpu-bound"}

// AllScenarios returns the names of the scenarios "all" runs: every one
// but those run only when named (Explicit).
func AllScenarios() []string {
	var out []string
	for _, s := range Scenarios {
		if !s.Explicit {
			out = append(out, s.Name)
		}
	}
	return out
}

// LookupScenario returns the scenario called name.
func LookupScenario(name string) (Scenario, error) {
	var names []string
	for _, s := range Scenarios {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(names, ", "))
}
