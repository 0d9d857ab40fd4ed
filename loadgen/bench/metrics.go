package bench

import (
	"math"
	"slices"
	"strconv"

	"iolab/loadgen"
	"iolab/models"
)

// The metric catalogue: every headline number a table, plot or report
// shows, grouped as the report prints them, each with its title, which way
// is better, how to read it from a Measurement and how to format it.
// Groups picks the groups a scenario's runs can fill.

// metric is one headline number of a run.
type metric struct {
	key    string // plot and table id
	title  string
	higher bool // a higher value is better
	value  func(*Measurement) (float64, bool)
	format func(float64) string
	// relative metrics divide value by the same model's native run at the
	// same level: the overhead of a container. Their rows are the
	// container runs only.
	relative bool
}

// Group is a set of tables printed together.
type Group struct {
	Title   string
	metrics []metric
}

// groups are the two metric groups of every scenario: what the clients
// saw, and what the server cost the OS.
var groups = []Group{
	{"What the clients saw (iolab load)", []metric{
		{"throughput", "requests per second (higher is better)", true,
			func(r *Measurement) (float64, bool) { return r.Load.Throughput, r.Load.Seconds > 0 },
			func(v float64) string { return loadgen.Rate(v) }, false},
		{"p50", "median latency, p50 (lower is better)", false, latency(func(r *Measurement) int64 { return r.Load.Latency.P50 }),
			func(v float64) string { return loadgen.Dur(int64(v)) }, false},
		{"p99", "tail latency, p99 (lower is better)", false, latency(func(r *Measurement) int64 { return r.Load.Latency.P99 }),
			func(v float64) string { return loadgen.Dur(int64(v)) }, false},
		{"errors", "failed requests (timeouts, resets, wrong replies)", false,
			func(r *Measurement) (float64, bool) { return float64(r.Load.ErrorsTotal), r.Load.Seconds > 0 },
			func(v float64) string { return strconv.FormatInt(int64(v), 10) }, false},
	}},
	{"What the server cost the OS (/proc, and getrusage at exit)", []metric{
		{"procs", "server processes, peak (the server and its descendants)", false,
			func(r *Measurement) (float64, bool) { return float64(r.Server.ProcsPeak), r.Server.ProcsPeak > 0 },
			func(v float64) string { return strconv.FormatInt(int64(v), 10) }, false},
		{"threads", "server OS threads, peak", false,
			func(r *Measurement) (float64, bool) { return float64(r.Server.ThreadsPeak), r.Server.ThreadsPeak > 0 },
			func(v float64) string { return strconv.FormatInt(int64(v), 10) }, false},
		{"rss", "server resident memory (RSS), peak, MiB", false,
			func(r *Measurement) (float64, bool) {
				return float64(r.Server.RSSPeak) / (1 << 20), r.Server.RSSPeak > 0
			},
			func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }, false},
		{"cpu", "server CPU time per request, µs (user+sys)", false,
			func(r *Measurement) (float64, bool) { return r.Server.CPUPerRequestUs, r.Server.CPUPerRequestUs > 0 },
			func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }, false},
		{"switches", "server context switches per request (voluntary+involuntary)", false,
			func(r *Measurement) (float64, bool) {
				return r.Server.SwitchesPerRequest, r.Server.Life.Requests > 0 && !r.Server.Life.SwitchesUnknown
			},
			func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }, false},
		{"cpus", "server CPU use over the measured interval, in CPUs (1.00 = one CPU busy throughout; read it with the next table)", true,
			func(r *Measurement) (float64, bool) { return r.Server.CPUPercent / 100, r.Load.Seconds > 0 },
			func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }, false},
		{"efficiency", "requests per server CPU-second, over the measured interval (higher is better)", true,
			func(r *Measurement) (float64, bool) {
				cpu := r.Server.UserSeconds + r.Server.SysSeconds
				return float64(r.Load.Requests) / cpu, cpu > 0 && r.Load.Requests > 0
			},
			func(v float64) string { return loadgen.Rate(v) }, false},
	}},
}

