package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/proc"
)

// A paired comparison (iolab bench -pair A,B). On a shared machine the
// same server under the same load can measure far apart from one minute
// to the next, as the machine's other work comes and goes: two numbers
// from two runs minutes apart compare the minutes as much as the servers.
// So both servers are started once and kept running, pinned to the
// server's CPU (the one not under load waits for clients and costs next
// to nothing), and the load alternates between them, A, B, A, B, a fresh
// set of connections per run. Each pair's ratio, A's requests per second
// over B's, compares two runs a few seconds apart, which the machine's
// other work touches alike; the median of the pairs, their spread and a
// bootstrap interval say how far the ratio can be trusted. A fresh
// server per run would add its start-up to what is compared.
//
// Requests per second rank two servers only where the client can drive
// both past their limit; where it cannot (client-bound runs), both
// answer what one CPU of client sends, and the ratio is near 1 whatever
// the servers are worth. So each run also reads the server's CPU time
// over the measured interval (utime + stime of its process tree), and
// the pairs compare CPU per request too: B's over A's, above 1 where A
// spent less on a request. That ratio still measures the servers when
// the client sets the pace.

// PairResult is a paired comparison: A's requests per second over B's,
// pair by pair, at each level.
type PairResult struct {
	A        string `json:"a"`
	B        string `json:"b"`
	Scenario string `json:"scenario"`
	Proto    string `json:"proto"`
	Work     string `json:"work"`
	// Pairs is how many times each level ran A and B, A first in one pair
	// and B first in the next.
	Pairs int `json:"pairs"`
	// Resamples and Seed are the bootstrap's: the same ratios give the
	// same interval.
	Resamples int         `json:"bootstrap_resamples"`
	Seed      uint64      `json:"bootstrap_seed"`
	Levels    []PairLevel `json:"levels"`
}

// PairLevel is one level of a paired comparison.
type PairLevel struct {
	Clients int `json:"clients"`
	// A and B are the runs, in the order run: A[0], B[0], A[1], B[1]...
	A []PairRun `json:"a"`
	B []PairRun `json:"b"`
	// Ratios are A's requests per second over B's, pair by pair.
	Ratios []float64  `json:"ratios"`
	Ratio  RatioStats `json:"ratio"`
	// Verdict is "no difference" when the interval holds 1, else which
	// server was faster, and by how much.
	Verdict string `json:"verdict"`
	// CPURatios are B's server CPU time per request over A's, pair by
	// pair (above 1: A spent less on a request), for the pairs where both
	// were measured; CPURatio and CPUVerdict judge them as Ratio and
	// Verdict judge the req/s ("cheaper" for "faster").
	CPURatios  []float64  `json:"cpu_ratios,omitempty"`
	CPURatio   RatioStats `json:"cpu_ratio"`
	CPUVerdict string     `json:"cpu_verdict,omitempty"`
	// Error is why the level stopped short, if it did.
	Error string `json:"error,omitempty"`
}

// PairRun is what one run of a pair measured: a level of iolab load,
// in brief.
type PairRun struct {
	Throughput  float64 `json:"req_per_s"`
	P50         int64   `json:"p50_ns"`
	P99         int64   `json:"p99_ns"`
	Errors      int64   `json:"errors"`
	ClientCPU   float64 `json:"client_cpu_percent"`
	ClientBound bool    `json:"client_bound"` // loadgen.Level.ClientBound
	// ServerCPUPerRequest is the server's CPU time (user + system, its
	// whole process tree) over the measured interval, in µs, divided by
	// the requests answered in it; 0 where unknown (too short a run for
	// the kernel's 10 ms ticks, or the server gone).
	ServerCPUPerRequest float64 `json:"server_cpu_us_per_request,omitempty"`
}

// RatioStats summarizes a level's ratios: their median, their range, and
// a bootstrap 95% interval of the median (bootstrapMedian).
type RatioStats struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Low    float64 `json:"ci95_low"`
	High   float64 `json:"ci95_high"`
}

