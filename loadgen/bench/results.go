package bench

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"iolab/loadgen"
	"iolab/models/proc"
)

// Results is everything a bench measured; results.json holds it whole.
type Results struct {
	// Version is the iolab build that measured (iolab version); RunID a
	// random id of 16 hex digits that names this bench.
	Version  string    `json:"version"`
	RunID    string    `json:"run_id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	Pinning  Pinning   `json:"pinning"`
	Duration string    `json:"duration"`
	Warmup   string    `json:"warmup"`
	Timeout  string    `json:"timeout"`
	Workers  int       `json:"workers"` // -workers passed to every server; 0: none, each model's default
	// LoadEngine is the load generator's engine for echo scenarios, when
	// it is not epoll (-engine).
	LoadEngine string `json:"load_engine,omitempty"`
	// Syscalls is set when each run's system calls were counted
	// (-syscalls); SyscallsSkipped says why they were not, when asked.
	Syscalls        bool             `json:"syscalls,omitempty"`
	SyscallsSkipped string           `json:"syscalls_skipped,omitempty"`
	Scenarios       []ScenarioResult `json:"scenarios"`
	// Pair is a paired comparison (iolab bench -pair), which runs instead
	// of the scenarios.
	Pair *PairResult `json:"pair,omitempty"`
}

// Machine describes where the bench ran.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	OS     string `json:"os"`
}

// Pinning records which CPUs the server and the load generator ran on.
type Pinning struct {
	Pinned     bool  `json:"pinned"`
	ServerCPUs []int `json:"server_cpus,omitempty"`
	LoadCPUs   []int `json:"load_cpus,omitempty"`
}

// ScenarioResult is one scenario over every model and level.
type ScenarioResult struct {
	Name    string `json:"name"`
	About   string `json:"about"`
	Proto   string `json:"proto"`
	Work    string `json:"work"`
	Clients []int  `json:"clients"`
	// Envs are the environments the servers ran in: native, docker-bridge,
	// docker-host, docker-inside.
	Envs []string `json:"envs"`
	// ServerCPUs, if set, are the CPUs this scenario's servers were pinned
	// to instead of the bench's server CPUs: every CPU (Scenario.AllCPUs),
	// shared with the load generator.
	ServerCPUs []int `json:"server_cpus,omitempty"`
	// Spotlight names the models whose p50 and p99 the verdicts quote.
	Spotlight []string `json:"spotlight,omitempty"`
	// Externals are the servers measured beside the models (-server).
	Externals []External `json:"externals,omitempty"`
	// Backlogs are the listen(2) backlogs each model ran at, a row each
	// (0: the system's default); empty for one run at -backlog.
	Backlogs []int `json:"backlogs,omitempty"`
	// Timeout, if set, is this scenario's bound on each request phase,
	// longer than the bench's (Scenario.Timeout).
	Timeout string `json:"timeout,omitempty"`
	// Heavy and Mark are the scenario's mixed load: the share of lines
	// that did Work, those that began with Mark (Scenario.Heavy).
	Heavy float64 `json:"heavy,omitempty"`
	Mark  string  `json:"mark,omitempty"`
	// Models are the table rows: each model, or "model (env)" when more
	// than one environment ran (see Measurement.Series).
	Models []string      `json:"models"`
	Runs   []Measurement `json:"runs"`
}

// Measurement is one model at one level.
type Measurement struct {
	Model   string `json:"model"`
	Env     string `json:"env"`
	Series  string `json:"series"` // the table row: Model, or "Model (Env)"
	Clients int    `json:"clients"`
	Workers int    `json:"workers"` // the pool size the server's start event reported
	// Loops counts the connections each of the server's event loops
	// accepted over its life, from its stop event (reuseport: how evenly
	// the kernel's hash spread them); empty for a model without.
	Loops  []int64       `json:"loops,omitempty"`
	Load   loadgen.Level `json:"load"`
	Server ServerStats   `json:"server"`
	Error  string        `json:"error,omitempty"`
	// Unavailable, if set, is why the model could not serve in this
	// environment (its unavailable event): not a failure of the model.
	Unavailable string `json:"unavailable,omitempty"`
	// Backlog is the -backlog the server was given (0: the system's).
	Backlog int `json:"backlog,omitempty"`
	// External is set for a server that is not a model (iolab bench
	// -server): its row is named after it.
	External bool `json:"external,omitempty"`
	// Kernel is the change in the kernel's TCP counters over the measured
	// interval, for the whole machine (/proc/net/netstat).
	Kernel proc.TCPCounters `json:"kernel"`
	// Syscalls are the server's system calls over the measured interval
	// (-syscalls), nil when not counted.
	Syscalls *Syscalls `json:"syscalls,omitempty"`
	// Sockets is the kernel memory of the server's sockets at the
	// interval's end (ss -tm), nil where ss cannot see them.
	Sockets *SocketMemory `json:"sockets,omitempty"`
	// Memory is, in a scenario that holds many connections (c100k), the
	// memory they cost: read before the first client and at the end of
	// the measured interval.
	Memory *ConnMemory `json:"memory,omitempty"`
	// LimitAt is how many connections the server (or one process of it)
	// had open when it logged max_conns_reached; 0 if it never did.
	LimitAt int `json:"limit_at,omitempty"`
	// DiskMode and DiskReadMicros are, for disk: work, how the server's
	// reads missed the page cache (direct, dropped, cached, pipe) and what
	// one read took as it opened the data file, from its start event.
	DiskMode       string `json:"disk_mode,omitempty"`
	DiskReadMicros int64  `json:"disk_read_us,omitempty"`
}

// ConnMemory is what the connections held cost in memory: the server's
// anonymous RSS (its whole process tree: heap and stacks, not the code
// pages of the binary, which every run touches more of as it goes) and
// the kernel's, before the first client connected and at the end of the
// measured interval, with Load.Held connections open.
type ConnMemory struct {
	RSSBefore    int64             `json:"rss_anon_before_bytes"`
	RSSHeld      int64             `json:"rss_anon_held_bytes"`
	KernelBefore proc.KernelMemory `json:"kernel_before"`
	KernelHeld   proc.KernelMemory `json:"kernel_held"`
}

// UserPerConn is the server's RSS growth per connection held, in bytes.
func (m *ConnMemory) UserPerConn(held int) (float64, bool) {
	if m == nil || held <= 0 {
		return 0, false
	}
	return float64(m.RSSHeld-m.RSSBefore) / float64(held), true
}

// KernelPerConn is the kernel's memory growth per connection held, in
// bytes: slab caches and TCP buffers. Both ends of each connection are on
// this machine (the client's socket too), and so are the load
// generator's own epoll structures: about half of it is the server's.
func (m *ConnMemory) KernelPerConn(held int) (float64, bool) {
	if m == nil || held <= 0 {
		return 0, false
	}
	grown := m.KernelHeld.Slab - m.KernelBefore.Slab + m.KernelHeld.TCPBuffers - m.KernelBefore.TCPBuffers
	return float64(grown) / float64(held), true
}

// Held is how many connections the server held at the end of the
// measured interval: those open at the clients, but never more than the
// server's limit, if it reached it. A server that accepts and closes past
// its limit (gnet) leaves clients that have not yet read the close.
func (r *Measurement) Held() int {
	if r.LimitAt > 0 && r.LimitAt < r.Load.Held {
		return r.LimitAt
	}
	return r.Load.Held
}

// ServerStats is the server's OS footprint over the measured interval:
// the server and every process descended from it (proc.ReadTree).
type ServerStats struct {
	// ProcsPeak and ProcsMean count processes: 1 for a model of one.
	ProcsPeak   int     `json:"procs_peak"`
	ProcsMean   float64 `json:"procs_mean"`
	ThreadsPeak int     `json:"threads_peak"`
	ThreadsMean float64 `json:"threads_mean"`
	RSSPeak     int64   `json:"rss_peak_bytes"`
	RSSMean     float64 `json:"rss_mean_bytes"`
	FDsPeak     int     `json:"fds_peak"`
	FDsMean     float64 `json:"fds_mean"`
	UserSeconds float64 `json:"user_s"`
	SysSeconds  float64 `json:"sys_s"`
	// CPUPercent is user+sys over the interval, in % of one CPU.
	CPUPercent float64 `json:"cpu_percent"`
	// RunQueueWaitNs is how long the server's threads were runnable but
	// not running over the interval, summed (schedstat; a lower bound:
	// threads that exited took theirs with them).
	RunQueueWaitNs int64 `json:"runqueue_wait_ns"`
	// Life is what the server and the children it reaped used over its
	// whole life (start-up, warm-up, measured interval, drain), from
	// getrusage(2) at exit.
	Life Lifetime `json:"lifetime"`
	// CPUPerRequestUs and SwitchesPerRequest divide Life by the requests
	// the server answered: what one request costs the server.
	CPUPerRequestUs    float64  `json:"cpu_us_per_request"`
	SwitchesPerRequest float64  `json:"switches_per_request"`
	Samples            []Sample `json:"samples"`
}

// run returns the run of a series (a table row) at clients, or nil.
func (s *ScenarioResult) run(series string, clients int) *Measurement {
	for i := range s.Runs {
		if s.Runs[i].Series == series && s.Runs[i].Clients == clients {
			return &s.Runs[i]
		}
	}
	return nil
}

// find returns the run of model in env at clients, or nil.
func (s *ScenarioResult) find(model, env string, clients int) *Measurement {
	for i := range s.Runs {
		if r := &s.Runs[i]; r.Model == model && r.Env == env && r.Clients == clients {
			return r
		}
	}
	return nil
}

// workText says what work the requests of s did (workText).
func (s *ScenarioResult) workText() string { return workText(s.Work, s.Heavy) }

// seriesName is a table row's label.
func seriesName(model, env string, envs []string) string {
	if len(envs) == 1 {
		return model
	}
	return model + " (" + env + ")"
}

// ReadMachine describes this machine.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	return m
}

// Write writes results.json, results.csv, report.md, report.html and the
// plots into dir.
func Write(r *Results, dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := writeCSV(r, filepath.Join(dir, "results.csv")); err != nil {
		return err
	}
	plots, err := WritePlots(r, dir)
	if err != nil {
		return err
	}
	var md bytes.Buffer
	WriteReport(&md, r, plots)
	if err := os.WriteFile(filepath.Join(dir, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	var page bytes.Buffer
	if err := WriteHTMLReport(&page, r, plots, dir); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), page.Bytes(), 0o644)
}

// csvHeader names the columns of results.csv.
var csvHeader = []string{"scenario", "proto", "work", "model", "env", "workers", "clients", "seconds", "requests", "req_per_s",
	"p50_us", "p90_us", "p99_us", "p999_us", "max_us", "errors", "client_bound",
	"procs_peak", "threads_peak", "threads_mean", "rss_peak_mib", "rss_mean_mib", "fds_peak",
	"server_user_s", "server_sys_s", "server_cpu_pct", "cpu_us_per_req",
	"life_requests", "life_voluntary_switches", "life_involuntary_switches", "switches_per_req",
	"series", "backlog", "req_per_cpu_s", "runqueue_us_per_req", "syscalls_per_req", "sock_bytes_per_conn", "listen_overflows", "listen_drops",
	"cheap_p50_us", "cheap_p99_us", "heavy_p50_us", "heavy_p99_us", "disk_mode", "disk_read_us",
	"unavailable", "error"}

func writeCSV(r *Results, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write(csvHeader)
	num := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	mib := func(b float64) string { return num(b/(1<<20), 1) }
	// optional is a value the run may not have: empty when it has not.
	type maybe struct {
		v  float64
		ok bool
	}
	optional := func(m maybe, prec int) string {
		if !m.ok {
			return ""
		}
		return num(m.v, prec)
	}
	for _, s := range r.Scenarios {
		for _, run := range s.Runs {
			l, sv := run.Load, run.Server
			perReq := func(v float64) maybe { return maybe{v / float64(l.Requests), l.Requests > 0} }
			efficiency := func(r *Measurement) maybe { v, ok := findMetricValue("efficiency", r); return maybe{v, ok} }
			syscallsPerReq := func(r *Measurement) maybe { v, ok := syscallsMetric.value(r); return maybe{v, ok} }
			sockPerConn := func(r *Measurement) maybe { v, ok := r.Sockets.PerConnection(); return maybe{v, ok} }
			_ = w.Write([]string{s.Name, s.Proto, s.Work, run.Model, run.Env, strconv.Itoa(run.Workers), strconv.Itoa(run.Clients), num(l.Seconds, 3),
				strconv.FormatInt(l.Requests, 10), num(l.Throughput, 1),
				loadgen.Micros(l.Latency.P50), loadgen.Micros(l.Latency.P90), loadgen.Micros(l.Latency.P99),
				loadgen.Micros(l.Latency.P999), loadgen.Micros(l.Latency.Max),
				strconv.FormatInt(l.ErrorsTotal, 10), strconv.FormatBool(l.ClientBound),
				strconv.Itoa(sv.ProcsPeak), strconv.Itoa(sv.ThreadsPeak), num(sv.ThreadsMean, 1), mib(float64(sv.RSSPeak)), mib(sv.RSSMean),
				strconv.Itoa(sv.FDsPeak), num(sv.UserSeconds, 3), num(sv.SysSeconds, 3), num(sv.CPUPercent, 1),
				num(sv.CPUPerRequestUs, 2), strconv.FormatInt(sv.Life.Requests, 10),
				strconv.FormatInt(sv.Life.Voluntary, 10), strconv.FormatInt(sv.Life.Involuntary, 10),
				num(sv.SwitchesPerRequest, 3),
				run.Series, strconv.Itoa(run.Backlog), optional(efficiency(&run), 0), optional(perReq(float64(sv.RunQueueWaitNs)/1e3), 2),
				optional(syscallsPerReq(&run), 2), optional(sockPerConn(&run), 0),
				strconv.FormatInt(run.Kernel.ListenOverflows, 10), strconv.FormatInt(run.Kernel.ListenDrops, 10),
				kindMicros(l.Cheap, false), kindMicros(l.Cheap, true), kindMicros(l.Heavy, false), kindMicros(l.Heavy, true),
				run.DiskMode, optional(maybe{float64(run.DiskReadMicros), run.DiskMode != ""}, 0),
				run.Unavailable, run.Error})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// kindMicros is the p50 (or the p99) of a mixed load's kind of request
// in microseconds, as results.csv writes latencies; empty for a load that
// was not mixed.
func kindMicros(s *loadgen.Summary, p99 bool) string {
	switch {
	case s == nil:
		return ""
	case p99:
		return loadgen.Micros(s.P99)
	}
	return loadgen.Micros(s.P50)
}

// workers returns the -workers every server got ("" for none) and the
// pool sizes the servers reported in their start events, model by model
// ("pool 4, prefork 4"; "" if none reported one).
func (r *Results) workers() (flag, reported string) {
	if r.Workers > 0 {
		flag = "-workers " + strconv.Itoa(r.Workers)
	}
	var models []string
	sizes := map[string][]string{}
	for _, s := range r.Scenarios {
		for _, run := range s.Runs {
			if run.Workers <= 0 {
				continue
			}
			if _, ok := sizes[run.Model]; !ok {
				models = append(models, run.Model)
			}
			if n := strconv.Itoa(run.Workers); !slices.Contains(sizes[run.Model], n) {
				sizes[run.Model] = append(sizes[run.Model], n)
			}
		}
	}
	parts := make([]string, len(models))
	for i, m := range models {
		parts[i] = m + " " + strings.Join(sizes[m], "/")
	}
	return flag, strings.Join(parts, ", ")
}

// workersText says in a phrase what workers returned, with the flag as
// code for Markdown (md).
func workersText(flag, reported string, md bool) string {
	code := func(s string) string {
		if md {
			return "`" + s + "`"
		}
		return s
	}
	s := "each model's default (" + code("-workers") + " not passed)"
	if flag != "" {
		s = code(flag) + " passed to every server"
	}
	if reported != "" {
		s += "; pool sizes as the servers reported them: " + reported
	}
	return s
}

// describe is a one-line account of the machine and the pinning.
func (r *Results) describe() string {
	pin := "not pinned"
	if r.Pinning.Pinned {
		pin = fmt.Sprintf("server on CPU %s, load generator on CPU %s", joinInts(r.Pinning.ServerCPUs), joinInts(r.Pinning.LoadCPUs))
	}
	return fmt.Sprintf("%s, %d cores, %s, %s; %s; each level: %s warm-up, %s measured",
		r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel, r.Machine.Go, pin, r.Warmup, r.Duration)
}