// acceptQueue is the greeting's own group: each connection is a request,
// so the listening socket's accept queue is on every request's path. A
// full queue shows in connect (a dropped SYN, retransmitted 1 s apart
// five times with net.ipv4.tcp_syn_linear_timeouts at its default of 4,
// Linux 6.5+, then doubling) or in first byte (a dropped final ACK: the client believes it
// is connected, and waits for the server's retransmitted SYN-ACK), and in
// the kernel's counters.
var acceptQueue = Group{"The accept queue (greeting: each request a connection; kernel counters for the whole machine)", []metric{
	{"answered", "requests answered in the measured interval (higher is better)", true,
		func(r *Measurement) (float64, bool) { return float64(r.Load.Requests), r.Load.Seconds > 0 },
		func(v float64) string { return loadgen.Rate(v) }, false},
	{"connect-p50", "connect(2) time, p50 (a SYN retransmission adds about 1 s)", false,
		percentile(connect, p50), durFormat, false},
	{"connect-p99", "connect(2) time, p99", false,
		percentile(connect, p99), durFormat, false},
	{"connect-max", "connect(2) time, max", false,
		percentile(connect, maxOf), durFormat, false},
	{"firstbyte-p99", "time from connected to the greeting's first byte, p99 (a dropped final ACK adds about 1 s here)", false,
		percentile(func(l *loadgen.Level) *loadgen.Summary { return l.FirstByte }, p99), durFormat, false},
	{"overflows", "TcpExtListenOverflows in the interval: SYNs or final ACKs dropped because the accept queue was full (the counter does not say which)", false,
		func(r *Measurement) (float64, bool) { return float64(r.Kernel.ListenOverflows), r.Load.Seconds > 0 },
		func(v float64) string { return strconv.FormatInt(int64(v), 10) }, false},
	{"drops", "TcpExtListenDrops in the interval: handshakes dropped at a listener, overflows included", false,
		func(r *Measurement) (float64, bool) { return float64(r.Kernel.ListenDrops), r.Load.Seconds > 0 },
		func(v float64) string { return strconv.FormatInt(int64(v), 10) }, false},
}}

func durFormat(v float64) string { return loadgen.Dur(int64(v)) }

// perRequest divides a count of the run by the requests it answered.
func perRequest(get func(*Measurement) (float64, bool)) func(*Measurement) (float64, bool) {
	return func(r *Measurement) (float64, bool) {
		v, ok := get(r)
		return v / float64(r.Load.Requests), ok && r.Load.Requests > 0
	}
}

func twoDecimals(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// syscallsMetric is the system calls per request, in the kernel group
// when they were counted (-syscalls).
var syscallsMetric = metric{"syscalls", "system calls per request (perf stat, the server's process tree, the measured interval)", false,
	perRequest(func(r *Measurement) (float64, bool) {
		if r.Syscalls == nil {
			return 0, false
		}
		return float64(r.Syscalls.Total), true
	}), twoDecimals, false}

// kernelGroup is what the kernel says of the server, beyond /proc's
// footprint: where its threads waited, and what its sockets hold.
var kernelGroup = Group{"What the kernel saw (schedstat, getrusage, ss)", []metric{
	{"runqueue", "run-queue wait per request, µs: the server's threads runnable but not running (/proc/*/task/*/schedstat)", false,
		perRequest(func(r *Measurement) (float64, bool) {
			return float64(r.Server.RunQueueWaitNs) / 1e3, r.Load.Seconds > 0
		}),
		twoDecimals, false},
	{"voluntary", "voluntary context switches per request: a thread blocked, waiting for I/O or a lock (getrusage)", false,
		func(r *Measurement) (float64, bool) {
			return float64(r.Server.Life.Voluntary) / float64(r.Server.Life.Requests), r.Server.Life.Requests > 0
		}, twoDecimals, false},
	{"involuntary", "involuntary context switches per request: a thread preempted while it could run (getrusage)", false,
		func(r *Measurement) (float64, bool) {
			return float64(r.Server.Life.Involuntary) / float64(r.Server.Life.Requests), r.Server.Life.Requests > 0
		}, twoDecimals, false},
	{"sockmem", "kernel memory per connection, bytes: the server's connected sockets at the interval's end (ss -tm: receive, queued send, reserved); read it beside RSS", false,
		func(r *Measurement) (float64, bool) { return r.Sockets.PerConnection() },
		func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }, false},
}}

// heldGroup is the group of a scenario that holds many connections at
// once (c100k): how many the server held, how long they took to open, and
// what each cost it and the kernel.
var heldGroup = Group{"Connections held at once, and what each costs (c100k)", []metric{
	{"held", "connections held at the end of the measured interval: open at the clients, and no more than the server's limit if it reached it (higher is better)", true,
		func(r *Measurement) (float64, bool) { return float64(r.Held()), r.Load.Seconds > 0 },
		func(v float64) string { return strconv.FormatInt(int64(v), 10) }, false},
	{"setup", "seconds from the first connect until every client was connected at once (-: never)", false,
		func(r *Measurement) (float64, bool) {
			if r.Load.Setup == nil {
				return 0, false
			}
			return *r.Load.Setup, true
		},
		func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }, false},
	{"limit", "connections open when the server (or one process of it) reached -max-conns (-: never)", false,
		func(r *Measurement) (float64, bool) { return float64(r.LimitAt), r.LimitAt > 0 },
		func(v float64) string { return strconv.FormatInt(int64(v), 10) }, false},
	{"user-per-conn", "server memory per connection held, bytes: its anonymous RSS (heap and stacks; every process) at the interval's end, less the same before the first client, ÷ connections held", false,
		func(r *Measurement) (float64, bool) { return r.Memory.UserPerConn(r.Held()) },
		func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }, false},
	{"kernel-per-conn", "kernel memory per connection, bytes: growth of the slab caches (/proc/meminfo) and TCP buffers (/proc/net/sockstat) ÷ connections held, for both ends of each (the clients are on this machine too); only where every client was held (-: clients left waiting hold kernel memory too)", false,
		func(r *Measurement) (float64, bool) {
			if r.Held() < r.Clients {
				return 0, false
			}
			return r.Memory.KernelPerConn(r.Held())
		},
		func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }, false},
}}

