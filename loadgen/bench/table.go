package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"iolab/loadgen"
	"iolab/models"
)

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
			func(r *Measurement) (float64, bool) { return r.Server.SwitchesPerRequest, r.Server.Life.Requests > 0 },
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
// full queue shows in connect (a dropped SYN, retransmitted after 1 s,
// then every second for three more on Linux 6.7+) or in first byte (a dropped final ACK: the client believes it
// is connected, and waits for the server's retransmitted SYN-ACK), and in
// the kernel's counters.
var acceptQueue = Group{"The accept queue (greeting: each request a connection; kernel counters for the whole machine)", []metric{
	{"answered", "requests answered in the measured interval (higher is better)", true,
		func(r *Measurement) (float64, bool) { return float64(r.Load.Requests), r.Load.Seconds > 0 },
		func(v float64) string { return loadgen.Rate(v) }, false},
	{"connect-p50", "connect(2) time, p50 (a SYN retransmission adds about 1 s)", false,
		phase(func(l *loadgen.Level) *loadgen.Summary { return l.Connect }, func(s *loadgen.Summary) int64 { return s.P50 }), durFormat, false},
	{"connect-p99", "connect(2) time, p99", false,
		phase(func(l *loadgen.Level) *loadgen.Summary { return l.Connect }, func(s *loadgen.Summary) int64 { return s.P99 }), durFormat, false},
	{"connect-max", "connect(2) time, max", false,
		phase(func(l *loadgen.Level) *loadgen.Summary { return l.Connect }, func(s *loadgen.Summary) int64 { return s.Max }), durFormat, false},
	{"firstbyte-p99", "time from connected to the greeting's first byte, p99 (a dropped final ACK adds about 1 s here)", false,
		phase(func(l *loadgen.Level) *loadgen.Summary { return l.FirstByte }, func(s *loadgen.Summary) int64 { return s.P99 }), durFormat, false},
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

// phase reads a percentile of one of the greeting's phases, if measured.
func phase(get func(*loadgen.Level) *loadgen.Summary, pct func(*loadgen.Summary) int64) func(*Measurement) (float64, bool) {
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

// Table is one metric of one scenario: models as rows, levels as columns.
type Table struct {
	Title   string
	Key     string
	Clients []int
	Models  []string
	Cells   [][]string // [model][level]
	Verdict string
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

// Tables returns the tables of s, group by group.
func Tables(s *ScenarioResult) [][]Table {
	var out [][]Table
	for _, g := range s.Groups() {
		var ts []Table
		for _, m := range g.metrics {
			ts = append(ts, s.table(m))
		}
		out = append(out, ts)
	}
	return out
}

// rows returns the rows of a table of m: every series, or for a relative
// metric the container series only.
func (s *ScenarioResult) rows(m metric) []string {
	if !m.relative {
		return s.Models
	}
	var rows []string
	for _, series := range s.Models {
		for _, r := range s.Runs {
			if r.Series == series && r.Env != Native {
				rows = append(rows, series)
				break
			}
		}
	}
	return rows
}

func (s *ScenarioResult) table(m metric) Table {
	t := Table{Title: m.title, Key: m.key, Clients: s.Clients, Models: s.rows(m)}
	for _, model := range t.Models {
		var row []string
		for _, n := range s.Clients {
			run := s.run(model, n)
			switch v, ok := s.value(m, model, n); {
			case run == nil:
				row = append(row, "")
			case run.Unavailable != "":
				row = append(row, "n/a")
			case run.Error != "" && !ok:
				row = append(row, "fail")
			case !ok:
				row = append(row, "-")
			default:
				row = append(row, m.format(v))
			}
		}
		t.Cells = append(t.Cells, row)
	}
	t.Verdict = s.verdict(m)
	return t
}

// value is metric m of a series at n clients, if measured.
func (s *ScenarioResult) value(m metric, series string, n int) (float64, bool) {
	run := s.run(series, n)
	if run == nil {
		return 0, false
	}
	v, ok := m.value(run)
	if !m.relative || !ok {
		return v, ok
	}
	native := s.find(run.Model, Native, n)
	if native == nil {
		return 0, false
	}
	base, ok := m.value(native)
	if !ok || base == 0 {
		return 0, false
	}
	return v / base, true
}

// verdict names the models with the highest and the lowest value at the
// largest level that at least two models completed. It says only what
// the table shows: which value is highest and which lowest, and if they
// are within 5% it says so instead of naming a winner.
func (s *ScenarioResult) verdict(m metric) string {
	switch {
	case m.key == "errors" && s.allEqual(m, 0):
		return "No failed requests at any level."
	case m.key == "procs" && s.allEqual(m, 1):
		return "Every model is one process at every level."
	case (m.key == "overflows" || m.key == "drops") && s.allEqual(m, 0):
		return "The kernel counted none: no handshake found the accept queue full."
	}
	for i := len(s.Clients) - 1; i >= 0; i-- {
		n := s.Clients[i]
		type mv struct {
			model string
			v     float64
		}
		var vals []mv
		for _, model := range s.rows(m) {
			if v, ok := s.value(m, model, n); ok {
				vals = append(vals, mv{model, v})
			}
		}
		if len(vals) < 2 {
			continue
		}
		sort.SliceStable(vals, func(a, b int) bool { return vals[a].v > vals[b].v })
		hi, lo := vals[0].v, vals[len(vals)-1].v
		names := func(target float64) string {
			var ns []string
			for _, x := range vals {
				if x.v == target {
					ns = append(ns, x.model)
				}
			}
			return strings.Join(ns, ", ")
		}
		if hi == lo || (lo > 0 && (hi-lo)/lo < 0.05) {
			return fmt.Sprintf("At %d clients every model is within 5%% of the others (%s to %s).", n, m.format(lo), m.format(hi))
		}
		// Best first, in plain words: "highest" and "lowest" are what the
		// table shows; which one is better the title says.
		first, second, w1, w2 := hi, lo, "highest", "lowest"
		if !m.higher {
			first, second, w1, w2 = lo, hi, "lowest", "highest"
		}
		ratio := ""
		if lo > 0 {
			ratio = fmt.Sprintf("; a factor of %s", strconv.FormatFloat(hi/lo, 'g', 3, 64))
		}
		return fmt.Sprintf("At %d clients: %s %s (%s), %s %s (%s)%s.%s%s",
			n, w1, names(first), m.format(first), w2, names(second), m.format(second), ratio,
			s.failedCaveat(m, n, vals[0].model, vals[len(vals)-1].model), s.spotlight(m, n))
	}
	return "Not enough runs to compare."
}

// spotlight quotes, for a latency, the scenario's Spotlight models side
// by side at n clients, whatever their rank.
func (s *ScenarioResult) spotlight(m metric, n int) string {
	if m.key != "p50" && m.key != "p99" || len(s.Spotlight) == 0 {
		return ""
	}
	var parts []string
	for _, model := range s.Spotlight {
		for _, series := range s.rows(m) {
			if run := s.run(series, n); run != nil && run.Model == model {
				if v, ok := s.value(m, series, n); ok {
					parts = append(parts, series+" "+m.format(v))
				}
			}
		}
	}
	if len(parts) < 2 {
		return ""
	}
	return fmt.Sprintf(" Side by side: %s.", strings.Join(parts, ", "))
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

// SyscallsTable returns, at the largest level where system calls were
// counted, each row's calls per request by name: the calls some row made
// at least once per hundred requests, in syscallNames' order. Its Clients
// are unused; Calls names the columns.
func (s *ScenarioResult) SyscallsTable() (t Table, calls []string, ok bool) {
	for i := len(s.Clients) - 1; i >= 0 && !ok; i-- {
		n := s.Clients[i]
		for _, series := range s.Models {
			if r := s.run(series, n); r != nil && r.Syscalls != nil && r.Load.Requests > 0 {
				ok = true
				t.Clients = []int{n}
			}
		}
	}
	if !ok {
		return t, nil, false
	}
	n := t.Clients[0]
	for _, name := range syscallNames {
		for _, series := range s.Models {
			if r := s.run(series, n); r != nil && r.Syscalls != nil && r.Load.Requests > 0 &&
				float64(r.Syscalls.ByName[name])/float64(r.Load.Requests) >= 0.01 {
				calls = append(calls, name)
				break
			}
		}
	}
	t.Title = fmt.Sprintf("system calls per request by name, at %d clients (perf stat; the calls some row made at least once per 100 requests)", n)
	t.Key = "syscalls-by-name"
	for _, series := range s.Models {
		r := s.run(series, n)
		if r == nil || r.Syscalls == nil || r.Load.Requests == 0 {
			continue
		}
		row := []string{twoDecimals(float64(r.Syscalls.Total) / float64(r.Load.Requests))}
		for _, name := range calls {
			row = append(row, twoDecimals(float64(r.Syscalls.ByName[name])/float64(r.Load.Requests)))
		}
		t.Models = append(t.Models, series)
		t.Cells = append(t.Cells, row)
	}
	t.Verdict = "Read down a column: which model makes which call, and how often, for the same request."
	return t, append([]string{"all"}, calls...), true
}

// ErrorKindsTable returns the failed requests of each row and level by
// kind (loadgen's error kinds), if any request failed in s.
func (s *ScenarioResult) ErrorKindsTable() (Table, bool) {
	t := Table{Title: "failed requests by kind (connect_timeout: no SYN-ACK in time; read_timeout: connected, no answer in time)",
		Key: "error-kinds", Clients: s.Clients, Models: s.Models}
	failed := false
	for _, series := range s.Models {
		var row []string
		for _, n := range s.Clients {
			run := s.run(series, n)
			switch {
			case run == nil || run.Error != "" || run.Unavailable != "":
				row = append(row, "-")
				continue
			case run.Load.ErrorsTotal == 0:
				row = append(row, "0")
				continue
			}
			failed = true
			var kinds []string
			for _, k := range loadgen.ErrKinds() {
				if c := run.Load.Errors[k.String()]; c > 0 {
					kinds = append(kinds, fmt.Sprintf("%s=%d", k, c))
				}
			}
			row = append(row, strings.Join(kinds, " "))
		}
		t.Cells = append(t.Cells, row)
	}
	t.Verdict = "Each failure counted once, by the phase in which it failed."
	return t, failed
}

// LoopsTable returns the connections each event loop accepted, for the
// models of several loops in s (reuseport), and whether there are any.
// Each cell lists the loops' counts over the server's whole life (the
// warm-up, and the bench's one check connection, included); the verdict
// names the most uneven spread.
func (s *ScenarioResult) LoopsTable() (Table, bool) {
	t := Table{Title: "connections accepted per event loop (over the server's life: how evenly the kernel's hash spread them)",
		Key: "loops", Clients: s.Clients}
	worst, worstAt, worstShare, worstLoops := "", 0, 0.0, 0
	for _, series := range s.Models {
		var row []string
		several := false
		for _, n := range s.Clients {
			run := s.run(series, n)
			if run == nil || len(run.Loops) == 0 {
				row = append(row, "-")
				continue
			}
			several = several || len(run.Loops) > 1
			counts := make([]string, len(run.Loops))
			var total, busiest int64
			for i, c := range run.Loops {
				counts[i] = strconv.FormatInt(c, 10)
				total += c
				busiest = max(busiest, c)
			}
			row = append(row, strings.Join(counts, " / "))
			if share := float64(busiest) / float64(total); len(run.Loops) > 1 && total > 0 && share > worstShare {
				worst, worstAt, worstShare, worstLoops = series, n, share, len(run.Loops)
			}
		}
		if several {
			t.Models = append(t.Models, series)
			t.Cells = append(t.Cells, row)
		}
	}
	if len(t.Models) == 0 {
		return t, false
	}
	t.Verdict = "Every loop accepted the same number."
	if worst != "" && worstShare > 1/float64(worstLoops) {
		t.Verdict = fmt.Sprintf("Most uneven: %s at %d clients, whose busiest loop accepted %.0f%% of the connections, against %.0f%% for an even spread.",
			worst, worstAt, 100*worstShare, 100/float64(worstLoops))
	}
	return t, true
}

// failedCaveat warns, for a latency, that a model's failed requests are
// not in its percentiles: a server that answers one client and times out
// the rest has a fine p99 of the one it answered.
func (s *ScenarioResult) failedCaveat(m metric, n int, models ...string) string {
	if m.key != "p50" && m.key != "p99" {
		return ""
	}
	out := ""
	seen := map[string]bool{}
	for _, model := range models {
		run := s.run(model, n)
		if seen[model] || run == nil || run.Load.ErrorsTotal == 0 {
			continue
		}
		seen[model] = true
		out += fmt.Sprintf(" %s also failed %d requests, which no latency includes.", model, run.Load.ErrorsTotal)
	}
	return out
}

// allEqual reports whether m was measured at least once and was want
// every time.
func (s *ScenarioResult) allEqual(m metric, want float64) bool {
	measured := false
	for _, model := range s.rows(m) {
		for _, n := range s.Clients {
			v, ok := s.value(m, model, n)
			if ok && v != want {
				return false
			}
			measured = measured || ok
		}
	}
	return measured
}

// WriteText writes every scenario's tables for a terminal.
func WriteText(w io.Writer, r *Results) error {
	fmt.Fprintf(w, "Machine: %s\n", r.describe())
	if r.SyscallsSkipped != "" {
		fmt.Fprintf(w, "System calls: not counted: %s\n", r.SyscallsSkipped)
	}
	if flag, reported := r.workers(); flag != "" || reported != "" {
		fmt.Fprintf(w, "Workers: %s\n", workersText(flag, reported, false))
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		fmt.Fprintf(w, "\n=== %s: %s, work %s ===\n%s\n", s.Name, s.Proto, s.Work, s.About)
		for _, line := range s.headerLines(r) {
			fmt.Fprintln(w, line)
		}
		gs := s.Groups()
		for gi, ts := range Tables(s) {
			fmt.Fprintf(w, "\n-- %s --\n", gs[gi].Title)
			for _, t := range ts {
				if err := textTable(w, t); err != nil {
					return err
				}
			}
		}
		if t, calls, ok := s.SyscallsTable(); ok {
			if err := textTableCols(w, t, "calls", calls); err != nil {
				return err
			}
		}
		for _, extra := range []func() (Table, bool){s.ErrorKindsTable, s.LoopsTable} {
			if t, ok := extra(); ok {
				if err := textTable(w, t); err != nil {
					return err
				}
			}
		}
		if notes := s.notes(); len(notes) > 0 {
			fmt.Fprintln(w)
			for _, n := range notes {
				fmt.Fprintln(w, "note: "+n)
			}
		}
	}
	return nil
}

// textTable writes t for a terminal, with its verdict.
func textTable(w io.Writer, t Table) error {
	return textTableCols(w, t, "clients", levelLabels(t.Clients))
}

// textTableCols writes t for a terminal with the given column labels.
func textTableCols(w io.Writer, t Table, corner string, cols []string) error {
	fmt.Fprintf(w, "\n%s\n", t.Title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t%s\t\n", corner, strings.Join(cols, "\t"))
	for mi, model := range t.Models {
		fmt.Fprintf(tw, "%s\t%s\t\n", model, strings.Join(t.Cells[mi], "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "→ %s\n", t.Verdict)
	return nil
}

// headerLines say what differs in this scenario from the bench's header:
// where its servers ran, and its longer timeout.
func (s *ScenarioResult) headerLines(r *Results) []string {
	var out []string
	if len(s.ServerCPUs) > 0 {
		out = append(out, fmt.Sprintf("The servers ran on every CPU (%s), the load generator's (%s) among them: they compete for CPU %s.",
			joinInts(s.ServerCPUs), joinInts(r.Pinning.LoadCPUs), joinInts(r.Pinning.LoadCPUs)))
	}
	if s.counted() {
		out = append(out, "System calls were counted (perf stat on the syscall tracepoints) throughout: counting slows every call, "+
			"so this scenario's throughput and latency are not a clean run's; compare them with a run without -syscalls.")
	}
	if s.Timeout != "" {
		out = append(out, fmt.Sprintf("Each request phase is bounded by %s here (the bench's %s), long enough to see a SYN retransmitted (after 1 s, then 1 s apart on Linux 6.7+).",
			s.Timeout, r.Timeout))
	}
	return out
}

// notes lists what a reader must know to trust the tables: failed runs,
// client-bound levels, and error kinds.
func (s *ScenarioResult) notes() []string {
	var out []string
	for _, e := range s.Externals {
		out = append(out, fmt.Sprintf("%s is not a model: `%s` (iolab bench -server); its CPU and context switches per request are its own and "+
			"its reaped children's (wait4), over the requests iolab load counted", e.Name, e.Command))
	}
	unavailable := map[string]bool{} // said once per series
	for _, run := range s.Runs {
		switch {
		case run.Unavailable != "":
			if !unavailable[run.Series] {
				unavailable[run.Series] = true
				out = append(out, fmt.Sprintf("%s is unavailable here (n/a in the tables): %s", run.Series, run.Unavailable))
			}
		case run.Error != "":
			out = append(out, fmt.Sprintf("%s at %d clients failed: %s", run.Series, run.Clients, run.Error))
		case run.External && run.Load.Requests == 0 && run.Load.ErrorsTotal > 0:
			out = append(out, fmt.Sprintf("%s answered no request correctly at %d clients: does it speak %s?", run.Series, run.Clients, s.Proto))
		case run.Load.ClientBound:
			out = append(out, fmt.Sprintf("%s at %d clients was client-bound: the load generator used %.0f%% of its CPU; the server may be faster than shown",
				run.Series, run.Clients, run.Load.ClientCPU.Percent))
		}
		if run.Load.ErrorsTotal > 0 {
			var kinds []string
			for _, k := range loadgen.ErrKinds() {
				if c := run.Load.Errors[k.String()]; c > 0 {
					kinds = append(kinds, fmt.Sprintf("%s=%d", k, c))
				}
			}
			out = append(out, fmt.Sprintf("%s at %d clients: errors %s", run.Series, run.Clients, strings.Join(kinds, " ")))
		}
	}
	return out
}

// mdTableCols renders t as a Markdown table with the given column labels.
func mdTableCols(w io.Writer, t Table, corner string, cols []string) {
	fmt.Fprintf(w, "**%s**\n\n| %s |", t.Title, corner)
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", c)
	}
	fmt.Fprint(w, "\n|---|")
	for range cols {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for mi, model := range t.Models {
		fmt.Fprintf(w, "| %s | %s |\n", model, strings.Join(t.Cells[mi], " | "))
	}
	fmt.Fprintf(w, "\n%s\n\n", t.Verdict)
}

func levelLabels(clients []int) []string {
	out := make([]string, len(clients))
	for i, n := range clients {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// finite guards plots against NaN and Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
