package bench

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"iolab/loadgen"
)

// Verdicts and caveats: what a reader may conclude from a scenario's
// tables, and what they must know to trust them. A verdict says only what
// its table shows; a caveat says where the table is not the whole story
// (failed requests that no latency includes, a client-bound level, a run
// that failed). The text and the reports print the same words.

// noiseBand is how far apart two runs of the same cell measure on this
// project's machine, as a fraction: notes/results.md ("How big is the
// noise?") ran the same models, scenario and levels twice, minutes apart,
// and found them 11 to 16% apart. A verdict takes the larger as the noise
// of every table, and names no model whose value lies within it of the
// next.
const noiseBand = 0.16

// beyondNoise reports whether a and b differ by more than noiseBand of
// the smaller; from zero, any difference does (a count of failures, say).
func beyondNoise(a, b float64) bool {
	lo, hi := min(a, b), max(a, b)
	if lo <= 0 {
		return hi > lo
	}
	return (hi-lo)/lo > noiseBand
}

// verdict names the models with the highest and the lowest value at the
// largest level that at least two models completed. It says only what
// the table shows: it names the highest only where it stands beyond the
// noise band from the next value down, and the lowest only where it
// stands beyond it from the next value up, and says so where neither
// does.
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
		// The next value down from the highest, and up from the lowest.
		below, above := lo, hi
		for _, x := range vals {
			if x.v < hi {
				below = max(below, x.v)
			}
			if x.v > lo {
				above = min(above, x.v)
			}
		}
		band := strconv.Itoa(int(math.Round(100*noiseBand))) + "%"
		top, bottom := beyondNoise(hi, below), beyondNoise(lo, above)
		if !top && !bottom {
			all := make([]string, len(vals))
			for i, x := range vals {
				all[i] = x.model
			}
			return fmt.Sprintf("At %d clients no model stands out beyond the %s noise band: %s to %s%s.%s%s",
				n, band, m.format(lo), m.format(hi), s.boundAt(m, n), s.failedCaveat(m, n, all...), s.spotlight(m, n))
		}
		// Best first, in plain words: "highest" and "lowest" are what the
		// table shows; which one is better the title says.
		type end struct {
			word, models string
			v, next      float64
			out          bool
		}
		first, second := end{"highest", names(hi), hi, below, top}, end{"lowest", names(lo), lo, above, bottom}
		if !m.higher {
			first, second = second, first
		}
		caveat := s.failedCaveat(m, n, vals[0].model, vals[len(vals)-1].model) + s.spotlight(m, n)
		if first.out && second.out {
			ratio := ""
			if lo > 0 {
				ratio = fmt.Sprintf("; a factor of %s", strconv.FormatFloat(hi/lo, 'g', 3, 64))
			}
			return fmt.Sprintf("At %d clients: %s %s (%s), %s %s (%s)%s.%s",
				n, first.word, first.models, m.format(first.v), second.word, second.models, m.format(second.v), ratio, caveat)
		}
		named, other := first, second
		if !first.out {
			named, other = second, first
		}
		return fmt.Sprintf("At %d clients: %s %s (%s), beyond the %s noise band from the next (%s); no %s value stands out.%s",
			n, named.word, named.models, m.format(named.v), band, m.format(named.next), other.word, caveat)
	}
	return "Not enough runs to compare."
}

// boundAt says, for a verdict on what the clients saw (a rate or a
// latency) that names no model, whether the runs at n clients were
// client-bound: then the load generator, not the servers, may have set
// the pace that makes them look alike.
func (s *ScenarioResult) boundAt(m metric, n int) string {
	if m.key != "throughput" && m.key != "answered" && !latencyKey(m.key) {
		return ""
	}
	var bound []string
	rows := 0
	for _, series := range s.rows(m) {
		run := s.run(series, n)
		if run == nil {
			continue
		}
		if _, ok := s.value(m, series, n); !ok {
			continue
		}
		rows++
		if run.Load.ClientBound {
			bound = append(bound, series)
		}
	}
	switch {
	case len(bound) == 0:
		return ""
	case len(bound) == rows:
		return ", all client-bound"
	}
	return "; client-bound: " + strings.Join(bound, ", ")
}

