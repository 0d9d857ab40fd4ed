package bench

import (
	"fmt"
	"strconv"
	"strings"

	"iolab/loadgen"
)

// Tables: a scenario's runs become one Table per metric, models as rows
// and levels as columns, each with a verdict that says only what the
// table shows (verdict.go). The extra tables (system calls by name,
// errors by kind, connections per loop) are built here too; render.go
// and report.go write them out.

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

// SyscallsTable returns, at the largest level where system calls were
// counted, each row's calls per request: all of them, then by name the
// calls of syscallNames that some row made at least once per hundred
// requests, in syscallNames' order. A call not in syscallNames counts in
// "all" only, so the named columns may add up to less. Its Clients are
// unused; Calls names the columns.
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
	t.Title = fmt.Sprintf("system calls per request by name, at %d clients (perf stat; all: every call; then the calls of the bench's list that some row made at least once per 100 requests)", n)
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
			row = append(row, loadgen.ErrorList(run.Load.Errors, loadgen.Plain))
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
