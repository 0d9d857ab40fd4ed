package bench

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"iolab/loadgen"
)

// Tables: a scenario's runs become one Table per metric, models as rows
// and levels as columns, each with a verdict that says only what the
// table shows, and the caveats a reader needs to trust it (failed
// requests that no latency includes). The extra tables (system calls by
// name, errors by kind, connections per loop) are built here too;
// render.go writes them out.

// Table is one metric of one scenario: models as rows, levels as columns.
type Table struct {
	Title   string
	Key     string
	Clients []int
	Models  []string
	Cells   [][]string // [model][level]
	Verdict string
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