// spotlight quotes, for a latency, the scenario's Spotlight models side
// by side at n clients, whatever their rank.
func (s *ScenarioResult) spotlight(m metric, n int) string {
	if !latencyKey(m.key) || len(s.Spotlight) == 0 {
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

// headerLines say what differs in this scenario from the bench's header:
// where its servers ran, its longer timeout, and the data file its disk:
// work read.
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
		out = append(out, fmt.Sprintf("Each request phase is bounded by %s here (the bench's %s), long enough to see a SYN retransmitted (1 s apart at first: sysctl net.ipv4.tcp_syn_linear_timeouts, Linux 6.5+).",
			s.Timeout, r.Timeout))
	}
	if line, ok := s.diskLine(); ok {
		out = append(out, line)
	}
	return out
}

// diskModes say what each mode of the data file (the start event's
// disk_mode) means for the reads of disk: work.
var diskModes = map[string]string{
	"direct":  "direct (O_DIRECT: every read goes to the device)",
	"dropped": "dropped (O_DIRECT refused: the file's cached pages were dropped as it opened, and reads reach the device until the run fills the cache again)",
	"cached":  "cached (the file is in memory, on tmpfs: no read reaches a device, and a heavy request costs little more than a cheap one)",
	"pipe":    "a named pipe (each read waits for a writer)",
}

// diskLine says, for disk: work, how the servers' reads missed the page
// cache and what one read took as each server opened the data file, from
// their start events: the conditions the scenario's numbers hold in.
func (s *ScenarioResult) diskLine() (string, bool) {
	var modes []string
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, r := range s.Runs {
		if r.DiskMode == "" {
			continue
		}
		if !slices.Contains(modes, r.DiskMode) {
			modes = append(modes, r.DiskMode)
		}
		lo, hi = min(lo, r.DiskReadMicros), max(hi, r.DiskReadMicros)
	}
	if len(modes) == 0 {
		return "", false
	}
	for i, m := range modes {
		if text, ok := diskModes[m]; ok {
			modes[i] = text
		}
	}
	us := func(n int64) string {
		if n == 0 {
			return "under 1µs"
		}
		return loadgen.Dur(n * 1000)
	}
	took := us(lo)
	if hi != lo {
		took = us(lo) + " to " + us(hi)
	}
	return fmt.Sprintf("The data file's reads: %s; one read took %s as each server opened the file (its start event, disk_read_us).",
		strings.Join(modes, "; "), took), true
}

// notes lists what a reader must know to trust the tables: failed runs,
// client-bound levels, and error kinds. The last two are iolab load's
// notes on a level (loadgen.ClientBoundNote, loadgen.ErrorsNote), which
// name the series each is about.
func (s *ScenarioResult) notes() []string {
	var out []string
	docker := slices.ContainsFunc(s.Envs, func(e string) bool { return e != Native })
	for _, e := range s.Externals {
		if e.Name == CServerName {
			out = append(out, CServerName+" is not a model: iolab's C epoll echo server (`loadgen/bench/cref/echo.c`, built with `cc -O2`), "+
				"the yardstick of `iolab bench -pair`; its CPU and context switches per request are its own (wait4), over the requests iolab load counted")
			continue
		}
		out = append(out, fmt.Sprintf("%s is not a model: `%s` (iolab bench -server); its CPU and context switches per request are its own and "+
			"its reaped children's (wait4), over the requests iolab load counted", e.Name, e.Command))
		if docker && e.Image != "" {
			out = append(out, fmt.Sprintf("%s in a container is image %s's own command, under Docker's init (docker run --init); "+
				"its CPU comes from /proc, and its context switches are not known there (-): /proc keeps no count of exited threads", e.Name, e.Image))
		}
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
			out = append(out, loadgen.ClientBoundNote(&run.Load, run.Series))
		}
		if run.Load.ErrorsTotal > 0 {
			out = append(out, loadgen.ErrorsNote(&run.Load, run.Series))
		}
	}
	return out
}

// failedCaveat warns, for a latency, that a model's failed requests are
// not in its percentiles: a server that answers one client and times out
// the rest has a fine p99 of the one it answered.
func (s *ScenarioResult) failedCaveat(m metric, n int, models ...string) string {
	if !latencyKey(m.key) {
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