// kindsGroup is the group of a mixed load (Scenario.Heavy): the cheap
// and the heavy requests timed apart. The question is the first table's:
// how long a cheap request waits behind heavy ones.
var kindsGroup = Group{"Cheap and heavy requests apart (only the heavy lines do the work)", []metric{
	{"cheap-p50", "cheap requests' median latency, p50 (lower is better: the wait behind heavy requests)", false,
		percentile(func(l *loadgen.Level) *loadgen.Summary { return l.Cheap }, p50), durFormat, false},
	{"cheap-p99", "cheap requests' tail latency, p99 (lower is better)", false,
		percentile(func(l *loadgen.Level) *loadgen.Summary { return l.Cheap }, p99), durFormat, false},
	{"heavy-p50", "heavy requests' median latency, p50: the work, and the wait for it", false,
		percentile(func(l *loadgen.Level) *loadgen.Summary { return l.Heavy }, p50), durFormat, false},
	{"heavy-p99", "heavy requests' tail latency, p99", false,
		percentile(func(l *loadgen.Level) *loadgen.Summary { return l.Heavy }, p99), durFormat, false},
}}

// latencyKey reports whether the metric called key is a latency of the
// requests answered, which the verdicts warn leaves out the failed ones.
func latencyKey(key string) bool {
	switch key {
	case "p50", "p99", "cheap-p50", "cheap-p99", "heavy-p50", "heavy-p99":
		return true
	}
	return false
}

// connect is the greeting's connect phase of a level; p50, p99 and maxOf
// pick a number of a Summary: the arguments of percentile.
func connect(l *loadgen.Level) *loadgen.Summary { return l.Connect }
func p50(s *loadgen.Summary) int64              { return s.P50 }
func p99(s *loadgen.Summary) int64              { return s.P99 }
func maxOf(s *loadgen.Summary) int64            { return s.Max }

// percentile reads a number of a part of a level's requests, if measured:
// one of a greeting's phases, or one kind of a mixed load's requests.
func percentile(get func(*loadgen.Level) *loadgen.Summary, pct func(*loadgen.Summary) int64) func(*Measurement) (float64, bool) {
	return func(r *Measurement) (float64, bool) {
		s := get(&r.Load)
		if s == nil || s.Count == 0 {
			return 0, false
		}
		return float64(pct(s)), true
	}
}

// overhead compares each container run with the same model native.
var overhead = Group{"Container overhead (each value divided by the same model's native run)", []metric{
	{"overhead-throughput", "requests per second, relative to native (1.00 = no overhead; lower is slower)", true,
		groups[0].metrics[0].value, ratio, true},
	{"overhead-p99", "p99 latency, relative to native (1.00 = no overhead; higher is slower)", false,
		groups[0].metrics[2].value, ratio, true},
}}

func ratio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// latency reads a latency, which exists only if something was answered.
func latency(get func(*Measurement) int64) func(*Measurement) (float64, bool) {
	return func(r *Measurement) (float64, bool) { return float64(get(r)), r.Load.Requests > 0 }
}

// Groups returns the metric groups of s: the overhead group too when it
// ran natively and in a container.
func (s *ScenarioResult) Groups() []Group {
	native, other := false, false
	for _, e := range s.Envs {
		native = native || e == Native
		other = other || e != Native
	}
	out := append([]Group(nil), groups...)
	if s.held() {
		out = slices.Insert(out, 1, heldGroup)
	}
	if s.Heavy > 0 {
		out = slices.Insert(out, 1, kindsGroup)
	}
	kernel := kernelGroup
	if s.counted() {
		kernel.metrics = append([]metric{syscallsMetric}, kernel.metrics...)
	}
	out = append(out, kernel)
	if s.Proto == models.Greeting.String() {
		out = append(out, acceptQueue)
	}
	if native && other {
		out = append(out, overhead)
	}
	return out
}

// held reports whether s measured the memory of connections held.
func (s *ScenarioResult) held() bool {
	for _, r := range s.Runs {
		if r.Memory != nil {
			return true
		}
	}
	return false
}

// counted reports whether some run of s counted its system calls.
func (s *ScenarioResult) counted() bool {
	for _, r := range s.Runs {
		if r.Syscalls != nil {
			return true
		}
	}
	return false
}

// findMetricValue is metric key's value for r, if it has one.
func findMetricValue(key string, r *Measurement) (float64, bool) {
	m, ok := findMetric(key)
	if !ok {
		return 0, false
	}
	return m.value(r)
}

// findMetric returns the metric called key, of any group.
func findMetric(key string) (metric, bool) {
	all := append(append([]Group(nil), groups...), kernelGroup, acceptQueue, kindsGroup, Group{metrics: []metric{syscallsMetric}})
	for _, g := range all {
		for _, m := range g.metrics {
			if m.key == key {
				return m, true
			}
		}
	}
	return metric{}, false
}

// finite guards plots against NaN and Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