// The bootstrap: the median of the ratios resampled with replacement,
// bootstrapResamples times, from a fixed seed. 10,000 resamples put the
// interval's ends within a fraction of a percent of where more would.
const (
	bootstrapResamples        = 10000
	bootstrapSeed      uint64 = 2026
)

// pairTag names the servers' logs in a paired comparison.
const pairTag = "pair"

// checkPair reports the first thing wrong with a paired comparison in
// cfg, if cfg asks for one.
func (cfg *Config) checkPair() error {
	if len(cfg.Pair) == 0 {
		return nil
	}
	switch {
	case len(cfg.Pair) != 2:
		return fmt.Errorf("-pair wants two servers, A,B; got %d", len(cfg.Pair))
	case cfg.Pair[0] == cfg.Pair[1]:
		return fmt.Errorf("-pair %s,%s compares a server with itself", cfg.Pair[0], cfg.Pair[1])
	case cfg.Pairs < 2:
		return fmt.Errorf("-pairs %d: a spread needs at least 2 pairs", cfg.Pairs)
	case len(cfg.Scenarios) != 1:
		return fmt.Errorf("-pair runs one scenario; got %d", len(cfg.Scenarios))
	case cfg.Scenarios[0].PerLoadProcess > 0:
		return fmt.Errorf("-pair cannot run %s: its load runs in several processes", cfg.Scenarios[0].Name)
	}
	for _, env := range cfg.Envs {
		if env != Native {
			return fmt.Errorf("-pair runs natively only, not in %s", env)
		}
	}
	for _, name := range cfg.Pair {
		if _, ok := cfg.pairEntry(name); !ok {
			return fmt.Errorf("-pair: %q is not a model (%s), %s, or a -server", name, strings.Join(models.Names(), ", "), CServerName)
		}
	}
	return nil
}

// pairEntry returns the row of a server named in -pair: a model, the C
// server, or an external server.
func (cfg *Config) pairEntry(name string) (entry, bool) {
	if name == CServerName {
		return cfg.cServerEntry(), true
	}
	for i := range cfg.Externals {
		if e := &cfg.Externals[i]; e.Name == name {
			return entry{model: name, env: Native, ext: e, series: name}, true
		}
	}
	if _, err := models.Lookup(name); err == nil {
		return entry{model: name, env: Native, backlog: cfg.Backlog, series: name}, true
	}
	return entry{}, false
}

// runPair runs the paired comparison of cfg: both servers started once,
// then at each level A and B in turn, cfg.Pairs times, A first in one pair
// and B first in the next (A, B, B, A, ...), so that whatever favours the
// run that goes first, or second, favours neither side. It returns what it
// measured, also when it stops short: on Ctrl-C, ctx's error.
func (cfg *Config) runPair(ctx context.Context) (*PairResult, error) {
	sc := cfg.apply(cfg.Scenarios[0])
	pr := &PairResult{A: cfg.Pair[0], B: cfg.Pair[1], Scenario: sc.Name, Proto: sc.Proto.String(), Work: sc.WorkText(),
		Pairs: cfg.Pairs, Resamples: bootstrapResamples, Seed: bootstrapSeed}
	a, _ := cfg.pairEntry(pr.A)
	b, _ := cfg.pairEntry(pr.B)
	var servers []*server
	defer func() {
		for _, s := range servers {
			_ = s.halt()
		}
	}()
	for _, e := range []entry{a, b} {
		s, err := cfg.start(ctx, sc, e, pairTag)
		var unavailable *UnavailableError
		if errors.As(err, &unavailable) {
			return pr, fmt.Errorf("cannot compare %s and %s: %s", pr.A, pr.B, unavailable.Reason)
		}
		if err != nil {
			return pr, err
		}
		servers = append(servers, s)
	}
	names := []string{pr.A, pr.B}
	runs, done := 2*cfg.Pairs*len(sc.Clients), 0
	perRun := cfg.Warmup + cfg.Duration + 100*time.Millisecond // connecting and closing, roughly
	for _, n := range sc.Clients {
		lv := PairLevel{Clients: n}
		sides := []*[]PairRun{&lv.A, &lv.B}
		for pair := range cfg.Pairs {
			for _, i := range [2][]int{{0, 1}, {1, 0}}[pair%2] {
				side := sides[i]
				done++
				lcfg := cfg.loadConfig(sc, servers[i].addr, n)
				lcfg.Progress = cfg.progress(pairTag, names[i], n, done, runs, perRun)
				var cpu serverCPU
				lcfg.Mark = func(measuring bool) { cpu.mark(servers[i].pid, measuring) }
				r, err := loadgen.Run(ctx, lcfg)
				if err != nil {
					if ctx.Err() == nil {
						lv.Error = fmt.Sprintf("%s at %d clients: %v", names[i], n, err)
						pr.Levels = append(pr.Levels, lv)
					}
					return pr, err
				}
				*side = append(*side, pairRunOf(&r.Levels[0], cpu.ticks()))
			}
		}
		lv.summarize(pr.A, pr.B)
		pr.Levels = append(pr.Levels, lv)
	}
	return pr, nil
}

// halt stops s, a model's server or an external one, and says whether it
// stopped as asked.
func (s *server) halt() error {
	if s.external {
		_, err := s.stopExternal()
		return err
	}
	_, err := s.stop()
	return err
}

// serverCPU reads a server's CPU time at the two edges of the measured
// interval (loadgen.Config.Mark).
type serverCPU struct {
	start, end int64 // user + system clock ticks of the process tree; -1: unread
	read       bool  // both edges were read
}

// mark reads pid's CPU time at an edge: the start when measuring begins,
// the end when it ends.
func (c *serverCPU) mark(pid int, measuring bool) {
	ps, err := proc.ReadTree(pid)
	if err != nil {
		c.read = false
		return
	}
	if measuring {
		c.start, c.read = ps.UserTicks+ps.SysTicks, true
		return
	}
	c.end = ps.UserTicks + ps.SysTicks
}

// ticks is the CPU time between the edges, or -1 if either was not read.
func (c *serverCPU) ticks() int64 {
	if !c.read || c.end < c.start {
		return -1
	}
	return c.end - c.start
}

// pairRunOf is a run of a pair, from its level of iolab load and the
// server's CPU ticks over its measured interval (-1: unknown).
func pairRunOf(l *loadgen.Level, cpuTicks int64) PairRun {
	r := PairRun{Throughput: l.Throughput, P50: l.Latency.P50, P99: l.Latency.P99, Errors: l.ErrorsTotal,
		ClientCPU: l.ClientCPU.Percent, ClientBound: l.ClientBound}
	if cpuTicks > 0 && l.Requests > 0 {
		r.ServerCPUPerRequest = float64(cpuTicks) / proc.ClockTicks * 1e6 / float64(l.Requests)
	}
	return r
}

// summarize computes the level's ratios, their statistics and its
// verdict. A pair where B answered nothing has no ratio.
func (lv *PairLevel) summarize(a, b string) {
	lv.Ratios = nil
	for i := range min(len(lv.A), len(lv.B)) {
		if lv.B[i].Throughput > 0 {
			lv.Ratios = append(lv.Ratios, lv.A[i].Throughput/lv.B[i].Throughput)
		}
	}
	if len(lv.Ratios) == 0 {
		lv.Verdict = "no ratio: " + b + " answered nothing"
		return
	}
	lv.Ratio = ratioStats(lv.Ratios)
	lv.Verdict = lv.Ratio.verdict(a, b, "faster")
	lv.CPURatios = nil
	for i := range min(len(lv.A), len(lv.B)) {
		if ca, cb := lv.A[i].ServerCPUPerRequest, lv.B[i].ServerCPUPerRequest; ca > 0 && cb > 0 {
			lv.CPURatios = append(lv.CPURatios, cb/ca)
		}
	}
	if len(lv.CPURatios) > 0 {
		lv.CPURatio = ratioStats(lv.CPURatios)
		lv.CPUVerdict = lv.CPURatio.verdict(a, b, "cheaper")
	}
}

// ratioStats returns the statistics of ratios, which must not be empty.
func ratioStats(ratios []float64) RatioStats {
	st := RatioStats{Median: median(ratios), Min: slices.Min(ratios), Max: slices.Max(ratios)}
	st.Low, st.High = bootstrapMedian(ratios)
	return st
}

// verdict says which of a and b was better (faster, cheaper: better),
// by the median ratio, where the interval leaves out 1; else that the
// pairs show no difference.
func (st RatioStats) verdict(a, b, better string) string {
	switch {
	case st.Low > 1:
		return a + " " + better + " by " + factor(st.Median)
	case st.High < 1:
		return b + " " + better + " by " + factor(1/st.Median)
	}
	return "no difference"
}

// factor formats a ratio as a factor: "1.23×".
func factor(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) + "×" }

// median returns the median of xs, which must not be empty: the middle
// value, or the mean of the two middle ones.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// bootstrapMedian returns a 95% interval of the median of xs, by the
// percentile bootstrap: resample xs with replacement, take each
// resample's median, and keep the 2.5th and 97.5th percentiles of those.
// With few pairs the interval is wide, which is the point: five pairs
// cannot pin a ratio down more closely than their spread.
func bootstrapMedian(xs []float64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(bootstrapSeed, uint64(len(xs))))
	meds := make([]float64, bootstrapResamples)
	sample := make([]float64, len(xs))
	for r := range meds {
		for i := range sample {
			sample[i] = xs[rng.IntN(len(xs))]
		}
		meds[r] = median(sample)
	}
	slices.Sort(meds)
	last := float64(len(meds) - 1)
	return meds[int(math.Floor(0.025*last))], meds[int(math.Ceil(0.975*last))]
}

// table returns the comparison as a table, a row per level, and the
// labels of its columns.
func (p *PairResult) table() (Table, []string) {
	cols := []string{p.A + " req/s", p.B + " req/s", p.A + "÷" + p.B, "min–max", "95% interval", "client-bound", "verdict"}
	t := Table{Title: fmt.Sprintf("requests per second, %s ÷ %s: the median of %d pairs, %s first in one pair and %s in the next",
		p.A, p.B, p.Pairs, p.A, p.B), Key: "pair"}
	two := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	for _, lv := range p.Levels {
		t.Clients = append(t.Clients, lv.Clients)
		t.Models = append(t.Models, strconv.Itoa(lv.Clients))
		row := []string{loadgen.Rate(medianRate(lv.A)), loadgen.Rate(medianRate(lv.B)), "-", "-", "-",
			boundRuns(p.sides(lv)), lv.Verdict}
		if len(lv.Ratios) > 0 {
			st := lv.Ratio
			row[2], row[3], row[4] = two(st.Median), two(st.Min)+"–"+two(st.Max), two(st.Low)+"–"+two(st.High)
		}
		if lv.Error != "" {
			row[6] = "fail"
		}
		t.Cells = append(t.Cells, row)
	}
	t.Verdict = fmt.Sprintf("Above 1, %s answered more requests than %s in the same pair. A level names the faster server only where "+
		"the bootstrap 95%% interval of the median ratio leaves out 1; the spread of %d pairs is the noise it is judged against.", p.A, p.B, p.Pairs)
	return t, cols
}

// cpuTable returns the servers' CPU per request, a row per level, and
// the labels of its columns; nil where no level has a CPU ratio.
func (p *PairResult) cpuTable() (*Table, []string) {
	cols := []string{p.A + " µs/req", p.B + " µs/req", p.B + "÷" + p.A, "min–max", "95% interval", "verdict"}
	t := &Table{Title: fmt.Sprintf("server CPU time per request, µs (user+sys, measured interval), and %s's over %s's: the median of the pairs",
		p.B, p.A), Key: "pair-cpu"}
	two := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	any := false
	for _, lv := range p.Levels {
		t.Clients = append(t.Clients, lv.Clients)
		t.Models = append(t.Models, strconv.Itoa(lv.Clients))
		row := []string{two(medianOf(lv.A, cpuPerRequest, false)), two(medianOf(lv.B, cpuPerRequest, false)), "-", "-", "-", "unknown"}
		if len(lv.CPURatios) > 0 {
			any = true
			st := lv.CPURatio
			row[2], row[3], row[4], row[5] = two(st.Median), two(st.Min)+"–"+two(st.Max), two(st.Low)+"–"+two(st.High), lv.CPUVerdict
		}
		t.Cells = append(t.Cells, row)
	}
	if !any {
		return nil, nil
	}
	t.Verdict = fmt.Sprintf("Above 1, %s spent less CPU on a request than %s in the same pair. Where the runs are client-bound, both servers "+
		"answer what the client sends and their req/s say little; the CPU each spent on it still compares them.", p.A, p.B)
	return t, cols
}

// cpuPerRequest is a run's server CPU per request, 0 where unknown.
func cpuPerRequest(r PairRun) float64 { return r.ServerCPUPerRequest }

// medianRate is the median requests per second of runs; 0 for none.
func medianRate(runs []PairRun) float64 {
	return medianOf(runs, func(r PairRun) float64 { return r.Throughput }, true)
}

// medianOf is the median of f over runs, leaving out the runs where it is
// 0 (unknown) unless keepZero; 0 for none.
func medianOf(runs []PairRun, f func(PairRun) float64, keepZero bool) float64 {
	var xs []float64
	for _, r := range runs {
		if v := f(r); v > 0 || keepZero {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0
	}
	return median(xs)
}

// pairSide is one server's runs at a level.
type pairSide struct {
	name string
	runs []PairRun
}

// sides returns the runs of A and of B at lv.
func (p *PairResult) sides(lv PairLevel) []pairSide { return []pairSide{{p.A, lv.A}, {p.B, lv.B}} }

// boundRuns says how many runs of each side were client-bound: "none",
// or "epoll 2/5, c-epoll 5/5".
func boundRuns(sides []pairSide) string {
	var parts []string
	for _, side := range sides {
		bound := 0
		for _, r := range side.runs {
			if r.ClientBound {
				bound++
			}
		}
		if bound > 0 {
			parts = append(parts, fmt.Sprintf("%s %d/%d", side.name, bound, len(side.runs)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// notes says what a reader must know to trust the comparison: client-bound
// runs, failed requests, a level that stopped short.
func (p *PairResult) notes() []string {
	var out []string
	for _, lv := range p.Levels {
		if lv.Error != "" {
			out = append(out, "failed: "+lv.Error)
		}
		if b := boundRuns(p.sides(lv)); b != "none" {
			out = append(out, fmt.Sprintf("at %d clients some runs were client-bound (%s): the load generator used 90%% or more of its CPU, "+
				"so it, not the server, set their pace, and a ratio near 1 there may hide a difference", lv.Clients, b))
		}
		for _, side := range p.sides(lv) {
			var failed int64
			for _, r := range side.runs {
				failed += r.Errors
			}
			if failed > 0 {
				out = append(out, fmt.Sprintf("%s failed %d requests at %d clients, which its req/s leaves out", side.name, failed, lv.Clients))
			}
		}
	}
	return out
}

// report returns the comparison as a report shows it: a heading, what was
// run, the table and its notes.
func (p *PairResult) report() scenarioReport {
	t, cols := p.table()
	tables := []shownTable{{t, "clients", cols}}
	if ct, ccols := p.cpuTable(); ct != nil {
		tables = append(tables, shownTable{*ct, "clients", ccols})
	}
	return scenarioReport{Name: pairTag,
		Heading: fmt.Sprintf("pair: %s ÷ %s, %s: %s, work %s", p.A, p.B, p.Scenario, p.Proto, p.Work),
		About: fmt.Sprintf("Both servers ran throughout, on the server's CPU; at each level the load ran against %s and %s, %d times over, %s first in one pair and %s first in the next (A, B, B, A...), "+
			"a fresh set of connections per run, and each pair's ratio is %s's requests per second over %s's. The machine's other work "+
			"touches two runs a few seconds apart alike, and the ratio cancels it where one run's number cannot.",
			p.A, p.B, p.Pairs, p.A, p.B, p.A, p.B),
		Sections: []section{{"Paired runs", tables}},
		Notes:    p.notes()}
}
